#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/events/cloud_event.h"
#include "common/events/kafka_binding.h"
#include "common/events/payload.h"
#include "common/kafka/record.h"
#include "common/status/field_violations.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/source_context.pb.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "prm/common/v1/event_metadata.pb.h"
#include "prm/common/v1/product_line.pb.h"

namespace prm::events {
namespace {

using ::prm::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;
using Header = kafka::Header;
using Json = nlohmann::json;

constexpr absl::StatusCode kInvalidArgument = absl::StatusCode::kInvalidArgument;

absl::Time At(const char* rfc3339) {
  absl::Time t;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &error)) std::abort();
  return t;
}

// A Kafka binary-mode record with the spec example's attributes; tests break one thing.
kafka::Record SpecBinaryRecord() {
  return {.topic = "mytopic",
          .key = "mykey",
          .value = "... application data encoded in Avro ...",
          .headers = {{"ce_specversion", "1.0"},
                      {"ce_type", "com.example.someevent"},
                      {"ce_source", "/mycontext/subcontext"},
                      {"ce_id", "1234-1234-1234"},
                      {"ce_time", "2018-04-05T03:56:24Z"},
                      {"content-type", "application/avro"}}};
}

CloudEvent SpecEvent() {
  return {.id = "1234-1234-1234",
          .source = "/mycontext/subcontext",
          .type = "com.example.someevent",
          .time = At("2018-04-05T03:56:24Z"),
          .data_content_type = "application/avro",
          .data = "... application data encoded in Avro ...",
          .partition_key = "mykey"};
}

kafka::Record Structured(std::string value, std::string key = "mykey") {
  return {.topic = "erp",
          .key = std::move(key),
          .value = std::move(value),
          .headers = {{"content-type", "application/cloudevents+json; charset=UTF-8"}}};
}

kafka::Record RecordWith(std::string value, std::vector<Header> headers) {
  kafka::Record record;
  record.value = std::move(value);
  record.headers = std::move(headers);
  return record;
}

kafka::Record WithHeader(kafka::Record record, std::string key, std::string value) {
  for (auto& h : record.headers) {
    if (h.key == key) {
      h.value = std::move(value);
      return record;
    }
  }
  record.headers.push_back({std::move(key), std::move(value)});
  return record;
}

kafka::Record WithoutHeader(kafka::Record record, const std::string& key) {
  std::erase_if(record.headers, [&](const Header& h) { return h.key == key; });
  return record;
}

// ---- golden: the Kafka protocol binding's examples -------------------------------------------

TEST(KafkaBindingGolden, BinaryModeSpecExampleEncodesByteForByte) {
  // Kafka binding §3.2.5. The spec's table quotes the header values for display; on the wire
  // (and in the reference SDKs) they are the bare strings.
  kafka::Record record = EncodeBinary(SpecEvent(), "mytopic");
  EXPECT_EQ(record.topic, "mytopic");
  EXPECT_EQ(record.key, "mykey");
  EXPECT_EQ(record.value, "... application data encoded in Avro ...");
  EXPECT_THAT(record.headers, ElementsAre(Header{"ce_specversion", "1.0"},
                                          Header{"ce_type", "com.example.someevent"},
                                          Header{"ce_source", "/mycontext/subcontext"},
                                          Header{"ce_id", "1234-1234-1234"},
                                          Header{"ce_time", "2018-04-05T03:56:24Z"},
                                          Header{"content-type", "application/avro"}));
}

TEST(KafkaBindingGolden, BinaryModeSpecExampleDecodes) {
  auto event = Decode(SpecBinaryRecord());
  ASSERT_OK(event);
  EXPECT_EQ(*event, SpecEvent());
}

TEST(KafkaBindingGolden, StructuredModeSpecExampleDecodes) {
  // Kafka binding §3.3.4, with the elided data filled in as the JSON format's XML example.
  const std::string value = R"({
    "specversion" : "1.0",
    "type" : "com.example.someevent",
    "source" : "/mycontext/subcontext",
    "id" : "1234-1234-1234",
    "time" : "2018-04-05T03:56:24Z",
    "datacontenttype" : "application/xml",
    "data" : "<much wow=\"xml\"/>"
})";
  auto event = Decode(Structured(value));
  ASSERT_OK(event);
  CloudEvent expected = SpecEvent();
  expected.data_content_type = "application/xml";
  expected.data = R"(<much wow="xml"/>)";
  EXPECT_EQ(*event, expected);
}

TEST(KafkaBindingGolden, StructuredModeEncodesSpecHeaderAndJsonFormat) {
  CloudEvent event = SpecEvent();
  event.data_content_type = "application/xml";
  event.data = R"(<much wow="xml"/>)";
  kafka::Record record = EncodeStructured(event, "mytopic");
  EXPECT_EQ(record.topic, "mytopic");
  EXPECT_EQ(record.key, "mykey");
  EXPECT_THAT(record.headers,
              ElementsAre(Header{"content-type", "application/cloudevents+json; charset=UTF-8"}));
  // Binary data goes as data_base64 (JSON format §3.1.1).
  EXPECT_EQ(record.value,
            R"({"specversion":"1.0","id":"1234-1234-1234","source":"/mycontext/subcontext",)"
            R"("type":"com.example.someevent","time":"2018-04-05T03:56:24Z",)"
            R"("datacontenttype":"application/xml","data_base64":"PG11Y2ggd293PSJ4bWwiLz4="})");
}

