// End-to-end tests of `tandem run` and `tandem bench`: the real binary on the real stories260K
// model (../shared), checked against the text two independent engines produce.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "shared_data.h"

namespace {

const std::string kTandem = std::string(TANDEM_BINARY_DIR) + "/src/cli/tandem";

struct Result {
  int status;
  std::string out;
};

Result run(const std::string& args) {
  const std::string cmd = kTandem + " " + args + " 2>/dev/null";
  Result r{-1, {}};
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  r.status = pclose(p);
  return r;
}

std::string stories() { return tandem::testing::shared_dir() + "/testdata/models/stories260K.gguf"; }

std::string expected_text() {
  std::ifstream in(tandem::testing::shared_dir() + "/testdata/models/stories260K.expected.txt");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(RunCli, GreedyStoryMatchesReferenceEngines) {
  TANDEM_REQUIRE_SHARED();
  // 196 tokens as the reference; -q prints a final newline as run.c does.
  auto r = run("run " + stories() + " -p 'Once upon a time' --temp 0 -n 196 -q -t 2 --kv-type f32");
  ASSERT_EQ(r.status, 0);
  EXPECT_EQ("Once upon a time" + r.out, expected_text());
}

TEST(RunCli, SameSeedSameTextAcrossThreadCounts) {
  TANDEM_REQUIRE_SHARED();
  const std::string args = "run " + stories() + " -p 'Once upon a time' --temp 0.9 --seed 7 -n 60 -q";
  auto a = run(args + " -t 1"), b = run(args + " -t 2"), c = run(args + " -t 1");
  ASSERT_EQ(a.status, 0);
  EXPECT_EQ(a.out, c.out);
  EXPECT_EQ(a.out, b.out);
  auto d = run("run " + stories() + " -p 'Once upon a time' --temp 0.9 --seed 8 -n 60 -q -t 1");
  EXPECT_NE(a.out, d.out);
}

TEST(RunCli, StopStringEndsOutputBeforeIt) {
  TANDEM_REQUIRE_SHARED();
  auto r = run("run " + stories() + " -p 'Once upon a time' --temp 0 -n 196 -q --stop 'Lily'");
  ASSERT_EQ(r.status, 0);
  EXPECT_EQ(r.out, ", there was a little girl named \n");
}

TEST(RunCli, BadInputIsAClearError) {
  auto missing = run("run /nonexistent.gguf -p hi");
  EXPECT_NE(missing.status, 0);
  std::string cmd = kTandem + " run /etc/passwd -p hi 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::array<char, 4096> buf{};
  std::string err;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) err.append(buf.data(), n);
  EXPECT_NE(pclose(p), 0);
  EXPECT_NE(err.find("/etc/passwd"), std::string::npos) << err;
  EXPECT_NE(err.find("GGUF"), std::string::npos) << err;
}

TEST(BenchCli, JsonReportsBothTests) {
  TANDEM_REQUIRE_SHARED();
  auto r = run("bench " + stories() + " -p 32 -n 8 -r 2 --json -t 1");
  ASSERT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("\"pp32\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"tg8\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"tokens_per_second\""), std::string::npos);
}

}  // namespace
