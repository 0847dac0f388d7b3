#include "server/server.h"

#include <csignal>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "server/session.h"

namespace tandem::server {

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {
// How often a drain checks whether the in-flight requests have finished.
constexpr std::chrono::milliseconds kDrainPoll{20};
// Back-off when accept() fails for lack of file descriptors (EMFILE): retrying at once would
// spin; the condition clears as connections close.
constexpr std::chrono::milliseconds kAcceptRetry{50};
}  // namespace

struct Server::Impl {
  // Declared first so it is destroyed last: everything below uses its io_context.
  std::unique_ptr<ServerState> state;
  tcp::acceptor acceptor;
  net::steady_timer drain_timer;
  net::steady_timer accept_retry;
  std::optional<net::signal_set> signals;
  std::atomic<bool> stop_requested{false};
  std::chrono::steady_clock::time_point drain_deadline;

  Impl(ServerOptions options, Backend& backend)
      : state(std::make_unique<ServerState>(std::move(options), backend)),
        acceptor(net::make_strand(state->ioc)),
        drain_timer(acceptor.get_executor()),
        accept_retry(acceptor.get_executor()) {}

  void listen() {
    const ServerOptions& o = state->options;
    boost::system::error_code ec;
    tcp::resolver resolver(state->ioc);
    auto results = resolver.resolve(o.host, std::to_string(o.port), tcp::resolver::passive, ec);
    if (ec || results.empty()) {
      throw IoError("cannot resolve listen address '" + o.host + "': " + ec.message());
    }
    const tcp::endpoint endpoint = results.begin()->endpoint();
    auto fail = [&](const char* what) {
      throw IoError(std::string("cannot ") + what + " " + o.host + ":" + std::to_string(o.port) +
                    ": " + ec.message());
    };
    acceptor.open(endpoint.protocol(), ec);
    if (ec) fail("open socket for");
    acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (ec) fail("configure");
    acceptor.bind(endpoint, ec);
    if (ec) fail("bind");
    acceptor.listen(o.listen_backlog, ec);
    if (ec) fail("listen on");
  }

  void accept() {
    acceptor.async_accept(net::make_strand(state->ioc),
                          [this](boost::system::error_code ec, tcp::socket socket) {
                            on_accept(ec, std::move(socket));
                          });
  }

  void on_accept(boost::system::error_code ec, tcp::socket socket) {
    if (!acceptor.is_open() || state->draining.load()) return;
    if (ec) {
      accept_retry.expires_after(kAcceptRetry);
      accept_retry.async_wait([this](boost::system::error_code) {
        if (acceptor.is_open()) accept();
      });
      return;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);  // SSE chunks must not wait for Nagle
    auto session = std::make_shared<Session>(std::move(socket), *state);
    if (state->session_count() >= state->options.max_connections) {
      session->refuse();
    } else {
      session->start();
    }
    accept();
  }

  void begin_drain() {
    state->draining.store(true);
    boost::system::error_code ignored;
    acceptor.close(ignored);
    accept_retry.cancel();
    state->for_each_session([](const std::shared_ptr<Session>& s) { s->drain(); });
    drain_deadline = std::chrono::steady_clock::now() + state->options.drain_timeout;
    check_drain();
  }

  void check_drain() {
    const bool idle = state->in_flight.load() == 0;
    if (idle || std::chrono::steady_clock::now() >= drain_deadline) {
      state->ioc.stop();  // run() closes what is left once its threads have returned
      return;
    }
    drain_timer.expires_after(kDrainPoll);
    drain_timer.async_wait([this](boost::system::error_code ec) {
      if (!ec) check_drain();
    });
  }
};

Server::Server(ServerOptions options, Backend& backend)
    : impl_(std::make_unique<Impl>(std::move(options), backend)) {
  impl_->listen();
}

Server::~Server() {
  // If run() never ran (or was left by an exception), detach sessions from the engine before
  // the io_context they post to goes away.
  impl_->state->for_each_session([](const std::shared_ptr<Session>& s) { s->shutdown_now(); });
}

std::uint16_t Server::port() const {
  boost::system::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

const Metrics& Server::metrics() const { return impl_->state->metrics; }

void Server::stop() {
  if (impl_->stop_requested.exchange(true)) return;
  net::post(impl_->acceptor.get_executor(), [impl = impl_.get()] { impl->begin_drain(); });
}

void Server::run(bool handle_signals) {
  ServerState& st = *impl_->state;
  if (handle_signals) {
    impl_->signals.emplace(st.ioc, SIGINT, SIGTERM);
    impl_->signals->async_wait([this](boost::system::error_code ec, int) {
      if (!ec) stop();
    });
  }
  impl_->accept();
  int threads = st.options.io_threads;
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> workers;
  for (int i = 1; i < threads; ++i) workers.emplace_back([&st] { st.ioc.run(); });
  st.ioc.run();
  for (auto& w : workers) w.join();

  // No handler runs any more: cut what the drain left and detach from the engine.
  if (impl_->signals) {
    boost::system::error_code ignored;
    impl_->signals->cancel(ignored);
    impl_->signals.reset();
  }
  st.for_each_session([](const std::shared_ptr<Session>& s) { s->shutdown_now(); });
}

}  // namespace tandem::server
