// Cost of one grammar token mask (GrammarMatcher::allowed_tokens) per generated token, for real
// vocabularies: llama-spm (32k, SentencePiece) and deepseek-llm (~100k, byte-level BPE) from
// ../shared/testdata/vocab, and a 150k vocabulary made from deepseek's plus 50k concatenated
// pairs of its tokens (no 150k vocab ships in the test data). States measured: inside a JSON
// string (nearly every token allowed: the worst case), expecting an object key, inside a number.
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

void BM_GrammarMask(benchmark::State& state) {
  const auto& vocab = vocab_for(static_cast<int>(state.range(0)));
  TokenTrie trie(vocab);
  auto schema = nlohmann::ordered_json::parse(
      R"({"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"},
          "tags":{"type":"array","items":{"type":"string"}}},"required":["name","age"]})");
  auto grammar = std::make_shared<const Grammar>(Grammar::parse(json_schema_to_grammar(schema)));
  GrammarMatcher matcher(grammar);
  const char* prefixes[] = {"{\"name\": \"Ada Love", "{\"name\": \"Ada\", ", "{\"name\": \"Ada\", \"age\": 3"};
  matcher.accept(prefixes[state.range(1)]);
  std::vector<int32_t> eog{static_cast<int32_t>(vocab.size() - 1)};
  std::vector<bool> mask;
  size_t allowed = 0;
  for (auto _ : state) {
    matcher.allowed_tokens(trie, eog, mask);
    benchmark::DoNotOptimize(mask);
  }
  for (bool b : mask) allowed += b;
  state.counters["vocab"] = static_cast<double>(vocab.size());
  state.counters["trie_nodes"] = static_cast<double>(trie.nodes().size());
  state.counters["allowed"] = static_cast<double>(allowed);
  state.SetLabel(state.range(1) == 0 ? "in-string" : state.range(1) == 1 ? "expect-key" : "in-number");
}

}  // namespace

BENCHMARK(BM_GrammarMask)
    ->ArgsProduct({{32, 100, 150}, {0, 1, 2}})
    ->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
