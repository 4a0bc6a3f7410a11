// ServiceClient and ServiceIdentity against a real in-process gRPC server (the Probe service on
// ServiceHost, authenticating with a real TokenVerifier): up, down, slow, failing, restarted,
// refusing the identity; tokens minted or read from a rotated file.

#include "common/client/service_client.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/auth/jwt.h"
#include "common/server/service_host.h"
#include "common/testing/status_matchers.h"
#include "common/time/clock.h"
#include "gtest/gtest.h"
#include "probe.grpc.pb.h"
#include "tests/support/probe_service.h"

namespace prm::client {
namespace {

using ::prm::testing::IsOk;
using ::prm::testing::ProbeService;
using ::prm::testing::StatusIs;
using ::prm::testing::v1::FailRequest;
using ::prm::testing::v1::PingRequest;
using ::prm::testing::v1::Probe;
using ::prm::testing::v1::SleepRequest;
using ::testing::HasSubstr;

constexpr char kSecret[] = "a-test-secret-of-at-least-32-bytes!!";
constexpr char kOtherSecret[] = "another-secret-of-at-least-32-bytes!";

auth::JwtOptions Jwt(const std::string& secret) {
  return {.algorithm = "HS256", .hs256_secret = secret, .issuer = "prm-test",
          .audience = "prm"};
}

// The Probe service behind a ServiceHost that accepts only `service` tokens signed with
// `secret`.
class ProbeServer {
 public:
  explicit ProbeServer(const std::string& secret = kSecret, int port = 0)
      : verifier_(*auth::TokenVerifier::Create(Jwt(secret), SystemClock::Instance())),
        probe_([this](std::string_view authorization) -> absl::StatusOr<auth::Principal> {
          ASSIGN_OR_RETURN(auth::Principal who,
                           verifier_.VerifyAuthorizationHeader(authorization));
          if (who.role != auth::Role::kService) {
            return absl::PermissionDeniedError("not a service");
          }
          return who;
        }),
        host_(Options(port), "client-test", "0") {
    host_.Register(&probe_, Probe::service_full_name());
    EXPECT_OK(host_.Start());
  }
  ~ProbeServer() { host_.Shutdown(); }

  std::string address() const { return absl::StrCat("127.0.0.1:", host_.selected_port()); }
  int port() const { return host_.selected_port(); }
  int handler_runs() const { return probe_.handler_runs(); }

 private:
  static server::ServerOptions Options(int port) {
    server::ServerOptions options;
    options.grpc_listen = absl::StrCat("127.0.0.1:", port);
    options.metrics_listen = "";
    options.drain_timeout = absl::ZeroDuration();
    return options;
  }

