// The access-control matrix (issue 7, SPEC §3.2 and §10): generated from the protos at run
// time, against the four real service binaries on the real broker.
//
// Two vendors are seeded through the APIs by their rightful owners: at V1 partners A and B, a
// deal of B, workers Wa and Wb, a queue, a workflow and a task of B that routing reserved for
// Wb; at V2 partner C with the same kinds of objects and an exchange rate. Then every RPC of
// every service (streams included) is called by reflection — the request built from the
// method's input descriptor, every id-carrying field (vendor, partner, deal, task, worker ...,
// nested and repeated ones too) set to the other party's ids, list filters naming them — as
//
//   partner-A     partner_user of A at V1, on B's objects
//   manager-V1    channel_manager of V1, on V2's objects
//   admin-V1      vendor_admin of V1, on V2's objects
//   concierge-Wa  concierge Wa at V1, on Wb's worker, task and reservation
//   erp-V1        erp_integration of V1, on V2's objects
//
// and each answer must be a denial (PERMISSION_DENIED, NOT_FOUND or INVALID_ARGUMENT); the same
// call naming ids that do not exist ("ghosts") must get the same code, so that a denial does not
// reveal whether the object exists; and no byte string of the other party's data (ids, names,
// amounts, rates) may appear in any reply, error message or error detail unless the caller sent
// it. Calls that name only ids the caller may use (its own vendor, the vendor's shared
// configuration) may succeed; they are checked for leaks only. An RPC whose request has no
// id field to aim at the other party fails the test: a new RPC is either covered or noticed.

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "common/auth/principal.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "grpc/health/v1/health.pb.h"
#include "grpcpp/completion_queue.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"
#include "gtest/gtest.h"
#include "prm/deal/v1/deal_service.grpc.pb.h"
#include "prm/forecast/v1/forecast_service.grpc.pb.h"
#include "prm/partner/v1/partner_service.grpc.pb.h"
#include "prm/routing/v1/routing_service.grpc.pb.h"
#include "tests/integration/kafka_fixture.h"
#include "tests/integration/service_process.h"
#include "tests/security/generic_call.h"
#include "tests/security/seeded_platform.h"

