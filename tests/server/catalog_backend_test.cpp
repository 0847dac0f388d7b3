// CatalogBackend over a directory of tiny random Llama models written with gguf::Writer: listing
// without loading, load on first use (requests wait for it), LRU unloading under a memory budget
// and a model count, busy models kept, corrupt files failing only their own requests, files
// added while serving, one load for many concurrent first requests, the default model, draining.
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "model/test_models.h"
#include "runtime/loaded_model.h"
#include "runtime/scheduler.h"
#include "server/catalog_backend.h"
#include "server/generation.h"
#include "tokenizer/test_vocabs.h"
#include "util/error.h"
#include "util/memory_info.h"

namespace tandem::server {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr int32_t kEos = 2;  // spm_tokens(): 0 <unk>, 1 <s>, 2 </s>

void write_tiny_model(const std::string& path, uint32_t seed) {
  testing::TestModelSpec s;
  s.n_embd = 64;
  s.n_layer = 1;
  s.n_head = 2;
  s.n_head_kv = 1;
  s.head_dim = 32;
  s.n_ff = 128;
  s.n_vocab = static_cast<int64_t>(tokenizer::test::spm_tokens().size());
  s.n_ctx = 256;
  s.seed = seed;
  s.edit = [](gguf::Writer& w) {
    w.set("tokenizer.ggml.model", gguf::Value::str("llama"));
    tokenizer::test::set_tokens(w, tokenizer::test::spm_tokens());
    w.set("tokenizer.ggml.bos_token_id", gguf::Value::u32(1));
    w.set("tokenizer.ggml.eos_token_id", gguf::Value::u32(kEos));
    w.set("tokenizer.ggml.unknown_token_id", gguf::Value::u32(0));
  };
  testing::write_test_model(s, path);
}

LocalBackendOptions engine_options() {
  LocalBackendOptions o;
  o.scheduler.n_slots = 2;
  o.scheduler.n_ctx = 64;
  o.scheduler.threads = 1;
  o.scheduler.max_queue = 16;
  return o;
}

// What CatalogBackend charges for one of the tiny models: file + KV cache.
std::uint64_t model_cost(const std::string& path) {
  auto m = runtime::LoadedModel::open(path);
  return fs::file_size(path) + runtime::Scheduler::estimate_kv_bytes(*m, engine_options().scheduler);
}

GenerationRequest completion(const std::string& model, int max_tokens = 8) {
  GenerationRequest r;
  r.endpoint = Endpoint::Completions;
  r.model = model;
  r.prompts = {std::string("a b ab")};
  r.sampling.max_tokens = max_tokens;
  r.sampling.temperature = 0;
  r.sampling.logit_bias = {{kEos, -100.0f}};  // run to max_tokens
  return r;
}

struct Outcome {
  bool done = false;
  std::string error;
  std::int64_t completion_tokens = 0;
};

Outcome collect(Generation& g, std::chrono::milliseconds timeout = 60s) {
  Outcome out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<GenerationEvent> events;
  while (std::chrono::steady_clock::now() < deadline) {
    events.clear();
    g.wait_drain(events, 50ms);
    for (const auto& e : events) {
      if (e.kind == GenerationEvent::Kind::Done) {
        out.done = true;
        out.completion_tokens = e.usage.completion_tokens;
        return out;
      }
      if (e.kind == GenerationEvent::Kind::Error) {
        out.error = e.error_message;
        return out;
      }
    }
  }
  out.error = "timed out";
  return out;
}

class CatalogBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("tandem-catalog-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    for (const char* name : {"alpha", "beta", "gamma"}) write_tiny_model(path(name), static_cast<uint32_t>(name[0]));
    cost_ = model_cost(path("alpha"));
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& id) const { return (dir_ / (id + ".gguf")).string(); }

  CatalogBackendOptions options() const {
    CatalogBackendOptions o;
    o.models_dir = dir_.string();
    o.local = engine_options();
    return o;
  }