// The JSON event format's examples (§3.2) arrive structured and must re-encode to the binary
// headers the spec lists (with Kafka's ce_ prefix in place of HTTP's ce-).
TEST(KafkaBindingGolden, JsonFormatBinaryDataExample) {
  const std::string value = R"({
    "specversion" : "1.0",
    "type" : "com.example.someevent",
    "source" : "/mycontext",
    "id" : "A234-1234-1234",
    "time" : "2018-04-05T17:31:00Z",
    "comexampleextension1" : "value",
    "comexampleothervalue" : 5,
    "datacontenttype" : "application/vnd.apache.thrift.binary",
    "data_base64" : "AAECAwT/"
})";
  auto event = Decode(Structured(value));
  ASSERT_OK(event);
  EXPECT_EQ(event->data, std::string("\x00\x01\x02\x03\x04\xff", 6));
  kafka::Record binary = EncodeBinary(*event, "t");
  EXPECT_THAT(binary.headers,
              UnorderedElementsAre(Header{"ce_specversion", "1.0"},
                                   Header{"ce_type", "com.example.someevent"},
                                   Header{"ce_source", "/mycontext"},
                                   Header{"ce_id", "A234-1234-1234"},
                                   Header{"ce_time", "2018-04-05T17:31:00Z"},
                                   Header{"ce_comexampleextension1", "value"},
                                   Header{"ce_comexampleothervalue", "5"},
                                   Header{"content-type", "application/vnd.apache.thrift.binary"}));
  EXPECT_EQ(binary.value, std::string("\x00\x01\x02\x03\x04\xff", 6));
}

TEST(KafkaBindingGolden, JsonFormatXmlStringDataExample) {
  const std::string value = R"({
    "specversion" : "1.0",
    "type" : "com.example.someevent",
    "source" : "/mycontext",
    "id" : "B234-1234-1234",
    "time" : "2018-04-05T17:31:00Z",
    "comexampleextension1" : "value",
    "comexampleothervalue" : 5,
    "unsetextension": null,
    "datacontenttype" : "application/xml",
    "data" : "<much wow=\"xml\"/>"
})";
  auto event = Decode(Structured(value));
  ASSERT_OK(event);
  kafka::Record binary = EncodeBinary(*event, "t");
  EXPECT_THAT(binary.headers,
              UnorderedElementsAre(Header{"ce_specversion", "1.0"},
                                   Header{"ce_type", "com.example.someevent"},
                                   Header{"ce_source", "/mycontext"},
                                   Header{"ce_id", "B234-1234-1234"},
                                   Header{"ce_time", "2018-04-05T17:31:00Z"},
                                   Header{"ce_comexampleextension1", "value"},
                                   Header{"ce_comexampleothervalue", "5"},
                                   Header{"content-type", "application/xml"}));
  EXPECT_EQ(binary.value, R"(<much wow="xml"/>)");
}

TEST(KafkaBindingGolden, JsonFormatJsonObjectDataExample) {
  const std::string value = R"({
    "specversion" : "1.0",
    "type" : "com.example.someevent",
    "source" : "/mycontext",
    "subject": null,
    "id" : "C234-1234-1234",
    "time" : "2018-04-05T17:31:00Z",
    "comexampleextension1" : "value",
    "comexampleothervalue" : 5,
    "datacontenttype" : "application/json",
    "data" : {
        "appinfoA" : "abc",
        "appinfoB" : 123,
        "appinfoC" : true
    }
})";
  auto event = Decode(Structured(value));
  ASSERT_OK(event);
  EXPECT_EQ(event->subject, "");
  kafka::Record binary = EncodeBinary(*event, "t");
  EXPECT_THAT(binary.headers,
              UnorderedElementsAre(Header{"ce_specversion", "1.0"},
                                   Header{"ce_type", "com.example.someevent"},
                                   Header{"ce_source", "/mycontext"},
                                   Header{"ce_id", "C234-1234-1234"},
                                   Header{"ce_time", "2018-04-05T17:31:00Z"},
                                   Header{"ce_comexampleextension1", "value"},
                                   Header{"ce_comexampleothervalue", "5"},
                                   Header{"content-type", "application/json"}));
  // The spec pretty-prints the value; ours is the same JSON, compact.
  EXPECT_EQ(Json::parse(binary.value),
            Json::parse(R"({"appinfoA" : "abc", "appinfoB" : 123, "appinfoC" : true})"));
  EXPECT_EQ(binary.value, R"({"appinfoA":"abc","appinfoB":123,"appinfoC":true})");
}

TEST(KafkaBindingGolden, JsonFormatStringDataWithoutContentTypeExample) {
  const std::string value = R"({
    "specversion" : "1.0",
    "type" : "com.example.someevent",
    "source" : "/mycontext",
    "subject": null,
    "id" : "D234-1234-1234",
    "time" : "2018-04-05T17:31:00Z",
    "comexampleextension1" : "value",
    "comexampleothervalue" : 5,
    "data" : "I'm just a string"
})";
  auto event = Decode(Structured(value));
  ASSERT_OK(event);
  kafka::Record binary = EncodeBinary(*event, "t");
  // "the Content Type is explicitly set to the application/json value that was implicit".
  EXPECT_THAT(binary.headers,
              UnorderedElementsAre(Header{"ce_specversion", "1.0"},
                                   Header{"ce_type", "com.example.someevent"},
                                   Header{"ce_source", "/mycontext"},
                                   Header{"ce_id", "D234-1234-1234"},
                                   Header{"ce_time", "2018-04-05T17:31:00Z"},
                                   Header{"ce_comexampleextension1", "value"},
                                   Header{"ce_comexampleothervalue", "5"},
                                   Header{"content-type", "application/json"}));
  EXPECT_EQ(binary.value, R"("I'm just a string")");
}

// ---- round trips ------------------------------------------------------------------------------

google::protobuf::Struct SamplePayload() {
  google::protobuf::Struct payload;
  auto& fields = *payload.mutable_fields();
  fields["deal_id"].set_string_value("d-42");
  fields["amount"].set_number_value(1250.5);
  fields["approved"].set_bool_value(true);
  auto* products = fields["products"].mutable_list_value();
  products->add_values()->set_string_value("SKU-1");
  products->add_values()->set_string_value("SKU-\xc3\xa9");  // é
  (*fields["customer"].mutable_struct_value()->mutable_fields())["country"].set_string_value("LV");
  return payload;
}

struct RoundTripCase {
  const char* name;
  bool structured;
  PayloadEncoding encoding;
};
void PrintTo(const RoundTripCase& c, std::ostream* os) { *os << c.name; }

class RoundTripTest : public ::testing::TestWithParam<RoundTripCase> {};

