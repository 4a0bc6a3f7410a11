#include "common/runtime/test_runtime.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/kafka/outbox_relay.h"
#include "common/kafka/producer.h"
#include "common/status/status_macros.h"
#include "common/storage/outbox.h"
#include "common/storage/processed_events.h"
#include "prometheus/registry.h"

namespace prm::runtime {

absl::StatusOr<auth::Principal> TestAuthenticate(std::string_view authorization) {
  absl::string_view header(authorization.data(), authorization.size());
  if (!absl::ConsumePrefix(&header, "Bearer ")) return absl::UnauthenticatedError("invalid token");
  std::vector<std::string> parts = absl::StrSplit(header, ':');
  if (parts.size() != 3) return absl::UnauthenticatedError("invalid token");
  auth::Principal p;
  p.subject = std::string(header);
  std::optional<auth::Role> role = auth::RoleFromName(parts[0]);
  if (!role) return absl::UnauthenticatedError("invalid token");
  p.role = *role;
  if (!parts[1].empty()) p.vendor_ids = absl::StrSplit(parts[1], ',');
  p.partner_id = parts[2];
  return p;
}

TestRuntime::TestRuntime(const std::string& service, const Clock& clock)
    : clock_(clock),
      name_(service),
      source_("prm/" + service),
      registry_(std::make_unique<prometheus::Registry>()) {}

absl::StatusOr<std::unique_ptr<TestRuntime>> TestRuntime::Create(
    const std::string& service, const std::string& dir, const Clock& clock,
    std::vector<sqlite::Schema> schemas) {
  std::unique_ptr<TestRuntime> rt(new TestRuntime(service, clock));
  schemas.insert(schemas.begin(), {outbox::Schema(), processed_events::Schema()});
  ASSIGN_OR_RETURN(rt->db_,
                   sqlite::Database::Open({.path = absl::StrCat(dir, "/", service, ".sqlite"),
                                           .durability = sqlite::Durability::kNormal},
                                          schemas));
  ASSIGN_OR_RETURN(rt->producer_, kafka::Producer::Create({.brokers = "127.0.0.1:1",
                                                           .client_id = "test",
                                                           .properties = {{"log_level", "0"}}}));
  rt->relay_ = std::make_unique<kafka::OutboxRelay>(*rt->db_, *rt->producer_, clock,
                                                    kafka::RelayOptions{}, nullptr);
  return rt;
}

}  // namespace prm::runtime
