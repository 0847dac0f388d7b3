// Tool calls: format detection from the shipped templates, parsing realistic model outputs per
// format, malformed output falling back to content, reasoning split, and forced-call grammars
// whose random generations parse back into valid calls (arguments checked in Python).
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

#include "chat/grammar.h"
#include "chat/reasoning.h"
#include "chat/tool_call.h"
#include "grammar_random_walk.h"
#include "shared_data.h"
#include "util/error.h"

using namespace tandem::chat;
using nlohmann::ordered_json;

namespace {

ParsedMessage parse(std::string_view text, ToolCallFormat f, ToolCallParseOptions o = {}) {
  return parse_model_output(text, f, o);
}

void expect_call(const ToolCall& c, const std::string& name, const std::string& args) {
  EXPECT_EQ(c.name, name);
  EXPECT_EQ(ordered_json::parse(c.arguments), ordered_json::parse(args)) << c.arguments;
  EXPECT_EQ(c.id.rfind("call_", 0) == 0 ? c.id.size() : 29u, 29u) << c.id;
}

const char* kWeatherArgs = R"({"location": "Paris, France", "unit": "celsius"})";

}  // namespace

TEST(ToolCallFormat, DetectedFromShippedTemplates) {
  TANDEM_REQUIRE_SHARED();
  const std::vector<std::pair<std::string, ToolCallFormat>> expected = {
      {"CohereForAI-c4ai-command-r-plus-tool_use", ToolCallFormat::kCommandR},
      {"NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use", ToolCallFormat::kHermes},
      {"NousResearch-Hermes-3-Llama-3.1-8B-tool_use", ToolCallFormat::kHermes},
      {"Qwen-Qwen2.5-7B-Instruct", ToolCallFormat::kHermes},
      {"deepseek-ai-DeepSeek-R1-Distill-Llama-8B", ToolCallFormat::kDeepSeekR1},
      {"llama-cpp-deepseek-r1", ToolCallFormat::kDeepSeekR1},
      {"meetkai-functionary-medium-v3.1", ToolCallFormat::kFunctionaryV31},
      {"meta-llama-Llama-3.1-8B-Instruct", ToolCallFormat::kLlama3Json},
      {"meta-llama-Llama-3.2-3B-Instruct", ToolCallFormat::kLlama3Json},
      {"meta-llama-Llama-3.3-70B-Instruct", ToolCallFormat::kLlama3Json},
      {"google-gemma-2-2b-it", ToolCallFormat::kNone},
      {"microsoft-Phi-3.5-mini-instruct", ToolCallFormat::kNone},
  };
  for (const auto& [name, format] : expected) {
    std::ifstream in(tandem::testing::shared_dir() + "/testdata/templates/" + name + ".jinja");
    ASSERT_TRUE(in) << name;
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_EQ(tool_call_format_name(detect_tool_call_format(text.str())),
              std::string(tool_call_format_name(format)))
        << name;
    bool reasons = name.find("deepseek") != std::string::npos;
    EXPECT_EQ(template_uses_reasoning(text.str()), reasons) << name;
  }
  EXPECT_EQ(detect_tool_call_format("{{ '[TOOL_CALLS]' + tool_calls|tojson }}"),
            ToolCallFormat::kMistral);
}

