// Feature coverage against Jinja2: ~120 small templates (tests/chat/data/snippets.json) covering
// literals, operators, statements, whitespace control, filters, tests and methods, each rendered
// by Python's Jinja2 (render_reference.py --snippets) and by tandem, compared byte for byte.
// Where Jinja2 fails (syntax or runtime error), tandem must fail too.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "chat/template.h"

namespace fs = std::filesystem;
using namespace tandem::chat;

namespace {

constexpr const char* kFixedDate = "2024-07-26T09:05:00";

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(ChatSnippets, MatchJinja2) {
  if (!fs::exists(TANDEM_PYTHON)) GTEST_SKIP() << "reference python " << TANDEM_PYTHON << " not found";
  fs::path snippets = fs::path(TANDEM_SOURCE_DIR) / "tests/chat/data/snippets.json";
  fs::path out_dir = fs::path(TANDEM_BINARY_DIR) / "tests/chat/reference/snippets";
  std::string cmd = std::string("TANDEM_FIXED_DATE=") + kFixedDate + " '" + TANDEM_PYTHON + "' '" + TANDEM_SOURCE_DIR +
                    "/tests/chat/render_reference.py' --snippets '" + snippets.string() + "' '" + out_dir.string() + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "reference renderer failed: " << cmd;

  auto data = nlohmann::ordered_json::parse(read_file(snippets));
  RenderOptions options;
  options.fixed_now = parse_fixed_date(kFixedDate);
  int identical = 0, both_failed = 0;
  for (auto it = data["snippets"].begin(); it != data["snippets"].end(); ++it) {
    const std::string name = it.key();
    const std::string source = it.value()["template"];
    SCOPED_TRACE("snippet " + name + ": " + source);
    fs::path err = out_dir / (name + ".err");
    std::string got;
    std::string tandem_error;
    bool raised_by_template = false;
    try {
      got = Template(source).render(it.value()["context"], options);
    } catch (const TemplateRaised& e) {
      tandem_error = e.what();
      raised_by_template = true;
      if (fs::exists(err)) {
        EXPECT_EQ("TemplateError: " + e.detail(), read_file(err));
      }
    } catch (const TemplateError& e) {
      tandem_error = e.what();
    }
    if (fs::exists(err)) {
      EXPECT_FALSE(tandem_error.empty()) << "Jinja2 failed (" << read_file(err) << ") but tandem rendered: " << got;
      if (!raised_by_template) {
        EXPECT_NE(read_file(err).rfind("TemplateError: ", 0), 0u);
      }
      if (!tandem_error.empty()) ++both_failed;
      continue;
    }
    EXPECT_TRUE(tandem_error.empty()) << "tandem failed: " << tandem_error;
    std::string want = read_file(out_dir / (name + ".out"));
    EXPECT_EQ(got, want);
    if (tandem_error.empty() && got == want) ++identical;
  }
  std::printf("snippets: %d identical, %d failing in both\n", identical, both_failed);
}

}  // namespace
