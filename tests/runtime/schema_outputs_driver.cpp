// Generates structured outputs on real and random-weight models for an independent validator
// (schema_outputs_test.py validates every one with python3-jsonschema).
//
//   schema_outputs_driver --cases CASES.json --out OUT.jsonl [--choices 4 --seeds 2 ...] MODEL...
//   MODEL: NAME=PATH.gguf, or NAME=random:ARCH:TYPE for a random-weight model written here
//   (tests/model/test_models.h, plus a small SentencePiece vocabulary rich in JSON pieces).
//
// Each (model, case, seed) is an OpenAI chat body {"messages", "response_format", "temperature",
// "seed", "n", "max_tokens"} sent as text through the server's own path: fields::parse_body and
// parse_chat_request (what the HTTP route does) -> LocalBackend::start (chat template, tokenizer, response_format grammar) ->
// runtime::Scheduler (continuous batching, ChoiceDecoder applying the grammar mask while
// sampling). One JSON line per choice: model, case, seed, content, finish_reason, plus a line per
// request with its completion tokens and wall time. Exit status 1 only when the engine failed;
// judging the outputs is the validator's job.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gguf/writer.h"
#include "model/test_models.h"
#include "serve_test_support.h"
#include "server/local_backend.h"
#include "server/openai_request.h"
#include "server/request_fields.h"
#include "tensor/types.h"
#include "util/error.h"

namespace tandem::testing {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

// Pieces a JSON-writing model would have: structure glued to quotes, literals, digits, words,
// multi-byte characters. Tokens that span grammar boundaries ('":', '"}', ', "') are what make
// the mask non-trivial; the 256 byte tokens let every string be spelt.
const char* const kJsonPieces[] = {
    "{", "}", "[", "]", ":", ",", "\"", "{\"", "\"}", "\":", "\",", "\", \"", "\":\"", "\": ",
    "\xE2\x96\x81" "\"", "\xE2\x96\x81" "{", "}]", "}}", "]}", "},", "],", "[{", "[\"", "\"]",
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "42", "99", "100", "120", "-", "-1",
    ".", "0.", ".5", "e", "E", "e+", "e-", "+",
    "true", "false", "null", "\xE2\x96\x81" "true", "\xE2\x96\x81" "false", "\xE2\x96\x81" "null", "tru", "fal", "nu",
    "name", "age", "color", "red", "green", "blue", "kind", "event", "id", "items", "qty", "sku",
    "tags", "value", "kids", "note", "score", "flag", "\\n", "\\\"", "\\u00", "\\\\",
    "the", "\xE2\x96\x81" "the", "\xE2\x96\x81" "a", "a", "b", "c", "x", "y", "z", "ab", "abc", "hello",
    "\xE2\x96\x81" "world", "\xE2\x96\x81" "", "\xE2\x96\x81" "\xE2\x96\x81", "\xE2\x96\x81" "\xE2\x96\x81\xE2\x96\x81" "\xE2\x96\x81",
    "a\"", "\"a", "1,", "2}", "\xC3\xA9", "\xE6\x97\xA5\xE6\x9C\xAC", "\xF0\x9F\x99\x82", "<|im_end|>",
};

void add_json_vocab(gguf::Writer& w, int64_t n_vocab) {
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  std::vector<int32_t> types = {2, 3, 3};
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    tokens.emplace_back(buf);
    types.push_back(6);
  }
  for (const char* p : kJsonPieces) {
    tokens.emplace_back(p);
    // <|im_end|> as a control token: what ChatML ends a turn with (end of generation).
    types.push_back(std::string(p) == "<|im_end|>" ? 3 : 1);
  }
  if (static_cast<int64_t>(tokens.size()) != n_vocab) throw InvalidArgument("random model vocab size mismatch");
  std::vector<float> scores;
  for (size_t i = 0; i < tokens.size(); ++i) scores.push_back(-static_cast<float>(i));
  w.set("tokenizer.ggml.model", gguf::Value::str("llama"));
  w.set("tokenizer.ggml.tokens", gguf::Value::str_array(tokens));
  w.set("tokenizer.ggml.scores", gguf::Value::f32_array(scores));
  w.set("tokenizer.ggml.token_type", gguf::Value::i32_array(types));
  w.set("tokenizer.ggml.bos_token_id", gguf::Value::u32(1));
  w.set("tokenizer.ggml.eos_token_id", gguf::Value::u32(2));
  w.set("tokenizer.ggml.unknown_token_id", gguf::Value::u32(0));
  w.set("tokenizer.ggml.add_bos_token", gguf::Value::boolean(true));
}

// NAME=random:ARCH:TYPE -> a random-weight model file under `dir`.
std::string write_random_model(const std::string& name, const std::string& spec, const std::string& dir) {
  const auto first = spec.find(':', 7);
  if (first == std::string::npos) throw InvalidArgument("random model spec is random:ARCH:TYPE, got " + spec);
  const std::string arch = spec.substr(7, first - 7);
  const auto type = tensor::parse_type(spec.substr(first + 1));
  if (!type) throw InvalidArgument("unknown weight type in " + spec);
  TestModelSpec s = spec_for(arch, *type);
  s.n_vocab = 3 + 256 + static_cast<int64_t>(std::size(kJsonPieces));
  s.n_ctx = 1024;  // room for a ChatML prompt spelt in bytes plus the reply
  s.seed = 7;
  s.edit = [&](gguf::Writer& w) { add_json_vocab(w, s.n_vocab); };
  const std::string path = (std::filesystem::path(dir) / (name + ".gguf")).string();
  write_test_model(s, path);
  return path;
}

