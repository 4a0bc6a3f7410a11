#include "common/server/call_limits.h"

#include <array>
#include <cstdint>
#include <functional>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace prm::server {
namespace {

// Sharded by context address so that concurrent calls rarely share a lock.
class Registry {
 public:
  static Registry& Instance() {
    static Registry* registry = new Registry();  // never destroyed: calls may outlive main
    return *registry;
  }
  void Add(const grpc::ServerContextBase* ctx, CallLimits limits) {
    Shard& s = ShardOf(ctx);
    absl::MutexLock lock(&s.mu);
    s.calls[ctx] = std::move(limits);
  }
  void Remove(const grpc::ServerContextBase* ctx) {
    Shard& s = ShardOf(ctx);
    absl::MutexLock lock(&s.mu);
    s.calls.erase(ctx);
  }
  void SetRequestStatus(const grpc::ServerContextBase* ctx, absl::Status status) {
    Shard& s = ShardOf(ctx);
    absl::MutexLock lock(&s.mu);
    if (auto it = s.calls.find(ctx); it != s.calls.end()) it->second.request_status = std::move(status);
  }
  CallLimits Find(const grpc::ServerContextBase* ctx) {
    Shard& s = ShardOf(ctx);
    absl::MutexLock lock(&s.mu);
    auto it = s.calls.find(ctx);
    return it == s.calls.end() ? CallLimits{} : it->second;
  }

 private:
  struct Shard {
    absl::Mutex mu;
    absl::flat_hash_map<const grpc::ServerContextBase*, CallLimits> calls ABSL_GUARDED_BY(mu);
  };
  Shard& ShardOf(const grpc::ServerContextBase* ctx) {
    return shards_[(reinterpret_cast<uintptr_t>(ctx) >> 6) % shards_.size()];
  }
  std::array<Shard, 16> shards_;
};

}  // namespace

std::string PackageOfMethod(std::string_view method_path) {
  if (!method_path.empty() && method_path.front() == '/') method_path.remove_prefix(1);
  method_path = method_path.substr(0, method_path.find('/'));  // "prm.deal.v1.DealRegistration"
  const size_t dot = method_path.rfind('.');
  return dot == std::string_view::npos ? std::string() : std::string(method_path.substr(0, dot));
}

namespace internal {
void RegisterCall(const grpc::ServerContextBase* ctx, CallLimits limits) {
  Registry::Instance().Add(ctx, std::move(limits));
}
void UnregisterCall(const grpc::ServerContextBase* ctx) { Registry::Instance().Remove(ctx); }
void SetRequestStatus(const grpc::ServerContextBase* ctx, absl::Status status) {
  Registry::Instance().SetRequestStatus(ctx, std::move(status));
}
}  // namespace internal

CallLimits LimitsOfCall(const grpc::ServerContextBase* ctx) {
  return Registry::Instance().Find(ctx);
}

}  // namespace prm::server
