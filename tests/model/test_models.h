#pragma once
// Small random-weight models of every supported architecture, written with gguf::Writer, for the
// golden tests against the NumPy reference (reference.py) and for bad-file tests.
#include <cstdint>
#include <functional>
#include <string>

#include "gguf/writer.h"
#include "tensor/types.h"

namespace tandem::testing {

struct TestModelSpec {
  std::string arch = "llama";
  tensor::Type weight_type = tensor::Type::F32;  // every matrix, token_embd included
  int64_t n_embd = 256;
  int64_t n_layer = 2;
  int64_t n_head = 4;
  int64_t n_head_kv = 2;
  int64_t head_dim = 64;       // written as key_length/value_length when != n_embd / n_head
  int64_t n_ff = 512;
  int64_t n_vocab = 384;
  int64_t n_ctx = 256;
  int64_t n_rot = 0;           // 0: the whole head
  int64_t sliding_window = 0;  // written when > 0
  float rope_base = 10000.0f;
  bool tied_output = false;
  bool rope_freqs = false;     // Llama 3.1-style rope_freqs.weight
  float rope_linear_factor = 0.0f;  // rope.scaling.type = linear when > 0
  uint32_t seed = 1;
  // Last-moment edits (bad-file tests): called before the writer serializes.
  std::function<void(gguf::Writer&)> edit;
  // Tensor and metadata key to leave out (bad-file tests).
  std::string skip_tensor;
  std::string skip_key;
};

// The architectures the tests cover, with the arch-specific settings they exercise.
TestModelSpec spec_for(const std::string& arch, tensor::Type weight_type);

// Writes the model to `path`.
void write_test_model(const TestModelSpec& spec, const std::string& path);

}  // namespace tandem::testing
