// Chat paths of LocalBackend on stories260K carrying a chat template: tool calls forced by a
// grammar and parsed back (finish_reason tool_calls), response_format JSON schemas, reasoning
// split into reasoning_content, and the ChatML fallback for a model without a template.
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "serve_test_support.h"
#include "server/local_backend.h"
#include "server/openai_request.h"
#include "server/request_fields.h"
#include "shared_data.h"
#include "util/error.h"

namespace tandem::testing {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

std::unique_ptr<server::LocalBackend> backend_for(const std::string& path) {
  server::LocalBackendOptions o;
  o.model_id = "chat-test";
  o.scheduler.n_slots = 2;
  o.scheduler.threads = 1;
  return std::make_unique<server::LocalBackend>(runtime::LoadedModel::open(path), o);
}

std::string temp_model(const std::string& name, const std::string& tpl) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            (name + "-" + std::to_string(::getpid()) + ".gguf")).string();
  write_chat_model(path, tpl);
  return path;
}

const json kWeatherTools = json::parse(R"([{"type":"function","function":{
  "name":"get_weather","description":"Weather in a city",
  "parameters":{"type":"object","properties":{"city":{"type":"string","maxLength":12}},
                "required":["city"]}}}])");

TEST(ChatServing, RequiredToolChoiceProducesParsedToolCalls) {
  TANDEM_REQUIRE_SHARED();
  const std::string path = temp_model("tandem-hermes", kHermesToolTemplate);
  auto b = backend_for(path);
  EXPECT_EQ(b->models()[0].card["tool_call_format"], "hermes");
  for (int seed = 1; seed <= 3; ++seed) {
    auto r = chat_request("chat-test", "What is the weather in Paris?", 200, seed);
    r.messages.insert(r.messages.begin(), json{{"role", "system"}, {"content", "You are helpful."}});
    r.tools = kWeatherTools;
    r.tool_choice = "required";
    r.parallel_tool_calls = false;  // one call, then the grammar ends the reply
    r.sampling.temperature = 0.8;
    // This story model loves whitespace, which JSON allows (bounded) between tokens: bias it away
    // so the call completes within the small context. The grammar still forces what it needs.
    const auto& tok = b->model().tokenizer();
    for (int32_t id = 0; id < tok.n_vocab(); ++id) {
      const std::string piece = tok.token_piece(id);
      if (!piece.empty() && piece.find_first_not_of(" \n\t") == std::string::npos)
        r.sampling.logit_bias.emplace_back(id, -100.0f);
    }
    const RequestResult res = collect(*b->start(r), 1);
    ASSERT_TRUE(res.done) << res.error;
    const ChoiceResult& c = res.choices[0];
    ASSERT_EQ(c.finish, server::FinishReason::ToolCalls) << "content: " << c.content;
    ASSERT_GE(c.tool_calls.size(), 1u);
    EXPECT_EQ(c.tool_calls[0].name, "get_weather");
    EXPECT_EQ(c.tool_calls[0].id.rfind("call_", 0), 0u);
    const json args = json::parse(c.tool_calls[0].arguments);
    ASSERT_TRUE(args.contains("city"));
    EXPECT_TRUE(args["city"].is_string());
  }
  std::filesystem::remove(path);
}

TEST(ChatServing, ProseStreamsWhenToolsAreOfferedButNotCalled) {
  TANDEM_REQUIRE_SHARED();
  const std::string path = temp_model("tandem-hermes-auto", kHermesToolTemplate);
  auto b = backend_for(path);
  auto r = chat_request("chat-test", "Tell me a story.", 40, 3);
  r.tools = kWeatherTools;  // tool_choice absent: auto
  r.sampling.temperature = 0.0;
  auto g = b->start(r);
  int content_deltas = 0;
  std::string content;
  std::vector<server::GenerationEvent> events;
  bool done = false;
  for (int i = 0; i < 2000 && !done; ++i) {
    events.clear();
    g->wait_drain(events, std::chrono::milliseconds(50));
    for (const auto& e : events) {
      if (e.kind == server::GenerationEvent::Kind::Delta && !e.content.empty()) {
        ++content_deltas;
        content += e.content;
      }
      if (e.terminal()) done = true;
    }
  }
  ASSERT_TRUE(done);
  EXPECT_GT(content_deltas, 5) << "prose without a tool call should stream token by token";
  EXPECT_EQ(content.find("<tool_call>"), std::string::npos);
  std::filesystem::remove(path);
}

