#include "server/auth.h"

#include <cctype>

namespace tandem::server {

AuthDecision StaticKeyAuthenticator::authorize(const AuthRequest& request) const {
  if (request.bearer_token.empty()) {
    return {AuthDecision::Outcome::Unauthenticated, {},
            "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'."};
  }
  if (keys_.find(std::string(request.bearer_token)) == keys_.end()) {
    return {AuthDecision::Outcome::Unauthenticated, {}, "Incorrect API key provided."};
  }
  return AuthDecision::allow("key:" + std::string(request.bearer_token.substr(0, 4)) + "…");
}

std::string_view bearer_token(std::string_view header) {
  constexpr std::string_view kPrefix = "Bearer ";
  if (header.size() <= kPrefix.size()) return {};
  for (std::size_t i = 0; i < kPrefix.size(); ++i) {
    // The scheme is case-insensitive (RFC 7235).
    if (std::tolower(static_cast<unsigned char>(header[i])) !=
        std::tolower(static_cast<unsigned char>(kPrefix[i]))) {
      return {};
    }
  }
  std::string_view token = header.substr(kPrefix.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  return token;
}

}  // namespace tandem::server