TEST(ToolCallParse, Llama3Json) {
  auto m = parse(R"({"name": "get_weather", "parameters": {"location": "Paris, France", "unit": "celsius"}})",
                 ToolCallFormat::kLlama3Json);
  ASSERT_EQ(m.tool_calls.size(), 1u);
  expect_call(m.tool_calls[0], "get_weather", kWeatherArgs);
  EXPECT_EQ(m.content, "");
  auto tagged = parse("<|python_tag|>{\"name\": \"get_weather\", \"parameters\": {\"location\": \"Paris\"}}",
                      ToolCallFormat::kLlama3Json);
  ASSERT_EQ(tagged.tool_calls.size(), 1u);
  expect_call(tagged.tool_calls[0], "get_weather", R"({"location": "Paris"})");
  auto builtin = parse("<|python_tag|>brave_search.call(query=\"weather in Paris \\\"today\\\"\")",
                       ToolCallFormat::kLlama3Json);
  ASSERT_EQ(builtin.tool_calls.size(), 1u);
  expect_call(builtin.tool_calls[0], "brave_search", R"({"query": "weather in Paris \"today\""})");
  auto wolfram = parse("<|python_tag|>wolfram_alpha.call(query='2+2', n=3, exact=True)",
                       ToolCallFormat::kLlama3Json);
  ASSERT_EQ(wolfram.tool_calls.size(), 1u);
  expect_call(wolfram.tool_calls[0], "wolfram_alpha", R"({"query": "2+2", "n": 3, "exact": true})");
  // Plain prose and JSON answers that are not calls stay content.
  EXPECT_EQ(parse("It is sunny in Paris.", ToolCallFormat::kLlama3Json).content, "It is sunny in Paris.");
  auto answer = parse(R"({"city": "Paris", "temp": 21})", ToolCallFormat::kLlama3Json);
  EXPECT_TRUE(answer.tool_calls.empty());
  EXPECT_EQ(answer.content, R"({"city": "Paris", "temp": 21})");
  // With known tool names, a JSON answer that merely has a "name" is not a call.
  ToolCallParseOptions known;
  known.tool_names = {"get_weather"};
  auto person = parse(R"({"name": "Ada", "parameters": {}})", ToolCallFormat::kLlama3Json, known);
  EXPECT_TRUE(person.tool_calls.empty());
}

TEST(ToolCallParse, HermesAndQwen) {
  // Hermes 2 Pro tends to put "arguments" first; both orders parse.
  auto hermes = parse(
      "<tool_call>\n{\"arguments\": {\"location\": \"Paris, France\", \"unit\": \"celsius\"}, "
      "\"name\": \"get_weather\"}\n</tool_call>",
      ToolCallFormat::kHermes);
  ASSERT_EQ(hermes.tool_calls.size(), 1u);
  expect_call(hermes.tool_calls[0], "get_weather", kWeatherArgs);
  auto qwen = parse(
      "I'll check both for you.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": "
      "{\"location\": \"Paris\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_time\", "
      "\"arguments\": {\"tz\": \"Europe/Paris\"}}\n</tool_call>",
      ToolCallFormat::kHermes);
  ASSERT_EQ(qwen.tool_calls.size(), 2u);
  EXPECT_EQ(qwen.content, "I'll check both for you.");
  expect_call(qwen.tool_calls[1], "get_time", R"({"tz": "Europe/Paris"})");
  EXPECT_NE(qwen.tool_calls[0].id, qwen.tool_calls[1].id);
  // Generation stopped at <|im_end|> before the closing tag.
  auto unclosed = parse("<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n", ToolCallFormat::kHermes);
  ASSERT_EQ(unclosed.tool_calls.size(), 1u);
  expect_call(unclosed.tool_calls[0], "get_time", "{}");
}

TEST(ToolCallParse, FunctionaryV31) {
  auto one = parse("<function=get_weather>{\"location\": \"Paris, France\", \"unit\": \"celsius\"}</function>",
                   ToolCallFormat::kFunctionaryV31);
  ASSERT_EQ(one.tool_calls.size(), 1u);
  expect_call(one.tool_calls[0], "get_weather", kWeatherArgs);
  auto two = parse("Sure.<function=get_time>{}</function><function=get_weather>{\"location\": \"Oslo\"}</function>",
                   ToolCallFormat::kFunctionaryV31);
  ASSERT_EQ(two.tool_calls.size(), 2u);
  EXPECT_EQ(two.content, "Sure.");
  expect_call(two.tool_calls[1], "get_weather", R"({"location": "Oslo"})");
  auto python = parse("<|python_tag|>import math\nprint(math.pi)", ToolCallFormat::kFunctionaryV31);
  ASSERT_EQ(python.tool_calls.size(), 1u);
  expect_call(python.tool_calls[0], "python", R"J({"code": "import math\nprint(math.pi)"})J");
}

