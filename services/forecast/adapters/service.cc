#include "services/forecast/adapters/service.h"

#include "prm/forecast/v1/forecast_service.grpc.pb.h"

namespace prm::forecast {
namespace {

// The gRPC API (prm.forecast.v1.Forecast). RPCs not overridden here answer UNIMPLEMENTED.
class ForecastHandler final : public prm::forecast::v1::Forecast::CallbackService {
 public:
  explicit ForecastHandler(runtime::Runtime& runtime) : runtime_(runtime) {}

 private:
  [[maybe_unused]] runtime::Runtime& runtime_;
};

class ForecastParts final : public runtime::ServiceParts {
 public:
  explicit ForecastParts(runtime::Runtime& runtime) : handler_(runtime) {}

  std::vector<std::pair<grpc::Service*, std::string>> GrpcServices() override {
    return {{&handler_, prm::forecast::v1::Forecast::service_full_name()}};
  }

  // Consumed events are decoded, validated and recorded as processed by the runtime; their
  // effect on this service's state is the domain's to add.
  absl::Status ApplyEvent(const events::CloudEvent&, const google::protobuf::Message&,
                          sqlite::Transaction&) override {
    return absl::OkStatus();
  }

 private:
  ForecastHandler handler_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<runtime::ServiceParts>> BuildService(runtime::Runtime& runtime) {
  return std::make_unique<ForecastParts>(runtime);
}

}  // namespace prm::forecast
