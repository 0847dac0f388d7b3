#pragma once
// Resumable HTTP(S) download of one file with libcurl, hashing the bytes as they arrive.
//
// The destination is appended to when it already holds bytes: the request asks for the rest with
// a Range header. A 206 reply continues the file; a server that ignores Range and replies 200
// starts it over. Redirects are followed, HTTP errors fail with their status, and a connection
// that delivers less than `low_speed_limit` bytes/s for `low_speed_seconds` is dropped. On any
// failure the bytes received so far stay in the destination for the next attempt.
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "util/error.h"

namespace tandem::platform {

struct DownloadProgress {
  uint64_t bytes = 0;             // in the destination file so far (resumed bytes included)
  std::optional<uint64_t> total;  // whole file size, when the server said
  uint64_t resumed_from = 0;      // bytes already there when this transfer started
  double bytes_per_second = 0;    // average over this transfer
  bool done = false;              // the last call, after the transfer ended successfully
};

struct DownloadOptions {
  std::string url;
  std::string destination;
  long connect_timeout_seconds = 30;
  // A transfer slower than this many bytes/s for this many seconds counts as stalled.
  long low_speed_limit = 1024;
  long low_speed_seconds = 30;
  int max_redirects = 10;
  std::string user_agent = "tandem/0.1";
  std::string bearer_token;  // sent as Authorization (libcurl drops it on cross-host redirects)
  std::function<void(const DownloadProgress&)> on_progress;
  const std::atomic<bool>* cancel = nullptr;  // set (e.g. by a SIGINT handler) to stop early
};

struct DownloadResult {
  uint64_t size = 0;
  std::string sha256;         // of the whole destination file
  uint64_t resumed_from = 0;  // bytes kept from an earlier attempt (0 after a restart)
  bool restarted = false;     // there were bytes, but the server sent the whole file again
  std::string final_url;      // after redirects
  // The first 64-hex-digit value among X-Linked-Etag then ETag headers of any response in the
  // redirect chain; empty when none. Hugging Face puts the file's SHA-256 there.
  std::string etag_sha256;
};

// A download that did not complete. The partial file is kept.
class DownloadError : public IoError {
 public:
  DownloadError(const std::string& message, long http_status, bool cancelled)
      : IoError(message), http_status_(http_status), cancelled_(cancelled) {}
  long http_status() const { return http_status_; }  // 0 when no HTTP error status was received
  bool cancelled() const { return cancelled_; }

 private:
  long http_status_;
  bool cancelled_;
};

// Throws DownloadError for network and HTTP failures, IoError when the destination cannot be
// written, and never leaves the destination holding bytes that are not a prefix of the file
// the server sent last.
DownloadResult download_file(const DownloadOptions& options);

}  // namespace tandem::platform
