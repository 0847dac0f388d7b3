// Golden test: every template in ../shared/testdata/templates renders byte-identically to
// Python's Jinja2 (configured as Hugging Face does, see render_reference.py) for a fixed set of
// conversations; where Jinja2 raises, tandem must raise too (with the same message when the
// template itself calls raise_exception).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "chat/template.h"
#include "shared_data.h"

namespace fs = std::filesystem;
using tandem::chat::RenderOptions;
using tandem::chat::Template;
using tandem::chat::TemplateError;
using tandem::chat::TemplateRaised;

namespace {

constexpr const char* kFixedDate = "2024-07-26";

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

fs::path cases_path() { return fs::path(TANDEM_SOURCE_DIR) / "tests/chat/data/cases.json"; }
fs::path templates_dir() { return fs::path(tandem::testing::shared_dir()) / "testdata/templates"; }

std::vector<std::string> template_names() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(templates_dir(), ec))
    if (e.path().extension() == ".jinja") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  if (names.empty()) names.push_back("NO_SHARED_TEMPLATES");
  return names;
}

// Mirrors build_context() in render_reference.py.
nlohmann::ordered_json build_context(const nlohmann::ordered_json& data, const nlohmann::ordered_json& c) {
  nlohmann::ordered_json ctx = {{"bos_token", "<s>"}, {"eos_token", "</s>"}, {"tools", nullptr}, {"documents", nullptr}};
  for (auto it = c.begin(); it != c.end(); ++it) {
    const auto& v = it.value();
    if (v.is_string() && v.get<std::string>().rfind('@', 0) == 0) ctx[it.key()] = data.at(v.get<std::string>().substr(1));
    else ctx[it.key()] = v;
  }
  return ctx;
}

std::string first_difference(const std::string& want, const std::string& got) {
  size_t i = 0;
  while (i < want.size() && i < got.size() && want[i] == got[i]) ++i;
  size_t from = i > 60 ? i - 60 : 0;
  return "first difference at byte " + std::to_string(i) + "\n  jinja2: ..." + want.substr(from, 120) +
         "\n  tandem: ..." + got.substr(from, 120);
}

class GoldenTemplate : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTemplate, MatchesJinja2) {
  TANDEM_REQUIRE_SHARED();
  const std::string name = GetParam();
  ASSERT_NE(name, "NO_SHARED_TEMPLATES") << "no templates in " << templates_dir();
  if (!fs::exists(TANDEM_PYTHON)) GTEST_SKIP() << "reference python " << TANDEM_PYTHON << " not found";

  fs::path out_dir = fs::path(TANDEM_BINARY_DIR) / "tests/chat/reference" / name;
  fs::path tpl_path = templates_dir() / (name + ".jinja");
  std::string cmd = std::string("TANDEM_FIXED_DATE=") + kFixedDate + " '" + TANDEM_PYTHON + "' '" + TANDEM_SOURCE_DIR +
                    "/tests/chat/render_reference.py' '" + cases_path().string() + "' '" + tpl_path.string() + "' '" +
                    out_dir.string() + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "reference renderer failed: " << cmd;

  auto data = nlohmann::ordered_json::parse(read_file(cases_path()));
  Template tpl(read_file(tpl_path));
  RenderOptions options;
  options.fixed_now = tandem::chat::parse_fixed_date(kFixedDate);

  int matched = 0, both_failed = 0;
  for (auto it = data["cases"].begin(); it != data["cases"].end(); ++it) {
    const std::string case_name = it.key();
    SCOPED_TRACE(name + " / " + case_name);
    fs::path out = out_dir / (case_name + ".out"), err = out_dir / (case_name + ".err");
    auto ctx = build_context(data, it.value());
    if (fs::exists(err)) {
      std::string want_err = read_file(err);
      try {
        std::string got = tpl.render(ctx, options);
        ADD_FAILURE() << "Jinja2 raised (" << want_err << ") but tandem rendered:\n" << got.substr(0, 400);
      } catch (const TemplateRaised& e) {
        EXPECT_EQ("TemplateError: " + e.detail(), want_err);
        ++both_failed;
      } catch (const TemplateError& e) {
        EXPECT_NE(want_err.rfind("TemplateError: ", 0), 0u) << "Jinja2: " << want_err << "\ntandem: " << e.what();
        ++both_failed;
      }
      continue;
    }
    ASSERT_TRUE(fs::exists(out)) << "reference output missing: " << out;
    std::string want = read_file(out);
    try {
      std::string got = tpl.render(ctx, options);
      if (got == want) ++matched;
      else ADD_FAILURE() << first_difference(want, got);
    } catch (const TemplateError& e) {
      ADD_FAILURE() << "tandem raised but Jinja2 rendered: " << e.what();
    }
  }
  std::printf("%s: %d identical renders, %d errors in both\n", name.c_str(), matched, both_failed);
  EXPECT_GT(matched, 0);
}

INSTANTIATE_TEST_SUITE_P(SharedTemplates, GoldenTemplate, ::testing::ValuesIn(template_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

}  // namespace