  static nlohmann::json card(const CatalogBackend& b, const std::string& id) {
    for (const auto& m : b.models())
      if (m.id == id) return m.card;
    return nullptr;
  }
  static bool loaded(const CatalogBackend& b, const std::string& id) { return card(b, id).value("loaded", false); }

  static void run(CatalogBackend& b, const std::string& id) {
    const Outcome o = collect(*b.start(completion(id)));
    ASSERT_TRUE(o.done) << id << ": " << o.error;
    EXPECT_EQ(o.completion_tokens, 8);
  }

  fs::path dir_;
  std::uint64_t cost_ = 0;
};

TEST_F(CatalogBackendTest, ListsEveryModelUnloaded) {
  CatalogBackend b(options());
  const auto models = b.models();
  ASSERT_EQ(models.size(), 3u);
  EXPECT_EQ(models[0].id, "alpha");
  EXPECT_EQ(models[1].id, "beta");
  EXPECT_EQ(models[2].id, "gamma");
  for (const auto& m : models) {
    EXPECT_EQ(m.card["loaded"], false) << m.id;
    EXPECT_EQ(m.card["state"], "unloaded") << m.id;
    EXPECT_EQ(m.card["size_bytes"], fs::file_size(path(m.id))) << m.id;
    EXPECT_GT(m.created, 0);
  }
  EXPECT_EQ(b.memory_in_use(), 0u);
  EXPECT_EQ(b.state(), BackendState::Ready);
}

TEST_F(CatalogBackendTest, UnloadedModelsShowTheirHeaderCard) {
  {
    std::ofstream f(path("broken"), std::ios::binary);
    f << "GGUF not a header";
  }
  CatalogBackend b(options());
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline &&
         (!card(b, "gamma").contains("architecture") || !card(b, "broken").contains("file_error")))
    std::this_thread::sleep_for(2ms);
  const auto c = card(b, "gamma");
  EXPECT_EQ(c["architecture"], "llama");
  EXPECT_EQ(c["name"], "tandem-test-llama");
  EXPECT_EQ(c["training_context_length"], 256);
  EXPECT_EQ(c["quantization"], "F32 100%");
  EXPECT_GT(c["parameters"].get<int64_t>(), 0);
  EXPECT_EQ(c["loaded"], false);
  EXPECT_NE(card(b, "broken")["file_error"].get<std::string>().find("broken.gguf"), std::string::npos);
}

TEST_F(CatalogBackendTest, FirstRequestLoadsTheModelAndWaitsForIt) {
  CatalogBackend b(options());
  run(b, "beta");
  EXPECT_TRUE(loaded(b, "beta"));
  EXPECT_FALSE(loaded(b, "alpha"));
  EXPECT_FALSE(loaded(b, "gamma"));
  const auto c = card(b, "beta");
  EXPECT_EQ(c["loads"], 1);
  EXPECT_EQ(c["memory_bytes"], cost_);
  EXPECT_EQ(c["context_length"], 64);  // the engine's card fields once loaded
  EXPECT_EQ(b.memory_in_use(), cost_);
  run(b, "beta");  // served by the loaded engine
  EXPECT_EQ(card(b, "beta")["loads"], 1);
}

TEST_F(CatalogBackendTest, BudgetForTwoUnloadsTheLeastRecentlyUsedIdleModel) {
  auto o = options();
  o.memory_budget_bytes = cost_ * 5 / 2;
  CatalogBackend b(o);
  run(b, "alpha");
  run(b, "beta");
  run(b, "alpha");  // beta is now the least recently used
  run(b, "gamma");
  EXPECT_TRUE(loaded(b, "alpha"));
  EXPECT_FALSE(loaded(b, "beta"));
  EXPECT_TRUE(loaded(b, "gamma"));
  EXPECT_LE(b.memory_in_use(), o.memory_budget_bytes);
  run(b, "beta");  // and back: alpha goes now
  EXPECT_FALSE(loaded(b, "alpha"));
  EXPECT_EQ(card(b, "beta")["loads"], 2);
}

