// What a response_format grammar mask costs in generation speed, measured side by side on one
// model in one process, through the server's own path (parse_chat_request -> LocalBackend ->
// Scheduler -> ChoiceDecoder, where the mask is computed on the engine thread every token).
//
//   schema_overhead MODEL.gguf [--tokens 96] [--reps 5] [--threads 2] [--json OUT.json]
//                  [--only SCHEMA...] [--vocab-from VOCAB.gguf --rewrite-to COPY.gguf]
//
// --vocab-from first writes a copy of MODEL with a real tokenizer padded to its vocabulary size
// (realistic_vocab.h) and benchmarks that copy: synthetic models' placeholder vocabularies give
// the mask an unrealistically uniform trie.
//
// For each schema and repetition: a constrained request (temperature 1, seed = repetition)
// generates K tokens, until its JSON closes or --tokens; then the same request without
// response_format generates exactly K tokens (max_tokens K, end-of-generation tokens biased
// away), so both runs do the same number of forward passes at the same context positions and
// differ only by the mask. Runs alternate (constrained, unconstrained, ...) so machine load
// drifts hit both sides alike. Decode speed = (K - 1) / (last token time - first token time):
// prompt processing is left out. A warm-up pair first builds the token trie (once per model).
//
// On a loaded machine the forward pass's time swings more than the mask costs, so the mask is
// also timed alone: a third, untimed run of the constrained request with logprobs (same seed,
// same tokens) gives the generated token bytes, and a fresh GrammarMatcher replays them, timing
// allowed_tokens + accept per token exactly as ChoiceDecoder calls them. Then
//   replay ratio = forward / (forward + mask), forward = the unconstrained run's time per token.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/grammar.h"
#include "chat/grammar_matcher.h"
#include "chat/json_schema_grammar.h"
#include "realistic_vocab.h"
#include "server/local_backend.h"
#include "server/openai_request.h"

