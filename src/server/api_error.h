#pragma once
// ApiError: an HTTP status plus OpenAI's error body
//   {"error": {"message": ..., "type": ..., "param": ..., "code": ...}}
// Handlers throw it; the connection turns it into the response.
#include <optional>
#include <string>
#include <utility>

namespace tandem::server {

class ApiError : public std::exception {
 public:
  ApiError(int status, std::string message, std::string type, std::optional<std::string> param = {},
           std::optional<std::string> code = {})
      : status_(status),
        message_(std::move(message)),
        type_(std::move(type)),
        param_(std::move(param)),
        code_(std::move(code)) {}

  const char* what() const noexcept override { return message_.c_str(); }
  int status() const { return status_; }
  const std::string& message() const { return message_; }
  const std::string& type() const { return type_; }
  const std::optional<std::string>& param() const { return param_; }
  const std::optional<std::string>& code() const { return code_; }

  int retry_after_seconds = 0;  // > 0 adds a Retry-After header (429, 503)

  // The JSON body, always valid UTF-8.
  std::string body() const;

 private:
  int status_;
  std::string message_;
  std::string type_;
  std::optional<std::string> param_;
  std::optional<std::string> code_;
};

// The usual cases, named after what the client did wrong.
ApiError bad_request(std::string message, std::optional<std::string> param = {},
                     std::optional<std::string> code = {});
ApiError invalid_json(std::string message);
ApiError not_found(std::string message, std::optional<std::string> code = {});
ApiError model_not_found(const std::string& model);
ApiError method_not_allowed(const std::string& method, const std::string& path);
ApiError payload_too_large(std::size_t limit);
ApiError rate_limited(std::string message, int retry_after_seconds);
ApiError unavailable(std::string message, int retry_after_seconds = 1);
ApiError internal_error(std::string message);
ApiError unauthorized(std::string message);
ApiError forbidden(std::string message);

}  // namespace tandem::server
