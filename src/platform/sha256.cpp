#include "platform/sha256.h"

#include <openssl/evp.h>

#include <cctype>
#include <cstdio>
#include <cstring>
#include <vector>

#include "platform/shared_library.h"
#include "util/error.h"

namespace tandem::platform {

namespace {

// libcrypto, loaded on first use: only pulls hash, and linking OpenSSL would cost every tandem
// process ~1.5 MB of resident memory for its relocations (see shared_library.h).
struct Crypto {
  SharedLibrary library{"libcrypto.so.3", "libssl3", "SHA-256 hashing in tandem models pull"};
  decltype(&::EVP_MD_CTX_new) md_ctx_new;
  decltype(&::EVP_MD_CTX_free) md_ctx_free;
  decltype(&::EVP_sha256) sha256;
  decltype(&::EVP_DigestInit_ex) digest_init;
  decltype(&::EVP_DigestUpdate) digest_update;
  decltype(&::EVP_DigestFinal_ex) digest_final;

  Crypto() {
    library.bind(md_ctx_new, "EVP_MD_CTX_new");
    library.bind(md_ctx_free, "EVP_MD_CTX_free");
    library.bind(sha256, "EVP_sha256");
    library.bind(digest_init, "EVP_DigestInit_ex");
    library.bind(digest_update, "EVP_DigestUpdate");
    library.bind(digest_final, "EVP_DigestFinal_ex");
  }
};

// Throws IoError when libcrypto.so.3 is missing; a later call tries again.
const Crypto& crypto() {
  static const Crypto loaded;
  return loaded;
}

}  // namespace

struct Sha256::Context {
  EVP_MD_CTX* md = nullptr;
  // md is set only once crypto() has loaded, so this never throws (and never loads it).
  ~Context() {
    if (md) crypto().md_ctx_free(md);
  }
};

Sha256::Sha256() : ctx_(std::make_unique<Context>()) {
  ctx_->md = crypto().md_ctx_new();
  if (!ctx_->md) throw Error("SHA-256: cannot allocate an OpenSSL digest context");
  reset();
}

Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::reset() {
  if (crypto().digest_init(ctx_->md, crypto().sha256(), nullptr) != 1)
    throw Error("SHA-256: OpenSSL digest initialisation failed");
}

void Sha256::update(const void* data, size_t size) {
  if (size && crypto().digest_update(ctx_->md, data, size) != 1)
    throw Error("SHA-256: OpenSSL digest update failed");
}

std::string Sha256::hex_digest() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (crypto().digest_final(ctx_->md, digest, &length) != 1)
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
