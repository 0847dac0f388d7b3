// libFuzzer target for the GGUF reader: any input must parse or throw FormatError — never crash,
// hang, read out of bounds or allocate without bound. Everything a caller could look at is
// touched so lazy bugs (bad pointers, bad sizes) surface under ASan.
#include <cstddef>
#include <cstdint>
#include <string>

#include "gguf/file.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tandem;
  try {
    gguf::File f = gguf::File::parse(data, size, "fuzz.gguf");
    size_t sink = f.version() + f.alignment() + f.data_offset();
    for (const auto& [key, value] : f.metadata()) {
      sink += key.size() + value.to_display().size();
      sink += f.has(key);
      // Typed accessors on every key, with whatever type it has: wrong types must throw.
      try { sink += f.get<uint32_t>(key); } catch (const FormatError&) {}
      try { sink += f.get<std::string>(key).size(); } catch (const FormatError&) {}
      try { sink += static_cast<size_t>(f.get<double>(key) != 0); } catch (const FormatError&) {}
      try { sink += f.get_array<std::string>(key).size(); } catch (const FormatError&) {}
      try { sink += f.get_array<int32_t>(key).size(); } catch (const FormatError&) {}
    }
    for (const auto& t : f.tensors()) {
      sink += static_cast<size_t>(t.rows() + t.cols() + t.n_elements) + t.name.size();
      // First and last byte of every tensor must lie inside the input.
      if (t.n_bytes) sink += t.data[0] + t.data[t.n_bytes - 1];
      sink += f.find_tensor(t.name) == &t;
    }
    try { f.require_supported_types(); } catch (const FormatError&) {}
    volatile size_t keep = sink;
    (void)keep;
  } catch (const FormatError&) {
    // Expected for malformed input.
  }
  return 0;
}
