#pragma once
// Incremental SHA-256 (OpenSSL EVP underneath), so a download is hashed as its bytes arrive and a
// resumed download re-hashes only what is already on disk. libcrypto.so.3 is loaded when the first
// Sha256 is made; the constructor throws IoError naming the Debian package when it is missing.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace tandem::platform {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  void update(const void* data, size_t size);
  // Lowercase hex of the digest. The hasher starts over afterwards.
  std::string hex_digest();
  void reset();

 private:
  struct Context;
  std::unique_ptr<Context> ctx_;
};

// Hashes the first `length` bytes of a file into `hasher` (all of it when length is npos).
// Throws IoError naming the path when it cannot be read or is shorter than `length`.
void hash_file_prefix(const std::string& path, Sha256& hasher, size_t length = std::string::npos);
std::string sha256_of_file(const std::string& path);

// True for exactly 64 hex digits (either case).
bool is_sha256_hex(std::string_view s);

}  // namespace tandem::platform
