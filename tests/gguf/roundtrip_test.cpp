// Writer -> bytes -> File round trips: every metadata value type (nested arrays included), typed
// accessors with their range checks, and tensors of several types with alignment padding.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>

#include "gguf/file.h"
#include "gguf/writer.h"
#include "tensor/convert.h"
#include "util/error.h"

namespace tandem::gguf {
namespace {

Writer writer_with_every_value_type() {
  Writer w;
  w.set("u8", Value::u8(200));
  w.set("i8", Value::i8(-100));
  w.set("u16", Value::u16(60000));
  w.set("i16", Value::i16(-30000));
  w.set("u32", Value::u32(4000000000u));
  w.set("i32", Value::i32(-2000000000));
  w.set("u64", Value::u64(std::numeric_limits<uint64_t>::max()));
  w.set("i64", Value::i64(std::numeric_limits<int64_t>::min()));
  w.set("f32", Value::f32(1e-5f));
  w.set("f64", Value::f64(3.141592653589793));
  w.set("bool_true", Value::boolean(true));
  w.set("bool_false", Value::boolean(false));
  w.set("str", Value::str("h\xc3\xa9llo\nworld"));
  w.set("empty_str", Value::str(""));
  w.set("strs", Value::str_array({"a", "", "ccc"}));
  w.set("i32s", Value::i32_array({1, -2, 3}));
  w.set("f32s", Value::f32_array({0.5f, -1.25f}));
  w.set("bools", Value::array(ValueType::BOOL, {Value::boolean(true), Value::boolean(false)}));
  w.set("u64s", Value::array(ValueType::UINT64, {Value::u64(1), Value::u64(1ull << 40)}));
  w.set("empty_array", Value::array(ValueType::FLOAT64, {}));
  w.set("nested", Value::array(ValueType::ARRAY,
                               {Value::i32_array({1, 2}), Value::str_array({"x"}),
                                Value::array(ValueType::ARRAY, {Value::f32_array({7.0f})})}));
  return w;
}

TEST(GgufRoundTrip, EveryValueTypeSurvives) {
  std::vector<uint8_t> bytes = writer_with_every_value_type().to_bytes();
  File f = File::parse(bytes.data(), bytes.size(), "values.gguf");
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.metadata().size(), 21u);
  EXPECT_EQ(f.metadata().front().first, "u8");  // file order kept
  EXPECT_EQ(f.tensors().size(), 0u);

