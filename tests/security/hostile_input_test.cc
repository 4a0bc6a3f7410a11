// The hostile-input sweep (issue 7, SPEC §10): generated from the protos at run time, against the
// four real service binaries on the real broker.
//
// One vendor is seeded through the APIs (tests/security/seeded_platform.h). Then every RPC of
// every service (streams included) gets a base request built from its input descriptor — every
// id-carrying field, at any depth, set to the seeded objects' ids — and, one field at a time,
// malformed versions of it: every string field empty, 10 KiB long, over the 16 KiB limit, not
// valid UTF-8, full of control characters, nested 1,000 and 5,000 parentheses deep, 2,500 NOTs
// deep; every enum 9999 and -1; every integer -1, its minimum and maximum; every floating-point
// number NaN, ±infinity and ±1e300; every Timestamp before year 1, after 9999, at the int64
// limit or with nanos out of range; every Duration negative or out of range; every
// google.type.Date and Money invalid; every update mask naming fields that do not exist; every
// repeated field flooded with 5,000 elements; and the empty request (every field missing). Each
// RPC is called as the first principal of the vendor (admin, channel manager, partner user,
// concierge, ERP integration) that the base request does not simply refuse.
//
// Every answer must be a clear error or a success: never INTERNAL, UNKNOWN, DATA_LOSS,
// UNIMPLEMENTED or UNAVAILABLE (a crash), never a unary call still unanswered after 10 s (a
// hang); an error has a message, and INVALID_ARGUMENT names its fields in a
// google.rpc.BadRequest. A write that fails must change nothing: the service's listings (every
// List RPC and the vendor's settings, read as its admin) are the same after the failed call as
// before it. Every service is SERVING after its RPCs, and at the end each one drains on SIGTERM
// and exits 0.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <sys/wait.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/status/field_violations.h"
#include "common/status/grpc_status.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/stubs/logging.h"
#include "grpc/health/v1/health.pb.h"
#include "gtest/gtest.h"
#include "tests/integration/service_process.h"
#include "tests/security/generic_call.h"
#include "tests/security/seeded_platform.h"