TEST(ChatServing, ResponseFormatJsonSchemaIsObeyed) {
  TANDEM_REQUIRE_SHARED();
  auto b = backend_for(stories_path());  // no template: ChatML
  auto r = chat_request("chat-test", "Tell me about a girl.", 200, 9);
  r.model = b->models()[0].id;
  r.response_format = json::parse(R"({"type":"json_schema","json_schema":{"name":"p","schema":{
      "type":"object","properties":{"name":{"type":"string","maxLength":8},"age":{"type":"integer","minimum":0,"maximum":120}},
      "required":["name","age"],"additionalProperties":false}}})");
  r.sampling.temperature = 0.7;
  const RequestResult res = collect(*b->start(r), 1);
  ASSERT_TRUE(res.done) << res.error;
  const json out = json::parse(res.choices[0].content);
  ASSERT_TRUE(out.is_object()) << res.choices[0].content;
  EXPECT_TRUE(out["name"].is_string());
  EXPECT_TRUE(out["age"].is_number_integer());
  EXPECT_EQ(res.choices[0].finish, server::FinishReason::Stop);
}

TEST(ChatServing, BadSchemaIsABadRequest) {
  TANDEM_REQUIRE_SHARED();
  auto b = backend_for(stories_path());
  auto r = chat_request(b->models()[0].id, "hi", 10, 1);
  r.response_format = json::parse(R"({"type":"json_schema","json_schema":{"name":"p","schema":{
      "type":"string","pattern":"^a+$"}}})");
  EXPECT_THROW(b->start(r), InvalidArgument);
}

TEST(ChatServing, ThinkingGoesToReasoningContent) {
  TANDEM_REQUIRE_SHARED();
  const std::string path = temp_model("tandem-think", kReasoningTemplate);
  auto b = backend_for(path);
  auto r = chat_request("chat-test", "Once upon a time", 30, 1);
  r.sampling.temperature = 0.0;
  const RequestResult res = collect(*b->start(r), 1);
  ASSERT_TRUE(res.done) << res.error;
  // The model never closes the block the prompt opened: all of it is reasoning.
  EXPECT_FALSE(res.choices[0].reasoning.empty());
  EXPECT_TRUE(res.choices[0].content.empty()) << res.choices[0].content;
  std::filesystem::remove(path);
}

TEST(ChatServing, ChatMlFallbackTakesAToolCallingConversation) {
  TANDEM_REQUIRE_SHARED();
  auto b = backend_for(stories_path());
  auto r = chat_request(b->models()[0].id, "Weather?", 5, 1);
  r.messages = json::parse(R"([{"role":"user","content":"Weather in Paris?"},
    {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function",
      "function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
    {"role":"tool","tool_call_id":"call_1","content":"sunny"}])");
  const RequestResult res = collect(*b->start(r), 1);
  EXPECT_TRUE(res.done) << res.error;
}

TEST(ChatServing, ChatMlFallbackRendersAndCountsThePrompt) {
  TANDEM_REQUIRE_SHARED();
  auto b = backend_for(stories_path());
  EXPECT_EQ(b->models()[0].card["chat_template"], "chatml (default)");
  auto r = chat_request(b->models()[0].id, "Hi", 10, 1);
  r.messages = json::parse(R"([{"role":"user","content":[{"type":"text","text":"Hi"}]}])");
  const RequestResult res = collect(*b->start(r), 1);
  ASSERT_TRUE(res.done) << res.error;
  const auto& tok = b->model().tokenizer();
  const auto ids = tok.encode("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", true, true);
  EXPECT_EQ(res.usage.prompt_tokens, static_cast<int64_t>(ids.size()));
  EXPECT_EQ(res.usage.completion_tokens, 10);
}

