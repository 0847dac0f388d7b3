// libcurl and libcrypto are loaded on first use, not at start-up: linked, they and their
// dependency trees cost every tandem process ~6 MB of resident memory. This executable holds
// nothing else, so the "not loaded yet" check below sees a process that has not used them.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "platform/sha256.h"
#include "platform/shared_library.h"
#include "platform/url.h"
#include "util/error.h"

namespace tandem::platform {
namespace {

std::string mapped_files() {
  std::ifstream maps("/proc/self/maps");
  std::stringstream text;
  text << maps.rdbuf();
  return text.str();
}

bool mapped(const std::string& file_prefix) {
  return mapped_files().find("/" + file_prefix) != std::string::npos;
}

TEST(LazyLibraries, CurlAndCryptoAreMappedOnlyOnceUsed) {
  ASSERT_FALSE(mapped("libcurl.so")) << "linking tandem_platform pulled in libcurl";
  ASSERT_FALSE(mapped("libcrypto.so")) << "linking tandem_platform pulled in libcrypto";

  EXPECT_EQ(url_host("https://HF.co/a/b.gguf"), "hf.co");
  EXPECT_TRUE(mapped("libcurl.so"));

  Sha256 hasher;
  hasher.update("abc", 3);
  EXPECT_EQ(hasher.hex_digest(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_TRUE(mapped("libcrypto.so"));
}

TEST(LazyLibraries, MissingLibraryNamesItsDebianPackage) {
  try {
    SharedLibrary library("libtandem-no-such-library.so.7", "libtandem-nothing7", "the test");
    FAIL() << "a missing library loaded";
  } catch (const IoError& e) {
    std::string message = e.what();
    EXPECT_NE(message.find("libtandem-no-such-library.so.7 not found: install Debian package "
                           "libtandem-nothing7 (the test needs it)"),
              std::string::npos)
        << message;
  }
}

TEST(LazyLibraries, MissingFunctionIsAnErrorNotACrash) {
  SharedLibrary curl("libcurl.so.4", "libcurl4", "the test");
  EXPECT_NE(curl.symbol("curl_easy_init"), nullptr);
  try {
    curl.symbol("curl_no_such_function");
    FAIL() << "a missing function was found";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("libcurl.so.4 has no function curl_no_such_function"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace tandem::platform