  auth::TokenVerifier verifier_;
  ProbeService probe_;
  server::ServiceHost host_;
};

std::shared_ptr<ServiceIdentity> MintingIdentity(const std::string& secret = kSecret) {
  absl::StatusOr<std::unique_ptr<ServiceIdentity>> identity = ServiceIdentity::Create(
      {.subject = "deal-registration", .hs256_secret = secret, .jwt_issuer = "prm-test",
       .jwt_audience = "prm"},
      SystemClock::Instance());
  EXPECT_OK(identity.status());
  return *std::move(identity);
}

std::unique_ptr<ServiceClient<Probe>> Client(const std::string& address,
                                             absl::Duration deadline = absl::Seconds(5),
                                             std::shared_ptr<ServiceIdentity> identity = nullptr) {
  absl::StatusOr<std::unique_ptr<ServiceClient<Probe>>> client = ServiceClient<Probe>::Create(
      {.target_name = "probe", .address = address, .deadline = deadline},
      identity != nullptr ? identity : MintingIdentity());
  EXPECT_OK(client.status());
  return *std::move(client);
}

PingRequest DescribeCall() {
  PingRequest request;
  request.set_describe_call(true);
  return request;
}

// A port nothing listens on: a server's, after it has stopped.
int DeadPort() {
  ProbeServer server;
  return server.port();
}

TEST(ServiceClient, CallCarriesTheServiceIdentityAndRequestId) {
  ProbeServer server;
  auto client = Client(server.address());
  absl::StatusOr<prm::testing::v1::PingResponse> response =
      client->Call(&Probe::Stub::Ping, DescribeCall(), {.request_id = "req-42"});
  ASSERT_OK(response.status());
  EXPECT_EQ(response->subject(), "deal-registration");
  EXPECT_EQ(response->request_id(), "req-42");
}

TEST(ServiceClient, DownServiceIsUnavailableAtOnceNotAtTheDeadline) {
  auto client = Client(absl::StrCat("127.0.0.1:", DeadPort()), absl::Seconds(60));
  const absl::Time start = absl::Now();
  EXPECT_THAT(client->Call(&Probe::Stub::Ping, PingRequest()).status(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("probe at 127.0.0.1:")));
  // Fail-fast: three attempts with backoff, far from the 60 s deadline.
  EXPECT_LT(absl::Now() - start, absl::Seconds(20));
}

TEST(ServiceClient, SlowServiceIsUnavailableAtTheDeadlineAndNotRetried) {
  ProbeServer server;
  auto client = Client(server.address(), absl::Milliseconds(300));
  SleepRequest sleep;
  sleep.set_milliseconds(60'000);
  EXPECT_THAT(client->Call(&Probe::Stub::Sleep, sleep).status(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("did not answer within")));
  EXPECT_EQ(server.handler_runs(), 1);
}

TEST(ServiceClient, CallersOwnSoonerDeadlineWins) {
  ProbeServer server;
  auto client = Client(server.address(), absl::Seconds(60));
  SleepRequest sleep;
  sleep.set_milliseconds(60'000);
  const absl::Time start = absl::Now();
  EXPECT_THAT(client->Call(&Probe::Stub::Sleep, sleep,
                           {.not_after = absl::Now() + absl::Milliseconds(200)})
                  .status(),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_LT(absl::Now() - start, absl::Seconds(30));
}

TEST(ServiceClient, RetriesOnlyUnavailable) {
  ProbeServer server;
  auto client = Client(server.address());
  FailRequest unavailable;
  unavailable.set_code(static_cast<int>(grpc::StatusCode::UNAVAILABLE));
  unavailable.set_message("draining");
  EXPECT_THAT(client->Call(&Probe::Stub::Fail, unavailable).status(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("draining")));
  EXPECT_EQ(server.handler_runs(), 3);  // max_attempts

  FailRequest precondition;
  precondition.set_code(static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION));
  precondition.set_message("enrollment is TERMINATED");
  EXPECT_THAT(client->Call(&Probe::Stub::Fail, precondition).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, "enrollment is TERMINATED"));
  EXPECT_EQ(server.handler_runs(), 4);  // not retried
}

TEST(ServiceClient, ReachesARestartedServiceAgain) {
  int port = 0;
  std::unique_ptr<ServiceClient<Probe>> client;
  {
    ProbeServer first;
    port = first.port();
    client = Client(first.address());
    ASSERT_OK(client->Call(&Probe::Stub::Ping, PingRequest()).status());
  }
  EXPECT_THAT(client->Call(&Probe::Stub::Ping, PingRequest()).status(),
              StatusIs(absl::StatusCode::kUnavailable));
  ProbeServer second(kSecret, port);
  ASSERT_EQ(second.port(), port);
  // The channel re-dials at most every 2 s; allow a generous bound for a loaded machine.
  absl::Status status;
  for (const absl::Time give_up = absl::Now() + absl::Seconds(30); absl::Now() < give_up;) {
    status = client->Call(&Probe::Stub::Ping, PingRequest()).status();
    if (status.ok()) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_OK(status);
}

TEST(ServiceClient, RefusedIdentityIsInternalNotUnauthenticated) {
  ProbeServer server(kOtherSecret);
  auto client = Client(server.address());
  EXPECT_THAT(client->Call(&Probe::Stub::Ping, PingRequest()).status(),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("refused this service's identity")));
}

TEST(ServiceClient, CreateRefusesBadOptions) {
  EXPECT_THAT(ServiceClient<Probe>::Create({.target_name = "probe"}, MintingIdentity()).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--probe-address")));
  EXPECT_THAT(ServiceClient<Probe>::Create({.target_name = "probe", .address = "x:1"}, nullptr)
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ServiceClient<Probe>::Create(
                  {.target_name = "probe", .address = "x:1", .tls_ca_file = "/nonexistent"},
                  MintingIdentity())
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--probe-tls-ca-file")));
  EXPECT_THAT(ServiceClient<Probe>::Create(
                  {.target_name = "probe", .address = "x:1", .max_attempts = 9},
                  MintingIdentity())
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--probe-max-attempts")));
}

TEST(ServiceClient, FlagsArePrefixedWithTheTarget) {
  ClientOptions options{.target_name = "partner-registry"};
  std::string token_file;
  FlagSet flags("test", "test");
  RegisterClientFlags(flags, &options);
  RegisterServiceIdentityFlags(flags, &token_file);
  const char* argv[] = {"test", "--partner-registry-address=10.0.0.1:50051",
                        "--partner-registry-deadline=750ms", "--service-token-file=/t"};
  const char* env[] = {"PRM_PARTNER_REGISTRY_MAX_ATTEMPTS=2", nullptr};
  ASSERT_OK(flags.Parse(4, argv, env).status());
  EXPECT_EQ(options.address, "10.0.0.1:50051");
  EXPECT_EQ(options.deadline, absl::Milliseconds(750));
  EXPECT_EQ(options.max_attempts, 2);
  EXPECT_EQ(token_file, "/t");

  ClientOptions bad{.target_name = "partner-registry"};
  FlagSet bad_flags("test", "test");
  RegisterClientFlags(bad_flags, &bad);
  const char* bad_argv[] = {"test", "--partner-registry-tls-cert-file=/c"};
  EXPECT_THAT(bad_flags.Parse(2, bad_argv, nullptr).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--partner-registry-tls-key-file")));
}

// A CA, a server certificate it signed for 127.0.0.1, and another CA, made with the openssl CLI.
class Pki {
 public:
  Pki()
      : dir_(std::filesystem::temp_directory_path() /
             absl::StrCat("prm-client-pki-", ::getpid(), "-",
                          ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    std::filesystem::create_directories(dir_);
    const std::string d = dir_.string();
    const std::string script = absl::StrCat(
        "cd ", d, " && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem",
        " -days 2 -subj /CN=prm-test-ca 2>/dev/null",
        " && openssl req -x509 -newkey rsa:2048 -nodes -keyout other-ca.key -out other-ca.pem",
        " -days 2 -subj /CN=prm-other-ca 2>/dev/null",
        " && openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr",
        " -subj /CN=localhost 2>/dev/null",
        " && printf 'subjectAltName=IP:127.0.0.1,DNS:localhost' > ext.cnf",
        " && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial",
        " -out server.pem -days 2 -extfile ext.cnf 2>/dev/null");
    ok_ = std::system(script.c_str()) == 0;
  }
  ~Pki() { std::filesystem::remove_all(dir_); }
  bool ok() const { return ok_; }
  std::string File(const std::string& name) const { return (dir_ / name).string(); }

 private:
  std::filesystem::path dir_;
  bool ok_ = false;
};

TEST(ServiceClient, TlsChannelTrustsTheConfiguredCaOnly) {
  Pki pki;
  ASSERT_TRUE(pki.ok()) << "openssl failed";
  server::ServerOptions options;
  options.grpc_listen = "127.0.0.1:0";
  options.metrics_listen = "";
  options.drain_timeout = absl::ZeroDuration();
  options.tls_cert_file = pki.File("server.pem");
  options.tls_key_file = pki.File("server.key");
  auto verifier = *auth::TokenVerifier::Create(Jwt(kSecret), SystemClock::Instance());
  ProbeService probe([&](std::string_view authorization) {
    return verifier.VerifyAuthorizationHeader(authorization);
  });
  server::ServiceHost host(options, "client-tls-test", "0");
  host.Register(&probe, Probe::service_full_name());
  ASSERT_OK(host.Start());
  const std::string address = absl::StrCat("127.0.0.1:", host.selected_port());

  auto tls = ServiceClient<Probe>::Create(
      {.target_name = "probe", .address = address, .tls_ca_file = pki.File("ca.pem")},
      MintingIdentity());
  ASSERT_OK(tls.status());
  absl::StatusOr<prm::testing::v1::PingResponse> response =
      (*tls)->Call(&Probe::Stub::Ping, DescribeCall());
  ASSERT_OK(response.status());
  EXPECT_EQ(response->subject(), "deal-registration");

  // Plaintext to a TLS server, and TLS trusting another CA: both UNAVAILABLE, not a hang.
  auto plaintext = Client(address);
  EXPECT_THAT(plaintext->Call(&Probe::Stub::Ping, PingRequest()).status(),
              StatusIs(absl::StatusCode::kUnavailable));
  auto wrong_ca = ServiceClient<Probe>::Create(
      {.target_name = "probe", .address = address, .tls_ca_file = pki.File("other-ca.pem")},
      MintingIdentity());
  ASSERT_OK(wrong_ca.status());
  EXPECT_THAT((*wrong_ca)->Call(&Probe::Stub::Ping, PingRequest()).status(),
              StatusIs(absl::StatusCode::kUnavailable));
  host.Shutdown();
}

class TempFile {
 public:
  TempFile()
      : path_(std::filesystem::temp_directory_path() /
              absl::StrCat("prm-client-test-", ::getpid(), "-",
                           ::testing::UnitTest::GetInstance()->current_test_info()->name())) {}
  ~TempFile() { std::filesystem::remove(path_); }
  // Replaces the file atomically, as a Kubernetes Secret volume does.
  void Write(const std::string& content) const {
    const std::string next = path_.string() + ".next";
    std::ofstream(next) << content;
    std::filesystem::rename(next, path_);
  }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

TEST(ServiceIdentity, TokenFileIsReReadWhenItChanges) {
  FakeClock clock;
  auto minter = *auth::TokenMinter::Create(Jwt(kSecret), SystemClock::Instance());
  auto token = [&](const std::string& subject) {
    return *minter.Mint({.subject = subject, .role = auth::Role::kService}, absl::Hours(1));
  };
  TempFile file;
  file.Write(token("first") + "\n");
  absl::StatusOr<std::unique_ptr<ServiceIdentity>> created =
      ServiceIdentity::Create({.subject = "deal-registration", .token_file = file.path(),
                               .jwt_algorithm = "RS256"},
                              clock);
  ASSERT_OK(created.status());
  std::shared_ptr<ServiceIdentity> identity = *std::move(created);

  ProbeServer server;
  auto client = Client(server.address(), absl::Seconds(5), identity);
  EXPECT_EQ(client->Call(&Probe::Stub::Ping, DescribeCall())->subject(), "first");
  file.Write(token("second"));
  EXPECT_EQ(client->Call(&Probe::Stub::Ping, DescribeCall())->subject(), "second");
  std::filesystem::remove(file.path());
  EXPECT_THAT(client->Call(&Probe::Stub::Ping, DescribeCall()).status(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("no service token")));
}

TEST(ServiceIdentity, MintedTokenIsRenewedAfterHalfItsLifetime) {
  FakeClock clock;
  auto verifier = *auth::TokenVerifier::Create(Jwt(kSecret), clock);
  absl::StatusOr<std::unique_ptr<ServiceIdentity>> identity = ServiceIdentity::Create(
      {.subject = "concierge-routing", .hs256_secret = kSecret, .jwt_issuer = "prm-test",
       .jwt_audience = "prm", .token_ttl = absl::Minutes(10)},
      clock);
  ASSERT_OK(identity.status());
  const std::string first = *(*identity)->BearerToken();
  absl::StatusOr<auth::Principal> who = verifier.Verify(first);
  ASSERT_OK(who.status());
  EXPECT_EQ(who->subject, "concierge-routing");
  EXPECT_EQ(who->role, auth::Role::kService);

  clock.Advance(absl::Minutes(4));
  EXPECT_EQ(*(*identity)->BearerToken(), first);
  clock.Advance(absl::Minutes(2));
  const std::string renewed = *(*identity)->BearerToken();
  EXPECT_NE(renewed, first);
  clock.Advance(absl::Minutes(9));  // the first token has expired, the renewed one has not
  EXPECT_THAT(verifier.Verify(first).status(), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_OK(verifier.Verify(renewed).status());
}

TEST(ServiceIdentity, CreateRefusesUnusableSources) {
  FakeClock clock;
  EXPECT_THAT(ServiceIdentity::Create({.subject = "s", .jwt_algorithm = "RS256"}, clock).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--service-token-file")));
  EXPECT_THAT(ServiceIdentity::Create({.subject = "s", .hs256_secret = "short",
                                       .jwt_issuer = "i", .jwt_audience = "a"},
                                      clock)
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      ServiceIdentity::Create({.subject = "s", .token_file = "/nonexistent/token"}, clock)
          .status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("/nonexistent/token")));
}

}  // namespace
}  // namespace prm::client
