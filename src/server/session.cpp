#include "server/session.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

namespace tandem::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {
// How long a connection we are closing on an error may keep sending before we cut it. Reading
// what it sends (instead of closing at once) lets it see our error reply rather than a reset.
constexpr std::chrono::seconds kLingerTime{1};
constexpr std::size_t kLingerBytes = 1u << 20;
}  // namespace

Session::Session(tcp::socket socket, ServerState& state)
    : stream_(std::move(socket)), state_(state) {
  state_.metrics.connection_opened();
}

Session::~Session() {
  release_generation();
  if (in_request_) state_.in_flight.fetch_sub(1);
  state_.remove_session(this);
  state_.metrics.connection_closed();
}

void Session::start() {
  state_.add_session(this, weak_from_this());
  net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_request(); });
}

void Session::refuse() {
  state_.metrics.connection_refused();
  net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
    self->keep_alive_ = false;
    self->route_ = "other";
    self->send_reply(error_reply(unavailable("Too many connections; try again shortly", 1)));
  });
}

void Session::drain() {
  net::post(stream_.get_executor(), [self = shared_from_this()] {
    if (self->idle_) self->close();
  });
}

void Session::shutdown_now() {
  release_generation();
  close();
}

// ------------------------------------------------------------------------------ reading

void Session::read_request() {
  idle_ = true;
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(state_.options.max_header_bytes));
  parser_->body_limit(state_.options.max_body_bytes);
  stream_.expires_after(state_.options.idle_timeout);
  http::async_read_header(stream_, buffer_, *parser_,
                          [self = shared_from_this()](beast::error_code ec, std::size_t) {
                            self->on_header(ec);
                          });
}

void Session::on_header(beast::error_code ec) {
  head_request_ = false;
  if (ec) {
    if (ec == http::error::body_limit) {  // the declared Content-Length is over the limit
      keep_alive_ = false;
      route_ = "other";
      begin_request();
      send_reply(error_reply(payload_too_large(state_.options.max_body_bytes)));
    } else if (ec == http::error::header_limit) {
      keep_alive_ = false;
      route_ = "other";
      begin_request();
      send_reply(Reply{431, ApiError(431, "Request headers are too large", "invalid_request_error",
                                     std::nullopt, "headers_too_large")
                                .body()});
    } else if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
               ec != http::error::end_of_stream && ec != http::error::partial_message) {
      keep_alive_ = false;
      route_ = "other";
      begin_request();
      send_reply(error_reply(bad_request("Malformed HTTP request: " + ec.message())));
    } else {
      close();  // end of stream, reset, idle timeout
    }
    return;
  }
  idle_ = false;
  const auto& req = parser_->get();
  version_ = req.version();
  keep_alive_ = req.keep_alive();
  const auto target = req.target();
  route_ = route_name(std::string_view(target.data(), target.size()));
  arrival_ = std::chrono::steady_clock::now();
  begin_request();
  head_request_ = req.method() == http::verb::head;
  // (A declared Content-Length over the limit already failed the header read with
  // body_limit above, so an oversized body is refused before a byte of it is read.)
  if (beast::iequals(req[http::field::expect], "100-continue")) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    stream_.expires_after(state_.options.write_timeout);
    net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                     [self = shared_from_this()](beast::error_code wec, std::size_t) {
                       if (wec) return self->close();
                       self->read_body();
                     });
    return;
  }
  read_body();
}

void Session::read_body() {
  stream_.expires_after(state_.options.idle_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](beast::error_code ec, std::size_t) {
                     self->on_body(ec);
                   });
}

void Session::on_body(beast::error_code ec) {
  if (ec == http::error::body_limit) {
    keep_alive_ = false;
    send_reply(error_reply(payload_too_large(state_.options.max_body_bytes)));
    return;
  }
  if (ec) {
    end_request(499);  // client went away mid-request (nginx's "client closed request")
    close();
    return;
  }
  dispatch();
}

void Session::dispatch() {
  if (state_.draining.load()) keep_alive_ = false;
  Action action = handle_request(state_, parser_->get());
  parser_.reset();  // the body (up to max_body_bytes) is not needed any more
  run_action(std::move(action));
}

void Session::run_action(Action action) {
  if (auto* reply = std::get_if<Reply>(&action)) return send_reply(std::move(*reply));
  if (auto* start = std::get_if<StartGeneration>(&action)) return begin_generation(std::move(*start));
  auto& blocking = std::get<RunBlocking>(action);
  net::post(state_.blocking_pool, [self = shared_from_this(), work = std::move(blocking.work)] {
    Reply reply = work();
    net::post(self->stream_.get_executor(),
              [self, reply = std::move(reply)]() mutable { self->send_reply(std::move(reply)); });
  });
}

// ------------------------------------------------------------------------------ replying

void Session::send_reply(Reply reply) {
  idle_ = false;
  auto res = std::make_shared<StringResponse>(static_cast<http::status>(reply.status), version_);
  res->set(http::field::server, "tandem");
  res->set(http::field::content_type, reply.content_type);
  if (reply.retry_after > 0) res->set(http::field::retry_after, std::to_string(reply.retry_after));
  if (!reply.allow.empty()) res->set(http::field::allow, reply.allow);
  const bool keep_alive = keep_alive_ && !state_.draining.load();
  res->keep_alive(keep_alive);
  res->body() = std::move(reply.body);
  res->prepare_payload();
  if (head_request_) res->body().clear();  // HEAD: the GET headers (Content-Length too), no body
  reply_ = res;
  reply_status_ = reply.status;
  record_status(reply.status);  // before the client can see the reply (tests read /metrics next)
  stream_.expires_after(state_.options.write_timeout);
  http::async_write(stream_, *res,
                    [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
                      self->on_reply_written(keep_alive, ec);
                    });
}

void Session::on_reply_written(bool keep_alive, beast::error_code ec) {
  reply_.reset();
  // Counted as done only once written, so a drain does not cut a reply mid-write.
  end_request(ec ? 499 : reply_status_);
  if (ec) return close();
  next_request(keep_alive);
}

void Session::begin_request() {
  in_request_ = true;
  status_recorded_ = false;
  state_.in_flight.fetch_add(1);
}

void Session::record_status(int status) {
  if (status_recorded_) return;
  status_recorded_ = true;
  state_.metrics.record_request(route_, status);
}

void Session::end_request(int status) {
  if (!in_request_) return;
  record_status(status);
  in_request_ = false;
  state_.in_flight.fetch_sub(1);
}

void Session::next_request(bool keep_alive) {
  if (keep_alive && !state_.draining.load()) return read_request();
  // Closing: stop sending, then read (and discard) whatever the client still sends for a
  // moment, so an unread request body does not turn our reply into a connection reset.
  idle_ = true;
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream_.expires_after(kLingerTime);
  buffer_.consume(buffer_.size());
  linger(kLingerBytes);
}

void Session::linger(std::size_t budget) {
  // Never committed: the same scratch space is reused for every read.
  stream_.async_read_some(buffer_.prepare(4096),
                          [self = shared_from_this(), budget](beast::error_code ec, std::size_t n) {
                            if (ec || n >= budget) return self->close();
                            self->linger(budget - n);
                          });
}

void Session::close() {
  idle_ = true;
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.close();
}

}  // namespace tandem::server
