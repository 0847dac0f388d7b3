#include "runtime/embedder.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "model/hparams.h"
#include "runtime/kv_cache.h"
#include "runtime/session.h"
#include "util/error.h"

namespace tandem::runtime {
namespace {

// GGUF's pooling_type values (as llama.cpp-converted files write them).
constexpr int64_t kPoolingNone = 0;
constexpr int64_t kPoolingMean = 1;
constexpr int64_t kPoolingCls = 2;
constexpr int64_t kPoolingLast = 3;

std::string input_name(size_t index, size_t count) {
  return count == 1 ? std::string("input") : "input[" + std::to_string(index) + "]";
}

// Scales v to unit length; a zero vector (nothing to normalize) stays zero.
void normalize(std::vector<float>& v) {
  double sum = 0;
  for (float x : v) sum += double(x) * double(x);
  if (sum <= 0) return;
  const double inv = 1.0 / std::sqrt(sum);
  for (float& x : v) x = static_cast<float>(double(x) * inv);
}

}  // namespace

const char* pooling_name(Pooling p) {
  switch (p) {
    case Pooling::Mean: return "mean";
    case Pooling::Cls: return "cls";
    case Pooling::Last: return "last";
  }
  return "mean";
}

Pooling pooling_from_gguf(const LoadedModel& model) {
  if (!model.file || !model.model) return Pooling::Mean;
  const model::MetadataReader meta(*model.file, model.model->hparams().arch);
  std::optional<int64_t> type;
  try {
    type = meta.get_int_optional("pooling_type");
  } catch (const Error& e) {
    throw InvalidArgument(std::string("cannot compute embeddings: ") + e.what());
  }
  switch (type.value_or(kPoolingNone)) {
    case kPoolingNone:
    case kPoolingMean: return Pooling::Mean;
    case kPoolingCls: return Pooling::Cls;
    case kPoolingLast: return Pooling::Last;
    default:
      throw InvalidArgument("cannot compute embeddings: " + meta.key("pooling_type") + " = " +
                            std::to_string(*type) +
                            " is not a supported pooling (1 mean, 2 cls, 3 last)");
  }
}

Embedder::Embedder(const LoadedModel& model, const EmbedderOptions& options)
    : Embedder(model, std::make_unique<ThreadPool>(options.threads), nullptr, options) {}

Embedder::Embedder(const LoadedModel& model, ThreadPool& pool, const EmbedderOptions& options)
    : Embedder(model, nullptr, &pool, options) {}

Embedder::Embedder(const LoadedModel& model, std::unique_ptr<ThreadPool> own_pool, ThreadPool* pool,
                   const EmbedderOptions& options)
    : model_(model),
      options_(options),
      n_ctx_(pick_context(*model.model, options.n_ctx)),
      n_batch_(std::min(options.n_batch, n_ctx_)),
      pooling_(options.pooling ? *options.pooling : pooling_from_gguf(model)),
      own_pool_(std::move(own_pool)),
      pool_(pool ? *pool : *own_pool_),
      evaluator_(*model.model, pool_) {
  if (options.n_batch < 1)
    throw InvalidArgument("embedder: n_batch must be positive, got " + std::to_string(options.n_batch));
}

Embedder::~Embedder() = default;

int64_t Embedder::n_embd() const { return model_.model->hparams().n_embd; }

std::vector<int32_t> Embedder::tokenize(const EmbeddingInput& input, const std::string& name) const {
  std::vector<int32_t> ids;
  if (const auto* text = std::get_if<std::string>(&input)) {
    if (text->empty()) throw InvalidArgument(name + " must not be empty");
    if (!model_.tokenizer)
      throw InvalidArgument(name + ": this model has no tokenizer; pass token ids instead of text");
    // add_special: BOS/EOS as the vocabulary's flags say. parse_special off: user text that looks
    // like a control token stays text.
    ids = model_.tokenizer->encode(*text, /*add_special=*/true, /*parse_special=*/false);
  } else {
    ids = std::get<std::vector<int32_t>>(input);
  }
  if (ids.empty()) throw InvalidArgument(name + " must not be empty");
  const int64_t n_vocab = model_.model->hparams().n_vocab;
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || ids[i] >= n_vocab)
      throw InvalidArgument(name + "[" + std::to_string(i) + "] = " + std::to_string(ids[i]) +
                            " is not a token id of this model (vocabulary size " +
                            std::to_string(n_vocab) + ")");
  if (static_cast<int64_t>(ids.size()) > n_ctx_)
    throw InvalidArgument(name + " is " + std::to_string(ids.size()) +
                          " tokens long; the embedding context is " + std::to_string(n_ctx_) +
                          " tokens (inputs are not truncated)");
  return ids;
}

