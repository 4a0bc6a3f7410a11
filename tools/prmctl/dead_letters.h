#pragma once

// Dead letters as an operator sees them (issue 9, SPEC §2 "Events in"): what a record of a
// `<topic>.dlq` topic says about the record it holds (common/kafka/consumer.h writes it), which
// dead letters a selection picks, and the original record to republish. Plain functions of
// kafka::Record values — no broker; thread-compatible.
//
// Dead-lettering is at least once: a consumer may dead-letter the same record twice, with the
// same origin headers. The origin (group, topic, partition, offset) identifies one dead letter.
// Replaying is safe because every consumer dedupes on the CloudEvents source+id and does not
// mark a dead-lettered record processed: those that applied the original ignore the copy.

#include <compare>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/kafka/record.h"

namespace prm::prmctl {

// The prefix of the headers the consumer adds when it dead-letters a record.
inline constexpr char kDlqHeaderPrefix[] = "prm_dlq_";

struct DeadLetterOrigin {
  std::string group;  // the consumer group that dead-lettered the record
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
  friend auto operator<=>(const DeadLetterOrigin&, const DeadLetterOrigin&) = default;
};

struct DeadLetter {
  kafka::Record record;  // as read from the DLQ topic, with its partition and offset
  DeadLetterOrigin origin;
  std::string reason;  // the prm_dlq_error header: "NOT_FOUND: partner_external_id: …"
  // Of the original event; "" when the record is not a readable CloudEvent (that may be why it
  // was dead-lettered).
  std::string ce_type;
  std::string ce_id;
  std::string ce_source;
};

// The dead letter held by a DLQ record. INVALID_ARGUMENT naming every prm_dlq_* header that is
// missing or malformed (topic, partition, offset, error and consumer group are all required).
absl::StatusOr<DeadLetter> ParseDeadLetter(kafka::Record record);

// Which dead letters to act on; an empty field matches everything.
struct DeadLetterFilter {
  std::string group;            // the consumer group, exactly
  std::string reason_contains;  // a substring of the reason, case-sensitively
  std::string ce_id;            // the CloudEvents id, exactly

  bool empty() const { return group.empty() && reason_contains.empty() && ce_id.empty(); }
  bool Matches(const DeadLetter& letter) const;
};

// The dead letters of `letters` (in DLQ order) that match `filter`, each origin once (its first
// copy), at most `limit` of them (0: no limit).
std::vector<DeadLetter> SelectDeadLetters(std::vector<DeadLetter> letters,
                                          const DeadLetterFilter& filter, size_t limit);

// The record as its producer sent it: the origin topic, the same key, value and headers in
// their order, minus every prm_dlq_* header; partition and offset unset (-1).
kafka::Record OriginalRecord(const DeadLetter& letter);

struct Replay {
  kafka::Record record;     // OriginalRecord of the first dead letter of this original
  DeadLetterOrigin origin;  // that dead letter's origin
  std::string ce_id;
};

// What to republish for `letters`, in order: one per distinct original (origin topic,
// partition, offset) — two consumer groups that dead-lettered the same record give one replay —
// and one per CloudEvent (source, id) — a record replayed before and dead-lettered again has a
// new origin but is the same event, which every consumer would ignore the second time.
std::vector<Replay> PlanReplay(const std::vector<DeadLetter>& letters);

}  // namespace prm::prmctl
