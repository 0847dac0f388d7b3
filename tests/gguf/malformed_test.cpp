// Hostile and truncated GGUF files: one hand-made file per class of damage. Each must be rejected
// with a FormatError whose message starts with the file name and says what is wrong.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "gguf/file.h"
#include "gguf/writer.h"
#include "gguf_bytes.h"
#include "util/error.h"

namespace tandem::gguf {
namespace {

using testing::Bytes;
using testing::header;

constexpr uint32_t kF32 = 0;
constexpr uint32_t kQ8_0 = 8;
constexpr uint32_t kTypeString = static_cast<uint32_t>(ValueType::STRING);
constexpr uint32_t kTypeArray = static_cast<uint32_t>(ValueType::ARRAY);
constexpr uint32_t kTypeU8 = static_cast<uint32_t>(ValueType::UINT8);

// Parses a private, exactly-sized copy (so an over-read would be a real out-of-bounds access)
// and touches everything a caller might.
void parse_copy(const std::vector<uint8_t>& bytes, const std::string& name) {
  std::unique_ptr<uint8_t[]> copy(new uint8_t[bytes.size() + 1]);
  if (!bytes.empty()) std::memcpy(copy.get(), bytes.data(), bytes.size());
  File f = File::parse(bytes.empty() ? nullptr : copy.get(), bytes.size(), name);
  size_t sink = 0;
  for (const auto& [k, v] : f.metadata()) sink += k.size() + v.to_display().size();
  for (const auto& t : f.tensors()) sink += t.n_bytes ? t.data[t.n_bytes - 1] : 0;
  (void)sink;
}

std::string current_test_file_name() {
  return std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + ".gguf";
}

// Expects a FormatError starting with "<name>: " and containing `problem`.
void expect_rejected(const Bytes& bytes, const std::string& problem) {
  const std::string name = current_test_file_name();
  try {
    parse_copy(bytes.b, name);
    ADD_FAILURE() << "parsed without error; expected a complaint about '" << problem << "'";
  } catch (const FormatError& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.rfind(name + ": ", 0), 0u) << msg;
    EXPECT_NE(msg.find(problem), std::string::npos) << "message lacks '" << problem << "': " << msg;
  }
}

// One F32 tensor of `dims` at `offset`, with `data_bytes` of data after the aligned header.
Bytes one_tensor(const std::vector<uint64_t>& dims, uint32_t type = kF32, uint64_t offset = 0,
                 size_t data_bytes = 64) {
  Bytes b = header(1, 0);
  b.tensor_info("t", dims, type, offset).pad(32).zeros(data_bytes);
  return b;
}

TEST(GgufMalformed, BadMagic) {
  Bytes b;
  b.u32(0x46554746).u32(3).u64(0).u64(0);
  expect_rejected(b, "bad magic");
  expect_rejected(b, "(at offset 0)");  // offsets point at the start of the bad field
  Bytes text;
  for (char c : std::string("{\"not\": \"gguf\"}")) text.u8(static_cast<uint8_t>(c));
  expect_rejected(text, "not a GGUF file");
}

TEST(GgufMalformed, UnsupportedVersion) {
  expect_rejected(header(0, 0, 1), "unsupported GGUF version 1");
  expect_rejected(header(0, 0, 4), "unsupported GGUF version 4");
  expect_rejected(header(0, 0, 0x03000000), "big-endian");
  EXPECT_NO_THROW(parse_copy(header(0, 0, 2).b, "v2.gguf"));
  EXPECT_NO_THROW(parse_copy(header(0, 0, 3).b, "v3.gguf"));
}

TEST(GgufMalformed, EmptyAndTinyFiles) {
  expect_rejected(Bytes{}, "truncated");
  expect_rejected(Bytes{{'G', 'G'}}, "truncated");
}

TEST(GgufMalformed, TensorCountCannotFit) {
  expect_rejected(header(1ull << 40, 0), "tensor count");
  expect_rejected(header(1ull << 40, 0), "(at offset 8)");
  expect_rejected(header(~0ull, 0), "tensor count");
}

TEST(GgufMalformed, MetadataCountCannotFit) {
  Bytes b = header(0, 1000);
  b.kv_u32("a", 1);
  expect_rejected(b, "metadata count");
  expect_rejected(header(0, ~0ull), "metadata count");
}

TEST(GgufMalformed, StringLengthPastEndOfFile) {
  Bytes key = header(0, 1);
  key.u64(1ull << 50).zeros(20);
  expect_rejected(key, "length");
  Bytes value = header(0, 1);
  value.str("k").u32(kTypeString).u64(1000).zeros(8);
  expect_rejected(value, "past");  // "...but only N bytes remain"
  expect_rejected(value, "truncated");
}

TEST(GgufMalformed, ArrayLengthPastEndOfFile) {
  Bytes b = header(0, 1);
  b.str("k").u32(kTypeArray).u32(static_cast<uint32_t>(ValueType::UINT64)).u64(1ull << 60).zeros(64);
  expect_rejected(b, "array length");
  Bytes strings = header(0, 1);  // 16 string lengths need at least 128 bytes; 64 are there
  strings.str("k").u32(kTypeArray).u32(kTypeString).u64(16).zeros(64);
  expect_rejected(strings, "array length");
}

TEST(GgufMalformed, ArraysNestedTooDeep) {
  Bytes b = header(0, 1);
  b.str("deep").u32(kTypeArray);
  for (int i = 0; i < 40; ++i) b.u32(kTypeArray).u64(1);
  b.u32(kTypeU8).u64(1).u8(7);
  expect_rejected(b, "nested deeper");
  // Sixteen levels are fine.
  Bytes ok = header(0, 1);
  ok.str("deep").u32(kTypeArray);
  for (int i = 0; i < 15; ++i) ok.u32(kTypeArray).u64(1);
  ok.u32(kTypeU8).u64(1).u8(7);
  EXPECT_NO_THROW(parse_copy(ok.b, "nested16.gguf"));
}

TEST(GgufMalformed, UnknownValueTypes) {
  Bytes b = header(0, 1);
  b.str("k").u32(13).u64(0);
  expect_rejected(b, "unknown value type 13");
  Bytes arr = header(0, 1);
  arr.str("k").u32(kTypeArray).u32(99).u64(0);
  expect_rejected(arr, "unknown array element type 99");
}

TEST(GgufMalformed, InvalidBool) {
  Bytes b = header(0, 1);
  b.str("k").u32(static_cast<uint32_t>(ValueType::BOOL)).u8(2).zeros(8);
  expect_rejected(b, "bool");
  // Inside an array the error names the offending element's offset.
  Bytes arr = header(0, 1);
  arr.str("k").u32(kTypeArray).u32(static_cast<uint32_t>(ValueType::BOOL)).u64(3);
  const size_t third = arr.size() + 2;
  arr.u8(1).u8(0).u8(7).zeros(8);
  expect_rejected(arr, "invalid bool value 7");
  expect_rejected(arr, "(at offset " + std::to_string(third) + ")");
}

TEST(GgufMalformed, DuplicateKey) {
  Bytes b = header(0, 2);
  b.kv_u32("general.x", 1).kv_u32("general.x", 2);
  expect_rejected(b, "duplicate metadata key 'general.x'");
}

TEST(GgufMalformed, EmptyKey) {
  Bytes b = header(0, 1);
  b.kv_u32("", 1);
  expect_rejected(b, "empty");
}

TEST(GgufMalformed, AlignmentNotPowerOfTwo) {
  for (uint32_t bad : {0u, 3u, 48u}) {
    Bytes b = header(0, 1);
    b.kv_u32("general.alignment", bad);
    expect_rejected(b, "power of two");
  }
  Bytes text = header(0, 1);
  text.str("general.alignment").u32(kTypeString).str("32");
  expect_rejected(text, "power of two");
}

TEST(GgufMalformed, TooManyDimensions) {
  expect_rejected(one_tensor({1, 1, 1, 1, 1}), "5 dimensions");
}

TEST(GgufMalformed, NegativeDimension) {
  expect_rejected(one_tensor({4, static_cast<uint64_t>(-2)}), "negative dimension");
}

TEST(GgufMalformed, DimensionProductOverflows) {
  expect_rejected(one_tensor({1ull << 32, 1ull << 32}), "overflows");
  // Zero elements overall, but the row count alone overflows.
  expect_rejected(one_tensor({0, 1ull << 40, 1ull << 40}), "overflows");
}

TEST(GgufMalformed, ByteSizeOverflows) {
  // 2^62 F32 elements fit in int64, but their 2^64 bytes do not.
  expect_rejected(one_tensor({1ull << 31, 1ull << 31}), "byte size overflows");
}

TEST(GgufMalformed, UnknownTensorType) {
  expect_rejected(one_tensor({4}, 4), "unknown type id 4");  // a removed ggml type
  expect_rejected(one_tensor({4}, 1000), "unknown type id 1000");
}

TEST(GgufMalformed, RowNotMultipleOfBlockSize) {
  expect_rejected(one_tensor({33}, kQ8_0, 0, 128), "block size");
}

TEST(GgufMalformed, TensorDataOutsideDataSection) {
  expect_rejected(one_tensor({16}, kF32, 0, 60), "outside");  // 64 bytes needed, 60 there
  expect_rejected(one_tensor({4}, kF32, 1ull << 40), "outside");
  expect_rejected(one_tensor({4}, kF32, ~0ull - 31), "outside");  // offset + size wraps
}

TEST(GgufMalformed, TensorOffsetNotAligned) {
  expect_rejected(one_tensor({4}, kF32, 4), "not a multiple of the alignment");
}

TEST(GgufMalformed, OverlappingTensors) {
  Bytes b = header(2, 0);
  b.tensor_info("first", {16}, kF32, 0).tensor_info("second", {8}, kF32, 32).pad(32).zeros(128);
  expect_rejected(b, "overlaps");
}

TEST(GgufMalformed, DuplicateTensorName) {
  Bytes b = header(2, 0);
  b.tensor_info("w", {8}, kF32, 0).tensor_info("w", {8}, kF32, 32).pad(32).zeros(64);
  expect_rejected(b, "duplicate tensor name");
}

TEST(GgufMalformed, DataSectionPastEndOfFile) {
  Bytes b = header(1, 0);
  b.tensor_info("t", {0}, kF32, 0);  // no padding and no data at all
  if (b.size() % 32 == 0) b.u8(0);
  expect_rejected(b, "past the end");
}

TEST(GgufMalformed, ErrorsFromOpenNameThePath) {
  auto path = std::filesystem::temp_directory_path() /
              ("tandem_bad_" + std::to_string(::getpid()) + ".gguf");
  Bytes b = header(0, 0, 7);
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.b.data()), b.size());
  try {
    File::open(path.string());
    ADD_FAILURE() << "expected FormatError";
  } catch (const FormatError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path.string() + ": unsupported GGUF version 7", 0), 0u)
        << e.what();
  }
  std::filesystem::remove(path);
}

