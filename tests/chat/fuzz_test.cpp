// Fuzz-style robustness: random and truncated templates must either render or throw a
// TemplateError (a tandem::Error); never crash, hang or throw anything else.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "chat/template.h"
#include "shared_data.h"

using namespace tandem::chat;
using json = nlohmann::ordered_json;

namespace {

const json& fuzz_context() {
  static const json ctx = json::parse(R"({
    "messages": [{"role": "system", "content": "sys"}, {"role": "user", "content": "hi"},
                 {"role": "assistant", "content": null, "tool_calls": [{"type": "function",
                   "function": {"name": "f", "arguments": {"a": 1}}}]},
                 {"role": "tool", "content": "r"}],
    "tools": [{"type": "function", "function": {"name": "f", "description": "d",
               "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}}}}],
    "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>"})");
  return ctx;
}

// Renders, accepting success or a TemplateError; anything else fails the test.
void try_template(const std::string& src) {
  RenderOptions o;
  o.limits.max_loop_iterations = 20000;
  o.limits.max_output_bytes = 1 << 20;
  o.limits.max_string_work_bytes = 16u << 20;
  try {
    Template t(src);
    (void)t.render(fuzz_context(), o);
  } catch (const TemplateError&) {
  } catch (const tandem::Error& e) {
    ADD_FAILURE() << "unexpected error type: " << e.what() << "\nfor: " << src;
  }
}

TEST(ChatFuzz, RandomFragmentSoup) {
  const std::vector<std::string> pieces = {
      "{{", "}}", "{%", "%}", "{#", "#}", "{%-", "-%}", "{{-", "-}}", " if ", " for ", " in ", " endif ",
      " endfor ", " else ", " elif ", " set ", " = ", " macro ", " endmacro ", " call ", " endcall ", "raw",
      "endraw", " x ", " messages ", " m ", "loop.index", ".role", "['content']", "[0]", "[1:]", "[::-1]",
      "|tojson", "|trim", "|length", "|items", "|map(attribute='role')", "|selectattr('role', 'eq', 'user')",
      "|list", "|join(',')", " is defined ", " is not none ", " and ", " or ", " not ", "(", ")", "[", "]",
      "{", "}", ",", ":", "'str'", "\"s\\n\"", "1", "2.5", "-", "+", "*", "**", "//", "%", "~", "==", "!=",
      "<", " if ", " else ", "namespace(a=1)", "ns.a", "range(3)", "raise_exception('x')", "\n", "  ",
      "text", "break", "continue", "caller()", "'",
  };
  std::mt19937 rng(20240726);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  int n = 0;
  for (; n < 4000 && std::chrono::steady_clock::now() < deadline; ++n) {
    std::string src;
    int len = 1 + static_cast<int>(rng() % 24);
    for (int i = 0; i < len; ++i) src += pieces[rng() % pieces.size()];
    try_template(src);
  }
  EXPECT_GT(n, 500);
}

TEST(ChatFuzz, RandomBytes) {
  std::mt19937 rng(7);
  for (int n = 0; n < 2000; ++n) {
    std::string src;
    int len = static_cast<int>(rng() % 64);
    for (int i = 0; i < len; ++i) src += static_cast<char>("{}%#-+ 'x\"\\|.()[]\n\xc3\xa9\xff"[rng() % 23]);
    try_template(src);
  }
}

TEST(ChatFuzz, TruncatedAndMutatedRealTemplates) {
  TANDEM_REQUIRE_SHARED();
  namespace fs = std::filesystem;
  std::mt19937 rng(99);
  int tried = 0;
  for (const auto& e : fs::directory_iterator(fs::path(tandem::testing::shared_dir()) / "testdata/templates")) {
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string src = ss.str();
    for (int k = 0; k < 60; ++k) {
      try_template(src.substr(0, rng() % (src.size() + 1)));  // truncated
      std::string mutated = src;
      for (int m = 0; m < 3; ++m) mutated[rng() % mutated.size()] = "{}%#-'\"|()x \n"[rng() % 13];
      try_template(mutated);
      tried += 2;
    }
  }
  EXPECT_GT(tried, 0);
}

}  // namespace