namespace prm::security {
namespace {

using FD = pb::FieldDescriptor;

constexpr int kMaxDepth = 3;

// A field reached from the request through singular messages or the first element of repeated
// ones.
using Path = std::vector<const FD*>;

std::string PathName(const Path& path) {
  std::vector<std::string> parts;
  for (const FD* f : path) parts.push_back(f->is_repeated() ? f->name() + "[0]" : f->name());
  return absl::StrJoin(parts, ".");
}

bool IsWellKnown(const pb::Descriptor& d) { return absl::StartsWith(d.full_name(), "google."); }

// The base request: every id field named after the seeded objects, every nested message of
// ours present (one element of a repeated one), a request id, a page size.
void FillBase(pb::Message& m, const std::map<std::string, std::string>& ids, int depth) {
  const pb::Descriptor& d = *m.GetDescriptor();
  const pb::Reflection& r = *m.GetReflection();
  static int counter = 0;
  for (int i = 0; i < d.field_count(); ++i) {
    const FD& f = *d.field(i);
    if (f.type() == FD::TYPE_STRING) {
      std::string value;
      if (f.name() == "request_id") {
        value = absl::StrCat("hostile-", ++counter, "-", absl::ToUnixNanos(absl::Now()));
      } else if (std::optional<std::string> kind = KindOf(f.name())) {
        auto it = ids.find(*kind);
        if (it == ids.end()) continue;
        value = it->second;
      } else {
        continue;
      }
      if (f.is_repeated()) {
        r.AddString(&m, &f, value);
      } else {
        r.SetString(&m, &f, value);
      }
    } else if (f.name() == "page_size" && f.cpp_type() == FD::CPPTYPE_INT32) {
      r.SetInt32(&m, &f, 10);
    } else if (f.cpp_type() == FD::CPPTYPE_MESSAGE && !f.is_map() && depth < kMaxDepth &&
               !IsWellKnown(*f.message_type())) {
      pb::Message* child = f.is_repeated() ? r.AddMessage(&m, &f) : r.MutableMessage(&m, &f);
      FillBase(*child, ids, depth + 1);
    }
  }
}

// The message holding the last field of `path` inside `root`, created on the way.
pb::Message& Holder(pb::Message& root, const Path& path) {
  pb::Message* m = &root;
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    const FD* f = path[i];
    const pb::Reflection& r = *m->GetReflection();
    if (!f->is_repeated()) {
      m = r.MutableMessage(m, f);
    } else {
      m = r.FieldSize(*m, f) == 0 ? r.AddMessage(m, f) : r.MutableRepeatedMessage(m, f, 0);
    }
  }
  return *m;
}

// One malformed version of a request: what it is, and how to make it from the base.
struct Variant {
  std::string name;
  std::function<void(pb::Message&)> apply;
};

std::string Nested(int depth) {
  return std::string(depth, '(') + "x = 1" + std::string(depth, ')');
}

// Sets the leaf field at `path` (adding an element to a repeated one) with `set`.
template <typename Set>
Variant Leaf(const Path& path, const std::string& what, Set set) {
  return {absl::StrCat(PathName(path), " ", what), [path, set](pb::Message& root) {
            pb::Message& m = Holder(root, path);
            const FD* f = path.back();
            if (f->is_repeated()) {
              // A repeated field holds the bad value alone.
              m.GetReflection()->ClearField(&m, f);
            }
            set(m, *f);
          }};
}

void SetScalar(pb::Message& m, const FD& f, const std::string& s) {
  const pb::Reflection& r = *m.GetReflection();
  f.is_repeated() ? r.AddString(&m, &f, s) : r.SetString(&m, &f, s);
}

// The malformed values of one field, by its type.
void VariantsOf(const Path& path, std::vector<Variant>& out) {
  const FD& f = *path.back();
  using R = const pb::Reflection;
  auto add = [&](std::string what, std::function<void(pb::Message&, const FD&)> set) {
    out.push_back(Leaf(path, what, set));
  };
  switch (f.cpp_type()) {
    case FD::CPPTYPE_STRING: {
      if (f.type() == FD::TYPE_BYTES) break;
      const std::vector<std::pair<std::string, std::string>> strings = {
          {"empty", ""},
          {"10 KiB", std::string(10 * 1024, 'h')},
          {"over 16 KiB", std::string(16 * 1024 + 1, 'h')},
          {"invalid UTF-8", std::string("bad \xc3\x28 utf8 \xff")},
          {"control characters", std::string("a\0b\x01\x1b[2J\x7f\r\n", 11)},
          {"1,000 parentheses deep", Nested(1000)},
          {"5,000 parentheses deep", Nested(5000)},
          {"2,500 NOTs deep", [] {
             std::string s;
             for (int i = 0; i < 2500; ++i) s += "NOT ";
             return s + "x = 1";
           }()},
      };
      for (const auto& [what, value] : strings) {
        add(what, [value](pb::Message& m, const FD& fd) { SetScalar(m, fd, value); });
      }
      if (f.is_repeated()) {
        add("5,000 elements", [](pb::Message& m, const FD& fd) {
          for (int i = 0; i < 5000; ++i) m.GetReflection()->AddString(&m, &fd, absl::StrCat("x", i));
        });
      }
      break;
    }
    case FD::CPPTYPE_ENUM:
      for (int v : {9999, -1}) {
        add(absl::StrCat("enum ", v), [v](pb::Message& m, const FD& fd) {
          R& r = *m.GetReflection();
          fd.is_repeated() ? r.AddEnumValue(&m, &fd, v) : r.SetEnumValue(&m, &fd, v);
        });
      }
      break;
    case FD::CPPTYPE_INT32:
      for (int32_t v : {-1, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()}) {
        add(absl::StrCat(v), [v](pb::Message& m, const FD& fd) {
          R& r = *m.GetReflection();
          fd.is_repeated() ? r.AddInt32(&m, &fd, v) : r.SetInt32(&m, &fd, v);
        });
      }
      break;
    case FD::CPPTYPE_INT64:
      for (int64_t v : {int64_t{-1}, std::numeric_limits<int64_t>::min(),
                        std::numeric_limits<int64_t>::max()}) {
        add(absl::StrCat(v), [v](pb::Message& m, const FD& fd) {
          R& r = *m.GetReflection();
          fd.is_repeated() ? r.AddInt64(&m, &fd, v) : r.SetInt64(&m, &fd, v);
        });
      }
      break;
    case FD::CPPTYPE_UINT32:
      add("uint32 max", [](pb::Message& m, const FD& fd) {
        R& r = *m.GetReflection();
        const uint32_t v = std::numeric_limits<uint32_t>::max();
        fd.is_repeated() ? r.AddUInt32(&m, &fd, v) : r.SetUInt32(&m, &fd, v);
      });
      break;
    case FD::CPPTYPE_UINT64:
      add("uint64 max", [](pb::Message& m, const FD& fd) {
        R& r = *m.GetReflection();
        const uint64_t v = std::numeric_limits<uint64_t>::max();
        fd.is_repeated() ? r.AddUInt64(&m, &fd, v) : r.SetUInt64(&m, &fd, v);
      });
      break;
    case FD::CPPTYPE_DOUBLE:
    case FD::CPPTYPE_FLOAT:
      for (double v : {std::nan(""), -HUGE_VAL, HUGE_VAL, -1e300, 1e300, -1.0}) {
        add(absl::StrCat("number ", v), [v](pb::Message& m, const FD& fd) {
          R& r = *m.GetReflection();
          if (fd.cpp_type() == FD::CPPTYPE_FLOAT) {
            const float x = static_cast<float>(v);
            fd.is_repeated() ? r.AddFloat(&m, &fd, x) : r.SetFloat(&m, &fd, x);
          } else {
            fd.is_repeated() ? r.AddDouble(&m, &fd, v) : r.SetDouble(&m, &fd, v);
          }
        });
      }
      break;
    default:
      break;
  }
}

// The malformed values of a well-known message field, set through its own fields by name.
void WellKnownVariants(const Path& path, std::vector<Variant>& out) {
  const std::string type = path.back()->message_type()->full_name();
  struct Setting {
    std::string what;
    std::vector<std::pair<std::string, int64_t>> numbers;
    std::vector<std::pair<std::string, std::string>> strings;
  };
  std::vector<Setting> settings;
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  if (type == "google.protobuf.Timestamp") {
    settings = {{"before year 1", {{"seconds", -62135596801}}, {}},
                {"after year 9999", {{"seconds", 253402300800}}, {}},
                {"int64 max seconds", {{"seconds", kMax}}, {}},
                {"int64 min seconds", {{"seconds", kMin}}, {}},
                {"negative nanos", {{"seconds", 1700000000}, {"nanos", -1}}, {}},
                {"nanos of 2 s", {{"seconds", 1700000000}, {"nanos", 2000000000}}, {}}};
  } else if (type == "google.protobuf.Duration") {
    settings = {{"negative", {{"seconds", -60}}, {}},
                {"int64 max seconds", {{"seconds", kMax}}, {}},
                {"int64 min seconds", {{"seconds", kMin}}, {}},
                {"signs differ", {{"seconds", 5}, {"nanos", -5}}, {}},
                {"past 10,000 years", {{"seconds", 315576000001}}, {}}};
  } else if (type == "google.type.Date") {
    settings = {{"year 10000", {{"year", 10000}, {"month", 1}, {"day", 1}}, {}},
                {"year -1", {{"year", -1}, {"month", 1}, {"day", 1}}, {}},
                {"month 13", {{"year", 2026}, {"month", 13}, {"day", 1}}, {}},
                {"February 30", {{"year", 2026}, {"month", 2}, {"day", 30}}, {}},
                {"day without month", {{"year", 2026}, {"month", 0}, {"day", 5}}, {}}};
  } else if (type == "google.type.Money") {
    settings = {{"int64 min units", {{"units", kMin}}, {{"currency_code", "USD"}}},
                {"int64 max units", {{"units", kMax}}, {{"currency_code", "USD"}}},
                {"signs differ", {{"units", -1}, {"nanos", 5}}, {{"currency_code", "USD"}}},
                {"nanos past a unit", {{"units", 1}, {"nanos", 2000000000}}, {{"currency_code", "USD"}}},
                {"bad currency", {{"units", 10}}, {{"currency_code", "usd$"}}},
                {"no currency", {{"units", 10}}, {}}};
  } else if (type == "google.protobuf.FieldMask") {
    settings = {{"unknown path", {}, {{"paths", "no_such_field"}}},
                {"deep path", {}, {{"paths", "a.b.c.d.e.f"}}},
                {"empty path", {}, {{"paths", ""}}},
                {"wildcard in a path", {}, {{"paths", "*.x"}}}};
  } else {
    return;
  }
  for (const Setting& s : settings) {
    out.push_back({absl::StrCat(PathName(path), " ", s.what), [path, s](pb::Message& root) {
                     pb::Message& holder = Holder(root, path);
                     const FD* f = path.back();
                     const pb::Reflection& hr = *holder.GetReflection();
                     pb::Message* m = f->is_repeated() ? hr.AddMessage(&holder, f)
                                                       : hr.MutableMessage(&holder, f);
                     m->Clear();
                     const pb::Descriptor& d = *m->GetDescriptor();
                     const pb::Reflection& r = *m->GetReflection();
                     for (const auto& [name, v] : s.numbers) {
                       const FD* nf = d.FindFieldByName(name);
                       if (nf->cpp_type() == FD::CPPTYPE_INT64) {
                         r.SetInt64(m, nf, v);
                       } else {
                         r.SetInt32(m, nf, static_cast<int32_t>(std::clamp<int64_t>(
                                              v, std::numeric_limits<int32_t>::min(),
                                              std::numeric_limits<int32_t>::max())));
                       }
                     }
                     for (const auto& [name, v] : s.strings) {
                       const FD* sf = d.FindFieldByName(name);
                       sf->is_repeated() ? r.AddString(m, sf, v) : r.SetString(m, sf, v);
                     }
                   }});
  }
}

// Every malformed version of a request type: the empty request, then each field's.
void Walk(const pb::Descriptor& d, Path prefix, int depth, std::vector<Variant>& out) {
  for (int i = 0; i < d.field_count(); ++i) {
    const FD* f = d.field(i);
    Path path = prefix;
    path.push_back(f);
    if (f->cpp_type() != FD::CPPTYPE_MESSAGE) {
      VariantsOf(path, out);
      continue;
    }
    if (f->is_map()) continue;
    if (IsWellKnown(*f->message_type())) {
      WellKnownVariants(path, out);
      continue;
    }
    if (f->is_repeated()) {
      out.push_back({absl::StrCat(PathName(path), " 5,000 elements"), [path](pb::Message& root) {
                       pb::Message& m = Holder(root, path);
                       for (int n = 0; n < 5000; ++n) m.GetReflection()->AddMessage(&m, path.back());
                     }});
    }
    if (depth < kMaxDepth) Walk(*f->message_type(), path, depth + 1, out);
  }
}

bool IsReader(const pb::MethodDescriptor& method) {
  for (const char* prefix : {"Get", "List", "Lookup", "Find", "Watch"}) {
    if (absl::StartsWith(method.name(), prefix)) return true;
  }
  return false;
}

// Destructive RPCs run last, so that the others meet the seeded objects.
int Order(const pb::MethodDescriptor& method) {
  for (const char* prefix : {"Delete", "Terminate", "Cancel", "Revoke", "Suspend", "Reject"}) {
    if (absl::StartsWith(method.name(), prefix)) return 1;
  }
  return 0;
}

// A server message for a failure line: quoted, at most 200 bytes of it (a message may echo a
// 16 KiB field back).
std::string Quoted(const std::string& message) {
  constexpr size_t kShown = 200;
  if (message.size() <= kShown) return absl::StrCat("\"", message, "\"");
  return absl::StrCat("\"", message.substr(0, kShown), "\"... (", message.size(), " bytes)");
}

bool IsServerFailure(grpc::StatusCode code) {
  return code == grpc::StatusCode::INTERNAL || code == grpc::StatusCode::UNKNOWN ||
         code == grpc::StatusCode::DATA_LOSS || code == grpc::StatusCode::UNIMPLEMENTED ||
         code == grpc::StatusCode::UNAVAILABLE;
}

class HostileInput : public ::testing::Test, public SeededPlatform {
 protected:
  void SetUp() override {
    // Serializing a string that is not valid UTF-8 is what this test means to do; protobuf
    // logs every one.
    pb::SetLogHandler(nullptr);
    Start("hostile");
    ASSERT_FALSE(HasFailure()) << "the platform did not start";
  }
  void TearDown() override { Stop(); }

