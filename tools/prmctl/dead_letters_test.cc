#include "tools/prmctl/dead_letters.h"

#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/events/cloud_event.h"
#include "common/events/kafka_binding.h"
#include "common/kafka/consumer.h"
#include "common/status/field_violations.h"
#include "common/testing/status_matchers.h"
#include "common/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/prmctl/prmctl.h"

namespace prm::prmctl {
namespace {

using ::prm::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;

events::CloudEvent Sale(std::string id) {
  return {.id = std::move(id),
          .source = "erp/sap-eu",
          .type = "prm.sales.SaleRecorded.v1",
          .data_content_type = "application/json",
          .data = R"({"vendor_id":"acme"})",
          .partition_key = "acme/sap-eu/ACC-7"};
}

// `original` as the consumer of `group` dead-letters it (common/kafka/consumer.cc), read back
// from the DLQ topic at `dlq_offset`.
kafka::Record DeadLettered(kafka::Record original, const std::string& group, int32_t partition,
                           int64_t offset, int64_t dlq_offset,
                           const std::string& error = "NOT_FOUND: partner_external_id: no "
                                                      "partner of vendor acme has account ACC-7") {
  kafka::Record dead = original;
  dead.topic = original.topic + ".dlq";
  dead.partition = 0;
  dead.offset = dlq_offset;
  dead.headers.push_back({kafka::kDlqTopicHeader, original.topic});
  dead.headers.push_back({kafka::kDlqPartitionHeader, absl::StrCat(partition)});
  dead.headers.push_back({kafka::kDlqOffsetHeader, absl::StrCat(offset)});
  dead.headers.push_back({kafka::kDlqErrorHeader, error});
  dead.headers.push_back({kafka::kDlqGroupHeader, group});
  return dead;
}

DeadLetter Parsed(kafka::Record record) {
  absl::StatusOr<DeadLetter> letter = ParseDeadLetter(std::move(record));
  EXPECT_TRUE(letter.ok()) << letter.status();
  return letter.ok() ? *letter : DeadLetter{};
}

DeadLetter Letter(const std::string& group, int32_t partition, int64_t offset, int64_t dlq_offset,
                  const std::string& ce_id = "acme/sap-eu/INV-1",
                  const std::string& error = "NOT_FOUND: partner_external_id: unknown") {
  return Parsed(DeadLettered(events::EncodeBinary(Sale(ce_id), "prm.sales.v1"), group, partition,
                             offset, dlq_offset, error));
}

TEST(ParseDeadLetter, ReadsTheOriginHeadersAndTheBinaryEventsAttributes) {
  kafka::Record original = events::EncodeBinary(Sale("acme/sap-eu/INV-1"), "prm.sales.v1");
  DeadLetter letter = Parsed(DeadLettered(original, "prm-partner-registry", 2, 17, 5));
  EXPECT_EQ(letter.origin.group, "prm-partner-registry");
  EXPECT_EQ(letter.origin.topic, "prm.sales.v1");
  EXPECT_EQ(letter.origin.partition, 2);
  EXPECT_EQ(letter.origin.offset, 17);
  EXPECT_EQ(letter.reason,
            "NOT_FOUND: partner_external_id: no partner of vendor acme has account ACC-7");
  EXPECT_EQ(letter.ce_type, "prm.sales.SaleRecorded.v1");
  EXPECT_EQ(letter.ce_id, "acme/sap-eu/INV-1");
  EXPECT_EQ(letter.record.offset, 5);
  EXPECT_EQ(letter.record.key, "acme/sap-eu/ACC-7");
}

TEST(ParseDeadLetter, ReadsAStructuredEventsAttributesFromItsJson) {
  kafka::Record original = events::EncodeStructured(Sale("acme/sap-eu/INV-2"), "prm.sales.v1");
  DeadLetter letter = Parsed(DeadLettered(original, "prm-forecast", 0, 3, 0));
  EXPECT_EQ(letter.ce_type, "prm.sales.SaleRecorded.v1");
  EXPECT_EQ(letter.ce_id, "acme/sap-eu/INV-2");
}

TEST(ParseDeadLetter, AnUndecodableRecordKeepsItsCeHeadersOrNothing) {
  kafka::Record bad{.topic = "prm.sales.v1", .key = "k", .value = "not an event",
                    .headers = {{"ce_id", "half-1"}, {"ce_type", "prm.sales.SaleRecorded.v1"}}};
  DeadLetter letter = Parsed(DeadLettered(bad, "prm-forecast", 0, 3, 0, "INVALID_ARGUMENT: x"));
  EXPECT_EQ(letter.ce_id, "half-1");
  EXPECT_EQ(letter.ce_type, "prm.sales.SaleRecorded.v1");

  letter = Parsed(DeadLettered({.topic = "prm.sales.v1", .value = "?"}, "g", 0, 4, 1));
  EXPECT_EQ(letter.ce_id, "");
  EXPECT_EQ(letter.ce_type, "");
}

TEST(ParseDeadLetter, NamesEveryMissingOrMalformedHeader) {
  kafka::Record record{.topic = "prm.sales.v1.dlq", .value = "x",
                       .headers = {{kafka::kDlqPartitionHeader, "two"},
                                   {kafka::kDlqOffsetHeader, "-1"}},
                       .partition = 1, .offset = 9};
  absl::StatusOr<DeadLetter> letter = ParseDeadLetter(record);
  EXPECT_THAT(letter, StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr("prm.sales.v1.dlq[1]@9 is not a PRM dead letter")));
  std::vector<std::string> fields;
  for (const FieldViolation& v : FieldViolationsOf(letter.status())) fields.push_back(v.field);
  EXPECT_THAT(fields, ElementsAre("prm_dlq_topic", "prm_dlq_partition", "prm_dlq_offset",
                                  "prm_dlq_error", "prm_dlq_consumer_group"));
  EXPECT_THAT(letter.status().message(), HasSubstr("got \"two\""));
}

TEST(OriginalRecord, StripsEveryDlqHeaderAndKeepsTheRestInOrder) {
  kafka::Record original = events::EncodeBinary(Sale("acme/sap-eu/INV-1"), "prm.sales.v1");
  original.headers.push_back({"traceparent", "00-abc-def-01"});
  kafka::Record dead = DeadLettered(original, "prm-partner-registry", 2, 17, 5);
  dead.headers.push_back({"prm_dlq_attempt", "2"});  // any prm_dlq_* header, not just today's
  kafka::Record replay = OriginalRecord(Parsed(dead));
  EXPECT_EQ(replay.topic, "prm.sales.v1");
  EXPECT_EQ(replay.key, original.key);
  EXPECT_EQ(replay.value, original.value);
  EXPECT_EQ(replay.headers, original.headers);
  EXPECT_EQ(replay.partition, -1);
  EXPECT_EQ(replay.offset, -1);
}

TEST(SelectDeadLetters, ShowsEachGroupTopicPartitionOffsetOnceAsItsFirstCopy) {
  std::vector<DeadLetter> letters = {
      Letter("prm-partner-registry", 2, 17, 0),
      Letter("prm-partner-registry", 2, 17, 1),  // dead-lettered again after a rebalance
      Letter("prm-forecast", 2, 17, 2),          // another group, the same record
      Letter("prm-partner-registry", 1, 17, 3),  // another partition
      Letter("prm-partner-registry", 2, 18, 4),  // another offset
  };
  std::vector<DeadLetter> selected = SelectDeadLetters(letters, {}, 0);
  std::vector<int64_t> dlq_offsets;
  for (const DeadLetter& d : selected) dlq_offsets.push_back(d.record.offset);
  EXPECT_THAT(dlq_offsets, ElementsAre(0, 2, 3, 4));
}

TEST(SelectDeadLetters, FiltersCombineAndLimitCountsDistinctLetters) {
  std::vector<DeadLetter> letters = {
      Letter("prm-partner-registry", 0, 1, 0, "e-1", "NOT_FOUND: partner_external_id: ACC-1"),
      Letter("prm-partner-registry", 0, 1, 1, "e-1", "NOT_FOUND: partner_external_id: ACC-1"),
      Letter("prm-forecast", 0, 1, 2, "e-1", "NOT_FOUND: partner_external_id: ACC-1"),
      Letter("prm-partner-registry", 0, 2, 3, "e-2", "INVALID_ARGUMENT: sale_time: too old"),
      Letter("prm-partner-registry", 0, 3, 4, "e-3", "NOT_FOUND: partner_external_id: ACC-3"),
  };
  auto offsets = [](const std::vector<DeadLetter>& selected) {
    std::vector<int64_t> out;
    for (const DeadLetter& d : selected) out.push_back(d.record.offset);
    return out;
  };
  EXPECT_THAT(offsets(SelectDeadLetters(letters, {.group = "prm-partner-registry"}, 0)),
              ElementsAre(0, 3, 4));
  EXPECT_THAT(offsets(SelectDeadLetters(letters, {.reason_contains = "partner_external_id"}, 0)),
              ElementsAre(0, 2, 4));
  const DeadLetterFilter both = {.group = "prm-partner-registry",
                                 .reason_contains = "partner_external_id"};
  EXPECT_THAT(offsets(SelectDeadLetters(letters, both, 0)), ElementsAre(0, 4));
  EXPECT_THAT(offsets(SelectDeadLetters(letters, {.ce_id = "e-2"}, 0)), ElementsAre(3));
  EXPECT_THAT(offsets(SelectDeadLetters(letters, {.ce_id = "e-9"}, 0)), ElementsAre());
  EXPECT_THAT(offsets(SelectDeadLetters(letters, {.reason_contains = "partner_External_id"}, 0)),
              ElementsAre());  // case-sensitive
  // The duplicate at offset 1 does not use up the limit.
  EXPECT_THAT(offsets(SelectDeadLetters(letters, {}, 2)), ElementsAre(0, 2));
  EXPECT_THAT(offsets(SelectDeadLetters(letters, {}, 3)), ElementsAre(0, 2, 3));
}

TEST(DeadLetterFilter, IsEmptyOnlyWithoutASelector) {
  EXPECT_TRUE(DeadLetterFilter{}.empty());
  EXPECT_FALSE(DeadLetterFilter{.group = "g"}.empty());
  EXPECT_FALSE(DeadLetterFilter{.reason_contains = "r"}.empty());
  EXPECT_FALSE(DeadLetterFilter{.ce_id = "i"}.empty());
}

TEST(PlanReplay, RepublishesEachOriginalOnceEvenWhenSeveralGroupsDeadLetteredIt) {
  std::vector<DeadLetter> letters = SelectDeadLetters(
      {Letter("prm-partner-registry", 2, 17, 0, "e-1"), Letter("prm-forecast", 2, 17, 1, "e-1"),
       Letter("prm-partner-registry", 2, 18, 2, "e-2")},
      {}, 0);
  ASSERT_EQ(letters.size(), 3u);
  std::vector<Replay> plan = PlanReplay(letters);
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].origin.group, "prm-partner-registry");
  EXPECT_EQ(plan[0].origin.offset, 17);
  EXPECT_EQ(plan[0].ce_id, "e-1");
  EXPECT_EQ(plan[0].record.topic, "prm.sales.v1");
  EXPECT_EQ(plan[0].record.FindHeader(kafka::kDlqErrorHeader), std::nullopt);
  EXPECT_EQ(plan[0].record.FindHeader("ce_id"), std::optional<std::string_view>("e-1"));
  EXPECT_EQ(plan[1].origin.offset, 18);
  EXPECT_EQ(plan[1].ce_id, "e-2");
}

