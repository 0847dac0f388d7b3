#pragma once
// Internal: one HTTP/1.1 connection. Reads requests (keep-alive), answers them through
// routes.h, and for generations either streams SSE chunks or collects the whole response.
// All of a session's handlers run on its own strand, so its state needs no locks; the engine
// reaches it only through the Generation's waker, which posts to that strand.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>

#include "server/routes.h"

namespace tandem::server {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(boost::asio::ip::tcp::socket socket, ServerState& state);
  ~Session();

  void start();   // serve requests until the client leaves
  void refuse();  // over the connection limit: answer 503 and close

  // Called (from any thread) when the server drains or shuts down.
  void drain();        // close now if between requests; otherwise after the current one
  // Once the I/O threads have stopped (no handler can run): detach from the engine so it can
  // no longer wake us, and close the socket.
  void shutdown_now();

 private:
  using Parser = boost::beast::http::request_parser<boost::beast::http::string_body>;
  using StringResponse = boost::beast::http::response<boost::beast::http::string_body>;
  using StreamHeader = boost::beast::http::response<boost::beast::http::empty_body>;

  // ---- request / reply (session.cpp) ----
  void read_request();
  void on_header(boost::beast::error_code ec);
  void read_body();
  void on_body(boost::beast::error_code ec);
  void dispatch();
  void run_action(Action action);
  void send_reply(Reply reply);
  void on_reply_written(bool keep_alive, boost::beast::error_code ec);
  void begin_request();
  void record_status(int status);  // metrics, once per request
  void end_request(int status);    // in-flight accounting (+ metrics if not yet); idempotent
  void next_request(bool keep_alive);
  void linger(std::size_t budget);
  void close();

  // ---- generations (session_generation.cpp) ----
  void begin_generation(StartGeneration action);
  void on_generation_ready();
  void process_events();
  void observe_latency(const GenerationEvent& event);
  void write_stream_header();
  void write_pending_stream();
  void on_stream_written(boost::beast::error_code ec);
  void finish_stream();
  void watch_disconnect();
  void on_client_gone();
  void release_generation();

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<Parser> parser_;
  ServerState& state_;

  // Current request.
  bool idle_ = true;        // between requests (safe to close on drain)
  bool in_request_ = false; // counted in state_.in_flight
  bool status_recorded_ = false;
  bool head_request_ = false;
  bool keep_alive_ = true;
  unsigned version_ = 11;
  std::string route_;
  std::chrono::steady_clock::time_point arrival_;
  std::shared_ptr<StringResponse> reply_;  // alive until written
  int reply_status_ = 200;

  // Current generation.
  std::shared_ptr<Generation> generation_;
  bool streaming_ = false;
  std::optional<StreamEncoder> encoder_;
  std::optional<ResponseAccumulator> accumulator_;
  std::vector<GenerationEvent> events_;
  std::string pending_;  // SSE text not yet handed to the socket
  std::string writing_;  // SSE text being written
  bool writing_now_ = false;
  bool events_waiting_ = false;  // woken while a write was in progress
  bool generation_done_ = false;
  bool watching_ = false;
  std::uint64_t generation_seq_ = 0;  // tells a stale disconnect watch from the current one
  bool client_gone_ = false;
  bool seen_first_token_ = false;
  std::chrono::steady_clock::time_point last_token_;
  std::unique_ptr<StreamHeader> stream_header_;
  std::unique_ptr<boost::beast::http::response_serializer<boost::beast::http::empty_body>>
      stream_serializer_;
};

}  // namespace tandem::server
