#include <gtest/gtest.h>

#include "tokenizer/byte_unicode.h"
#include "tokenizer/utf8.h"

namespace tandem::tokenizer {
namespace {

TEST(Utf8, DecodesAndRejectsMalformedSequences) {
  EXPECT_EQ(utf8::decode("\xC3\xA9", 0).cp, 0xE9u);
  EXPECT_EQ(utf8::decode("\xF0\x9F\xA6\x99", 0).cp, 0x1F999u);
  EXPECT_FALSE(utf8::decode("\xC0\xAF", 0).valid);      // overlong
  EXPECT_FALSE(utf8::decode("\xED\xA0\x80", 0).valid);  // surrogate
  EXPECT_FALSE(utf8::decode("\xE2\x96", 0).valid);      // truncated
  EXPECT_FALSE(utf8::decode("\x80", 0).valid);
}

TEST(Utf8, IncompleteTailCountsOnlyUnfinishedSequences) {
  EXPECT_EQ(utf8::incomplete_tail("abc"), 0u);
  EXPECT_EQ(utf8::incomplete_tail("a\xC3"), 1u);
  EXPECT_EQ(utf8::incomplete_tail("a\xF0\x9F\xA6"), 3u);
  EXPECT_EQ(utf8::incomplete_tail("a\xF0\x9F\xA6\x99"), 0u);
  EXPECT_EQ(utf8::incomplete_tail("a\xFF"), 0u);  // can never complete: not held back
}

TEST(Utf8, SanitizeReplacesInvalidBytes) {
  EXPECT_EQ(utf8::sanitize("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(utf8::sanitize("\xC3\xA9"), "\xC3\xA9");
}

TEST(ByteUnicode, MapsAllBytesReversibly) {
  EXPECT_EQ(byte_to_unicode(' '), "\xC4\xA0");  // 'Ġ'
  EXPECT_EQ(byte_to_unicode('\n'), "\xC4\x8A");  // 'Ċ'
  EXPECT_EQ(byte_to_unicode('a'), "a");
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  EXPECT_EQ(unicode_text_to_bytes(bytes_to_unicode_text(all)), all);
}

}  // namespace
}  // namespace tandem::tokenizer
