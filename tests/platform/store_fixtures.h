#pragma once
// Test helpers for the model store: a scratch directory, small GGUF models built with the GGUF
// writer, and file helpers.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "gguf/writer.h"

namespace tandem::testing {

// A fresh directory under the system temp dir, deleted with everything in it.
class ScratchDir {
 public:
  ScratchDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("tandem-store-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string str() const { return path_.string(); }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// A llama-style GGUF file: one Q8_0 matrix of `rows` x 64 plus an F32 norm, with the card's
// metadata set. Bigger `rows` makes a bigger file (about 68 bytes per row).
inline void write_small_model(const std::string& path, int64_t rows = 64,
                              const std::string& name = "tiny test model") {
  gguf::Writer w;
  w.set("general.architecture", gguf::Value::str("llama"));
  w.set("general.name", gguf::Value::str(name));
  w.set("llama.context_length", gguf::Value::u32(4096));
  w.set("tokenizer.ggml.model", gguf::Value::str("llama"));
  w.set("tokenizer.ggml.tokens", gguf::Value::str_array({"<unk>", "a", "b"}));
  std::vector<float> weights(static_cast<size_t>(rows) * 64);
  for (size_t i = 0; i < weights.size(); ++i)
    weights[i] = static_cast<float>(i % 17) * 0.01f - 0.08f;
  w.add_tensor_f32("blk.0.attn_q.weight", tensor::Type::Q8_0, {64, rows}, weights.data());
  std::vector<float> norm(64, 1.0f);
  w.add_tensor_f32("blk.0.attn_norm.weight", tensor::Type::F32, {64}, norm.data());
  w.write(path);
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

inline bool exists(const std::string& path) { return std::filesystem::exists(path); }

}  // namespace tandem::testing
