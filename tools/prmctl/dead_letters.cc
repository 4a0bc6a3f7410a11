#include "tools/prmctl/dead_letters.h"

#include <optional>
#include <set>
#include <string_view>
#include <tuple>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/events/kafka_binding.h"
#include "common/kafka/consumer.h"
#include "common/status/field_violations.h"

namespace prm::prmctl {
namespace {

// The value of header `name`, required non-empty; a violation otherwise.
std::string Required(const kafka::Record& record, const char* name, FieldViolations* bad) {
  std::optional<std::string_view> value = record.FindHeader(name);
  if (!value.has_value() || value->empty()) {
    bad->Add(name, "is missing");
    return "";
  }
  return std::string(*value);
}

template <typename Int>
Int NonNegative(const kafka::Record& record, const char* name, FieldViolations* bad) {
  std::optional<std::string_view> header = record.FindHeader(name);
  Int value = -1;
  if (!header.has_value() || header->empty()) {
    bad->Add(name, "is missing");
    return value;
  }
  const absl::string_view text(header->data(), header->size());
  if (!absl::SimpleAtoi(text, &value) || value < 0) {
    bad->Add(name, absl::StrCat("must be a non-negative integer (got \"", text, "\")"));
    value = -1;
  }
  return value;
}

}  // namespace

absl::StatusOr<DeadLetter> ParseDeadLetter(kafka::Record record) {
  FieldViolations bad;
  DeadLetter letter;
  letter.origin.topic = Required(record, kafka::kDlqTopicHeader, &bad);
  letter.origin.partition = NonNegative<int32_t>(record, kafka::kDlqPartitionHeader, &bad);
  letter.origin.offset = NonNegative<int64_t>(record, kafka::kDlqOffsetHeader, &bad);
  letter.reason = Required(record, kafka::kDlqErrorHeader, &bad);
  letter.origin.group = Required(record, kafka::kDlqGroupHeader, &bad);
  if (!bad.empty()) {
    return bad.ToStatus(absl::StrCat("record ", record.topic, "[", record.partition, "]@",
                                     record.offset, " is not a PRM dead letter"));
  }
  letter.record = std::move(record);
  // The original's event attributes, whichever content mode it used; a record that does not
  // decode may still carry the binary-mode headers.
  if (absl::StatusOr<events::CloudEvent> event = events::Decode(OriginalRecord(letter));
      event.ok()) {
    letter.ce_type = event->type;
    letter.ce_id = event->id;
    letter.ce_source = event->source;
  } else {
    letter.ce_type = std::string(letter.record.FindHeader("ce_type").value_or(""));
    letter.ce_id = std::string(letter.record.FindHeader("ce_id").value_or(""));
    letter.ce_source = std::string(letter.record.FindHeader("ce_source").value_or(""));
  }
  return letter;
}

bool DeadLetterFilter::Matches(const DeadLetter& letter) const {
  return (group.empty() || letter.origin.group == group) &&
         (reason_contains.empty() || absl::StrContains(letter.reason, reason_contains)) &&
         (ce_id.empty() || letter.ce_id == ce_id);
}

std::vector<DeadLetter> SelectDeadLetters(std::vector<DeadLetter> letters,
                                          const DeadLetterFilter& filter, size_t limit) {
  std::vector<DeadLetter> selected;
  std::set<DeadLetterOrigin> seen;
  for (DeadLetter& letter : letters) {
    if (limit != 0 && selected.size() >= limit) break;
    if (!filter.Matches(letter) || !seen.insert(letter.origin).second) continue;
    selected.push_back(std::move(letter));
  }
  return selected;
}

kafka::Record OriginalRecord(const DeadLetter& letter) {
  kafka::Record original{.topic = letter.origin.topic,
                         .key = letter.record.key,
                         .value = letter.record.value};
  for (const kafka::Header& header : letter.record.headers) {
    if (!absl::StartsWith(header.key, kDlqHeaderPrefix)) original.headers.push_back(header);
  }
  return original;
}

std::vector<Replay> PlanReplay(const std::vector<DeadLetter>& letters) {
  std::vector<Replay> plan;
  std::set<std::tuple<std::string, int32_t, int64_t>> seen;
  std::set<std::pair<std::string, std::string>> events;  // source, id
  for (const DeadLetter& letter : letters) {
    const DeadLetterOrigin& o = letter.origin;
    if (!seen.insert({o.topic, o.partition, o.offset}).second) continue;
    const bool is_event = !letter.ce_source.empty() && !letter.ce_id.empty();
    if (is_event && !events.insert({letter.ce_source, letter.ce_id}).second) continue;
    plan.push_back({.record = OriginalRecord(letter), .origin = o, .ce_id = letter.ce_id});
  }
  return plan;
}

}  // namespace prm::prmctl
