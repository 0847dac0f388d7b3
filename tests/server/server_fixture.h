#pragma once
// A real Server over FakeBackend on a free loopback port, run on a background thread.
#include <gtest/gtest.h>

#include <memory>
#include <thread>

#include <nlohmann/json.hpp>

#include "fake_backend.h"
#include "http_client.h"
#include "server/server.h"

namespace tandem::server::testing {

inline ServerOptions test_options() {
  ServerOptions o;
  o.port = 0;
  o.io_threads = 2;
  o.drain_timeout = std::chrono::seconds(5);
  return o;
}

class ServerFixture : public ::testing::Test {
 protected:
  void start_server(ServerOptions options = test_options(), FakeBackendOptions fake = {}) {
    backend_ = std::make_unique<FakeBackend>(std::move(fake));
    server_ = std::make_unique<Server>(std::move(options), *backend_);
    thread_ = std::thread([this] { server_->run(); });
  }
  void SetUp() override {}
  void TearDown() override { stop_server(); }
  void stop_server() {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
    backend_.reset();
  }
  std::uint16_t port() const { return server_->port(); }

  HttpResponse chat(const nlohmann::json& body, const Headers& headers = {}) {
    return post(port(), "/v1/chat/completions", body.dump(), headers);
  }
  static nlohmann::json chat_body(const std::string& user_text = "hi there", bool stream = false) {
    return {{"model", "tandem-fake"},
            {"messages", {{{"role", "user"}, {"content", user_text}}}},
            {"stream", stream}};
  }
  static nlohmann::json error_of(const HttpResponse& r) {
    return nlohmann::json::parse(r.body).at("error");
  }

  std::unique_ptr<FakeBackend> backend_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
};

}  // namespace tandem::server::testing
