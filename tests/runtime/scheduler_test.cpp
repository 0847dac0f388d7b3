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

std::unique_ptr<LocalBackend> make_backend(int parallel, int64_t prefill_chunk = 256, size_t max_queue = 64,
                                           int prefix_entries = 8) {
  server::LocalBackendOptions o;
  o.scheduler.prefix_cache_entries = prefix_entries;
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

// Each request's text does not depend on what else is in the batch. Greedy decoding: the
// kernels sum a one-row decode in a different order than a multi-row batch (last-bit logit
// differences, amplified by the F16 cache), so seeded *sampling* may part ways after a few
// dozen tokens; greedy choices on a trained model have margins far above that.
TEST(Scheduler, TextIsTheSameAloneAndAmongEightConcurrent) {
  TANDEM_REQUIRE_SHARED();
  auto b = make_backend(8);
  std::vector<std::string> alone;
  for (size_t i = 0; i < kPrompts.size(); ++i)
    alone.push_back(run_alone(*b, completion_request(kModel, kPrompts[i], 48, 0.0, 100 + static_cast<long>(i))));

  std::vector<std::shared_ptr<server::Generation>> gens;
  for (size_t i = 0; i < kPrompts.size(); ++i)
    gens.push_back(b->start(completion_request(kModel, kPrompts[i], 48, 0.0, 100 + static_cast<long>(i))));
  for (size_t i = 0; i < gens.size(); ++i) {
    const RequestResult r = collect(*gens[i], 1);
    ASSERT_TRUE(r.done) << r.error;
    EXPECT_EQ(r.choices[0].content, alone[i]) << "request " << i;
    EXPECT_EQ(r.usage.completion_tokens, 48);
  }
  // They really ran together: some forward pass carried all eight.
  EXPECT_GE(b->scheduler().stats().max_batch, 8);
}

// Seeded sampling: the same seed gives the same text (requests run one after another, so the
// batch shapes match), a different seed a different one.
TEST(Scheduler, SameSeedSameTextOtherSeedOtherText) {
  TANDEM_REQUIRE_SHARED();
  auto b = make_backend(2);
  const auto req = completion_request(kModel, "Once upon a time", 48, 0.9, 1234);
  const std::string first = run_alone(*b, req);
  EXPECT_EQ(run_alone(*b, req), first);
  EXPECT_NE(run_alone(*b, completion_request(kModel, "Once upon a time", 48, 0.9, 7)), first);
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
  auto b = make_backend(2, 256, 64, /*prefix_entries=*/0);  // nothing kept: cells must go to 0
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
  // A queued client that leaves gives its place up at once, while the slot is still busy.
  queued->cancel();
  EXPECT_TRUE(wait_until([&] { return b->stats().queue_depth == 0; }, std::chrono::seconds(5)));
  EXPECT_EQ(b->stats().running, 1);
  auto next = b->start(completion_request(kModel, "The dog", 4, 0.8, 1));
  running->cancel();
  EXPECT_TRUE(collect(*next, 1).done);
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
  auto blocker = b->start(completion_request(kModel, "Once upon a time", 400, 0.8, 1));
  ASSERT_TRUE(wait_until([&] { return b->stats().running == 1; }, std::chrono::seconds(5)));
  auto low = b->start(completion_request(kModel, "The sun was", 30, 0.0, 1));
  auto high_req = completion_request(kModel, "The little dog", 30, 0.0, 1);
  high_req.priority = 5;
  auto high = b->start(high_req);
  EXPECT_EQ(b->stats().queue_depth, 2);
  blocker->cancel();  // frees the only slot: the high-priority request takes it first
  const RequestResult h = collect(*high, 1), l = collect(*low, 1);
  ASSERT_TRUE(h.done && l.done);
  EXPECT_LT(h.done_at, l.first_token_at);
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
  const auto& tok = b->model().tokenizer();
  EXPECT_EQ(res.usage.prompt_tokens, static_cast<int64_t>(tok.encode("Once upon a time", true, true).size() +
                                                          tok.encode("The little dog", true, true).size()));
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

std::string story_prompt(int variant) {
  std::string p = "Once upon a time, there was a little girl named Lily. She loved to play outside in the "
                  "park with her friends. One day, she saw a big red ball under a tree. ";
  p += "She said to her mom, \"Can I play with the ball number " + std::to_string(variant) + "?\"";
  return p;
}

TEST(PrefixCache, RepeatedPromptReusesRowsAndKeepsTheText) {
  TANDEM_REQUIRE_SHARED();
  auto cached = make_backend(2);
  auto plain = make_backend(2, 256, 64, /*prefix_entries=*/0);
  const auto req = completion_request(kModel, story_prompt(1), 40, 0.0, 1);
  const RequestResult first = collect(*cached->start(req), 1);
  const RequestResult second = collect(*cached->start(req), 1);
  const RequestResult reference = collect(*plain->start(req), 1);
  ASSERT_TRUE(first.done && second.done && reference.done);
  EXPECT_EQ(first.usage.cached_prompt_tokens, 0);
  EXPECT_EQ(second.usage.cached_prompt_tokens, second.usage.prompt_tokens - 1);
  EXPECT_EQ(second.choices[0].content, first.choices[0].content);
  EXPECT_EQ(first.choices[0].content, reference.choices[0].content);
  EXPECT_EQ(cached->scheduler().stats().prefix_hits, 1);
  EXPECT_EQ(plain->scheduler().stats().prefix_hits, 0);
}

TEST(PrefixCache, SharedPrefixIsCopiedTheRestComputed) {
  TANDEM_REQUIRE_SHARED();
  auto b = make_backend(2);
  auto plain = make_backend(1, 256, 64, 0);
  const auto& tok = b->model().tokenizer();
  const auto a = tok.encode(story_prompt(1), true, true), c = tok.encode(story_prompt(2), true, true);
  size_t common = 0;
  while (common < a.size() && common < c.size() && a[common] == c[common]) ++common;
  ASSERT_GT(common, 30u);
  ASSERT_TRUE(collect(*b->start(completion_request(kModel, story_prompt(1), 10, 0.0, 1)), 1).done);
  const auto req2 = completion_request(kModel, story_prompt(2), 30, 0.0, 1);
  const RequestResult r = collect(*b->start(req2), 1);
  ASSERT_TRUE(r.done);
  EXPECT_EQ(r.usage.cached_prompt_tokens, static_cast<int64_t>(common));
  EXPECT_EQ(r.choices[0].content, collect(*plain->start(req2), 1).choices[0].content);
}

TEST(PrefixCache, ChoicesOfOneRequestComputeTheirPromptOnce) {
  TANDEM_REQUIRE_SHARED();
  auto shared = make_backend(4);
  auto plain = make_backend(4, 256, 64, /*prefix_entries=*/0);
  auto r = completion_request(kModel, story_prompt(3), 24, 0.0, 5);
  r.n = 3;
  const RequestResult a = collect(*shared->start(r), 3), b = collect(*plain->start(r), 3);
  ASSERT_TRUE(a.done && b.done);
  for (int c = 0; c < 3; ++c) EXPECT_EQ(a.choices[c].content, b.choices[c].content) << "choice " << c;
  // Two followers copied all but the last prompt token from the first choice.
  EXPECT_EQ(shared->scheduler().stats().prefix_tokens, 2 * (a.usage.prompt_tokens - 1));
  EXPECT_EQ(plain->scheduler().stats().prefix_tokens, 0);
}

TEST(PrefixCache, EvictsSoRunningSequencesAlwaysFit) {
  TANDEM_REQUIRE_SHARED();
  auto b = make_backend(2, 256, 64, /*prefix_entries=*/3);
  for (int v = 0; v < 6; ++v)
    ASSERT_TRUE(collect(*b->start(completion_request(kModel, story_prompt(v) + std::string(v, '!'), 30, 0.8, v)), 1).done);
  EXPECT_LE(b->scheduler().stats().prefix_entries, 3);
  // Two sequences that run to the end of their context still find their cells.
  std::vector<std::shared_ptr<server::Generation>> gens;
  for (int v = 0; v < 2; ++v) gens.push_back(b->start(completion_request(kModel, "The dog", 2000, 0.8, v)));
  for (auto& g : gens) {
    const RequestResult r = collect(*g, 1);
    ASSERT_TRUE(r.done) << r.error;
    EXPECT_EQ(r.choices[0].finish, server::FinishReason::Length);
    // 512 positions fill the context; the last token sampled from them is never fed back.
    EXPECT_EQ(r.usage.prompt_tokens + r.usage.completion_tokens, 513);
  }
  EXPECT_LE(b->stats().kv_cache_used, b->stats().kv_cache_total);
}

}  // namespace
}  // namespace tandem::testing
