#include "fake_backend.h"

#include <cmath>
#include <sstream>

namespace tandem::server::testing {
namespace {

std::int64_t count_words(const std::string& text) {
  std::istringstream in(text);
  std::int64_t n = 0;
  std::string word;
  while (in >> word) ++n;
  return n;
}

// The text the script is chosen from, and the prompt's token count (one token per word).
std::pair<std::string, std::int64_t> prompt_text(const GenerationRequest& r) {
  std::string last;
  std::int64_t tokens = 0;
  if (r.endpoint == Endpoint::ChatCompletions) {
    for (const auto& m : r.messages) {
      auto it = m.find("content");
      if (it == m.end() || !it->is_string()) continue;
      const std::string content = it->get<std::string>();
      tokens += count_words(content) + 3;  // role and separators, like a chat template
      if (m.value("role", "") == "user") last = content;
    }
  } else {
    for (std::size_t i = 0; i < r.prompts.size(); ++i) {
      if (const auto* s = std::get_if<std::string>(&r.prompts[i])) {
        if (i == 0) last = *s;
        tokens += count_words(*s);
      } else {
        tokens += static_cast<std::int64_t>(std::get<std::vector<std::int32_t>>(r.prompts[i]).size());
      }
    }
  }
  return {last, tokens};
}

std::string pick_script(const std::string& text) {
  for (const char* kind : {"[tool]", "[fail]", "[bad-utf8]", "[reason]", "[long]", "[forever]", "[big]"}) {
    if (text.find(kind) != std::string::npos) return kind;
  }
  return "default";
}

}  // namespace

FakeBackend::FakeBackend(FakeBackendOptions options)
    : options_(std::move(options)), state_(options_.state), engine_([this] { engine_loop(); }) {}

FakeBackend::~FakeBackend() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_.notify_all();
  engine_.join();
}

BackendStats FakeBackend::stats() const {
  BackendStats s;
  s.queue_depth = 0;
  s.running = running();
  s.batch_size = last_batch_.load();
  s.kv_cache_used = s.running * 16;
  s.kv_cache_total = 4096;
  return s;
}

int FakeBackend::running() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(running_.size());
}

std::optional<GenerationRequest> FakeBackend::last_request() const {
  std::lock_guard lock(mutex_);
  return last_request_;
}

std::shared_ptr<Generation> FakeBackend::start(GenerationRequest request) {
  if (state_.load() != BackendState::Ready) throw Unavailable("fake backend is not ready");
  Running r;
  auto [text, prompt_tokens] = prompt_text(request);
  r.kind = pick_script(text);
  r.prompt_tokens = prompt_tokens;
  std::vector<std::string> script = options_.tokens;
  if (r.kind == "[bad-utf8]") script = {"ok ", "\xff", " caf\xc3", "\xa9", "!"};
  if (r.kind == "[reason]") script = {"R:Let me think", "R: about it.", "The answer", " is 42."};
  if (r.kind == "[tool]") script = {"T:", "A:{\"city\"", "A:: \"Paris\"", "A:}"};
  if (r.kind == "[fail]") script = {"one", " two", " three", " four"};
  if (r.kind == "[long]") {
    script.clear();
    for (int i = 0; i < 200; ++i) script.push_back("tok" + std::to_string(i) + " ");
  }
  r.choices.resize(static_cast<std::size_t>(request.choice_count()));
  for (auto& c : r.choices) {
    c.script = script;
    c.forever = r.kind == "[forever]" || r.kind == "[big]";
  }
  r.generation = std::make_shared<Generation>(request.stream_buffer_events);
  r.request = std::move(request);
  auto generation = r.generation;
  {
    std::lock_guard lock(mutex_);
    if (running_.size() >= options_.max_running) {
      throw QueueFull("fake backend queue is full", options_.retry_after_seconds);
    }
    last_request_ = r.request;
    running_.push_back(std::move(r));
  }
  started_.fetch_add(1);
  work_.notify_one();
  return generation;
}

EmbeddingResult FakeBackend::embed(const EmbeddingRequest& request) {
  if (state_.load() != BackendState::Ready) throw Unavailable("fake backend is not ready");
  EmbeddingResult result;
  const int dims = request.dimensions.value_or(options_.embedding_dims);
  for (const auto& input : request.inputs) {
    std::size_t seed = 0;
    if (const auto* s = std::get_if<std::string>(&input)) {
      seed = std::hash<std::string>{}(*s);
      result.prompt_tokens += count_words(*s);
    } else {
      const auto& ids = std::get<std::vector<std::int32_t>>(input);
      for (auto id : ids) seed = seed * 31 + static_cast<std::size_t>(id);
      result.prompt_tokens += static_cast<std::int64_t>(ids.size());
    }
    std::vector<float> v(static_cast<std::size_t>(dims));
    for (int i = 0; i < dims; ++i) v[i] = static_cast<float>(std::sin(static_cast<double>(seed % 1000 + i)));
    result.embeddings.push_back(std::move(v));
  }
  return result;
}

