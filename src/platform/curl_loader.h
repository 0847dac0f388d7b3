#pragma once
// libcurl, loaded on first use. Only `tandem models pull` downloads, so `tandem` does not link
// libcurl: its dependency tree (OpenSSL, GnuTLS, Kerberos, LDAP, SSH, nghttp2, ...) would cost
// every process, `tandem bench` and `tandem serve` included, megabytes of resident memory.
// The curl headers still supply the types and constants; the calls go through this table.
#include <curl/curl.h>

namespace tandem::platform {

// The libcurl functions download.cpp and url.cpp call, typed as curl/curl.h declares them.
struct CurlApi {
  decltype(&::curl_easy_init) easy_init;
  decltype(&::curl_easy_cleanup) easy_cleanup;
  decltype(&::curl_easy_setopt) easy_setopt;
  decltype(&::curl_easy_perform) easy_perform;
  decltype(&::curl_easy_getinfo) easy_getinfo;
  decltype(&::curl_easy_strerror) easy_strerror;
  decltype(&::curl_slist_append) slist_append;
  decltype(&::curl_slist_free_all) slist_free_all;
  // The URL parser (url.cpp).
  decltype(&::curl_url) url;
  decltype(&::curl_url_cleanup) url_cleanup;
  decltype(&::curl_url_set) url_set;
  decltype(&::curl_url_get) url_get;
  decltype(&::curl_free) free;
};

// Loads libcurl.so.4 and runs curl_global_init the first time; later calls return the same
// table. Throws IoError ("libcurl.so.4 not found: install Debian package libcurl4 ...") when the
// library is missing or lacks a function; the next call tries again.
const CurlApi& curl_api();

}  // namespace tandem::platform
