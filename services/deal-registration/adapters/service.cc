#include "services/deal-registration/adapters/service.h"

#include "prm/deal/v1/deal_service.grpc.pb.h"

namespace prm::deal {
namespace {

// The gRPC API (prm.deal.v1.DealRegistration). RPCs not overridden here answer UNIMPLEMENTED.
class DealRegistrationHandler final : public prm::deal::v1::DealRegistration::CallbackService {
 public:
  explicit DealRegistrationHandler(runtime::Runtime& runtime) : runtime_(runtime) {}

 private:
  [[maybe_unused]] runtime::Runtime& runtime_;
};

class DealRegistrationParts final : public runtime::ServiceParts {
 public:
  explicit DealRegistrationParts(runtime::Runtime& runtime) : handler_(runtime) {}

  std::vector<std::pair<grpc::Service*, std::string>> GrpcServices() override {
    return {{&handler_, prm::deal::v1::DealRegistration::service_full_name()}};
  }

  // Consumed events are decoded, validated and recorded as processed by the runtime; their
  // effect on this service's state is the domain's to add.
  absl::Status ApplyEvent(const events::CloudEvent&, const google::protobuf::Message&,
                          sqlite::Transaction&) override {
    return absl::OkStatus();
  }

 private:
  DealRegistrationHandler handler_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<runtime::ServiceParts>> BuildService(runtime::Runtime& runtime) {
  return std::make_unique<DealRegistrationParts>(runtime);
}

}  // namespace prm::deal
