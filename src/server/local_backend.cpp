#include "server/local_backend.h"

#include <random>
#include <type_traits>
#include <vector>

#include "server/api_error.h"
#include "server/local_request.h"
#include "util/error.h"

namespace tandem::server {

namespace {

// What the choices of one request share: the result channel and the request-level totals.
// Touched only on the engine thread once the request is submitted.
struct RequestState {
  std::shared_ptr<Generation> generation;
  Usage usage;
  int remaining = 0;  // choices that have not exited yet
  bool failed = false;

  void choice_exited(runtime::SequenceExit exit, const std::string& message, int64_t generated) {
    usage.completion_tokens += generated;
    --remaining;
    if (exit == runtime::SequenceExit::Failed && !failed) {
      failed = true;
      generation->push(GenerationEvent::error(message));
    }
    if (remaining == 0 && !failed) generation->push(GenerationEvent::done(usage));
  }
};

GenerationEvent to_event(int choice, runtime::ChoiceDelta&& d) {
  GenerationEvent e = GenerationEvent::delta(choice, std::move(d.content));
  e.reasoning = std::move(d.reasoning);
  for (size_t i = 0; i < d.tool_calls.size(); ++i) {
    auto& c = d.tool_calls[i];
    e.tool_calls.push_back({static_cast<int>(i), std::move(c.id), std::move(c.name), std::move(c.arguments)});
  }
  for (auto& l : d.logprobs) {
    TokenLogprob t{std::move(l.token), l.logprob, {}};
    for (auto& [text, lp] : l.top) t.top.push_back({std::move(text), lp});
    e.logprobs.push_back(std::move(t));
  }
  e.token_count = d.tokens;
  return e;
}

FinishReason finish_reason(runtime::ChoiceFinish f) {
  switch (f) {
    case runtime::ChoiceFinish::Stop: return FinishReason::Stop;
    case runtime::ChoiceFinish::Length: return FinishReason::Length;
    case runtime::ChoiceFinish::ToolCalls: return FinishReason::ToolCalls;
  }
  return FinishReason::Stop;
}

// One choice as the scheduler sees it. Output the Generation cannot take yet (its buffer is full)
// waits in `outbox_`; the sequence is not ready for another step until it has been delivered.
class ChoiceSink final : public runtime::SequenceSink {
 public:
  // `first_of_prompt`: this choice reports its prompt's cached tokens (usage counts each prompt once).
  ChoiceSink(std::shared_ptr<RequestState> request, int choice, bool first_of_prompt,
             const runtime::ServingModel& model, runtime::ChoiceConfig config)
      : request_(std::move(request)), choice_(choice), first_of_prompt_(first_of_prompt),
        decoder_(model, std::move(config)) {}

  bool cancelled() override {
    // Also true once the request failed in another choice: nothing more can be delivered.
    return request_->generation->cancelled() || request_->generation->finished();
  }
  bool ready() override { return deliver() && request_->generation->has_room(); }

  std::optional<int32_t> next_token(std::span<float> logits, int64_t room) override {
    runtime::ChoiceDelta d;
    auto token = decoder_.step(logits, room, d);
    outbox_.append(std::move(d));
    deliver();
    return token;
  }

  bool flush() override {
    if (!deliver()) return false;
    if (!finish_sent_)
      finish_sent_ = request_->generation->push(
          GenerationEvent::finish(choice_, finish_reason(decoder_.finish_reason())));
    return finish_sent_;
  }

  void on_exit(runtime::SequenceExit exit, const std::string& message) override {
    request_->choice_exited(exit, message, decoder_.generated_tokens());
  }

  void on_prompt_cached(int64_t n) override {
    if (first_of_prompt_) request_->usage.cached_prompt_tokens += n;
  }

 private:
  // Pushes held output; true when nothing is held any more.
  bool deliver() {
    if (outbox_.content.empty() && outbox_.reasoning.empty() && outbox_.tool_calls.empty() &&
        outbox_.logprobs.empty())
      return true;  // only a token count: it rides along with the next visible output
    runtime::ChoiceDelta d = std::move(outbox_);
    outbox_ = {};
    GenerationEvent e = to_event(choice_, runtime::ChoiceDelta(d));
    if (request_->generation->push(std::move(e))) return true;
    outbox_ = std::move(d);
    return false;
  }

