// The engine scheduler through LocalBackend (no HTTP): continuous batching gives every request
// the text it would get alone, cancellation frees its sequence, the queue is bounded, prompts
// that do not fit are refused, slow consumers pause only themselves, priorities overtake, and
// drain finishes what runs.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "serve_test_support.h"
#include "server/local_backend.h"
#include "shared_data.h"
#include "util/error.h"

namespace tandem::testing {
namespace {

using server::GenerationRequest;
using server::LocalBackend;

constexpr const char* kModel = "stories260K";

std::unique_ptr<LocalBackend> make_backend(int parallel, int64_t prefill_chunk = 256, size_t max_queue = 64) {
  server::LocalBackendOptions o;
  o.scheduler.n_slots = parallel;
  o.scheduler.prefill_chunk = prefill_chunk;
  o.scheduler.max_queue = max_queue;
  o.scheduler.threads = 1;
  return std::make_unique<LocalBackend>(runtime::LoadedModel::open(stories_path()), o);
}

const std::vector<std::string> kPrompts = {
    "Once upon a time", "Tom and Sue went to", "The little dog", "One day, a bird",
    "Lily wanted to",   "The sun was",         "Ben had a red",  "In the park there was"};

std::string run_alone(LocalBackend& b, const GenerationRequest& r) {
  auto g = b.start(r);
  RequestResult res = collect(*g, 1);
  EXPECT_TRUE(res.done) << res.error;
  return res.choices[0].content;
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return pred();
}

TEST(Scheduler, GreedyMatchesReferenceEngineInsideABatch) {
  TANDEM_REQUIRE_SHARED();
  std::ifstream in(shared_dir() + "/testdata/models/stories260K.expected.json");
  const auto expected = nlohmann::json::parse(in)["cases"]["once_upon_a_time"];
  std::string want;
  for (int i = 0; i < 40; ++i) want += expected["generated_pieces"][i].get<std::string>();

  auto b = make_backend(8);
  std::vector<std::shared_ptr<server::Generation>> gens;
  for (size_t i = 0; i < kPrompts.size(); ++i)
    gens.push_back(b->start(completion_request(kModel, kPrompts[i], 40, 0.0, 1)));
  const RequestResult first = collect(*gens[0], 1);
  ASSERT_TRUE(first.done) << first.error;
  EXPECT_EQ(first.choices[0].content, want);
  EXPECT_EQ(first.usage.prompt_tokens, 5);
  EXPECT_EQ(first.usage.completion_tokens, 40);
  EXPECT_EQ(first.choices[0].finish, server::FinishReason::Length);
  for (size_t i = 1; i < gens.size(); ++i) EXPECT_TRUE(collect(*gens[i], 1).done);
}

TEST(Scheduler, SeededTextIsTheSameAloneAndAmongEightConcurrent) {
  TANDEM_REQUIRE_SHARED();
  auto b = make_backend(8);
  std::vector<std::string> alone;
  for (size_t i = 0; i < kPrompts.size(); ++i)
    alone.push_back(run_alone(*b, completion_request(kModel, kPrompts[i], 48, 0.9, 100 + static_cast<long>(i))));

  std::vector<std::shared_ptr<server::Generation>> gens;
  for (size_t i = 0; i < kPrompts.size(); ++i)
    gens.push_back(b->start(completion_request(kModel, kPrompts[i], 48, 0.9, 100 + static_cast<long>(i))));
  for (size_t i = 0; i < gens.size(); ++i) {
    const RequestResult r = collect(*gens[i], 1);
    ASSERT_TRUE(r.done) << r.error;
    EXPECT_EQ(r.choices[0].content, alone[i]) << "request " << i;
  }
  // They really ran together: some forward pass carried all eight.
  EXPECT_GE(b->scheduler().stats().max_batch, 8);
  // Different seeds gave different texts (the test would prove nothing otherwise).
  EXPECT_NE(alone[0], run_alone(*b, completion_request(kModel, kPrompts[0], 48, 0.9, 7)));
}

TEST(Scheduler, ChunkedPrefillKeepsResultsAndBoundsTheStep) {
  TANDEM_REQUIRE_SHARED();
  auto b = make_backend(4, /*prefill_chunk=*/16);
  std::string long_prompt;
  for (int i = 0; i < 30; ++i) long_prompt += "The cat sat on the mat. ";
  const auto req_long = completion_request(kModel, long_prompt, 20, 0.7, 3);
  const auto req_short = completion_request(kModel, "Once upon a time", 60, 0.7, 4);
  const std::string long_alone = run_alone(*b, req_long);
  const std::string short_alone = run_alone(*b, req_short);

  auto g_short = b->start(req_short);
  auto g_long = b->start(req_long);
  const RequestResult rs = collect(*g_short, 1), rl = collect(*g_long, 1);
  ASSERT_TRUE(rs.done && rl.done);
  EXPECT_EQ(rs.choices[0].content, short_alone);
  EXPECT_EQ(rl.choices[0].content, long_alone);
  EXPECT_GT(rl.usage.prompt_tokens, 150);
  // A step never carries more than the chunk plus one token per running sequence.
  EXPECT_LE(b->scheduler().stats().max_batch, 16 + 4);
}

TEST(Scheduler, CancelFreesTheSequenceWithinAStep) {
  TANDEM_REQUIRE_SHARED();
  auto b = make_backend(2);
  auto g = b->start(completion_request(kModel, "Once upon a time", 400, 0.8, 1));
  std::vector<server::GenerationEvent> ev;
  ASSERT_TRUE(wait_until([&] { g->drain(ev); return ev.size() >= 3; }, std::chrono::seconds(30)));
  EXPECT_EQ(b->stats().running, 1);
  EXPECT_GT(b->stats().kv_cache_used, 0);
  g->cancel();
  EXPECT_TRUE(wait_until([&] { return b->stats().running == 0 && b->stats().kv_cache_used == 0; },
                         std::chrono::seconds(5)));
  // The slot is usable again.
  EXPECT_FALSE(run_alone(*b, completion_request(kModel, "The sun was", 8, 0.0, 1)).empty());
}

TEST(Scheduler, FullQueueThrowsQueueFull) {
  TANDEM_REQUIRE_SHARED();
  auto b = make_backend(/*parallel=*/1, 256, /*max_queue=*/1);
  auto running = b->start(completion_request(kModel, "Once upon a time", 400, 0.8, 1));
  ASSERT_TRUE(wait_until([&] { return b->stats().running == 1; }, std::chrono::seconds(5)));
  auto queued = b->start(completion_request(kModel, "The sun was", 4, 0.8, 1));
  EXPECT_THROW(b->start(completion_request(kModel, "The dog", 4, 0.8, 1)), server::QueueFull);
  EXPECT_EQ(b->stats().queue_depth, 1);
  running->cancel();
  EXPECT_TRUE(collect(*queued, 1).done);
}

TEST(Scheduler, PromptLongerThanTheContextIsRefusedNamingTheLimit) {
  TANDEM_REQUIRE_SHARED();
  auto b = make_backend(1);
  std::string huge;
  for (int i = 0; i < 400; ++i) huge += "hello there ";
  try {
    b->start(completion_request(kModel, huge, 4, 0.0, 1));
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("context holds 512"), std::string::npos) << e.what();
  }
  auto too_many = completion_request(kModel, "hi", 4, 0.0, 1);
  too_many.n = 2;
  EXPECT_THROW(b->start(too_many), InvalidArgument);
}

TEST(Scheduler, SlowConsumerPausesOnlyItself) {
  TANDEM_REQUIRE_SHARED();
  auto b = make_backend(2);
  auto slow_req = completion_request(kModel, "Once upon a time", 40, 0.8, 11);
  const std::string slow_alone = run_alone(*b, slow_req);
  slow_req.stream_buffer_events = 2;
  auto slow = b->start(slow_req);  // nobody drains it for a while
  const std::string fast = run_alone(*b, completion_request(kModel, "The little dog", 60, 0.0, 1));
  EXPECT_FALSE(fast.empty());
  EXPECT_FALSE(slow->finished());  // paused with a full buffer, not finished and not lost
  const RequestResult r = collect(*slow, 1);
  ASSERT_TRUE(r.done);
  EXPECT_EQ(r.choices[0].content, slow_alone);
}

TEST(Scheduler, HigherPriorityOvertakesTheQueue) {
  TANDEM_REQUIRE_SHARED();
  auto b = make_backend(1);
  auto blocker = b->start(completion_request(kModel, "Once upon a time", 30, 0.0, 1));
  ASSERT_TRUE(wait_until([&] { return b->stats().running == 1; }, std::chrono::seconds(5)));
  auto low = b->start(completion_request(kModel, "The sun was", 30, 0.0, 1));
  auto high_req = completion_request(kModel, "The little dog", 30, 0.0, 1);
  high_req.priority = 5;
  auto high = b->start(high_req);
  ASSERT_TRUE(collect(*high, 1).done);
  EXPECT_FALSE(low->finished());
  EXPECT_TRUE(collect(*low, 1).done);
  EXPECT_TRUE(collect(*blocker, 1).done);
}

TEST(Scheduler, SeveralChoicesAndPromptsRunAsSeparateSequences) {
  TANDEM_REQUIRE_SHARED();
  auto b = make_backend(4);
  auto r = completion_request(kModel, "Once upon a time", 16, 0.9, 42);
  r.prompts.push_back(std::string("The little dog"));
  r.n = 2;
  r.logprobs = true;
  r.top_logprobs = 3;
  auto g = b->start(r);
  const RequestResult res = collect(*g, 4);
  ASSERT_TRUE(res.done) << res.error;
  EXPECT_EQ(res.usage.completion_tokens, 64);
  EXPECT_EQ(res.usage.prompt_tokens, 5 + 4);
  EXPECT_NE(res.choices[0].content, res.choices[1].content);  // seeds 42 and 43
  for (const auto& c : res.choices) {
    ASSERT_EQ(c.logprobs.size(), 16u);
    for (const auto& lp : c.logprobs) {
      ASSERT_EQ(lp.top.size(), 3u);
      EXPECT_LE(lp.logprob, lp.top[0].logprob + 1e-6);
      EXPECT_LE(lp.logprob, 0.0);
    }
  }
}

TEST(Scheduler, StopStringEndsTheChoiceWithoutShowingIt) {
  TANDEM_REQUIRE_SHARED();
  auto b = make_backend(1);
  auto r = completion_request(kModel, "Once upon a time", 60, 0.0, 1);
  r.sampling.stop = {"Lily"};
  const RequestResult res = collect(*b->start(r), 1);
  ASSERT_TRUE(res.done);
  EXPECT_EQ(res.choices[0].content, ", there was a little girl named ");
  EXPECT_EQ(res.choices[0].finish, server::FinishReason::Stop);
}

TEST(Scheduler, DrainFinishesRunningRequestsThenRefuses) {
  TANDEM_REQUIRE_SHARED();
  auto b = make_backend(2);
  auto g = b->start(completion_request(kModel, "Once upon a time", 50, 0.0, 1));
  b->drain(std::chrono::seconds(30));
  const RequestResult r = collect(*g, 1);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.usage.completion_tokens, 50);
  EXPECT_THROW(b->start(completion_request(kModel, "x", 1, 0.0, 1)), server::Unavailable);
}

TEST(Scheduler, DrainDeadlineFailsWhatIsLeft) {
  TANDEM_REQUIRE_SHARED();
  auto b = make_backend(1);
  auto slow_req = completion_request(kModel, "Once upon a time", 400, 0.8, 1);
  slow_req.stream_buffer_events = 1;  // never drained: stays paused
  auto g = b->start(slow_req);
  ASSERT_TRUE(wait_until([&] { return !g->has_room(); }, std::chrono::seconds(10)));
  b->drain(std::chrono::milliseconds(100));
  const RequestResult r = collect(*g, 1, std::chrono::seconds(5));
  EXPECT_FALSE(r.done);
  EXPECT_NE(r.error.find("shut down"), std::string::npos) << r.error;
}

}  // namespace
}  // namespace tandem::testing
