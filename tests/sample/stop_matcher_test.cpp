#include "sample/stop_matcher.h"

#include <gtest/gtest.h>

namespace tandem::sample {
namespace {

TEST(StopMatcher, HoldsBackPossiblePrefixAndCutsAtStop) {
  StopMatcher m({"\nUser:"});
  EXPECT_EQ(m.feed("Hello"), "Hello");
  EXPECT_EQ(m.feed(" there\nUs"), " there");  // "\nUs" could start the stop string
  EXPECT_FALSE(m.stopped());
  EXPECT_EQ(m.feed("er: hi"), "");
  EXPECT_TRUE(m.stopped());
  EXPECT_EQ(m.matched(), "\nUser:");
  EXPECT_EQ(m.feed("more"), "");
}

TEST(StopMatcher, ReleasesHeldTextWhenPrefixBreaks) {
  StopMatcher m({"END"});
  EXPECT_EQ(m.feed("abcE"), "abc");
  EXPECT_EQ(m.feed("Nx"), "ENx");
  EXPECT_EQ(m.feed("EN"), "");
  EXPECT_EQ(m.flush(), "EN");
  EXPECT_FALSE(m.stopped());
}

TEST(StopMatcher, EarliestOfSeveralStopsWins) {
  StopMatcher m({"bb", "a"});
  EXPECT_EQ(m.feed("xxbbya"), "xx");
  EXPECT_EQ(m.matched(), "bb");
}

TEST(StopMatcher, NoStopsPassesEverything) {
  StopMatcher m({});
  EXPECT_EQ(m.feed("anything"), "anything");
  EXPECT_EQ(m.flush(), "");
}

}  // namespace
}  // namespace tandem::sample
