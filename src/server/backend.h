#pragma once
// The narrow interface between the HTTP layer and whatever produces tokens (the local engine's
// scheduler, a router, or a fake in tests). The server never sees the model: it validates an
// OpenAI request into a GenerationRequest, calls Backend::start(), and reads events from the
// returned Generation (a per-request result channel, see generation.h) without blocking.
//
// Template-level content (messages, tools, tool_choice, response_format) is carried through as
// nlohmann::ordered_json, already checked for shape, with every object's keys in the client's
// order: a schema's property order is the order the grammar generates, and tool definitions are
// rendered into the prompt as written. Rendering it is the chat layer's job.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/error.h"

namespace tandem::server {

class Generation;

enum class Endpoint { ChatCompletions, Completions };

// One prompt of /v1/completions: text, or token ids the client already tokenized.
using Prompt = std::variant<std::string, std::vector<std::int32_t>>;

struct SamplingParams {
  std::optional<std::int64_t> max_tokens;  // max_tokens or max_completion_tokens; none = up to context
  double temperature = 1.0;                // 0 means greedy
  double top_p = 1.0;
  std::vector<std::string> stop;           // "stop" given as a string becomes one entry
  std::optional<std::int64_t> seed;
  double presence_penalty = 0.0;
  double frequency_penalty = 0.0;
  std::vector<std::pair<std::int32_t, float>> logit_bias;  // token id -> bias in [-100, 100]
};

struct GenerationRequest {
  std::string id;  // assigned by the server ("chatcmpl-…" / "cmpl-…"), used in every chunk
  Endpoint endpoint = Endpoint::ChatCompletions;
  std::string model;

  nlohmann::ordered_json messages = nlohmann::ordered_json::array();  // chat: the messages array as sent
  std::vector<Prompt> prompts;  // completions: one or more prompts
  bool echo = false;            // completions: prefix the prompt to the text

  SamplingParams sampling;
  int n = 1;  // choices per prompt; choice index = prompt_index * n + j
  bool logprobs = false;
  int top_logprobs = 0;  // alternatives per token (chat 0..20, completions 0..5)

  nlohmann::ordered_json response_format;  // null when absent; else {"type": "text"|"json_object"|"json_schema", ...}
  nlohmann::ordered_json tools;            // null when absent; else array of {"type":"function","function":{...}}
  nlohmann::ordered_json tool_choice;      // null when absent; "none"|"auto"|"required"|{"type":"function",...}
  bool parallel_tool_calls = true;
  std::string user;

  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  int priority = 0;            // tandem extension: higher is scheduled first

  std::string principal;  // who the auth hook said is calling (empty when auth is off)
  // Capacity to give the Generation this request returns (bounded per-request buffer).
  std::size_t stream_buffer_events = 64;
  std::chrono::steady_clock::time_point arrival = std::chrono::steady_clock::now();

  // Number of choices the backend must produce (prompts x n for completions, n for chat).
  int choice_count() const {
    return endpoint == Endpoint::Completions ? static_cast<int>(prompts.size()) * n : n;
  }
};

struct EmbeddingRequest {
  std::string model;
  std::vector<Prompt> inputs;  // one embedding per input, in order
  std::optional<int> dimensions;
  std::string user;
  std::string principal;
};

struct EmbeddingResult {
  std::vector<std::vector<float>> embeddings;
  std::int64_t prompt_tokens = 0;
};

// What GET /v1/models shows. Extra card fields (context length, quantization, license, ...) go
// into `card` and are merged into the model object as-is.
struct ModelInfo {
  std::string id;
  std::int64_t created = 0;  // unix seconds
  std::string owned_by = "tandem";
  nlohmann::json card = nlohmann::json::object();
};

enum class BackendState { Loading, Ready, Draining };

// Engine numbers shown on /metrics. Negative means "not reported".
struct BackendStats {
  std::int64_t queue_depth = -1;      // requests waiting for a batch slot
  std::int64_t running = -1;          // requests in the current batch
  std::int64_t batch_size = -1;       // tokens in the last engine step
  std::int64_t kv_cache_used = -1;    // KV cells in use
  std::int64_t kv_cache_total = -1;   // KV cells available
};

// Thrown by Backend::start/embed when its queue is full: the server answers 429 with
// Retry-After.
class QueueFull : public Error {
 public:
  explicit QueueFull(std::string message, int retry_after_seconds = 1)
      : Error(std::move(message)), retry_after_seconds(retry_after_seconds) {}
  int retry_after_seconds;
};

// Thrown when the named model is not served (404 model_not_found).
class ModelNotFound : public Error {
 public:
  using Error::Error;
};

// Thrown while the backend cannot take requests (loading, draining): 503.
class Unavailable : public Error {
 public:
  using Error::Error;
};

// Implementations must be thread-safe: every method may be called from any server I/O thread,
// and must return quickly (start() enqueues; it never runs the model on the caller's thread).
// Besides the exceptions above, tandem::InvalidArgument means a 400 naming the problem
// (e.g. prompt longer than the context); anything else becomes a 500.
class Backend {
 public:
  virtual ~Backend() = default;

  virtual BackendState state() const = 0;
  virtual std::vector<ModelInfo> models() const = 0;
  virtual BackendStats stats() const { return {}; }

  // Enqueue a generation. The returned channel receives events for all request.choice_count()
  // choices, then exactly one terminal Done or Error event.
  virtual std::shared_ptr<Generation> start(GenerationRequest request) = 0;

  // Compute embeddings. May block (the server calls it off its I/O threads, on a small pool).
  virtual EmbeddingResult embed(const EmbeddingRequest& request) = 0;
};

}  // namespace tandem::server
