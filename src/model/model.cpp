#include "model/model.h"

#include <cmath>

#include "util/error.h"

namespace tandem::model {

Model Model::load(const gguf::File& file, const LoadOptions& options) {
  const gguf::Value* arch_value = file.find("general.architecture");
  if (!arch_value) format_error(file, "missing metadata key 'general.architecture'");
  if (arch_value->type != gguf::ValueType::STRING)
    format_error(file, "metadata key 'general.architecture' must be a string");
  const std::string arch_name = arch_value->as_string();

  Model m;
  m.arch_ = &find_arch(file, arch_name);
  m.hp_ = read_common_hparams(file, arch_name);
  if (m.arch_->finish_hparams)
    m.arch_->finish_hparams(MetadataReader(file, arch_name), options, m.hp_);
  if (m.hp_.attn_scale == 0)
    m.hp_.attn_scale = 1.0f / std::sqrt(static_cast<float>(m.hp_.head_dim_k));
  if (options.n_ctx < 0) throw InvalidArgument("LoadOptions::n_ctx must not be negative");
  m.weights_ = load_weights(file, *m.arch_, m.hp_, options);
  return m;
}

}  // namespace tandem::model
