#include "platform/curl_loader.h"

#include <fmt/format.h>

#include "platform/shared_library.h"
#include "util/error.h"

namespace tandem::platform {

namespace {

struct LoadedCurl {
  SharedLibrary library{"libcurl.so.4", "libcurl4", "tandem models pull"};
  CurlApi api{};

  LoadedCurl() {
    library.bind(api.easy_init, "curl_easy_init");
    library.bind(api.easy_cleanup, "curl_easy_cleanup");
    library.bind(api.easy_setopt, "curl_easy_setopt");
    library.bind(api.easy_perform, "curl_easy_perform");
    library.bind(api.easy_getinfo, "curl_easy_getinfo");
    library.bind(api.easy_strerror, "curl_easy_strerror");
    library.bind(api.slist_append, "curl_slist_append");
    library.bind(api.slist_free_all, "curl_slist_free_all");
    library.bind(api.url, "curl_url");
    library.bind(api.url_cleanup, "curl_url_cleanup");
    library.bind(api.url_set, "curl_url_set");
    library.bind(api.url_get, "curl_url_get");
    library.bind(api.free, "curl_free");
    decltype(&::curl_global_init) global_init;
    library.bind(global_init, "curl_global_init");
    // Not thread-safe in libcurl, so it runs here, under the static's initialisation guard.
    if (CURLcode rc = global_init(CURL_GLOBAL_DEFAULT); rc != CURLE_OK)
      throw IoError(
          fmt::format("libcurl initialisation failed (CURLcode {})", static_cast<int>(rc)));
  }
};

}  // namespace

const CurlApi& curl_api() {
  // A constructor that throws leaves the static uninitialised, so a later call retries.
  static const LoadedCurl curl;
  return curl.api;
}

}  // namespace tandem::platform