TEST(PlanReplay, RepublishesAnEventOnceThoughItWasReplayedAndDeadLetteredAgain) {
  // e-1 dead-lettered at origin offset 17, replayed (offset 30) and dead-lettered again; e-2 and
  // a record that is no event (no source or id) at two origins each stay.
  kafka::Record no_event{.topic = "prm.sales.v1", .value = "?"};
  std::vector<DeadLetter> letters = SelectDeadLetters(
      {Letter("prm-partner-registry", 2, 17, 0, "e-1"),
       Letter("prm-partner-registry", 2, 30, 1, "e-1"),
       Letter("prm-partner-registry", 2, 18, 2, "e-2"),
       Parsed(DeadLettered(no_event, "prm-forecast", 0, 5, 3)),
       Parsed(DeadLettered(no_event, "prm-forecast", 0, 6, 4))},
      {}, 0);
  ASSERT_EQ(letters.size(), 5u);
  EXPECT_EQ(letters[0].ce_source, "erp/sap-eu");
  std::vector<int64_t> origins;
  for (const Replay& r : PlanReplay(letters)) origins.push_back(r.origin.offset);
  EXPECT_THAT(origins, ElementsAre(17, 18, 5, 6));
}

// The command's checks that come before Kafka, in-process.
struct Outcome {
  int code;
  std::string out;
  std::string err;
};