TEST(ToolCallParse, Mistral) {
  auto m = parse(
      "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris, France\", "
      "\"unit\": \"celsius\"}, \"id\": \"a1B2c3D4e\"}, {\"name\": \"get_time\", \"arguments\": {}}]",
      ToolCallFormat::kMistral);
  ASSERT_EQ(m.tool_calls.size(), 2u);
  EXPECT_EQ(m.tool_calls[0].id, "a1B2c3D4e");  // the model's own id is kept
  EXPECT_EQ(m.tool_calls[0].name, "get_weather");
  expect_call(m.tool_calls[1], "get_time", "{}");
}

TEST(ToolCallParse, CommandR) {
  auto m = parse(
      "I will look up the weather in Paris.\nAction: ```json\n[\n    {\n        \"tool_name\": "
      "\"get_weather\",\n        \"parameters\": {\n            \"location\": \"Paris, France\",\n"
      "            \"unit\": \"celsius\"\n        }\n    }\n]\n```",
      ToolCallFormat::kCommandR);
  ASSERT_EQ(m.tool_calls.size(), 1u);
  EXPECT_EQ(m.content, "I will look up the weather in Paris.");
  expect_call(m.tool_calls[0], "get_weather", kWeatherArgs);
}

TEST(ToolCallParse, DeepSeekR1WithReasoning) {
  // The R1 template ends the prompt with "<think>\n": the output starts inside the block.
  std::string out =
      "The user asks for the weather and the time in Paris. I should call both tools.\n</think>\n\n"
      "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n"
      "{\"location\": \"Paris, France\", \"unit\": \"celsius\"}\n```<｜tool▁call▁end｜>\n"
      "<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_time\n```json\n{\"tz\": \"CET\"}\n```"
      "<｜tool▁call▁end｜><｜tool▁calls▁end｜>";
  ToolCallParseOptions opts;
  opts.started_in_think = true;
  auto m = parse(out, ToolCallFormat::kDeepSeekR1, opts);
  EXPECT_EQ(m.reasoning_content,
            "The user asks for the weather and the time in Paris. I should call both tools.");
  EXPECT_EQ(m.content, "");
  ASSERT_EQ(m.tool_calls.size(), 2u);
  expect_call(m.tool_calls[0], "get_weather", kWeatherArgs);
  expect_call(m.tool_calls[1], "get_time", R"({"tz": "CET"})");
  auto json = m.to_json();
  EXPECT_TRUE(json["content"].is_null());
  EXPECT_EQ(json["tool_calls"][0]["type"], "function");
  EXPECT_EQ(json["tool_calls"][1]["function"]["arguments"], R"({"tz":"CET"})");
}

TEST(Reasoning, SplitsThinkBlocks) {
  auto a = split_reasoning("<think>\nLet me think.\n</think>\n\nThe answer is 4.", false);
  EXPECT_EQ(a.reasoning, "Let me think.");
  EXPECT_EQ(a.content, "The answer is 4.");
  auto b = split_reasoning("2+2... that is 4.\n</think>\n\n4", true);
  EXPECT_EQ(b.reasoning, "2+2... that is 4.");
  EXPECT_EQ(b.content, "4");
  auto unfinished = split_reasoning("still thinking about", true);
  EXPECT_EQ(unfinished.reasoning, "still thinking about");
  EXPECT_EQ(unfinished.content, "");
  auto none = split_reasoning("Just an answer.", false);
  EXPECT_EQ(none.reasoning, "");
  EXPECT_EQ(none.content, "Just an answer.");
  EXPECT_TRUE(prompt_opens_think("<｜User｜>hi<｜Assistant｜><think>\n"));
  EXPECT_FALSE(prompt_opens_think("<think>x</think>answer<｜User｜>hi<｜Assistant｜>"));
  ToolCallParseOptions opts;
  opts.reasoning = true;
  auto m = parse("<think>plan</think>It is 4.", ToolCallFormat::kNone, opts);
  EXPECT_EQ(m.reasoning_content, "plan");
  EXPECT_EQ(m.content, "It is 4.");
  EXPECT_EQ(m.to_json()["reasoning_content"], "plan");
}