TEST_P(RoundTripTest, EventAndPayloadSurvive) {
  const RoundTripCase& c = GetParam();
  const google::protobuf::Struct payload = SamplePayload();
  CloudEvent event = MakeEvent(payload, "prm.deal.DealApproved.v1", "/prm/deal-registration",
                               "evt-0001", At("2026-01-02T03:04:05.123456789Z"), "d-42",
                               c.encoding);
  event.extensions = {{"prmtenant", "v1"}, {"traceparent", "00-abc-def-01"}};
  ASSERT_OK(ValidateEvent(event));

  kafka::Record record = c.structured ? EncodeStructured(event, "prm.deal.v1")
                                      : EncodeBinary(event, "prm.deal.v1");
  EXPECT_EQ(record.key, "d-42");
  auto decoded = Decode(record);
  ASSERT_OK(decoded);
  EXPECT_EQ(decoded->id, event.id);
  EXPECT_EQ(decoded->source, event.source);
  EXPECT_EQ(decoded->type, event.type);
  EXPECT_EQ(decoded->subject, "d-42");
  EXPECT_EQ(decoded->partition_key, "d-42");
  EXPECT_EQ(decoded->time, event.time);
  EXPECT_EQ(decoded->data_content_type, event.data_content_type);
  EXPECT_EQ(decoded->extensions, event.extensions);
  if (c.encoding == PayloadEncoding::kProtobuf) {
    EXPECT_EQ(decoded->data, event.data);  // bytes untouched in both modes
    EXPECT_EQ(*decoded, event);
  } else {
    EXPECT_EQ(Json::parse(decoded->data), Json::parse(event.data));
  }

  google::protobuf::Struct unpacked;
  ASSERT_OK(UnpackPayload(*decoded, &unpacked, "prm.deal.DealApproved.v1"));
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(unpacked, payload))
      << unpacked.DebugString();
}

INSTANTIATE_TEST_SUITE_P(
    ModesAndEncodings, RoundTripTest,
    ::testing::Values(RoundTripCase{"BinaryProtobuf", false, PayloadEncoding::kProtobuf},
                      RoundTripCase{"BinaryJson", false, PayloadEncoding::kJson},
                      RoundTripCase{"StructuredProtobuf", true, PayloadEncoding::kProtobuf},
                      RoundTripCase{"StructuredJson", true, PayloadEncoding::kJson}),
    [](const ::testing::TestParamInfo<RoundTripCase>& info) { return info.param.name; });

TEST(KafkaBinding, StructuredJsonPayloadIsEmbeddedAsJson) {
  CloudEvent event = MakeEvent(SamplePayload(), "prm.deal.DealApproved.v1", "/prm/deal",
                               "evt-1", At("2026-01-02T03:04:05Z"), "d-42", PayloadEncoding::kJson);
  Json value = Json::parse(EncodeStructured(event, "t").value);
  EXPECT_FALSE(value.contains("data_base64"));
  EXPECT_EQ(value["data"]["deal_id"], "d-42");
  EXPECT_EQ(value["data"]["amount"], 1250.5);
}

TEST(KafkaBinding, StructuredInvalidJsonDataFallsBackToBase64) {
  CloudEvent event = SpecEvent();
  event.data_content_type = "application/json";
  event.data = "{not json";
  Json value = Json::parse(EncodeStructured(event, "t").value);
  EXPECT_FALSE(value.contains("data"));
  EXPECT_EQ(value["data_base64"], absl::Base64Escape("{not json"));
  auto decoded = Decode(EncodeStructured(event, "t"));
  ASSERT_OK(decoded);
  EXPECT_EQ(decoded->data, "{not json");
}

TEST(KafkaBinding, EventWithoutOptionalAttributesRoundTrips) {
  CloudEvent event{.id = "1", .source = "s", .type = "t"};
  for (const kafka::Record& record : {EncodeBinary(event, "x"), EncodeStructured(event, "x")}) {
    auto decoded = Decode(record);
    ASSERT_OK(decoded);
    EXPECT_EQ(*decoded, event);
    EXPECT_EQ(decoded->time, absl::InfinitePast());
  }
  EXPECT_THAT(EncodeBinary(event, "x").headers,
              ElementsAre(Header{"ce_specversion", "1.0"}, Header{"ce_type", "t"},
                          Header{"ce_source", "s"}, Header{"ce_id", "1"}));
  EXPECT_EQ(EncodeStructured(event, "x").value,
            R"({"specversion":"1.0","id":"1","source":"s","type":"t"})");
}

TEST(KafkaBinding, ExtensionsRoundTripSortedByName) {
  CloudEvent event = SpecEvent();
  event.subject = "deal/42";
  event.data_schema = "https://prm.example/schemas/deal.proto";
  event.extensions = {{"zeta", "last"}, {"alpha", ""}, {"partitionkey", "mykey"}, {"n1", "42"}};
  CloudEvent sorted = event;
  std::sort(sorted.extensions.begin(), sorted.extensions.end());
  for (const kafka::Record& record : {EncodeBinary(event, "x"), EncodeStructured(event, "x")}) {
    auto decoded = Decode(record);
    ASSERT_OK(decoded);
    EXPECT_EQ(*decoded, sorted);
  }
  kafka::Record binary = EncodeBinary(event, "x");
  EXPECT_EQ(binary.FindHeader("ce_zeta"), "last");
  EXPECT_EQ(binary.FindHeader("ce_subject"), "deal/42");
  EXPECT_EQ(binary.FindHeader("ce_dataschema"), "https://prm.example/schemas/deal.proto");
}

TEST(KafkaBinding, StructuredBooleanAndIntegerExtensionsBecomeStrings) {
  auto event = Decode(Structured(
      R"({"specversion":"1.0","id":"1","source":"s","type":"t","flag":true,"count":-7,
          "big":18446744073709551615})"));
  ASSERT_OK(event);
  EXPECT_THAT(event->extensions,
              ElementsAre(std::pair<std::string, std::string>{"big", "18446744073709551615"},
                          std::pair<std::string, std::string>{"count", "-7"},
                          std::pair<std::string, std::string>{"flag", "true"}));
}