TEST_F(CatalogBackendTest, MaxModelsIsASecondLimit) {
  auto o = options();
  o.max_models = 1;
  CatalogBackend b(o);
  run(b, "alpha");
  run(b, "beta");
  EXPECT_FALSE(loaded(b, "alpha"));
  EXPECT_TRUE(loaded(b, "beta"));
}

// A stream whose client reads nothing holds its slot (paused on its full buffer): busy.
std::shared_ptr<Generation> start_held_stream(CatalogBackend& b, const std::string& id) {
  GenerationRequest r = completion(id, 50);
  r.stream = true;
  r.stream_buffer_events = 1;
  auto g = b.start(std::move(r));
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (g->has_room() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  EXPECT_FALSE(g->has_room()) << "the held stream never produced output";
  return g;
}

TEST_F(CatalogBackendTest, ModelWithARunningStreamIsNotUnloaded) {
  auto o = options();
  o.memory_budget_bytes = cost_ * 5 / 2;
  CatalogBackend b(o);
  auto held = start_held_stream(b, "alpha");  // alpha: least recently used, but busy
  run(b, "beta");
  run(b, "gamma");
  EXPECT_TRUE(loaded(b, "alpha"));
  EXPECT_FALSE(loaded(b, "beta"));
  EXPECT_TRUE(loaded(b, "gamma"));
  // The held stream still completes once its client reads.
  const Outcome rest = collect(*held);
  EXPECT_TRUE(rest.done) << rest.error;
  EXPECT_EQ(rest.completion_tokens, 50);
}

TEST_F(CatalogBackendTest, NoRoomBesideBusyModelsIsUnavailable) {
  auto o = options();
  o.memory_budget_bytes = cost_ * 3 / 2;  // one model
  CatalogBackend b(o);
  auto held = start_held_stream(b, "alpha");
  EXPECT_THROW(b.start(completion("beta")), Unavailable);
  EXPECT_TRUE(loaded(b, "alpha"));
  held->cancel();
  // Once alpha is idle again it makes room.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  Outcome o2;
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      o2 = collect(*b.start(completion("beta")));
      break;
    } catch (const Unavailable&) {
      std::this_thread::sleep_for(5ms);
    }
  }
  EXPECT_TRUE(o2.done) << o2.error;
  EXPECT_FALSE(loaded(b, "alpha"));
}

TEST_F(CatalogBackendTest, ModelLargerThanTheBudgetLoadsAlone) {
  auto o = options();
  o.memory_budget_bytes = cost_ / 2;
  std::vector<std::string> logged;
  std::mutex log_mutex;
  o.log = [&](const std::string& m) {
    std::lock_guard lock(log_mutex);
    logged.push_back(m);
  };
  CatalogBackend b(o);
  run(b, "alpha");
  run(b, "beta");
  EXPECT_FALSE(loaded(b, "alpha"));
  EXPECT_TRUE(loaded(b, "beta"));
  std::lock_guard lock(log_mutex);
  bool warned = false;
  for (const auto& m : logged) warned = warned || m.find("more than the whole memory budget") != std::string::npos;
  EXPECT_TRUE(warned);
}

TEST_F(CatalogBackendTest, UnknownModelIsNotFound) {
  CatalogBackend b(options());
  EXPECT_THROW(b.start(completion("delta")), ModelNotFound);
  EmbeddingRequest e;
  e.model = "delta";
  e.inputs = {std::string("a")};
  EXPECT_THROW(b.embed(e), ModelNotFound);
}

