#pragma once
// Locating ../shared test data; tests that need it call GTEST_SKIP with a clear message if absent.
#include <filesystem>
#include <string>

namespace tandem::testing {

inline std::string shared_dir() {
  if (const char* env = std::getenv("TANDEM_SHARED_DIR")) return env;
  return TANDEM_SHARED_DIR;
}

inline bool shared_available() {
  return std::filesystem::exists(std::filesystem::path(shared_dir()) / "testdata");
}

}  // namespace tandem::testing

#define TANDEM_REQUIRE_SHARED()                                                             \
  do {                                                                                      \
    if (!::tandem::testing::shared_available())                                             \
      GTEST_SKIP() << "shared test data not found at " << ::tandem::testing::shared_dir()   \
                   << " (set TANDEM_SHARED_DIR); skipping";                                 \
  } while (0)
