// What PRM's code actually writes must be valid against docs/asyncapi/prm.asyncapi.json: for every
// event, a message with every field set is packed by common/events (MakeEvent, EncodeBinary,
// EncodeStructured) and the record's headers, key and JSON payload are validated against the
// document's schemas. This checks the document's reading of the proto3 JSON mapping (64-bit
// integers as strings, enum names, Timestamp and Duration strings, maps) against protobuf's own
// printer, and its header schemas against the Kafka binding, rather than against a second copy of
// the same assumptions. The dead-letter headers are compared with common/kafka/consumer.h.

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/events/cloud_event.h"
#include "common/events/kafka_binding.h"
#include "common/events/payload.h"
#include "common/kafka/consumer.h"
#include "common/kafka/record.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "prm/deal/v1/deal_events.pb.h"
#include "prm/forecast/v1/forecast_events.pb.h"
#include "prm/partner/v1/partner_events.pb.h"
#include "prm/routing/v1/routing_events.pb.h"
#include "prm/sales/v1/sales_events.pb.h"

namespace {

namespace pb = google::protobuf;
using Json = nlohmann::json;
using Problems = std::vector<std::string>;
using ::testing::IsEmpty;

const Json& Document() {
  static const Json* doc = [] {
    std::ifstream in(PRM_ASYNCAPI_DOCUMENT);
    return new Json(Json::parse(in, nullptr, /*allow_exceptions=*/false));
  }();
  return *doc;
}

// --- A validator for the JSON Schema subset the document uses ------------------------------------

class Validator {
 public:
  explicit Validator(const Json& doc) : doc_(doc) {}

  Problems Validate(const Json& value, const Json& schema, const std::string& path = "$") {
    problems_.clear();
    Check(value, schema, path);
    return problems_;
  }

 private:
  void Add(const std::string& path, const std::string& what) {
    problems_.push_back(path + ": " + what);
  }

  static bool HasType(const Json& value, const std::string& type) {
    if (type == "string") return value.is_string();
    if (type == "integer") return value.is_number_integer();
    if (type == "number") return value.is_number();
    if (type == "boolean") return value.is_boolean();
    if (type == "object") return value.is_object();
    if (type == "array") return value.is_array();
    return false;
  }

  void Check(const Json& value, const Json& schema, const std::string& path) {
    if (!schema.is_object()) return;
    if (schema.contains("$ref")) {
      const std::string ref = schema["$ref"];
      Json::json_pointer pointer(ref.substr(1));
      if (ref.rfind("#/", 0) != 0 || !doc_.contains(pointer)) {
        Add(path, "$ref " + ref + " points at nothing");
        return;
      }
      Check(value, doc_.at(pointer), path);
    }
    for (const Json& part : schema.value("allOf", Json::array())) Check(value, part, path);
    if (schema.contains("type") && !HasType(value, schema["type"].get<std::string>())) {
      Add(path, "is " + value.dump() + ", not of type " + schema["type"].dump());
      return;
    }
    if (schema.contains("const") && value != schema["const"]) {
      Add(path, "is " + value.dump() + ", expected " + schema["const"].dump());
    }
    if (schema.contains("enum")) {
      bool listed = false;
      for (const Json& allowed : schema["enum"]) listed = listed || allowed == value;
      if (!listed) Add(path, value.dump() + " is not one of " + schema["enum"].dump());
    }
    if (value.is_string()) CheckString(value, schema, path);
    if (value.is_array() && schema.contains("items")) {
      for (size_t i = 0; i < value.size(); ++i) {
        Check(value[i], schema["items"], path + "[" + std::to_string(i) + "]");
      }
    }
    if (value.is_object()) CheckObject(value, schema, path);
  }

  void CheckString(const Json& value, const Json& schema, const std::string& path) {
    const std::string text = value;
    if (schema.contains("maxLength") && text.size() > schema["maxLength"].get<size_t>()) {
      Add(path, "is longer than " + schema["maxLength"].dump());
    }
    if (schema.contains("pattern") &&
        !std::regex_search(text, std::regex(schema["pattern"].get<std::string>()))) {
      Add(path, value.dump() + " does not match " + schema["pattern"].dump());
    }
    static const std::map<std::string, std::regex>* formats = new std::map<std::string, std::regex>{
        {"int64", std::regex(R"(^-?[0-9]+$)")},
        {"uint64", std::regex(R"(^[0-9]+$)")},
        {"date-time",
         std::regex(R"(^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})"
                    R"((\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$)")},
    };
    if (schema.contains("format")) {
      auto it = formats->find(schema["format"].get<std::string>());
      if (it != formats->end() && !std::regex_match(text, it->second)) {
        Add(path, value.dump() + " is not of format " + schema["format"].dump());
      }
    }
  }

