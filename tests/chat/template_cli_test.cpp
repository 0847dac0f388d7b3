// `tandem template render` end to end: the real binary, a .jinja file and a GGUF file whose
// tokenizer.chat_template and BOS/EOS token texts must be picked up.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "chat/template.h"
#include "gguf/writer.h"

namespace fs = std::filesystem;

namespace {

const char* kTemplate =
    "{{ bos_token }}{% for m in messages %}<|{{ m.role }}|>\n{{ m.content | trim }}{{ eos_token }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}{% if tools %}{{ tools | tojson }}{% endif %}";

struct Result {
  int status;
  std::string out;
};

Result run(const std::string& args) {
  std::string cmd = std::string(TANDEM_BINARY_DIR) + "/src/cli/tandem " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = pclose(p);
  return {status, out};
}

void write(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

class TemplateCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(TANDEM_BINARY_DIR) / "tests/chat/cli_tmp";
    fs::create_directories(dir_);
    write(dir_ / "t.jinja", kTemplate);
    write(dir_ / "conv.json", R"([{"role": "user", "content": "  Hi é  "}, {"role": "assistant", "content": "Yo"}])");
    write(dir_ / "tools.json", R"([{"type": "function", "function": {"name": "f", "z": 1, "a": 2}}])");
  }
  fs::path dir_;
};

TEST_F(TemplateCli, RendersJinjaFileExactly) {
  Result r = run("template render " + (dir_ / "t.jinja").string() + " --messages " + (dir_ / "conv.json").string() +
                 " --add-generation-prompt --bos '<s>' --eos '</s>' --tools " + (dir_ / "tools.json").string());
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out,
            "<s><|user|>\nHi é</s>\n<|assistant|>\nYo</s>\n<|assistant|>\n"
            R"([{"type": "function", "function": {"name": "f", "z": 1, "a": 2}}])");
}

TEST_F(TemplateCli, ReadsTemplateAndSpecialTokensFromGguf) {
  tandem::gguf::Writer w;
  w.set("general.architecture", tandem::gguf::Value::str("llama"));
  w.set("tokenizer.ggml.tokens", tandem::gguf::Value::str_array({"<unk>", "<BOS>", "<EOS>", "a"}));
  w.set("tokenizer.ggml.bos_token_id", tandem::gguf::Value::u32(1));
  w.set("tokenizer.ggml.eos_token_id", tandem::gguf::Value::u32(2));
  w.set("tokenizer.chat_template", tandem::gguf::Value::str(kTemplate));
  w.write((dir_ / "m.gguf").string());
  Result r = run("template render " + (dir_ / "m.gguf").string() + " --messages " + (dir_ / "conv.json").string());
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "<BOS><|user|>\nHi é<EOS>\n<|assistant|>\nYo<EOS>\n");
}

TEST_F(TemplateCli, ReportsTemplateErrorsWithTheLine) {
  write(dir_ / "bad.jinja", "ok\n{{ raise_exception('no system role') }}");
  Result r = run("template render " + (dir_ / "bad.jinja").string() + " --messages " + (dir_ / "conv.json").string());
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("line 2: no system role"), std::string::npos) << r.out;
  write(dir_ / "bad2.jinja", "{% for %}");
  r = run("template render " + (dir_ / "bad2.jinja").string() + " --messages " + (dir_ / "conv.json").string());
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("line 1"), std::string::npos) << r.out;
}

}  // namespace
