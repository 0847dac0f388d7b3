#pragma once
// Tiny vocabularies written as real GGUF metadata (gguf::Writer) for unit tests.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "gguf/file.h"
#include "gguf/writer.h"
#include "tokenizer/byte_unicode.h"
#include "tokenizer/tokenizer.h"

namespace tandem::tokenizer::test {

// Bytes and the File parsed from them; the File points into `bytes`, so they travel together.
struct ParsedGguf {
  std::vector<uint8_t> bytes;
  std::unique_ptr<gguf::File> file;
};

inline ParsedGguf parse(const gguf::Writer& w, const std::string& name = "test.gguf") {
  ParsedGguf p;
  p.bytes = w.to_bytes();
  p.file = std::make_unique<gguf::File>(gguf::File::parse(p.bytes.data(), p.bytes.size(), name));
  return p;
}

struct TokenSpec {
  std::string text;
  float score;
  int32_t type;
};

inline void set_tokens(gguf::Writer& w, const std::vector<TokenSpec>& tokens) {
  std::vector<std::string> texts;
  std::vector<float> scores;
  std::vector<int32_t> types;
  for (const TokenSpec& t : tokens) {
    texts.push_back(t.text);
    scores.push_back(t.score);
    types.push_back(t.type);
  }
  w.set("tokenizer.ggml.tokens", gguf::Value::str_array(texts));
  w.set("tokenizer.ggml.scores", gguf::Value::f32_array(scores));
  w.set("tokenizer.ggml.token_type", gguf::Value::i32_array(types));
}

// SentencePiece: 0 <unk>, 1 <s>, 2 </s>, 3..258 <0xXX>, then pieces (259 "▁a", 260 "▁b", ...).
inline std::vector<TokenSpec> spm_tokens() {
  std::vector<TokenSpec> t = {{"<unk>", 0, 2}, {"<s>", 0, 3}, {"</s>", 0, 3}};
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), "<0x%02X>", b);
    t.push_back({buf, 0, 6});
  }
  const char* pieces[] = {"\xE2\x96\x81" "a", "\xE2\x96\x81" "b", "ab", "\xE2\x96\x81" "ab", "\xE2\x96\x81", "a", "b"};
  float score = -1;
  for (const char* p : pieces) t.push_back({p, score--, 1});
  return t;
}

inline gguf::Writer spm_writer() {
  gguf::Writer w;
  w.set("general.architecture", gguf::Value::str("llama"));
  w.set("tokenizer.ggml.model", gguf::Value::str("llama"));
  set_tokens(w, spm_tokens());
  w.set("tokenizer.ggml.bos_token_id", gguf::Value::u32(1));
  w.set("tokenizer.ggml.eos_token_id", gguf::Value::u32(2));
  w.set("tokenizer.ggml.unknown_token_id", gguf::Value::u32(0));
  w.set("tokenizer.ggml.padding_token_id", gguf::Value::u32(0xFFFFFFFFu));
  return w;
}

// Byte-level BPE over the 256 GPT-2 byte characters (ids 0..255 in byte order), a few merges
// spelling "hello" and " world", and chat tokens:
//   control "<|im_start|>", "<|im_end|>", "<|im_end|>x" (for longest-match tests),
//   user-defined "<|user|>".
inline gguf::Writer bpe_writer(const std::string& pre = "gpt-2") {
  std::vector<TokenSpec> t;
  for (int b = 0; b < 256; ++b) t.push_back({byte_to_unicode(static_cast<uint8_t>(b)), 0, 1});
  const std::vector<std::string> merges = {"h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "l d", "Ġwor ld"};
  for (const std::string& m : merges) {
    const size_t sp = m.find(' ', 1);
    t.push_back({m.substr(0, sp) + m.substr(sp + 1), 0, 1});
  }
  t.push_back({"<|im_start|>", 0, 3});
  t.push_back({"<|im_end|>", 0, 3});
  t.push_back({"<|im_end|>x", 0, 3});
  t.push_back({"<|user|>", 0, 4});
  gguf::Writer w;
  w.set("tokenizer.ggml.model", gguf::Value::str("gpt2"));
  w.set("tokenizer.ggml.pre", gguf::Value::str(pre));
  set_tokens(w, t);
  w.set("tokenizer.ggml.merges", gguf::Value::str_array(merges));
  w.set("tokenizer.ggml.bos_token_id", gguf::Value::u32(static_cast<uint32_t>(t.size() - 4)));
  w.set("tokenizer.ggml.eos_token_id", gguf::Value::u32(static_cast<uint32_t>(t.size() - 3)));
  return w;
}

inline Tokenizer load(const gguf::Writer& w) {
  ParsedGguf p = parse(w);
  return Tokenizer::from_gguf(*p.file);
}

}  // namespace tandem::tokenizer::test
