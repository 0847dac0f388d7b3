#pragma once
// Hand-built GGUF bytes for malformed-file tests: every field is written exactly as given, so a
// test can state a lie (a count, a length, an offset) that the Writer would never produce.
#include <cstdint>
#include <string>
#include <vector>

#include "gguf/file.h"
#include "gguf/value.h"

namespace tandem::gguf::testing {

struct Bytes {
  std::vector<uint8_t> b;

  template <typename T>
  Bytes& put(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    b.insert(b.end(), p, p + sizeof(T));
    return *this;
  }
  Bytes& u8(uint8_t v) { return put(v); }
  Bytes& u32(uint32_t v) { return put(v); }
  Bytes& u64(uint64_t v) { return put(v); }
  Bytes& str(const std::string& s) {
    u64(s.size());
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  Bytes& zeros(size_t n) {
    b.insert(b.end(), n, 0);
    return *this;
  }
  Bytes& pad(size_t alignment) {
    while (b.size() % alignment) b.push_back(0);
    return *this;
  }
  // A key with a u32 value.
  Bytes& kv_u32(const std::string& key, uint32_t v) {
    return str(key).u32(static_cast<uint32_t>(ValueType::UINT32)).u32(v);
  }
  Bytes& tensor_info(const std::string& name, const std::vector<uint64_t>& dims, uint32_t type,
                     uint64_t offset) {
    str(name).u32(static_cast<uint32_t>(dims.size()));
    for (uint64_t d : dims) u64(d);
    return u32(type).u64(offset);
  }
  size_t size() const { return b.size(); }
};

inline Bytes header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
  Bytes h;
  h.u32(kMagic).u32(version).u64(n_tensors).u64(n_kv);
  return h;
}

}  // namespace tandem::gguf::testing