TEST_F(CatalogBackendTest, CorruptFileFailsItsRequestsOnlyAndIsRetried) {
  {
    std::ofstream f(path("broken"), std::ios::binary);
    f << "GGUF this is not a model at all";
  }
  CatalogBackend b(options());
  const Outcome bad = collect(*b.start(completion("broken")));
  EXPECT_FALSE(bad.done);
  EXPECT_NE(bad.error.find("model 'broken' could not be loaded"), std::string::npos) << bad.error;
  EXPECT_NE(bad.error.find("broken.gguf"), std::string::npos) << bad.error;
  const auto c = card(b, "broken");
  EXPECT_EQ(c["state"], "unloaded");
  EXPECT_EQ(c["last_error"], bad.error);
  run(b, "alpha");  // others unaffected
  // Not poisoned: once the file is good, the next request loads it.
  write_tiny_model(path("broken"), 7);
  run(b, "broken");
  EXPECT_FALSE(card(b, "broken").contains("last_error"));
}

TEST_F(CatalogBackendTest, FileAddedAfterStartIsServed) {
  CatalogBackend b(options());
  EXPECT_EQ(b.models().size(), 3u);
  write_tiny_model(path("delta"), 11);
  run(b, "delta");  // an unknown id re-reads the directory
  EXPECT_EQ(b.models().size(), 4u);
  fs::remove(path("gamma"));
  EXPECT_EQ(b.models().size(), 3u);  // an unloaded model whose file left is dropped
}

// Holds loads open until released, so tests can act while a model is loading.
class LoadGate {
 public:
  void hold(const std::string&) {
    std::unique_lock lock(mutex_);
    ++entered_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_; });
  }
  void wait_entered(int n) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, 30s, [&] { return entered_ >= n; });
  }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int entered_ = 0;
  bool open_ = false;
};

TEST_F(CatalogBackendTest, ConcurrentFirstRequestsLoadTheModelOnce) {
  LoadGate gate;
  auto o = options();
  o.before_load = [&](const std::string& id) { gate.hold(id); };
  CatalogBackend b(o);
  constexpr int kClients = 8;
  std::vector<std::shared_ptr<Generation>> generations(kClients);
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i)
    clients.emplace_back([&, i] { generations[static_cast<size_t>(i)] = b.start(completion("gamma")); });
  for (auto& t : clients) t.join();
  gate.wait_entered(1);
  EXPECT_EQ(card(b, "gamma")["state"], "loading");
  EXPECT_EQ(b.stats().queue_depth, kClients);  // waiting for the load
  gate.open();
  for (auto& g : generations) EXPECT_TRUE(collect(*g).done);
  EXPECT_EQ(card(b, "gamma")["loads"], 1);
}

TEST_F(CatalogBackendTest, LoadingOneModelDoesNotHoldUpAnother) {
  LoadGate gate;
  std::atomic<bool> hold_beta{false};
  auto o = options();
  o.before_load = [&](const std::string& id) {
    if (hold_beta && id == "beta") gate.hold(id);
  };
  CatalogBackend b(o);
  run(b, "alpha");
  hold_beta = true;
  auto waiting = b.start(completion("beta"));
  gate.wait_entered(1);
  run(b, "alpha");  // alpha's engine serves while beta's load is stuck
  run(b, "alpha");
  gate.open();
  EXPECT_TRUE(collect(*waiting).done);
}

TEST_F(CatalogBackendTest, RequestsWaitingForALoadAreBounded) {
  LoadGate gate;
  auto o = options();
  o.max_waiting = 2;
  o.before_load = [&](const std::string& id) { gate.hold(id); };
  CatalogBackend b(o);
  auto first = b.start(completion("alpha"));
  auto second = b.start(completion("alpha"));
  try {
    b.start(completion("alpha"));
    ADD_FAILURE() << "a third waiting request was accepted";
  } catch (const QueueFull& e) {
    EXPECT_NE(std::string(e.what()).find("is loading"), std::string::npos) << e.what();
  }
  gate.open();
  EXPECT_TRUE(collect(*first).done);
  EXPECT_TRUE(collect(*second).done);
}

