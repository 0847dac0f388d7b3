// Scaled dot-product attention against the KV cache, tiled the way FlashAttention is: a work item
// is one KV head and a few consecutive tokens of one sequence, so its query rows are every query
// head sharing that KV head (GQA) times those tokens. Keys go by blocks of kKeyBlock: each block's
// K and V are widened to float once for all the item's query rows, scores come from one small
// GEMM, an online softmax keeps running maxima and sums, and a second GEMM adds P * V. Nothing
// grows with the context length, and the per-key work is SIMD across queries (the old loop made a
// dot call per (query, head, key), which cost a third of prompt processing on GQA models).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>

#include "kernels/ops.h"
#include "model/evaluator.h"
#include "model/kv_rows.h"

namespace tandem::model {
namespace {

constexpr int64_t kKeyBlock = 64;   // keys per step
constexpr int64_t kQueryCols = 64;  // query rows (tokens x heads) an item aims for
constexpr int64_t kPad = 16;        // padding of tile widths: a multiple of every SIMD width

int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// A KV head and the batch tokens [t0, t1), consecutive positions of one sequence.
struct Item {
  int64_t kvh, t0, t1;
  double cost;  // keys x query rows, to start the biggest items first
};

std::vector<Item> make_items(const HParams& hp, std::span<const BatchToken> batch, int64_t group) {
  const int64_t n = static_cast<int64_t>(batch.size());
  const int64_t chunk = std::max<int64_t>(1, kQueryCols / group);
  std::vector<Item> items;
  for (int64_t b = 0; b < n;) {
    // A run: the same sequence at consecutive positions (a prompt chunk); decode tokens of
    // different sequences are runs of one.
    int64_t e = b + 1;
    while (e < n && e - b < chunk && batch[e].seq == batch[b].seq && batch[e].pos == batch[e - 1].pos + 1)
      ++e;
    for (int64_t kvh = 0; kvh < hp.n_head_kv; ++kvh)
      items.push_back({kvh, b, e, static_cast<double>(batch[e - 1].pos + 1) * static_cast<double>(e - b)});
    b = e;
  }
  std::stable_sort(items.begin(), items.end(), [](const Item& x, const Item& y) { return x.cost > y.cost; });
  return items;
}

// One thread's tiles; all sizes bounded by the block sizes and head dims, not the context.
struct Tiles {
  std::vector<float> qt;  // hd_k x cols: the item's queries transposed, pre-scaled
  std::vector<float> k;   // kKeyBlock x hd_k
  std::vector<float> v;   // kKeyBlock x hd_v (padded)
  std::vector<float> s;   // kKeyBlock x cols: scores, then probabilities
  std::vector<float> o;   // cols x hd_v (padded)
  std::vector<float> max, sum, scale;  // per query column
};

void run_item(const HParams& hp, const LayerAttention& layer, const Item& it,
              std::span<const BatchToken> batch, const float* q, const KvSequenceView& view,
              int64_t group, float* out, Tiles& t) {
  const int64_t hd_k = hp.head_dim_k, hd_v = hp.head_dim_v, hdv_pad = round_up(hd_v, kPad);
  const int64_t cols = (it.t1 - it.t0) * group, ld = round_up(cols, kPad);
  const int64_t p_first = batch[it.t0].pos, p_last = batch[it.t1 - 1].pos;
  const int64_t window = layer.sliding ? hp.sliding_window : std::numeric_limits<int32_t>::max();
  const int64_t k_first = std::max<int64_t>(0, p_first - window + 1);

  // Column c is token t0 + c / group, query head kvh * group + c % group.
  t.qt.assign(static_cast<size_t>(hd_k * ld), 0.0f);
  for (int64_t c = 0; c < cols; ++c) {
    const float* src = q + (it.t0 + c / group) * hp.q_width() + (it.kvh * group + c % group) * hd_k;
    for (int64_t d = 0; d < hd_k; ++d) t.qt[d * ld + c] = src[d] * hp.attn_scale;
  }
  t.k.resize(static_cast<size_t>(kKeyBlock * hd_k));
  // No clearing per item (it ran on every decode step): rows past a block's nk are never read,
  // and the padding columns (zeros, or finite values of earlier loads) only reach O's padding
  // columns, which are never output.
  t.v.resize(static_cast<size_t>(kKeyBlock * hdv_pad));
  t.s.resize(static_cast<size_t>(kKeyBlock * ld));
  t.o.assign(static_cast<size_t>(ld * hdv_pad), 0.0f);
  t.max.assign(static_cast<size_t>(ld), kernels::kSoftmaxFloor);
  t.sum.assign(static_cast<size_t>(ld), 0.0f);
  t.scale.resize(static_cast<size_t>(ld));

  constexpr float kMasked = -std::numeric_limits<float>::infinity();
  for (int64_t kb = k_first; kb <= p_last; kb += kKeyBlock) {
    const int64_t nk = std::min(kKeyBlock, p_last + 1 - kb);
    const uint8_t* rows[kKeyBlock];
    for (int64_t j = 0; j < nk; ++j) rows[j] = view.k_row(kb + j);
    kv_load_rows(view.type, rows, nk, it.kvh * hd_k, hd_k, t.k.data(), hd_k);
    // S (keys x query columns) = K * Q^T.
    kernels::gemm_f32(nk, ld, hd_k, t.k.data(), hd_k, 1, t.qt.data(), ld, t.s.data(), ld, false);
    for (int64_t j = 0; j < nk; ++j) {
      float* row = t.s.data() + j * ld;
      if (hp.attn_softcap > 0)
        for (int64_t c = 0; c < cols; ++c) row[c] = hp.attn_softcap * std::tanh(row[c] / hp.attn_softcap);
      // Key kb + j is visible to positions kb + j .. kb + j + window - 1: columns before the
      // first are causally masked, after the last fall out of a sliding window.
      const int64_t key = kb + j;
      const int64_t begin = std::clamp<int64_t>((key - p_first) * group, 0, cols);
      const int64_t end = std::clamp<int64_t>((key + window - p_first) * group, 0, cols);
      std::fill(row, row + begin, kMasked);
      std::fill(row + end, row + cols, kMasked);
    }
    kernels::softmax_online(t.s.data(), nk, ld, ld, t.max.data(), t.sum.data(), t.scale.data());
    for (int64_t c = 0; c < cols; ++c)
      if (t.scale[c] != 1.0f) kernels::scale(t.o.data() + c * hdv_pad, hd_v, t.scale[c]);
    for (int64_t j = 0; j < nk; ++j) rows[j] = view.v_row(kb + j);
    kv_load_rows(view.type, rows, nk, it.kvh * hd_v, hd_v, t.v.data(), hdv_pad);
    // O (query columns x hd_v) += P^T * V, P read transposed from S.
    kernels::gemm_f32(cols, hdv_pad, nk, t.s.data(), 1, ld, t.v.data(), hdv_pad, t.o.data(), hdv_pad, true);
  }
  for (int64_t c = 0; c < cols; ++c) {
    float* dst = out + (it.t0 + c / group) * hp.n_head * hd_v + (it.kvh * group + c % group) * hd_v;
    const float inv = 1.0f / t.sum[c];  // > 0: every query sees at least its own key
    for (int64_t d = 0; d < hd_v; ++d) dst[d] = t.o[c * hdv_pad + d] * inv;
  }
}

}  // namespace

void attend(const HParams& hp, int64_t il, std::span<const BatchToken> batch, const float* q,
            const KvStore& kv, float* out, ThreadPool& pool) {
  const LayerAttention& layer = hp.layers[static_cast<size_t>(il)];
  const int64_t group = hp.n_head / hp.n_head_kv;
  std::vector<KvSequenceView> views;
  views.reserve(batch.size());
  for (const BatchToken& t : batch) views.push_back(kv.view(il, t.seq));
  const std::vector<Item> items = make_items(hp, batch, group);

  // Items are claimed largest first from a shared counter: causal items differ in size by the
  // prompt length, so a static split would leave one thread idle.
  std::atomic<size_t> next{0};
  pool.run([&](int, int) {
    thread_local Tiles tiles;
    for (size_t i = next.fetch_add(1); i < items.size(); i = next.fetch_add(1)) {
      const Item& it = items[i];
      run_item(hp, layer, it, batch, q, views[static_cast<size_t>(it.t0)], group, out, tiles);
    }
  });
}

}  // namespace tandem::model