  void CheckObject(const Json& value, const Json& schema, const std::string& path) {
    for (const Json& name : schema.value("required", Json::array())) {
      if (!value.contains(name.get<std::string>())) Add(path, "lacks required " + name.dump());
    }
    if (schema.contains("maxProperties") && value.size() > schema["maxProperties"].get<size_t>()) {
      Add(path, "has more than " + schema["maxProperties"].dump() + " members");
    }
    const Json properties = schema.value("properties", Json::object());
    const Json patterns = schema.value("patternProperties", Json::object());
    for (auto it = value.begin(); it != value.end(); ++it) {
      const std::string member_path = path + "." + it.key();
      bool matched = false;
      if (properties.contains(it.key())) {
        matched = true;
        Check(it.value(), properties[it.key()], member_path);
      }
      for (auto pattern = patterns.begin(); pattern != patterns.end(); ++pattern) {
        if (std::regex_search(it.key(), std::regex(pattern.key()))) {
          matched = true;
          Check(it.value(), pattern.value(), member_path);
        }
      }
      if (matched || !schema.contains("additionalProperties")) continue;
      const Json& additional = schema["additionalProperties"];
      if (additional == false) {
        Add(member_path, "is not declared by the schema");
      } else {
        Check(it.value(), additional, member_path);
      }
    }
  }

  const Json& doc_;
  Problems problems_;
};

// --- Messages with every field set ---------------------------------------------------------------

// Sets every field of `message` to a value other than its default, down to `depth` levels of
// nested messages (event payloads reach a few messages more than once).
void Populate(pb::Message* message, int depth) {
  const pb::Descriptor* descriptor = message->GetDescriptor();
  const pb::Reflection* reflection = message->GetReflection();
  const std::string& name = descriptor->full_name();
  if (name == "google.protobuf.Timestamp") {
    reflection->SetInt64(message, descriptor->FindFieldByName("seconds"), 1767225600);
    reflection->SetInt32(message, descriptor->FindFieldByName("nanos"), 500000000);
    return;
  }
  if (name == "google.protobuf.Duration") {
    reflection->SetInt64(message, descriptor->FindFieldByName("seconds"), 86400);
    reflection->SetInt32(message, descriptor->FindFieldByName("nanos"), 250000000);
    return;
  }
  if (name == "google.protobuf.FieldMask") {
    reflection->AddString(message, descriptor->FindFieldByName("paths"), "display_name");
    return;
  }
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const pb::FieldDescriptor* field = descriptor->field(i);
    if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      if (depth <= 0) continue;
      pb::Message* child = field->is_repeated() ? reflection->AddMessage(message, field)
                                                : reflection->MutableMessage(message, field);
      Populate(child, field->is_map() ? depth : depth - 1);
      continue;
    }
    const bool repeated = field->is_repeated();
    switch (field->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_STRING:
        repeated ? reflection->AddString(message, field, "text-" + field->name())
                 : reflection->SetString(message, field, "text-" + field->name());
        break;
      case pb::FieldDescriptor::CPPTYPE_BOOL:
        repeated ? reflection->AddBool(message, field, true)
                 : reflection->SetBool(message, field, true);
        break;
      case pb::FieldDescriptor::CPPTYPE_INT32:
        repeated ? reflection->AddInt32(message, field, -7)
                 : reflection->SetInt32(message, field, -7);
        break;
      case pb::FieldDescriptor::CPPTYPE_UINT32:
        repeated ? reflection->AddUInt32(message, field, 7)
                 : reflection->SetUInt32(message, field, 7);
        break;
      case pb::FieldDescriptor::CPPTYPE_INT64:
        repeated ? reflection->AddInt64(message, field, -9007199254740993)
                 : reflection->SetInt64(message, field, -9007199254740993);
        break;
      case pb::FieldDescriptor::CPPTYPE_UINT64:
        repeated ? reflection->AddUInt64(message, field, 9007199254740993)
                 : reflection->SetUInt64(message, field, 9007199254740993);
        break;
      case pb::FieldDescriptor::CPPTYPE_DOUBLE:
        repeated ? reflection->AddDouble(message, field, 1.5)
                 : reflection->SetDouble(message, field, 1.5);
        break;
      case pb::FieldDescriptor::CPPTYPE_FLOAT:
        repeated ? reflection->AddFloat(message, field, 2.5f)
                 : reflection->SetFloat(message, field, 2.5f);
        break;
      case pb::FieldDescriptor::CPPTYPE_ENUM: {
        const pb::EnumDescriptor* type = field->enum_type();
        const pb::EnumValueDescriptor* last = type->value(type->value_count() - 1);
        repeated ? reflection->AddEnum(message, field, last)
                 : reflection->SetEnum(message, field, last);
        break;
      }
      case pb::FieldDescriptor::CPPTYPE_MESSAGE:
        break;
    }
  }
}