  // What a service shows its vendor's admin: every List RPC and the vendor-wide settings.
  std::string Snapshot(grpc::GenericStub& stub, const pb::ServiceDescriptor& service,
                       const std::map<std::string, std::string>& ids, const std::string& admin) {
    std::string out;
    for (int m = 0; m < service.method_count(); ++m) {
      const pb::MethodDescriptor& method = *service.method(m);
      const bool settings = absl::StartsWith(method.name(), "Get") &&
                            (absl::EndsWith(method.name(), "Policy") ||
                             absl::EndsWith(method.name(), "Settings"));
      if (!(absl::StartsWith(method.name(), "List") || settings) || method.server_streaming()) {
        continue;
      }
      std::unique_ptr<pb::Message> request(
          pb::MessageFactory::generated_factory()->GetPrototype(method.input_type())->New());
      FillBase(*request, ids, 0);
      if (const FD* size = request->GetDescriptor()->FindFieldByName("page_size")) {
        request->GetReflection()->SetInt32(request.get(), size, 500);
      }
      if (const FD* rid = request->GetDescriptor()->FindFieldByName("request_id")) {
        request->GetReflection()->ClearField(request.get(), rid);
      }
      const Reply reply = CallRaw(stub, absl::StrCat("/", service.full_name(), "/", method.name()),
                                  admin, request->SerializeAsString(), false);
      absl::StrAppend(&out, method.name(), ":", reply.status.error_code(), ":");
      for (const std::string& message : reply.messages) absl::StrAppend(&out, message);
      absl::StrAppend(&out, "\n");
    }
    return out;
  }