  std::shared_ptr<RequestState> request_;
  int choice_;
  bool first_of_prompt_;
  runtime::ChoiceDecoder decoder_;
  runtime::ChoiceDelta outbox_;
  bool finish_sent_ = false;
};

std::int64_t now_unix() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string model_id_from_path(const std::string& path) {
  std::string name = path.substr(path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/') + 1);
  constexpr std::string_view kExt = ".gguf";
  if (name.size() > kExt.size() && name.compare(name.size() - kExt.size(), kExt.size(), kExt) == 0)
    name.resize(name.size() - kExt.size());
  return name;
}

LocalBackend::LocalBackend(std::unique_ptr<runtime::LoadedModel> model, LocalBackendOptions options)
    : options_(std::move(options)), seed_counter_(std::random_device{}()), created_(now_unix()) {
  if (options_.model_id.empty()) options_.model_id = model_id_from_path(model->path);
  model_ = std::make_unique<runtime::ServingModel>(std::move(model));
  scheduler_ = std::make_unique<runtime::Scheduler>(model_->loaded(), options_.scheduler);
  state_.store(BackendState::Ready);
}

LocalBackend::~LocalBackend() { drain(std::chrono::milliseconds(0)); }

std::vector<ModelInfo> LocalBackend::models() const {
  const auto& hp = model_->loaded().model->hparams();
  nlohmann::json card = {
      {"context_length", scheduler_->n_ctx()},
      {"parallel", scheduler_->n_slots()},
      {"training_context_length", hp.n_ctx_train},
      {"vocab_size", model_->tokenizer().n_vocab()},
      {"chat_template", model_->chat_prompt().is_default() ? "chatml (default)" : "model"},
      {"tool_call_format", chat::tool_call_format_name(model_->tool_format())},
  };
  return {ModelInfo{options_.model_id, created_, "tandem", std::move(card)}};
}

BackendStats LocalBackend::stats() const {
  const runtime::SchedulerStats s = scheduler_->stats();
  BackendStats b;
  b.queue_depth = s.queued;
  b.running = s.running;
  b.batch_size = s.last_batch;
  b.kv_cache_used = s.kv_used;
  b.kv_cache_total = s.kv_total;
  return b;
}

std::uint64_t LocalBackend::memory_bytes() const {
  return model_->loaded().file->file_size() + scheduler_->kv_bytes();
}

std::shared_ptr<Generation> LocalBackend::start(GenerationRequest request) {
  auto generation = std::make_shared<Generation>(request.stream_buffer_events);
  start_into(std::move(request), generation);
  return generation;
}

void LocalBackend::start_into(GenerationRequest request, std::shared_ptr<Generation> generation) {
  if (state_.load() != BackendState::Ready) throw Unavailable("the engine is not accepting requests");
  PreparedRequest prepared = prepare_request(*model_, request, seed_counter_.fetch_add(0x9E3779B97F4A7C15ull));

  auto state = std::make_shared<RequestState>();
  state->generation = std::move(generation);
  state->usage.prompt_tokens = prepared.prompt_tokens;
  state->remaining = static_cast<int>(prepared.choices.size());

  std::vector<runtime::SequenceSpec> specs;
  for (size_t i = 0; i < prepared.choices.size(); ++i) {
    auto& c = prepared.choices[i];
    const bool first_of_prompt = i == 0 || prepared.choices[i - 1].prompt_index != c.prompt_index;
    auto sink = std::make_shared<ChoiceSink>(state, static_cast<int>(i), first_of_prompt, *model_,
                                             std::move(c.config));
    specs.push_back({prepared.prompts[static_cast<size_t>(c.prompt_index)], std::move(sink)});
  }
  // Echoed prompts go first, before the engine can push anything.
  for (size_t i = 0; i < prepared.choices.size(); ++i) {
    const auto& echo = prepared.echo_text[static_cast<size_t>(prepared.choices[i].prompt_index)];
    if (echo.empty()) continue;
    GenerationEvent e = GenerationEvent::delta(static_cast<int>(i), echo);
    e.token_count = 0;
    state->generation->push(std::move(e));
  }
  if (!scheduler_->submit(std::move(specs), request.priority)) {
    if (!scheduler_->accepting()) throw Unavailable("the engine is shutting down");
    throw QueueFull("the engine's queue is full (" + std::to_string(options_.scheduler.max_queue) +
                        " requests waiting); retry later",
                    options_.retry_after_seconds);
  }
}

EmbeddingResult LocalBackend::embed(const EmbeddingRequest& request) {
  if (state_.load() != BackendState::Ready) throw Unavailable("the engine is not accepting requests");
  std::call_once(embedder_once_, [this] {
    runtime::EmbedderOptions o;
    o.n_ctx = scheduler_->n_ctx();
    o.threads = options_.scheduler.threads;
    o.kv_type = options_.scheduler.kv_type;
    embedder_ = std::make_unique<runtime::Embedder>(model_->loaded(), o);
  });
  const std::int64_t n_embd = embedder_->n_embd();
  if (request.dimensions && (*request.dimensions < 1 || *request.dimensions > n_embd)) {
    throw bad_request("dimensions must be between 1 and " + std::to_string(n_embd) + " for model '" +
                          options_.model_id + "', got " + std::to_string(*request.dimensions),
                      "dimensions");
  }
  static_assert(std::is_same_v<Prompt, runtime::EmbeddingInput>);
  runtime::EmbeddingBatch batch;
  try {
    batch = embedder_->embed(request.inputs, request.dimensions);
  } catch (const InvalidArgument& e) {
    // dimensions were checked above: what is left is about the inputs (empty, too long, bad ids).
    throw bad_request(e.what(), "input");
  }
  return EmbeddingResult{std::move(batch.vectors), batch.tokens};
}

void LocalBackend::drain(std::chrono::milliseconds timeout) {
  state_.store(BackendState::Draining);
  scheduler_->shutdown(std::chrono::steady_clock::now() + timeout);
}

}  // namespace tandem::server