TEST(KafkaBinding, OtherHeadersAreIgnoredAndContentTypeIsCaseInsensitive) {
  kafka::Record record = SpecBinaryRecord();
  record.headers.push_back({"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b71-01"});
  record = WithoutHeader(record, "content-type");
  record.headers.push_back({"Content-Type", "application/avro"});
  auto event = Decode(record);
  ASSERT_OK(event);
  EXPECT_EQ(*event, SpecEvent());
  kafka::Record structured =
      Structured(R"({"specversion":"1.0","id":"1","source":"s","type":"t"})");
  structured.headers[0].value = "Application/CloudEvents+JSON";
  EXPECT_OK(Decode(structured));
}

TEST(KafkaBinding, JsonNullDataIsKeptAsJsonNull) {
  auto event = Decode(Structured(R"({"specversion":"1.0","id":"1","source":"s","type":"t",)"
                                 R"("datacontenttype":"application/json","data":null})"));
  ASSERT_OK(event);
  EXPECT_EQ(event->data, "null");
}

// ---- time -------------------------------------------------------------------------------------

TEST(EventTime, FormatsUtcWithFractionOnlyWhenNonZero) {
  EXPECT_EQ(FormatEventTime(At("2018-04-05T03:56:24Z")), "2018-04-05T03:56:24Z");
  EXPECT_EQ(FormatEventTime(At("2018-04-05T03:56:24Z") + absl::Milliseconds(500)),
            "2018-04-05T03:56:24.5Z");
  EXPECT_EQ(FormatEventTime(At("2018-04-05T03:56:24Z") + absl::Microseconds(123456)),
            "2018-04-05T03:56:24.123456Z");
  EXPECT_EQ(FormatEventTime(At("2018-04-05T03:56:24Z") + absl::Nanoseconds(1)),
            "2018-04-05T03:56:24.000000001Z");
  EXPECT_EQ(FormatEventTime(absl::FromUnixSeconds(0)), "1970-01-01T00:00:00Z");
}

TEST(EventTime, ParsesRfc3339Forms) {
  const absl::Time t = At("2018-04-05T03:56:24Z");
  EXPECT_EQ(*ParseEventTime("2018-04-05T03:56:24Z"), t);
  EXPECT_EQ(*ParseEventTime("2018-04-05t03:56:24z"), t);
  EXPECT_EQ(*ParseEventTime("2018-04-05T05:56:24+02:00"), t);
  EXPECT_EQ(*ParseEventTime("2018-04-04T22:26:24-05:30"), t);
  EXPECT_EQ(*ParseEventTime("2018-04-05T03:56:24.250Z"), t + absl::Milliseconds(250));
  EXPECT_EQ(*ParseEventTime("2018-04-05T03:56:24.000000001Z"), t + absl::Nanoseconds(1));
}

// ParseEventTime computes ordinary times itself and leaves the rest to absl::ParseTime: over
// every shape of field (out-of-range ones, leap seconds, long fractions, odd offsets) it must
// answer as absl::ParseTime alone does.
TEST(EventTime, AgreesWithAbslParseTimeOnEveryShape) {
  std::mt19937 rng(2026);
  auto pick = [&rng](std::initializer_list<int> values) {
    return *(values.begin() + std::uniform_int_distribution<size_t>(0, values.size() - 1)(rng));
  };
  auto any = [&rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text = absl::StrFormat(
        "%04d-%02d-%02dT%02d:%02d:%02d", pick({0, 1, 1900, 1970, 2000, 2023, 2024, 2100, 9999}),
        any(0, 13), pick({0, 1, 15, 28, 29, 30, 31, 32}), any(0, 24), pick({0, 30, 59, 60}),
        pick({0, 1, 59, 60, 61}));
    if (int digits = pick({0, 0, 1, 3, 6, 9, 10, 12}); digits > 0) {
      text += ".";
      for (int d = 0; d < digits; ++d) text += static_cast<char>('0' + any(0, 9));
    }
    const int zone = any(0, 3);
    text += zone == 0 ? "Z" : zone == 1 ? "z"
                                        : absl::StrFormat("%c%02d:%02d", zone == 2 ? '+' : '-',
                                                          pick({0, 5, 14, 23, 24, 99}),
                                                          pick({0, 30, 59, 60}));
    absl::Time expected;
    std::string error;
    const bool ok = absl::ParseTime(absl::RFC3339_full, absl::AsciiStrToUpper(text), &expected,
                                    &error);
    absl::StatusOr<absl::Time> parsed = ParseEventTime(text);
    ASSERT_EQ(parsed.ok(), ok) << text;
    if (ok) {
      ++accepted;
      EXPECT_EQ(*parsed, expected) << text;
    }
  }
  EXPECT_GT(accepted, 2000);  // the ordinary path was exercised, not only refusals
}

TEST(EventTime, RejectsEverythingElse) {
  for (const char* text :
       {"", "yesterday", "2018-04-05", "2018-04-05T03:56:24", "2018-04-05 03:56:24Z",
        "2018-04-05T03:56:24.Z", "2018-04-05T03:56Z", "2018-13-05T03:56:24Z",
        "2018-02-30T03:56:24Z", "2018-04-05T24:00:00Z", "2018-04-05T03:56:24+0200",
        "2018-04-05T03:56:24Z ", " 2018-04-05T03:56:24Z", "+2018-04-05T03:56:24Z",
        "infinite-future", "18-04-05T03:56:24Z", "2018-04-05T03:56:24ZZ"}) {
    EXPECT_THAT(ParseEventTime(text), StatusIs(kInvalidArgument, HasSubstr("time"))) << text;
  }
}

TEST(EventTime, WithAndWithoutFractionRoundTripInBothModes) {
  for (absl::Duration fraction : {absl::ZeroDuration(), absl::Milliseconds(1),
                                  absl::Nanoseconds(999999999), absl::Microseconds(10)}) {
    CloudEvent event = SpecEvent();
    event.time += fraction;
    for (const kafka::Record& record : {EncodeBinary(event, "x"), EncodeStructured(event, "x")}) {
      auto decoded = Decode(record);
      ASSERT_OK(decoded);
      EXPECT_EQ(decoded->time, event.time) << FormatEventTime(event.time);
    }
  }
  EXPECT_EQ(EncodeBinary(SpecEvent(), "x").FindHeader("ce_time"), "2018-04-05T03:56:24Z");
}

// ---- malformed binary records ------------------------------------------------------------------