namespace {

using json = nlohmann::ordered_json;  // keeps each schema's declared property order
using namespace tandem;

// Inside a string nearly every token is allowed, so a mask walks the whole vocabulary: in an
// unbounded string the state repeats and the matcher's mask cache answers; a string that must
// reach a length (minLength) changes state with every character, so every mask is computed — the
// worst case. Then a realistic nested schema, and json_object.
const char* const kSchemas = R"([
  {"name": "free_string", "response_format": {"type": "json_schema", "json_schema": {"name": "t", "schema":
    {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"], "additionalProperties": false}}}},
  {"name": "long_string", "response_format": {"type": "json_schema", "json_schema": {"name": "t", "schema":
    {"type": "object", "properties": {"text": {"type": "string", "minLength": 1000}}, "required": ["text"], "additionalProperties": false}}}},
  {"name": "nested_order", "response_format": {"type": "json_schema", "json_schema": {"name": "order", "schema": {
    "$defs": {"line": {"type": "object", "properties": {"sku": {"type": "string", "minLength": 2, "maxLength": 12},
                                                         "qty": {"type": "integer", "minimum": 1, "maximum": 99}},
                       "required": ["sku", "qty"], "additionalProperties": false}},
    "type": "object",
    "properties": {"id": {"type": "integer", "minimum": 1, "maximum": 1000000}, "customer": {"type": "string", "maxLength": 24},
                   "lines": {"type": "array", "items": {"$ref": "#/$defs/line"}, "minItems": 1, "maxItems": 6},
                   "express": {"type": "boolean"}, "note": {"type": ["string", "null"], "maxLength": 40}},
    "required": ["id", "customer", "lines", "express", "note"], "additionalProperties": false}}}},
  {"name": "json_object", "response_format": {"type": "json_object"}}
])";

struct Timed {
  int64_t tokens = 0;
  double seconds = 0;  // first token -> last token
  std::string finish;
  std::vector<std::string> token_bytes;  // when logprobs were asked for
};

Timed run_one(server::LocalBackend& b, json body) {
  auto g = b.start(server::parse_chat_request(body, server::RequestLimits{}));
  Timed t;
  std::chrono::steady_clock::time_point first{}, last{};
  std::vector<server::GenerationEvent> events;
  for (bool done = false; !done;) {
    events.clear();
    g->wait_drain(events, std::chrono::milliseconds(100));
    for (const auto& e : events) {
      using K = server::GenerationEvent::Kind;
      if (e.kind == K::Delta && e.token_count > 0) {
        if (first == std::chrono::steady_clock::time_point{}) first = e.pushed_at;
        last = e.pushed_at;
        t.tokens += e.token_count;
        for (const auto& l : e.logprobs) t.token_bytes.push_back(l.token);
      } else if (e.kind == K::Finish) {
        t.finish = server::finish_reason_name(e.finish_reason);
      } else if (e.kind == K::Error) {
        throw std::runtime_error("generation failed: " + e.error_message);
      } else if (e.kind == K::Done) {
        done = true;
      }
    }
  }
  t.seconds = std::chrono::duration<double>(last - first).count();
  return t;
}

struct Options {
  std::string model;
  int tokens = 96;
  int reps = 5;
  int threads = 2;
  std::string json_out;
  std::string vocab_from;
  std::string rewrite_to;
  std::vector<std::string> only;  // schema names to run (empty: all)
  std::string prompt = "Write an order for three items as JSON.";
};

// Seconds spent computing masks and accepting tokens along `tokens`, as ChoiceDecoder does.
double replay_mask_seconds(const runtime::ServingModel& model, const json& response_format,
                           const std::vector<std::string>& tokens) {
  auto grammar = std::make_shared<const chat::Grammar>(chat::Grammar::parse(
      chat::response_format_to_grammar(response_format)));
  chat::GrammarMatcher m(grammar);
  std::vector<bool> mask;
  const auto start = std::chrono::steady_clock::now();
  for (const std::string& t : tokens) {
    m.allowed_tokens(model.token_trie(), model.tokenizer().eog_ids(), mask);
    if (!m.accept(t)) throw std::runtime_error("replayed token rejected by the grammar");
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int run(Options o) {
  if (!o.vocab_from.empty()) {
    if (o.rewrite_to.empty()) throw std::runtime_error("--vocab-from needs --rewrite-to");
    const int padding = bench_chat::write_with_vocab(o.model, o.vocab_from, o.rewrite_to);
    std::printf("wrote %s: tokenizer of %s, %d padding tokens\n", o.rewrite_to.c_str(), o.vocab_from.c_str(),
                padding);
    o.model = o.rewrite_to;
  }
  server::LocalBackendOptions lo;
  lo.model_id = "bench";
  lo.scheduler.n_slots = 1;
  lo.scheduler.threads = o.threads;
  lo.scheduler.prefix_cache_entries = 0;  // every run computes its prompt alike
  server::LocalBackend b(runtime::LoadedModel::open(o.model), lo);
  const auto& tok = b.model().tokenizer();
  json eog_bias = json::object();
  for (int32_t id : tok.eog_ids()) eog_bias[std::to_string(id)] = -100;

  auto body = [&](int max_tokens, long seed) {
    return json{{"model", "bench"},
                {"messages", json::array({{{"role", "user"}, {"content", o.prompt}}})},
                {"temperature", 1.0},
                {"seed", seed},
                {"max_tokens", max_tokens}};
  };
  const json schemas = json::parse(kSchemas);
  // Warm-up: the token trie (built on first grammar use), caches, page faults.
  {
    json w = body(8, 1);
    w["response_format"] = schemas[0]["response_format"];
    run_one(b, w);
    run_one(b, body(8, 1));
  }

  json report = {{"model", o.model}, {"n_vocab", tok.n_vocab()}, {"threads", o.threads},
                 {"max_tokens", o.tokens}, {"reps", o.reps}, {"schemas", json::array()}};
  std::printf("model %s (vocab %d), %d threads, up to %d tokens, %d reps\n", o.model.c_str(), tok.n_vocab(),
              o.threads, o.tokens, o.reps);
  std::printf("%-13s %8s %12s %12s %7s %9s %9s %7s  %s\n", "schema", "tokens", "free tok/s", "schema tok/s",
              "ratio", "extra ms/t", "mask ms/t", "r.ratio", "finish (schema runs)");
  for (const json& s : schemas) {
    if (!o.only.empty() && std::find(o.only.begin(), o.only.end(), s["name"].get<std::string>()) == o.only.end())
      continue;
    int64_t tokens = 0, replay_tokens = 0;
    double t_schema = 0, t_free = 0, t_replay = 0;
    std::vector<double> ratios;
    std::string finishes;
    for (int r = 0; r < o.reps; ++r) {
      json constrained = body(o.tokens, r + 1);
      constrained["response_format"] = s["response_format"];
      const Timed c = run_one(b, constrained);
      json free = body(static_cast<int>(c.tokens), r + 1);
      free["logit_bias"] = eog_bias;
      const Timed f = run_one(b, free);
      if (f.tokens != c.tokens)
        throw std::runtime_error("unconstrained run made " + std::to_string(f.tokens) + " tokens, not " +
                                 std::to_string(c.tokens));
      json traced = constrained;
      traced["logprobs"] = true;
      const Timed trace = run_one(b, traced);
      if (trace.token_bytes.size() != static_cast<size_t>(c.tokens))
        throw std::runtime_error("the logprobs run made different tokens");
      t_replay += replay_mask_seconds(b.model(), s["response_format"], trace.token_bytes);
      replay_tokens += c.tokens;
      if (c.tokens < 2) continue;
      tokens += c.tokens - 1;
      t_schema += c.seconds;
      t_free += f.seconds;
      ratios.push_back(f.seconds / c.seconds);
      finishes += (finishes.empty() ? "" : ",") + c.finish;
    }
    std::sort(ratios.begin(), ratios.end());
    const double free_tps = tokens / t_free, schema_tps = tokens / t_schema;
    const double ratio = schema_tps / free_tps;
    const double mask_ms = (t_schema - t_free) / static_cast<double>(tokens) * 1e3;
    const double replay_ms = t_replay / static_cast<double>(replay_tokens) * 1e3;
    const double forward_ms = t_free / static_cast<double>(tokens) * 1e3;
    const double replay_ratio = forward_ms / (forward_ms + replay_ms);
    std::printf("%-13s %8lld %12.1f %12.1f %7.3f %9.3f %9.4f %7.3f  %s\n", s["name"].get<std::string>().c_str(),
                static_cast<long long>(tokens), free_tps, schema_tps, ratio, mask_ms, replay_ms, replay_ratio,
                finishes.c_str());
    report["schemas"].push_back({{"name", s["name"]},
                                 {"decode_tokens", tokens},
                                 {"unconstrained_tok_s", free_tps},
                                 {"schema_tok_s", schema_tps},
                                 {"speed_ratio", ratio},
                                 {"median_rep_ratio", ratios.empty() ? 0.0 : ratios[ratios.size() / 2]},
                                 {"extra_ms_per_token", mask_ms},
                                 {"replayed_mask_ms_per_token", replay_ms},
                                 {"forward_ms_per_token", forward_ms},
                                 {"replay_speed_ratio", replay_ratio},
                                 {"finish_reasons", finishes}});
  }
  if (!o.json_out.empty()) std::ofstream(o.json_out) << report.dump(2) << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Generation speed with and without a response_format grammar, side by side"};
  app.add_option("model", o.model, "model .gguf")->required();
  app.add_option("--tokens", o.tokens, "max tokens per constrained run");
  app.add_option("--reps", o.reps, "constrained/unconstrained pairs per schema");
  app.add_option("--threads,-t", o.threads, "compute threads");
  app.add_option("--prompt", o.prompt, "user message");
  app.add_option("--json", o.json_out, "also write the results as JSON here");
  app.add_option("--vocab-from", o.vocab_from, "benchmark a copy of MODEL with this file's tokenizer");
  app.add_option("--rewrite-to", o.rewrite_to, "where that copy is written");
  app.add_option("--only", o.only, "run only these schemas (free_string, long_string, nested_order, json_object)");
  CLI11_PARSE(app, argc, argv);
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "schema_overhead: %s\n", e.what());
    return 1;
  }
}
