// The server keeps the client's key order in everything it passes to the model: a schema's
// property order is the order the grammar generates, and tools are rendered as written.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "server/api_error.h"
#include "server/openai_request.h"
#include "server/request_fields.h"
#include "server_fixture.h"

namespace tandem::server {
namespace {

using nlohmann::ordered_json;

std::vector<std::string> keys_of(const ordered_json& object) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : object.items()) keys.push_back(key);
  return keys;
}

const std::vector<std::string> kDeclared = {"zeta", "alpha", "mid"};

// A chat body written as text, the way a client sends it, with every object's keys in an order
// an alphabetically sorted map would change.
const char* const kOrderedChat = R"({
  "model": "tandem-fake",
  "messages": [
    {"role": "user", "content": [{"type": "text", "text": "Weather?"}]},
    {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
      "function": {"name": "get_weather", "arguments": {"zeta": 1, "alpha": 2, "mid": 3}}}]},
    {"tool_call_id": "c1", "role": "tool", "content": "sunny"}
  ],
  "response_format": {"type": "json_schema", "json_schema": {"name": "answer", "strict": true,
    "schema": {"type": "object",
      "properties": {"zeta": {"type": "string"}, "alpha": {"type": "integer"},
                     "mid": {"type": "object", "properties": {"z": {"type": "null"}, "a": {"type": "null"}}}},
      "required": ["zeta", "alpha", "mid"], "additionalProperties": false}}},
  "tools": [{"type": "function", "function": {"name": "get_weather", "description": "d",
    "parameters": {"type": "object",
      "properties": {"zeta": {"type": "string"}, "alpha": {"type": "string"}, "mid": {"type": "string"}},
      "required": ["zeta"]}}}],
  "tool_choice": {"type": "function", "function": {"name": "get_weather"}}
})";

void expect_request_keeps_order(const GenerationRequest& r) {
  const auto& schema = r.response_format["json_schema"]["schema"];
  EXPECT_EQ(keys_of(r.response_format), (std::vector<std::string>{"type", "json_schema"}));
  EXPECT_EQ(keys_of(r.response_format["json_schema"]),
            (std::vector<std::string>{"name", "strict", "schema"}));
  EXPECT_EQ(keys_of(schema["properties"]), kDeclared);
  EXPECT_EQ(keys_of(schema["properties"]["mid"]["properties"]), (std::vector<std::string>{"z", "a"}));
  EXPECT_EQ(keys_of(schema), (std::vector<std::string>{"type", "properties", "required", "additionalProperties"}));

  const auto& fn = r.tools[0]["function"];
  EXPECT_EQ(keys_of(r.tools[0]), (std::vector<std::string>{"type", "function"}));
  EXPECT_EQ(keys_of(fn), (std::vector<std::string>{"name", "description", "parameters"}));
  EXPECT_EQ(keys_of(fn["parameters"]["properties"]), kDeclared);
  EXPECT_EQ(keys_of(r.tool_choice), (std::vector<std::string>{"type", "function"}));

  EXPECT_EQ(keys_of(r.messages[0]["content"][0]), (std::vector<std::string>{"type", "text"}));
  EXPECT_EQ(keys_of(r.messages[1]["tool_calls"][0]), (std::vector<std::string>{"id", "type", "function"}));
  EXPECT_EQ(keys_of(r.messages[1]["tool_calls"][0]["function"]["arguments"]), kDeclared);
  EXPECT_EQ(keys_of(r.messages[2]), (std::vector<std::string>{"tool_call_id", "role", "content"}));
}

TEST(KeyOrder, ParsedChatRequestKeepsDeclaredOrder) {
  const GenerationRequest r =
      parse_chat_request(fields::parse_body(kOrderedChat, RequestLimits{}.max_json_depth), RequestLimits{});
  expect_request_keeps_order(r);
}