void FakeBackend::engine_loop() {
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      work_.wait(lock, [&] { return stopping_ || !running_.empty(); });
      if (stopping_) return;
      std::int64_t batch = 0;
      for (auto it = running_.begin(); it != running_.end();) {
        batch += static_cast<std::int64_t>(it->choices.size());
        it = step(*it) ? std::next(it) : running_.erase(it);
      }
      last_batch_.store(batch);
    }
    std::this_thread::sleep_for(options_.token_delay);
  }
}

bool FakeBackend::step(Running& r) {
  Generation& g = *r.generation;
  if (g.cancelled()) {
    cancelled_.fetch_add(1);
    return false;
  }
  if (!g.has_room()) {
    paused_steps_.fetch_add(1);  // slow client: this sequence sits out the step
    return true;
  }
  if (r.request.echo && !r.echo_sent) {
    r.echo_sent = true;
    for (std::size_t i = 0; i < r.choices.size(); ++i) {
      const auto& prompt = r.request.prompts[i / static_cast<std::size_t>(r.request.n)];
      if (const auto* s = std::get_if<std::string>(&prompt)) {
        GenerationEvent e = GenerationEvent::delta(static_cast<int>(i), *s);
        e.token_count = 0;
        g.push(std::move(e));
      }
    }
  }
  bool all_done = true;
  for (std::size_t i = 0; i < r.choices.size(); ++i) {
    if (!step_choice(r, static_cast<int>(i))) return false;  // the request failed
    all_done = all_done && r.choices[i].done;
  }
  if (!all_done) return true;
  g.push(GenerationEvent::done(Usage{r.prompt_tokens, r.generated, 0}));
  completed_.fetch_add(1);
  return false;
}

bool FakeBackend::step_choice(Running& r, int index) {
  Choice& c = r.choices[static_cast<std::size_t>(index)];
  Generation& g = *r.generation;
  if (c.done) return true;
  if (r.kind == "[fail]" && c.next == 2) {
    g.push(GenerationEvent::error("fake engine failure: out of cheese"));
    return false;
  }
  const auto& max_tokens = r.request.sampling.max_tokens;
  const std::int64_t produced = static_cast<std::int64_t>(c.next);
  if (max_tokens && produced >= *max_tokens) {
    c.done = g.push(GenerationEvent::finish(index, FinishReason::Length));
    return true;
  }
  if (!c.forever && c.next >= c.script.size()) {
    c.done = g.push(GenerationEvent::finish(index, r.kind == "[tool]" ? FinishReason::ToolCalls
                                                                      : FinishReason::Stop));
    return true;
  }
  std::string token;
  if (r.kind == "[big]") {
    token = "big" + std::string(8189, 'x');
  } else {
    token = c.forever ? "tok" + std::to_string(c.next) + " " : c.script[c.next];
  }
  for (const auto& stop : r.request.sampling.stop) {
    if (token.find(stop) != std::string::npos) {
      c.done = g.push(GenerationEvent::finish(index, FinishReason::Stop));
      return true;
    }
  }
  GenerationEvent e = GenerationEvent::delta(index, "");
  if (token.rfind("R:", 0) == 0) {
    e.reasoning = token.substr(2);
  } else if (token == "T:") {
    e.tool_calls.push_back({0, "call_fake_1", "get_weather", ""});
  } else if (token.rfind("A:", 0) == 0) {
    e.tool_calls.push_back({0, "", "", token.substr(2)});
  } else {
    e.content = token;
  }
  if (r.request.logprobs) {
    TokenLogprob lp{token, -0.25, {}};
    for (int k = 0; k < r.request.top_logprobs; ++k) {
      lp.top.push_back({k == 0 ? token : "alt" + std::to_string(k), -0.25 - k});
    }
    e.logprobs.push_back(std::move(lp));
  }
  if (!g.push(std::move(e))) return true;  // buffer full: same token next step
  ++c.next;
  ++r.generated;
  return true;
}

}  // namespace tandem::server::testing
