// Writes small, valid GGUF files into a directory to seed gguf_fuzz's corpus.
#include <cstdio>
#include <string>
#include <vector>

#include "gguf/writer.h"

int main(int argc, char** argv) {
  using namespace tandem::gguf;
  using tandem::tensor::Type;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
    return 2;
  }
  std::string dir = argv[1];

  Writer empty;
  empty.write(dir + "/empty.gguf");

  Writer values;
  values.set("general.architecture", Value::str("llama"));
  values.set("llama.block_count", Value::u32(2));
  values.set("i8", Value::i8(-3));
  values.set("u16", Value::u16(7));
  values.set("i64", Value::i64(-1));
  values.set("f64", Value::f64(0.5));
  values.set("flag", Value::boolean(true));
  values.set("tokens", Value::str_array({"<s>", "</s>", "a", "b"}));
  values.set("scores", Value::f32_array({0, -1, -2, -3}));
  values.set("nested", Value::array(ValueType::ARRAY, {Value::i32_array({1, 2}),
                                                       Value::str_array({"x"})}));
  values.write(dir + "/values.gguf");

  Writer tensors(64);
  tensors.set("general.name", Value::str("t"));
  std::vector<float> f(32, 1.0f);
  tensors.add_tensor_f32("a", Type::F32, {8, 4}, f.data());
  tensors.add_tensor("h", Type::F16, {4}, std::vector<uint8_t>(8, 0x3c));
  tensors.add_tensor("q", Type::Q8_0, {32}, std::vector<uint8_t>(34, 1));
  tensors.add_tensor("k", Type::Q4_K, {256}, std::vector<uint8_t>(144, 2));
  tensors.add_tensor("iq", Type::IQ2_XXS, {256}, std::vector<uint8_t>(66, 3));
  tensors.write(dir + "/tensors.gguf");
  return 0;
}