TEST(ToolCallParse, MalformedOutputFallsBackToContent) {
  const std::vector<std::pair<ToolCallFormat, std::string>> bad = {
      {ToolCallFormat::kHermes, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\"\n</tool_call>"},
      {ToolCallFormat::kHermes, "<tool_call>\n{\"arguments\": {}}\n</tool_call>"},
      {ToolCallFormat::kHermes, "<tool_call>{\"name\": \"a\", \"arguments\": {}} trailing</tool_call>"},
      {ToolCallFormat::kLlama3Json, "<|python_tag|>{\"name\": \"get_weather\", \"parameters\": {"},
      {ToolCallFormat::kLlama3Json, "<|python_tag|>not a call at all"},
      {ToolCallFormat::kFunctionaryV31, "<function=get_weather>{\"location\": Paris}</function>"},
      {ToolCallFormat::kFunctionaryV31, "<function=get_weather{}"},
      {ToolCallFormat::kMistral, "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": 5}]"},
      {ToolCallFormat::kMistral, "[TOOL_CALLS] oops"},
      {ToolCallFormat::kCommandR, "Action: ```json\n[{\"tool_name\": \"x\", \"parameters\": {]\n```"},
      {ToolCallFormat::kDeepSeekR1, "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>f\n```json\n{bad}\n```"},
      {ToolCallFormat::kDeepSeekR1, "<｜tool▁call▁begin｜>function"},
  };
  for (const auto& [format, text] : bad) {
    ParsedMessage m;
    ASSERT_NO_THROW(m = parse(text, format)) << text;
    EXPECT_TRUE(m.tool_calls.empty()) << text;
    EXPECT_EQ(m.content, text) << text;
  }
  // Random fragments of every format never throw.
  std::vector<std::string> pieces = {"<tool_call>", "</tool_call>", "{", "}", "[", "]", "\"", "\\",
                                     "\"name\"", ":", ",", "<function=", "</function>", "<|python_tag|>",
                                     "[TOOL_CALLS]", "Action:", "```json", "```", "<｜tool▁calls▁begin｜>",
                                     "<｜tool▁call▁begin｜>", "<｜tool▁sep｜>", "\n", "x", ".call(", "=",
                                     "<think>", "</think>", "\xC3", "\xFF"};
  std::mt19937 rng(3);
  for (int i = 0; i < 3000; ++i) {
    std::string text;
    for (int k = rng() % 12; k > 0; --k) text += pieces[rng() % pieces.size()];
    for (auto f : {ToolCallFormat::kLlama3Json, ToolCallFormat::kHermes, ToolCallFormat::kFunctionaryV31,
                   ToolCallFormat::kMistral, ToolCallFormat::kCommandR, ToolCallFormat::kDeepSeekR1}) {
      ToolCallParseOptions o;
      o.reasoning = i % 2;
      ASSERT_NO_THROW(parse(text, f, o)) << text;
    }
  }
}

namespace {

const char* kTools = R"([
  {"type": "function", "function": {"name": "get_weather", "description": "Weather now",
    "parameters": {"type": "object", "properties": {
      "location": {"type": "string", "maxLength": 12},
      "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
      "required": ["location"]}}},
  {"type": "function", "function": {"name": "get_time",
    "parameters": {"type": "object", "properties": {
      "tz": {"type": "string", "maxLength": 10},
      "hours": {"type": "integer", "minimum": 0, "maximum": 23}},
      "required": ["hours"]}}}
])";

std::string run_validator(const ordered_json& report, const std::string& file) {
  std::string path = ::testing::TempDir() + file;
  std::ofstream(path) << report.dump(1);
  std::string command = std::string(TANDEM_PYTHON) + " " + TANDEM_SOURCE_DIR +
                        "/tests/chat/json_schema_validate_test.py " + path + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return "popen failed";
  std::string output;
  char buf[512];
  while (fgets(buf, sizeof buf, pipe)) output += buf;
  int status = pclose(pipe);
  return status == 0 ? "" : output;
}

}  // namespace

