// OpenAI response shapes and the UTF-8 repair that keeps them valid.
#include <gtest/gtest.h>

#include "http_client.h"
#include "server/openai_response.h"
#include "server/utf8.h"

namespace tandem::server {
namespace {

using nlohmann::json;

ResponseMeta chat_meta(int choices = 1) {
  ResponseMeta m;
  m.id = "chatcmpl-x";
  m.model = "m";
  m.created = 123;
  m.choices = choices;
  return m;
}

std::vector<json> frames(const std::string& sse) {
  std::vector<json> out;
  for (const auto& d : testing::sse_data(sse)) {
    if (d != "[DONE]") out.push_back(json::parse(d));
  }
  return out;
}

TEST(Utf8, SanitizeReplacesInvalidBytes) {
  EXPECT_EQ(sanitize_utf8("plain"), "plain");
  EXPECT_EQ(sanitize_utf8("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(sanitize_utf8("a\xff" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(sanitize_utf8("\xc3"), "\xEF\xBF\xBD");                    // truncated
  EXPECT_EQ(sanitize_utf8("\xed\xa0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(sanitize_utf8("\xc0\xaf"), "\xEF\xBF\xBD\xEF\xBF\xBD");    // overlong
  EXPECT_EQ(sanitize_utf8("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80");    // emoji
}

TEST(Utf8, StitcherJoinsSplitCharacters) {
  Utf8Stitcher s;
  EXPECT_EQ(s.push("caf\xc3"), "caf");
  EXPECT_FALSE(s.empty());
  EXPECT_EQ(s.push("\xa9!"), "\xc3\xa9!");
  EXPECT_EQ(s.push("\xf0\x9f"), "");
  EXPECT_EQ(s.push("\x98"), "");
  EXPECT_EQ(s.push("\x80"), "\xf0\x9f\x98\x80");
  EXPECT_EQ(s.push("\xff"), "\xEF\xBF\xBD");  // a lone byte is not held back
  EXPECT_EQ(s.push("\xe2\x82"), "");
  EXPECT_EQ(s.flush(), "\xEF\xBF\xBD");       // never completed
}

TEST(StreamEncoder, ChatChunksRoleDeltasFinishUsageDone) {
  ResponseMeta meta = chat_meta();
  meta.include_usage = true;
  StreamEncoder enc(meta);
  std::string out;
  enc.begin(out);
  EXPECT_FALSE(enc.encode(GenerationEvent::delta(0, "Hel"), out));
  EXPECT_FALSE(enc.encode(GenerationEvent::delta(0, "lo"), out));
  EXPECT_FALSE(enc.encode(GenerationEvent::finish(0, FinishReason::Stop), out));
  EXPECT_TRUE(enc.encode(GenerationEvent::done({5, 2, 0}), out));
  auto f = frames(out);
  ASSERT_EQ(f.size(), 5u);
  EXPECT_EQ(f[0]["object"], "chat.completion.chunk");
  EXPECT_EQ(f[0]["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(f[1]["choices"][0]["delta"]["content"], "Hel");
  EXPECT_TRUE(f[1]["choices"][0]["finish_reason"].is_null());
  EXPECT_TRUE(f[1]["usage"].is_null());
  EXPECT_EQ(f[3]["choices"][0]["finish_reason"], "stop");
  EXPECT_TRUE(f[4]["choices"].empty());
  EXPECT_EQ(f[4]["usage"]["total_tokens"], 7);
  EXPECT_EQ(testing::sse_data(out).back(), "[DONE]");
  for (const auto& c : f) EXPECT_EQ(c["id"], "chatcmpl-x");
}

TEST(StreamEncoder, ToolCallsReasoningAndLogprobs) {
  ResponseMeta meta = chat_meta();
  meta.logprobs = true;
  StreamEncoder enc(meta);
  std::string out;
  GenerationEvent reasoning = GenerationEvent::delta(0, "");
  reasoning.reasoning = "hmm";
  enc.encode(reasoning, out);
  GenerationEvent call = GenerationEvent::delta(0, "");
  call.tool_calls.push_back({0, "call_1", "f", ""});
  enc.encode(call, out);
  GenerationEvent args = GenerationEvent::delta(0, "");
  args.tool_calls.push_back({0, "", "", "{}"});
  enc.encode(args, out);
  GenerationEvent tok = GenerationEvent::delta(0, "x");
  tok.logprobs.push_back({"x", -0.5, {{"x", -0.5}, {"y", -1.5}}});
  enc.encode(tok, out);
  auto f = frames(out);
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[0]["choices"][0]["delta"]["reasoning_content"], "hmm");
  auto c1 = f[1]["choices"][0]["delta"]["tool_calls"][0];
  EXPECT_EQ(c1["id"], "call_1");
  EXPECT_EQ(c1["type"], "function");
  EXPECT_EQ(c1["function"]["name"], "f");
  auto c2 = f[2]["choices"][0]["delta"]["tool_calls"][0];
  EXPECT_FALSE(c2.contains("id"));
  EXPECT_EQ(c2["function"]["arguments"], "{}");
  auto lp = f[3]["choices"][0]["logprobs"]["content"][0];
  EXPECT_EQ(lp["token"], "x");
  EXPECT_EQ(lp["bytes"], json::array({120}));
  EXPECT_EQ(lp["top_logprobs"].size(), 2u);
}

TEST(StreamEncoder, ErrorEndsTheStreamWithoutDone) {
  StreamEncoder enc(chat_meta());
  std::string out;
  EXPECT_TRUE(enc.encode(GenerationEvent::error("boom"), out));
  auto data = testing::sse_data(out);
  ASSERT_EQ(data.size(), 1u);
  EXPECT_EQ(json::parse(data[0])["error"]["message"], "boom");
}

TEST(StreamEncoder, CompletionChunksAndSplitUtf8) {
  ResponseMeta meta = chat_meta();
  meta.endpoint = Endpoint::Completions;
  StreamEncoder enc(meta);
  std::string out;
  enc.begin(out);  // no role chunk for completions
  enc.encode(GenerationEvent::delta(0, "caf\xc3"), out);
  enc.encode(GenerationEvent::delta(0, "\xa9"), out);
  enc.encode(GenerationEvent::delta(0, "\xc3"), out);  // never finished
  enc.encode(GenerationEvent::finish(0, FinishReason::Length), out);
  auto f = frames(out);
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[0]["object"], "text_completion");
  EXPECT_EQ(f[0]["choices"][0]["text"], "caf");
  EXPECT_EQ(f[1]["choices"][0]["text"], "\xc3\xa9");
  EXPECT_EQ(f[2]["choices"][0]["text"], "\xEF\xBF\xBD");
  EXPECT_EQ(f[3]["choices"][0]["finish_reason"], "length");
}

TEST(ResponseAccumulator, ChatCompletionWithChoicesToolCallsAndUsage) {
  ResponseAccumulator acc(chat_meta(2));
  acc.add(GenerationEvent::delta(0, "a\xff"));
  acc.add(GenerationEvent::delta(1, "b"));
  GenerationEvent call = GenerationEvent::delta(1, "");
  call.tool_calls.push_back({0, "call_9", "f", "{\"x\""});
  acc.add(call);
  GenerationEvent more = GenerationEvent::delta(1, "");
  more.tool_calls.push_back({0, "", "", ":1}"});
  acc.add(more);
  acc.add(GenerationEvent::finish(0, FinishReason::Length));
  acc.add(GenerationEvent::finish(1, FinishReason::ToolCalls));
  EXPECT_FALSE(acc.complete());
  acc.add(GenerationEvent::done({10, 4, 0}));
  ASSERT_TRUE(acc.complete());
  json body = json::parse(acc.body());
  EXPECT_EQ(body["object"], "chat.completion");
  ASSERT_EQ(body["choices"].size(), 2u);
  EXPECT_EQ(body["choices"][0]["message"]["content"], "a\xEF\xBF\xBD");
  EXPECT_EQ(body["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(body["choices"][1]["finish_reason"], "tool_calls");
  EXPECT_EQ(body["choices"][1]["message"]["tool_calls"][0]["function"]["arguments"], "{\"x\":1}");
  EXPECT_EQ(body["usage"]["prompt_tokens"], 10);
  EXPECT_EQ(body["usage"]["completion_tokens"], 4);
  EXPECT_EQ(body["usage"]["total_tokens"], 14);
}

TEST(ResponseAccumulator, CompletionLogprobsShape) {
  ResponseMeta meta = chat_meta();
  meta.endpoint = Endpoint::Completions;
  meta.logprobs = true;
  ResponseAccumulator acc(meta);
  GenerationEvent e = GenerationEvent::delta(0, "ab");
  e.logprobs.push_back({"a", -1, {{"a", -1}, {"z", -2}}});
  e.logprobs.push_back({"b", -0.5, {}});
  acc.add(e);
  acc.add(GenerationEvent::finish(0, FinishReason::Stop));
  acc.add(GenerationEvent::done({}));
  json lp = json::parse(acc.body())["choices"][0]["logprobs"];
  EXPECT_EQ(lp["tokens"], json({"a", "b"}));
  EXPECT_EQ(lp["token_logprobs"][1], -0.5);
  EXPECT_EQ(lp["top_logprobs"][0]["z"], -2);
  EXPECT_EQ(lp["text_offset"], json({0, 1}));
}

TEST(ResponseAccumulator, ErrorMarksFailure) {
  ResponseAccumulator acc(chat_meta());
  acc.add(GenerationEvent::error("engine died"));
  EXPECT_TRUE(acc.complete());
  EXPECT_TRUE(acc.failed());
  EXPECT_EQ(acc.error_message(), "engine died");
}

}  // namespace
}  // namespace tandem::server
