// SSE streaming over HTTP: chunk shapes, errors mid-stream, disconnects and slow readers.
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "server_fixture.h"

namespace tandem::server::testing {
namespace {

using nlohmann::json;

std::string raw_post(const std::string& target, const std::string& body) {
  return "POST " + target +
         " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return condition();
}

class HttpStreaming : public ServerFixture {
 protected:
  void SetUp() override { start_server(); }
};

TEST_F(HttpStreaming, ChatStreamShape) {
  auto r = chat(chat_body("hi", /*stream=*/true));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "text/event-stream");
  EXPECT_EQ(r.header("transfer-encoding"), "chunked");
  auto data = sse_data(r.body);
  ASSERT_GE(data.size(), 3u);
  EXPECT_EQ(data.back(), "[DONE]");
  json first = json::parse(data[0]);
  EXPECT_EQ(first["object"], "chat.completion.chunk");
  EXPECT_EQ(first["choices"][0]["delta"]["role"], "assistant");
  std::string text;
  std::string finish;
  for (std::size_t i = 0; i + 1 < data.size(); ++i) {
    json c = json::parse(data[i]);
    EXPECT_EQ(c["id"], first["id"]);
    EXPECT_FALSE(c.contains("usage"));  // only with stream_options.include_usage
    const json& choice = c["choices"][0];
    if (choice["delta"].contains("content")) text += choice["delta"]["content"].get<std::string>();
    if (!choice["finish_reason"].is_null()) finish = choice["finish_reason"];
  }
  EXPECT_EQ(text, "Hello, world!");
  EXPECT_EQ(finish, "stop");
}

TEST_F(HttpStreaming, IncludeUsageAddsAFinalUsageChunk) {
  json b = chat_body("a b c", true);
  b["stream_options"] = {{"include_usage", true}};
  auto data = sse_data(chat(b).body);
  ASSERT_GE(data.size(), 3u);
  json usage_chunk = json::parse(data[data.size() - 2]);
  EXPECT_TRUE(usage_chunk["choices"].empty());
  EXPECT_EQ(usage_chunk["usage"]["prompt_tokens"], 6);
  EXPECT_EQ(usage_chunk["usage"]["completion_tokens"], 4);
  EXPECT_TRUE(json::parse(data[1])["usage"].is_null());
}

TEST_F(HttpStreaming, CompletionsStream) {
  auto r = post(port(), "/v1/completions",
                json{{"model", "tandem-fake"}, {"prompt", "x"}, {"stream", true}, {"n", 2}}.dump());
  auto data = sse_data(r.body);
  ASSERT_FALSE(data.empty());
  EXPECT_EQ(data.back(), "[DONE]");
  std::string text[2];
  for (std::size_t i = 0; i + 1 < data.size(); ++i) {
    json c = json::parse(data[i]);
    EXPECT_EQ(c["object"], "text_completion");
    text[c["choices"][0]["index"].get<int>()] += c["choices"][0]["text"].get<std::string>();
  }
  EXPECT_EQ(text[0], "Hello, world!");
  EXPECT_EQ(text[1], "Hello, world!");
}

TEST_F(HttpStreaming, FailureMidStreamSendsErrorEventThenEnds) {
  auto r = chat(chat_body("[fail]", true));
  EXPECT_EQ(r.status, 200);  // headers went out before the failure
  auto data = sse_data(r.body);
  ASSERT_GE(data.size(), 2u);
  EXPECT_NE(data.back(), "[DONE]");
  json last = json::parse(data.back());
  EXPECT_EQ(last["error"]["code"], "generation_failed");
  EXPECT_EQ(json::parse(data[1])["choices"][0]["delta"]["content"], "one");
}

TEST_F(HttpStreaming, BadUtf8IsRepairedInEveryChunk) {
  auto data = sse_data(chat(chat_body("[bad-utf8]", true)).body);
  std::string text;
  for (std::size_t i = 0; i + 1 < data.size(); ++i) {
    json c = json::parse(data[i]);  // throws on invalid UTF-8
    if (c["choices"][0]["delta"].contains("content")) text += c["choices"][0]["delta"]["content"];
  }
  EXPECT_EQ(text, "ok \xEF\xBF\xBD caf\xC3\xA9!");
}

TEST_F(HttpStreaming, ToolCallDeltasStream) {
  auto data = sse_data(chat(chat_body("[tool]", true)).body);
  std::string args;
  std::string name;
  for (std::size_t i = 0; i + 1 < data.size(); ++i) {
    json d = json::parse(data[i])["choices"][0]["delta"];
    if (!d.contains("tool_calls")) continue;
    const json& call = d["tool_calls"][0];
    if (call["function"].contains("name")) name = call["function"]["name"];
    args += call["function"]["arguments"].get<std::string>();
  }
  EXPECT_EQ(name, "get_weather");
  EXPECT_EQ(json::parse(args)["city"], "Paris");
}

TEST_F(HttpStreaming, ClientDisconnectMidStreamCancelsGeneration) {
  const int fd = connect_socket(port());
  ASSERT_GE(fd, 0);
  send_all(fd, raw_post("/v1/chat/completions", chat_body("[forever]", true).dump()));
  std::string got = read_until_close(fd, 2000);  // some chunks have arrived
  EXPECT_EQ(status_of(got), 200);
  ASSERT_TRUE(eventually([&] { return backend_->started() == 1; }, std::chrono::seconds(2)));
  const auto closed_at = std::chrono::steady_clock::now();
  ::close(fd);
  EXPECT_TRUE(eventually([&] { return backend_->cancelled() == 1; }, std::chrono::seconds(5)));
  // Within a few engine steps (1 ms each), not a timeout.
  EXPECT_LT(std::chrono::steady_clock::now() - closed_at, std::chrono::milliseconds(1000));
  EXPECT_TRUE(eventually([&] { return backend_->running() == 0; }, std::chrono::seconds(2)));
}

TEST_F(HttpStreaming, ClientDisconnectWhileWaitingNonStreamCancels) {
  const int fd = connect_socket(port());
  ASSERT_GE(fd, 0);
  send_all(fd, raw_post("/v1/chat/completions", chat_body("[forever]", false).dump()));
  ASSERT_TRUE(eventually([&] { return backend_->started() == 1; }, std::chrono::seconds(2)));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ::close(fd);
  EXPECT_TRUE(eventually([&] { return backend_->cancelled() == 1; }, std::chrono::seconds(2)));
}

TEST_F(HttpStreaming, SlowReaderPausesTheSequenceInsteadOfBuffering) {
  stop_server();
  ServerOptions o = test_options();
  o.stream_buffer_events = 4;
  start_server(o);
  const int client = connect_socket(port());
  ASSERT_GE(client, 0);
  json b = chat_body("[big]", true);
  b["max_tokens"] = 1500;  // 12 MiB of SSE: more than the socket buffers between us hold
  send_all(client, raw_post("/v1/chat/completions", b.dump()));
  // Not reading: the engine must end up skipping this sequence, not queueing tokens.
  EXPECT_TRUE(eventually([&] { return backend_->paused_steps() > 50; }, std::chrono::seconds(10)));
  EXPECT_EQ(backend_->running(), 1);
  // Now read it all: every token arrives and the stream ends properly.
  std::string all = read_until_close(client, SIZE_MAX);
  ::close(client);
  auto data = sse_data(all.substr(all.find("\r\n\r\n") + 4));
  // Chunked framing lines are interleaved; count content-bearing frames instead of exact split.
  std::size_t tokens = 0;
  for (const auto& d : data) {
    if (d.find("\"content\":\"big") != std::string::npos) ++tokens;
  }
  EXPECT_EQ(tokens, 1500u);
  EXPECT_NE(all.find("data: [DONE]"), std::string::npos);
}

}  // namespace
}  // namespace tandem::server::testing