struct MalformedCase {
  const char* name;
  kafka::Record record;
  const char* attribute;   // must be named in the message
  const char* complaint;
};
void PrintTo(const MalformedCase& c, std::ostream* os) { *os << c.name; }

std::vector<MalformedCase> MalformedBinaryCases() {
  const kafka::Record base = SpecBinaryRecord();
  std::vector<Header> too_many = base.headers;
  for (size_t i = 0; i < kMaxHeaders; ++i) too_many.push_back({absl::StrCat("x-", i), "v"});
  kafka::Record duplicated = base;
  duplicated.headers.push_back({"ce_id", "other"});
  kafka::Record two_content_types = base;
  two_content_types.headers.push_back({"content-type", "application/json"});
  return {
      {"MissingId", WithoutHeader(base, "ce_id"), "id", "is required"},
      {"EmptyId", WithHeader(base, "ce_id", ""), "id", "is required"},
      {"MissingSource", WithoutHeader(base, "ce_source"), "source", "is required"},
      {"EmptySource", WithHeader(base, "ce_source", ""), "source", "is required"},
      {"MissingType", WithoutHeader(base, "ce_type"), "type", "is required"},
      {"MissingSpecversion", WithoutHeader(base, "ce_specversion"), "specversion", "is required"},
      {"EmptySpecversion", WithHeader(base, "ce_specversion", ""), "specversion", "is required"},
      {"OldSpecversion", WithHeader(base, "ce_specversion", "0.3"), "specversion", "must be 1.0"},
      {"QuotedSpecversion", WithHeader(base, "ce_specversion", "\"1.0\""), "specversion",
       "must be 1.0"},
      {"TimeNotRfc3339", WithHeader(base, "ce_time", "yesterday"), "time", "RFC 3339"},
      {"TimeWithoutOffset", WithHeader(base, "ce_time", "2018-04-05T03:56:24"), "time",
       "RFC 3339"},
      {"TimeImpossibleDate", WithHeader(base, "ce_time", "2018-02-30T03:56:24Z"), "time",
       "RFC 3339"},
      {"UppercaseName", WithHeader(base, "ce_ID", "x"), "ce_ID", "lowercase letters or digits"},
      {"UppercasePrefix", WithHeader(base, "CE_partner", "x"), "CE_partner",
       "lowercase letters or digits"},
      {"HyphenInName", WithHeader(base, "ce_my-ext", "x"), "ce_my-ext",
       "lowercase letters or digits"},
      {"UnderscoreInName", WithHeader(base, "ce_my_ext", "x"), "ce_my_ext",
       "lowercase letters or digits"},
      {"EmptyName", WithHeader(base, "ce_", "x"), "ce_", "lowercase letters or digits"},
      {"NameTooLong", WithHeader(base, "ce_" + std::string(65, 'a'), "x"), "ce_aaaa",
       "lowercase letters or digits"},
      {"BinaryName", WithHeader(base, std::string("ce_a\xff", 5), "x"), "ce_a\\xff",
       "lowercase letters or digits"},
      {"DuplicateId", duplicated, "id", "is repeated"},
      {"DuplicateContentType", two_content_types, "datacontenttype", "repeated"},
      {"DatacontenttypeHeader", WithHeader(base, "ce_datacontenttype", "text/plain"),
       "datacontenttype", "content-type header"},
      {"DataHeader", WithHeader(base, "ce_data", "x"), "data", "record value"},
      {"EmptySubject", WithHeader(base, "ce_subject", ""), "subject", "must not be empty"},
      {"SubjectNotUtf8", WithHeader(base, "ce_subject", "caf\xc3"), "subject", "UTF-8"},
      {"OverlongUtf8", WithHeader(base, "ce_subject", "\xc0\xaf"), "subject", "UTF-8"},
      {"Surrogate", WithHeader(base, "ce_subject", "\xed\xa0\x80"), "subject", "UTF-8"},
      {"ControlCharacter", WithHeader(base, "ce_type", "com.example\nX-Injected: 1"), "type",
       "control characters"},
      {"ExtensionNotUtf8", WithHeader(base, "ce_tenant", "\xff"), "tenant", "UTF-8"},
      {"IdTooLong", WithHeader(base, "ce_id", std::string(kMaxAttributeBytes + 1, 'i')), "id",
       "longer than 4096 bytes"},
      {"ContentTypeTooLong",
       WithHeader(base, "content-type", std::string(kMaxAttributeBytes + 1, 'c')),
       "datacontenttype", "longer than 4096 bytes"},
      {"TooManyHeaders", RecordWith("", too_many), "headers", "more than 64"},
  };
}

class MalformedBinaryTest : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedBinaryTest, IsRejectedNamingTheAttribute) {
  const MalformedCase& c = GetParam();
  auto result = Decode(c.record);
  EXPECT_THAT(result, StatusIs(kInvalidArgument, AllOf(HasSubstr(c.attribute),
                                                       HasSubstr(c.complaint))));
  bool named = false;
  for (const FieldViolation& v : FieldViolationsOf(result.status())) {
    named = named || v.field.find(c.attribute) != std::string::npos;
  }
  EXPECT_TRUE(named) << "no BadRequest field violation names " << c.attribute;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, MalformedBinaryTest, ::testing::ValuesIn(MalformedBinaryCases()),
    [](const ::testing::TestParamInfo<MalformedCase>& info) { return info.param.name; });

TEST(KafkaBinding, EveryProblemIsNamedInOneStatus) {
  kafka::Record record = WithoutHeader(SpecBinaryRecord(), "ce_id");
  record = WithHeader(record, "ce_source", "");
  record = WithHeader(record, "ce_time", "soon");
  record = WithHeader(record, "ce_Bad", "x");
  auto result = Decode(record);
  ASSERT_THAT(result, StatusIs(kInvalidArgument));
  std::vector<std::string> fields;
  for (const FieldViolation& v : FieldViolationsOf(result.status())) fields.push_back(v.field);
  EXPECT_THAT(fields, UnorderedElementsAre("id", "source", "time", "ce_Bad"));
}

TEST(KafkaBinding, NotACloudEventAtAll) {
  EXPECT_THAT(Decode(RecordWith("hello", {})),
              StatusIs(kInvalidArgument, AllOf(HasSubstr("specversion is required"),
                                               HasSubstr("id is required"))));
}

