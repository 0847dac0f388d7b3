#pragma once
// The API-key hook. Off by default (no Authenticator: every request is allowed). The platform
// layer will provide one backed by tenants and roles; StaticKeyAuthenticator covers the simple
// "one or more fixed keys" deployment and the tests.
#include <memory>
#include <set>
#include <string>
#include <string_view>

namespace tandem::server {

struct AuthRequest {
  std::string_view bearer_token;  // from "Authorization: Bearer <token>"; empty when absent
  std::string_view method;
  std::string_view route;  // fixed route name, e.g. "/v1/chat/completions"
};

struct AuthDecision {
  enum class Outcome { Allow, Unauthenticated, Forbidden };
  Outcome outcome = Outcome::Allow;
  std::string principal;  // who is calling (carried into GenerationRequest::principal)
  std::string message;    // for 401/403

  static AuthDecision allow(std::string principal) {
    return {Outcome::Allow, std::move(principal), {}};
  }
};

// Must be thread-safe and fast: it runs on the I/O threads for every /v1 request.
class Authenticator {
 public:
  virtual ~Authenticator() = default;
  virtual AuthDecision authorize(const AuthRequest& request) const = 0;
};

class StaticKeyAuthenticator : public Authenticator {
 public:
  explicit StaticKeyAuthenticator(std::set<std::string> keys) : keys_(std::move(keys)) {}
  AuthDecision authorize(const AuthRequest& request) const override;

 private:
  std::set<std::string> keys_;
};

// "Bearer abc" -> "abc"; anything else -> "".
std::string_view bearer_token(std::string_view authorization_header);

}  // namespace tandem::server
