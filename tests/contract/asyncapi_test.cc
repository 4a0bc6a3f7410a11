// Keeps docs/asyncapi/prm.asyncapi.json in step with the protos, deploy/topics.txt and the
// services' consumed topics. The expectations are derived here from the descriptors of the
// compiled protos, independently of tools/asyncapi-gen, so a drift on either side fails:
//   - every top-level message of proto/prm/<area>/v1/<area>_events.proto is an event of type
//     prm.<area>.<Message>.v1 on channel prm.<area>.v1, and every message in the document is one;
//   - every payload schema (recursively, through components/schemas) has exactly the proto's
//     fields under their JSON names, with the canonical proto3 JSON types, enum values and refs;
//   - the channels are exactly deploy/topics.txt's topics and their .dlq twins;
//   - the consumers of each topic are those of services/<name>/main.cc.
// The checker itself is tested too: a proto with a field or an event the document lacks, and a
// document with a wrong property, type, enum value or message, must each be reported.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "prm/deal/v1/deal_events.pb.h"
#include "prm/forecast/v1/forecast_events.pb.h"
#include "prm/partner/v1/partner_events.pb.h"
#include "prm/routing/v1/routing_events.pb.h"
#include "prm/sales/v1/sales_events.pb.h"

namespace {

namespace fs = std::filesystem;
namespace pb = google::protobuf;
using Json = nlohmann::json;
using Problems = std::vector<std::string>;
using ::testing::Contains;
using ::testing::HasSubstr;

// Referencing one message of each events file links its generated code, which registers the
// file (and its imports) in the generated descriptor pool.
const pb::Message* const kLinkedEventFiles[] = {
    &prm::sales::v1::SaleRecorded::default_instance(),
    &prm::partner::v1::PartnerCreated::default_instance(),
    &prm::deal::v1::DealCreated::default_instance(),
    &prm::routing::v1::TaskCreated::default_instance(),
    &prm::forecast::v1::ForecastUpdated::default_instance(),
};

const fs::path kSourceDir = PRM_SOURCE_DIR;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Quoted(const Json& json) { return json.dump(); }

// --- Inputs -------------------------------------------------------------------------------------

struct Topic {
  int partitions = 0;
  int dlq_partitions = 0;  // 0: no .dlq twin
};

// deploy/topics.txt: "<name> <partitions> [<dlq-partitions> | -]", '#' comments.
std::map<std::string, Topic> ReadTopics() {
  std::istringstream lines(ReadFile(kSourceDir / "deploy/topics.txt"));
  std::map<std::string, Topic> topics;
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line.substr(0, line.find('#')));
    std::string name;
    std::string dlq;
    Topic topic;
    if (!(words >> name >> topic.partitions)) continue;
    topic.dlq_partitions = topic.partitions;
    if (words >> dlq) topic.dlq_partitions = dlq == "-" ? 0 : std::stoi(dlq);
    topics[name] = topic;
  }
  return topics;
}