  // The snapshot once it stops changing: an accepted write has effects that follow it
  // asynchronously (a created task is routed and reserved, events are consumed), and on a loaded
  // machine they land after the next call, which would look like a half-write of that call.
  std::string SettledSnapshot(grpc::GenericStub& stub, const pb::ServiceDescriptor& service,
                              const std::map<std::string, std::string>& ids,
                              const std::string& admin) {
    std::string last = Snapshot(stub, service, ids, admin);
    int unchanged = 0;
    for (int i = 0; i < 100 && unchanged < 3; ++i) {
      absl::SleepFor(absl::Milliseconds(100));
      std::string next = Snapshot(stub, service, ids, admin);
      unchanged = next == last ? unchanged + 1 : 0;
      last = std::move(next);
    }
    return last;
  }

  // The first line that differs between two snapshots, for the failure message.
  static std::string FirstDifference(const std::string& before, const std::string& after) {
    const std::vector<std::string> b = absl::StrSplit(before, '\n');
    const std::vector<std::string> a = absl::StrSplit(after, '\n');
    for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
      const std::string x = i < b.size() ? b[i] : "", y = i < a.size() ? a[i] : "";
      if (x != y) {
        return absl::StrCat("before ", Quoted(x.substr(0, 300)), " after ",
                            Quoted(y.substr(0, 300)));
      }
    }
    return "";
  }
};

