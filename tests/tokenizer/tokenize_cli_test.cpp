// End-to-end: the real `tandem tokenize` binary on the shared stories260K model.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <string>

#include "shared_data.h"

namespace {

struct RunResult {
  std::string out;
  int status = -1;
};

RunResult run(const std::string& args) {
  const std::string cmd = std::string(TANDEM_BINARY_DIR) + "/src/cli/tandem " + args + " 2>&1";
  RunResult r;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  r.status = pclose(pipe);
  return r;
}

std::string stories() { return tandem::testing::shared_dir() + "/testdata/models/stories260K.gguf"; }

TEST(TokenizeCli, PrintsIdsOnOneLine) {
  TANDEM_REQUIRE_SHARED();
  const RunResult r = run("tokenize " + stories() + " --ids 'Once upon a time'");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "1 403 407 261 378\n");
}

TEST(TokenizeCli, NoBosDropsTheBos) {
  TANDEM_REQUIRE_SHARED();
  const RunResult r = run("tokenize " + stories() + " --ids --no-bos 'Once upon a time'");
  EXPECT_EQ(r.out, "403 407 261 378\n");
}

TEST(TokenizeCli, PrintsPiecesPerToken) {
  TANDEM_REQUIRE_SHARED();
  const RunResult r = run("tokenize " + stories() + " 'Once upon'");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("403 ' Once'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("3 tokens"), std::string::npos) << r.out;
}

TEST(TokenizeCli, MissingModelIsAClearError) {
  const RunResult r = run("tokenize /nonexistent/model.gguf hello");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("/nonexistent/model.gguf"), std::string::npos) << r.out;
}

}  // namespace
