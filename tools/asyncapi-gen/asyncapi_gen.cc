// asyncapi-gen: writes docs/asyncapi/prm.asyncapi.json, PRM's AsyncAPI 3.0 event contract.
//
// Inputs: the hand-written parts (docs/asyncapi/prm.asyncapi.base.json: info, servers, header
// schemas, the dead-letter message, and per topic its publisher, source, key and description),
// deploy/topics.txt (channels and partition counts) and the event .proto files as a descriptor set
// that protoc wrote with --include_imports --include_source_info, so that descriptions come from
// the protos' comments. Every top-level message of a
// proto/prm/<area>/v1/<area>_events.proto file is an event of type prm.<area>.<Message>.v1 on topic
// prm.<area>.v1; its payload schema and those of every message and enum it reaches are JSON Schemas
// of the canonical proto3 JSON mapping. tests/contract/asyncapi_test.cc checks the result against
// the compiled protos independently of this program.
//
// Usage: asyncapi-gen --source-dir <repo> --descriptor-set <file> --out <file>
// Exit 0 when written, 1 on any problem (reported on stderr).

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/descriptor.h"
#include "nlohmann/json.hpp"

namespace {

namespace fs = std::filesystem;
namespace pb = google::protobuf;
using Json = nlohmann::ordered_json;

constexpr char kKafkaBindingVersion[] = "0.5.0";
constexpr char kStructuredContentType[] = "application/cloudevents+json; charset=UTF-8";

[[noreturn]] void Fail(const std::string& message) {
  std::cerr << "asyncapi-gen: " << message << "\n";
  std::exit(1);
}

struct Topic {
  std::string name;
  int partitions = 0;
  int dlq_partitions = 0;  // 0 = no dead-letter twin
};

// deploy/topics.txt: "<name> <partitions> [<dlq-partitions> | -]", '#' comments.
std::vector<Topic> ReadTopics(const fs::path& path) {
  std::ifstream in(path);
  if (!in) Fail("cannot read " + path.string());
  std::vector<Topic> topics;
  std::string line;
  while (std::getline(in, line)) {
    line = line.substr(0, line.find('#'));
    std::istringstream words(line);
    Topic topic;
    std::string dlq;
    if (!(words >> topic.name)) continue;
    if (!(words >> topic.partitions)) {
      Fail(path.string() + ": no partition count for " + topic.name);
    }
    topic.dlq_partitions = topic.partitions;
    if (words >> dlq) topic.dlq_partitions = dlq == "-" ? 0 : std::stoi(dlq);
    topics.push_back(topic);
  }
  return topics;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  if (!in) Fail("cannot read " + path.string());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// "prm.sales.v1.dlq" -> "prmSalesV1Dlq"; "deal-registration" -> "dealRegistration".
std::string CamelCase(const std::string& text) {
  std::string out;
  bool upper = false;
  for (char c : text) {
    if (c == '.' || c == '-' || c == '_') {
      upper = true;
    } else {
      out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
      upper = false;
    }
  }
  return out;
}

std::string Capitalized(std::string text) {
  if (!text.empty()) text[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(text[0])));
  return text;
}

// A proto comment as plain text: the leading space of each line and trailing blanks removed.
std::string CleanComment(const std::string& comment) {
  std::istringstream lines(comment);
  std::string line;
  std::string out;
  while (std::getline(lines, line)) {
    if (!line.empty() && line[0] == ' ') line.erase(0, 1);
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
    if (!out.empty()) out += "\n";
    out += line;
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

template <typename D>
std::string CommentOf(const D* descriptor) {
  pb::SourceLocation location;
  if (!descriptor->GetSourceLocation(&location)) return "";
  return CleanComment(location.leading_comments);
}

// The first sentence of a comment, on one line.
std::string FirstSentence(const std::string& text) {
  std::string sentence;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    sentence += c == '\n' ? ' ' : c;
    if (c == '.' && (i + 1 == text.size() || text[i + 1] == ' ' || text[i + 1] == '\n')) break;
  }
  return sentence;
}

std::string SchemaRef(const std::string& full_name) {
  return "#/components/schemas/" + full_name;
}

class SchemaWriter {
 public:
  // Adds the schema of `message` and of every message and enum it reaches.
  void AddMessage(const pb::Descriptor* message) {
    if (!seen_.insert(message->full_name()).second) return;
    if (AddWellKnownType(message)) return;
    Json schema;
    schema["title"] = message->full_name();
    if (std::string comment = CommentOf(message); !comment.empty()) schema["description"] = comment;
    schema["type"] = "object";
    Json properties = Json::object();
    for (int i = 0; i < message->field_count(); ++i) {
      const pb::FieldDescriptor* field = message->field(i);
      Json property = FieldSchema(field);
      if (std::string comment = CommentOf(field); !comment.empty()) {
        property["description"] = comment;
      }
      properties[field->json_name()] = property;
    }
    schema["properties"] = properties;
    schema["additionalProperties"] = false;
    schemas_[message->full_name()] = schema;
  }

  Json Schemas() const {
    Json out = Json::object();
    for (const auto& [name, schema] : schemas_) out[name] = schema;
    return out;
  }

 private:
  bool AddWellKnownType(const pb::Descriptor* message) {
    const std::string& name = message->full_name();
    if (name.rfind("google.protobuf.", 0) != 0) return false;
    Json schema;
    schema["title"] = name;
    if (name == "google.protobuf.Timestamp") {
      schema["description"] = "An instant, RFC 3339 in UTC, e.g. \"2026-03-01T09:30:00Z\".";
      schema["type"] = "string";
      schema["format"] = "date-time";
    } else if (name == "google.protobuf.Duration") {
      schema["description"] =
          "A duration in seconds with an \"s\" suffix, e.g. \"86400s\" or \"1.5s\".";
      schema["type"] = "string";
      schema["pattern"] = "^-?[0-9]+(\\.[0-9]{1,9})?s$";
    } else if (name == "google.protobuf.FieldMask") {
      schema["description"] =
          "Field paths in lowerCamelCase, comma-separated, e.g. \"displayName,webDomains\".";
      schema["type"] = "string";
    } else {
      Fail("no JSON mapping for well-known type " + name + "; teach asyncapi-gen and the test");
    }
    schemas_[name] = schema;
    return true;
  }

  void AddEnum(const pb::EnumDescriptor* type) {
    if (!seen_.insert(type->full_name()).second) return;
    Json schema;
    schema["title"] = type->full_name();
    std::string description = CommentOf(type);
    Json values = Json::array();
    for (int i = 0; i < type->value_count(); ++i) {
      const pb::EnumValueDescriptor* value = type->value(i);
      values.push_back(value->name());
      description += (i == 0 && !description.empty() ? "\n\n" : i == 0 ? "" : "\n");
      description += "- `" + value->name() + "`";
      if (std::string comment = CommentOf(value); !comment.empty()) description += ": " + comment;
    }
    schema["description"] = description;
    schema["type"] = "string";
    schema["enum"] = values;
    schemas_[type->full_name()] = schema;
  }

  Json ScalarSchema(const pb::FieldDescriptor* field) {
    switch (field->type()) {
      case pb::FieldDescriptor::TYPE_STRING:
        return {{"type", "string"}};
      case pb::FieldDescriptor::TYPE_BYTES:
        return {{"type", "string"}, {"contentEncoding", "base64"}};
      case pb::FieldDescriptor::TYPE_BOOL:
        return {{"type", "boolean"}};
      case pb::FieldDescriptor::TYPE_INT32:
      case pb::FieldDescriptor::TYPE_SINT32:
      case pb::FieldDescriptor::TYPE_SFIXED32:
        return {{"type", "integer"}, {"format", "int32"}};
      case pb::FieldDescriptor::TYPE_UINT32:
      case pb::FieldDescriptor::TYPE_FIXED32:
        return {{"type", "integer"}, {"format", "uint32"}};
      case pb::FieldDescriptor::TYPE_INT64:
      case pb::FieldDescriptor::TYPE_SINT64:
      case pb::FieldDescriptor::TYPE_SFIXED64:
        return {{"type", "string"}, {"format", "int64"}};
      case pb::FieldDescriptor::TYPE_UINT64:
      case pb::FieldDescriptor::TYPE_FIXED64:
        return {{"type", "string"}, {"format", "uint64"}};
      case pb::FieldDescriptor::TYPE_DOUBLE:
        return {{"type", "number"}, {"format", "double"}};
      case pb::FieldDescriptor::TYPE_FLOAT:
        return {{"type", "number"}, {"format", "float"}};
      case pb::FieldDescriptor::TYPE_ENUM:
        AddEnum(field->enum_type());
        return {{"$ref", SchemaRef(field->enum_type()->full_name())}};
      case pb::FieldDescriptor::TYPE_MESSAGE:
        AddMessage(field->message_type());
        return {{"$ref", SchemaRef(field->message_type()->full_name())}};
      case pb::FieldDescriptor::TYPE_GROUP:
        break;
    }
    Fail("unsupported field type in " + field->full_name());
  }

  Json FieldSchema(const pb::FieldDescriptor* field) {
    if (field->is_map()) {
      const pb::FieldDescriptor* key = field->message_type()->map_key();
      Json schema = {{"type", "object"},
                     {"additionalProperties", ScalarSchema(field->message_type()->map_value())}};
      if (key->type() != pb::FieldDescriptor::TYPE_STRING) {
        schema["propertyNames"] = {{"description", "Map keys are written as JSON strings."}};
      }
      return schema;
    }
    if (field->is_repeated()) return {{"type", "array"}, {"items", ScalarSchema(field)}};
    return ScalarSchema(field);
  }

  std::set<std::string> seen_;
  std::map<std::string, Json> schemas_;
};

struct Event {
  std::string type;        // prm.deal.DealCreated.v1
  std::string name;        // DealCreated
  std::string topic;       // prm.deal.v1
  const pb::Descriptor* message = nullptr;
};

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int i = 1; i + 1 < argc; i += 2) flags[argv[i]] = argv[i + 1];
  if (argc % 2 == 0 || !flags.count("--source-dir") || !flags.count("--out") ||
      !flags.count("--descriptor-set")) {
    Fail("usage: asyncapi-gen --source-dir <repo> --descriptor-set <file> --out <file>");
  }
  const fs::path source_dir = flags["--source-dir"];

