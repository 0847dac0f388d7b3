// Cost of one grammar token mask (GrammarMatcher::allowed_tokens) per generated token, for real
// vocabularies: llama-spm (32k, SentencePiece) and deepseek-llm (~100k, byte-level BPE) from
// ../shared/testdata/vocab, and a 150k vocabulary made from deepseek's plus 50k concatenated
// pairs of its tokens (no 150k vocab ships in the test data).
//
// BM_GrammarMask: one mask in a fixed state: inside a JSON string (nearly every token allowed:
// the worst case), expecting an object key, inside a number, inside a string right after a
// token that ended mid-character, and inside a string with maxLength (its state changes with
// every character, so it never repeats). The third argument is the mask cache: 0 = cold (every mask
// computed), 1 = warm (the state's mask was computed before: what most steps of a string cost).
// BM_GrammarGenerate: mask + accept per token over a whole JSON document tokenized greedily with
// the vocabulary, the mix a real generation sees (cache on).
//
// Built with TANDEM_BENCH_OLD_MATCHER against an older matcher (no cache) for side-by-side runs.
#include <benchmark/benchmark.h>

#include <map>
#include <random>

#include "chat/grammar.h"
#include "chat/grammar_matcher.h"
#include "chat/json_schema_grammar.h"
#include "gguf/file.h"

namespace {

using namespace tandem::chat;

std::string utf8(uint32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

// Token text as stored in GGUF -> the bytes it produces.
std::vector<std::string> load_vocab(const std::string& file, bool byte_level) {
  auto f = tandem::gguf::File::open(std::string(TANDEM_SHARED_DIR) + "/testdata/vocab/" + file);
  auto tokens = f.get_array<std::string>("tokenizer.ggml.tokens");
  std::map<std::string, char> byte_of;  // GPT-2 byte-level alphabet, inverted
  for (int b = 0, extra = 0; b < 256; ++b) {
    bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
    byte_of[utf8(printable ? b : 256 + extra++)] = static_cast<char>(b);
  }
  std::vector<std::string> vocab;
  for (const std::string& t : tokens) {
    std::string out;
    if (byte_level) {
      for (size_t i = 0; i < t.size();) {
        size_t n = (t[i] & 0x80) == 0 ? 1 : (t[i] & 0xE0) == 0xC0 ? 2 : 3;
        auto it = byte_of.find(t.substr(i, n));
        out += it == byte_of.end() ? '?' : it->second;
        i += n;
      }
    } else if (t.size() == 6 && t.rfind("<0x", 0) == 0) {
      out = static_cast<char>(std::stoi(t.substr(3, 2), nullptr, 16));
    } else if (!(t.size() > 2 && t.front() == '<' && t.back() == '>')) {
      for (size_t i = 0; i < t.size(); ++i) {
        if (t.compare(i, 3, "\xE2\x96\x81") == 0) {
          out += ' ';
          i += 2;
        } else {
          out += t[i];
        }
      }
    }
    vocab.push_back(out);  // control tokens stay empty: never allowed by a grammar
  }
  return vocab;
}

const std::vector<std::string>& vocab_for(int which) {
  static std::map<int, std::vector<std::string>> cache;
  auto it = cache.find(which);
  if (it != cache.end()) return it->second;
  std::vector<std::string> v;
  if (which == 32) v = load_vocab("ggml-vocab-llama-spm.gguf", false);
  if (which >= 100) v = load_vocab("ggml-vocab-deepseek-llm.gguf", true);
  if (which == 150) {
    std::mt19937_64 rng(1);
    size_t base = v.size();
    while (v.size() < 150000) v.push_back(v[rng() % base] + v[rng() % base]);
  }
  v.emplace_back();  // end-of-generation
  return cache[which] = std::move(v);
}

const TokenTrie& trie_for(int which) {
  static std::map<int, std::unique_ptr<TokenTrie>> cache;
  auto& trie = cache[which];
  if (!trie) trie = std::make_unique<TokenTrie>(vocab_for(which));
  return *trie;
}

std::shared_ptr<const Grammar> person_grammar() {
  auto schema = nlohmann::ordered_json::parse(
      R"({"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"},
          "tags":{"type":"array","items":{"type":"string"}},
          "bio":{"type":"string","maxLength":300}},"required":["name","age"]})");
  return std::make_shared<const Grammar>(Grammar::parse(json_schema_to_grammar(schema)));
}

GrammarMatcher make_matcher(std::shared_ptr<const Grammar> grammar, bool cache) {
#ifdef TANDEM_BENCH_OLD_MATCHER
  (void)cache;
  return GrammarMatcher(std::move(grammar));
#else
  MatcherLimits limits;
  if (!cache) limits.mask_cache_entries = 0;
  return GrammarMatcher(std::move(grammar), limits);
#endif
}