// ---- malformed structured records --------------------------------------------------------------

std::vector<MalformedCase> MalformedStructuredCases() {
  const std::string head = R"({"specversion":"1.0","id":"1","source":"s","type":"t")";
  std::string deep = head + R"(,"datacontenttype":"application/json","data":)";
  deep += std::string(100, '[') + std::string(100, ']') + "}";
  kafka::Record avro = Structured(head + "}");
  avro.headers[0].value = "application/cloudevents+avro";
  kafka::Record batch = Structured("[" + head + "}]");
  batch.headers[0].value = "application/cloudevents-batch+json";
  std::string many = head;
  for (size_t i = 0; i < kMaxHeaders; ++i) absl::StrAppend(&many, ",\"x", i, "\":\"v\"");
  return {
      {"InvalidJson", Structured("{\"specversion\":"), "value", "must be JSON"},
      {"NotJsonAtAll", Structured("\xff\xfe garbage"), "value", "must be JSON"},
      {"EmptyValue", Structured(""), "value", "must be JSON"},
      {"NotAnObject", Structured("[1,2,3]"), "value", "JSON object"},
      {"TooDeep", Structured(deep), "value", "nested at most 64"},
      {"TooManyMembers", Structured(many + "}"), "value", "more than 64 members"},
      {"TooLarge", Structured(std::string(kMaxStructuredBytes + 1, ' ')), "value", "longer than"},
      {"DataAndDataBase64", Structured(head + R"(,"data":"x","data_base64":"eA=="})"), "data",
       "mutually exclusive"},
      {"InvalidBase64", Structured(head + R"(,"data_base64":"!!not base64!!"})"), "data_base64",
       "not valid base64"},
      {"Base64NotString", Structured(head + R"(,"data_base64":42})"), "data_base64",
       "JSON string"},
      {"MissingId", Structured(R"({"specversion":"1.0","source":"s","type":"t"})"), "id",
       "is required"},
      {"NullType", Structured(R"({"specversion":"1.0","id":"1","source":"s","type":null})"),
       "type", "is required"},
      {"MissingSpecversion", Structured(R"({"id":"1","source":"s","type":"t"})"), "specversion",
       "is required"},
      {"NumericSpecversion", Structured(R"({"specversion":1.0,"id":"1","source":"s","type":"t"})"),
       "specversion", "JSON string"},
      {"OldSpecversion", Structured(R"({"specversion":"0.3","id":"1","source":"s","type":"t"})"),
       "specversion", "must be 1.0"},
      {"NumericId", Structured(R"({"specversion":"1.0","id":7,"source":"s","type":"t"})"), "id",
       "JSON string"},
      {"TimeNotString", Structured(head + R"(,"time":1522900584})"), "time", "JSON string"},
      {"TimeMalformed", Structured(head + R"(,"time":"2018-04-05"})"), "time", "RFC 3339"},
      {"FloatExtension", Structured(head + R"(,"ratio":0.5})"), "ratio",
       "strings, integers or booleans"},
      {"ObjectExtension", Structured(head + R"(,"meta":{"a":1}})"), "meta",
       "strings, integers or booleans"},
      {"UppercaseMember", Structured(head + R"(,"Tenant":"v1"})"), "Tenant",
       "lowercase letters or digits"},
      {"UnderscoreMember", Structured(head + R"(,"my_ext":"v1"})"), "my_ext",
       "lowercase letters or digits"},
      {"ObjectDataForXml",
       Structured(head + R"(,"datacontenttype":"application/xml","data":{"a":1}})"), "data",
       "JSON string"},
      {"AvroFormat", avro, "content-type", "unsupported event format"},
      {"BatchFormat", batch, "content-type", "unsupported event format"},
  };
}

class MalformedStructuredTest : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedStructuredTest, IsRejectedNamingTheAttribute) {
  const MalformedCase& c = GetParam();
  EXPECT_THAT(Decode(c.record), StatusIs(kInvalidArgument, AllOf(HasSubstr(c.attribute),
                                                                 HasSubstr(c.complaint))));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, MalformedStructuredTest, ::testing::ValuesIn(MalformedStructuredCases()),
    [](const ::testing::TestParamInfo<MalformedCase>& info) { return info.param.name; });

TEST(KafkaBinding, DecodeIsTotalOnMutatedInput) {
  // A cheap stand-in for the fuzzer: flip, insert and truncate bytes of valid records.
  std::mt19937 rng(20260101);
  const CloudEvent event = MakeEvent(SamplePayload(), "prm.deal.DealApproved.v1", "/prm/deal",
                                     "evt-1", At("2026-01-02T03:04:05.5Z"), "d-42",
                                     PayloadEncoding::kJson);
  const std::vector<kafka::Record> seeds = {EncodeBinary(event, "t"), EncodeStructured(event, "t")};
  int decoded = 0;
  for (int i = 0; i < 3000; ++i) {
    kafka::Record record = seeds[i % 2];
    std::string& target = (i % 3 == 0 && !record.headers.empty())
                              ? record.headers[rng() % record.headers.size()].value
                              : record.value;
    for (int m = 0, n = 1 + static_cast<int>(rng() % 4); m < n && !target.empty(); ++m) {
      const size_t pos = rng() % target.size();
      switch (rng() % 3) {
        case 0:
          target[pos] = static_cast<char>(rng());
          break;
        case 1:
          target.insert(pos, 1, "{}[]\",:\\\x00\xff"[rng() % 10]);
          break;
        case 2:
          target.resize(pos);
          break;
      }
    }
    auto result = Decode(record);
    if (result.ok()) {
      ++decoded;
      EXPECT_OK(ValidateEvent(*result));
    } else {
      EXPECT_EQ(result.status().code(), kInvalidArgument) << result.status();
    }
  }
  EXPECT_GT(decoded, 0);
}

// ---- ValidateEvent -----------------------------------------------------------------------------

