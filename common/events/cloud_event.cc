#include "common/events/cloud_event.h"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <optional>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/status/field_violations.h"

namespace prm::events {
namespace {

// Debian's Abseil keeps its own string_view type (ABSL_OPTION_USE_STD_STRING_VIEW 0).
absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }

constexpr std::string_view kCoreAttributes[] = {
    "specversion", "id", "source", "type", "subject", "time", "datacontenttype", "dataschema",
    "data",
};

// CloudEvents 1.0 String: UTF-8 without surrogates, C0/C1 control characters or noncharacters.
bool IsValidStringValue(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto lead = static_cast<unsigned char>(s[i]);
    if (lead >= 0x20 && lead < 0x7F) {  // printable ASCII, most of every attribute
      ++i;
      continue;
    }
    uint32_t cp = 0;
    size_t len = 0;
    if (lead < 0x80) {
      cp = lead;
      len = 1;
    } else if ((lead & 0xE0) == 0xC0) {
      cp = lead & 0x1F;
      len = 2;
    } else if ((lead & 0xF0) == 0xE0) {
      cp = lead & 0x0F;
      len = 3;
    } else if ((lead & 0xF8) == 0xF0) {
      cp = lead & 0x07;
      len = 4;
    } else {
      return false;
    }
    if (len > s.size() - i) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto next = static_cast<unsigned char>(s[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (next & 0x3F);
    }
    const bool overlong = (len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
                          (len == 4 && cp < 0x10000);
    if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) return false;
    if ((cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE) return false;
    i += len;
  }
  return true;
}

void CheckValue(std::string_view name, std::string_view value, bool required,
                FieldViolations& bad) {
  if (value.empty()) {
    if (required) bad.Add(std::string(name), "is required");
    return;
  }
  if (value.size() > kMaxAttributeBytes) {
    bad.Add(std::string(name), absl::StrCat("is longer than ", kMaxAttributeBytes, " bytes"));
  } else if (!IsValidStringValue(value)) {
    bad.Add(std::string(name), "must be UTF-8 without control characters");
  }
}

bool IsDigits(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) return false;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

// RFC 3339 date-time syntax; ranges are checked by absl::ParseTime.
bool IsRfc3339Syntax(std::string_view s) {
  if (!(IsDigits(s, 0, 4) && s.size() > 19 && s[4] == '-' && IsDigits(s, 5, 2) && s[7] == '-' &&
        IsDigits(s, 8, 2) && (s[10] == 'T' || s[10] == 't') && IsDigits(s, 11, 2) &&
        s[13] == ':' && IsDigits(s, 14, 2) && s[16] == ':' && IsDigits(s, 17, 2))) {
    return false;
  }
  size_t i = 19;
  if (s[i] == '.') {
    const size_t start = ++i;
    while (i < s.size() && absl::ascii_isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == start || i == s.size()) return false;
  }
  if (s[i] == 'Z' || s[i] == 'z') return i + 1 == s.size();
  if (s[i] == '+' || s[i] == '-') {
    return i + 6 == s.size() && IsDigits(s, i + 1, 2) && s[i + 3] == ':' && IsDigits(s, i + 4, 2);
  }
  return false;
}

int Number(std::string_view s, size_t pos, size_t n) {
  int value = 0;
  for (size_t i = pos; i < pos + n; ++i) value = value * 10 + (s[i] - '0');
  return value;
}

// The time of RFC 3339 text already checked by IsRfc3339Syntax, computed directly when every
// field is in its everyday range (at most 9 fraction digits, no leap second); nullopt
// otherwise, for absl::ParseTime to judge. Events carry a time each, and ParseTime's
// general parser was a twentieth of the ingestion's time.
std::optional<absl::Time> ParseOrdinaryTime(std::string_view s) {
  const int year = Number(s, 0, 4), month = Number(s, 5, 2), day = Number(s, 8, 2);
  const int hour = Number(s, 11, 2), minute = Number(s, 14, 2), second = Number(s, 17, 2);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) {
    return std::nullopt;
  }
  const absl::CivilSecond civil(year, month, day, hour, minute, second);
  if (civil.day() != day) return std::nullopt;  // no such day in that month
  size_t i = 19;
  int64_t nanos = 0;
  if (s[i] == '.') {
    const size_t start = ++i;
    while (absl::ascii_isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i - start > 9) return std::nullopt;
    nanos = Number(s, start, i - start);
    for (size_t n = i - start; n < 9; ++n) nanos *= 10;
  }
  int offset_minutes = 0;
  if (s[i] == '+' || s[i] == '-') {
    const int hours = Number(s, i + 1, 2), minutes = Number(s, i + 4, 2);
    if (hours > 23 || minutes > 59) return std::nullopt;
    offset_minutes = (s[i] == '-' ? -1 : 1) * (hours * 60 + minutes);
  }
  return absl::FromCivil(civil, absl::UTCTimeZone()) - absl::Minutes(offset_minutes) +
         absl::Nanoseconds(nanos);
}

}  // namespace

