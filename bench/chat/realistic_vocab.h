#pragma once
// A copy of a model file whose tokenizer is a real one, padded to the model's vocabulary size.
//
// Synthetic benchmark models (`tandem bench --shape ... --write`) carry a placeholder vocabulary
// ("▁w259", "▁w260", ...): every token shares one prefix, so a grammar mask walks a trie unlike
// any real one. The mask's cost depends on the trie, so the overhead benchmark can swap in a real
// byte-level BPE vocabulary (e.g. deepseek-llm's ~100k tokens from ../shared/testdata/vocab) and
// fill the rest of the 150k rows with concatenations of two of its normal tokens — the same
// stand-in bench/micro/bench_grammar uses for a 150k vocabulary. Weights are copied unchanged.
#include <string>

namespace tandem::bench_chat {

// Writes `out_path`: `model_path`'s metadata and tensors, with every tokenizer.* key replaced by
// `vocab_path`'s, its token list padded (or refused when longer) to the model's token_embd rows.
// Returns the number of padding tokens added. Throws tandem::Error subclasses naming the problem.
int write_with_vocab(const std::string& model_path, const std::string& vocab_path, const std::string& out_path);

}  // namespace tandem::bench_chat
