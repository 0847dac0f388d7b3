// Runs the real `tandem inspect` binary on the shared stories260K model and on corrupt files,
// checking its output and exit status.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "gguf/writer.h"
#include "shared_data.h"

namespace {

namespace fs = std::filesystem;

struct RunResult {
  int exit_code = -1;
  std::string output;  // stdout, and stderr too when merged
};

std::string tandem_binary() { return std::string(TANDEM_BINARY_DIR) + "/src/cli/tandem"; }

RunResult run(const std::string& args, bool merge_stderr = true) {
  std::string cmd = "'" + tandem_binary() + "' " + args + (merge_stderr ? " 2>&1" : " 2>/dev/null");
  RunResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string stories() { return tandem::testing::shared_dir() + "/testdata/models/stories260K.gguf"; }

class InspectCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(tandem_binary())) GTEST_SKIP() << "tandem binary not built: " << tandem_binary();
    dir_ = fs::temp_directory_path() / ("tandem_inspect_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  std::string write_file(const std::string& name, const std::string& bytes) {
    fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p.string();
  }
  fs::path dir_;
};

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST_F(InspectCli, ModelCardForStories260K) {
  TANDEM_REQUIRE_SHARED();
  RunResult r = run("inspect '" + stories() + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string& o = r.output;
  EXPECT_TRUE(contains(o, "GGUF v3")) << o;
  EXPECT_TRUE(contains(o, "architecture:   llama")) << o;
  EXPECT_TRUE(contains(o, "parameters:     292.80K (292800)")) << o;
  EXPECT_TRUE(contains(o, "(1185376 bytes)")) << o;
  EXPECT_TRUE(contains(o, "f32")) << o;
  EXPECT_TRUE(contains(o, "48 tensors")) << o;
  EXPECT_TRUE(contains(o, "context length: 512")) << o;
  EXPECT_TRUE(contains(o, "chat template:  absent")) << o;
  EXPECT_TRUE(contains(o, "tokenizer:      llama, 512 tokens")) << o;
  EXPECT_TRUE(contains(o, "metadata (19 keys)")) << o;
  EXPECT_TRUE(contains(o, "tokenizer.ggml.tokens")) << o;
  EXPECT_TRUE(contains(o, "(512 x string)")) << o;  // arrays abbreviated
  EXPECT_TRUE(contains(o, "tensors (48)")) << o;
  EXPECT_TRUE(contains(o, "token_embd.weight")) << o;
  EXPECT_TRUE(contains(o, "[64, 512]")) << o;
  EXPECT_TRUE(contains(o, "131072")) << o;  // token_embd bytes
  EXPECT_FALSE(contains(o, "license:")) << o;  // not in this file, so not shown

  RunResult brief = run("inspect --no-tensors '" + stories() + "'");
  ASSERT_EQ(brief.exit_code, 0);
  EXPECT_FALSE(contains(brief.output, "tensors (48)"));
  EXPECT_FALSE(contains(brief.output, "blk.0.attn_q.weight"));
}

TEST_F(InspectCli, JsonOutput) {
  TANDEM_REQUIRE_SHARED();
  RunResult r = run("inspect --json '" + stories() + "'", false);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  nlohmann::json j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["gguf_version"], 3);
  EXPECT_EQ(j["architecture"], "llama");
  EXPECT_EQ(j["parameters"], 292800);
  EXPECT_EQ(j["file_size"], 1185376);
  EXPECT_EQ(j["data_offset"], 14176);
  EXPECT_EQ(j["context_length"], 512);
  EXPECT_EQ(j["chat_template"], false);
  EXPECT_TRUE(j["license"].is_null());
  EXPECT_EQ(j["tokenizer"]["model"], "llama");
  EXPECT_EQ(j["tokenizer"]["vocab_size"], 512);
  ASSERT_EQ(j["tensor_types"].size(), 1u);
  EXPECT_EQ(j["tensor_types"][0]["type"], "f32");
  EXPECT_EQ(j["tensor_types"][0]["tensors"], 48);
  EXPECT_EQ(j["metadata"].size(), 19u);
  EXPECT_EQ(j["metadata"]["llama.block_count"], 5);
  EXPECT_EQ(j["metadata"]["tokenizer.ggml.tokens"]["length"], 512);
  ASSERT_EQ(j["tensors"].size(), 48u);
  EXPECT_EQ(j["tensors"][0]["name"], "token_embd.weight");
  EXPECT_EQ(j["tensors"][0]["shape"], nlohmann::json({64, 512}));

  RunResult brief = run("inspect --json --no-tensors '" + stories() + "'", false);
  ASSERT_EQ(brief.exit_code, 0);
  EXPECT_FALSE(nlohmann::json::parse(brief.output).contains("tensors"));
}

TEST_F(InspectCli, LicenseAndChatTemplateShownWhenPresent) {
  tandem::gguf::Writer w;
  w.set("general.architecture", tandem::gguf::Value::str("phi3"));
  w.set("general.license", tandem::gguf::Value::str("mit"));
  w.set("phi3.context_length", tandem::gguf::Value::u32(4096));
  w.set("tokenizer.chat_template", tandem::gguf::Value::str("{{ messages }}"));
  std::string path = (dir_ / "card.gguf").string();
  w.write(path);
  RunResult r = run("inspect '" + path + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "license:        mit")) << r.output;
  EXPECT_TRUE(contains(r.output, "chat template:  present")) << r.output;
  EXPECT_TRUE(contains(r.output, "context length: 4096")) << r.output;
}

TEST_F(InspectCli, CorruptFilesGiveOneClearError) {
  std::string bad_magic = write_file("bad_magic.gguf", "GGML this is not a gguf file at all....");
  RunResult r = run("inspect '" + bad_magic + "'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.output.rfind("tandem: error: " + bad_magic + ": not a GGUF file: bad magic", 0), 0u)
      << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;

  RunResult missing = run("inspect '" + (dir_ / "absent.gguf").string() + "'");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(contains(missing.output, "cannot open")) << missing.output;

  if (!tandem::testing::shared_available()) return;
  std::ifstream in(stories(), std::ios::binary);
  std::string head(10000, '\0');  // the header alone is 14176 bytes
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  std::string truncated = write_file("truncated.gguf", head);
  RunResult t = run("inspect '" + truncated + "'");
  EXPECT_EQ(t.exit_code, 1);
  EXPECT_TRUE(contains(t.output, "tandem: error: " + truncated + ": ")) << t.output;
  EXPECT_TRUE(contains(t.output, "truncated")) << t.output;
}

}  // namespace