TEST_F(HostileInput, EveryRpcAnswersMalformedRequestsWithAClearErrorAndNoHalfWrite) {
  const VendorWorld v = SeedVendor("v", {"a", "b"}, {"wa", "wb"}, "b", 5'000'000);
  ASSERT_FALSE(HasFailure()) << "seeding failed";
  const auto& a = v.partners.at("a");
  const auto& b = v.partners.at("b");
  const auto& wb = v.workers.at("wb");
  const std::map<std::string, std::string> ids = {
      {"vendor", v.vendor},       {"program", v.program},      {"queue", v.queue},
      {"workflow", v.workflow},   {"partner", b.id},           {"deal", b.deal},
      {"task", b.task},           {"reservation", b.reservation}, {"worker", wb.id},
      {"tax", b.tax_id},          {"account", b.account},      {"activity", "available"},
      {"tier", "registered"},     {"calendar", "none"},        {"competency", "none"},
      {"erp_system", "erp-" + run_}};
  const std::string admin = Admin(v.vendor);
  const std::vector<std::pair<std::string, std::string>> principals = {
      {"admin", admin},
      {"manager", Manager(v.vendor)},
      {"partner-user", PartnerUser(v.vendor, b.id)},
      {"concierge", testing::Token({.subject = wb.id, .role = auth::Role::kConcierge,
                                    .vendor_ids = {v.vendor}, .worker_id = wb.id})},
      {"erp", testing::Token({.subject = "erp-" + run_, .role = auth::Role::kErpIntegration,
                              .vendor_ids = {v.vendor}})},
  };
  (void)a;

  const auto services = ServiceDescriptors();

  int rpcs = 0, calls = 0, refused_writes = 0, denied_rpcs = 0;
  std::map<int, int> by_code;
  std::vector<std::string> failures;
  const absl::Time start = absl::Now();
  for (const auto& [binary, service] : services) {
    ASSERT_NE(service, nullptr) << binary;
    grpc::GenericStub stub(process(binary).channel());
    std::vector<const pb::MethodDescriptor*> methods;
    for (int m = 0; m < service->method_count(); ++m) methods.push_back(service->method(m));
    std::stable_sort(methods.begin(), methods.end(),
                     [](auto* x, auto* y) { return Order(*x) < Order(*y); });
    std::string before = SettledSnapshot(stub, *service, ids, admin);
    for (const pb::MethodDescriptor* method : methods) {
      ++rpcs;
      const std::string path = absl::StrCat("/", service->full_name(), "/", method->name());
      const bool streaming = method->client_streaming() || method->server_streaming();
      auto base = [&] {
        std::unique_ptr<pb::Message> request(
            pb::MessageFactory::generated_factory()->GetPrototype(method->input_type())->New());
        FillBase(*request, ids, 0);
        return request;
      };
      // The first principal the base request is not simply refused for.
      std::string token = admin;
      bool found = false, base_written = false;
      for (const auto& [name, candidate] : principals) {
        const Reply reply = CallRaw(stub, path, candidate, base()->SerializeAsString(), streaming);
        const grpc::StatusCode code = reply.status.error_code();
        if (code != grpc::StatusCode::PERMISSION_DENIED &&
            code != grpc::StatusCode::UNAUTHENTICATED) {
          token = candidate;
          found = true;
          base_written = code == grpc::StatusCode::OK && !IsReader(*method);
          break;
        }
      }
      if (!found) ++denied_rpcs;
      before = base_written ? SettledSnapshot(stub, *service, ids, admin)
                            : Snapshot(stub, *service, ids, admin);

      std::vector<Variant> variants = {{"every field missing", [](pb::Message& m) { m.Clear(); }}};
      Walk(*method->input_type(), {}, 0, variants);
      for (const Variant& variant : variants) {
        std::unique_ptr<pb::Message> request = base();
        variant.apply(*request);
        const std::string bytes = request->SerializeAsString();
        const Reply reply = CallRaw(stub, path, token, bytes, streaming);
        ++calls;
        const grpc::StatusCode code = reply.status.error_code();
        ++by_code[code];
        const std::string where = absl::StrCat(method->name(), " with ", variant.name);
        if (IsServerFailure(code) ||
            (code == grpc::StatusCode::DEADLINE_EXCEEDED && !streaming)) {
          failures.push_back(absl::StrCat(where, ": code ", code, " ",
                                          Quoted(reply.status.error_message())));
        } else if (code == grpc::StatusCode::RESOURCE_EXHAUSTED &&
                   absl::StrContains(reply.status.error_message(), "metadata size")) {
          // The client's own refusal: the error's trailers were over its 8 KiB default.
          failures.push_back(absl::StrCat(where, ": the reply's trailers were too large for a "
                                          "default client: ",
                                          Quoted(reply.status.error_message())));
        } else if (code != grpc::StatusCode::OK &&
                   code != grpc::StatusCode::DEADLINE_EXCEEDED &&
                   reply.status.error_message().empty()) {
          failures.push_back(absl::StrCat(where, ": code ", code, " without a message"));
        } else if (code == grpc::StatusCode::INVALID_ARGUMENT &&
                   FieldViolationsOf(FromGrpcStatus(reply.status)).empty()) {
          failures.push_back(absl::StrCat(where, ": INVALID_ARGUMENT naming no field: ",
                                          Quoted(reply.status.error_message())));
        }
        if (IsReader(*method)) continue;
        std::string after = code == grpc::StatusCode::OK
                                ? SettledSnapshot(stub, *service, ids, admin)
                                : Snapshot(stub, *service, ids, admin);
        if (code != grpc::StatusCode::OK) {
          ++refused_writes;
          if (after != before) {
            failures.push_back(absl::StrCat(where, ": refused with code ", code, " ",
                                            Quoted(reply.status.error_message()),
                                            " but the service's listings changed: ",
                                            FirstDifference(before, after)));
          }
        }
        before = std::move(after);
      }
      if (!testing::WaitForHealth(process(binary).address(),
                                  grpc::health::v1::HealthCheckResponse::SERVING,
                                  absl::Seconds(10))) {
        failures.push_back(absl::StrCat(binary, " is not SERVING after ", method->name()));
        break;
      }
    }
  }
  const absl::Duration took = absl::Now() - start;

  // Each service drains and exits 0: nothing crashed along the way.
  for (const char* binary : kServices) {
    const auto [wait_status, drain] = process(binary).Terminate();
    if (!WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0) {
      failures.push_back(absl::StrCat(binary, " did not exit 0 on SIGTERM: wait status ",
                                      wait_status));
    }
  }

  std::string codes;
  for (const auto& [code, n] : by_code) absl::StrAppend(&codes, " code", code, "=", n);
  std::printf("hostile input: %d RPCs, %d malformed requests in %.1f s (%d RPCs refused the base "
              "request to every principal), %d refused writes checked for half-writes, %zu "
              "failures;%s\n",
              rpcs, calls, absl::ToDoubleSeconds(took), denied_rpcs, refused_writes,
              failures.size(), codes.c_str());
  for (const std::string& f : failures) std::printf("  FAIL %s\n", f.c_str());
  EXPECT_GE(rpcs, 90);
  EXPECT_TRUE(failures.empty()) << failures.size() << " failures, listed above";
}

}  // namespace
}  // namespace prm::security
