// The HTTP API end to end over loopback: routes, OpenAI shapes, and every error status.
#include <unistd.h>

#include "server/metrics.h"
#include "server_fixture.h"

namespace tandem::server::testing {
namespace {

using nlohmann::json;

class HttpApi : public ServerFixture {
 protected:
  void SetUp() override { start_server(); }
};

TEST_F(HttpApi, HealthIsFastPathJson) {
  auto r = http_request(port(), "GET", "/health");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["status"], "ok");
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(backend_->started(), 0);
  auto head = http_request(port(), "HEAD", "/health");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(head.header("content-length"), std::to_string(r.body.size()));
  EXPECT_EQ(http_request(port(), "GET", "/health?probe=1").status, 200);  // query ignored
}

TEST(BearerToken, ParsesTheSchemeCaseInsensitively) {
  EXPECT_EQ(bearer_token("Bearer abc"), "abc");
  EXPECT_EQ(bearer_token("bearer  abc "), "abc");
  EXPECT_EQ(bearer_token("Basic abc"), "");
  EXPECT_EQ(bearer_token("Bearer"), "");
  EXPECT_EQ(bearer_token(""), "");
}

TEST_F(HttpApi, UnknownRouteIs404AndWrongMethodIs405) {
  auto r = http_request(port(), "GET", "/v2/nothing");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(error_of(r)["type"], "invalid_request_error");
  EXPECT_TRUE(error_of(r).contains("param"));
  EXPECT_TRUE(error_of(r).contains("code"));
  r = http_request(port(), "GET", "/v1/chat/completions");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("allow"), "POST");
  r = http_request(port(), "DELETE", "/health");
  EXPECT_EQ(r.status, 405);
}

