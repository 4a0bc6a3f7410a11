#pragma once

// The gRPC channel every prmctl command opens: plaintext, or TLS when a CA bundle is given
// (the services' --tls-cert-file), with a client certificate for mutual TLS (the services'
// --tls-client-ca-file).

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/config/flags.h"
#include "grpcpp/channel.h"

namespace prm::prmctl {

struct ChannelOptions {
  std::string address;
  std::string tls_ca_file;    // empty: plaintext
  std::string tls_cert_file;  // client certificate chain (PEM), for mutual TLS
  std::string tls_key_file;   // its private key
};

// Declares --<address_flag> and the three --tls-* flags, with their checks.
void AddChannelFlags(FlagSet& flags, ChannelOptions* options, const std::string& address_flag);

// INVALID_ARGUMENT naming the flag when a file cannot be read.
absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(const ChannelOptions& options);

}  // namespace prm::prmctl
