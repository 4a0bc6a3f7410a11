#include "common/kafka/consumer.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace prm::kafka {
namespace {

// A DLQ that keeps what it takes and rejects records over `max_bytes` (key, value and headers)
// as a broker over its message.max.bytes does: INVALID_ARGUMENT, never accepted.
class SizeLimitedDlq : public Producer {
 public:
  explicit SizeLimitedDlq(size_t max_bytes) : max_bytes_(max_bytes) {}

  std::vector<absl::Status> ProduceAndWait(const std::vector<Record>& records,
                                           absl::Duration) override {
    std::vector<absl::Status> out;
    for (const Record& r : records) {
      size_t bytes = r.key.size() + r.value.size();
      for (const Header& h : r.headers) bytes += h.key.size() + h.value.size();
      ++attempts;
      if (bytes > max_bytes_) {
        out.push_back(absl::InvalidArgumentError("Broker: Message size too large"));
      } else {
        sent.push_back(r);
        out.push_back(absl::OkStatus());
      }
    }
    return out;
  }
  absl::Status Flush(absl::Duration) override { return absl::OkStatus(); }
  absl::Status CheckBrokers(absl::Duration) override { return absl::OkStatus(); }

  std::vector<Record> sent;
  int attempts = 0;

 private:
  size_t max_bytes_;
};

Record Consumed(std::string value) {
  Record r;
  r.topic = "prm.sales.v1";
  r.key = "vendor/erp/account";
  r.value = std::move(value);
  r.headers = {{"ce_id", "e-1"}, {"e2e_case", "huge"}};
  r.partition = 4;
  r.offset = 17;
  return r;
}

std::string HeaderOf(const Record& r, const char* key) {
  return std::string(r.FindHeader(key).value_or("<absent>"));
}

TEST(SendDeadLetter, CopiesTheRecordWithItsOriginAndReason) {
  SizeLimitedDlq dlq(1'000);
  const Record consumed = Consumed("not a protobuf");
  ASSERT_TRUE(SendDeadLetter(dlq, consumed, absl::InvalidArgumentError("data: bad"), "group-1",
                             ".dlq")
                  .ok());
  ASSERT_EQ(dlq.sent.size(), 1u);
  const Record& dead = dlq.sent[0];
  EXPECT_EQ(dead.topic, "prm.sales.v1.dlq");
  EXPECT_EQ(dead.key, consumed.key);
  EXPECT_EQ(dead.value, consumed.value);
  EXPECT_EQ(HeaderOf(dead, "ce_id"), "e-1");
  EXPECT_EQ(HeaderOf(dead, kDlqTopicHeader), "prm.sales.v1");
  EXPECT_EQ(HeaderOf(dead, kDlqPartitionHeader), "4");
  EXPECT_EQ(HeaderOf(dead, kDlqOffsetHeader), "17");
  EXPECT_EQ(HeaderOf(dead, kDlqGroupHeader), "group-1");
  EXPECT_EQ(HeaderOf(dead, kDlqErrorHeader), "INVALID_ARGUMENT: data: bad");
  EXPECT_EQ(HeaderOf(dead, kDlqValueDroppedHeader), "<absent>");
}

// Issue 7: a record that fits the topic but not the DLQ once the origin headers are added used
// to be retried forever (every consumer's partition stalled behind it).
TEST(SendDeadLetter, RecordTooLargeForTheDlqIsSentWithoutItsValue) {
  SizeLimitedDlq dlq(1'000);
  const Record consumed = Consumed(std::string(990, '\xff'));
  ASSERT_TRUE(SendDeadLetter(dlq, consumed, absl::InvalidArgumentError("data: bad"), "group-1",
                             ".dlq")
                  .ok());
  EXPECT_EQ(dlq.attempts, 2);
  ASSERT_EQ(dlq.sent.size(), 1u);
  const Record& dead = dlq.sent[0];
  EXPECT_TRUE(dead.value.empty());
  EXPECT_EQ(dead.key, consumed.key);
  EXPECT_EQ(HeaderOf(dead, kDlqValueDroppedHeader), "990");
  EXPECT_EQ(HeaderOf(dead, kDlqOffsetHeader), "17");
  EXPECT_EQ(HeaderOf(dead, kDlqErrorHeader), "INVALID_ARGUMENT: data: bad");
  EXPECT_EQ(HeaderOf(dead, "e2e_case"), "huge");
}

// A key near the broker's limit (a record with no value at all) left the value step nothing to
// drop: the record was retried forever.
TEST(SendDeadLetter, RecordTooLargeEvenWithoutItsValueIsSentWithoutKeyAndHeaders) {
  SizeLimitedDlq dlq(6'000);
  Record consumed = Consumed("value");
  consumed.key = std::string(5'990, 'k');
  ASSERT_TRUE(SendDeadLetter(dlq, consumed, absl::InvalidArgumentError(std::string(5000, 'e')),
                             "group-1", ".dlq")
                  .ok());
  EXPECT_EQ(dlq.attempts, 3);
  ASSERT_EQ(dlq.sent.size(), 1u);
  const Record& dead = dlq.sent[0];
  EXPECT_TRUE(dead.key.empty());
  EXPECT_TRUE(dead.value.empty());
  EXPECT_EQ(HeaderOf(dead, "ce_id"), "<absent>");
  EXPECT_EQ(HeaderOf(dead, kDlqKeyDroppedHeader), "5990");
  EXPECT_EQ(HeaderOf(dead, kDlqValueDroppedHeader), "5");
  EXPECT_EQ(HeaderOf(dead, kDlqHeadersDroppedHeader), "20");  // ce_id e-1, e2e_case huge
  EXPECT_EQ(HeaderOf(dead, kDlqOffsetHeader), "17");
  EXPECT_EQ(HeaderOf(dead, kDlqErrorHeader).size(), 4096u);
}

TEST(SendDeadLetter, RecordTheDlqNeverTakesEvenShrunkIsNotSent) {
  SizeLimitedDlq dlq(10);  // not even the origin headers fit
  const absl::Status sent = SendDeadLetter(dlq, Consumed("value"),
                                           absl::InvalidArgumentError("bad"), "group-1", ".dlq");
  EXPECT_EQ(sent.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(dlq.attempts, 3);
  EXPECT_TRUE(dlq.sent.empty());
}

// A DLQ that is down is transient: the caller retries the same record, the value is kept.
class UnavailableDlq : public SizeLimitedDlq {
 public:
  UnavailableDlq() : SizeLimitedDlq(1'000'000) {}
  std::vector<absl::Status> ProduceAndWait(const std::vector<Record>& records,
                                           absl::Duration) override {
    attempts += static_cast<int>(records.size());
    return std::vector<absl::Status>(records.size(), absl::UnavailableError("broker down"));
  }
};

TEST(SendDeadLetter, UnavailableDlqIsReportedForRetryWithoutDroppingTheValue) {
  UnavailableDlq dlq;
  const absl::Status sent = SendDeadLetter(dlq, Consumed(std::string(990, 'x')),
                                           absl::InvalidArgumentError("bad"), "group-1", ".dlq");
  EXPECT_EQ(sent.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(dlq.attempts, 1);
}

}  // namespace
}  // namespace prm::kafka