bool IsValidAttributeName(std::string_view name) {
  if (name.empty() || name.size() > kMaxAttributeNameBytes) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

absl::Status ValidateEvent(const CloudEvent& event) {
  FieldViolations bad;
  CheckValue("id", event.id, true, bad);
  CheckValue("source", event.source, true, bad);
  CheckValue("type", event.type, true, bad);
  CheckValue("subject", event.subject, false, bad);
  CheckValue("datacontenttype", event.data_content_type, false, bad);
  CheckValue("dataschema", event.data_schema, false, bad);
  if (event.time != absl::InfinitePast()) {
    const bool finite = event.time != absl::InfiniteFuture();
    const int64_t year = finite ? absl::ToCivilYear(event.time, absl::UTCTimeZone()).year() : -1;
    if (year < 0 || year > 9999) bad.Add("time", "must be within the years 0000-9999");
  }
  if (event.extensions.size() > kMaxExtensions) {
    bad.Add("extensions", absl::StrCat("more than ", kMaxExtensions));
  } else {
    absl::flat_hash_set<std::string_view> seen;
    for (const auto& [name, value] : event.extensions) {
      if (!IsValidAttributeName(name)) {
        bad.Add(absl::CHexEscape(Sv(name).substr(0, kMaxAttributeNameBytes)),
                "attribute names must be 1-64 lowercase letters or digits");
        continue;
      }
      if (std::find(std::begin(kCoreAttributes), std::end(kCoreAttributes), name) !=
          std::end(kCoreAttributes)) {
        bad.Add(name, "is a core attribute, not an extension");
        continue;
      }
      if (!seen.insert(name).second) {
        bad.Add(name, "is repeated");
        continue;
      }
      CheckValue(name, value, false, bad);
    }
  }
  return bad.ToStatus("invalid CloudEvent");
}

std::string FormatEventTime(absl::Time time) {
  return absl::FormatTime("%E4Y-%m-%dT%H:%M:%E*SZ", time, absl::UTCTimeZone());
}

absl::StatusOr<absl::Time> ParseEventTime(std::string_view text) {
  if (!IsRfc3339Syntax(text)) {
    return absl::InvalidArgumentError("time: must be an RFC 3339 timestamp");
  }
  if (std::optional<absl::Time> time = ParseOrdinaryTime(text)) return *time;
  absl::Time time;
  std::string error;
  std::string upper(text);
  absl::AsciiStrToUpper(&upper);
  if (!absl::ParseTime(absl::RFC3339_full, upper, &time, &error)) {
    return absl::InvalidArgumentError("time: must be an RFC 3339 timestamp");
  }
  return time;
}

std::string MediaTypeOf(std::string_view content_type) {
  const std::string_view media = content_type.substr(0, content_type.find(';'));
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(Sv(media)));
}

bool IsJsonContentType(std::string_view content_type) {
  const std::string media = MediaTypeOf(content_type);
  const size_t slash = media.find('/');
  if (slash == std::string::npos || slash == 0) return false;
  const std::string_view subtype = std::string_view(media).substr(slash + 1);
  return subtype == "json" || absl::EndsWith(Sv(subtype), "+json");
}

}  // namespace prm::events
