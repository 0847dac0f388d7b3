#include "sample/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <map>
#include <random>
#include <vector>

#include "util/error.h"

namespace tandem::sample {
namespace {

std::vector<float> ramp(int n) {
  std::vector<float> l(n);
  for (int i = 0; i < n; ++i) l[i] = static_cast<float>(i) * 0.1f;
  return l;
}

SamplerParams greedy() {
  SamplerParams p;
  p.temperature = 0.0f;
  return p;
}

TEST(Sampler, GreedyPicksArgmaxLowestIdOnTie) {
  Sampler s(greedy(), 4);
  std::vector<float> l = {1.0f, 3.0f, 3.0f, 2.0f};
  EXPECT_EQ(s.sample(l), 1);
}

TEST(Sampler, SameSeedSameTokens) {
  SamplerParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.seed = 42;
  Sampler a(p, 100), b(p, 100);
  std::vector<int32_t> ta, tb;
  for (int i = 0; i < 200; ++i) {
    auto la = ramp(100), lb = ramp(100);
    ta.push_back(a.sample(la));
    tb.push_back(b.sample(lb));
  }
  EXPECT_EQ(ta, tb);
  p.seed = 43;
  Sampler c(p, 100);
  std::vector<int32_t> tc;
  for (int i = 0; i < 200; ++i) {
    auto l = ramp(100);
    tc.push_back(c.sample(l));
  }
  EXPECT_NE(ta, tc);
  a.reset();
  auto l = ramp(100);
  EXPECT_EQ(a.sample(l), ta[0]);
}

TEST(Sampler, DistributionFollowsSoftmax) {
  SamplerParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.seed = 7;
  Sampler s(p, 3);
  std::map<int, int> counts;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    std::vector<float> l = {0.0f, std::log(2.0f), std::log(5.0f)};  // probs 1/8, 2/8, 5/8
    ++counts[s.sample(l)];
  }
  EXPECT_NEAR(counts[0] / double(n), 0.125, 0.015);
  EXPECT_NEAR(counts[1] / double(n), 0.25, 0.015);
  EXPECT_NEAR(counts[2] / double(n), 0.625, 0.015);
}

TEST(Sampler, TopKRestrictsToBestK) {
  SamplerParams p;
  p.temperature = 5.0f;  // flat, so without top-k every token would appear
  p.top_k = 2;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  Sampler s(p, 10);
  for (int i = 0; i < 500; ++i) {
    auto l = ramp(10);
    int t = s.sample(l);
    EXPECT_TRUE(t == 9 || t == 8) << t;
  }
}

TEST(Sampler, TopPKeepsSmallestNucleus) {
  SamplerParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 0.7f;
  p.min_p = 0.0f;
  Sampler s(p, 3);
  for (int i = 0; i < 500; ++i) {
    std::vector<float> l = {std::log(0.1f), std::log(0.3f), std::log(0.6f)};
    int t = s.sample(l);  // 0.6 < 0.7, 0.6 + 0.3 >= 0.7: nucleus is {2, 1}
    EXPECT_NE(t, 0);
  }
}

// A nucleus far larger than the first sorted head (256): the sampler sorts a growing head of the
// candidates, which must give exactly the nucleus a full sort gives.
TEST(Sampler, TopPOnLargeVocabDrawsOnlyFromTheFullSortNucleus) {
  constexpr int kVocab = 50000;
  std::mt19937 gen(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> logits(kVocab);
  for (float& l : logits) l = normal(gen);
  SamplerParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 0.5f;
  p.min_p = 0.0f;
  // Reference nucleus by brute force.
  std::vector<std::pair<double, int>> probs;
  double z = 0.0;
  for (int i = 0; i < kVocab; ++i) z += std::exp(static_cast<double>(logits[i]));
  for (int i = 0; i < kVocab; ++i) probs.push_back({std::exp(static_cast<double>(logits[i])) / z, i});
  std::sort(probs.begin(), probs.end(), [](auto& a, auto& b) { return a.first > b.first; });
  std::vector<int> rank(kVocab);
  double cum = 0.0;
  size_t nucleus = 0;
  for (size_t r = 0; r < probs.size(); ++r) {
    rank[probs[r].second] = static_cast<int>(r);
    if (nucleus == 0 && (cum += probs[r].first) >= p.top_p) nucleus = r + 1;
  }
  ASSERT_GT(nucleus, 1024u) << "the test needs a nucleus beyond several sorted heads";
  Sampler s(p, kVocab);
  int beyond_first_head = 0;
  for (int i = 0; i < 400; ++i) {
    std::vector<float> l = logits;
    const int t = s.sample(l);
    ASSERT_LT(static_cast<size_t>(rank[t]), nucleus + 2) << "token outside the nucleus";  // float vs double cum
    beyond_first_head += rank[t] >= 256;
  }
  EXPECT_GT(beyond_first_head, 100);
}

TEST(Sampler, MinPDropsUnlikelyTokens) {
  SamplerParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.2f;
  Sampler s(p, 3);
  for (int i = 0; i < 500; ++i) {
    std::vector<float> l = {std::log(0.1f), std::log(0.3f), std::log(0.6f)};  // 0.1 < 0.2 * 0.6
    EXPECT_NE(s.sample(l), 0);
  }
}

TEST(Sampler, LogitBiasAndMask) {
  SamplerParams p = greedy();
  p.logit_bias[0] = 100.0f;
  Sampler s(p, 4);
  std::vector<float> l = {0, 1, 2, 3};
  EXPECT_EQ(s.sample(l), 0);
  std::vector<bool> allowed = {false, true, true, false};
  l = {0, 1, 2, 3};
  EXPECT_EQ(s.sample(l, &allowed), 2);
  std::vector<bool> none(4, false);
  EXPECT_THROW(s.sample(l, &none), InvalidArgument);
  SamplerParams bad = greedy();
  bad.logit_bias[99] = 1.0f;
  EXPECT_THROW(Sampler(bad, 4), InvalidArgument);
}

TEST(Sampler, PenaltiesLowerSeenTokens) {
  SamplerParams p = greedy();
  p.presence_penalty = 1.5f;
  Sampler s(p, 3);
  s.accept(2);
  std::vector<float> l = {0.0f, 1.0f, 2.0f};
  EXPECT_EQ(s.sample(l), 1);  // 2 - 1.5 < 1
  EXPECT_FLOAT_EQ(l[2], 0.5f);

  SamplerParams f = greedy();
  f.frequency_penalty = 0.5f;
  Sampler sf(f, 3);
  sf.accept(std::vector<int32_t>{2, 2, 2});
  l = {0.0f, 1.0f, 2.0f};
  EXPECT_EQ(sf.sample(l), 1);
  EXPECT_FLOAT_EQ(l[2], 0.5f);

  SamplerParams r = greedy();
  r.repetition_penalty = 2.0f;
  r.penalty_last_n = 1;
  Sampler sr(r, 3);
  sr.accept(std::vector<int32_t>{0, 2});  // only the last token (2) is in the window
  l = {-1.0f, 1.5f, 2.0f};
  EXPECT_EQ(sr.sample(l), 1);
  EXPECT_FLOAT_EQ(l[2], 1.0f);
  EXPECT_FLOAT_EQ(l[0], -1.0f);
}

TEST(Sampler, TopLogprobsAreNormalized) {
  Sampler s(greedy(), 3);
  std::vector<float> l = {0.0f, std::log(3.0f), std::log(6.0f)};
  auto top = s.top_logprobs(l, 2);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].id, 2);
  EXPECT_NEAR(top[0].prob, std::log(0.6), 1e-5);
  EXPECT_NEAR(top[1].prob, std::log(0.3), 1e-5);
}

}  // namespace
}  // namespace tandem::sample
