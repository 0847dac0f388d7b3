#include <gtest/gtest.h>

#include "test_vocabs.h"
#include "tokenizer/stream_decoder.h"
#include "util/error.h"

namespace tandem::tokenizer {
namespace {

// Byte tokens in the SentencePiece test vocab are id 3 + byte.
int32_t byte_id(uint8_t b) { return 3 + b; }

TEST(StreamDecoder, HoldsBackSplitUtf8UntilTheCharacterIsComplete) {
  const Tokenizer tok = test::load(test::spm_writer());
  StreamDecoder dec(tok);
  EXPECT_EQ(dec.push(byte_id('h')), "h");
  // U+1F999 (🦙) spread over four byte tokens.
  EXPECT_EQ(dec.push(byte_id(0xF0)), "");
  EXPECT_EQ(dec.push(byte_id(0x9F)), "");
  EXPECT_EQ(dec.pending_bytes(), 2u);
  EXPECT_EQ(dec.push(byte_id(0xA6)), "");
  EXPECT_EQ(dec.push(byte_id(0x99)), "\xF0\x9F\xA6\x99");
  EXPECT_EQ(dec.pending_bytes(), 0u);
  // é as two bytes followed by a piece token.
  EXPECT_EQ(dec.push(byte_id(0xC3)), "");
  EXPECT_EQ(dec.push(byte_id(0xA9)), "\xC3\xA9");
  EXPECT_EQ(dec.flush(), "");
}

TEST(StreamDecoder, StreamedTextEqualsBatchDecode) {
  const Tokenizer tok = test::load(test::spm_writer());
  const std::string text = "ab b \xC3\xA9t\xC3\xA9 \xF0\x9F\xA6\x99!";
  const std::vector<int32_t> ids = tok.encode(text, /*add_special=*/true, /*parse_special=*/false);
  StreamDecoder dec(tok, {.skip_special = true});
  std::string streamed;
  for (int32_t id : ids) streamed += dec.push(id);
  streamed += dec.flush();
  EXPECT_EQ(streamed, text);
  EXPECT_EQ(tok.decode(ids, {.skip_special = true}), text);
}

TEST(StreamDecoder, FlushReplacesAnUnfinishedCharacter) {
  const Tokenizer tok = test::load(test::spm_writer());
  StreamDecoder dec(tok);
  EXPECT_EQ(dec.push(byte_id(0xE2)), "");
  EXPECT_EQ(dec.push(byte_id(0x96)), "");
  EXPECT_EQ(dec.flush(), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(dec.pending_bytes(), 0u);
}

TEST(StreamDecoder, InvalidBytesComeOutAsReplacementCharacters) {
  const Tokenizer tok = test::load(test::spm_writer());
  StreamDecoder dec(tok);
  EXPECT_EQ(dec.push(byte_id(0xFF)), "\xEF\xBF\xBD");
  EXPECT_EQ(dec.push(byte_id(0xC3)), "");
  EXPECT_EQ(dec.push(byte_id('x')), "\xEF\xBF\xBDx");  // the lead byte never got its continuation
}

TEST(StreamDecoder, SpecialTokensAreTextOrSkipped) {
  const Tokenizer tok = test::load(test::bpe_writer());
  const int32_t im_end = tok.vocab().find("<|im_end|>");
  StreamDecoder shown(tok);
  EXPECT_EQ(shown.push(im_end), "<|im_end|>");
  StreamDecoder skipped(tok, {.skip_special = true});
  EXPECT_EQ(skipped.push(im_end), "");
}

TEST(StreamDecoder, RejectsIdsOutsideTheVocabulary) {
  const Tokenizer tok = test::load(test::spm_writer());
  StreamDecoder dec(tok);
  EXPECT_THROW(dec.push(tok.n_vocab()), InvalidArgument);
  EXPECT_THROW(dec.push(-1), InvalidArgument);
}

}  // namespace
}  // namespace tandem::tokenizer