namespace prm::security {
namespace {

using ::prm::testing::Token;

constexpr int kMaxDepth = 4;

// What one attacker aims at: the victim's ids by kind, the ids it may name legitimately, and
// the victim's data that must never reach it.
struct Target {
  std::string name;
  std::string token;
  std::string owner_token;  // the victim's own: the positive control
  std::map<std::string, std::string> victim;  // kind → the other party's id
  std::map<std::string, std::string> shared;  // kind → an id the caller may name
  std::vector<std::string> secrets;
};

// An id of the same shape that names nothing: the services number their objects
// ("deal-3", "task-12"), so the trailing number becomes one far beyond any seeded object.
std::string Ghost(std::string id) {
  const size_t digits = id.find_last_not_of("0123456789") + 1;
  if (digits == id.size()) return id + "-ghost";
  return id.substr(0, digits) + "999999999";
}

struct Built {
  std::string bytes;
  bool names_victim = false;  // some field names one of the victim's objects
  bool has_id_field = false;  // some field names an object at all
  bool has_filter = false;
  std::set<std::string> unknown_kinds;  // id kinds this target has no value for
};

// Sets every id-carrying field of `m` (recursively) from `ids`, and `filter` fields to `filter`.
void Fill(pb::Message& m, const Target& target, bool ghost, const std::string& filter,
          int depth, Built& built) {
  const pb::Descriptor& d = *m.GetDescriptor();
  const pb::Reflection& r = *m.GetReflection();
  for (int i = 0; i < d.field_count(); ++i) {
    const pb::FieldDescriptor& f = *d.field(i);
    if (f.cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING &&
        f.type() == pb::FieldDescriptor::TYPE_STRING) {
      std::string value;
      if (f.name() == "request_id") {
        static int counter = 0;
        value = absl::StrCat("access-matrix-", ++counter, "-", absl::ToUnixNanos(absl::Now()));
      } else if (f.name() == "filter") {
        built.has_filter = true;
        value = filter;
      } else if (std::optional<std::string> kind = KindOf(f.name())) {
        built.has_id_field = true;
        if (auto it = target.victim.find(*kind); it != target.victim.end()) {
          value = ghost ? Ghost(it->second) : it->second;
          built.names_victim = true;
        } else if (auto s = target.shared.find(*kind); s != target.shared.end()) {
          value = s->second;
        } else {
          built.unknown_kinds.insert(*kind);
          continue;
        }
      } else {
        continue;
      }
      if (f.is_repeated()) {
        r.AddString(&m, &f, value);
      } else {
        r.SetString(&m, &f, value);
      }
    } else if (f.cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE && depth < kMaxDepth &&
               !absl::StartsWith(f.message_type()->full_name(), "google.")) {
      if (f.is_map()) continue;
      pb::Message* child = f.is_repeated() ? r.AddMessage(&m, &f) : r.MutableMessage(&m, &f);
      Fill(*child, target, ghost, filter, depth + 1, built);
    }
  }
}

Built Build(const pb::MethodDescriptor& method, const Target& target, bool ghost,
            const std::string& filter) {
  std::unique_ptr<pb::Message> request(
      pb::MessageFactory::generated_factory()->GetPrototype(method.input_type())->New());
  Built built;
  Fill(*request, target, ghost, filter, 0, built);
  built.bytes = request->SerializeAsString();
  return built;
}

bool IsDenial(grpc::StatusCode code) {
  return code == grpc::StatusCode::PERMISSION_DENIED || code == grpc::StatusCode::NOT_FOUND ||
         code == grpc::StatusCode::INVALID_ARGUMENT;
}

// The victim's byte strings found in `reply` that the request did not carry.
std::vector<std::string> Leaks(const Reply& reply, const std::string& request,
                               const std::vector<std::string>& secrets) {
  std::vector<std::string> found;
  for (const std::string& secret : secrets) {
    if (secret.empty() || absl::StrContains(request, secret)) continue;
    bool leaked = absl::StrContains(reply.status.error_message(), secret) ||
                  absl::StrContains(reply.status.error_details(), secret);
    for (const std::string& m : reply.messages) leaked |= absl::StrContains(m, secret);
    if (leaked) found.push_back(secret);
  }
  return found;
}

class AccessMatrix : public ::testing::Test, public SeededPlatform {
 protected:
  void SetUp() override {
    Start("acm");
    ASSERT_FALSE(HasFailure()) << "the platform did not start";
  }
  void TearDown() override { Stop(); }
};

std::vector<std::string> PartnerSecrets(const AccessMatrix::VendorWorld::PartnerWorld& p) {
  return {p.id,       p.legal_name, p.tax_id,     p.domain, p.account, p.deal, p.deal_title,
          p.customer, p.amount,     p.task,       p.task_title, p.reservation};
}

TEST_F(AccessMatrix, EveryRpcDeniesEveryPrincipalOnTheOtherPartysObjects) {
  const VendorWorld v1 = SeedVendor("v1", {"a", "b"}, {"wa", "wb"}, "b", 7'654'321);
  const VendorWorld v2 = SeedVendor("v2", {"c"}, {"w2"}, "c", 8'765'432);
  ASSERT_FALSE(HasFailure()) << "seeding failed";
  const auto& a = v1.partners.at("a");
  const auto& b = v1.partners.at("b");
  const auto& c = v2.partners.at("c");
  const auto& wa = v1.workers.at("wa");
  const auto& wb = v1.workers.at("wb");
  const auto& w2 = v2.workers.at("w2");

  // Ids of vendor configuration the same-vendor callers may name.
  const std::map<std::string, std::string> v1_config = {
      {"vendor", v1.vendor},     {"program", v1.program},  {"queue", v1.queue},
      {"workflow", v1.workflow}, {"activity", "available"}, {"tier", "registered"},
      {"calendar", "none"},      {"competency", "none"},   {"erp_system", "erp-" + run_}};

  std::vector<Target> targets;
  {  // partner A on partner B's objects at the same vendor
    Target t{.name = "partner-A", .token = PartnerUser(v1.vendor, a.id)};
    t.victim = {{"partner", b.id},   {"deal", b.deal},         {"task", b.task},
                {"reservation", b.reservation}, {"tax", b.tax_id}, {"account", b.account}};
    t.shared = v1_config;
    t.shared["worker"] = wb.id;
    t.secrets = PartnerSecrets(b);
    t.owner_token = PartnerUser(v1.vendor, b.id);
    targets.push_back(t);
  }
  const std::map<std::string, std::string> v2_all = {
      {"vendor", v2.vendor},     {"program", v2.program}, {"queue", v2.queue},
      {"workflow", v2.workflow}, {"partner", c.id},       {"deal", c.deal},
      {"task", c.task},          {"reservation", c.reservation}, {"worker", w2.id},
      {"tax", c.tax_id},         {"account", c.account}};
  std::vector<std::string> v2_secrets = PartnerSecrets(c);
  for (const std::string& s : {v2.vendor, v2.program, v2.queue, v2.workflow, w2.id, w2.name,
                               w2.email, rate_}) {
    v2_secrets.push_back(s);
  }
  for (const auto& [name, token] :
       {std::pair{"manager-V1", Manager(v1.vendor)}, std::pair{"admin-V1", Admin(v1.vendor)}}) {
    Target t{.name = name, .token = token, .victim = v2_all};
    t.shared = {{"activity", "available"}, {"tier", "registered"}, {"calendar", "none"},
                {"competency", "none"},    {"erp_system", "erp-" + run_}};
    t.secrets = v2_secrets;
    t.owner_token = Admin(v2.vendor);
    targets.push_back(t);
  }
  {  // concierge Wa on Wb's worker, task and reservation
    Target t{.name = "concierge-Wa",
             .token = Token({.subject = wa.id, .role = auth::Role::kConcierge,
                             .vendor_ids = {v1.vendor}, .worker_id = wa.id})};
    t.victim = {{"worker", wb.id}, {"task", b.task}, {"reservation", b.reservation}};
    t.shared = v1_config;
    for (const auto& [k, v] : std::map<std::string, std::string>{
             {"partner", b.id}, {"deal", b.deal}, {"tax", b.tax_id}, {"account", b.account}}) {
      t.shared[k] = v;
    }
    t.secrets = {wb.id, wb.name, wb.email, b.task, b.task_title, b.reservation};
    t.owner_token = Token({.subject = wb.id, .role = auth::Role::kConcierge,
                           .vendor_ids = {v1.vendor}, .worker_id = wb.id});
    targets.push_back(t);
  }
  {  // an ERP integration of V1 on V2's objects (at its own vendor it may read partners and
     // deals and mark deals won or lost: docs/deal-registration.md, docs/partner-registry.md)
    Target t{.name = "erp-V1",
             .token = Token({.subject = "erp-" + run_, .role = auth::Role::kErpIntegration,
                             .vendor_ids = {v1.vendor}}),
             .victim = v2_all};
    t.shared = {{"activity", "available"}, {"tier", "registered"}, {"calendar", "none"},
                {"competency", "none"},    {"erp_system", "erp-" + run_}};
    t.secrets = v2_secrets;
    t.owner_token = Admin(v2.vendor);
    targets.push_back(t);
  }

  const auto services = ServiceDescriptors();

  int rpcs = 0, calls = 0, denied = 0, ghost_calls = 0, scoped_ok = 0;
  std::map<std::string, int> by_code;
  std::vector<std::string> failures;
  for (const auto& [binary, service] : services) {
    ASSERT_NE(service, nullptr) << binary;
    grpc::GenericStub stub(processes_.at(binary)->channel());
    for (int m = 0; m < service->method_count(); ++m) {
      const pb::MethodDescriptor& method = *service->method(m);
      ++rpcs;
      const std::string path = absl::StrCat("/", service->full_name(), "/", method.name());
      const bool streaming = method.client_streaming() || method.server_streaming();
      for (const Target& target : targets) {
        const Built probe = Build(method, target, false, "");
        if (!probe.has_id_field) {
          failures.push_back(absl::StrCat(path, ": the matrix cannot aim this RPC at another "
                                                "party (no id-carrying field in its request)"));
          break;
        }
        if (!probe.unknown_kinds.empty()) {
          failures.push_back(absl::StrCat(path, " as ", target.name, ": no value for id kinds ",
                                          absl::StrJoin(probe.unknown_kinds, ", ")));
          continue;
        }
        std::vector<std::string> filters = {""};
        if (probe.has_filter && target.victim.count("partner") > 0) {
          filters.push_back(absl::StrCat("partner_id = \"", target.victim.at("partner"), "\""));
        }
        for (const std::string& filter : filters) {
          const Built built = Build(method, target, false, filter);
          const Reply reply = CallRaw(stub, path, target.token, built.bytes, streaming);
          ++calls;
          ++by_code[absl::StrCat(reply.status.error_code())];
          const std::string where =
              absl::StrCat(path, " as ", target.name, filter.empty() ? "" : " filter " + filter);
          for (const std::string& leak : Leaks(reply, built.bytes, target.secrets)) {
            failures.push_back(absl::StrCat(where, ": reply carries the other party's \"", leak,
                                            "\""));
          }
          if (!built.names_victim) {
            ++scoped_ok;  // only the caller's own scope named: leak-checked above
            continue;
          }
          if (reply.status.ok() && IsListing(method) && !streaming) {
            ++scoped_ok;  // a listing scoped to the caller, without the victim's data
            continue;
          }
          if (!IsDenial(reply.status.error_code())) {
            failures.push_back(absl::StrCat(where, ": not denied: code ",
                                            reply.status.error_code(), " \"",
                                            reply.status.error_message(), "\""));
            continue;
          }
          ++denied;
          // The same call on ids that do not exist must be refused the same way.
          const Built ghost = Build(method, target, true, filter);
          const Reply ghost_reply = CallRaw(stub, path, target.token, ghost.bytes, streaming);
          ++ghost_calls;
          if (ghost_reply.status.error_code() != reply.status.error_code()) {
            failures.push_back(absl::StrCat(
                where, ": existing objects get code ", reply.status.error_code(), " (\"",
                reply.status.error_message(), "\"), missing ones ",
                ghost_reply.status.error_code(), " (\"", ghost_reply.status.error_message(),
                "\"): the answer reveals existence"));
          }
        }
      }
    }
  }

  // Positive control, after the matrix (the owners' calls may change or delete their objects):
  // the same requests made by the victim's own principal do return the victim's data, so the
  // matrix's requests reach real objects and its leak check would see a leak.
  std::map<std::string, int> owner_sees;
  for (const auto& [binary, service] : services) {
    grpc::GenericStub stub(processes_.at(binary)->channel());
    for (const Target& target : targets) {
      for (int m = 0; m < service->method_count(); ++m) {
        const pb::MethodDescriptor& method = *service->method(m);
        const Built built = Build(method, target, false, "");
        const Reply reply =
            CallRaw(stub, absl::StrCat("/", service->full_name(), "/", method.name()),
                    target.owner_token, built.bytes,
                    method.client_streaming() || method.server_streaming());
        if (!Leaks(reply, built.bytes, target.secrets).empty()) ++owner_sees[binary];
      }
    }
    EXPECT_GT(owner_sees[binary], 0)
        << binary << ": no owner call returned the owner's data; the matrix proves nothing there";
  }

  std::string codes;
  for (const auto& [code, n] : by_code) absl::StrAppend(&codes, " code", code, "=", n);
  std::printf("access matrix: %d RPCs x %zu principals: %d calls (+%d ghost calls), %d aimed at "
              "the other party and denied, %d in the caller's own scope (leak-checked only), "
              "%zu failures;%s\n",
              rpcs, targets.size(), calls, ghost_calls, denied, scoped_ok, failures.size(),
              codes.c_str());
  for (const std::string& f : failures) std::printf("  FAIL %s\n", f.c_str());
  std::printf("positive control: the owners' own calls returned their data in");
  for (const auto& [binary, n] : owner_sees) std::printf(" %s=%d", binary.c_str(), n);
  std::printf(" replies\n");
  EXPECT_GE(rpcs, 90);
  EXPECT_TRUE(failures.empty()) << failures.size() << " failures, listed above";
}

}  // namespace
}  // namespace prm::security