struct Options {
  std::string cases;
  std::string out;
  std::string tmp_dir = std::filesystem::temp_directory_path().string();
  int choices = 4;
  int seeds = 2;
  int max_tokens = 200;
  double temperature = 1.0;
  int slots = 8;
  int threads = 1;
  std::vector<std::string> models;
};

int run(const Options& o) {
  // Ordered: the request body is built as text in the cases' own key order, as a client sends it.
  const ordered_json cases_doc = ordered_json::parse(std::ifstream(o.cases));
  const std::string prompt = cases_doc.at("prompt").get<std::string>();
  std::ofstream out(o.out);
  int failures = 0;
  for (const std::string& m : o.models) {
    const auto eq = m.find('=');
    if (eq == std::string::npos) throw InvalidArgument("model argument is NAME=PATH, got " + m);
    const std::string name = m.substr(0, eq);
    std::string path = m.substr(eq + 1);
    bool temporary = false;
    if (path.rfind("random:", 0) == 0) {
      path = write_random_model(name + "-" + std::to_string(::getpid()), path, o.tmp_dir);
      temporary = true;
    }
    server::LocalBackendOptions lo;
    lo.model_id = name;
    lo.scheduler.n_slots = o.slots;
    lo.scheduler.threads = o.threads;
    server::LocalBackend backend(runtime::LoadedModel::open(path), lo);
    if (temporary) std::filesystem::remove(path);

    struct Job {
      std::string case_name;
      long seed;
      std::future<RequestResult> result;
      std::chrono::steady_clock::time_point started;
    };
    std::vector<Job> jobs;
    for (const ordered_json& c : cases_doc.at("cases")) {
      for (int s = 0; s < o.seeds; ++s) {
        const long seed = 1000L * (s + 1);
        ordered_json body = {{"model", name},
                             {"messages", ordered_json::array({{{"role", "user"}, {"content", prompt}}})},
                             {"response_format", c.at("response_format")},
                             {"temperature", o.temperature},
                             {"seed", seed},
                             {"n", o.choices},
                             {"max_tokens", o.max_tokens}};
        // The HTTP route's own body parser, then its request validation.
        const server::RequestLimits limits;
        server::GenerationRequest r =
            server::parse_chat_request(server::fields::parse_body(body.dump(), limits.max_json_depth), limits);
        auto g = backend.start(std::move(r));
        // Drain every generation at once so none is paused behind a slow reader.
        jobs.push_back({c.at("name").get<std::string>(), seed,
                        std::async(std::launch::async, [g, n = o.choices] { return collect(*g, n); }),
                        std::chrono::steady_clock::now()});
      }
    }
    for (Job& j : jobs) {
      const RequestResult res = j.result.get();
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - j.started).count();
      if (!res.done) {
        std::fprintf(stderr, "%s/%s seed %ld: engine error: %s\n", name.c_str(), j.case_name.c_str(), j.seed,
                     res.error.c_str());
        ++failures;
        continue;
      }
      out << json{{"kind", "request"}, {"model", name}, {"case", j.case_name}, {"seed", j.seed},
                  {"completion_tokens", res.usage.completion_tokens}, {"ms", ms}}.dump() << "\n";
      for (size_t i = 0; i < res.choices.size(); ++i) {
        const ChoiceResult& c = res.choices[i];
        json line = {{"kind", "choice"}, {"model", name}, {"case", j.case_name},
                     {"seed", j.seed + static_cast<long>(i)}, {"content", c.content},
                     {"finish_reason", server::finish_reason_name(c.finish)}, {"finished", c.finished},
                     {"valid_utf8", true}};
        std::string text;
        try {
          text = line.dump();
        } catch (const json::type_error&) {  // not UTF-8: the validator reports it
          line["valid_utf8"] = false;
          text = line.dump(-1, ' ', false, json::error_handler_t::replace);
        }
        out << text << "\n";
      }
    }
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace tandem::testing

int main(int argc, char** argv) {
  tandem::testing::Options o;
  CLI::App app{"Structured outputs on real and random-weight models, for schema_outputs_test.py"};
  app.add_option("--cases", o.cases, "cases JSON: {prompt, cases: [{name, response_format}]}")->required();
  app.add_option("--out", o.out, "output JSONL")->required();
  app.add_option("--tmp-dir", o.tmp_dir, "where random-weight models are written (and removed)");
  app.add_option("--choices", o.choices, "choices per request (n)");
  app.add_option("--seeds", o.seeds, "requests per (model, case), each with its own seed");
  app.add_option("--max-tokens", o.max_tokens, "max_tokens per choice");
  app.add_option("--temperature", o.temperature, "sampling temperature");
  app.add_option("--slots", o.slots, "scheduler slots (parallel sequences)");
  app.add_option("--threads", o.threads, "compute threads");
  app.add_option("models", o.models, "NAME=PATH.gguf or NAME=random:ARCH:TYPE")->required();
  CLI11_PARSE(app, argc, argv);
  try {
    return tandem::testing::run(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "schema_outputs_driver: %s\n", e.what());
    return 2;
  }
}