TEST_F(CatalogBackendTest, ClientThatLeftWhileLoadingIsNotStarted) {
  LoadGate gate;
  auto o = options();
  o.before_load = [&](const std::string& id) { gate.hold(id); };
  CatalogBackend b(o);
  auto gone = b.start(completion("alpha"));
  auto stays = b.start(completion("alpha"));
  gone->cancel();
  gate.open();
  EXPECT_TRUE(collect(*stays).done);
  std::vector<GenerationEvent> events;
  gone->drain(events);
  EXPECT_TRUE(events.empty());
}

TEST_F(CatalogBackendTest, EmbeddingsLoadTheModelAndWait) {
  CatalogBackend b(options());
  EmbeddingRequest e;
  e.model = "beta";
  e.inputs = {std::string("a b"), std::string("ab")};
  const EmbeddingResult r = b.embed(e);
  ASSERT_EQ(r.embeddings.size(), 2u);
  EXPECT_EQ(r.embeddings[0].size(), 64u);
  EXPECT_TRUE(loaded(b, "beta"));
  // A corrupt model's embed() names the failure.
  {
    std::ofstream f(path("broken"), std::ios::binary);
    f << "GGUF nonsense";
  }
  e.model = "broken";
  try {
    b.embed(e);
    ADD_FAILURE() << "embed on a corrupt model succeeded";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("could not be loaded"), std::string::npos) << err.what();
  }
}

TEST_F(CatalogBackendTest, EmptyModelRoutesToThePinnedModel) {
  const std::string outside = (dir_.parent_path() / ("tandem-pinned-" + std::to_string(::getpid()) + ".gguf")).string();
  write_tiny_model(outside, 5);
  auto o = options();
  o.pinned_model = outside;
  o.pinned_id = "pinned";
  {
    CatalogBackend b(o);
    ASSERT_EQ(b.models().size(), 4u);
    EXPECT_EQ(card(b, "pinned")["default"], true);
    run(b, "");
    EXPECT_TRUE(loaded(b, "pinned"));
  }
  fs::remove(outside);
}

TEST_F(CatalogBackendTest, EmptyModelNeedsASingleModelWithoutAPinnedOne) {
  CatalogBackend b(options());
  EXPECT_THROW(b.start(completion("")), InvalidArgument);
  fs::remove(path("beta"));
  fs::remove(path("gamma"));
  run(b, "");  // alpha, the only one
  EXPECT_TRUE(loaded(b, "alpha"));
}

TEST_F(CatalogBackendTest, DrainFinishesLoadedModelsAndRefusesNewWork) {
  CatalogBackend b(options());
  run(b, "alpha");
  auto g = b.start(completion("alpha", 20));
  b.drain(30s);
  EXPECT_TRUE(collect(*g).done);
  EXPECT_EQ(b.state(), BackendState::Draining);
  EXPECT_THROW(b.start(completion("beta")), Unavailable);
}

TEST(ParseByteSize, UnitsArePowersOf1024) {
  EXPECT_EQ(parse_byte_size("1024"), 1024u);
  EXPECT_EQ(parse_byte_size("8G"), 8ull << 30);
  EXPECT_EQ(parse_byte_size("8GiB"), 8ull << 30);
  EXPECT_EQ(parse_byte_size("512m"), 512ull << 20);
  EXPECT_EQ(parse_byte_size("1.5G"), 3ull << 29);
  EXPECT_EQ(parse_byte_size("64KB"), 64ull << 10);
  EXPECT_THROW(parse_byte_size("lots"), InvalidArgument);
  EXPECT_THROW(parse_byte_size("8X"), InvalidArgument);
  EXPECT_THROW(parse_byte_size("-1G"), InvalidArgument);
  EXPECT_GT(tandem::available_memory_bytes(), 0u);
}

}  // namespace
}  // namespace tandem::server
