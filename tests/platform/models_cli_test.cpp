// End-to-end tests of `tandem models list|show|rm|pull`: the real binary on a scratch store and a
// local HTTP server, including Ctrl-C during a pull and resuming afterwards.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

#include "http_server_process.h"
#include "platform/sha256.h"
#include "store_fixtures.h"

namespace {

using tandem::testing::exists;
using tandem::testing::read_file;
using tandem::testing::ScratchDir;
using tandem::testing::write_file;

const std::string kTandem = std::string(TANDEM_BINARY_DIR) + "/src/cli/tandem";

struct Result {
  int status = -1;
  std::string out, err;
};

// Runs `tandem ARGS` with stdout and stderr captured (stderr is a file, not a TTY).
Result tandem(const ScratchDir& scratch, const std::string& args) {
  const std::string out = scratch / "stdout.txt", err = scratch / "stderr.txt";
  int raw = std::system((kTandem + " " + args + " >" + out + " 2>" + err).c_str());
  Result r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

class ModelsCli : public ::testing::Test {
 protected:
  ScratchDir scratch_;
  std::string store_ = scratch_ / "models";
  std::string flag_ = " --models-dir " + store_;
  void SetUp() override { std::filesystem::create_directories(store_); }
};

TEST_F(ModelsCli, ListShowsModelsAndCorruptFiles) {
  tandem::testing::write_small_model(store_ + "/tiny.gguf", 64, "tiny");
  write_file(store_ + "/broken.gguf", "not gguf at all");
  Result text = tandem(scratch_, "models list" + flag_);
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_NE(text.out.find("tiny"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("Q8_0 94%, F32 6%"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("4096"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("broken"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("error:"), std::string::npos) << text.out;

  Result json = tandem(scratch_, "models list --json" + flag_);
  ASSERT_EQ(json.status, 0) << json.err;
  auto j = nlohmann::json::parse(json.out);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["id"], "broken");
  EXPECT_TRUE(j[0]["error"].is_string());
  EXPECT_EQ(j[1]["id"], "tiny");
  EXPECT_EQ(j[1]["architecture"], "llama");
  EXPECT_EQ(j[1]["parameters"], 64 * 64 + 64);
  EXPECT_EQ(j[1]["context_length"], 4096);
}

TEST_F(ModelsCli, EnvironmentChoosesTheDefaultDirectory) {
  tandem::testing::write_small_model(store_ + "/fromenv.gguf");
  ::setenv("TANDEM_MODELS", store_.c_str(), 1);
  Result env = tandem(scratch_, "models list --json");
  ::unsetenv("TANDEM_MODELS");
  ASSERT_EQ(env.status, 0) << env.err;
  EXPECT_EQ(nlohmann::json::parse(env.out)[0]["id"], "fromenv");
}

TEST_F(ModelsCli, ShowAndRemove) {
  tandem::testing::write_small_model(store_ + "/tiny.gguf", 64, "tiny");
  Result show = tandem(scratch_, "models show tiny" + flag_);
  ASSERT_EQ(show.status, 0) << show.err;
  EXPECT_NE(show.out.find("tiny"), std::string::npos);
  EXPECT_NE(show.out.find("no sidecar"), std::string::npos) << show.out;
  Result json = tandem(scratch_, "models show tiny --json" + flag_);
  ASSERT_EQ(json.status, 0);
  EXPECT_EQ(nlohmann::json::parse(json.out)["name"], "tiny");

  Result missing = tandem(scratch_, "models rm nope" + flag_);
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("no model 'nope'"), std::string::npos) << missing.err;
  EXPECT_EQ(tandem(scratch_, "models show nope" + flag_).status, 1);

  Result rm = tandem(scratch_, "models rm tiny" + flag_);
  EXPECT_EQ(rm.status, 0) << rm.err;
  EXPECT_FALSE(exists(store_ + "/tiny.gguf"));
}

TEST_F(ModelsCli, PullInterruptedByCtrlCResumesOnTheNextRun) {
  ScratchDir served;
  tandem::testing::write_small_model(served / "big.gguf", 3000);
  tandem::testing::HttpServerProcess server(served.str(), served / "requests.log");
  const std::string sha = tandem::platform::sha256_of_file(served / "big.gguf");

  // The server stalls after 4000 bytes; Ctrl-C must stop the pull and keep those bytes.
  std::string url = server.url("/big.gguf?stall_after=4000");
  std::vector<std::string> args = {kTandem, "models", "pull", url, "--models-dir", store_};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  ASSERT_EQ(posix_spawn(&pid, kTandem.c_str(), &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  const std::string part = store_ + "/big.gguf.part";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline &&
         !(exists(part) && std::filesystem::file_size(part) == 4000))
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ::kill(pid, SIGINT);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  ASSERT_TRUE(exists(part));
  EXPECT_EQ(std::filesystem::file_size(part), 4000u);

  Result r =
      tandem(scratch_, "models pull " + server.url("/big.gguf") + " --sha256 " + sha + flag_);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("resumed from byte 4000"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("pull: "), std::string::npos) << r.err;  // plain progress lines
  EXPECT_EQ(r.err.find('\r'), std::string::npos);               // no bar redraws off a TTY
  EXPECT_NE(r.out.find("verified against --sha256"), std::string::npos) << r.out;
  EXPECT_EQ(read_file(store_ + "/big.gguf"), read_file(served / "big.gguf"));

  Result listed = tandem(scratch_, "models show big --json" + flag_);
  ASSERT_EQ(listed.status, 0);
  EXPECT_EQ(nlohmann::json::parse(listed.out)["source"]["sha256"], sha);

  Result bad = tandem(scratch_, "models pull " + server.url("/nothing.gguf") + flag_);
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("HTTP 404"), std::string::npos) << bad.err;
}

}  // namespace
