#pragma once
// Internal: what every connection of one Server shares. Not part of the public API.
#include <atomic>
#include <memory>
#include <mutex>
#include <unordered_map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "server/backend.h"
#include "server/metrics.h"
#include "server/server_options.h"

namespace tandem::server {

class Session;

struct ServerState {
  ServerState(ServerOptions opts, Backend& b)
      : options(std::move(opts)),
        backend(b),
        blocking_pool(static_cast<std::size_t>(std::max(1, options.blocking_threads))) {}

  const ServerOptions options;
  Backend& backend;
  Metrics metrics;

  std::atomic<bool> draining{false};
  std::atomic<std::int64_t> in_flight{0};  // requests read but not yet fully answered

  // Open connections, for the connection limit and for drain / shutdown.
  std::mutex sessions_mutex;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;

  void add_session(Session* s, std::weak_ptr<Session> w) {
    std::lock_guard lock(sessions_mutex);
    sessions.emplace(s, std::move(w));
  }
  void remove_session(Session* s) {
    std::lock_guard lock(sessions_mutex);
    sessions.erase(s);
  }
  std::size_t session_count() {
    std::lock_guard lock(sessions_mutex);
    return sessions.size();
  }
  template <typename F>
  void for_each_session(F f) {
    std::vector<std::shared_ptr<Session>> alive;
    {
      std::lock_guard lock(sessions_mutex);
      for (auto& [ptr, weak] : sessions) {
        if (auto s = weak.lock()) alive.push_back(std::move(s));
      }
    }
    for (auto& s : alive) f(s);
  }

  // Declared last: destroyed first, so pending handlers (which own sessions) go away while
  // everything above is still alive.
  boost::asio::io_context ioc;
  boost::asio::thread_pool blocking_pool;  // blocking backend calls (embeddings)
};

}  // namespace tandem::server
