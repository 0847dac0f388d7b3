// The flat tables behind Vocab: every text findable by its exact bytes, repeats reported with
// the id that keeps the text, merges found by id pair with the first (lowest-rank) rule kept.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tokenizer/token_tables.h"

namespace tandem::tokenizer {
namespace {

TEST(TokenTables, ArenaKeepsEveryTextIncludingEmptyOnes) {
  TextArena a;
  const std::vector<std::string> texts = {"", "a", std::string("\0b", 2), "", "\xE2\x96\x81the"};
  for (const std::string& t : texts) a.push_back(t);
  ASSERT_EQ(a.size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(a[i], texts[i]) << i;
  EXPECT_EQ(a.bytes(), 1u + 2u + 6u);
}

TEST(TokenTables, IndexFindsEveryTextAndOnlyThose) {
  TextArena a;
  std::vector<std::string> texts;
  for (int i = 0; i < 5000; ++i) texts.push_back("t" + std::to_string(i * 31));
  texts.push_back("");  // an empty text is a text like any other
  for (const std::string& t : texts) a.push_back(t);
  TextIndex index;
  index.build(a, [](int32_t id, int32_t) { ADD_FAILURE() << "no repeats expected, got " << id; });
  for (size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(index.find(a, texts[i]), static_cast<int32_t>(i));
  EXPECT_EQ(index.find(a, "t1"), TextIndex::kAbsent);
  EXPECT_EQ(index.find(a, "t0 "), TextIndex::kAbsent);
  EXPECT_EQ(TextIndex().find(a, "t0"), TextIndex::kAbsent);  // an index never built finds nothing
  EXPECT_LT(index.capacity_bytes(), texts.size() * 16);       // a few bytes a token, not a node
}

TEST(TokenTables, IndexReportsRepeatsAndKeepsTheFirst) {
  TextArena a;
  for (const char* t : {"x", "y", "x", "z", "y"}) a.push_back(t);
  std::vector<std::pair<int32_t, int32_t>> repeats;
  TextIndex index;
  index.build(a, [&](int32_t id, int32_t first) { repeats.emplace_back(id, first); });
  EXPECT_EQ(repeats, (std::vector<std::pair<int32_t, int32_t>>{{2, 0}, {4, 1}}));
  EXPECT_EQ(index.find(a, "x"), 0);
  EXPECT_EQ(index.find(a, "y"), 1);
}

TEST(TokenTables, MergeTableKeepsTheFirstRuleAndGrows) {
  MergeTable m;  // no reserve: grows as rules arrive
  EXPECT_EQ(m.find(1, 2), nullptr);
  for (int32_t i = 0; i < 20000; ++i) m.insert(i, i + 1, {i, 100000 + i});
  m.insert(5, 6, {99999, 7});  // a later rule for the same pair never replaces the first
  EXPECT_EQ(m.size(), 20000u);
  for (int32_t i = 0; i < 20000; i += 7) {
    const MergeRule* r = m.find(i, i + 1);
    ASSERT_NE(r, nullptr) << i;
    EXPECT_EQ(r->rank, i);
    EXPECT_EQ(r->result, 100000 + i);
  }
  EXPECT_EQ(m.find(6, 5), nullptr);  // order matters
  EXPECT_EQ(m.find(-1, -1), nullptr);
  EXPECT_EQ(m.find(5, 6)->rank, 5);
}

}  // namespace
}  // namespace tandem::tokenizer
