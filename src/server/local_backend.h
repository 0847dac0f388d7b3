#pragma once
// LocalBackend: the server's Backend over this machine's engine — one model, one
// runtime::Scheduler (continuous batching). start() does the per-request preparation on the
// caller's thread (chat template, tokenization, grammars, validation) and only enqueues; the
// engine thread samples and pushes events into the request's Generation, never waiting on it.
//
// Choices the server sees:
// - Chat prompts use the model's tokenizer.chat_template, or ChatML when it has none
//   (chat::ChatPrompt). Content given as an array of parts is joined into one text.
// - Tools: the template's tool-call format (chat::detect_tool_call_format), or Hermes
//   (<tool_call>{...}</tool_call>) for templates without one. With tools offered, a choice's
//   reply is held until it ends and is then parsed into tool calls (no incremental streaming of
//   those replies). tool_choice "required" or a named function forces a call with a grammar.
// - response_format json_object / json_schema: a grammar mask (chat::json_schema_grammar.h).
// - Penalties look at generated tokens only (as OpenAI defines them); top_k and min_p are off.
// - Without a seed each choice draws a random one; with a seed, choice i uses seed + i.
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "runtime/embedder.h"
#include "runtime/scheduler.h"
#include "runtime/serving_model.h"
#include "server/backend.h"
#include "server/generation.h"

namespace tandem::server {

struct LocalBackendOptions {
  std::string model_id;  // the name clients use in "model" (default: the file name without .gguf)
  runtime::SchedulerOptions scheduler;
  int retry_after_seconds = 1;  // what a 429 for a full queue suggests
};

class LocalBackend : public Backend {
 public:
  LocalBackend(std::unique_ptr<runtime::LoadedModel> model, LocalBackendOptions options);
  ~LocalBackend() override;

  BackendState state() const override { return state_.load(); }
  std::vector<ModelInfo> models() const override;
  BackendStats stats() const override;
  std::shared_ptr<Generation> start(GenerationRequest request) override;
  // start() into a Generation the caller made: CatalogBackend hands one to the client before the
  // model has loaded and starts it here once it has. Throws like start(); the Generation then
  // has no terminal event (the caller pushes the error).
  void start_into(GenerationRequest request, std::shared_ptr<Generation> generation);
  EmbeddingResult embed(const EmbeddingRequest& request) override;

  // Stop accepting, let queued and running requests finish until `timeout`, then fail the rest.
  void drain(std::chrono::milliseconds timeout);

  const runtime::Scheduler& scheduler() const { return *scheduler_; }
  // Memory this backend holds: the model file (mapped) plus the KV cache.
  std::uint64_t memory_bytes() const;
  const runtime::ServingModel& model() const { return *model_; }

 private:
  LocalBackendOptions options_;
  std::unique_ptr<runtime::ServingModel> model_;
  std::unique_ptr<runtime::Scheduler> scheduler_;
  std::atomic<BackendState> state_{BackendState::Loading};
  std::atomic<uint64_t> seed_counter_;
  std::int64_t created_;
  // Embeddings (embed()): made on first use, so a server that never embeds holds no second
  // thread pool. runtime::Embedder serializes its calls and computes on its own pool of the
  // scheduler's thread count, competing with generation for cores (see runtime/embedder.h).
  std::once_flag embedder_once_;
  std::unique_ptr<runtime::Embedder> embedder_;
};

// The name a model file is served under: its file name without directories and ".gguf".
std::string model_id_from_path(const std::string& path);

}  // namespace tandem::server