TEST_F(HttpApi, ChatCompletionNonStream) {
  auto r = chat(chat_body("hi there"));
  ASSERT_EQ(r.status, 200) << r.body;
  json body = json::parse(r.body);
  EXPECT_EQ(body["object"], "chat.completion");
  EXPECT_EQ(body["model"], "tandem-fake");
  EXPECT_EQ(body["id"].get<std::string>().rfind("chatcmpl-", 0), 0u);
  ASSERT_EQ(body["choices"].size(), 1u);
  EXPECT_EQ(body["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(body["choices"][0]["message"]["content"], "Hello, world!");
  EXPECT_EQ(body["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(body["usage"]["prompt_tokens"], 5);  // 2 words + 3 per message in the fake
  EXPECT_EQ(body["usage"]["completion_tokens"], 4);
  EXPECT_EQ(body["usage"]["total_tokens"], 9);
}

TEST_F(HttpApi, SamplingFieldsReachTheBackend) {
  json b = chat_body();
  b.merge_patch({{"temperature", 0.3}, {"seed", 11}, {"stop", {"zz"}}, {"priority", 3},
                 {"logit_bias", {{"15", -50}}}, {"user", "alice"}});
  ASSERT_EQ(chat(b).status, 200);
  auto req = backend_->last_request();
  ASSERT_TRUE(req);
  EXPECT_DOUBLE_EQ(req->sampling.temperature, 0.3);
  EXPECT_EQ(req->sampling.seed, 11);
  EXPECT_EQ(req->priority, 3);
  EXPECT_EQ(req->user, "alice");
  ASSERT_EQ(req->sampling.logit_bias.size(), 1u);
  EXPECT_EQ(req->sampling.logit_bias[0].first, 15);
}

TEST_F(HttpApi, NChoicesMaxTokensAndLogprobs) {
  json b = chat_body();
  b.merge_patch({{"n", 3}, {"max_tokens", 2}, {"logprobs", true}, {"top_logprobs", 2}});
  auto r = chat(b);
  ASSERT_EQ(r.status, 200) << r.body;
  json body = json::parse(r.body);
  ASSERT_EQ(body["choices"].size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(body["choices"][i]["index"], i);
    EXPECT_EQ(body["choices"][i]["message"]["content"], "Hello,");
    EXPECT_EQ(body["choices"][i]["finish_reason"], "length");
    auto lp = body["choices"][i]["logprobs"]["content"];
    ASSERT_EQ(lp.size(), 2u);
    EXPECT_EQ(lp[0]["top_logprobs"].size(), 2u);
  }
  EXPECT_EQ(body["usage"]["completion_tokens"], 6);
}

TEST_F(HttpApi, ToolCallsAndReasoning) {
  auto r = chat(chat_body("weather? [tool]"));
  ASSERT_EQ(r.status, 200);
  json msg = json::parse(r.body)["choices"][0]["message"];
  EXPECT_TRUE(msg["content"].is_null());
  EXPECT_EQ(msg["tool_calls"][0]["id"], "call_fake_1");
  EXPECT_EQ(msg["tool_calls"][0]["function"]["name"], "get_weather");
  EXPECT_EQ(json::parse(msg["tool_calls"][0]["function"]["arguments"].get<std::string>())["city"], "Paris");
  EXPECT_EQ(json::parse(r.body)["choices"][0]["finish_reason"], "tool_calls");

  r = chat(chat_body("[reason]"));
  msg = json::parse(r.body)["choices"][0]["message"];
  EXPECT_EQ(msg["reasoning_content"], "Let me think about it.");
  EXPECT_EQ(msg["content"], "The answer is 42.");
}

TEST_F(HttpApi, LoneBytesFromTheModelBecomeValidUtf8) {
  auto r = chat(chat_body("[bad-utf8]"));
  ASSERT_EQ(r.status, 200);
  json body = json::parse(r.body);  // throws on invalid UTF-8
  EXPECT_EQ(body["choices"][0]["message"]["content"], "ok \xEF\xBF\xBD caf\xC3\xA9!");
}

TEST_F(HttpApi, EngineFailureIs500) {
  auto r = chat(chat_body("[fail]"));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(error_of(r)["type"], "server_error");
  EXPECT_NE(error_of(r)["message"].get<std::string>().find("out of cheese"), std::string::npos);
}

TEST_F(HttpApi, BadRequestsAre400WithParam) {
  auto r = post(port(), "/v1/chat/completions", "{not json");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_of(r)["code"], "invalid_json");
  json b = chat_body();
  b["temperature"] = 7;
  r = chat(b);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_of(r)["param"], "temperature");
  b = chat_body();
  b["messages"] = "hello";
  EXPECT_EQ(error_of(chat(b))["param"], "messages");
  r = post(port(), "/v1/chat/completions", "[1,2,3]");
  EXPECT_EQ(r.status, 400);
  r = post(port(), "/v1/chat/completions", "");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(backend_->started(), 0);
}

TEST_F(HttpApi, HostileJsonBodies) {
  auto r = post(port(), "/v1/chat/completions", std::string(500000, '[') + std::string(500000, ']'));
  EXPECT_EQ(r.status, 400);
  r = post(port(), "/v1/chat/completions", "{\"model\": \"\xff\xfe\", \"messages\": []}");
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(json::accept(r.body));
  r = post(port(), "/v1/chat/completions", R"({"model":"tandem-fake","messages":[{"role":"user","content":"x"}],"max_tokens":1e999})");
  EXPECT_EQ(r.status, 400);
  r = post(port(), "/v1/chat/completions", R"({"model":"tandem-fake","messages":[{"role":"user","content":"x"}],"n":1e18})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_of(r)["param"], "n");
  // The server is still fine afterwards.
  EXPECT_EQ(http_request(port(), "GET", "/health").status, 200);
}

TEST_F(HttpApi, UnknownModelIs404) {
  json b = chat_body();
  b["model"] = "gpt-17";
  auto r = chat(b);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(error_of(r)["code"], "model_not_found");
  EXPECT_EQ(error_of(r)["param"], "model");
}

TEST_F(HttpApi, QueueFullIs429WithRetryAfter) {
  stop_server();
  FakeBackendOptions fake;
  fake.max_running = 0;
  start_server(test_options(), fake);
  auto r = chat(chat_body());
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.header("retry-after"), "2");
  EXPECT_EQ(error_of(r)["type"], "rate_limit_error");
}

TEST_F(HttpApi, LoadingIs503ButHealthStays200) {
  backend_->set_state(BackendState::Loading);
  EXPECT_EQ(chat(chat_body()).status, 503);
  auto ready = http_request(port(), "GET", "/ready");
  EXPECT_EQ(ready.status, 503);
  EXPECT_FALSE(ready.header("retry-after").empty());
  EXPECT_EQ(http_request(port(), "GET", "/health").status, 200);
  backend_->set_state(BackendState::Ready);
  EXPECT_EQ(http_request(port(), "GET", "/ready").status, 200);
  EXPECT_EQ(chat(chat_body()).status, 200);
}

TEST_F(HttpApi, ModelsListAndCard) {
  auto r = http_request(port(), "GET", "/v1/models");
  ASSERT_EQ(r.status, 200);
  json list = json::parse(r.body);
  EXPECT_EQ(list["object"], "list");
  ASSERT_EQ(list["data"].size(), 2u);
  EXPECT_EQ(list["data"][0]["object"], "model");
  EXPECT_EQ(list["data"][0]["owned_by"], "tandem");
  EXPECT_EQ(list["data"][0]["context_length"], 4096);
  r = http_request(port(), "GET", "/v1/models/tandem-fake");
  EXPECT_EQ(json::parse(r.body)["id"], "tandem-fake");
  EXPECT_EQ(json::parse(http_request(port(), "GET", "/v1/models/org%2Ffake-2").body)["id"], "org/fake-2");
  EXPECT_EQ(json::parse(http_request(port(), "GET", "/v1/models/org/fake-2").body)["id"], "org/fake-2");
  EXPECT_EQ(http_request(port(), "GET", "/v1/models/nope").status, 404);
}

TEST_F(HttpApi, CompletionsNonStreamWithEchoAndPrompts) {
  auto r = post(port(), "/v1/completions",
                json{{"model", "tandem-fake"}, {"prompt", {"one two", "three"}}, {"echo", true}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  json body = json::parse(r.body);
  EXPECT_EQ(body["object"], "text_completion");
  EXPECT_EQ(body["id"].get<std::string>().rfind("cmpl-", 0), 0u);
  ASSERT_EQ(body["choices"].size(), 2u);
  EXPECT_EQ(body["choices"][0]["text"], "one twoHello, world!");
  EXPECT_EQ(body["choices"][1]["text"], "threeHello, world!");
  EXPECT_EQ(body["usage"]["prompt_tokens"], 3);
  EXPECT_EQ(body["usage"]["completion_tokens"], 8);
}

TEST_F(HttpApi, Embeddings) {
  auto r = post(port(), "/v1/embeddings", json{{"model", "tandem-fake"}, {"input", {"a b", "c"}}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  json body = json::parse(r.body);
  EXPECT_EQ(body["object"], "list");
  ASSERT_EQ(body["data"].size(), 2u);
  EXPECT_EQ(body["data"][1]["index"], 1);
  EXPECT_EQ(body["data"][0]["embedding"].size(), 8u);
  EXPECT_EQ(body["usage"]["prompt_tokens"], 3);
  r = post(port(), "/v1/embeddings",
           json{{"model", "tandem-fake"}, {"input", "x"}, {"encoding_format", "base64"}, {"dimensions", 3}}.dump());
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["data"][0]["embedding"].get<std::string>().size(), 16u);  // 12 bytes
  EXPECT_EQ(post(port(), "/v1/embeddings", json{{"model", "zzz"}, {"input", "x"}}.dump()).status, 404);
  EXPECT_EQ(post(port(), "/v1/embeddings", json{{"model", "tandem-fake"}, {"input", 5}}.dump()).status, 400);
}

TEST_F(HttpApi, MetricsCountRequestsTokensAndEngineStats) {
  ASSERT_EQ(chat(chat_body()).status, 200);
  (void)http_request(port(), "GET", "/nope");
  auto r = http_request(port(), "GET", "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type").rfind("text/plain", 0), 0u);
  const std::string& m = r.body;
  EXPECT_NE(m.find("tandem_http_requests_total{route=\"/v1/chat/completions\",status=\"200\"} 1"), std::string::npos) << m;
  EXPECT_NE(m.find("tandem_http_requests_total{route=\"other\",status=\"404\"} 1"), std::string::npos);
  EXPECT_NE(m.find("tandem_generation_tokens_total 4"), std::string::npos);
  EXPECT_NE(m.find("tandem_prompt_tokens_total 5"), std::string::npos);
  EXPECT_NE(m.find("tandem_time_to_first_token_seconds_count 1"), std::string::npos);
  EXPECT_NE(m.find("tandem_time_per_output_token_seconds_count 3"), std::string::npos);
  EXPECT_NE(m.find("tandem_queue_depth 0"), std::string::npos);
  EXPECT_NE(m.find("tandem_kv_cache_usage_ratio"), std::string::npos);
  EXPECT_NE(m.find("tandem_batch_size_tokens"), std::string::npos);
}

class ForbidAll : public Authenticator {
 public:
  AuthDecision authorize(const AuthRequest&) const override {
    return {AuthDecision::Outcome::Forbidden, {}, "this key may not use this model"};
  }
};

TEST_F(HttpApi, AuthHook401And403) {
  stop_server();
  ServerOptions o = test_options();
  o.authenticator = std::make_shared<StaticKeyAuthenticator>(std::set<std::string>{"sk-good"});
  start_server(o);
  EXPECT_EQ(chat(chat_body()).status, 401);
  EXPECT_EQ(chat(chat_body(), {{"Authorization", "Bearer sk-bad"}}).status, 401);
  EXPECT_EQ(chat(chat_body(), {{"Authorization", "Bearer sk-good"}}).status, 200);
  EXPECT_EQ(http_request(port(), "GET", "/v1/models").status, 401);
  EXPECT_EQ(http_request(port(), "GET", "/health").status, 200);  // probes need no key
  auto last = backend_->last_request();
  ASSERT_TRUE(last);
  EXPECT_FALSE(last->principal.empty());

  stop_server();
  o.authenticator = std::make_shared<ForbidAll>();
  start_server(o);
  auto r = chat(chat_body(), {{"Authorization", "Bearer x"}});
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(error_of(r)["type"], "permission_error");
}

TEST_F(HttpApi, OversizedBodyIs413BeforeReading) {
  stop_server();
  ServerOptions o = test_options();
  o.max_body_bytes = 1024;
  start_server(o);
  // Declared too large: refused from the header alone (no body is ever sent).
  std::string raw = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    "Content-Length: 100000000\r\n\r\n";
  std::string reply = raw_exchange(port(), raw);
  EXPECT_EQ(status_of(reply), 413) << reply;
  EXPECT_NE(reply.find("payload_too_large"), std::string::npos);
  // Chunked, so no declared length: cut off once it passes the limit.
  std::string chunk(900, 'x');
  std::string chunked = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) chunked += "384\r\n" + chunk + "\r\n";
  chunked += "0\r\n\r\n";
  EXPECT_EQ(status_of(raw_exchange(port(), chunked)), 413);
  // Just under the limit is fine (reaches validation).
  EXPECT_EQ(post(port(), "/v1/chat/completions", std::string(1000, ' ') + "{}").status, 400);
}

}  // namespace
}  // namespace tandem::server::testing
