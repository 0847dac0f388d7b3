#include "platform/download.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <memory>

#include "platform/curl_loader.h"
#include "platform/sha256.h"

namespace tandem::platform {

namespace {

using Clock = std::chrono::steady_clock;

// Error responses are shown to the user, but only their start: some servers send whole pages.
constexpr size_t kErrorBodyShown = 200;
constexpr auto kProgressInterval = std::chrono::milliseconds(100);

// Only reached once curl_api() has loaded libcurl, so these calls cannot throw.
struct EasyDeleter {
  void operator()(CURL* c) const { curl_api().easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_api().slist_free_all(l); }
};

// Closes the descriptor (which also releases its lock) however the download ends.
struct FileDescriptor {
  int fd = -1;
  ~FileDescriptor() {
    if (fd >= 0) ::close(fd);
  }
};

std::string lowercase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::optional<uint64_t> parse_u64(std::string_view s) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// ETag: W/"abc" -> abc.
std::string etag_value(std::string v) {
  if (v.starts_with("W/")) v.erase(0, 2);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  return v;
}

// "bytes 100-199/200" -> {100, 200}; "bytes */200" -> {nullopt, 200}; total nullopt for "/*".
struct ContentRange {
  std::optional<uint64_t> first, total;
};
std::optional<ContentRange> parse_content_range(const std::string& v) {
  std::string_view s = v;
  if (!s.starts_with("bytes ")) return std::nullopt;
  s.remove_prefix(6);
  size_t slash = s.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  ContentRange r;
  std::string_view range = s.substr(0, slash), total = s.substr(slash + 1);
  if (total != "*") {
    r.total = parse_u64(total);
    if (!r.total) return std::nullopt;
  }
  if (range != "*") {
    size_t dash = range.find('-');
    if (dash == std::string_view::npos) return std::nullopt;
    r.first = parse_u64(range.substr(0, dash));
    if (!r.first) return std::nullopt;
  }
  return r;
}

// One transfer attempt's state, shared with libcurl's callbacks. Callbacks never throw: they
// record the failure in `failure` and return a value that makes libcurl stop.
struct Transfer {
  Transfer(const DownloadOptions& o, int file, uint64_t already, Sha256& h)
      : options(o), fd(file), offset(already), written(already), hasher(h) {}

  const DownloadOptions& options;
  int fd;
  uint64_t offset;   // bytes already in the file when the request was sent
  uint64_t written;  // bytes in the file now; `hasher` has seen exactly these
  Sha256& hasher;

  // The response being received (reset at each status line: redirects and 1xx come first).
  long status = 0;
  std::optional<uint64_t> content_length;
  std::string content_range;
  // Collected across the whole redirect chain.
  std::string linked_etag_sha256, etag_sha256;

  enum class Body { NotStarted, File, Discard } body = Body::NotStarted;
  std::optional<uint64_t> total;
  bool restarted = false;
  std::string error_body;
  std::string failure;
  std::string final_url;
  Clock::time_point started = Clock::now(), last_progress{};

