// Hostile and heavy traffic: malformed HTTP, many concurrent connections, keep-alive and
// pipelining, and graceful drain.
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <thread>

#include "server_fixture.h"

namespace tandem::server::testing {
namespace {

using nlohmann::json;

// Both ends of 1000+ connections live in this process: make sure the fd limit allows it.
void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

class HttpRobustness : public ServerFixture {
 protected:
  void wait_for_start() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (backend_->started() == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ASSERT_EQ(backend_->started(), 1);
  }
};

TEST_F(HttpRobustness, MalformedRequestLineIs400) {
  start_server();
  std::string reply = raw_exchange(port(), "GARBAGE\x01\x02 / HTTP/9.9\r\n\r\n");
  EXPECT_EQ(status_of(reply), 400) << reply;
  EXPECT_EQ(http_request(port(), "GET", "/health").status, 200);
}

TEST_F(HttpRobustness, HugeHeaderIs431) {
  start_server();
  std::string raw = "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n";
  EXPECT_EQ(status_of(raw_exchange(port(), raw)), 431);
}

TEST_F(HttpRobustness, KeepAliveAndPipelining) {
  start_server();
  const int fd = connect_socket(port());
  ASSERT_GE(fd, 0);
  std::string body = chat_body().dump();
  std::string chat_req = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                         std::to_string(body.size()) + "\r\n\r\n" + body;
  // Three requests in one write; the last asks to close so the read below ends.
  send_all(fd, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n" + chat_req +
                   "GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string all = read_until_close(fd);
  ::close(fd);
  std::size_t count = 0;
  for (std::size_t pos = 0; (pos = all.find("HTTP/1.1 200", pos)) != std::string::npos; ++pos) ++count;
  EXPECT_EQ(count, 3u) << all;
  EXPECT_NE(all.find("Hello, world!"), std::string::npos);
}

TEST_F(HttpRobustness, IdleConnectionsAreClosedAfterTimeout) {
  ServerOptions o = test_options();
  o.idle_timeout = std::chrono::milliseconds(200);
  start_server(o);
  const int fd = connect_socket(port());
  ASSERT_GE(fd, 0);
  send_all(fd, "GET /health HTTP/1.1\r\nHo");  // slowloris: never finishes the header
  const auto t0 = std::chrono::steady_clock::now();
  std::string got = read_until_close(fd);
  ::close(fd);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

// Opens `count` connections at once, sends a request on each, and sorts the outcomes.
struct Outcome {
  int ok = 0, refused = 0, failed = 0;
};
Outcome hammer(std::uint16_t port, int count, const std::string& request) {
  std::vector<int> fds;
  Outcome out;
  for (int i = 0; i < count; ++i) {
    const int fd = connect_socket(port, std::chrono::seconds(20));
    if (fd < 0) {
      std::fprintf(stderr, "connect failed: errno %d\n", errno);
      ++out.failed;
      continue;
    }
    fds.push_back(fd);
  }
  for (int fd : fds) send_all(fd, request);
  for (int fd : fds) {
    const int status = status_of(read_until_close(fd, 12));
    if (status == 200) {
      ++out.ok;
    } else if (status == 503 || status == 429) {  // refused cleanly, with a reply
      ++out.refused;
    } else {
      ++out.failed;
      std::fprintf(stderr, "unexpected reply status %d (errno %d)\n", status, errno);
    }
    ::close(fd);
  }
  return out;
}

TEST_F(HttpRobustness, ThousandConcurrentConnectionsAreAllServed) {
  raise_fd_limit();
  FakeBackendOptions fake;
  fake.max_running = 1000;  // the fake's queue takes them all (else some get a clean 429)
  start_server(test_options(), fake);
  const auto t0 = std::chrono::steady_clock::now();
  Outcome o = hammer(port(), 1000, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(o.ok, 1000);
  EXPECT_EQ(o.failed, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(30));
  // Concurrent generations too (each streams a few tokens).
  std::string body = chat_body("hi", true).dump();
  o = hammer(port(), 1000,
             "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                 std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_EQ(o.ok, 1000);
  EXPECT_EQ(o.failed, 0);
  EXPECT_EQ(http_request(port(), "GET", "/health").status, 200);
}

TEST_F(HttpRobustness, OverTheConnectionLimitIsRefusedCleanly) {
  raise_fd_limit();
  ServerOptions o = test_options();
  o.max_connections = 100;
  start_server(o);
  Outcome out = hammer(port(), 400, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(out.failed, 0);
  EXPECT_EQ(out.ok + out.refused, 400);
  EXPECT_GE(out.ok, 100);
  EXPECT_GT(out.refused, 0);
  EXPECT_EQ(http_request(port(), "GET", "/health").status, 200);
}

TEST_F(HttpRobustness, DrainFinishesInFlightStreamsThenStops) {
  FakeBackendOptions fake;
  fake.token_delay = std::chrono::milliseconds(5);
  start_server(test_options(), fake);
  const std::uint16_t p = port();
  HttpResponse streamed;
  std::thread client([&] { streamed = chat(chat_body("[long]", true)); });
  wait_for_start();
  server_->stop();
  // New connections are refused once the acceptor closes (give the drain a moment to start).
  bool refused = false;
  for (int i = 0; i < 200 && !refused; ++i) {
    const int fd = connect_socket(p);
    refused = fd < 0;
    if (fd >= 0) ::close(fd);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(refused);
  client.join();
  thread_.join();  // run() returned by itself
  auto data = sse_data(streamed.body);
  ASSERT_FALSE(data.empty());
  EXPECT_EQ(data.back(), "[DONE]");  // the in-flight stream was allowed to finish
  EXPECT_EQ(backend_->completed(), 1);
  EXPECT_EQ(backend_->cancelled(), 0);
}

TEST_F(HttpRobustness, DrainDeadlineCutsEndlessGenerations) {
  ServerOptions o = test_options();
  o.drain_timeout = std::chrono::milliseconds(200);
  start_server(o);
  const int fd = connect_socket(port());
  ASSERT_GE(fd, 0);
  std::string body = chat_body("[forever]", true).dump();
  send_all(fd, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                   std::to_string(body.size()) + "\r\n\r\n" + body);
  wait_for_start();
  const auto t0 = std::chrono::steady_clock::now();
  server_->stop();
  thread_.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (backend_->cancelled() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(backend_->cancelled(), 1);
  ::close(fd);
}

TEST_F(HttpRobustness, StopBeforeRunReturnsPromptly) {
  backend_ = std::make_unique<FakeBackend>();
  server_ = std::make_unique<Server>(test_options(), *backend_);
  server_->stop();
  server_->run();  // must not hang
  SUCCEED();
}

TEST_F(HttpRobustness, BindFailureIsAnIoError) {
  start_server();
  ServerOptions o = test_options();
  o.port = port();
  FakeBackend other;
  EXPECT_THROW(Server(o, other), IoError);
}

}  // namespace
}  // namespace tandem::server::testing
