#include "common/text/text.h"

#include "gtest/gtest.h"

namespace prm {
namespace {

TEST(CharacterCount, CountsCodePointsNotBytes) {
  EXPECT_EQ(CharacterCount(""), 0u);
  EXPECT_EQ(CharacterCount("Acme GmbH"), 9u);
  EXPECT_EQ(CharacterCount("Zoë"), 3u);                  // 4 bytes
  EXPECT_EQ(CharacterCount("株式会社アクメ"), 7u);        // 21 bytes
  EXPECT_EQ(CharacterCount("🙂 ok"), 4u);                // 7 bytes
  EXPECT_EQ(CharacterCount(std::string_view("\x80\x80", 2)), 0u);  // stray continuation bytes
}

TEST(TruncateUtf8, NeverCutsACodePoint) {
  EXPECT_EQ(TruncateUtf8("abc", 5), "abc");
  EXPECT_EQ(TruncateUtf8("abcdef", 3), "abc");
  const std::string name = "\u540d\u524d";  // 2 x 3 bytes
  EXPECT_EQ(TruncateUtf8(name, 5), "\u540d");
  EXPECT_EQ(TruncateUtf8(name, 2), "");
  EXPECT_EQ(TruncateUtf8(name, 6), name);
}

}  // namespace
}  // namespace prm
