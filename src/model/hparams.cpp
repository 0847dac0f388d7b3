#include "model/hparams.h"

#include <fmt/format.h>

#include <cmath>

#include "util/error.h"

namespace tandem::model {

void format_error(const gguf::File& file, const std::string& msg) {
  throw FormatError(file.name() + ": " + msg);
}

void MetadataReader::fail(std::string_view suffix, const std::string& what) const {
  format_error(file_, "metadata key '" + key(suffix) + "' " + what);
}

std::optional<int64_t> MetadataReader::get_int_optional(std::string_view suffix) const {
  const gguf::Value* v = file_.find(key(suffix));
  if (!v) return std::nullopt;
  if (!v->is_integer()) fail(suffix, "must be an integer");
  try {
    return v->as_int();
  } catch (const Error& e) {
    fail(suffix, std::string("is out of range: ") + e.what());
  }
}

int64_t MetadataReader::get_int(std::string_view suffix) const {
  auto v = get_int_optional(suffix);
  if (!v) fail(suffix, "is missing");
  if (*v <= 0) fail(suffix, "must be positive, got " + std::to_string(*v));
  return *v;
}

std::optional<double> MetadataReader::get_float_optional(std::string_view suffix) const {
  const gguf::Value* v = file_.find(key(suffix));
  if (!v) return std::nullopt;
  if (!v->is_number()) fail(suffix, "must be a number");
  const double d = v->as_double();
  if (!std::isfinite(d)) fail(suffix, "must be finite");
  return d;
}

std::optional<std::string> MetadataReader::get_string_optional(std::string_view suffix) const {
  const gguf::Value* v = file_.find(key(suffix));
  if (!v) return std::nullopt;
  if (v->type != gguf::ValueType::STRING) fail(suffix, "must be a string");
  return v->as_string();
}

namespace {

void check_positive_float(const MetadataReader& meta, std::string_view suffix, double v) {
  if (!(v > 0)) meta.fail(suffix, "must be positive, got " + std::to_string(v));
}

}  // namespace

HParams read_common_hparams(const gguf::File& file, const std::string& arch) {
  MetadataReader meta(file, arch);
  HParams hp;
  hp.arch = arch;
  hp.n_embd = meta.get_int("embedding_length");
  hp.n_layer = meta.get_int("block_count");
  hp.n_head = meta.get_int("attention.head_count");
  hp.n_head_kv = meta.get_int_optional("attention.head_count_kv").value_or(hp.n_head);
  if (hp.n_head_kv <= 0 || hp.n_head % hp.n_head_kv != 0)
    meta.fail("attention.head_count_kv",
              fmt::format("({}) must be positive and divide attention.head_count ({})",
                          hp.n_head_kv, hp.n_head));
  if (!meta.get_int_optional("attention.key_length") && hp.n_embd % hp.n_head != 0)
    meta.fail("attention.head_count",
              fmt::format("({}) does not divide embedding_length ({})", hp.n_head, hp.n_embd));
  hp.head_dim_k = meta.get_int_optional("attention.key_length").value_or(hp.n_embd / hp.n_head);
  hp.head_dim_v = meta.get_int_optional("attention.value_length").value_or(hp.head_dim_k);
  if (hp.head_dim_k <= 0) meta.fail("attention.key_length", "must be positive");
  if (hp.head_dim_v <= 0) meta.fail("attention.value_length", "must be positive");
  hp.n_ff = meta.get_int("feed_forward_length");
  hp.n_ctx_train = meta.get_int("context_length");

  const auto eps = meta.get_float_optional("attention.layer_norm_rms_epsilon");
  if (!eps) meta.fail("attention.layer_norm_rms_epsilon", "is missing");
  check_positive_float(meta, "attention.layer_norm_rms_epsilon", *eps);
  hp.rms_eps = static_cast<float>(*eps);

  hp.n_rot = meta.get_int_optional("rope.dimension_count").value_or(hp.head_dim_k);
  if (hp.n_rot <= 0 || hp.n_rot > hp.head_dim_k || hp.n_rot % 2 != 0)
    meta.fail("rope.dimension_count",
              fmt::format("({}) must be even and at most the head size ({})", hp.n_rot,
                          hp.head_dim_k));
  hp.rope_base = static_cast<float>(meta.get_float_optional("rope.freq_base").value_or(10000.0));
  check_positive_float(meta, "rope.freq_base", hp.rope_base);

  // Linear position interpolation: the current key and the older one.
  const std::string scaling = meta.get_string_optional("rope.scaling.type").value_or("none");
  double factor = meta.get_float_optional("rope.scaling.factor").value_or(0.0);
  if (auto old = meta.get_float_optional("rope.scale_linear")) factor = *old;
  if (scaling == "linear" || (scaling == "none" && factor > 0 &&
                              file.has(meta.key("rope.scale_linear")))) {
    if (factor <= 0) meta.fail("rope.scaling.factor", "must be positive for linear scaling");
    hp.rope_freq_scale = static_cast<float>(1.0 / factor);
  } else if (scaling != "none" && scaling != "longrope") {
    // YaRN needs ramp-mixing of frequencies that tandem does not implement yet.
    meta.fail("rope.scaling.type", "'" + scaling + "' is not supported (none, linear, longrope)");
  }
  hp.rope_attn_factor =
      static_cast<float>(meta.get_float_optional("rope.scaling.attn_factor").value_or(1.0));
  hp.rope_ctx_orig =
      meta.get_int_optional("rope.scaling.original_context_length").value_or(hp.n_ctx_train);

  hp.sliding_window = meta.get_int_optional("attention.sliding_window").value_or(0);
  if (hp.sliding_window < 0) meta.fail("attention.sliding_window", "must not be negative");
  hp.attn_softcap =
      static_cast<float>(meta.get_float_optional("attn_logit_softcapping").value_or(0.0));
  hp.final_softcap =
      static_cast<float>(meta.get_float_optional("final_logit_softcapping").value_or(0.0));
  if (hp.attn_softcap < 0) meta.fail("attn_logit_softcapping", "must not be negative");
  if (hp.final_softcap < 0) meta.fail("final_logit_softcapping", "must not be negative");
  if (auto s = meta.get_float_optional("attention.scale")) {
    check_positive_float(meta, "attention.scale", *s);
    hp.attn_scale = static_cast<float>(*s);
  }

  const gguf::TensorInfo* embd = file.find_tensor("token_embd.weight");
  if (!embd) format_error(file, "missing tensor 'token_embd.weight'");
  if (embd->dims.size() != 2 || embd->dims[0] != hp.n_embd)
    format_error(file, "tensor 'token_embd.weight' must have shape [" + std::to_string(hp.n_embd) +
                           ", n_vocab] (" + meta.key("embedding_length") + ")");
  hp.n_vocab = embd->dims[1];

  hp.layers.assign(static_cast<size_t>(hp.n_layer),
                   LayerAttention{false, hp.rope_base, hp.rope_freq_scale});
  return hp;
}

}  // namespace tandem::model