EmbeddingBatch Embedder::embed(std::span<const EmbeddingInput> inputs, std::optional<int> dimensions) {
  if (inputs.empty()) throw InvalidArgument("input must not be empty");
  if (dimensions && (*dimensions < 1 || *dimensions > n_embd()))
    throw InvalidArgument("dimensions must be between 1 and " + std::to_string(n_embd()) +
                          " (the model's embedding size), got " + std::to_string(*dimensions));

  // Everything is validated before any compute.
  std::vector<std::vector<int32_t>> tokens;
  tokens.reserve(inputs.size());
  EmbeddingBatch out;
  for (size_t i = 0; i < inputs.size(); ++i) {
    tokens.push_back(tokenize(inputs[i], input_name(i, inputs.size())));
    out.tokens += static_cast<int64_t>(tokens.back().size());
  }

  // Groups of consecutive inputs that fit one pass of n_batch tokens; a longer input is a group
  // of its own, run in chunks.
  std::vector<std::pair<size_t, size_t>> groups;  // first, count
  for (size_t i = 0; i < tokens.size();) {
    size_t j = i, total = 0;
    while (j < tokens.size() &&
           (j == i || total + tokens[j].size() <= static_cast<size_t>(n_batch_))) {
      total += tokens[j].size();
      ++j;
    }
    groups.emplace_back(i, j - i);
    i = j;
  }

  std::lock_guard<std::mutex> lock(mutex_);
  out.vectors.assign(inputs.size(), std::vector<float>(static_cast<size_t>(n_embd()), 0.0f));
  for (const auto& [first, count] : groups) run_group(tokens, first, count, out.vectors);

  for (std::vector<float>& v : out.vectors) {
    if (dimensions) v.resize(static_cast<size_t>(*dimensions));
    normalize(v);
  }
  return out;
}

void Embedder::run_group(const std::vector<std::vector<int32_t>>& tokens, size_t first,
                         size_t count, std::vector<std::vector<float>>& pooled) {
  const model::Model& m = *model_.model;
  const size_t d = static_cast<size_t>(m.hparams().n_embd);
  size_t total = 0;
  for (size_t i = first; i < first + count; ++i) total += tokens[i].size();

  // A cache just for this group, so nothing here touches another user of the model.
  KvCache kv(m.kv_shape(), {options_.kv_type, static_cast<int64_t>(total), static_cast<int32_t>(count)});

  // The group's tokens in order, sequence after sequence: positions extend each sequence in
  // batch order, so any cut into passes is valid.
  batch_.clear();
  std::vector<size_t> owner;  // batch entry -> input index
  for (size_t s = 0; s < count; ++s) {
    const std::vector<int32_t>& ids = tokens[first + s];
    for (size_t p = 0; p < ids.size(); ++p) {
      bool wanted = true;
      if (pooling_ == Pooling::Cls) wanted = p == 0;
      if (pooling_ == Pooling::Last) wanted = p + 1 == ids.size();
      batch_.push_back({ids[p], static_cast<int32_t>(p), static_cast<model::SeqId>(s), wanted});
      owner.push_back(first + s);
    }
  }

  // Sums in double: a mean over thousands of rows should not depend on their order.
  std::vector<std::vector<double>> sums(count, std::vector<double>(d, 0.0));
  for (size_t begin = 0; begin < batch_.size(); begin += static_cast<size_t>(n_batch_)) {
    const size_t end = std::min(batch_.size(), begin + static_cast<size_t>(n_batch_));
    const std::span<const model::BatchToken> pass(batch_.data() + begin, end - begin);
    const model::ForwardOutput& fo = evaluator_.forward(pass, kv, model::ForwardOutputs::HiddenOnly);
    for (size_t r = 0; r < fo.rows(); ++r) {
      const size_t input = owner[begin + static_cast<size_t>(fo.batch_index[r])];
      std::vector<double>& sum = sums[input - first];
      const std::span<const float> row = fo.hidden_row(r);
      for (size_t k = 0; k < d; ++k) sum[k] += row[k];
    }
  }

  for (size_t s = 0; s < count; ++s) {
    const double rows = pooling_ == Pooling::Mean ? double(tokens[first + s].size()) : 1.0;
    std::vector<float>& v = pooled[first + s];
    for (size_t k = 0; k < d; ++k) v[k] = static_cast<float>(sums[s][k] / rows);
  }
}

}  // namespace tandem::runtime
