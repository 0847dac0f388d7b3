#pragma once
// Takes a synthetic model's tokenizer from a real vocabulary file (e.g. the vocab-only GGUF files
// llama.cpp publishes), so prompts tokenize as they would with a real model: a random-weight
// model's own byte-level vocabulary splits English into ~1 token per character, which makes
// serving benchmarks spend ~6x more time in prompt processing than real traffic does.
#include <cstdint>
#include <string>

namespace tandem::gguf {
class Writer;
}

namespace tandem::bench {

// Copies every tokenizer.* key of `vocab_path` into `w`. When the source vocabulary is smaller
// than `n_vocab`, the token list (and scores / token types) is padded with tokens no merge produces
// ("<|synthetic_N|>") so the shape's embedding size is kept. Throws InvalidArgument when the
// source has more tokens than the shape, or no tokenizer.
void copy_vocabulary(const std::string& vocab_path, int64_t n_vocab, gguf::Writer& w);

}  // namespace tandem::bench