void BM_GrammarMask(benchmark::State& state) {
  const auto& vocab = vocab_for(static_cast<int>(state.range(0)));
  const TokenTrie& trie = trie_for(static_cast<int>(state.range(0)));
  GrammarMatcher matcher = make_matcher(person_grammar(), state.range(2) != 0);
  const char* prefixes[] = {"{\"name\": \"Ada Love", "{\"name\": \"Ada\", ",
                            "{\"name\": \"Ada\", \"age\": 3", "{\"name\": \"Ren\xC3",
                            "{\"name\": \"Ada\", \"age\": 36, \"bio\": \"She wrote"};
  const char* labels[] = {"in-string", "expect-key", "in-number", "in-string-midchar",
                          "in-string-maxLength"};
  if (!matcher.accept(prefixes[state.range(1)])) state.SkipWithError("prefix refused");
  std::vector<int32_t> eog{static_cast<int32_t>(vocab.size() - 1)};
  std::vector<bool> mask;
  matcher.allowed_tokens(trie, eog, mask);  // warms the cache when it is on
  for (auto _ : state) {
    matcher.allowed_tokens(trie, eog, mask);
    benchmark::DoNotOptimize(mask);
  }
  size_t allowed = 0;
  for (bool b : mask) allowed += b;
  state.counters["vocab"] = static_cast<double>(vocab.size());
  state.counters["trie_nodes"] = static_cast<double>(trie.nodes().size());
  state.counters["allowed"] = static_cast<double>(allowed);
  state.SetLabel(std::string(labels[state.range(1)]) + (state.range(2) ? " warm" : " cold"));
}

// Greedy longest-match tokenization of `text` with the trie (stands in for the model's choices).
std::vector<int32_t> greedy_tokens(const TokenTrie& trie, const std::string& text) {
  std::vector<int32_t> out;
  const auto& nodes = trie.nodes();
  for (size_t pos = 0; pos < text.size();) {
    const TokenTrie::Node* node = &nodes[0];
    int32_t best = -1;
    size_t best_len = 0;
    for (size_t i = pos; i < text.size(); ++i) {
      const TokenTrie::Node* next = nullptr;
      for (uint32_t c = 0; c < node->child_count; ++c) {
        if (nodes[node->first_child + c].byte == static_cast<uint8_t>(text[i])) {
          next = &nodes[node->first_child + c];
        }
      }
      if (!next) break;
      node = next;
      if (node->token_count > 0) {
        best = trie.tokens(*node)[0];
        best_len = i + 1 - pos;
      }
    }
    if (best < 0) return {};
    out.push_back(best);
    pos += best_len;
  }
  return out;
}

void BM_GrammarGenerate(benchmark::State& state) {
  const auto& vocab = vocab_for(static_cast<int>(state.range(0)));
  const TokenTrie& trie = trie_for(static_cast<int>(state.range(0)));
  auto grammar = person_grammar();
  const std::string text =  // a bounded string too (bio), so not every state recurs
      "{\"name\": \"Ada Lovelace, born Augusta Ada Byron in London, was an English "
      "mathematician and writer chiefly known for her work on Charles Babbage's proposed "
      "mechanical general-purpose computer, the \\\"Analytical Engine\\\". She was the first "
      "to recognise that the machine had applications beyond pure calculation.\", "
      "\"age\": 36, \"tags\": [\"mathematics\", \"poetry of science\", \"computing\"], "
      "\"bio\": \"Translated Menabrea's paper on the engine and added her own notes.\"}";
  std::vector<int32_t> tokens = greedy_tokens(trie, text);
  if (tokens.empty()) state.SkipWithError("text not tokenizable");
  std::vector<int32_t> eog{static_cast<int32_t>(vocab.size() - 1)};
  std::vector<bool> mask;
  for (auto _ : state) {
    GrammarMatcher matcher = make_matcher(grammar, state.range(1) != 0);
    for (int32_t id : tokens) {
      matcher.allowed_tokens(trie, eog, mask);
      if (!mask[id] || !matcher.accept(vocab[id])) {
        state.SkipWithError("the grammar refused the document");
        break;
      }
    }
  }
  state.counters["tokens"] = static_cast<double>(tokens.size());
  state.counters["per_token"] = benchmark::Counter(
      static_cast<double>(tokens.size()), benchmark::Counter::kIsIterationInvariantRate |
                                              benchmark::Counter::kInvert);
  state.SetLabel(state.range(1) ? "cache" : "no cache");
}

}  // namespace

BENCHMARK(BM_GrammarMask)
    ->ArgsProduct({{32, 100, 150}, {0, 1, 2, 3, 4}, {0, 1}})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_GrammarGenerate)->ArgsProduct({{32, 100, 150}, {0, 1}})->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