Outcome Prmctl(std::vector<const char*> args) {
  args.insert(args.begin(), "prmctl");
  args.push_back(nullptr);
  const char* env[] = {nullptr};
  std::ostringstream out, err;
  FakeClock clock;
  CommandContext context{.env = env, .out = out, .err = err, .clock = clock, .version = "1"};
  const int code = RunPrmctl(static_cast<int>(args.size()) - 1, args.data(), context);
  return {code, out.str(), err.str()};
}

TEST(DlqCommand, ReplayWithoutASelectorNeedsAll) {
  Outcome run =
      Prmctl({"dlq", "replay", "--topic=prm.sales.v1.dlq", "--kafka-brokers=127.0.0.1:1"});
  EXPECT_EQ(run.code, kExitUsage);
  EXPECT_THAT(run.err, HasSubstr("--all: is required to replay every dead letter"));
  EXPECT_EQ(run.out, "");
}

TEST(DlqCommand, NamesEveryBadFlag) {
  Outcome run = Prmctl({"dlq", "list", "--limit=-1", "--timeout=0s", "--colour=red"});
  EXPECT_EQ(run.code, kExitUsage);
  for (const char* flag : {"--limit", "--timeout", "--colour", "--topic"}) {
    EXPECT_THAT(run.err, HasSubstr(flag)) << run.err;
  }
  run = Prmctl({"dlq", "replay", "--limit=x", "--dry-run=maybe"});
  EXPECT_EQ(run.code, kExitUsage);
  for (const char* flag : {"--limit", "--dry-run", "--topic", "--all"}) {
    EXPECT_THAT(run.err, HasSubstr(flag)) << run.err;
  }
}