  void header_line(std::string_view line) {
    if (line.starts_with("HTTP/")) {
      size_t sp = line.find(' ');
      status = sp == std::string_view::npos
                   ? 0
                   : static_cast<long>(parse_u64(trim(line.substr(sp + 1, 3))).value_or(0));
      content_length.reset();
      content_range.clear();
      return;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return;
    std::string name = lowercase(trim(line.substr(0, colon)));
    std::string value = trim(line.substr(colon + 1));
    if (name == "content-length") {
      content_length = parse_u64(value);
    } else if (name == "content-range") {
      content_range = value;
    } else if (name == "x-linked-etag" || name == "etag") {
      std::string v = lowercase(etag_value(value));
      std::string& slot = name == "etag" ? etag_sha256 : linked_etag_sha256;
      if (slot.empty() && is_sha256_hex(v)) slot = v;
    }
  }

  // Decides, once the final response's headers are known, what its body is.
  bool begin_body() {
    if (status == 206) {
      auto range = parse_content_range(content_range);
      if (!range || range->first != offset) {
        failure = fmt::format(
            "server answered the resume request at byte {} with Content-Range "
            "'{}'; the partial file was discarded, run again to start over",
            offset, content_range);
        truncate_file();  // a broken resume must not poison the next attempt
        return false;
      }
      total = range->total;
      body = Body::File;
    } else if (status == 200) {
      // The server ignored the Range header: it is sending the whole file, so start over.
      if (written > 0) {
        restarted = true;
        if (!truncate_file()) return false;
      }
      offset = 0;
      total = content_length;
      body = Body::File;
    } else {
      body = Body::Discard;
    }
    return true;
  }

  bool truncate_file() {
    if (::ftruncate(fd, 0) != 0 || ::lseek(fd, 0, SEEK_SET) != 0) {
      failure = fmt::format("{}: cannot truncate: {}", options.destination, std::strerror(errno));
      return false;
    }
    written = 0;
    hasher.reset();
    return true;
  }

  size_t body_bytes(const char* data, size_t n) {
    if (body == Body::NotStarted && !begin_body()) return 0;
    if (body == Body::Discard) {
      error_body.append(
          data, std::min(n, kErrorBodyShown - std::min(kErrorBodyShown, error_body.size())));
      return n;
    }
    for (size_t done = 0; done < n;) {
      ssize_t w = ::write(fd, data + done, n - done);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        failure = fmt::format("{}: write failed: {}", options.destination, std::strerror(errno));
        return 0;
      }
      done += static_cast<size_t>(w);
    }
    hasher.update(data, n);
    written += n;
    return n;
  }

  DownloadProgress progress(bool done) const {
    DownloadProgress p;
    p.bytes = written;
    p.total = total;
    p.resumed_from = offset;
    double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    if (seconds > 0) p.bytes_per_second = static_cast<double>(written - offset) / seconds;
    p.done = done;
    return p;
  }

  bool tick() {
    if (options.cancel && options.cancel->load()) return false;
    if (options.on_progress && body == Body::File) {
      auto now = Clock::now();
      if (now - last_progress >= kProgressInterval) {
        last_progress = now;
        try {
          options.on_progress(progress(false));
        } catch (...) {
        }
      }
    }
    return true;
  }
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  t->header_line(std::string_view(data, size * n));
  return size * n;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  return static_cast<Transfer*>(user)->body_bytes(data, size * n);
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<Transfer*>(user)->tick() ? 0 : 1;
}

std::string status_text(long status) {
  switch (status) {
    case 401:
      return " (Unauthorized)";
    case 403:
      return " (Forbidden)";
    case 404:
      return " (Not Found)";
    case 416:
      return " (Range Not Satisfiable)";
    case 429:
      return " (Too Many Requests)";
    case 500:
      return " (Internal Server Error)";
    case 502:
      return " (Bad Gateway)";
    case 503:
      return " (Service Unavailable)";
    default:
      return "";
  }
}

enum class Outcome { Complete, RestartWithoutRange };

Outcome perform(Transfer& t) {
  const DownloadOptions& o = t.options;
  const CurlApi& api = curl_api();
  std::unique_ptr<CURL, EasyDeleter> curl(api.easy_init());
  if (!curl) throw DownloadError("cannot create a libcurl handle", 0, false);
  CURL* c = curl.get();
  char errbuf[CURL_ERROR_SIZE] = {};
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  if (!o.bearer_token.empty())
    headers.reset(api.slist_append(nullptr, ("Authorization: Bearer " + o.bearer_token).c_str()));
  const std::string range = fmt::format("{}-", t.offset);

  api.easy_setopt(c, CURLOPT_URL, o.url.c_str());
  api.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  api.easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  api.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  api.easy_setopt(c, CURLOPT_MAXREDIRS, static_cast<long>(o.max_redirects));
  api.easy_setopt(c, CURLOPT_USERAGENT, o.user_agent.c_str());
  api.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  api.easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  api.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, o.connect_timeout_seconds);
  api.easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, o.low_speed_limit);
  api.easy_setopt(c, CURLOPT_LOW_SPEED_TIME, o.low_speed_seconds);
  if (headers) api.easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  if (t.offset > 0) api.easy_setopt(c, CURLOPT_RANGE, range.c_str());
  api.easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  api.easy_setopt(c, CURLOPT_HEADERDATA, &t);
  api.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  api.easy_setopt(c, CURLOPT_WRITEDATA, &t);
  api.easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  api.easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  api.easy_setopt(c, CURLOPT_NOPROGRESS, 0L);

