#pragma once
// A loaded model: hyper-parameters, architecture spec and weight views into the GGUF mapping.
// The gguf::File must outlive the Model. Running it is Evaluator's job (model/evaluator.h).
#include <memory>

#include "gguf/file.h"
#include "model/arch.h"
#include "model/hparams.h"
#include "model/kv_store.h"
#include "model/weights.h"

namespace tandem::model {

class Model {
 public:
  // Reads `general.architecture`, the hyper-parameters and every tensor; throws FormatError naming
  // the key or tensor that is missing or inconsistent.
  static Model load(const gguf::File& file, const LoadOptions& options = {});

  const HParams& hparams() const { return hp_; }
  const ArchSpec& arch() const { return *arch_; }
  const Weights& weights() const { return weights_; }
  KvShape kv_shape() const {
    return KvShape{hp_.n_layer, hp_.n_head_kv, hp_.head_dim_k, hp_.head_dim_v};
  }

 private:
  Model() = default;
  const ArchSpec* arch_ = nullptr;
  HParams hp_;
  Weights weights_;
};

}  // namespace tandem::model