  EXPECT_EQ(f.get<uint8_t>("u8"), 200);
  EXPECT_EQ(f.get<int8_t>("i8"), -100);
  EXPECT_EQ(f.get<uint16_t>("u16"), 60000);
  EXPECT_EQ(f.get<int16_t>("i16"), -30000);
  EXPECT_EQ(f.get<uint32_t>("u32"), 4000000000u);
  EXPECT_EQ(f.get<int32_t>("i32"), -2000000000);
  EXPECT_EQ(f.get<uint64_t>("u64"), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(f.get<int64_t>("i64"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(f.get<float>("f32"), 1e-5f);
  EXPECT_EQ(f.get<double>("f64"), 3.141592653589793);
  EXPECT_TRUE(f.get<bool>("bool_true"));
  EXPECT_FALSE(f.get<bool>("bool_false"));
  EXPECT_EQ(f.get<std::string>("str"), "h\xc3\xa9llo\nworld");
  EXPECT_EQ(f.get<std::string>("empty_str"), "");
  EXPECT_EQ(f.get_array<std::string>("strs"), (std::vector<std::string>{"a", "", "ccc"}));
  EXPECT_EQ(f.get_array<int32_t>("i32s"), (std::vector<int32_t>{1, -2, 3}));
  EXPECT_EQ(f.get_array<float>("f32s"), (std::vector<float>{0.5f, -1.25f}));
  EXPECT_EQ(f.get_array<bool>("bools"), (std::vector<bool>{true, false}));
  EXPECT_EQ(f.get_array<uint64_t>("u64s"), (std::vector<uint64_t>{1, 1ull << 40}));
  EXPECT_TRUE(f.get_array<double>("empty_array").empty());

  // Exact file types are kept.
  EXPECT_EQ(f.find("u16")->type, ValueType::UINT16);
  EXPECT_EQ(f.find("f32")->type, ValueType::FLOAT32);
  const Array& nested = f.find("nested")->as_array();
  ASSERT_EQ(nested.elem_type(), ValueType::ARRAY);
  ASSERT_EQ(nested.size(), 3u);
  EXPECT_EQ(nested.array_at(0).elem_type(), ValueType::INT32);
  EXPECT_EQ(nested.array_at(0).int_at(1), 2);
  EXPECT_EQ(nested.array_at(1).string_at(0), "x");
  const Array& deep = nested.array_at(2).array_at(0);
  EXPECT_EQ(deep.elem_type(), ValueType::FLOAT32);
  EXPECT_EQ(deep.double_at(0), 7.0);
  EXPECT_EQ(deep.at(0).type, ValueType::FLOAT32);
  EXPECT_EQ(nested.at(1).as_array().string_at(0), "x");  // at() copies a nested array whole

  // Writing what we read gives the same bytes.
  Writer again;
  for (const auto& [k, v] : f.metadata()) again.set(k, v);
  EXPECT_EQ(again.to_bytes(), bytes);
}

TEST(GgufRoundTrip, TypedAccessorsCheckTypeAndRange) {
  std::vector<uint8_t> bytes = writer_with_every_value_type().to_bytes();
  File f = File::parse(bytes.data(), bytes.size(), "values.gguf");
  // Widening and in-range narrowing work; out-of-range narrowing is an error naming the key.
  EXPECT_EQ(f.get<int64_t>("u32"), 4000000000);
  EXPECT_EQ(f.get<double>("i32"), -2000000000.0);
  EXPECT_EQ(f.get<uint64_t>("u8"), 200u);
  try {
    f.get<int32_t>("u32");
    FAIL() << "expected FormatError";
  } catch (const FormatError& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.rfind("values.gguf: ", 0), 0u) << msg;
    EXPECT_NE(msg.find("'u32'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("out of range"), std::string::npos) << msg;
  }
  EXPECT_THROW(f.get<uint32_t>("i8"), FormatError);     // negative into unsigned
  EXPECT_THROW(f.get<int64_t>("u64"), FormatError);     // > INT64_MAX
  EXPECT_THROW(f.get<uint32_t>("str"), FormatError);    // string is not a number
  EXPECT_THROW(f.get<int32_t>("f32"), FormatError);     // float is not an integer
  EXPECT_THROW(f.get<std::string>("u8"), FormatError);
  EXPECT_THROW(f.get<bool>("u8"), FormatError);
  EXPECT_THROW(f.get_array<int32_t>("strs"), FormatError);
  EXPECT_THROW(f.get_array<int32_t>("u8"), FormatError);  // not an array
  try {
    f.get<uint32_t>("llama.block_count");
    FAIL() << "expected FormatError";
  } catch (const FormatError& e) {
    EXPECT_STREQ(e.what(), "values.gguf: missing metadata key 'llama.block_count'");
  }
  EXPECT_EQ(f.get_optional<uint32_t>("nope"), std::nullopt);
  EXPECT_EQ(f.get_optional<uint32_t>("u16"), 60000u);
  EXPECT_EQ(f.get_or<uint32_t>("nope", 7), 7u);
  EXPECT_EQ(f.get_or<std::string>("str", "x"), "h\xc3\xa9llo\nworld");
  EXPECT_THROW(f.get_optional<uint32_t>("str"), FormatError);  // present but wrong: an error
  EXPECT_TRUE(f.has("nested"));
  EXPECT_FALSE(f.has("Nested"));
}

TEST(GgufRoundTrip, TensorsWithPaddingAndTypes) {
  Writer w(64);
  w.set("general.architecture", Value::str("test"));
  std::vector<float> a(3 * 5);
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(i) * 0.5f - 3.0f;
  w.add_tensor_f32("a", tensor::Type::F32, {5, 3}, a.data());
  std::vector<uint8_t> h(2 * 7);
  for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<uint8_t>(i * 13);
  w.add_tensor("half", tensor::Type::F16, {7}, h);
  std::vector<uint8_t> q(2 * 34, 0x5a);  // two raw Q8_0 blocks
  w.add_tensor("q", tensor::Type::Q8_0, {32, 2}, q);
  std::vector<uint8_t> iq(66, 1);  // a type tandem cannot compute with is still writable
  w.add_tensor("iq", tensor::Type::IQ2_XXS, {256}, iq);
  w.add_tensor("scalar", tensor::Type::F32, {}, {0, 0, 128, 63});  // 1.0f, zero dims

  std::vector<uint8_t> bytes = w.to_bytes();
  File f = File::parse(bytes.data(), bytes.size(), "tensors.gguf");
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_EQ(f.get<uint32_t>("general.alignment"), 64u);  // written because it is not the default
  EXPECT_EQ(f.data_offset() % 64, 0u);
  ASSERT_EQ(f.tensors().size(), 5u);

  const TensorInfo& ta = f.tensor("a");
  EXPECT_EQ(ta.type, tensor::Type::F32);
  EXPECT_EQ(ta.dims, (std::vector<int64_t>{5, 3}));
  EXPECT_EQ(ta.cols(), 5);
  EXPECT_EQ(ta.rows(), 3);
  EXPECT_EQ(ta.n_elements, 15);
  EXPECT_EQ(ta.n_bytes, 60u);
  EXPECT_EQ(ta.offset, 0u);
  EXPECT_EQ(ta.data, bytes.data() + f.data_offset());
  EXPECT_EQ(std::memcmp(ta.data, a.data(), 60), 0);

  const TensorInfo& th = f.tensor("half");
  EXPECT_EQ(th.offset, 64u);
  EXPECT_EQ(th.n_bytes, 14u);
  EXPECT_EQ(std::memcmp(th.data, h.data(), h.size()), 0);
  EXPECT_EQ(f.tensor("q").type, tensor::Type::Q8_0);
  EXPECT_EQ(f.tensor("q").n_bytes, 68u);
  EXPECT_EQ(f.tensor("q").rows(), 2);
  EXPECT_EQ(std::memcmp(f.tensor("q").data, q.data(), q.size()), 0);
  EXPECT_EQ(f.tensor("iq").type, tensor::Type::IQ2_XXS);
  EXPECT_EQ(f.tensor("scalar").n_elements, 1);
  EXPECT_EQ(f.tensor("scalar").rows(), 1);
  float one;
  std::memcpy(&one, f.tensor("scalar").data, 4);
  EXPECT_EQ(one, 1.0f);
  for (const auto& t : f.tensors()) EXPECT_EQ(t.offset % 64, 0u) << t.name;

  EXPECT_EQ(f.find_tensor("missing"), nullptr);
  try {
    f.tensor("missing");
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_STREQ(e.what(), "tensors.gguf: missing tensor 'missing'");
  }
}

TEST(GgufRoundTrip, RequireSupportedTypesNamesEachOffender) {
  Writer w;
  w.add_tensor("ok", tensor::Type::F32, {1}, std::vector<uint8_t>(4));
  w.add_tensor("blk.0.ffn_up.weight", tensor::Type::IQ2_XXS, {256}, std::vector<uint8_t>(66));
  w.add_tensor("blk.1.ffn_up.weight", tensor::Type::IQ1_M, {256}, std::vector<uint8_t>(56));
  std::vector<uint8_t> bytes = w.to_bytes();
  File f = File::parse(bytes.data(), bytes.size(), "mixed.gguf");  // the reader accepts them
  try {
    f.require_supported_types();
    FAIL() << "expected FormatError";
  } catch (const FormatError& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.rfind("mixed.gguf: ", 0), 0u) << msg;
    EXPECT_NE(msg.find("blk.0.ffn_up.weight (iq2_xxs)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("blk.1.ffn_up.weight (iq1_m)"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("ok ("), std::string::npos) << msg;
  }
  Writer good;
  good.add_tensor("ok", tensor::Type::Q4_K, {256}, std::vector<uint8_t>(144));
  bytes = good.to_bytes();
  EXPECT_NO_THROW(File::parse(bytes.data(), bytes.size(), "good.gguf").require_supported_types());
}

TEST(GgufRoundTrip, QuantizesThroughAddTensorF32) {
  if (!tensor::can_quantize(tensor::Type::Q8_0)) GTEST_SKIP() << "no Q8_0 quantizer yet";
  std::vector<float> x(64 * 2);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(static_cast<float>(i));
  Writer w;
  w.add_tensor_f32("w", tensor::Type::Q8_0, {64, 2}, x.data());
  std::vector<uint8_t> bytes = w.to_bytes();
  File f = File::parse(bytes.data(), bytes.size(), "q8.gguf");
  const TensorInfo& t = f.tensor("w");
  EXPECT_EQ(t.n_bytes, 4u * 34u);
  std::vector<float> back(x.size());
  tensor::dequantize(t.type, t.data, back.data(), t.n_elements);
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(back[i], x[i], 1.0f / 127) << i;
}

TEST(GgufWriter, RejectsInconsistentInput) {
  Writer w;
  EXPECT_THROW(Writer(24), InvalidArgument);
  EXPECT_THROW(w.add_tensor("t", tensor::Type::F32, {4}, std::vector<uint8_t>(15)), InvalidArgument);
  EXPECT_THROW(w.add_tensor("t", tensor::Type::Q8_0, {33}, std::vector<uint8_t>(34)),
               InvalidArgument);
  EXPECT_THROW(w.add_tensor("t", tensor::Type::F32, {1, 1, 1, 1, 1}, std::vector<uint8_t>(4)),
               InvalidArgument);
  EXPECT_THROW(w.add_tensor("t", tensor::Type::F32, {-1}, {}), InvalidArgument);
  w.add_tensor("t", tensor::Type::F32, {1}, std::vector<uint8_t>(4));
  EXPECT_THROW(w.add_tensor("t", tensor::Type::F32, {1}, std::vector<uint8_t>(4)), InvalidArgument);
  // An array's elements must have its element type; this is checked when it is built.
  EXPECT_THROW(Value::array(ValueType::INT32, {Value::str("not an int")}), InvalidArgument);
  EXPECT_THROW(Value::array(ValueType::UINT8, {Value{ValueType::UINT8, int64_t{1}}}),
               InvalidArgument);  // right type, wrong payload
  Array strings(ValueType::STRING);
  EXPECT_THROW(strings.push_back(Value::u8(1)), InvalidArgument);
  EXPECT_THROW(strings.append_raw_scalars(nullptr, 0), InvalidArgument);
  w.set("bad", Value{ValueType::UINT8, std::string("x")});
  EXPECT_THROW(w.to_bytes(), InvalidArgument);
}

TEST(GgufArray, TypedStorageAndCheckedElementAccess) {
  Value ints = Value::array(ValueType::INT16, {Value::i16(-3), Value::i16(7)});
  const Array& a = ints.as_array();
  EXPECT_EQ(a.raw_scalars().size(), 4u);  // two elements at their file width, no Values
  EXPECT_EQ(a.int_at(0), -3);
  EXPECT_EQ(a.double_at(1), 7.0);
  EXPECT_EQ(a.at(0).type, ValueType::INT16);
  EXPECT_THROW(a.uint_at(0), FormatError);  // negative into unsigned
  EXPECT_THROW(a.string_at(0), FormatError);
  EXPECT_THROW(a.bool_at(0), FormatError);
  EXPECT_THROW(a.array_at(0), FormatError);

  Value strs = Value::str_array({"alpha", "", "\xe2\x96\x81" "b"});
  const Array& s = strs.as_array();
  EXPECT_EQ(s.size(), 3u);
  EXPECT_EQ(s.string_at(0), "alpha");
  EXPECT_EQ(s.string_at(1), "");
  EXPECT_EQ(s.string_at(2), "\xe2\x96\x81" "b");
  EXPECT_EQ(s.at(0).as_string(), "alpha");
  EXPECT_THROW(s.int_at(0), FormatError);
  EXPECT_THROW(s.double_at(0), FormatError);
  try {
    s.int_at(0);
  } catch (const FormatError& e) {
    EXPECT_STREQ(e.what(), "expected an integer, found string");
  }

  Value copy = strs;  // a Value owns its elements: copies stay valid on their own
  strs = Value::u8(0);
  EXPECT_EQ(copy.as_array().string_at(2), "\xe2\x96\x81" "b");
}

TEST(GgufArray, LargeStringArrayRoundTripsThroughAFile) {
  // A vocabulary-sized array: every string survives, and reading it back keeps one character
  // buffer rather than one object per string.
  std::vector<std::string> texts;
  for (int i = 0; i < 100000; ++i) texts.push_back("tok" + std::to_string(i * 7919));
  Writer w;
  w.set("tokenizer.ggml.tokens", Value::str_array(texts));
  w.set("tokenizer.ggml.token_type", Value::i32_array(std::vector<int32_t>(texts.size(), 1)));
  std::vector<uint8_t> bytes = w.to_bytes();
  File f = File::parse(bytes.data(), bytes.size(), "big.gguf");
  const Array& a = f.find("tokenizer.ggml.tokens")->as_array();
  ASSERT_EQ(a.size(), texts.size());
  for (size_t i = 0; i < texts.size(); i += 997) EXPECT_EQ(a.string_at(i), texts[i]);
  EXPECT_EQ(a.string_at(texts.size() - 1), texts.back());
  EXPECT_EQ(f.get_array<std::string>("tokenizer.ggml.tokens"), texts);
  EXPECT_EQ(f.find("tokenizer.ggml.token_type")->as_array().raw_scalars().size(), 4 * texts.size());
  Writer again;
  for (const auto& [k, v] : f.metadata()) again.set(k, v);
  EXPECT_EQ(again.to_bytes(), bytes);
}

TEST(GgufWriter, WritesAtomicallyAndOpenMapsTheFile) {
  auto dir = std::filesystem::temp_directory_path() / ("tandem_gguf_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "model.gguf").string();
  Writer w;
  w.set("general.name", Value::str("on disk"));
  w.add_tensor("t", tensor::Type::F32, {2}, {0, 0, 128, 63, 0, 0, 0, 64});
  w.write(path);
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    EXPECT_EQ(entry.path().filename(), "model.gguf") << "temporary file left behind";
  File f = File::open(path);
  EXPECT_EQ(f.name(), path);
  EXPECT_EQ(f.file_size(), std::filesystem::file_size(path));
  EXPECT_EQ(f.get<std::string>("general.name"), "on disk");
  float v[2];
  std::memcpy(v, f.tensor("t").data, 8);
  EXPECT_EQ(v[1], 2.0f);
  File moved = std::move(f);  // tensor pointers stay valid: the mapping moves with the File
  std::memcpy(v, moved.tensor("t").data, 8);
  EXPECT_EQ(v[0], 1.0f);
  EXPECT_THROW(w.write((dir / "no_such_dir" / "x.gguf").string()), IoError);
  EXPECT_THROW(File::open((dir / "absent.gguf").string()), IoError);
  std::filesystem::remove_all(dir);
}

TEST(GgufValue, DisplayAbbreviatesAndEscapes) {
  EXPECT_EQ(Value::u32(5).to_display(), "5");
  EXPECT_EQ(Value::i8(-5).to_display(), "-5");
  EXPECT_EQ(Value::f32(0.5f).to_display(), "0.5");
  EXPECT_EQ(Value::f32(1e-5f).to_display(), "1e-05");  // shortest form at f32 precision
  EXPECT_EQ(Value::f64(0.1).to_display(), "0.1");
  EXPECT_EQ(Value::f64(1.0 / 3).to_display(), "0.3333333333333333");
  EXPECT_EQ(Value::boolean(true).to_display(), "true");
  EXPECT_EQ(Value::str("a\"b\n").to_display(), "\"a\\\"b\\n\"");
  EXPECT_EQ(Value::i32_array({1, 2, 3}).to_display(), "[1, 2, 3]");
  EXPECT_EQ(Value::i32_array({1, 2, 3, 4}).to_display(2), "[1, 2, ...] (4 x i32)");
  std::string long_text(200, 'x');
  std::string shown = Value::str(long_text).to_display();
  EXPECT_LT(shown.size(), 120u);
  EXPECT_NE(shown.find("(200 bytes)"), std::string::npos);
  EXPECT_EQ(value_type_name(ValueType::FLOAT64), "f64");
}

}  // namespace
}  // namespace tandem::gguf
