#include "platform/url.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <memory>

#include "platform/curl_loader.h"
#include "platform/model_store.h"
#include "util/error.h"

namespace tandem::platform {

namespace {

struct UrlDeleter {
  void operator()(CURLU* u) const { curl_api().url_cleanup(u); }
};
struct CurlStringDeleter {
  void operator()(char* s) const { curl_api().free(s); }
};
using CurlString = std::unique_ptr<char, CurlStringDeleter>;

std::unique_ptr<CURLU, UrlDeleter> parse(const std::string& url) {
  const CurlApi& api = curl_api();
  std::unique_ptr<CURLU, UrlDeleter> u(api.url());
  if (!u) throw Error("cannot allocate a URL parser");
  if (api.url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK)
    throw InvalidArgument(fmt::format("'{}' is not a valid URL", url));
  char* scheme = nullptr;
  if (api.url_get(u.get(), CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK)
    throw InvalidArgument(fmt::format("'{}' has no scheme (expected http:// or https://)", url));
  CurlString owned(scheme);
  std::string s(scheme);
  if (s != "http" && s != "https")
    throw InvalidArgument(fmt::format("'{}': only http and https URLs can be pulled", url));
  return u;
}

std::string get_part(CURLU* u, CURLUPart part, unsigned flags) {
  char* value = nullptr;
  if (curl_api().url_get(u, part, &value, flags) != CURLUE_OK || !value) return "";
  CurlString owned(value);
  return value;
}

}  // namespace

std::string url_host(const std::string& url) {
  auto u = parse(url);
  std::string host = get_part(u.get(), CURLUPART_HOST, 0);
  if (host.empty()) throw InvalidArgument(fmt::format("'{}' has no host", url));
  std::transform(host.begin(), host.end(), host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return host;
}

std::string model_id_from_url(const std::string& url) {
  auto u = parse(url);
  std::string path = get_part(u.get(), CURLUPART_PATH, CURLU_URLDECODE);
  while (!path.empty() && path.back() == '/') path.pop_back();
  std::string name = path.substr(path.find_last_of('/') + 1);
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower.ends_with(".gguf")) name.resize(name.size() - 5);
  try {
    validate_model_id(name);
  } catch (const InvalidArgument&) {
    throw InvalidArgument(fmt::format("cannot derive a model id from '{}'; pass --name ID", url));
  }
  return name;
}

bool is_hugging_face_host(const std::string& host) {
  for (std::string_view domain : {"huggingface.co", "hf.co"})
    if (host == domain || host.ends_with("." + std::string(domain))) return true;
  return false;
}

}  // namespace tandem::platform