struct Event {
  std::string type;
  const pb::Descriptor* descriptor;
  const Json* message;  // components.messages[type]
};

// The events the document describes (keyed by type), in binary mode.
std::vector<Event> DocumentedEvents() {
  std::vector<Event> events;
  const Json& messages = Document()["components"]["messages"];
  for (auto it = messages.begin(); it != messages.end(); ++it) {
    if (it.value().value("x-prm-content-mode", "") != "binary") continue;
    const pb::Descriptor* descriptor = pb::DescriptorPool::generated_pool()->FindMessageTypeByName(
        it.value().value("x-prm-proto-message", ""));
    if (descriptor != nullptr) events.push_back({it.key(), descriptor, &it.value()});
  }
  return events;
}

// The ce_source const of a message's headers, or an ERP-style source.
std::string SourceFor(const Json& message) {
  for (const Json& part : message["headers"].value("allOf", Json::array())) {
    const Json source = part.value("properties", Json::object()).value("ce_source", Json::object());
    if (source.contains("const")) return source["const"].get<std::string>();
  }
  return "erp/sap-eu";
}

Json HeadersOf(const prm::kafka::Record& record) {
  Json headers = Json::object();
  for (const prm::kafka::Header& header : record.headers) headers[header.key] = header.value;
  return headers;
}

TEST(AsyncApiWire, DocumentListsEveryEvent) {
  ASSERT_FALSE(Document().is_discarded());
  // 1 sales + 15 partner + 16 deal + 9 routing + 2 forecast events at the time of writing; the
  // exact set is asyncapi_test's business, this only guards against validating nothing.
  EXPECT_GE(DocumentedEvents().size(), 40u);
}

TEST(AsyncApiWire, JsonPayloadsOfFullyPopulatedEventsMatchTheirSchemas) {
  Validator validator(Document());
  for (const Event& event : DocumentedEvents()) {
    std::unique_ptr<pb::Message> message(
        pb::MessageFactory::generated_factory()->GetPrototype(event.descriptor)->New());
    Populate(message.get(), 4);
    std::string json;
    ASSERT_TRUE(pb::util::MessageToJsonString(*message, &json).ok()) << event.type;
    EXPECT_THAT(validator.Validate(Json::parse(json), (*event.message)["payload"], event.type),
                IsEmpty())
        << json;
  }
}

TEST(AsyncApiWire, BinaryModeRecordsMatchTheirMessages) {
  Validator validator(Document());
  for (const Event& event : DocumentedEvents()) {
    std::unique_ptr<pb::Message> message(
        pb::MessageFactory::generated_factory()->GetPrototype(event.descriptor)->New());
    Populate(message.get(), 4);
    for (prm::events::PayloadEncoding encoding :
         {prm::events::PayloadEncoding::kProtobuf, prm::events::PayloadEncoding::kJson}) {
      prm::events::CloudEvent cloud_event = prm::events::MakeEvent(
          *message, event.type, SourceFor(*event.message), "event-1",
          absl::FromUnixMillis(1767225600250), "aggregate-1", encoding);
      prm::kafka::Record record = prm::events::EncodeBinary(cloud_event, "topic");
      EXPECT_EQ(record.key, "aggregate-1");
      EXPECT_EQ(record.FindHeader("ce_subject"), record.key) << "the key is the subject";
      EXPECT_THAT(validator.Validate(HeadersOf(record), (*event.message)["headers"],
                                     event.type + " headers"),
                  IsEmpty());
      if (encoding == prm::events::PayloadEncoding::kJson) {
        EXPECT_THAT(validator.Validate(Json::parse(record.value), (*event.message)["payload"],
                                       event.type + " value"),
                    IsEmpty());
      }
    }
  }
}

