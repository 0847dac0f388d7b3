#pragma once
// Test-side HTTP: a Beast client for well-formed requests and a plain socket for raw bytes
// (malformed requests, disconnects, slow readers). Every call has a timeout so a server bug
// fails a test instead of hanging it.
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace tandem::server::testing {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

using Headers = std::vector<std::pair<std::string, std::string>>;

// One request on a new connection. Throws on connection errors or timeout.
HttpResponse http_request(std::uint16_t port, const std::string& method, const std::string& target,
                          const std::string& body = "", const Headers& headers = {});
inline HttpResponse post(std::uint16_t port, const std::string& target, const std::string& body,
                         const Headers& headers = {}) {
  return http_request(port, "POST", target, body, headers);
}

// A connected blocking socket with a receive timeout; -1 on failure.
int connect_socket(std::uint16_t port, std::chrono::milliseconds recv_timeout = std::chrono::seconds(10));
void send_all(int fd, const std::string& bytes);
// Reads until the peer closes, the timeout passes, or `stop_after` bytes arrived.
std::string read_until_close(int fd, std::size_t stop_after = SIZE_MAX);
// Sends raw bytes on a new connection and returns everything the server sends back.
std::string raw_exchange(std::uint16_t port, const std::string& raw);
// "HTTP/1.1 413 ..." -> 413; 0 when there is no status line.
int status_of(const std::string& raw_response);

// The payloads of the "data: ..." lines of an SSE body, in order.
std::vector<std::string> sse_data(const std::string& body);

}  // namespace tandem::server::testing
