#include "services/concierge-routing/adapters/service.h"

#include "prm/routing/v1/routing_service.grpc.pb.h"

namespace prm::routing {
namespace {

// The gRPC API (prm.routing.v1.ConciergeRouting). RPCs not overridden here answer UNIMPLEMENTED.
class ConciergeRoutingHandler final : public prm::routing::v1::ConciergeRouting::CallbackService {
 public:
  explicit ConciergeRoutingHandler(runtime::Runtime& runtime) : runtime_(runtime) {}

 private:
  [[maybe_unused]] runtime::Runtime& runtime_;
};

class ConciergeRoutingParts final : public runtime::ServiceParts {
 public:
  explicit ConciergeRoutingParts(runtime::Runtime& runtime) : handler_(runtime) {}

  std::vector<std::pair<grpc::Service*, std::string>> GrpcServices() override {
    return {{&handler_, prm::routing::v1::ConciergeRouting::service_full_name()}};
  }

  // Consumed events are decoded, validated and recorded as processed by the runtime; their
  // effect on this service's state is the domain's to add.
  absl::Status ApplyEvent(const events::CloudEvent&, const google::protobuf::Message&,
                          sqlite::Transaction&) override {
    return absl::OkStatus();
  }

 private:
  ConciergeRoutingHandler handler_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<runtime::ServiceParts>> BuildService(runtime::Runtime& runtime) {
  return std::make_unique<ConciergeRoutingParts>(runtime);
}

}  // namespace prm::routing