TEST(KeyOrder, CompletionResponseFormatKeepsDeclaredOrder) {
  const GenerationRequest r = parse_completion_request(fields::parse_body(R"({"model": "m", "prompt": "x",
      "response_format": {"type": "json_schema", "json_schema": {"name": "t", "schema": {"type": "object",
      "properties": {"zeta": {}, "alpha": {}, "mid": {}}}}}})", 64), RequestLimits{});
  EXPECT_EQ(keys_of(r.response_format["json_schema"]["schema"]["properties"]), kDeclared);
}

TEST(KeyOrder, RepeatedKeyKeepsFirstPositionAndLastValue) {
  // What nlohmann's own parser does for ordered_json, and what Python's json keeps (last value).
  const ordered_json j = fields::parse_body(R"({"b": 1, "a": 2, "b": {"x": 3}, "c": 4})", 64);
  EXPECT_EQ(keys_of(j), (std::vector<std::string>{"b", "a", "c"}));
  EXPECT_EQ(j["b"], ordered_json({{"x", 3}}));
}

TEST(KeyOrder, ManyKeysParseInLinearTimeAndKeepOrder) {
  // ordered_json's own insertion scans the object per key: 200k keys would take about a minute.
  constexpr int kKeys = 200000;
  std::string body = "{";
  for (int i = kKeys - 1; i >= 0; --i) body += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  body += "\"k7\":\"again\",\"k199999\":null}";  // repeats, past the point where lookups are indexed
  const auto start = std::chrono::steady_clock::now();
  const ordered_json j = fields::parse_body(body, 64);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 5.0);
  ASSERT_EQ(j.size(), static_cast<std::size_t>(kKeys));
  const auto keys = keys_of(j);
  EXPECT_EQ(keys.front(), "k199999");
  EXPECT_EQ(keys[kKeys - 1 - 7], "k7");
  EXPECT_EQ(keys.back(), "k0");
  EXPECT_EQ(j["k7"], "again");
  EXPECT_TRUE(j["k199999"].is_null());
  EXPECT_EQ(j["k42"], 42);
}

TEST(KeyOrder, DepthLimitIsUnchanged) {
  // A value's depth is the number of containers around it: 64 allows 65 nested levels.
  auto parses = [](const std::string& body) {
    try {
      (void)fields::parse_body(body, 64);
      return true;
    } catch (const ApiError& e) {
      EXPECT_EQ(e.status(), 400);
      EXPECT_NE(e.message().find("nesting is deeper than 64 levels"), std::string::npos) << e.message();
      return false;
    }
  };
  EXPECT_TRUE(parses(std::string(65, '[') + std::string(65, ']')));
  EXPECT_FALSE(parses(std::string(65, '[') + "1" + std::string(65, ']')));
  EXPECT_FALSE(parses(std::string(66, '[') + std::string(66, ']')));
  std::string objects;
  for (int i = 0; i < 65; ++i) objects += "{\"a\":";
  objects += "{}" + std::string(65, '}');
  EXPECT_FALSE(parses(objects));
}

TEST(KeyOrder, MalformedBodiesStillNameTheProblem) {
  for (const std::string body : {"{\"a\": 1,}", "{\"a\": 1} x", "[1, 2", "{\"a\": tru}"}) {
    try {
      (void)fields::parse_body(body, 64);
      ADD_FAILURE() << "parsed " << body;
    } catch (const ApiError& e) {
      EXPECT_EQ(e.status(), 400);
      EXPECT_EQ(e.code().value_or(""), "invalid_json");
      EXPECT_NE(e.message().find("parse error"), std::string::npos) << e.message();
    }
  }
}

// Through the HTTP route: what the backend receives keeps the order the client sent.
class KeyOrderHttp : public testing::ServerFixture {};

TEST_F(KeyOrderHttp, BackendReceivesClientOrder) {
  start_server();
  const auto response = testing::post(port(), "/v1/chat/completions", kOrderedChat);
  ASSERT_EQ(response.status, 200) << response.body;
  const auto r = backend_->last_request();
  ASSERT_TRUE(r.has_value());
  expect_request_keeps_order(*r);
}

}  // namespace
}  // namespace tandem::server