TEST(ValidateEvent, RejectsBadExtensionsAndTimes) {
  CloudEvent event{.id = "1", .source = "s", .type = "t"};
  event.extensions = {{"time", "x"}};
  EXPECT_THAT(ValidateEvent(event), StatusIs(kInvalidArgument, HasSubstr("time is a core")));
  event.extensions = {{"data", "x"}};
  EXPECT_THAT(ValidateEvent(event), StatusIs(kInvalidArgument, HasSubstr("data is a core")));
  event.extensions = {{"a", "1"}, {"a", "2"}};
  EXPECT_THAT(ValidateEvent(event), StatusIs(kInvalidArgument, HasSubstr("a is repeated")));
  event.extensions = {{"Bad", "1"}};
  EXPECT_THAT(ValidateEvent(event), StatusIs(kInvalidArgument, HasSubstr("Bad")));
  event.extensions.clear();
  for (size_t i = 0; i <= kMaxExtensions; ++i) {
    event.extensions.emplace_back(absl::StrCat("e", i), "v");
  }
  EXPECT_THAT(ValidateEvent(event), StatusIs(kInvalidArgument, HasSubstr("extensions")));
  event.extensions.clear();
  event.time = absl::InfiniteFuture();
  EXPECT_THAT(ValidateEvent(event), StatusIs(kInvalidArgument, HasSubstr("time")));
  event.time = At("9999-12-31T23:59:59Z") + absl::Seconds(1);
  EXPECT_THAT(ValidateEvent(event), StatusIs(kInvalidArgument, HasSubstr("time")));
  event.time = At("9999-12-31T23:59:59Z");
  EXPECT_OK(ValidateEvent(event));
}

TEST(ContentType, JsonDetectionFollowsTheJsonFormat) {
  EXPECT_TRUE(IsJsonContentType("application/json"));
  EXPECT_TRUE(IsJsonContentType("Application/JSON; charset=utf-8"));
  EXPECT_TRUE(IsJsonContentType("text/json"));
  EXPECT_TRUE(IsJsonContentType("application/vnd.prm+json"));
  EXPECT_FALSE(IsJsonContentType("application/protobuf"));
  EXPECT_FALSE(IsJsonContentType("application/jsonx"));
  EXPECT_FALSE(IsJsonContentType("json"));
  EXPECT_FALSE(IsJsonContentType(""));
  EXPECT_EQ(MediaTypeOf("  Application/JSON ; charset=utf-8"), "application/json");
}

// ---- payloads ----------------------------------------------------------------------------------

TEST(Payload, MakeEventFillsAttributesAndKey) {
  CloudEvent event = MakeEvent(SamplePayload(), "prm.deal.DealApproved.v1", "/prm/deal", "evt-9",
                               At("2026-01-02T03:04:05Z"), "d-42");
  EXPECT_EQ(event.id, "evt-9");
  EXPECT_EQ(event.source, "/prm/deal");
  EXPECT_EQ(event.type, "prm.deal.DealApproved.v1");
  EXPECT_EQ(event.time, At("2026-01-02T03:04:05Z"));
  EXPECT_EQ(event.subject, "d-42");
  EXPECT_EQ(event.partition_key, "d-42");
  EXPECT_EQ(event.data_content_type, "application/protobuf");
  google::protobuf::Struct parsed;
  ASSERT_TRUE(parsed.ParseFromString(event.data));
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(parsed, SamplePayload()));
  EXPECT_OK(ValidateEvent(event));
}

TEST(Payload, ProtobufEncodingIsDeterministic) {
  google::protobuf::Struct a, b;
  for (int i = 0; i < 50; ++i) (*a.mutable_fields())[absl::StrCat("k", i)].set_number_value(i);
  for (int i = 49; i >= 0; --i) (*b.mutable_fields())[absl::StrCat("k", i)].set_number_value(i);
  const absl::Time t = At("2026-01-02T03:04:05Z");
  EXPECT_EQ(MakeEvent(a, "t", "s", "1", t, "k").data, MakeEvent(b, "t", "s", "1", t, "k").data);
}

TEST(Payload, JsonEncodingFallsBackToProtobufWhenJsonCannotRepresentIt) {
  // An Any whose type the process does not know has no JSON mapping.
  google::protobuf::Any payload;
  payload.set_type_url("type.googleapis.com/prm.unknown.v1.Thing");
  payload.set_value("\x08\x01");
  std::string json;
  ASSERT_FALSE(google::protobuf::util::MessageToJsonString(payload, &json).ok());
  CloudEvent event = MakeEvent(payload, "t", "s", "1", absl::UnixEpoch(), "k",
                               PayloadEncoding::kJson);
  EXPECT_EQ(event.data_content_type, "application/protobuf");
  google::protobuf::Any unpacked;
  ASSERT_OK(UnpackPayload(event, &unpacked));
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(unpacked, payload));
}

TEST(Payload, AcceptsProtobufAliasesAndJsonParameters) {
  google::protobuf::SourceContext context;
  context.set_file_name("deal.proto");
  CloudEvent event{.id = "1", .source = "s", .type = "t"};
  google::protobuf::SourceContext out;

  event.data_content_type = "application/x-protobuf";
  event.data = context.SerializeAsString();
  ASSERT_OK(UnpackPayload(event, &out));
  EXPECT_EQ(out.file_name(), "deal.proto");

  event.data_content_type = "application/json; charset=utf-8";
  event.data = R"({"fileName":"other.proto"})";
  ASSERT_OK(UnpackPayload(event, &out));
  EXPECT_EQ(out.file_name(), "other.proto");

  event.data = R"({"file_name":"third.proto"})";  // proto field names are accepted too
  ASSERT_OK(UnpackPayload(event, &out));
  EXPECT_EQ(out.file_name(), "third.proto");
}

TEST(Payload, RejectsWrongContentType) {
  CloudEvent event{.id = "1", .source = "s", .type = "t", .data = "x"};
  google::protobuf::Struct out;
  for (const char* type : {"", "text/plain", "application/xml", "application/protobuf+json",
                           "application/cloudevents+json"}) {
    event.data_content_type = type;
    EXPECT_THAT(UnpackPayload(event, &out),
                StatusIs(kInvalidArgument, HasSubstr("datacontenttype")))
        << type;
  }
}