TEST(AsyncApiWire, StructuredModeRecordsMatchTheirMessages) {
  Validator validator(Document());
  const Json& messages = Document()["components"]["messages"];
  int structured = 0;
  for (auto it = messages.begin(); it != messages.end(); ++it) {
    if (it.value().value("x-prm-content-mode", "") != "structured") continue;
    ++structured;
    const pb::Descriptor* descriptor = pb::DescriptorPool::generated_pool()->FindMessageTypeByName(
        it.value().value("x-prm-proto-message", ""));
    ASSERT_NE(descriptor, nullptr) << it.key();
    std::unique_ptr<pb::Message> message(
        pb::MessageFactory::generated_factory()->GetPrototype(descriptor)->New());
    Populate(message.get(), 4);
    prm::events::CloudEvent cloud_event = prm::events::MakeEvent(
        *message, it.value()["x-prm-event-type"].get<std::string>(), "erp/sap-eu", "doc-1",
        absl::FromUnixSeconds(1767225600), "acme/sap-eu/P-1", prm::events::PayloadEncoding::kJson);
    prm::kafka::Record record = prm::events::EncodeStructured(cloud_event, "prm.sales.v1");
    EXPECT_THAT(validator.Validate(HeadersOf(record), it.value()["headers"], it.key() + " headers"),
                IsEmpty());
    EXPECT_THAT(validator.Validate(Json::parse(record.value), it.value()["payload"],
                                   it.key() + " value"),
                IsEmpty())
        << record.value;
  }
  EXPECT_GE(structured, 1) << "the ERP topic accepts structured mode";
}

TEST(AsyncApiWire, DeadLetterHeadersAreTheConsumersHeaders) {
  const Json& schema = Document()["components"]["schemas"]["DeadLetterHeaders"];
  std::set<std::string> documented;
  for (const Json& name : schema["required"]) documented.insert(name.get<std::string>());
  EXPECT_EQ(documented, (std::set<std::string>{
                            prm::kafka::kDlqTopicHeader, prm::kafka::kDlqPartitionHeader,
                            prm::kafka::kDlqOffsetHeader, prm::kafka::kDlqErrorHeader,
                            prm::kafka::kDlqGroupHeader}));
  EXPECT_EQ(prm::kafka::ConsumerOptions{}.dlq_suffix, ".dlq") << "the .dlq channels' names";
}

TEST(AsyncApiWire, HeaderLimitsAreTheBindingsLimits) {
  const Json& schema = Document()["components"]["schemas"]["CloudEventsBinaryHeaders"];
  EXPECT_EQ(schema["maxProperties"], prm::events::kMaxHeaders);
  EXPECT_EQ(schema["properties"]["ce_id"]["maxLength"], prm::events::kMaxAttributeBytes);
  EXPECT_EQ(schema["properties"]["ce_specversion"]["const"],
            std::string(prm::events::kSpecVersion));
  EXPECT_EQ(schema["properties"]["content-type"]["enum"],
            Json::array({std::string(prm::events::content_type::kProtobuf),
                         std::string(prm::events::content_type::kJson)}));
  EXPECT_EQ(Document()["components"]["schemas"]["CloudEventsStructuredHeaders"]["properties"]
                      ["content-type"]["const"],
            std::string(prm::events::content_type::kCloudEventsJson));
}

// The validator is not vacuous: a record that breaks the document is reported.
TEST(AsyncApiWire, ValidatorReportsViolations) {
  Validator validator(Document());
  const Json& money = Document()["components"]["schemas"]["prm.common.v1.Money"];
  EXPECT_THAT(validator.Validate(Json{{"units", 5}}, money),
              ::testing::ElementsAre("$.units: is 5, not of type \"string\""));
  EXPECT_THAT(validator.Validate(Json{{"cents", "5"}}, money),
              ::testing::ElementsAre("$.cents: is not declared by the schema"));
  const Json& kind = Document()["components"]["schemas"]["prm.sales.v1.SaleKind"];
  EXPECT_THAT(validator.Validate(Json("SALE_KIND_GIFT"), kind), ::testing::SizeIs(1));
  const Json& timestamp = Document()["components"]["schemas"]["google.protobuf.Timestamp"];
  EXPECT_THAT(validator.Validate(Json("yesterday"), timestamp), ::testing::SizeIs(1));
}

// Populated events reach nested fields: with Money.units documented as a JSON number, the
// printer's int64 string in DealWon.wonAmount and in the deal's own amounts is reported.
TEST(AsyncApiWire, ValidatorSeesNestedFieldsOfPopulatedEvents) {
  Json doc = Document();
  doc["components"]["schemas"]["prm.common.v1.Money"]["properties"]["units"] = {
      {"type", "integer"}};
  Validator validator(doc);
  prm::deal::v1::DealWon won;
  Populate(&won, 4);
  std::string json;
  ASSERT_TRUE(pb::util::MessageToJsonString(won, &json).ok());
  Problems problems =
      validator.Validate(Json::parse(json), doc["components"]["messages"]["prm.deal.DealWon.v1"]
                                                ["payload"]);
  EXPECT_THAT(problems,
              ::testing::Contains(
                  "$.wonAmount.units: is \"-9007199254740993\", not of type \"integer\""));
  EXPECT_GT(problems.size(), 1u) << "the deal's amounts too";
}

}  // namespace
