#include "platform/sha256.h"

#include <openssl/evp.h>

#include <cctype>
#include <cstdio>
#include <cstring>
#include <vector>

#include "util/error.h"

namespace tandem::platform {

struct Sha256::Context {
  EVP_MD_CTX* md = nullptr;
  ~Context() { EVP_MD_CTX_free(md); }
};

Sha256::Sha256() : ctx_(std::make_unique<Context>()) {
  ctx_->md = EVP_MD_CTX_new();
  if (!ctx_->md) throw Error("SHA-256: cannot allocate an OpenSSL digest context");
  reset();
}

Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::reset() {
  if (EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr) != 1)
    throw Error("SHA-256: OpenSSL digest initialisation failed");
}

void Sha256::update(const void* data, size_t size) {
  if (size && EVP_DigestUpdate(ctx_->md, data, size) != 1)
    throw Error("SHA-256: OpenSSL digest update failed");
}

std::string Sha256::hex_digest() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(ctx_->md, digest, &length) != 1)
    throw Error("SHA-256: OpenSSL digest finalisation failed");
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * length);
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  reset();
  return hex;
}

void hash_file_prefix(const std::string& path, Sha256& hasher, size_t length) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw IoError(path + ": cannot open for hashing: " + std::strerror(errno));
  std::vector<unsigned char> buffer(1 << 20);
  size_t remaining = length;
  while (remaining > 0) {
    size_t want = std::min(buffer.size(), remaining);
    size_t got = std::fread(buffer.data(), 1, want, f);
    hasher.update(buffer.data(), got);
    if (length != std::string::npos) remaining -= got;
    if (got < want) break;
  }
  bool read_error = std::ferror(f);
  std::fclose(f);
  if (read_error) throw IoError(path + ": read error while hashing");
  if (length != std::string::npos && remaining > 0)
    throw IoError(path + ": shorter than the " + std::to_string(length) + " bytes expected");
}

std::string sha256_of_file(const std::string& path) {
  Sha256 hasher;
  hash_file_prefix(path, hasher);
  return hasher.hex_digest();
}

bool is_sha256_hex(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

}  // namespace tandem::platform
