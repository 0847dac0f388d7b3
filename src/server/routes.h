#pragma once
// Request routing and the handlers of every endpoint. A handler turns a complete HTTP request
// into an Action: a reply to send now, a generation to stream or collect, or blocking work to
// run off the I/O threads. Handlers never wait on the backend.
#include <functional>
#include <memory>
#include <string>
#include <variant>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "server/api_error.h"
#include "server/generation.h"
#include "server/openai_response.h"
#include "server/server_state.h"

namespace tandem::server {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;

struct Reply {
  Reply(int status_code = 200, std::string body_text = {},
        std::string type = "application/json", int retry_after_seconds = 0)
      : status(status_code),
        body(std::move(body_text)),
        content_type(std::move(type)),
        retry_after(retry_after_seconds) {}
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  int retry_after = 0;  // seconds; > 0 adds Retry-After
  std::string allow;    // for 405: the methods the route accepts
};

struct StartGeneration {
  std::shared_ptr<Generation> generation;
  ResponseMeta meta;
  bool stream = false;
};

struct RunBlocking {
  std::function<Reply()> work;  // runs on the blocking pool; must not throw
};

using Action = std::variant<Reply, StartGeneration, RunBlocking>;

// The fixed route name of a request target ("/v1/models/{id}", "other", ...), for metrics.
std::string route_name(std::string_view target);

// Never throws: every failure becomes an error Reply.
Action handle_request(ServerState& state, const HttpRequest& request);

Reply error_reply(const ApiError& error);
// Inside a catch block: the reply for whatever is being handled (ApiError, the backend's
// QueueFull / ModelNotFound / Unavailable, InvalidArgument, anything else as 500).
Reply error_reply_for_current_exception();

// The fast path: answered without touching the backend or parsing anything.
inline constexpr std::string_view kHealthBody = R"({"status":"ok"})";

}  // namespace tandem::server