TEST(DlqCommand, UnknownVerbAndHelp) {
  Outcome run = Prmctl({"dlq", "purge"});
  EXPECT_EQ(run.code, kExitUsage);
  EXPECT_THAT(run.err, HasSubstr("unknown verb \"purge\""));
  run = Prmctl({"dlq", "--help"});
  EXPECT_EQ(run.code, kExitOk);
  EXPECT_THAT(run.out, HasSubstr("replay   republish"));
  run = Prmctl({"dlq", "replay", "--help"});
  EXPECT_EQ(run.code, kExitOk);
  EXPECT_THAT(run.out, HasSubstr("--reason-contains"));
}

// Nothing listens on port 1: a clear message within the --timeout, exit code 1.
TEST(DlqCommand, AnUnreachableBrokerIsNamed) {
  for (const char* verb : {"list", "replay"}) {
    Outcome run = Prmctl({"dlq", verb, "--topic=prm.sales.v1.dlq", "--kafka-brokers=127.0.0.1:1",
                          "--timeout=1s", "--group=prm-partner-registry"});
    EXPECT_EQ(run.code, kExitFailure) << verb;
    EXPECT_THAT(run.err, HasSubstr("Kafka at 127.0.0.1:1 does not answer")) << verb;
    EXPECT_EQ(run.out, "") << verb;
  }
}

}  // namespace
}  // namespace prm::prmctl
