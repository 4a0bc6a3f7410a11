#pragma once

// For adapter tests that serve a service's real gRPC handlers in-process: the runtime's parts
// without a process — SQLite in a given directory, an outbox relay that is never started (its
// broker address is unreachable; tests read the outbox back directly) and an authenticator that
// reads plain test tokens instead of JWTs. Test code only.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/auth/principal.h"
#include "common/runtime/service_runtime.h"
#include "common/storage/sqlite.h"

namespace prm::runtime {

// Test tokens: "Bearer <role>:<vendor,vendor>:<partner>"; the subject is the whole token, e.g.
// "Bearer channel_manager:acme:" or "Bearer partner_user:acme:p1".
absl::StatusOr<auth::Principal> TestAuthenticate(std::string_view authorization);

class TestRuntime final : public Runtime {
 public:
  // `service` names the service ("deal-registration"): the database file
  // `<dir>/<service>.sqlite` with the outbox, processed-event and `schemas`, and the event
  // source "prm/<service>".
  static absl::StatusOr<std::unique_ptr<TestRuntime>> Create(const std::string& service,
                                                             const std::string& dir,
                                                             const Clock& clock,
                                                             std::vector<sqlite::Schema> schemas);

  const std::string& service_name() const override { return name_; }
  const RuntimeOptions& options() const override { return options_; }
  sqlite::Database& db() override { return *db_; }
  const Clock& clock() const override { return clock_; }
  kafka::OutboxRelay& relay() override { return *relay_; }
  prometheus::Registry& metrics() override { return *registry_; }
  const server::Authenticator& authenticator() const override { return authenticator_; }
  const std::string& event_source() const override { return source_; }
  void AddStreamCloser(std::string, std::function<void()>) override {}  // no drain in-process

 private:
  TestRuntime(const std::string& service, const Clock& clock);

  const Clock& clock_;
  std::string name_;
  std::string source_;
  RuntimeOptions options_;
  std::unique_ptr<sqlite::Database> db_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<kafka::OutboxRelay> relay_;
  std::unique_ptr<prometheus::Registry> registry_;
  server::Authenticator authenticator_ = TestAuthenticate;
};

}  // namespace prm::runtime
