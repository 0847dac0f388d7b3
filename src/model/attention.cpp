// Scaled dot-product attention against the KV cache, GQA-aware, with optional sliding window and
// score soft-capping. The math in plain sight; the loops are short per (token, head).
#include <algorithm>
#include <cmath>

#include "kernels/ops.h"
#include "model/evaluator.h"
#include "model/kv_rows.h"

namespace tandem::model {

void attend(const HParams& hp, int64_t il, std::span<const BatchToken> batch, const float* q,
            const KvStore& kv, float* out, std::vector<float>& scores, ThreadPool& pool) {
  const int64_t n = static_cast<int64_t>(batch.size());
  const LayerAttention& layer = hp.layers[static_cast<size_t>(il)];
  const int64_t group = hp.n_head / hp.n_head_kv;  // query heads sharing one KV head
  const int64_t hd_k = hp.head_dim_k, hd_v = hp.head_dim_v;

  std::vector<KvSequenceView> views;
  views.reserve(batch.size());
  int64_t max_len = 1;
  for (const BatchToken& t : batch) {
    views.push_back(kv.view(il, t.seq));
    max_len = std::max<int64_t>(max_len, t.pos + 1);
  }
  const int nt = pool.size();
  scores.resize(static_cast<size_t>(max_len * nt));

  const int64_t n_items = n * hp.n_head;
  pool.run([&](int thread, int n_threads) {
    float* s = scores.data() + thread * max_len;
    for (int64_t item = n_items * thread / n_threads; item < n_items * (thread + 1) / n_threads;
         ++item) {
      const int64_t t = item / hp.n_head, h = item % hp.n_head, kvh = h / group;
      const KvSequenceView& view = views[static_cast<size_t>(t)];
      const int64_t pos = batch[static_cast<size_t>(t)].pos;
      // Causal: positions 0..pos of the own sequence; a sliding window keeps only the last ones.
      const int64_t first = layer.sliding ? std::max<int64_t>(0, pos - hp.sliding_window + 1) : 0;
      const int64_t len = pos - first + 1;
      const float* qh = q + t * hp.q_width() + h * hd_k;

      for (int64_t j = 0; j < len; ++j) {
        float score = kv_dot(view.type, view.k_row(first + j), kvh * hd_k, qh, hd_k) * hp.attn_scale;
        if (hp.attn_softcap > 0) score = hp.attn_softcap * std::tanh(score / hp.attn_softcap);
        s[j] = score;
      }
      kernels::softmax(s, len);

      float* o = out + t * hp.n_head * hd_v + h * hd_v;
      std::fill(o, o + hd_v, 0.0f);
      for (int64_t j = 0; j < len; ++j) kv_axpy(view.type, s[j], view.v_row(first + j), kvh * hd_v, hd_v, o);
    }
  });
}

}  // namespace tandem::model
