#pragma once

// Text as people count it. The APIs' length limits ("1..256 characters") count Unicode code
// points, not bytes: a Japanese legal name of 100 characters is 300 bytes of UTF-8 and must fit
// a 256-character limit. Byte limits (the 16 KiB per string of every request, server/limits.h)
// are stated in bytes.

#include <cstddef>
#include <string_view>

namespace prm {

// The number of code points in `text`, which is valid UTF-8 (protobuf checks every string field
// it parses); on other bytes, the number of bytes that do not continue a sequence.
inline size_t CharacterCount(std::string_view text) {
  size_t count = 0;
  for (const char c : text) count += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return count;
}

// The longest prefix of `text` of at most `max_bytes` bytes that does not cut a code point.
inline std::string_view TruncateUtf8(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

}  // namespace prm
