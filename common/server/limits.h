#pragma once

// The request-size limits every PRM API applies (SPEC §3.1 "Limits"), in one place so that the
// four services agree and docs/operations.md has one table to show:
//
//   message size     --max-message-bytes (4 MiB in) / --max-send-message-bytes (16 MiB out):
//                    larger → RESOURCE_EXHAUSTED from gRPC before any handler runs
//   page size        0 → kDefaultPageSize; above kMaxPageSize → kMaxPageSize; negative →
//                    INVALID_ARGUMENT naming page_size
//   filter           at most kMaxFilterLength bytes → else INVALID_ARGUMENT naming filter
//   any string       at most kMaxStringBytes bytes, in every request of every RPC, checked by
//                    ServiceHost before the handler runs (CheckStringLengths) → else
//                    INVALID_ARGUMENT naming each field by its path ("deal.products[2].sku")
//   invalid request  bytes that are no request message (malformed protobuf, a string that is
//                    not valid UTF-8, nesting past protobuf's recursion limit) → INVALID_ARGUMENT
//                    naming the request type, from ServiceHost (UnparsableRequest)
//   batch            each batch field documents its own maximum in its .proto comment (e.g.
//                    FindPartners leads, SetExchangeRates rates); over → INVALID_ARGUMENT
//                    naming the field
//   request rate     --rate-limit / --rate-limit-burst per caller (rate_limiter.h)
//   deadline         --max-deadline / --max-stream-duration (call_context.h)
//
// Handlers check a request's limits together with its other fields: the overloads taking a
// FieldViolations add their violation to it, so that one INVALID_ARGUMENT names every bad field
// (common/status/field_violations.h). Pure functions; thread-safe.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/message.h"
#include "common/status/field_violations.h"

namespace prm::server {

inline constexpr int32_t kDefaultPageSize = 50;
inline constexpr int32_t kMaxPageSize = 500;
inline constexpr size_t kMaxFilterLength = 2048;
// No text of the API is longer: names, titles, notes, ids, tokens, expressions.
inline constexpr size_t kMaxStringBytes = 16 * 1024;

// The page size to use for a List request's `page_size` (0 → kDefaultPageSize, at most
// kMaxPageSize). A negative one adds a violation on page_size to `bad` and yields
// kDefaultPageSize, which the caller never uses since the request fails.
int32_t EffectivePageSize(int32_t requested, FieldViolations& bad);

// True when `filter` is at most kMaxFilterLength bytes; otherwise adds a violation naming
// `field` to `bad` and returns false (the caller does not parse it).
bool CheckFilterLength(std::string_view filter, std::string_view field, FieldViolations& bad);

// True when a batch of `size` items is at most `max`; otherwise adds a violation naming `field`
// to `bad` and returns false (the caller does not look at the items).
bool CheckBatchSize(size_t size, size_t max, std::string_view field, FieldViolations& bad);

// Adds a violation to `bad` for every string field of `message` — at any depth, in repeated
// fields and map values too — longer than kMaxStringBytes, named by its path from the request
// ("deal.products[2].sku", "labels[region]"). Bytes fields are not text and are not checked.
void CheckStringLengths(const google::protobuf::Message& message, FieldViolations& bad);

// INVALID_ARGUMENT for request bytes that do not parse as a `type_name` message.
absl::Status UnparsableRequest(std::string_view type_name);

}  // namespace prm::server
