#include "server/api_error.h"

#include <nlohmann/json.hpp>

namespace tandem::server {

std::string ApiError::body() const {
  nlohmann::json error = {
      {"message", message_},
      {"type", type_},
      {"param", param_ ? nlohmann::json(*param_) : nlohmann::json(nullptr)},
      {"code", code_ ? nlohmann::json(*code_) : nlohmann::json(nullptr)},
  };
  // Messages may quote client input; replace any invalid UTF-8 rather than throw.
  return nlohmann::json{{"error", error}}.dump(-1, ' ', false,
                                               nlohmann::json::error_handler_t::replace);
}

ApiError bad_request(std::string message, std::optional<std::string> param,
                     std::optional<std::string> code) {
  return ApiError(400, std::move(message), "invalid_request_error", std::move(param),
                  std::move(code));
}

ApiError invalid_json(std::string message) {
  return ApiError(400, "We could not parse the JSON body of your request: " + message,
                  "invalid_request_error", std::nullopt, "invalid_json");
}

ApiError not_found(std::string message, std::optional<std::string> code) {
  return ApiError(404, std::move(message), "invalid_request_error", std::nullopt, std::move(code));
}

ApiError model_not_found(const std::string& model) {
  return ApiError(404, "The model '" + model + "' does not exist", "invalid_request_error",
                  "model", "model_not_found");
}

ApiError method_not_allowed(const std::string& method, const std::string& path) {
  return ApiError(405, "Method " + method + " is not allowed on " + path,
                  "invalid_request_error", std::nullopt, "method_not_allowed");
}

ApiError payload_too_large(std::size_t limit) {
  return ApiError(413, "Request body is larger than the limit of " + std::to_string(limit) +
                           " bytes",
                  "invalid_request_error", std::nullopt, "payload_too_large");
}

ApiError rate_limited(std::string message, int retry_after_seconds) {
  ApiError e(429, std::move(message), "rate_limit_error", std::nullopt, "queue_full");
  e.retry_after_seconds = retry_after_seconds > 0 ? retry_after_seconds : 1;
  return e;
}

ApiError unavailable(std::string message, int retry_after_seconds) {
  ApiError e(503, std::move(message), "server_error", std::nullopt, "unavailable");
  e.retry_after_seconds = retry_after_seconds;
  return e;
}

ApiError internal_error(std::string message) {
  return ApiError(500, std::move(message), "server_error", std::nullopt, "internal_error");
}

ApiError unauthorized(std::string message) {
  return ApiError(401, std::move(message), "invalid_request_error", std::nullopt,
                  "invalid_api_key");
}

ApiError forbidden(std::string message) {
  return ApiError(403, std::move(message), "permission_error", std::nullopt, "forbidden");
}

}  // namespace tandem::server
