// Generation: the bounded result channel between engine and connection.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "server/generation.h"

namespace tandem::server {
namespace {

TEST(Generation, DeliversEventsInOrder) {
  Generation g(8);
  EXPECT_TRUE(g.push(GenerationEvent::delta(0, "a")));
  EXPECT_TRUE(g.push(GenerationEvent::delta(0, "b")));
  EXPECT_TRUE(g.push(GenerationEvent::finish(0, FinishReason::Length)));
  EXPECT_TRUE(g.push(GenerationEvent::done({3, 2, 0})));
  std::vector<GenerationEvent> out;
  EXPECT_EQ(g.drain(out), 4u);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].content, "a");
  EXPECT_EQ(out[1].content, "b");
  EXPECT_EQ(out[2].finish_reason, FinishReason::Length);
  EXPECT_EQ(out[3].usage.completion_tokens, 2);
  EXPECT_TRUE(g.finished());
}

TEST(Generation, FullBufferRefusesDeltasButNotTerminalEvents) {
  Generation g(2);
  EXPECT_TRUE(g.push(GenerationEvent::delta(0, "a")));
  EXPECT_TRUE(g.push(GenerationEvent::delta(0, "b")));
  EXPECT_FALSE(g.has_room());
  EXPECT_FALSE(g.push(GenerationEvent::delta(0, "c")));  // engine must pause the sequence
  EXPECT_TRUE(g.push(GenerationEvent::finish(0, FinishReason::Stop)));
  EXPECT_TRUE(g.push(GenerationEvent::done({})));
  EXPECT_FALSE(g.push(GenerationEvent::delta(0, "late")));  // nothing after the end
  std::vector<GenerationEvent> out;
  g.drain(out);
  EXPECT_EQ(out.size(), 4u);
  EXPECT_TRUE(g.has_room());
}

TEST(Generation, DrainingMakesRoomAgain) {
  Generation g(1);
  EXPECT_TRUE(g.push(GenerationEvent::delta(0, "a")));
  EXPECT_FALSE(g.push(GenerationEvent::delta(0, "b")));
  std::vector<GenerationEvent> out;
  g.drain(out);
  EXPECT_TRUE(g.push(GenerationEvent::delta(0, "b")));
}

TEST(Generation, WakerFiresOncePerDrain) {
  Generation g(16);
  int wakes = 0;
  g.set_waker([&] { ++wakes; });
  g.push(GenerationEvent::delta(0, "a"));
  g.push(GenerationEvent::delta(0, "b"));
  EXPECT_EQ(wakes, 1);  // coalesced until the consumer drains
  std::vector<GenerationEvent> out;
  g.drain(out);
  g.push(GenerationEvent::delta(0, "c"));
  EXPECT_EQ(wakes, 2);
}

TEST(Generation, WakerSetLateStillFiresForQueuedEvents) {
  Generation g(16);
  g.push(GenerationEvent::delta(0, "early"));
  int wakes = 0;
  g.set_waker([&] { ++wakes; });
  EXPECT_EQ(wakes, 1);
}

TEST(Generation, CancelIsSeenByProducerAndStopsPushes) {
  Generation g(16);
  EXPECT_FALSE(g.cancelled());
  g.cancel();
  EXPECT_TRUE(g.cancelled());
  EXPECT_FALSE(g.push(GenerationEvent::delta(0, "x")));
  EXPECT_FALSE(g.push(GenerationEvent::done({})));
}

TEST(Generation, DetachedWakerIsNeverCalled) {
  Generation g(16);
  std::atomic<int> wakes{0};
  g.set_waker([&] { wakes.fetch_add(1); });
  g.detach_waker();
  g.push(GenerationEvent::delta(0, "x"));
  EXPECT_EQ(wakes.load(), 0);
}

TEST(Generation, WaitDrainWakesOnPushFromAnotherThread) {
  Generation g(16);
  std::thread producer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    g.push(GenerationEvent::done({}));
  });
  std::vector<GenerationEvent> out;
  const auto t0 = std::chrono::steady_clock::now();
  while (out.empty() && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5)) {
    g.wait_drain(out, std::chrono::milliseconds(1000));
  }
  producer.join();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].terminal());
}

TEST(Generation, WaitDrainTimesOutWhenNothingArrives) {
  Generation g(16);
  std::vector<GenerationEvent> out;
  EXPECT_EQ(g.wait_drain(out, std::chrono::milliseconds(10)), 0u);
}

}  // namespace
}  // namespace tandem::server
