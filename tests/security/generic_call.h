#pragma once

// Calls any RPC by its method path with request bytes built by reflection, through
// grpc::GenericStub: unary and streaming alike, the reply messages kept as bytes. For the
// security tests, which walk every method of every service from the protos.

#include <chrono>
#include <memory>
#include <optional>
#include <utility>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/completion_queue.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"

namespace prm::security {

namespace pb = ::google::protobuf;

// The kind of object an id field names, from its name; nullopt for fields that name no object
// the security tests aim at (request_id, step_id ...). Longest suffix first.
inline std::optional<std::string> KindOf(absl::string_view field) {
  static const std::vector<std::pair<std::string, std::string>> kSuffixes = {
      {"business_calendar_id", "calendar"}, {"reservation_id", "reservation"},
      {"competency_id", "competency"},      {"erp_system_id", "erp_system"},
      {"workflow_id", "workflow"},          {"activity_id", "activity"},
      {"program_id", "program"},            {"partner_id", "partner"},
      {"partner_ids", "partner"},           {"worker_ids", "worker"},
      {"account_id", "account"},            {"vendor_id", "vendor"},
      {"worker_id", "worker"},              {"queue_id", "queue"},
      {"deal_id", "deal"},                  {"task_id", "task"},
      {"tier_id", "tier"},                  {"tax_id", "tax"},
  };
  for (const auto& [suffix, kind] : kSuffixes) {
    if (absl::EndsWith(field, suffix)) return kind;
  }
  return std::nullopt;
}

// True when the response lists things (has a repeated message field): a listing scoped to the
// caller may succeed as long as it shows none of the victim's data.
inline bool IsListing(const pb::MethodDescriptor& method) {
  const pb::Descriptor& d = *method.output_type();
  for (int i = 0; i < d.field_count(); ++i) {
    if (d.field(i)->is_repeated() && d.field(i)->message_type() != nullptr) return true;
  }
  return false;
}

struct Reply {
  grpc::Status status;
  std::vector<std::string> messages;
};

inline std::string ToString(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  for (const grpc::Slice& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

// One call of any kind (unary or streaming) with serialized bytes, through the generic stub.
inline Reply CallRaw(grpc::GenericStub& stub, const std::string& path, const std::string& token,
              const std::string& request, bool streaming) {
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", token);
  ctx.set_deadline(std::chrono::system_clock::now() +
                   (streaming ? std::chrono::seconds(2) : std::chrono::seconds(10)));
  grpc::CompletionQueue cq;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call = stub.PrepareCall(&ctx, path, &cq);
  void* tag = nullptr;
  bool ok = false;
  call->StartCall(reinterpret_cast<void*>(1));
  cq.Next(&tag, &ok);
  Reply reply;
  if (ok) {
    grpc::Slice slice(request);
    grpc::ByteBuffer buffer(&slice, 1);
    call->WriteLast(buffer, grpc::WriteOptions(), reinterpret_cast<void*>(2));
    cq.Next(&tag, &ok);
    while (ok && reply.messages.size() < 1000) {
      grpc::ByteBuffer in;
      call->Read(&in, reinterpret_cast<void*>(3));
      cq.Next(&tag, &ok);
      if (ok) reply.messages.push_back(ToString(in));
    }
  }
  call->Finish(&reply.status, reinterpret_cast<void*>(4));
  cq.Next(&tag, &ok);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return reply;
}


}  // namespace prm::security
