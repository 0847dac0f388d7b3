#pragma once
// Bounds-checked little-endian reader over an in-memory GGUF file (internal to gguf/).
// Every read checks the remaining byte count first, so a truncated or lying file ends in a
// FormatError naming the file, the field being read and the offset, never a read past the end.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

#include "util/error.h"

namespace tandem::gguf::detail {

class Cursor {
 public:
  Cursor(const uint8_t* data, size_t size, const std::string& file_name)
      : data_(data), size_(size), name_(file_name) {}

  size_t pos() const { return pos_; }
  size_t size() const { return size_; }
  size_t remaining() const { return size_ - pos_; }

  template <typename T>
  T read(const char* what) {
    static_assert(std::is_trivially_copyable_v<T>);
    field_start_ = pos_;
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));  // GGUF is little-endian, as are our targets
    pos_ += sizeof(T);
    return v;
  }

  // A GGUF string: uint64 length then that many bytes (not NUL-terminated).
  std::string read_string(const char* what) { return std::string(read_string_view(what)); }

  // The same, as a view into the input (valid while the input is).
  std::string_view read_string_view(const char* what) {
    size_t start = pos_;
    uint64_t len = read<uint64_t>(what);
    if (len > remaining())
      fail(std::string(what) + " of length " + std::to_string(len) +
           " runs past the end of the file (only " + std::to_string(remaining()) +
           " bytes remain; truncated or corrupt)");
    std::string_view s(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(len));
    pos_ += static_cast<size_t>(len);
    field_start_ = start;
    return s;
  }

  // `n` raw bytes, returned in place.
  const uint8_t* read_bytes(size_t n, const char* what) {
    field_start_ = pos_;
    need(n, what);
    const uint8_t* p = data_ + pos_;
    pos_ += n;
    return p;
  }

  // Moves back to a position read before (to parse a span twice).
  void seek(size_t pos) { pos_ = pos <= size_ ? pos : size_; }
  // Makes the next fail() report `pos` as the offset of the field found wrong.
  void mark_field(size_t pos) { field_start_ = pos; }

  void need(size_t n, const char* what) const {
    if (n > remaining())
      fail(std::string("truncated: unexpected end of file reading ") + what);
  }

  // What is being parsed ("metadata key 'x'", "tensor 'y'"), prefixed to error messages.
  void set_context(std::string context) { context_ = std::move(context); }

  // Throws FormatError "<file>: [<context>: ]<message> (at offset N)", N being where the field
  // read last (the one found wrong) starts.
  [[noreturn]] void fail(const std::string& message) const {
    throw FormatError(name_ + ": " + (context_.empty() ? "" : context_ + ": ") + message +
                      " (at offset " + std::to_string(field_start_) + ")");
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  size_t field_start_ = 0;
  const std::string& name_;
  std::string context_;
};

}  // namespace tandem::gguf::detail
