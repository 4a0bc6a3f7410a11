// TLS and mutual TLS on ServiceHost from certificate files made by the openssl CLI: only TLS
// clients get in, mutual TLS also wants a client certificate from the configured CA, health
// stays reachable in plaintext on --health-listen, and replaced certificate files are used
// without a restart.

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/server/service_host.h"
#include "common/testing/status_matchers.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "probe.grpc.pb.h"
#include "tests/support/probe_service.h"

namespace prm::server {
namespace {

using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckResponse;
using ::prm::testing::ProbeService;
using ::prm::testing::StatusIs;
using ::prm::testing::v1::PingRequest;
using ::prm::testing::v1::PingResponse;
using ::prm::testing::v1::Probe;
using ::testing::HasSubstr;

constexpr char kAuthorization[] = "Bearer good-token";

absl::StatusOr<auth::Principal> Authenticate(std::string_view authorization) {
  if (authorization != kAuthorization) return absl::UnauthenticatedError("invalid token");
  return auth::Principal{.subject = "tester", .role = auth::Role::kService};
}

std::string Read(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// A directory of certificates made with the openssl CLI.
class Pki {
 public:
  Pki() : dir_(std::filesystem::temp_directory_path() /
               absl::StrCat("prm-tls-", ::getpid(), "-",
                            ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  ~Pki() { std::filesystem::remove_all(dir_); }

  // A self-signed CA: <name>.crt, <name>.key.
  void Ca(const std::string& name) {
    Run(absl::StrCat("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes",
                     " -days 2 -subj /CN=", name, " -keyout ", Path(name + ".key"), " -out ",
                     Path(name + ".crt")));
  }
  // A leaf certificate signed by `ca`, valid for localhost and 127.0.0.1.
  void Leaf(const std::string& name, const std::string& ca) {
    std::ofstream(Path(name + ".ext"))
        << "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
           "extendedKeyUsage=serverAuth,clientAuth\n";
    Run(absl::StrCat("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes",
                     " -subj /CN=", name, " -keyout ", Path(name + ".key"), " -out ",
                     Path(name + ".csr")));
    Run(absl::StrCat("openssl x509 -req -days 2 -in ", Path(name + ".csr"), " -CA ",
                     Path(ca + ".crt"), " -CAkey ", Path(ca + ".key"),
                     " -CAcreateserial -extfile ", Path(name + ".ext"), " -out ",
                     Path(name + ".crt")));
  }
  // Replaces the served files atomically (rename), as a Secret volume update does.
  void Install(const std::string& name, const std::string& as) {
    for (const char* ext : {".crt", ".key"}) {
      std::filesystem::copy_file(Path(name + ext), Path(as + ext + ".tmp"),
                                 std::filesystem::copy_options::overwrite_existing);
      std::filesystem::rename(Path(as + ext + ".tmp"), Path(as + ext));
    }
  }
  std::string Path(const std::string& file) const { return (dir_ / file).string(); }
  std::string Pem(const std::string& file) const { return Read(dir_ / file); }

 private:
  static void Run(const std::string& command) {
    ASSERT_EQ(std::system((command + " >/dev/null 2>&1").c_str()), 0) << command;
  }
  std::filesystem::path dir_;
};

ServerOptions TlsOptions(const Pki& pki, bool mutual) {
  ServerOptions options;
  options.metrics_listen = "";
  options.drain_timeout = absl::Seconds(2);
  options.tls_cert_file = pki.Path("served.crt");
  options.tls_key_file = pki.Path("served.key");
  if (mutual) options.tls_client_ca_file = pki.Path("clients.crt");
  options.tls_reload_interval = absl::Seconds(1);
  return options;
}

std::shared_ptr<grpc::Channel> TlsChannel(int port, const std::string& root_pem,
                                          const std::string& key_pem = "",
                                          const std::string& cert_pem = "") {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = root_pem;
  ssl.pem_private_key = key_pem;
  ssl.pem_cert_chain = cert_pem;
  grpc::ChannelArguments args;
  args.SetInt("grpc.testing.fixed_reconnect_backoff_ms", 200);
  return grpc::CreateCustomChannel(absl::StrCat("localhost:", port), grpc::SslCredentials(ssl),
                                   args);
}

grpc::StatusCode Ping(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
  ctx.AddMetadata("authorization", kAuthorization);
  PingResponse response;
  return Probe::NewStub(channel)->Ping(&ctx, PingRequest(), &response).error_code();
}

struct TlsServer {
  explicit TlsServer(ServerOptions options)
      : probe(Authenticate), host(std::move(options), "tls-test", "9.9.9") {
    host.Register(&probe, Probe::service_full_name());
  }
  ProbeService probe;
  ServiceHost host;
};

TEST(Tls, OnlyTlsClientsThatTrustTheCaGetIn) {
  Pki pki;
  pki.Ca("ca");
  pki.Ca("other-ca");
  pki.Leaf("server", "ca");
  pki.Install("server", "served");
  TlsServer server(TlsOptions(pki, /*mutual=*/false));
  ASSERT_OK(server.host.Start());
  const int port = server.host.selected_port();

  EXPECT_EQ(Ping(TlsChannel(port, pki.Pem("ca.crt"))), grpc::StatusCode::OK);
  EXPECT_EQ(Ping(TlsChannel(port, pki.Pem("other-ca.crt"))), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Ping(grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                     grpc::InsecureChannelCredentials())),
            grpc::StatusCode::UNAVAILABLE);
  server.host.Shutdown();
}

TEST(Tls, MutualTlsWantsAClientCertificateAndHealthStaysPlainOnItsOwnPort) {
  Pki pki;
  pki.Ca("ca");
  pki.Ca("clients");
  pki.Ca("strangers");
  pki.Leaf("server", "ca");
  pki.Leaf("client", "clients");
  pki.Leaf("stranger", "strangers");
  pki.Install("server", "served");
  ServerOptions options = TlsOptions(pki, /*mutual=*/true);
  options.health_listen = "127.0.0.1:0";
  TlsServer server(options);
  ASSERT_OK(server.host.Start());
  const int port = server.host.selected_port();

  EXPECT_EQ(Ping(TlsChannel(port, pki.Pem("ca.crt"), pki.Pem("client.key"),
                            pki.Pem("client.crt"))),
            grpc::StatusCode::OK);
  EXPECT_EQ(Ping(TlsChannel(port, pki.Pem("ca.crt"))), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Ping(TlsChannel(port, pki.Pem("ca.crt"), pki.Pem("stranger.key"),
                            pki.Pem("stranger.crt"))),
            grpc::StatusCode::UNAVAILABLE);

  // Probes without certificates: plaintext health on its own port, and nothing else there.
  ASSERT_NE(server.host.health_port(), 0);
  auto plain = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server.host.health_port()),
                                   grpc::InsecureChannelCredentials());
  auto check = [&] {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
    HealthCheckResponse response;
    grpc::Status status = Health::NewStub(plain)->Check(&ctx, {}, &response);
    return status.ok() ? response.status() : HealthCheckResponse::UNKNOWN;
  };
  EXPECT_EQ(check(), HealthCheckResponse::SERVING);
  server.host.SetServing(false);
  EXPECT_EQ(check(), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(Ping(plain), grpc::StatusCode::UNIMPLEMENTED);
  server.host.Shutdown();
}

TEST(Tls, ReplacedCertificateFilesAreUsedWithoutARestart) {
  Pki pki;
  pki.Ca("old-ca");
  pki.Ca("new-ca");
  pki.Leaf("old", "old-ca");
  pki.Leaf("new", "new-ca");
  pki.Install("old", "served");
  TlsServer server(TlsOptions(pki, /*mutual=*/false));
  ASSERT_OK(server.host.Start());
  const int port = server.host.selected_port();
  ASSERT_EQ(Ping(TlsChannel(port, pki.Pem("old-ca.crt"))), grpc::StatusCode::OK);
  EXPECT_EQ(Ping(TlsChannel(port, pki.Pem("new-ca.crt"))), grpc::StatusCode::UNAVAILABLE);

  pki.Install("new", "served");
  // The watcher re-reads every second; a new connection gets the new certificate after that.
  bool rotated = false;
  for (absl::Time deadline = absl::Now() + absl::Seconds(30); !rotated && absl::Now() < deadline;
       absl::SleepFor(absl::Milliseconds(200))) {
    rotated = Ping(TlsChannel(port, pki.Pem("new-ca.crt"))) == grpc::StatusCode::OK;
  }
  EXPECT_TRUE(rotated) << "the replaced certificate was not picked up";
  EXPECT_EQ(Ping(TlsChannel(port, pki.Pem("old-ca.crt"))), grpc::StatusCode::UNAVAILABLE);
  server.host.Shutdown();
}

TEST(Tls, MissingOrHalfConfiguredFilesStopTheStartWithTheFlagsName) {
  Pki pki;
  ServerOptions options;
  options.metrics_listen = "";
  options.tls_cert_file = pki.Path("nope.crt");
  options.tls_key_file = pki.Path("nope.key");
  TlsServer server(options);
  EXPECT_THAT(server.host.Start(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--tls-cert-file")));

  ServerOptions half;
  half.tls_cert_file = "x.crt";
  EXPECT_THAT(ValidateServerOptions(half),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--tls-key-file")));
  ServerOptions ca_only;
  ca_only.tls_client_ca_file = "ca.crt";
  EXPECT_THAT(ValidateServerOptions(ca_only),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--tls-client-ca-file")));
}

}  // namespace
}  // namespace prm::server