  Json doc = Json::parse(ReadFile(source_dir / "docs/asyncapi/prm.asyncapi.base.json"));
  const Json topic_config = doc["x-prm-topics"];
  const Json consumer_config = doc["x-prm-consumers"];
  doc.erase("x-prm-topics");
  doc.erase("x-prm-consumers");
  const std::vector<Topic> topics = ReadTopics(source_dir / "deploy/topics.txt");

  pb::FileDescriptorSet set;
  {
    std::ifstream in(flags["--descriptor-set"], std::ios::binary);
    if (!in || !set.ParseFromIstream(&in)) Fail("cannot read " + flags["--descriptor-set"]);
  }
  // Dependencies come first in a protoc descriptor set.
  pb::DescriptorPool pool;
  std::vector<const pb::FileDescriptor*> event_files;
  for (const pb::FileDescriptorProto& proto : set.file()) {
    const pb::FileDescriptor* file = pool.BuildFile(proto);
    if (file == nullptr) Fail("cannot build " + proto.name() + " from the descriptor set");
    // prm/<area>/v1/<area>_events.proto
    const fs::path path = file->name();
    const std::string area = path.parent_path().parent_path().filename().string();
    if (path.parent_path().filename() == "v1" && path.filename() == area + "_events.proto" &&
        path.parent_path().parent_path().parent_path() == "prm") {
      event_files.push_back(file);
    }
  }
  std::sort(event_files.begin(), event_files.end(),
            [](const pb::FileDescriptor* a, const pb::FileDescriptor* b) {
              return a->name() < b->name();
            });
  if (event_files.empty()) Fail("no prm/<area>/v1/<area>_events.proto in the descriptor set");

