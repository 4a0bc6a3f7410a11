#include "services/partner-registry/adapters/service.h"

#include "prm/partner/v1/partner_service.grpc.pb.h"

namespace prm::partner {
namespace {

// The gRPC API (prm.partner.v1.PartnerRegistry). RPCs not overridden here answer UNIMPLEMENTED.
class PartnerRegistryHandler final : public prm::partner::v1::PartnerRegistry::CallbackService {
 public:
  explicit PartnerRegistryHandler(runtime::Runtime& runtime) : runtime_(runtime) {}

 private:
  [[maybe_unused]] runtime::Runtime& runtime_;
};

class PartnerRegistryParts final : public runtime::ServiceParts {
 public:
  explicit PartnerRegistryParts(runtime::Runtime& runtime) : handler_(runtime) {}

  std::vector<std::pair<grpc::Service*, std::string>> GrpcServices() override {
    return {{&handler_, prm::partner::v1::PartnerRegistry::service_full_name()}};
  }

  // Consumed events are decoded, validated and recorded as processed by the runtime; their
  // effect on this service's state is the domain's to add.
  absl::Status ApplyEvent(const events::CloudEvent&, const google::protobuf::Message&,
                          sqlite::Transaction&) override {
    return absl::OkStatus();
  }

 private:
  PartnerRegistryHandler handler_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<runtime::ServiceParts>> BuildService(runtime::Runtime& runtime) {
  return std::make_unique<PartnerRegistryParts>(runtime);
}

}  // namespace prm::partner