// A small valid file in which every byte matters: each tensor's data is a multiple of the
// alignment, so there is no trailing padding a truncation could cut harmlessly.
std::vector<uint8_t> small_valid_file() {
  Writer w;
  w.set("general.architecture", Value::str("llama"));
  w.set("llama.block_count", Value::u32(2));
  w.set("tokenizer.ggml.tokens", Value::str_array({"<s>", "</s>", "hi"}));
  w.set("nested", Value::array(ValueType::ARRAY, {Value::f32_array({1, 2})}));
  w.set("flag", Value::boolean(true));
  std::vector<float> data(16, 0.25f);
  w.add_tensor_f32("a", tensor::Type::F32, {8}, data.data());
  w.add_tensor_f32("b", tensor::Type::F32, {8, 2}, data.data());
  return w.to_bytes();
}

TEST(GgufMalformed, TruncationAtEveryOffsetIsAFormatError) {
  std::vector<uint8_t> full = small_valid_file();
  ASSERT_NO_THROW(parse_copy(full, "full.gguf"));
  for (size_t n = 0; n < full.size(); ++n) {
    std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    try {
      parse_copy(cut, "cut.gguf");
      ADD_FAILURE() << "truncation to " << n << " of " << full.size() << " bytes was accepted";
    } catch (const FormatError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("cut.gguf: ", 0), 0u) << e.what();
    }
  }
}

TEST(GgufMalformed, SingleByteCorruptionNeverCrashes) {
  // Not every flipped byte is an error (it may land in tensor data or a string), but none may
  // crash or throw anything other than FormatError.
  std::vector<uint8_t> full = small_valid_file();
  for (size_t i = 0; i < full.size(); ++i) {
    for (uint8_t x : {uint8_t{0xff}, uint8_t{0x80}, uint8_t{0x01}}) {
      std::vector<uint8_t> bad = full;
      bad[i] ^= x;
      try {
        parse_copy(bad, "flip.gguf");
      } catch (const FormatError&) {
      }
    }
  }
}

}  // namespace
}  // namespace tandem::gguf