// Forced tool calls: every random generation through the grammar parses back into calls to the
// given tools, and every call's arguments validate against the tool's schema in Python.
TEST(ToolCallGrammar, RandomGenerationsParseIntoValidCalls) {
  ordered_json tools = ordered_json::parse(kTools);
  auto vocab = tandem::chat::testing::toy_vocab(
      {"<tool_call>", "</tool_call>", "<|python_tag|>", "<function=", "</function>",
       "[TOOL_CALLS]", "Action:", "```json", "```", "<｜tool▁calls▁begin｜>",
       "<｜tool▁calls▁end｜>", "<｜tool▁call▁begin｜>", "<｜tool▁call▁end｜>", "<｜tool▁sep｜>",
       "get_weather", "get_time", "function", "celsius"});
  TokenTrie trie(vocab);
  std::mt19937_64 rng(11);
  ordered_json weather = ordered_json::array(), time = ordered_json::array();
  for (auto format : {ToolCallFormat::kLlama3Json, ToolCallFormat::kHermes,
                      ToolCallFormat::kFunctionaryV31, ToolCallFormat::kMistral,
                      ToolCallFormat::kCommandR, ToolCallFormat::kDeepSeekR1}) {
    auto grammar = std::make_shared<const Grammar>(Grammar::parse(tool_call_grammar(format, tools)));
    ToolCallParseOptions parse_options;
    parse_options.tool_names = {"get_weather", "get_time"};
    int finished = 0;
    for (int i = 0; i < 60; ++i) {
      auto walk = tandem::chat::testing::random_walk(grammar, vocab, trie, rng);
      if (!walk.finished) continue;
      ++finished;
      ParsedMessage m = parse_model_output(walk.text, format, parse_options);
      ASSERT_FALSE(m.tool_calls.empty()) << tool_call_format_name(format) << ": " << walk.text;
      EXPECT_EQ(m.content, "") << walk.text;
      for (const ToolCall& c : m.tool_calls) {
        (c.name == "get_weather" ? weather : time).push_back(c.arguments);
      }
    }
    EXPECT_GT(finished, 50) << tool_call_format_name(format);
  }
  ordered_json report = {{"cases", ordered_json::array()}};
  report["cases"].push_back({{"name", "get_weather arguments"},
                             {"schema", tools[0]["function"]["parameters"]},
                             {"outputs", weather}});
  report["cases"].push_back({{"name", "get_time arguments"},
                             {"schema", tools[1]["function"]["parameters"]},
                             {"outputs", time}});
  EXPECT_GT(weather.size(), 100u);
  EXPECT_GT(time.size(), 100u);
  EXPECT_EQ(run_validator(report, "tool_call_arguments.json"), "");
}

TEST(ToolCallGrammar, NamedFunctionAndErrors) {
  ordered_json tools = ordered_json::parse(kTools);
  ToolCallGrammarOptions named;
  named.function_name = "get_time";
  auto g = std::make_shared<const Grammar>(
      Grammar::parse(tool_call_grammar(ToolCallFormat::kHermes, tools, named)));
  using tandem::chat::testing::grammar_accepts;
  EXPECT_TRUE(grammar_accepts(g, "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"hours\": 7}}\n</tool_call>"));
  EXPECT_FALSE(grammar_accepts(g, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"location\": \"x\"}}\n</tool_call>"));
  EXPECT_FALSE(grammar_accepts(g, "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"hours\": 24}}\n</tool_call>"));
  EXPECT_FALSE(grammar_accepts(g, "Sure! <tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"hours\": 7}}\n</tool_call>"));
  auto r1 = std::make_shared<const Grammar>(
      Grammar::parse(tool_call_grammar(ToolCallFormat::kDeepSeekR1, tools)));
  EXPECT_TRUE(grammar_accepts(
      r1, "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n"
          "{\"location\": \"Paris\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>"));
  ToolCallGrammarOptions unknown;
  unknown.function_name = "launch_rocket";
  EXPECT_THROW(tool_call_grammar(ToolCallFormat::kHermes, tools, unknown), tandem::InvalidArgument);
  EXPECT_THROW(tool_call_grammar(ToolCallFormat::kNone, tools), tandem::InvalidArgument);
  EXPECT_THROW(tool_call_grammar(ToolCallFormat::kHermes, ordered_json::array()), tandem::InvalidArgument);
}