  std::vector<Event> events;
  SchemaWriter schemas;
  for (const pb::FileDescriptor* file : event_files) {
    const std::string& package = file->package();
    const std::string area = fs::path(file->name()).parent_path().parent_path().filename();
    if (package != "prm." + area + ".v1") {
      Fail(file->name() + ": package " + package + " is not prm." + area + ".v1");
    }
    for (int i = 0; i < file->message_type_count(); ++i) {
      const pb::Descriptor* message = file->message_type(i);
      events.push_back({"prm." + area + "." + message->name() + ".v1", message->name(),
                        package, message});
      schemas.AddMessage(message);
    }
  }

  std::map<std::string, std::vector<std::string>> consumers_of;  // topic -> services
  for (const auto& [service, consumed] : consumer_config.items()) {
    for (const auto& topic : consumed) consumers_of[topic.get<std::string>()].push_back(service);
  }

  Json channels = Json::object();
  Json operations = Json::object();
  Json messages = Json::object();
  for (const Topic& topic : topics) {
    if (!topic_config.contains(topic.name)) {
      Fail("deploy/topics.txt names " + topic.name +
           ", which prm.asyncapi.base.json does not describe");
    }
    const Json& config = topic_config[topic.name];
    const std::string channel_id = CamelCase(topic.name);
    const std::string publisher = config["publisher"];
    const std::vector<std::string>& consumers = consumers_of[topic.name];

    Json channel;
    channel["address"] = topic.name;
    channel["title"] = config["title"];
    channel["description"] = config["description"];
    Json channel_messages = Json::object();
    for (const Event& event : events) {
      if (event.topic != topic.name) continue;
      std::string proto_name = event.message->full_name();
      std::string description = CommentOf(event.message);
      Json headers = {{"allOf", Json::array({{{"$ref", SchemaRef("CloudEventsBinaryHeaders")}},
                                             {{"type", "object"},
                                              {"properties",
                                               {{"ce_type", {{"const", event.type}}},
                                                {"ce_source", config["source"]}}}}})}};
      Json binding = {{"kafka",
                       {{"key", {{"type", "string"}, {"description", config["key"]}}},
                        {"bindingVersion", kKafkaBindingVersion}}}};
      Json message;
      message["name"] = event.name;
      message["title"] = event.type;
      message["summary"] = FirstSentence(description);
      message["description"] = description;
      message["contentType"] = "application/json";
      message["headers"] = headers;
      message["payload"] = {{"$ref", SchemaRef(proto_name)}};
      message["bindings"] = binding;
      message["x-prm-event-type"] = event.type;
      message["x-prm-proto-message"] = proto_name;
      message["x-prm-content-mode"] = "binary";
      message["x-prm-topic"] = topic.name;
      message["x-prm-publisher"] = publisher;
      message["x-prm-consumers"] = consumers;
      messages[event.type] = message;
      channel_messages[event.name] = {{"$ref", "#/components/messages/" + event.type}};

      if (config.value("structuredMode", false)) {
        Json structured = message;
        structured["name"] = event.name + "Structured";
        structured["title"] = event.type + " (structured mode)";
        structured["contentType"] = kStructuredContentType;
        structured["headers"] = {{"$ref", SchemaRef("CloudEventsStructuredHeaders")}};
        structured["payload"] = {
            {"allOf", Json::array({{{"$ref", SchemaRef("CloudEventsStructuredEvent")}},
                                   {{"type", "object"},
                                    {"properties",
                                     {{"type", {{"const", event.type}}},
                                      {"source", config["source"]},
                                      {"data", {{"$ref", SchemaRef(proto_name)}}}}}}})}};
        structured["x-prm-content-mode"] = "structured";
        messages[event.type + ".structured"] = structured;
        channel_messages[event.name + "Structured"] = {
            {"$ref", "#/components/messages/" + event.type + ".structured"}};
      }
    }
    channel["messages"] = channel_messages;
    channel["bindings"] = {{"kafka",
                            {{"topic", topic.name},
                             {"partitions", topic.partitions},
                             {"bindingVersion", kKafkaBindingVersion}}}};
    channels[channel_id] = channel;

    Json message_refs = Json::array();
    for (const auto& [name, ref] : channel_messages.items()) {
      message_refs.push_back({{"$ref", "#/channels/" + channel_id + "/messages/" + name}});
    }
    const std::string publisher_title = config.value("publisherTitle", publisher);
    operations[CamelCase(publisher) + "Publishes" + Capitalized(channel_id)] = {
        {"action", "send"},
        {"channel", {{"$ref", "#/channels/" + channel_id}}},
        {"title", publisher_title + " publishes to " + topic.name},
        {"x-prm-service", publisher},
        {"messages", message_refs}};
    for (const std::string& consumer : consumers) {
      operations[CamelCase(consumer) + "Consumes" + Capitalized(channel_id)] = {
          {"action", "receive"},
          {"channel", {{"$ref", "#/channels/" + channel_id}}},
          {"title", consumer + " consumes " + topic.name + " (group prm-" + consumer + ")"},
          {"x-prm-service", consumer},
          {"messages", message_refs}};
    }

    if (topic.dlq_partitions > 0) {
      const std::string dlq = topic.name + ".dlq";
      const std::string dlq_id = CamelCase(dlq);
      channels[dlq_id] = {
          {"address", dlq},
          {"title", "Dead letters of " + topic.name},
          {"description", "Records of " + topic.name +
                              " that a consumer could not decode or that failed validation, "
                              "with headers naming their origin and the error."},
          {"messages", {{"DeadLetter", {{"$ref", "#/components/messages/DeadLetter"}}}}},
          {"bindings",
           {{"kafka",
             {{"topic", dlq},
              {"partitions", topic.dlq_partitions},
              {"bindingVersion", kKafkaBindingVersion}}}}}};
      for (const std::string& consumer : consumers) {
        operations[CamelCase(consumer) + "DeadLetters" + Capitalized(channel_id)] = {
            {"action", "send"},
            {"channel", {{"$ref", "#/channels/" + dlq_id}}},
            {"title", consumer + " dead-letters records of " + topic.name},
            {"x-prm-service", consumer},
            {"messages",
             Json::array({{{"$ref", "#/channels/" + dlq_id + "/messages/DeadLetter"}}})}};
      }
    }
  }
  for (const Event& event : events) {
    if (!messages.contains(event.type)) {
      Fail(event.type + " goes to topic " + event.topic +
           ", which deploy/topics.txt does not list");
    }
  }

  Json out;
  for (const auto& [key, value] : doc.items()) {
    if (key == "components") continue;
    out[key] = value;
  }
  out["channels"] = channels;
  out["operations"] = operations;
  Json components = doc["components"];
  Json all_schemas = components["schemas"];
  const Json generated_schemas = schemas.Schemas();
  for (const auto& [name, schema] : generated_schemas.items()) all_schemas[name] = schema;
  Json all_messages = components["messages"];
  for (const auto& [name, message] : messages.items()) all_messages[name] = message;
  out["components"] = {{"schemas", all_schemas}, {"messages", all_messages}};

  std::ofstream file(flags["--out"]);
  file << out.dump(2) << "\n";
  if (!file.flush()) Fail("cannot write " + flags["--out"]);
  return 0;
}
