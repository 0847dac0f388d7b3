#pragma once
// tandem's HTTP server: the OpenAI-compatible API over a Backend.
//
// Why Boost.Beast on Boost.Asio (Debian's libboost1.81-dev): it is asynchronous, so a
// connection costs a socket and a small object rather than a thread. That is what lets 1000+
// concurrent connections (many of them slow SSE readers) share a couple of I/O threads, and
// keeps /health well above 20k requests/s. cpp-httplib (the other Debian option) runs a thread
// per connection from a fixed pool, so slow streaming clients would starve everyone else.
//
//   Server server(options, backend);   // binds and listens (throws IoError if it cannot)
//   std::thread t([&] { server.run(); });
//   ...
//   server.stop();                     // graceful drain; run() returns when done
#include <cstdint>
#include <memory>

#include "server/backend.h"
#include "server/server_options.h"

namespace tandem::server {

class Metrics;

class Server {
 public:
  Server(ServerOptions options, Backend& backend);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  std::uint16_t port() const;  // the bound port (useful with options.port = 0)

  // Serves on options.io_threads threads (the caller's included) until stop() has drained.
  // With handle_signals, SIGTERM and SIGINT call stop().
  void run(bool handle_signals = false);

  // Graceful drain, callable from any thread, any number of times: stop accepting, answer new
  // requests on open connections with 503, let in-flight requests finish until
  // options.drain_timeout, then cut the rest and make run() return.
  void stop();

  const Metrics& metrics() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tandem::server