// Key order, end to end: a body sent as text goes through the HTTP route's own parser and request
// validation to the engine, and the grammar generates properties in the order the schema declares
// them — what clients rely on when they put "reasoning" before "answer". The alphabetical order
// (alpha, mid, zeta) is what a sorted JSON object would have produced.
const std::vector<std::string> kDeclared = {"zeta", "alpha", "mid"};

std::vector<std::string> keys_of(const ordered_json& object) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : object.items()) keys.push_back(key);
  return keys;
}

server::GenerationRequest parsed_chat(const std::string& body_text) {
  const server::RequestLimits limits;
  return server::parse_chat_request(server::fields::parse_body(body_text, limits.max_json_depth), limits);
}

std::unique_ptr<server::LocalBackend> demo_backend() {
  return backend_for(std::string(TANDEM_SOURCE_DIR) + "/models/tandem-demo.gguf");
}

TEST(ChatServing, JsonSchemaPropertiesComeInDeclaredOrder) {
  auto b = demo_backend();
  const std::string model = b->models()[0].id;
  int checked = 0;
  for (int seed = 100; seed <= 400; seed += 100) {  // choice j samples with seed + j
    auto r = parsed_chat(R"({"model": ")" + model + R"(", "seed": )" + std::to_string(seed) + R"(,
      "messages": [{"role": "user", "content": "Describe a small event in JSON."}],
      "temperature": 1.0, "n": 2, "max_tokens": 200,
      "response_format": {"type": "json_schema", "json_schema": {"name": "ordered", "strict": true,
        "schema": {"type": "object",
          "properties": {"zeta": {"type": "string", "maxLength": 8},
                         "alpha": {"type": "integer", "minimum": 0, "maximum": 99},
                         "mid": {"type": "object",
                                 "properties": {"y": {"type": "boolean"}, "b": {"type": "null"}},
                                 "required": ["y", "b"], "additionalProperties": false}},
          "required": ["zeta", "alpha", "mid"], "additionalProperties": false}}}})");
    ASSERT_EQ(keys_of(r.response_format["json_schema"]["schema"]["properties"]), kDeclared);
    const RequestResult res = collect(*b->start(std::move(r)), 2);
    ASSERT_TRUE(res.done) << res.error;
    for (const ChoiceResult& c : res.choices) {
      ASSERT_EQ(c.finish, server::FinishReason::Stop) << c.content;
      const ordered_json out = ordered_json::parse(c.content);
      EXPECT_EQ(keys_of(out), kDeclared) << "seed " << seed << ": " << c.content;
      EXPECT_EQ(keys_of(out["mid"]), (std::vector<std::string>{"y", "b"})) << c.content;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 8);
}

TEST(ChatServing, ForcedToolCallArgumentsComeInDeclaredOrder) {
  auto b = demo_backend();
  const std::string model = b->models()[0].id;
  for (int seed = 1; seed <= 3; ++seed) {
    auto r = parsed_chat(R"({"model": ")" + model + R"(", "seed": )" + std::to_string(seed) + R"(,
      "messages": [{"role": "user", "content": "Book it."}],
      "temperature": 1.0, "max_tokens": 200, "parallel_tool_calls": false,
      "tools": [{"type": "function", "function": {"name": "book", "parameters": {"type": "object",
        "properties": {"zeta": {"type": "string", "maxLength": 6}, "alpha": {"type": "boolean"},
                       "mid": {"type": "integer", "minimum": 0, "maximum": 9}},
        "required": ["zeta", "alpha", "mid"], "additionalProperties": false}}}],
      "tool_choice": {"type": "function", "function": {"name": "book"}}})");
    const RequestResult res = collect(*b->start(std::move(r)), 1);
    ASSERT_TRUE(res.done) << res.error;
    ASSERT_EQ(res.choices[0].tool_calls.size(), 1u) << res.choices[0].content;
    EXPECT_EQ(res.choices[0].tool_calls[0].name, "book");
    const ordered_json args = ordered_json::parse(res.choices[0].tool_calls[0].arguments);
    EXPECT_EQ(keys_of(args), kDeclared) << "seed " << seed << ": " << res.choices[0].tool_calls[0].arguments;
  }
}

}  // namespace
}  // namespace tandem::testing