// The events files in the source tree, as names in the descriptor pool.
std::vector<std::string> EventFileNames() {
  std::vector<std::string> names;
  for (const auto& area : fs::directory_iterator(kSourceDir / "proto/prm")) {
    std::string name = area.path().filename().string();
    std::string file = "prm/" + name + "/v1/" + name + "_events.proto";
    if (fs::exists(kSourceDir / "proto" / file)) names.push_back(file);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// service -> topics, from `.consumed_topics = ... std::vector<std::string>{t.sales, ...}` in
// services/<service>/main.cc, with the runtime's default names (prm.<x>.v1 for t.<x>).
std::map<std::string, std::set<std::string>> ConsumedTopics(Problems* problems) {
  std::map<std::string, std::set<std::string>> consumed;
  const std::regex consumed_topics(
      R"(\.consumed_topics\s*=[^{]*\{[^{]*std::vector<std::string>\s*\{([^}]*)\})");
  const std::regex member(R"(^\s*t\.([a-z]+)\s*$)");
  for (const auto& dir : fs::directory_iterator(kSourceDir / "services")) {
    const fs::path main = dir.path() / "main.cc";
    if (!fs::exists(main)) continue;
    const std::string service = dir.path().filename().string();
    const std::string text = ReadFile(main);
    std::smatch match;
    consumed[service];
    if (!std::regex_search(text, match, consumed_topics)) {
      if (text.find("consumed_topics") != std::string::npos) {
        problems->push_back("services/" + service +
                            "/main.cc: cannot read its consumed_topics (expected "
                            "`std::vector<std::string>{t.sales, ...}`); teach asyncapi_test.cc");
      }
      continue;
    }
    std::istringstream items(match[1].str());
    std::string item;
    while (std::getline(items, item, ',')) {
      std::smatch name;
      if (!std::regex_match(item, name, member)) {
        problems->push_back("services/" + service + "/main.cc: consumed topic `" + item +
                            "` is not of the form t.<name>");
        continue;
      }
      consumed[service].insert("prm." + name[1].str() + ".v1");
    }
  }
  return consumed;
}

// --- What the protos say the document must hold -------------------------------------------------

std::string SchemaRef(const std::string& name) { return "#/components/schemas/" + name; }
std::string MessageRef(const std::string& key) { return "#/components/messages/" + key; }

// "prm/<area>/v1/<area>_events.proto" -> "<area>"; empty for any other file.
std::string EventArea(const pb::FileDescriptor* file) {
  static const std::regex events_file(R"(^prm/([a-z]+)/v1/([a-z]+)_events\.proto$)");
  std::smatch match;
  const std::string& name = file->name();
  if (!std::regex_match(name, match, events_file) || match[1] != match[2]) return "";
  return match[1];
}

// The CloudEvents type of an event message; empty when `message` is not an event (nested, or
// not declared in an events file).
std::string EventType(const pb::Descriptor* message) {
  std::string area = EventArea(message->file());
  if (area.empty() || message->containing_type() != nullptr) return "";
  return "prm." + area + "." + message->name() + ".v1";
}

// The JSON Schema of a field's value in the canonical proto3 JSON mapping, without annotations.
Json ExpectedValueSchema(const pb::FieldDescriptor* field) {
  switch (field->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_STRING:
      if (field->type() == pb::FieldDescriptor::TYPE_BYTES) {
        return {{"type", "string"}, {"contentEncoding", "base64"}};
      }
      return {{"type", "string"}};
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      return {{"type", "boolean"}};
    case pb::FieldDescriptor::CPPTYPE_INT32:
      return {{"type", "integer"}, {"format", "int32"}};
    case pb::FieldDescriptor::CPPTYPE_UINT32:
      return {{"type", "integer"}, {"format", "uint32"}};
    case pb::FieldDescriptor::CPPTYPE_INT64:
      return {{"type", "string"}, {"format", "int64"}};  // 64-bit integers are JSON strings
    case pb::FieldDescriptor::CPPTYPE_UINT64:
      return {{"type", "string"}, {"format", "uint64"}};
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
      return {{"type", "number"}, {"format", "double"}};
    case pb::FieldDescriptor::CPPTYPE_FLOAT:
      return {{"type", "number"}, {"format", "float"}};
    case pb::FieldDescriptor::CPPTYPE_ENUM:
      return {{"$ref", SchemaRef(field->enum_type()->full_name())}};
    case pb::FieldDescriptor::CPPTYPE_MESSAGE:
      return {{"$ref", SchemaRef(field->message_type()->full_name())}};
  }
  return nullptr;
}

Json ExpectedFieldSchema(const pb::FieldDescriptor* field) {
  if (field->is_map()) {
    Json schema = {{"type", "object"},
                   {"additionalProperties",
                    ExpectedValueSchema(field->message_type()->map_value())}};
    if (field->message_type()->map_key()->type() != pb::FieldDescriptor::TYPE_STRING) {
      schema["propertyNames"] = Json::object();
    }
    return schema;
  }
  if (field->is_repeated()) return {{"type", "array"}, {"items", ExpectedValueSchema(field)}};
  return ExpectedValueSchema(field);
}

// The well-known types' JSON mappings (strings), without annotations.
const std::map<std::string, Json>& WellKnownTypes() {
  static const auto* types = new std::map<std::string, Json>{
      {"google.protobuf.Timestamp", {{"type", "string"}, {"format", "date-time"}}},
      {"google.protobuf.Duration",
       {{"type", "string"}, {"pattern", "^-?[0-9]+(\\.[0-9]{1,9})?s$"}}},
      {"google.protobuf.FieldMask", {{"type", "string"}}},
  };
  return *types;
}

// A schema without what only helps a reader (descriptions, titles, examples, x-* extensions).
// Applied recursively so that annotations anywhere in a field's schema are ignored.
Json WithoutAnnotations(const Json& schema) {
  if (schema.is_array()) {
    Json out = Json::array();
    for (const Json& item : schema) out.push_back(WithoutAnnotations(item));
    return out;
  }
  if (!schema.is_object()) return schema;
  Json out = Json::object();
  for (const auto& [key, value] : schema.items()) {
    if (key == "description" || key == "title" || key == "examples" || key == "deprecated" ||
        key.rfind("x-", 0) == 0) {
      continue;
    }
    out[key] = WithoutAnnotations(value);
  }
  return out;
}

// --- The checker --------------------------------------------------------------------------------

class Checker {
 public:
  explicit Checker(const Json& doc) : doc_(doc) {}

  // Every event of `files` is a message of the document, on the channel of its topic, with its
  // type, proto message, headers and payload; every payload schema matches the protos.
  Problems CheckEvents(const std::vector<const pb::FileDescriptor*>& files) {
    for (const pb::FileDescriptor* file : files) {
      const std::string area = EventArea(file);
      if (area.empty()) {
        Add(file->name() + ": not an events file (prm/<area>/v1/<area>_events.proto)");
        continue;
      }
      if (file->package() != "prm." + area + ".v1") {
        Add(file->name() + ": package " + file->package() + " should be prm." + area + ".v1");
      }
      for (int i = 0; i < file->message_type_count(); ++i) CheckEvent(file->message_type(i));
    }
    return problems_;
  }

  // Every message of the document is an event of `pool` (or a dead letter on a .dlq channel).
  Problems CheckDocumentedMessages(const pb::DescriptorPool& pool) {
    for (const auto& [key, message] : Messages().items()) {
      const std::string where = "components.messages." + key;
      if (!message.contains("x-prm-proto-message")) {
        for (const auto& [id, channel] : Channels().items()) {
          if (ChannelRefersTo(channel, key) && !IsDlqChannel(channel)) {
            Add(where + ": has no x-prm-proto-message but is on channel " + id +
                ", which is not a .dlq channel");
          }
        }
        continue;
      }
      const std::string proto_name = message.value("x-prm-proto-message", "");
      const pb::Descriptor* descriptor = pool.FindMessageTypeByName(proto_name);
      if (descriptor == nullptr) {
        Add(where + ": names proto message " + proto_name + ", which the protos do not have");
        continue;
      }
      const std::string type = EventType(descriptor);
      if (type.empty()) {
        Add(where + ": " + proto_name +
            " is not an event (events are the top-level messages of "
            "prm/<area>/v1/<area>_events.proto)");
        continue;
      }
      if (message.value("x-prm-event-type", "") != type) {
        Add(where + ": x-prm-event-type is " + Quoted(message.value("x-prm-event-type", Json())) +
            ", expected " + type);
      }
      const std::string mode = message.value("x-prm-content-mode", "");
      if (mode == "binary" && key != type) {
        Add(where + ": a binary-mode message is keyed by its event type, " + type);
      } else if (mode == "structured") {
        if (key != type + ".structured") {
          Add(where + ": a structured-mode message is keyed " + type + ".structured");
        }
        CheckStructuredMessage(where, message, descriptor, type);
      } else if (mode != "binary") {
        Add(where + ": x-prm-content-mode is " +
            Quoted(message.value("x-prm-content-mode", Json())) +
            ", expected \"binary\" or \"structured\"");
      }
    }
    return problems_;
  }

  // The channels are the topics of deploy/topics.txt and their .dlq twins, with their partition
  // counts; .dlq channels carry dead letters only.
  Problems CheckChannels(const std::map<std::string, Topic>& topics) {
    std::map<std::string, int> expected;  // address -> partitions
    for (const auto& [name, topic] : topics) {
      expected[name] = topic.partitions;
      if (topic.dlq_partitions > 0) expected[name + ".dlq"] = topic.dlq_partitions;
    }
    std::set<std::string> seen;
    for (const auto& [id, channel] : Channels().items()) {
      const std::string address = channel.value("address", "");
      const std::string where = "channels." + id + " (" + address + ")";
      if (!seen.insert(address).second) Add(where + ": a second channel for this address");
      auto it = expected.find(address);
      if (it == expected.end()) {
        Add(where + ": not a topic of deploy/topics.txt (nor a .dlq twin of one)");
        continue;
      }
      const Json kafka = channel.value("bindings", Json::object()).value("kafka", Json::object());
      if (kafka.value("topic", "") != address) {
        Add(where + ": bindings.kafka.topic should be " + address);
      }
      if (kafka.value("partitions", 0) != it->second) {
        Add(where + ": bindings.kafka.partitions is " + Quoted(kafka.value("partitions", Json())) +
            ", deploy/topics.txt says " + std::to_string(it->second));
      }
      if (IsDlqChannel(channel)) {
        for (const auto& [name, ref] : Section(channel, "messages").items()) {
          const Json* message = Resolve(ref.value("$ref", ""));
          if (message == nullptr || message->contains("x-prm-proto-message")) {
            Add(where + ": message " + name + " is not a dead letter");
          }
        }
      }
    }
    for (const auto& [address, partitions] : expected) {
      if (!seen.count(address)) Add("topic " + address + " of deploy/topics.txt has no channel");
    }
    return problems_;
  }

  // Each non-.dlq channel's receive operations are exactly the services consuming its topic, each
  // of its event messages names them in x-prm-consumers, and each consumer may dead-letter.
  Problems CheckConsumers(const std::map<std::string, std::set<std::string>>& consumed) {
    std::map<std::string, std::set<std::string>> expected;  // topic -> services
    for (const auto& [service, topics] : consumed) {
      for (const std::string& topic : topics) expected[topic].insert(service);
    }
    for (const auto& [id, channel] : Channels().items()) {
      if (IsDlqChannel(channel)) continue;
      const std::string address = channel.value("address", "");
      std::set<std::string> receivers;
      std::set<std::string> dead_letterers;
      for (const auto& [op_id, operation] : Operations().items()) {
        const std::string channel_ref =
            operation.value("channel", Json::object()).value("$ref", "");
        const std::string service = operation.value("x-prm-service", "");
        if (channel_ref == "#/channels/" + id && operation.value("action", "") == "receive") {
          receivers.insert(service);
        }
        const Json* target = Resolve(channel_ref);
        if (target != nullptr && target->value("address", "") == address + ".dlq" &&
            operation.value("action", "") == "send") {
          dead_letterers.insert(service);
        }
      }
      const std::set<std::string>& services = expected[address];
      if (receivers != services) {
        Add("channels." + id + " (" + address + "): receive operations by " + Join(receivers) +
            ", but services/*/main.cc consume it in " + Join(services));
      }
      if (dead_letterers != services && HasDlqChannel(address)) {
        Add("channels." + id + " (" + address + "): dead-letter operations by " +
            Join(dead_letterers) + ", expected its consumers " + Join(services));
      }
      for (const auto& [name, ref] : Section(channel, "messages").items()) {
        const Json* message = Resolve(ref.value("$ref", ""));
        if (message == nullptr || !message->contains("x-prm-consumers")) continue;
        std::set<std::string> listed;
        for (const Json& service : (*message)["x-prm-consumers"]) listed.insert(service);
        if (listed != services) {
          Add("message " + name + " on " + address + ": x-prm-consumers is " + Join(listed) +
              ", expected " + Join(services));
        }
      }
    }
    return problems_;
  }

  // Every "$ref" in the document points at something in it.
  Problems CheckRefs() {
    CheckRefsIn(doc_, "");
    return problems_;
  }

  // Schemas named like proto types that no event reaches (left over from a removed field).
  Problems CheckNoStaleSchemas() {
    for (const auto& [name, schema] : Schemas().items()) {
      if ((name.rfind("prm.", 0) == 0 || name.rfind("google.protobuf.", 0) == 0) &&
          !checked_schemas_.count(name)) {
        Add("components.schemas." + name + ": no event's payload reaches it");
      }
    }
    return problems_;
  }

 private:
  void Add(std::string problem) { problems_.push_back(std::move(problem)); }

  static const Json& Section(const Json& parent, const char* key) {
    static const Json empty = Json::object();
    auto it = parent.find(key);
    return it == parent.end() || !it->is_object() ? empty : *it;
  }
  const Json& Channels() const { return Section(doc_, "channels"); }
  const Json& Operations() const { return Section(doc_, "operations"); }
  const Json& Messages() const { return Section(Section(doc_, "components"), "messages"); }
  const Json& Schemas() const { return Section(Section(doc_, "components"), "schemas"); }

  const Json* Resolve(const std::string& ref) const {
    if (ref.rfind("#/", 0) != 0) return nullptr;
    try {
      Json::json_pointer pointer(ref.substr(1));
      if (!doc_.contains(pointer)) return nullptr;
      return &doc_.at(pointer);
    } catch (const Json::exception&) {
      return nullptr;
    }
  }

  static std::string Join(const std::set<std::string>& items) {
    std::string out = "{";
    for (const std::string& item : items) out += (out.size() > 1 ? ", " : "") + item;
    return out + "}";
  }

  static bool IsDlqChannel(const Json& channel) {
    const std::string address = channel.value("address", "");
    return address.size() > 4 && address.compare(address.size() - 4, 4, ".dlq") == 0;
  }

  bool HasDlqChannel(const std::string& topic) const {
    for (const auto& [id, channel] : Channels().items()) {
      if (channel.value("address", "") == topic + ".dlq") return true;
    }
    return false;
  }

  static bool ChannelRefersTo(const Json& channel, const std::string& message_key) {
    for (const auto& [name, ref] : Section(channel, "messages").items()) {
      if (ref.value("$ref", "") == MessageRef(message_key)) return true;
    }
    return false;
  }

  // The const of property `name` in a headers or payload schema: directly or in an allOf part.
  static Json ConstOf(const Json& schema, const std::string& name) {
    if (!schema.is_object()) return nullptr;
    const Json properties = schema.value("properties", Json::object());
    if (properties.contains(name) && properties[name].contains("const")) {
      return properties[name]["const"];
    }
    for (const Json& part : schema.value("allOf", Json::array())) {
      Json found = ConstOf(part, name);
      if (!found.is_null()) return found;
    }
    return nullptr;
  }

  static Json PropertyOf(const Json& schema, const std::string& name) {
    if (!schema.is_object()) return nullptr;
    const Json properties = schema.value("properties", Json::object());
    if (properties.contains(name)) return properties[name];
    for (const Json& part : schema.value("allOf", Json::array())) {
      Json found = PropertyOf(part, name);
      if (!found.is_null()) return found;
    }
    return nullptr;
  }

  void CheckEvent(const pb::Descriptor* descriptor) {
    const std::string type = EventType(descriptor);
    const std::string topic = descriptor->file()->package();
    const std::string proto_name = descriptor->full_name();
    const std::string where = "event " + type + " (" + proto_name + ")";
    if (!Messages().contains(type)) {
      Add(where + ": not in the document (no components.messages." + type + ")");
      CheckMessageSchema(descriptor, where);
      return;
    }
    const Json& message = Messages()[type];
    auto expect_member = [&](const char* member, const Json& expected) {
      if (message.value(member, Json()) != expected) {
        Add(where + ": " + member + " is " + Quoted(message.value(member, Json())) +
            ", expected " + Quoted(expected));
      }
    };
    expect_member("name", descriptor->name());
    expect_member("x-prm-event-type", type);
    expect_member("x-prm-proto-message", proto_name);
    expect_member("x-prm-topic", topic);
    expect_member("x-prm-content-mode", "binary");
    expect_member("payload", Json{{"$ref", SchemaRef(proto_name)}});
    const Json ce_type = ConstOf(message.value("headers", Json::object()), "ce_type");
    if (ce_type != type) {
      Add(where + ": headers fix ce_type to " + Quoted(ce_type) + ", expected " + Quoted(type));
    }
    // On its topic's channel, and on no other.
    bool on_topic = false;
    for (const auto& [id, channel] : Channels().items()) {
      if (!ChannelRefersTo(channel, type)) continue;
      if (channel.value("address", "") == topic) {
        on_topic = true;
      } else {
        Add(where + ": on channel " + id + " (" + channel.value("address", "") +
            "), but it belongs to " + topic);
      }
    }
    if (!on_topic) Add(where + ": no channel with address " + topic + " lists it");
    CheckMessageSchema(descriptor, where);
  }

  void CheckStructuredMessage(const std::string& where, const Json& message,
                              const pb::Descriptor* descriptor, const std::string& type) {
    const Json payload = message.value("payload", Json::object());
    if (ConstOf(payload, "type") != type) {
      Add(where + ": payload fixes type to " + Quoted(ConstOf(payload, "type")) + ", expected " +
          type);
    }
    const Json data = PropertyOf(payload, "data");
    if (data != Json{{"$ref", SchemaRef(descriptor->full_name())}}) {
      Add(where + ": payload data is " + Quoted(data) + ", expected a $ref to " +
          SchemaRef(descriptor->full_name()));
    }
  }

  void CheckMessageSchema(const pb::Descriptor* descriptor, const std::string& reached_from) {
    const std::string& name = descriptor->full_name();
    if (!checked_schemas_.insert(name).second) return;
    if (!Schemas().contains(name)) {
      Add("components.schemas." + name + " is missing (reached from " + reached_from + ")");
      return;
    }
    const Json& schema = Schemas()[name];
    if (name.rfind("google.protobuf.", 0) == 0) {
      auto it = WellKnownTypes().find(name);
      if (it == WellKnownTypes().end()) {
        Add(name + ": a well-known type the test does not know; add its JSON mapping to "
                   "WellKnownTypes() in asyncapi_test.cc and to tools/asyncapi-gen");
      } else if (WithoutAnnotations(schema) != it->second) {
        Add(name + ": schema is " + Quoted(WithoutAnnotations(schema)) + ", expected " +
            Quoted(it->second));
      }
      return;
    }
    if (schema.value("type", Json()) != "object") Add(name + ": schema type should be \"object\"");
    if (schema.value("additionalProperties", Json()) != false) {
      Add(name + ": additionalProperties should be false (consumers reject unknown JSON members)");
    }
    if (!schema.value("required", Json::array()).empty()) {
      Add(name + ": required should be empty (proto3 JSON may omit any field at its default)");
    }
    const Json properties = schema.value("properties", Json::object());
    for (int i = 0; i < descriptor->field_count(); ++i) {
      const pb::FieldDescriptor* field = descriptor->field(i);
      const std::string field_where = name + "." + field->json_name() + " (" + field->name() +
                                      " = " + std::to_string(field->number()) + ")";
      if (!properties.contains(field->json_name())) {
        Add(field_where + ": field is in the proto but not in the document");
      } else {
        const Json expected = ExpectedFieldSchema(field);
        const Json actual = WithoutAnnotations(properties[field->json_name()]);
        if (actual != expected) {
          Add(field_where + ": document has " + Quoted(actual) + ", expected " + Quoted(expected));
        }
      }
      const pb::FieldDescriptor* value =
          field->is_map() ? field->message_type()->map_value() : field;
      if (value->enum_type() != nullptr) CheckEnumSchema(value->enum_type(), field_where);
      if (value->message_type() != nullptr) CheckMessageSchema(value->message_type(), field_where);
    }
    for (const auto& [property, unused] : properties.items()) {
      bool known = false;
      for (int i = 0; i < descriptor->field_count(); ++i) {
        known = known || descriptor->field(i)->json_name() == property;
      }
      if (!known) Add(name + "." + property + ": in the document but not a field of the proto");
    }
  }

  void CheckEnumSchema(const pb::EnumDescriptor* descriptor, const std::string& reached_from) {
    const std::string& name = descriptor->full_name();
    if (!checked_schemas_.insert(name).second) return;
    if (!Schemas().contains(name)) {
      Add("components.schemas." + name + " is missing (reached from " + reached_from + ")");
      return;
    }
    Json values = Json::array();
    for (int i = 0; i < descriptor->value_count(); ++i) {
      values.push_back(descriptor->value(i)->name());
    }
    const Json expected = {{"type", "string"}, {"enum", values}};
    const Json actual = WithoutAnnotations(Schemas()[name]);
    if (actual != expected) {
      Add(name + ": enum schema is " + Quoted(actual) + ", expected " + Quoted(expected));
    }
  }

  void CheckRefsIn(const Json& node, const std::string& path) {
    if (node.is_object()) {
      for (const auto& [key, value] : node.items()) {
        if (key == "$ref" && value.is_string() && Resolve(value) == nullptr) {
          Add(path + ": $ref " + value.get<std::string>() + " points at nothing");
        }
        CheckRefsIn(value, path + "/" + key);
      }
    } else if (node.is_array()) {
      for (size_t i = 0; i < node.size(); ++i) CheckRefsIn(node[i], path + "/" + std::to_string(i));
    }
  }

  const Json& doc_;
  Problems problems_;
  std::set<std::string> checked_schemas_;
};

// --- Fixture ------------------------------------------------------------------------------------

const Json& Document() {
  static const Json* doc = [] {
    std::ifstream in(PRM_ASYNCAPI_DOCUMENT);
    auto* parsed = new Json(Json::parse(in, nullptr, /*allow_exceptions=*/false));
    return parsed;
  }();
  return *doc;
}

std::vector<const pb::FileDescriptor*> LinkedEventFiles(const pb::DescriptorPool& pool,
                                                        Problems* problems) {
  std::vector<const pb::FileDescriptor*> files;
  for (const std::string& name : EventFileNames()) {
    const pb::FileDescriptor* file = pool.FindFileByName(name);
    if (file == nullptr) {
      problems->push_back(name + " is not linked into asyncapi_test: link its proto library and "
                                 "reference one of its messages in kLinkedEventFiles");
      continue;
    }
    files.push_back(file);
  }
  return files;
}

void ExpectNoProblems(const Problems& problems) {
  for (const std::string& problem : problems) ADD_FAILURE() << problem;
}

constexpr char kRegenerate[] =
    "docs/asyncapi/prm.asyncapi.json has drifted; regenerate it (`ninja asyncapi_doc`, see "
    "docs/asyncapi/README.md)";

TEST(AsyncApiDocument, IsAnAsyncApi3JsonDocument) {
  ASSERT_FALSE(Document().is_discarded()) << PRM_ASYNCAPI_DOCUMENT << " is not valid JSON";
  EXPECT_EQ(Document().value("asyncapi", ""), "3.0.0");
  for (const char* section : {"info", "channels", "operations", "components"}) {
    EXPECT_TRUE(Document().contains(section)) << "no " << section;
  }
  EXPECT_EQ(kLinkedEventFiles[0]->GetDescriptor()->full_name(), "prm.sales.v1.SaleRecorded");
}

TEST(AsyncApiDocument, DescribesEveryEventOfTheProtosOnItsTopic) {
  Problems problems;
  std::vector<const pb::FileDescriptor*> files =
      LinkedEventFiles(*pb::DescriptorPool::generated_pool(), &problems);
  ExpectNoProblems(problems);
  ASSERT_GE(files.size(), 5u) << "sales, partner, deal, routing, forecast at least";
  Checker checker(Document());
  checker.CheckEvents(files);
  problems = checker.CheckNoStaleSchemas();
  ExpectNoProblems(problems);
  if (!problems.empty()) ADD_FAILURE() << kRegenerate;
}

TEST(AsyncApiDocument, DescribesOnlyEventsOfTheProtos) {
  Checker checker(Document());
  ExpectNoProblems(checker.CheckDocumentedMessages(*pb::DescriptorPool::generated_pool()));
}

TEST(AsyncApiDocument, HasAChannelForEveryTopicOfDeployTopicsTxtAndNoOther) {
  std::map<std::string, Topic> topics = ReadTopics();
  ASSERT_TRUE(topics.count("prm.sales.v1")) << "cannot read deploy/topics.txt";
  Checker checker(Document());
  ExpectNoProblems(checker.CheckChannels(topics));
}

TEST(AsyncApiDocument, NamesTheConsumersOfServicesMainCc) {
  Problems problems;
  std::map<std::string, std::set<std::string>> consumed = ConsumedTopics(&problems);
  ExpectNoProblems(problems);
  ASSERT_GE(consumed.size(), 4u) << "one entry per services/<name>/main.cc";
  Checker checker(Document());
  ExpectNoProblems(checker.CheckConsumers(consumed));
}

TEST(AsyncApiDocument, EveryRefResolves) {
  Checker checker(Document());
  ExpectNoProblems(checker.CheckRefs());
}

// --- The checker catches drift ------------------------------------------------------------------

// Copies `file` and its imports from the generated pool into `pool`, editing the one named
// `target` first, so that a test can see what the checker says about a changed proto.
const pb::FileDescriptor* CopyInto(pb::DescriptorPool& pool, const pb::FileDescriptor* file,
                                   const std::string& target,
                                   const std::function<void(pb::FileDescriptorProto&)>& edit) {
  if (const pb::FileDescriptor* copied = pool.FindFileByName(file->name())) return copied;
  for (int i = 0; i < file->dependency_count(); ++i) {
    CopyInto(pool, file->dependency(i), target, edit);
  }
  pb::FileDescriptorProto proto;
  file->CopyTo(&proto);
  if (file->name() == target) edit(proto);
  return pool.BuildFile(proto);
}

Problems ProblemsWithEditedSalesProto(
    const std::function<void(pb::FileDescriptorProto&)>& edit) {
  pb::DescriptorPool pool;
  const pb::FileDescriptor* sales = CopyInto(
      pool, prm::sales::v1::SaleRecorded::descriptor()->file(), "prm/sales/v1/sales_events.proto",
      edit);
  EXPECT_NE(sales, nullptr);
  if (sales == nullptr) return {};
  Checker checker(Document());
  return checker.CheckEvents({sales});
}

TEST(AsyncApiChecker, ReportsAProtoFieldTheDocumentLacks) {
  Problems problems = ProblemsWithEditedSalesProto([](pb::FileDescriptorProto& file) {
    pb::FieldDescriptorProto* field = file.mutable_message_type(0)->add_field();
    field->set_name("drift_probe");
    field->set_number(99);
    field->set_type(pb::FieldDescriptorProto::TYPE_STRING);
    field->set_label(pb::FieldDescriptorProto::LABEL_OPTIONAL);
  });
  EXPECT_THAT(problems, Contains("prm.sales.v1.SaleRecorded.driftProbe (drift_probe = 99): "
                                 "field is in the proto but not in the document"));
  EXPECT_EQ(problems.size(), 1u);
}

TEST(AsyncApiChecker, ReportsAProtoFieldWhoseTypeChanged) {
  Problems problems = ProblemsWithEditedSalesProto([](pb::FileDescriptorProto& file) {
    for (pb::FieldDescriptorProto& field : *file.mutable_message_type(0)->mutable_field()) {
      if (field.name() == "erp_system_id") field.set_type(pb::FieldDescriptorProto::TYPE_INT64);
    }
  });
  EXPECT_THAT(problems, Contains("prm.sales.v1.SaleRecorded.erpSystemId (erp_system_id = 2): "
                                 "document has {\"type\":\"string\"}, expected "
                                 "{\"format\":\"int64\",\"type\":\"string\"}"));
}

TEST(AsyncApiChecker, ReportsAProtoEventTheDocumentLacks) {
  Problems problems = ProblemsWithEditedSalesProto([](pb::FileDescriptorProto& file) {
    file.add_message_type()->set_name("SaleVoided");
  });
  EXPECT_THAT(problems, Contains("event prm.sales.SaleVoided.v1 (prm.sales.v1.SaleVoided): not "
                                 "in the document (no components.messages."
                                 "prm.sales.SaleVoided.v1)"));
}

TEST(AsyncApiChecker, ReportsAProtoEnumValueTheDocumentLacks) {
  Problems problems = ProblemsWithEditedSalesProto([](pb::FileDescriptorProto& file) {
    pb::EnumValueDescriptorProto* value = file.mutable_enum_type(0)->add_value();
    value->set_name("SALE_KIND_CONSIGNMENT");
    value->set_number(4);
  });
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_THAT(problems[0], HasSubstr("prm.sales.v1.SaleKind: enum schema is"));
  EXPECT_THAT(problems[0], HasSubstr("SALE_KIND_CONSIGNMENT"));
}

Problems ProblemsWithEditedDocument(const std::function<void(Json&)>& edit) {
  Json doc = Document();
  edit(doc);
  Problems problems;
  Checker checker(doc);
  checker.CheckEvents(LinkedEventFiles(*pb::DescriptorPool::generated_pool(), &problems));
  checker.CheckDocumentedMessages(*pb::DescriptorPool::generated_pool());
  return checker.CheckNoStaleSchemas();
}

TEST(AsyncApiChecker, TheDocumentPassesUnedited) {
  EXPECT_THAT(ProblemsWithEditedDocument([](Json&) {}), ::testing::IsEmpty());
}

TEST(AsyncApiChecker, ReportsADocumentPropertyTheProtoLacks) {
  Problems problems = ProblemsWithEditedDocument([](Json& doc) {
    doc["components"]["schemas"]["prm.common.v1.Money"]["properties"]["cents"] = {
        {"type", "string"}};
  });
  EXPECT_THAT(problems,
              Contains("prm.common.v1.Money.cents: in the document but not a field of the proto"));
}

TEST(AsyncApiChecker, ReportsAnInt64DocumentedAsANumber) {
  Problems problems = ProblemsWithEditedDocument([](Json& doc) {
    doc["components"]["schemas"]["prm.common.v1.Money"]["properties"]["units"] = {
        {"type", "integer"}, {"format", "int64"}};
  });
  EXPECT_THAT(problems, Contains("prm.common.v1.Money.units (units = 2): document has "
                                 "{\"format\":\"int64\",\"type\":\"integer\"}, expected "
                                 "{\"format\":\"int64\",\"type\":\"string\"}"));
}

TEST(AsyncApiChecker, ReportsAWrongTypeString) {
  Problems problems = ProblemsWithEditedDocument([](Json& doc) {
    doc["components"]["messages"]["prm.deal.DealWon.v1"]["x-prm-event-type"] =
        "prm.deal.DealClosed.v1";
  });
  EXPECT_THAT(problems, Contains("event prm.deal.DealWon.v1 (prm.deal.v1.DealWon): "
                                 "x-prm-event-type is \"prm.deal.DealClosed.v1\", expected "
                                 "\"prm.deal.DealWon.v1\""));
}

TEST(AsyncApiChecker, ReportsAMessageTheProtosLack) {
  Problems problems = ProblemsWithEditedDocument([](Json& doc) {
    Json message = doc["components"]["messages"]["prm.deal.DealWon.v1"];
    message["x-prm-proto-message"] = "prm.deal.v1.DealReopened";
    doc["components"]["messages"]["prm.deal.DealReopened.v1"] = message;
  });
  EXPECT_THAT(problems, Contains("components.messages.prm.deal.DealReopened.v1: names proto "
                                 "message prm.deal.v1.DealReopened, which the protos do not have"));
}

TEST(AsyncApiChecker, ReportsAHelperMessageDocumentedAsAnEvent) {
  Problems problems = ProblemsWithEditedDocument([](Json& doc) {
    Json message = doc["components"]["messages"]["prm.deal.DealWon.v1"];
    message["x-prm-proto-message"] = "prm.common.v1.Money";
    doc["components"]["messages"]["prm.common.Money.v1"] = message;
  });
  EXPECT_THAT(problems, Contains(HasSubstr("components.messages.prm.common.Money.v1: "
                                           "prm.common.v1.Money is not an event")));
}

TEST(AsyncApiChecker, ReportsAnEventOnTheWrongChannel) {
  Problems problems = ProblemsWithEditedDocument([](Json& doc) {
    for (Json& channel : doc["channels"]) {
      if (channel["address"] == "prm.routing.v1") {
        channel["messages"]["DealWon"] = {{"$ref", "#/components/messages/prm.deal.DealWon.v1"}};
      }
    }
  });
  EXPECT_THAT(problems, Contains(HasSubstr("event prm.deal.DealWon.v1 (prm.deal.v1.DealWon): on "
                                           "channel prmRoutingV1 (prm.routing.v1), but it "
                                           "belongs to prm.deal.v1")));
}

TEST(AsyncApiChecker, ReportsAStaleSchema) {
  Problems problems = ProblemsWithEditedDocument([](Json& doc) {
    doc["components"]["schemas"]["prm.deal.v1.DealNote"] = {{"type", "object"}};
  });
  EXPECT_THAT(problems,
              Contains("components.schemas.prm.deal.v1.DealNote: no event's payload reaches it"));
}

TEST(AsyncApiChecker, ReportsATopicWithoutAChannel) {
  std::map<std::string, Topic> topics = ReadTopics();
  topics["prm.audit.v1"] = {.partitions = 3, .dlq_partitions = 0};
  topics["prm.sales.v1"].partitions = 12;
  Checker checker(Document());
  Problems problems = checker.CheckChannels(topics);
  EXPECT_THAT(problems, Contains("topic prm.audit.v1 of deploy/topics.txt has no channel"));
  EXPECT_THAT(problems, Contains("channels.prmSalesV1 (prm.sales.v1): bindings.kafka.partitions "
                                 "is 6, deploy/topics.txt says 12"));
}

TEST(AsyncApiChecker, ReportsAConsumerMainCcDoesNotHave) {
  Problems ignored;
  std::map<std::string, std::set<std::string>> consumed = ConsumedTopics(&ignored);
  consumed["concierge-routing"].insert("prm.forecast.v1");
  Checker checker(Document());
  EXPECT_THAT(checker.CheckConsumers(consumed),
              Contains(HasSubstr("channels.prmForecastV1 (prm.forecast.v1): receive operations "
                                 "by {}, but services/*/main.cc consume it in "
                                 "{concierge-routing}")));
}

}  // namespace
