#include "tests/integration/service_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "absl/strings/str_cat.h"
#include "common/auth/jwt.h"
#include "common/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "tests/integration/kafka_fixture.h"

namespace prm::testing {

namespace {

// True when 127.0.0.1:`port` can be bound right now.
bool Bindable(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

// The lowest port of the kernel's ephemeral range (outgoing connections take their local port
// from there).
int EphemeralLow() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 32768;
  in >> low;
  return low;
}

}  // namespace

int FreePort() {
  // A port from the kernel's ephemeral range can be taken by any outgoing connection (a Kafka
  // client of a test running beside this one) while a killed service is down, and its restart
  // on the same address then fails with "address in use". So ports come from below that range,
  // and a lock file held until this test process exits keeps parallel tests from drawing the
  // same one.
  const int high = std::min(EphemeralLow(), 32768);
  const int low = std::max(1024, high - 12000);
  const std::string dir =
      (std::filesystem::temp_directory_path() / absl::StrCat("prm-test-ports-", ::getuid()))
          .string();
  std::filesystem::create_directories(dir);
  std::mt19937 random(std::random_device{}() ^ static_cast<unsigned>(::getpid()));
  std::uniform_int_distribution<int> draw(low, high - 1);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const int port = draw(random);
    const std::string lock = absl::StrCat(dir, "/", port);
    int fd = ::open(lock.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0 || !Bindable(port)) {
      ::close(fd);
      continue;
    }
    return port;  // `fd` stays open: the lock lasts as long as this process.
  }
  ADD_FAILURE() << "no free port in [" << low << ", " << high << ")";
  return 0;
}

std::string BinaryPath(const std::string& name) {
  const char* dir = std::getenv("TEST_BIN_DIR");
  return absl::StrCat(dir ? dir : "build/bin", "/", name);
}

std::string Token(const auth::Principal& principal) {
  auto minter = auth::TokenMinter::Create({.algorithm = "HS256",
                                           .hs256_secret = kTestJwtSecret,
                                           .issuer = "prm-dev",
                                           .audience = "prm"},
                                          SystemClock::Instance());
  EXPECT_TRUE(minter.ok()) << minter.status();
  if (!minter.ok()) return "";
  auto token = minter->Mint(principal, absl::Hours(1));
  EXPECT_TRUE(token.ok()) << token.status();
  return token.ok() ? "Bearer " + *token : "";
}

std::string ServiceToken() {
  return Token({.subject = "integration-test", .role = auth::Role::kService});
}

std::unique_ptr<grpc::ClientContext> Context(const std::string& token, absl::Duration deadline) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) ctx->AddMetadata("authorization", token);
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  return ctx;
}

std::string ServiceProcess::KafkaBrokersOrEmpty() { return KafkaBrokers(); }

ServiceProcess::ServiceProcess(std::string binary, std::string data_dir, std::string group,
                               std::vector<std::string> extra_args, std::string brokers)
    : binary_(std::move(binary)),
      data_dir_(std::move(data_dir)),
      group_(std::move(group)),
      extra_args_(std::move(extra_args)),
      brokers_(std::move(brokers)),
      address_(absl::StrCat("127.0.0.1:", FreePort())) {}

ServiceProcess::~ServiceProcess() { Kill(); }

void ServiceProcess::Start() {
  std::vector<std::string> args = {BinaryPath(binary_),
                                   "--data-dir=" + data_dir_,
                                   "--kafka-brokers=" + brokers_,
                                   "--kafka-group=" + group_,
                                   "--grpc-listen=" + address_,
                                   "--metrics-listen=127.0.0.1:0",
                                   absl::StrCat("--jwt-secret=", kTestJwtSecret),
                                   "--log-level=warn"};
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  pid_ = ::fork();
  ASSERT_GE(pid_, 0);
  if (pid_ == 0) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    char* env[] = {nullptr};
    ::execve(argv[0], argv.data(), env);
    _exit(127);
  }
}

bool ServiceProcess::StartAndWaitServing(absl::Duration timeout) {
  Start();
  return WaitForHealth(address_, grpc::health::v1::HealthCheckResponse::SERVING, timeout);
}

std::pair<int, absl::Duration> ServiceProcess::Terminate() {
  absl::Time start = absl::Now();
  int wstatus = 0;
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, &wstatus, 0);
    pid_ = -1;
  }
  return {wstatus, absl::Now() - start};
}

void ServiceProcess::Kill() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
}

std::shared_ptr<grpc::Channel> ServiceProcess::channel() {
  if (!channel_) channel_ = grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
  return channel_;
}

int Health(const std::string& address) {
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
  grpc::health::v1::HealthCheckResponse response;
  if (!stub->Check(&ctx, {}, &response).ok()) return grpc::health::v1::HealthCheckResponse::UNKNOWN;
  return response.status();
}

bool WaitForHealth(const std::string& address, int want, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (Health(address) == want) return true;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return false;
}

}  // namespace prm::testing
