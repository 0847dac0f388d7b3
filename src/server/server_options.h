#pragma once
// Everything about the HTTP server a deployment may tune, with the defaults `tandem serve` uses.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "server/auth.h"
#include "server/openai_request.h"

namespace tandem::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0 picks a free port (see Server::port())
  int io_threads = 0;         // 0 = one per hardware thread
  int blocking_threads = 2;   // pool for blocking backend calls (embeddings)

  std::size_t max_body_bytes = 8u << 20;     // 413 above this (checked on Content-Length first)
  std::size_t max_header_bytes = 16u << 10;  // 431 above this
  std::size_t max_connections = 4096;        // more are answered 503 and closed
  int listen_backlog = 1024;

  // A client that sends nothing for this long (between or during requests) is disconnected,
  // so idle keep-alive connections and slowloris attacks cannot hold sockets forever.
  std::chrono::milliseconds idle_timeout{30000};
  // A client that does not take a streamed chunk within this long is dropped and its
  // generation cancelled (it would otherwise hold a batch slot, paused, forever).
  std::chrono::milliseconds write_timeout{60000};
  // SIGTERM: stop accepting, let in-flight requests finish for up to this long, then cut them.
  std::chrono::milliseconds drain_timeout{30000};

  std::size_t stream_buffer_events = 64;  // Generation capacity per request (see generation.h)
  RequestLimits limits;

  // Optional API-key check for /v1/* routes; null = auth off.
  std::shared_ptr<const Authenticator> authenticator;
};

}  // namespace tandem::server
