// Session: the generation half. The engine pushes events into the request's Generation; its
// waker posts on_generation_ready() to this session's strand. Backpressure: while a chunk is
// being written we do not drain the Generation, so a slow client fills its bounded buffer and
// the engine pauses that sequence instead of this process buffering without limit.
#include <sys/socket.h>

#include <cerrno>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/write.hpp>

#include "server/session.h"

namespace tandem::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

void Session::begin_generation(StartGeneration action) {
  generation_ = std::move(action.generation);
  streaming_ = action.stream;
  generation_done_ = false;
  client_gone_ = false;
  seen_first_token_ = false;
  events_waiting_ = false;
  pending_.clear();
  state_.metrics.generation_started();
  ++generation_seq_;
  if (streaming_) {
    encoder_.emplace(action.meta);
    accumulator_.reset();
  } else {
    accumulator_.emplace(action.meta);
    encoder_.reset();
  }
  // A generation may take minutes: no read/write deadline while we wait on the engine (writes
  // set their own). A vanished client is noticed by watch_disconnect() instead.
  stream_.expires_never();
  watch_disconnect();
  if (streaming_) write_stream_header();

  // The waker runs on the engine's thread: it only posts, and holds no strong reference, so
  // the engine never keeps a connection alive or runs its destructor.
  std::weak_ptr<Session> weak = weak_from_this();
  auto executor = stream_.get_executor();
  generation_->set_waker([weak, executor] {
    net::post(executor, [weak] {
      if (auto self = weak.lock()) self->on_generation_ready();
    });
  });
}

void Session::on_generation_ready() {
  if (!generation_) return;  // a late wake for a request already finished
  if (streaming_ && writing_now_) {
    events_waiting_ = true;  // picked up when the write completes
    return;
  }
  process_events();
}

void Session::observe_latency(const GenerationEvent& e) {
  if (e.kind != GenerationEvent::Kind::Delta || e.token_count <= 0) return;
  if (!seen_first_token_) {
    seen_first_token_ = true;
    state_.metrics.observe_time_to_first_token(
        std::chrono::duration<double>(e.pushed_at - arrival_).count());
  } else {
    const double gap = std::chrono::duration<double>(e.pushed_at - last_token_).count();
    state_.metrics.observe_time_per_token(gap / e.token_count);
  }
  last_token_ = e.pushed_at;
}

void Session::process_events() {
  events_.clear();
  generation_->drain(events_);
  for (const GenerationEvent& e : events_) {
    observe_latency(e);
    if (e.kind == GenerationEvent::Kind::Done) {
      state_.metrics.record_tokens(e.usage.prompt_tokens, e.usage.completion_tokens);
    }
    if (streaming_) {
      if (encoder_->encode(e, pending_)) generation_done_ = true;
    } else {
      accumulator_->add(e);
      if (accumulator_->complete()) generation_done_ = true;
    }
    if (generation_done_) break;
  }
  events_.clear();
  if (streaming_) return write_pending_stream();
  if (!generation_done_) return;

  Reply reply = accumulator_->failed()
                    ? error_reply(internal_error("Generation failed: " + accumulator_->error_message()))
                    : Reply{200, accumulator_->body()};
  accumulator_.reset();
  release_generation();
  send_reply(std::move(reply));
}

void Session::write_stream_header() {
  const bool chunked = version_ >= 11;
  if (!chunked) keep_alive_ = false;  // HTTP/1.0: the body ends when we close
  stream_header_ = std::make_unique<StreamHeader>(http::status::ok, version_);
  stream_header_->set(http::field::server, "tandem");
  stream_header_->set(http::field::content_type, "text/event-stream");
  stream_header_->set(http::field::cache_control, "no-cache");
  stream_header_->set("X-Accel-Buffering", "no");  // tell proxies not to buffer the stream
  stream_header_->keep_alive(keep_alive_ && !state_.draining.load());
  if (chunked) stream_header_->chunked(true);
  stream_serializer_ =
      std::make_unique<http::response_serializer<http::empty_body>>(*stream_header_);
  encoder_->begin(pending_);
  writing_now_ = true;
  stream_.expires_after(state_.options.write_timeout);
  http::async_write_header(stream_, *stream_serializer_,
                           [self = shared_from_this()](beast::error_code ec, std::size_t) {
                             self->on_stream_written(ec);
                           });
}

void Session::write_pending_stream() {
  if (writing_now_ || client_gone_) return;
  if (pending_.empty()) {
    if (generation_done_) finish_stream();
    return;
  }
  writing_ = std::move(pending_);
  pending_.clear();
  writing_now_ = true;
  stream_.expires_after(state_.options.write_timeout);
  auto on_written = [self = shared_from_this()](beast::error_code ec, std::size_t) {
    self->on_stream_written(ec);
  };
  if (stream_header_->chunked()) {
    net::async_write(stream_, http::make_chunk(net::buffer(writing_)), std::move(on_written));
  } else {
    net::async_write(stream_, net::buffer(writing_), std::move(on_written));
  }
}

void Session::on_stream_written(beast::error_code ec) {
  writing_now_ = false;
  if (ec) return on_client_gone();  // includes write_timeout: a client that stopped reading
  if (events_waiting_ && generation_) {
    events_waiting_ = false;
    return process_events();
  }
  write_pending_stream();
}

void Session::finish_stream() {
  release_generation();
  encoder_.reset();
  record_status(200);
  const bool keep_alive = stream_header_->keep_alive();
  if (!stream_header_->chunked()) return close();
  stream_.expires_after(state_.options.write_timeout);
  net::async_write(stream_, http::make_chunk_last(),
                   [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
                     self->stream_header_.reset();
                     self->stream_serializer_.reset();
                     self->end_request(200);
                     if (ec) return self->close();
                     self->next_request(keep_alive);
                   });
}

void Session::watch_disconnect() {
  if (watching_) return;
  watching_ = true;
  const std::uint64_t seq = generation_seq_;
  stream_.socket().async_wait(
      tcp::socket::wait_read, [self = shared_from_this(), seq](beast::error_code ec) {
        self->watching_ = false;
        if (seq != self->generation_seq_) {
          // Armed for an earlier request; re-arm for the current one if it still runs.
          if (self->generation_) self->watch_disconnect();
          return;
        }
        if (!self->generation_) return;
        if (ec) return self->on_client_gone();
        // Peek without consuming: 0 bytes is end-of-stream (the client closed the connection);
        // EAGAIN is a spurious wake-up (the reactor may report readiness with nothing to read),
        // so watch again; data is the client's next pipelined request: it is still there, and
        // we stop watching since we cannot look further without consuming that request.
        char byte;
        const ssize_t n = ::recv(self->stream_.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0) return self->on_client_gone();
        if (n < 0) {
          if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return self->watch_disconnect();
          return self->on_client_gone();
        }
      });
}

void Session::on_client_gone() {
  if (client_gone_) return;
  client_gone_ = true;
  if (generation_) generation_->cancel();  // the engine drops the sequence at its next step
  release_generation();
  end_request(streaming_ && stream_header_ ? 200 : 499);
  close();
}

void Session::release_generation() {
  if (!generation_) return;
  generation_->detach_waker();
  if (!generation_->finished()) generation_->cancel();
  generation_.reset();
  state_.metrics.generation_ended();
}

}  // namespace tandem::server
