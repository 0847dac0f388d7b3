#pragma once
// FakeBackend: a stand-in engine for server tests and the demo binary. It runs its own "engine"
// thread that, once per step (token_delay), gives every running sequence its next scripted
// token — the same contract the real scheduler keeps: never blocks on a client (a full
// Generation pauses the sequence), drops cancelled sequences at the next step.
//
// The script is picked from the last user message (chat) or the first prompt (completions):
//   "[tool]"     a get_weather tool call, finish_reason tool_calls
//   "[fail]"     two tokens, then an engine error
//   "[bad-utf8]" a lone 0xFF byte and a character split across two tokens
//   "[reason]"   reasoning_content first, then the answer
//   "[long]"     200 tokens
//   "[forever]"  tokens until cancelled (or max_tokens)
//   "[big]"      8 KiB tokens until cancelled (or max_tokens): fills socket buffers quickly
//   otherwise    options.tokens
#include <atomic>
#include <condition_variable>
#include <list>
#include <mutex>
#include <optional>
#include <thread>

#include "server/backend.h"
#include "server/generation.h"

namespace tandem::server::testing {

struct FakeBackendOptions {
  std::vector<std::string> tokens = {"Hello", ",", " world", "!"};
  std::chrono::milliseconds token_delay{1};  // one engine step
  std::size_t max_running = 256;             // beyond this, start() throws QueueFull
  int retry_after_seconds = 2;
  BackendState state = BackendState::Ready;
  std::vector<ModelInfo> models = {
      ModelInfo{"tandem-fake", 1700000000, "tandem",
                {{"context_length", 4096}, {"description", "scripted fake model for tests"}}},
      ModelInfo{"org/fake-2", 1700000000, "tandem", {}}};
  int embedding_dims = 8;
};

class FakeBackend : public Backend {
 public:
  explicit FakeBackend(FakeBackendOptions options = {});
  ~FakeBackend() override;

  BackendState state() const override { return state_.load(); }
  std::vector<ModelInfo> models() const override { return options_.models; }
  BackendStats stats() const override;
  std::shared_ptr<Generation> start(GenerationRequest request) override;
  EmbeddingResult embed(const EmbeddingRequest& request) override;

  void set_state(BackendState s) { state_.store(s); }

  // What tests look at.
  int started() const { return started_.load(); }
  int cancelled() const { return cancelled_.load(); }
  int completed() const { return completed_.load(); }
  long paused_steps() const { return paused_steps_.load(); }
  int running() const;
  std::optional<GenerationRequest> last_request() const;

 private:
  struct Choice {
    std::vector<std::string> script;
    std::size_t next = 0;
    bool forever = false;
    bool done = false;
  };
  struct Running {
    GenerationRequest request;
    std::shared_ptr<Generation> generation;
    std::vector<Choice> choices;
    std::string kind;  // script name
    std::int64_t prompt_tokens = 0;
    std::int64_t generated = 0;
    bool echo_sent = false;
  };

  void engine_loop();
  // One step for one request; false when it is finished (or cancelled) and must be dropped.
  bool step(Running& r);
  bool step_choice(Running& r, int index);

  FakeBackendOptions options_;
  std::atomic<BackendState> state_;
  mutable std::mutex mutex_;
  std::condition_variable work_;
  std::list<Running> running_;
  std::optional<GenerationRequest> last_request_;
  bool stopping_ = false;
  std::atomic<int> started_{0}, cancelled_{0}, completed_{0};
  std::atomic<long> paused_steps_{0};
  std::atomic<std::int64_t> last_batch_{0};
  std::thread engine_;
};

}  // namespace tandem::server::testing