TEST(Payload, RejectsUnparsablePayloads) {
  google::protobuf::SourceContext out;
  CloudEvent event{.id = "1", .source = "s", .type = "t"};
  event.data_content_type = "application/protobuf";
  event.data = "\xff\xff\xff\xff";
  EXPECT_THAT(UnpackPayload(event, &out),
              StatusIs(kInvalidArgument, HasSubstr("google.protobuf.SourceContext")));
  event.data_content_type = "application/json";
  for (const char* json : {"{not json", "", "[]", R"({"fileName":7})"}) {
    event.data = json;
    EXPECT_THAT(UnpackPayload(event, &out), StatusIs(kInvalidArgument, HasSubstr("data")))
        << json;
  }
}

TEST(Payload, RejectsUnknownJsonFields) {
  google::protobuf::SourceContext out;
  CloudEvent event{.id = "1", .source = "s", .type = "t", .data_content_type = "application/json",
                   .data = R"({"fileNam":"typo.proto"})"};
  EXPECT_THAT(UnpackPayload(event, &out), StatusIs(kInvalidArgument, HasSubstr("data")));
}

TEST(Payload, ChecksTheExpectedEventType) {
  CloudEvent event = MakeEvent(SamplePayload(), "prm.deal.DealApproved.v1", "/prm/deal", "1",
                               absl::UnixEpoch(), "d-42");
  google::protobuf::Struct out;
  EXPECT_THAT(UnpackPayload(event, &out, "prm.deal.DealRejected.v1"),
              StatusIs(kInvalidArgument,
                       AllOf(HasSubstr("type"), HasSubstr("prm.deal.DealRejected.v1"))));
  EXPECT_OK(UnpackPayload(event, &out, "prm.deal.DealApproved.v1"));
  EXPECT_OK(UnpackPayload(event, &out));
}

// Issue 7: payloads that parse but that no producer of ours could have made are poison.
TEST(Payload, RejectsStringsLongerThanTheLimitAtAnyDepth) {
  prm::common::v1::EventMetadata m;
  m.set_vendor_id("v1");
  m.mutable_actor()->set_subject(std::string(kMaxPayloadStringBytes, 's'));
  EXPECT_OK(ValidatePayload(m));
  m.mutable_actor()->set_subject(std::string(kMaxPayloadStringBytes + 1, 's'));
  m.set_event_id(std::string(100 * 1024, 'i'));
  const absl::Status status = ValidatePayload(m);
  EXPECT_THAT(status, StatusIs(kInvalidArgument, HasSubstr("prm.common.v1.EventMetadata")));
  std::vector<std::string> fields;
  for (const FieldViolation& v : FieldViolationsOf(status)) fields.push_back(v.field);
  EXPECT_THAT(fields, UnorderedElementsAre("event_id", "actor.subject"));

  google::protobuf::Struct map;  // map keys and values, by entry
  (*map.mutable_fields())["k"].set_string_value(std::string(kMaxPayloadStringBytes + 1, 'v'));
  EXPECT_THAT(ValidatePayload(map),
              StatusIs(kInvalidArgument, HasSubstr("fields[0].value.string_value")));
}

TEST(Payload, RejectsTimesOutsideTheTimestampRange) {
  prm::common::v1::EventMetadata m;
  for (int64_t seconds : {int64_t{-62'135'596'800}, int64_t{0}, int64_t{253'402'300'799}}) {
    m.mutable_event_time()->set_seconds(seconds);
    m.mutable_event_time()->set_nanos(999'999'999);
    EXPECT_OK(ValidatePayload(m)) << seconds;
  }
  for (auto [seconds, nanos] : {std::pair<int64_t, int32_t>{-62'135'596'801, 0},
                                {253'402'300'800, 0},
                                {INT64_MAX, 0},
                                {INT64_MIN, 0},
                                {0, -1},
                                {0, 1'000'000'000}}) {
    m.mutable_event_time()->set_seconds(seconds);
    m.mutable_event_time()->set_nanos(nanos);
    EXPECT_THAT(ValidatePayload(m), StatusIs(kInvalidArgument, HasSubstr("event_time")))
        << seconds << "/" << nanos;
  }
}

TEST(Payload, RejectsMalformedMoneyAndDurations) {
  prm::common::v1::ProductLine line;
  line.mutable_amount()->set_currency_code("USD");
  for (auto [units, nanos] : {std::pair<int64_t, int32_t>{5, 999'999'999},
                              {-5, -999'999'999},
                              {0, -1},
                              {INT64_MAX, 0}}) {
    line.mutable_amount()->set_units(units);
    line.mutable_amount()->set_nanos(nanos);
    EXPECT_OK(ValidatePayload(line)) << units << "/" << nanos;  // negative is the domain's call
  }
  for (auto [units, nanos] :
       {std::pair<int64_t, int32_t>{0, 1'000'000'000}, {0, -1'000'000'000}, {5, -1}, {-5, 1}}) {
    line.mutable_amount()->set_units(units);
    line.mutable_amount()->set_nanos(nanos);
    EXPECT_THAT(ValidatePayload(line), StatusIs(kInvalidArgument, HasSubstr("amount")))
        << units << "/" << nanos;
  }
  google::protobuf::Duration d;
  d.set_seconds(1);
  d.set_nanos(-1);
  EXPECT_THAT(ValidatePayload(d), StatusIs(kInvalidArgument, HasSubstr("data")));
  d.set_seconds(-315'576'000'001);
  d.set_nanos(0);
  EXPECT_THAT(ValidatePayload(d), StatusIs(kInvalidArgument));
  d.set_seconds(-315'576'000'000);
  EXPECT_OK(ValidatePayload(d));
}

TEST(Payload, UnpackRejectsAParsedButMalformedPayloadInEitherEncoding) {
  prm::common::v1::EventMetadata m;
  m.set_vendor_id(std::string(100 * 1024, 'v'));
  for (PayloadEncoding encoding : {PayloadEncoding::kProtobuf, PayloadEncoding::kJson}) {
    const CloudEvent event =
        MakeEvent(m, "prm.x.Y.v1", "/prm/x", "1", absl::UnixEpoch(), "k", encoding);
    prm::common::v1::EventMetadata out;
    EXPECT_THAT(UnpackPayload(event, &out), StatusIs(kInvalidArgument, HasSubstr("vendor_id")));
  }
}

}  // namespace
}  // namespace prm::events