  CURLcode rc = api.easy_perform(c);
  long status = 0;
  api.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  const std::string kept = fmt::format("{} bytes kept in {}; run the same command again to resume",
                                       t.written, o.destination);
  if (rc != CURLE_OK) {
    if (o.cancel && o.cancel->load())
      throw DownloadError(fmt::format("download interrupted; {}", kept), 0, true);
    if (!t.failure.empty()) throw DownloadError(t.failure, 0, false);
    std::string why = errbuf[0] ? errbuf : api.easy_strerror(rc);
    if (rc == CURLE_OPERATION_TIMEDOUT && t.status != 0)
      why = fmt::format("connection stalled: less than {} bytes/s for {} s ({})", o.low_speed_limit,
                        o.low_speed_seconds, why);
    throw DownloadError(fmt::format("download of {} failed: {}; {}", o.url, why, kept), 0, false);
  }
  if (status == 416 && t.offset > 0) {
    // The partial file is at least as long as the file: complete, or stale from another file.
    auto r = parse_content_range(t.content_range);
    if (r && r->total && *r->total == t.offset) {
      t.total = r->total;
      t.final_url = o.url;
      return Outcome::Complete;
    }
    return Outcome::RestartWithoutRange;
  }
  if (status != 200 && status != 206) {
    std::string body = trim(t.error_body);
    throw DownloadError(fmt::format("HTTP {}{} from {}{}", status, status_text(status), o.url,
                                    body.empty() ? "" : ": " + body),
                        status, false);
  }
  if (t.body == Transfer::Body::NotStarted && !t.begin_body())  // an empty body
    throw DownloadError(t.failure, 0, false);
  if (t.total && t.written != *t.total)
    throw DownloadError(
        fmt::format("download of {} ended at {} of {} bytes; {}", o.url, t.written, *t.total, kept),
        0, false);
  char* final_url = nullptr;
  api.easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &final_url);
  t.final_url = final_url ? final_url : o.url;
  return Outcome::Complete;
}

}  // namespace

DownloadResult download_file(const DownloadOptions& o) {
  curl_api();  // a missing libcurl fails here, before the destination is created
  FileDescriptor file;
  file.fd = ::open(o.destination.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (file.fd < 0)
    throw IoError(fmt::format("{}: cannot open: {}", o.destination, std::strerror(errno)));
  // Two pulls of one model into one .part file would interleave; the second one refuses.
  if (::flock(file.fd, LOCK_EX | LOCK_NB) != 0)
    throw IoError(fmt::format("{}: another download into this file is in progress", o.destination));
  off_t end = ::lseek(file.fd, 0, SEEK_END);
  if (end < 0)
    throw IoError(fmt::format("{}: cannot seek: {}", o.destination, std::strerror(errno)));

  Sha256 hasher;
  uint64_t offset = static_cast<uint64_t>(end);
  // Hash what is already there before the network timers start.
  if (offset > 0) hash_file_prefix(o.destination, hasher, offset);

  DownloadResult result;
  for (int attempt = 0;; ++attempt) {
    Transfer t(o, file.fd, offset, hasher);
    Outcome outcome = perform(t);
    result.restarted = result.restarted || t.restarted;
    if (outcome == Outcome::RestartWithoutRange && attempt == 0) {
      if (!t.truncate_file()) throw IoError(t.failure);
      offset = 0;
      result.restarted = true;
      continue;
    }
    if (outcome == Outcome::RestartWithoutRange)
      throw DownloadError(fmt::format("{}: server rejected the range request twice", o.url), 416,
                          false);
    if (::fsync(file.fd) != 0)
      throw IoError(fmt::format("{}: fsync failed: {}", o.destination, std::strerror(errno)));
    result.size = t.written;
    result.resumed_from = t.offset;
    result.sha256 = hasher.hex_digest();
    result.final_url = t.final_url;
    result.etag_sha256 = !t.linked_etag_sha256.empty() ? t.linked_etag_sha256 : t.etag_sha256;
    if (o.on_progress) o.on_progress(t.progress(true));
    return result;
  }
}

}  // namespace tandem::platform
