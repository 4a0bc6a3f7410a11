#include "tools/prmctl/channel.h"

#include <fstream>
#include <tuple>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace prm::prmctl {
namespace {

absl::Status ReadPem(const std::string& flag, const std::string& path, std::string* out) {
  if (path.empty()) return absl::OkStatus();
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  if (!in || !(buffer << in.rdbuf())) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": cannot read ", path));
  }
  *out = buffer.str();
  return absl::OkStatus();
}

}  // namespace

void AddChannelFlags(FlagSet& flags, ChannelOptions* options, const std::string& address_flag) {
  flags.String(address_flag, &options->address, "the service's gRPC address host:port");
  flags.String("tls-ca-file", &options->tls_ca_file,
               "CA bundle (PEM) that signed the service's certificate: TLS on (empty: plaintext)");
  flags.String("tls-cert-file", &options->tls_cert_file,
               "client certificate chain (PEM) for mutual TLS");
  flags.String("tls-key-file", &options->tls_key_file, "the client certificate's private key (PEM)");
  flags.Check([options]() -> std::string {
    if (options->tls_cert_file.empty() != options->tls_key_file.empty()) {
      return "--tls-cert-file and --tls-key-file: give both or neither";
    }
    if (!options->tls_cert_file.empty() && options->tls_ca_file.empty()) {
      return "--tls-cert-file: needs --tls-ca-file (mutual TLS is TLS)";
    }
    return "";
  });
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(const ChannelOptions& options) {
  if (options.tls_ca_file.empty()) {
    return grpc::CreateChannel(options.address, grpc::InsecureChannelCredentials());
  }
  grpc::SslCredentialsOptions ssl;
  for (auto [flag, path, out] : {std::tuple{"tls-ca-file", &options.tls_ca_file, &ssl.pem_root_certs},
                                 std::tuple{"tls-cert-file", &options.tls_cert_file, &ssl.pem_cert_chain},
                                 std::tuple{"tls-key-file", &options.tls_key_file, &ssl.pem_private_key}}) {
    if (absl::Status s = ReadPem(flag, *path, out); !s.ok()) return s;
  }
  return grpc::CreateChannel(options.address, grpc::SslCredentials(ssl));
}

}  // namespace prm::prmctl
