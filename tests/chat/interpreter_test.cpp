// Unit tests of the chat-template interpreter that need no Python: the API, values, error
// reporting with line numbers, and the limits that keep hostile templates from hanging.
// (Feature-by-feature equality with Jinja2 is in snippets_test.cpp and golden_test.cpp.)
#include <gtest/gtest.h>

#include <string>

#include "chat/template.h"
#include "chat/text.h"

using namespace tandem::chat;
using json = nlohmann::ordered_json;

namespace {

std::string render(const std::string& src, const json& ctx = json::object(), const RenderOptions& o = {}) {
  return Template(src).render(ctx, o);
}

// Runs `fn`, expecting a TemplateError; returns it for inspection.
template <class Fn>
TemplateError expect_error(Fn fn) {
  try {
    fn();
  } catch (const TemplateError& e) {
    return e;
  }
  ADD_FAILURE() << "expected a TemplateError";
  return TemplateError("none", -1);
}

TEST(ChatTemplate, RendersContextVariables) {
  json ctx = {{"messages", json::array({{{"role", "user"}, {"content", "Hi"}}})}, {"bos_token", "<s>"}};
  EXPECT_EQ(render("{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m['content'] }}{% endfor %}", ctx),
            "<s>[user] Hi");
}

TEST(ChatTemplate, ParseOnceRenderMany) {
  Template tpl("{{ x * 2 }}");
  EXPECT_EQ(tpl.render(json{{"x", 2}}), "4");
  EXPECT_EQ(tpl.render(json{{"x", 21}}), "42");
  EXPECT_EQ(tpl.render(nlohmann::json{{"x", "ab"}}), "abab");  // unordered json works too
}

TEST(ChatTemplate, KeepsJsonKeyOrderForTojson) {
  json tool = json::parse(R"({"zeta": 1, "alpha": {"y": [1.5, null, true], "b": "é"}})");
  EXPECT_EQ(render("{{ t|tojson }}", {{"t", tool}}), R"({"zeta": 1, "alpha": {"y": [1.5, null, true], "b": "é"}})");
  EXPECT_EQ(render("{{ t|tojson(indent=2) }}", {{"t", json::parse(R"({"a": [1, 2]})")}}),
            "{\n  \"a\": [\n    1,\n    2\n  ]\n}");
}

TEST(ChatTemplate, PythonPrinting) {
  EXPECT_EQ(render("{{ [1, 'a', none, true, 2.0] }}"), "[1, 'a', None, True, 2.0]");
  EXPECT_EQ(render("{{ {'k': (1,)} }}"), "{'k': (1,)}");
  EXPECT_EQ(render("{{ \"it's\" }}|{{ [\"it's\"] }}"), "it's|[\"it's\"]");
  EXPECT_EQ(render("{{ 1e16 }} {{ 0.1 + 0.2 }} {{ 1e-05 }}"), "1e+16 0.30000000000000004 1e-05");
  EXPECT_EQ(render("{{ x }}|{{ x.y is defined }}", {{"x", nullptr}}), "None|False");
}

TEST(ChatTemplate, UndefinedBehavesLikeJinja2) {
  EXPECT_EQ(render("[{{ nope }}]{{ nope is defined }}{{ nope|length }}{% for x in nope %}x{% endfor %}"), "[]False0");
  EXPECT_EQ(render("{{ 'yes' if nope else 'no' }}"), "no");
  EXPECT_EQ(render("{{ d.missing is defined }}", {{"d", json::object()}}), "False");
  TemplateError e = expect_error([] { render("line1\n{{ nope.attr }}"); });
  EXPECT_EQ(e.line(), 2);
  EXPECT_NE(e.detail().find("'nope' is undefined"), std::string::npos) << e.what();
}

TEST(ChatTemplate, WhitespaceControlAsHuggingFaceConfiguresIt) {
  EXPECT_EQ(render("{% if true %}\n  A\n{% endif %}\nB\n"), "  A\nB");  // trim_blocks, trailing \n dropped
  EXPECT_EQ(render("x\n    {% if true %}\ny\n    {% endif %}\nz"), "x\ny\nz");  // lstrip_blocks
  EXPECT_EQ(render("a  {{- 'b' -}}  c"), "abc");
  EXPECT_EQ(render("a\n  {%+ if true %}b{% endif +%}\nc"), "a\n  b\nc");
  EXPECT_EQ(render("{{ 'v' }}\n{{ 'w' }}"), "v\nw");  // no trimming after variable tags
}

TEST(ChatTemplate, MarkupEscapingOfSafeStrings) {
  // functionary's template relies on this: adding to a |safe string HTML-escapes the other side.
  EXPECT_EQ(render("{{ 'x'|safe + '<\"&\\'>' }}"), "x&lt;&#34;&amp;&#39;&gt;");
  EXPECT_EQ(render("{{ '<b>' + 'x' }}"), "<b>x");
}

TEST(ChatTemplate, NamespaceMacroAndLoopControls) {
  EXPECT_EQ(render("{% set ns = namespace(n=0) %}{% for i in range(5) %}{% if i == 3 %}{% break %}{% endif %}"
                   "{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}"),
            "3");
  EXPECT_EQ(render("{% macro f(x, y=2) %}{{ x * y }}{% endmacro %}{{ f(3) }},{{ f(3, y=5) }}"), "6,15");
  EXPECT_EQ(render("{% set l = [] %}{% for i in [1, 2] %}{% set _ = l.append(i) %}{% endfor %}{{ l }}"), "[1, 2]");
}

TEST(ChatTemplate, RaiseExceptionIsATemplateRaised) {
  try {
    render("ok\n{% if true %}\n{{ raise_exception('System role not supported') }}\n{% endif %}");
    FAIL() << "expected TemplateRaised";
  } catch (const TemplateRaised& e) {
    EXPECT_EQ(e.detail(), "System role not supported");
    EXPECT_EQ(e.line(), 3);
  }
}

TEST(ChatTemplate, StrftimeNowHonoursFixedDate) {
  RenderOptions o;
  o.fixed_now = parse_fixed_date("2024-07-26");
  EXPECT_EQ(render("{{ strftime_now('%d %b %Y %A') }}", json::object(), o), "26 Jul 2024 Friday");
  EXPECT_THROW(parse_fixed_date("yesterday"), tandem::InvalidArgument);
  EXPECT_FALSE(render("{{ strftime_now('%Y') }}").empty());
}

TEST(ChatTemplateErrors, SyntaxErrorsNameTheLine) {
  struct Case {
    const char* src;
    int line;
    const char* needle;
  };
  const Case cases[] = {
      {"a\nb\n{% if x %}\nno end", 4, "endif"},
      {"{{ 1 + }}", 1, "unexpected"},
      {"line\n{% frobnicate %}", 2, "unknown tag 'frobnicate'"},
      {"\n\n{{ 'unterminated }}", 3, "unterminated string"},
      {"x\n{# never closed", 2, "comment"},
      {"{% for x in y %}{% endif %}", 1, "endfor"},
      {"\n{% include 'other.jinja' %}", 2, "not supported"},
      {"{{ a.b.c(}}", 1, ""},
      {"{% break %}", 1, "outside of a loop"},
      {"{% raw %}never ends", 1, "raw"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.src);
    TemplateError e = expect_error([&] { Template t(c.src); });
    EXPECT_EQ(e.line(), c.line) << e.what();
    EXPECT_NE(std::string(e.what()).find(c.needle), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("line " + std::to_string(c.line)), std::string::npos) << e.what();
  }
}

TEST(ChatTemplateErrors, RuntimeErrorsNameTheLine) {
  TemplateError e = expect_error([] { render("a\nb\n{{ 'x' + 1 }}"); });
  EXPECT_EQ(e.line(), 3);
  EXPECT_NE(e.detail().find("can only concatenate str"), std::string::npos) << e.what();
  e = expect_error([] { render("{% for a, b in [[1]] %}{% endfor %}"); });
  EXPECT_NE(e.detail().find("not enough values to unpack"), std::string::npos) << e.what();
  e = expect_error([] { render("\n{{ [1]|no_such_filter }}"); });
  EXPECT_EQ(e.line(), 2);
  EXPECT_NE(e.detail().find("no_such_filter"), std::string::npos);
}

TEST(ChatTemplateLimits, RunawayRecursionIsStopped) {
  TemplateError e = expect_error([] { render("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}"); });
  EXPECT_NE(e.detail().find("nested deeper"), std::string::npos) << e.what();
}

TEST(ChatTemplateLimits, LoopIterationsAreBounded) {
  RenderOptions o;
  o.limits.max_loop_iterations = 10000;
  TemplateError e = expect_error([&] {
    render("{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}", json::object(), o);
  });
  EXPECT_NE(e.detail().find("loop iterations"), std::string::npos) << e.what();
}

TEST(ChatTemplateLimits, OutputAndStringSizesAreBounded) {
  RenderOptions o;
  o.limits.max_output_bytes = 1 << 20;
  EXPECT_THROW(render("{% for i in range(10000) %}{{ 'x' * 1000 }}{% endfor %}", json::object(), o), TemplateError);
  EXPECT_THROW(render("{{ 'x' * 100000000 }}", json::object(), o), TemplateError);
  EXPECT_THROW(render("{% set ns = namespace(s='xy') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
                      json::object(), o),
               TemplateError);
}

TEST(ChatTemplateLimits, DeepNestingFailsCleanly) {
  std::string deep = "{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}";
  EXPECT_THROW(Template t(deep), TemplateError);
  std::string deep_not = "{{ " + std::string(0, ' ');
  for (int i = 0; i < 5000; ++i) deep_not += "not ";
  EXPECT_THROW(Template t(deep_not + "1 }}"), TemplateError);
  std::string blocks;
  for (int i = 0; i < 1000; ++i) blocks += "{% if true %}";
  EXPECT_THROW(Template t(blocks), TemplateError);
  json nested = json::array();
  for (int i = 0; i < 1000; ++i) nested = json::array({nested});
  EXPECT_THROW(render("{{ x }}", {{"x", nested}}), tandem::InvalidArgument);
}

TEST(ChatText, FloatReprMatchesPython) {
  EXPECT_EQ(text::repr_float(1.0), "1.0");
  EXPECT_EQ(text::repr_float(1e16), "1e+16");
  EXPECT_EQ(text::repr_float(1e15), "1000000000000000.0");
  EXPECT_EQ(text::repr_float(0.0001), "0.0001");
  EXPECT_EQ(text::repr_float(1.5e-5), "1.5e-05");
  EXPECT_EQ(text::repr_float(-0.0), "-0.0");
  EXPECT_EQ(text::repr_float(123456789012345678.0), "1.2345678901234568e+17");
}

TEST(ChatText, InvalidUtf8NeverBreaksIndexing) {
  std::string bad = "a\xff\xc3";  // stray byte and a truncated sequence
  EXPECT_EQ(text::length(bad), 3u);
  EXPECT_NO_THROW(render("{{ s[1] }}{{ s|length }}{{ s|upper }}{{ s[::-1] }}", {{"s", bad}}));
}

}  // namespace
