#include "common/server/limits.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"

namespace prm::server {

int32_t EffectivePageSize(int32_t requested, FieldViolations& bad) {
  if (requested < 0) {
    bad.Add("page_size", "must not be negative");
    return kDefaultPageSize;
  }
  if (requested == 0) return kDefaultPageSize;
  return std::min(requested, kMaxPageSize);
}

bool CheckFilterLength(std::string_view filter, std::string_view field, FieldViolations& bad) {
  if (filter.size() <= kMaxFilterLength) return true;
  bad.Add(std::string(field), absl::StrCat("must be at most ", kMaxFilterLength, " bytes, not ",
                                           filter.size()));
  return false;
}

bool CheckBatchSize(size_t size, size_t max, std::string_view field, FieldViolations& bad) {
  if (size <= max) return true;
  bad.Add(std::string(field), absl::StrCat("must have at most ", max, " items, not ", size));
  return false;
}

namespace {

void CheckStrings(const google::protobuf::Message& message, const std::string& prefix,
                  FieldViolations& bad) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection& reflection = *message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection.ListFields(message, &fields);  // only the fields that are set
  for (const FieldDescriptor* field : fields) {
    const std::string path = absl::StrCat(prefix, field->name());
    auto check = [&](const std::string& value, const std::string& where) {
      if (value.size() <= kMaxStringBytes) return;
      bad.Add(where, absl::StrCat("must be at most ", kMaxStringBytes, " bytes, not ",
                                  value.size()));
    };
    if (field->type() == FieldDescriptor::TYPE_STRING) {
      std::string scratch;
      if (!field->is_repeated()) {
        check(reflection.GetStringReference(message, field, &scratch), path);
        continue;
      }
      for (int i = 0; i < reflection.FieldSize(message, field); ++i) {
        check(reflection.GetRepeatedStringReference(message, field, i, &scratch),
              absl::StrCat(path, "[", i, "]"));
      }
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (!field->is_repeated()) {
        CheckStrings(reflection.GetMessage(message, field), path + ".", bad);
        continue;
      }
      for (int i = 0; i < reflection.FieldSize(message, field); ++i) {
        const google::protobuf::Message& element = reflection.GetRepeatedMessage(message, field, i);
        std::string where = absl::StrCat(path, "[", i, "]");
        if (field->is_map()) {
          // A map entry: its key names it when the key is short text, its value is checked.
          const FieldDescriptor* key = field->message_type()->map_key();
          const FieldDescriptor* value = field->message_type()->map_value();
          const google::protobuf::Reflection& entry = *element.GetReflection();
          if (key->type() == FieldDescriptor::TYPE_STRING) {
            const std::string k = entry.GetString(element, key);
            if (k.size() <= 64) where = absl::StrCat(path, "[", k, "]");
            check(k, where + ".key");
          }
          if (value->type() == FieldDescriptor::TYPE_STRING) {
            check(entry.GetString(element, value), where);
          } else if (value->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
            CheckStrings(entry.GetMessage(element, value), where + ".", bad);
          }
          continue;
        }
        CheckStrings(element, where + ".", bad);
      }
    }
  }
}

}  // namespace

void CheckStringLengths(const google::protobuf::Message& message, FieldViolations& bad) {
  // A string is no longer than the message's encoding: a request that fits the limit whole (all
  // but a few) needs no walk over its fields.
  if (message.ByteSizeLong() <= kMaxStringBytes) return;
  CheckStrings(message, "", bad);
}

absl::Status UnparsableRequest(std::string_view type_name) {
  FieldViolations bad;
  bad.Add("request", absl::StrCat("is not a valid ", std::string(type_name),
                                  " message: malformed protobuf, a string that is not valid "
                                  "UTF-8, or nesting deeper than 100 levels"));
  return bad.ToStatus("the request could not be read");
}

}  // namespace prm::server
