// Validation of OpenAI request bodies: every bad field is a 400 that names it.
#include <gtest/gtest.h>

#include <string>

#include "server/api_error.h"
#include "server/openai_request.h"
#include "server/request_fields.h"

namespace tandem::server {
namespace {

using nlohmann::json;

json base_chat() {
  return {{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}};
}

// The ApiError a chat body produces (fails the test if it parses).
ApiError chat_error(const json& body) {
  try {
    parse_chat_request(body, RequestLimits{});
  } catch (const ApiError& e) {
    return e;
  }
  ADD_FAILURE() << "no error for " << body.dump();
  return ApiError(0, "", "");
}

void expect_bad_param(json patch, const std::string& param) {
  json body = base_chat();
  body.merge_patch(patch);
  ApiError e = chat_error(body);
  EXPECT_EQ(e.status(), 400) << body.dump();
  ASSERT_TRUE(e.param().has_value()) << e.message();
  EXPECT_EQ(*e.param(), param) << e.message();
}

TEST(ChatRequest, ParsesEveryField) {
  json body = base_chat();
  body.merge_patch({{"max_completion_tokens", 50},
                    {"temperature", 0.5},
                    {"top_p", 0.9},
                    {"stop", "END"},
                    {"seed", -7},
                    {"n", 2},
                    {"presence_penalty", 0.5},
                    {"frequency_penalty", -1.5},
                    {"logit_bias", {{"42", -100}, {"7", 3.5}}},
                    {"logprobs", true},
                    {"top_logprobs", 3},
                    {"response_format", {{"type", "json_object"}}},
                    {"tools", {{{"type", "function"}, {"function", {{"name", "f"}, {"parameters", json::object()}}}}}},
                    {"tool_choice", "required"},
                    {"user", "u1"},
                    {"stream", true},
                    {"stream_options", {{"include_usage", true}}},
                    {"priority", 5}});
  GenerationRequest r = parse_chat_request(body, RequestLimits{});
  EXPECT_EQ(r.model, "m");
  EXPECT_EQ(r.sampling.max_tokens, 50);
  EXPECT_DOUBLE_EQ(r.sampling.temperature, 0.5);
  EXPECT_DOUBLE_EQ(r.sampling.top_p, 0.9);
  EXPECT_EQ(r.sampling.stop, std::vector<std::string>{"END"});
  EXPECT_EQ(r.sampling.seed, -7);
  EXPECT_EQ(r.n, 2);
  EXPECT_DOUBLE_EQ(r.sampling.presence_penalty, 0.5);
  EXPECT_DOUBLE_EQ(r.sampling.frequency_penalty, -1.5);
  ASSERT_EQ(r.sampling.logit_bias.size(), 2u);
  EXPECT_TRUE(r.logprobs);
  EXPECT_EQ(r.top_logprobs, 3);
  EXPECT_EQ(r.response_format["type"], "json_object");
  EXPECT_EQ(r.tools.size(), 1u);
  EXPECT_EQ(r.tool_choice, "required");
  EXPECT_EQ(r.user, "u1");
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
  EXPECT_EQ(r.priority, 5);
  EXPECT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.choice_count(), 2);
}

TEST(ChatRequest, DefaultsWhenFieldsAbsentOrNull) {
  json body = base_chat();
  body["temperature"] = nullptr;
  body["stop"] = nullptr;
  GenerationRequest r = parse_chat_request(body, RequestLimits{});
  EXPECT_DOUBLE_EQ(r.sampling.temperature, 1.0);
  EXPECT_DOUBLE_EQ(r.sampling.top_p, 1.0);
  EXPECT_FALSE(r.sampling.max_tokens.has_value());
  EXPECT_TRUE(r.sampling.stop.empty());
  EXPECT_EQ(r.n, 1);
  EXPECT_FALSE(r.stream);
  EXPECT_TRUE(r.tools.is_null());
}

TEST(ChatRequest, StopAcceptsArrayAndMaxTokensAlias) {
  json body = base_chat();
  body.merge_patch({{"stop", {"a", "b"}}, {"max_tokens", 9}});
  GenerationRequest r = parse_chat_request(body, RequestLimits{});
  EXPECT_EQ(r.sampling.stop, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r.sampling.max_tokens, 9);
}

TEST(ChatRequest, RangesAreChecked) {
  expect_bad_param({{"temperature", 2.5}}, "temperature");
  expect_bad_param({{"temperature", -0.1}}, "temperature");
  expect_bad_param({{"top_p", 0}}, "top_p");
  expect_bad_param({{"top_p", 1.01}}, "top_p");
  expect_bad_param({{"n", 0}}, "n");
  expect_bad_param({{"n", 1000}}, "n");
  expect_bad_param({{"max_tokens", 0}}, "max_tokens");
  expect_bad_param({{"max_completion_tokens", -5}}, "max_completion_tokens");
  expect_bad_param({{"presence_penalty", 3}}, "presence_penalty");
  expect_bad_param({{"frequency_penalty", -2.5}}, "frequency_penalty");
  expect_bad_param({{"top_logprobs", 21}, {"logprobs", true}}, "top_logprobs");
  expect_bad_param({{"top_logprobs", 2}}, "top_logprobs");  // needs logprobs: true
  expect_bad_param({{"logit_bias", {{"5", 101}}}}, "logit_bias.5");
  expect_bad_param({{"logit_bias", {{"abc", 1}}}}, "logit_bias");
  expect_bad_param({{"logit_bias", {{"-3", 1}}}}, "logit_bias");
  expect_bad_param({{"stop", {"a", "b", "c", "d", "e"}}}, "stop");
  expect_bad_param({{"priority", 100000}}, "priority");
}

TEST(ChatRequest, WrongTypesAreNamed) {
  expect_bad_param({{"temperature", "hot"}}, "temperature");
  expect_bad_param({{"max_tokens", 10.5}}, "max_tokens");
  expect_bad_param({{"max_tokens", "10"}}, "max_tokens");
  expect_bad_param({{"n", true}}, "n");
  expect_bad_param({{"stream", "yes"}}, "stream");
  expect_bad_param({{"stop", 5}}, "stop");
  expect_bad_param({{"stop", {1}}}, "stop[0]");
  expect_bad_param({{"seed", 1.5}}, "seed");
  expect_bad_param({{"user", 5}}, "user");
  expect_bad_param({{"logit_bias", {1, 2}}}, "logit_bias");
  expect_bad_param({{"logprobs", 1}}, "logprobs");
  expect_bad_param({{"model", 5}}, "model");
  expect_bad_param({{"messages", "hi"}}, "messages");
}

TEST(ChatRequest, MessagesAreChecked) {
  expect_bad_param({{"messages", json::array()}}, "messages");
  expect_bad_param({{"messages", {{{"content", "x"}}}}}, "messages[0].role");
  expect_bad_param({{"messages", {{{"role", "wizard"}, {"content", "x"}}}}}, "messages[0].role");
  expect_bad_param({{"messages", {{{"role", "user"}}}}}, "messages[0].content");
  expect_bad_param({{"messages", {{{"role", "user"}, {"content", 5}}}}}, "messages[0].content");
  expect_bad_param({{"messages", {{{"role", "tool"}, {"content", "r"}}}}}, "messages[0].tool_call_id");
  expect_bad_param({{"messages", {{{"role", "user"}, {"content", {{{"text", "x"}}}}}}}},
                   "messages[0].content[0].type");
  // Accepted: content parts, and an assistant turn with only tool calls.
  json ok = base_chat();
  ok["messages"] = {{{"role", "user"}, {"content", {{{"type", "text"}, {"text", "x"}}}}},
                    {{"role", "assistant"}, {"content", nullptr}, {"tool_calls", json::array()}}};
  EXPECT_NO_THROW(parse_chat_request(ok, RequestLimits{}));
}

TEST(ChatRequest, ToolsToolChoiceAndResponseFormat) {
  json tool = {{"type", "function"}, {"function", {{"name", "get_weather"}}}};
  expect_bad_param({{"tools", {{{"type", "retrieval"}}}}}, "tools[0].type");
  expect_bad_param({{"tools", {{{"type", "function"}, {"function", {{"name", ""}}}}}}},
                   "tools[0].function.name");
  expect_bad_param({{"tool_choice", "auto"}}, "tool_choice");  // no tools given
  expect_bad_param({{"tools", {tool}}, {"tool_choice", "sometimes"}}, "tool_choice");
  expect_bad_param({{"response_format", {{"type", "xml"}}}}, "response_format.type");
  expect_bad_param({{"response_format", {{"type", "json_schema"}}}}, "response_format.json_schema");
  expect_bad_param({{"stream_options", {{"include_usage", true}}}}, "stream_options");  // no stream
  json body = base_chat();
  body.merge_patch({{"tools", {tool}},
                    {"tool_choice", {{"type", "function"}, {"function", {{"name", "get_weather"}}}}},
                    {"response_format",
                     {{"type", "json_schema"}, {"json_schema", {{"name", "s"}, {"schema", json::object()}}}}}});
  GenerationRequest r = parse_chat_request(body, RequestLimits{});
  EXPECT_EQ(r.tool_choice["function"]["name"], "get_weather");
  EXPECT_EQ(r.response_format["json_schema"]["name"], "s");
}

TEST(ChatRequest, MissingModelIsNamed) {
  json body = base_chat();
  body.erase("model");
  ApiError e = chat_error(body);
  EXPECT_EQ(e.param(), "model");
}

TEST(CompletionRequest, PromptShapes) {
  auto parse = [](json prompt) {
    return parse_completion_request({{"model", "m"}, {"prompt", prompt}}, RequestLimits{});
  };
  EXPECT_EQ(parse("hi").prompts.size(), 1u);
  EXPECT_EQ(parse({"a", "b"}).prompts.size(), 2u);
  GenerationRequest ids = parse({1, 2, 3});
  ASSERT_EQ(ids.prompts.size(), 1u);
  EXPECT_EQ(std::get<std::vector<std::int32_t>>(ids.prompts[0]).size(), 3u);
  EXPECT_EQ(parse({{1, 2}, {3}}).prompts.size(), 2u);
  EXPECT_THROW(parse(json::array()), ApiError);
  EXPECT_THROW(parse({1, -2}), ApiError);
  EXPECT_THROW(parse(5), ApiError);
  EXPECT_THROW(parse({{{"x", 1}}}), ApiError);
}

TEST(CompletionRequest, LogprobsIsAnIntegerAndChoicesAreBounded) {
  GenerationRequest r = parse_completion_request(
      {{"model", "m"}, {"prompt", "x"}, {"logprobs", 2}, {"echo", true}}, RequestLimits{});
  EXPECT_TRUE(r.logprobs);
  EXPECT_EQ(r.top_logprobs, 2);
  EXPECT_TRUE(r.echo);
  EXPECT_THROW(parse_completion_request({{"model", "m"}, {"prompt", "x"}, {"logprobs", 6}}, RequestLimits{}),
               ApiError);
  json many = json::array();
  for (int i = 0; i < 10; ++i) many.push_back("p");
  EXPECT_THROW(parse_completion_request({{"model", "m"}, {"prompt", many}, {"n", 2}}, RequestLimits{}),
               ApiError);  // 10 prompts x 2 > 16 choices
}

TEST(EmbeddingRequest, InputShapesAndFormat) {
  auto r = parse_embedding_request({{"model", "m"}, {"input", {"a", "b"}}, {"encoding_format", "base64"}},
                                   RequestLimits{});
  EXPECT_EQ(r.request.inputs.size(), 2u);
  EXPECT_TRUE(r.base64);
  EXPECT_THROW(parse_embedding_request({{"model", "m"}, {"input", ""}}, RequestLimits{}), ApiError);
  EXPECT_THROW(parse_embedding_request({{"model", "m"}}, RequestLimits{}), ApiError);
  EXPECT_THROW(parse_embedding_request({{"model", "m"}, {"input", "x"}, {"encoding_format", "hex"}},
                                       RequestLimits{}),
               ApiError);
}

TEST(ParseBody, HostileJson) {
  auto error_code = [](const std::string& body) -> std::string {
    try {
      fields::parse_body(body, 64);
    } catch (const ApiError& e) {
      EXPECT_EQ(e.status(), 400);
      return e.code().value_or("");
    }
    return "parsed";
  };
  EXPECT_EQ(error_code(""), "invalid_json");
  EXPECT_EQ(error_code("{"), "invalid_json");
  EXPECT_EQ(error_code("{\"a\": 1e999}"), "invalid_json");         // overflows a double
  EXPECT_EQ(error_code("{\"a\": \"\xff\xfe\"}"), "invalid_json");  // invalid UTF-8
  EXPECT_EQ(error_code(std::string(100000, '[') + std::string(100000, ']')), "invalid_json");
  EXPECT_EQ(error_code(std::string(60, '[') + std::string(60, ']')), "parsed");
  EXPECT_EQ(error_code("{\"a\": 123456789012345678901234567890}"), "parsed");  // becomes a double
  // The error body of invalid UTF-8 input is itself valid UTF-8 JSON.
  try {
    fields::parse_body("{\"a\": \"\xff\"}", 64);
  } catch (const ApiError& e) {
    EXPECT_TRUE(json::accept(e.body()));
  }
}

TEST(ParseBody, HugeIntegerForIntegerFieldIsRejected) {
  json body = fields::parse_body(
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":99999999999999999999999})", 64);
  EXPECT_THROW(parse_chat_request(body, RequestLimits{}), ApiError);
  body = fields::parse_body(
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"seed":18446744073709551615})", 64);
  EXPECT_THROW(parse_chat_request(body, RequestLimits{}), ApiError);
}

}  // namespace
}  // namespace tandem::server
