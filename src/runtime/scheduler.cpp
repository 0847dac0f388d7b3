#include "runtime/scheduler.h"

#include <algorithm>
#include <exception>
#include <string>

#include "runtime/session.h"
#include "util/error.h"

namespace tandem::runtime {

namespace {

// Admission and prefill order: higher priority first, then first come, first served.
template <typename T>
bool before(const T& a, const T& b) {
  return a.priority != b.priority ? a.priority > b.priority : a.order < b.order;
}

SchedulerOptions checked(SchedulerOptions o) {
  if (o.n_slots < 1) throw InvalidArgument("the scheduler needs at least one slot (--parallel)");
  if (o.prefill_chunk < 1) throw InvalidArgument("the prefill chunk must be at least one token");
  return o;
}

}  // namespace

int64_t Scheduler::cache_cells(const SchedulerOptions& o, int64_t n_ctx) {
  const int64_t extra = o.prefix_cache_entries <= 0 ? 0 : o.prefix_cache_cells < 0 ? n_ctx : o.prefix_cache_cells;
  return n_ctx * o.n_slots + extra;
}

Scheduler::Scheduler(const LoadedModel& model, const SchedulerOptions& options)
    : model_(model),
      options_(checked(options)),
      n_ctx_(pick_context(*model.model, options.n_ctx)),
      pool_(options.threads),
      evaluator_(*model.model, pool_),
      // One context per slot in one pool of cells (a running sequence can always grow to n_ctx),
      // plus room for cached prefixes; one sequence id per slot and per cache entry.
      kv_(model.model->kv_shape(),
          KvCacheOptions{options.kv_type, cache_cells(options_, n_ctx_),
                         options_.n_slots + std::max(0, options_.prefix_cache_entries)}),
      prefix_(kv_, static_cast<size_t>(std::max(0, options_.prefix_cache_entries)), options_.prefix_min_tokens) {
  for (model::SeqId s = kv_.n_seq_max() - 1; s >= 0; --s) free_ids_.push_back(s);
  thread_ = std::thread([this] { loop(); });
}

Scheduler::~Scheduler() { shutdown(std::chrono::steady_clock::now()); }

size_t Scheduler::estimate_kv_bytes(const LoadedModel& model, const SchedulerOptions& options) {
  const SchedulerOptions o = checked(options);
  const int64_t cells = cache_cells(o, pick_context(*model.model, o.n_ctx));
  const model::KvShape shape = model.model->kv_shape();
  const size_t per_cell = tensor::row_bytes(o.kv_type, shape.k_width()) + tensor::row_bytes(o.kv_type, shape.v_width());
  return static_cast<size_t>(shape.n_layer * cells) * per_cell;
}

bool Scheduler::submit(std::vector<SequenceSpec> sequences, int priority) {
  if (sequences.empty()) throw InvalidArgument("a request needs at least one sequence");
  if (static_cast<int64_t>(sequences.size()) > options_.n_slots)
    throw InvalidArgument("the request needs " + std::to_string(sequences.size()) +
                          " sequences but the server runs " + std::to_string(options_.n_slots) +
                          " in parallel");
  const int32_t n_vocab = model_.tokenizer->n_vocab();
  for (const auto& s : sequences) {
    if (s.prompt.empty()) throw InvalidArgument("the prompt is empty");
    if (static_cast<int64_t>(s.prompt.size()) >= n_ctx_)
      throw InvalidArgument("the prompt has " + std::to_string(s.prompt.size()) +
                            " tokens but the context holds " + std::to_string(n_ctx_) +
                            " (prompt and reply together); shorten the prompt");
    for (int32_t t : s.prompt)
      if (t < 0 || t >= n_vocab)
        throw InvalidArgument("prompt token id " + std::to_string(t) + " is outside the vocabulary (0.." +
                              std::to_string(n_vocab - 1) + ")");
  }
  {
    std::lock_guard lock(mutex_);
    if (!accepting_.load() || waiting_.size() >= options_.max_queue) return false;
    waiting_.push_back(Waiting{std::move(sequences), priority, next_order_++});
  }
  wake_.notify_one();
  return true;
}

void Scheduler::shutdown(std::chrono::steady_clock::time_point deadline) {
  {
    std::lock_guard lock(mutex_);
    accepting_.store(false);
    stop_ = true;
    if (!deadline_ || deadline < *deadline_) deadline_ = deadline;
  }
  wake_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

SchedulerStats Scheduler::stats() const {
  SchedulerStats s;
  {
    std::lock_guard lock(mutex_);
    s.queued = static_cast<int64_t>(waiting_.size());
  }
  s.running = stat_running_.load();
  s.last_batch = stat_last_batch_.load();
  s.kv_used = stat_kv_used_.load();
  s.kv_total = kv_.n_cells();
  s.steps = stat_steps_.load();
  s.max_batch = stat_max_batch_.load();
  s.prefix_hits = stat_prefix_hits_.load();
  s.prefix_tokens = stat_prefix_tokens_.load();
  s.prefix_entries = stat_prefix_entries_.load();
  return s;
}

bool Scheduler::has_work_locked() const {
  return !waiting_.empty() || !active_.empty() || !finishing_.empty();
}

// Takes the best waiting requests while their sequences fit in the free slots. Strict order: a
// request that needs more slots than are free holds back the ones behind it, so large-n requests
// cannot starve.
std::vector<Scheduler::Waiting> Scheduler::take_admissible_locked() {
  std::vector<Waiting> out;
  size_t running = active_.size();
  while (!waiting_.empty()) {
    auto best = waiting_.begin();
    for (auto it = waiting_.begin(); it != waiting_.end(); ++it)
      if (before(*it, *best)) best = it;
    if (running + best->sequences.size() > static_cast<size_t>(options_.n_slots)) break;
    running += best->sequences.size();
    out.push_back(std::move(*best));
    waiting_.erase(best);
  }
  return out;
}

// Gives each sequence an id and, when a cached prefix matches its prompt, the cached rows.
void Scheduler::activate(Waiting&& w) {
  for (auto& seq : w.sequences) {
    Active a;
    a.spec = std::move(seq);
    a.priority = w.priority;
    a.order = w.order;
    const PrefixCache::Match match = prefix_.find(a.spec.prompt);
    if (free_ids_.empty()) prefix_.evict_one(free_ids_, match.source);
    a.slot = free_ids_.back();
    free_ids_.pop_back();
    active_.push_back(std::move(a));
    make_room_for_active(match.source);
    Active& added = active_.back();
    if (match.source < 0) continue;
    try {
      prefix_.copy(match, added.slot);
    } catch (const InvalidArgument&) {
      continue;  // not enough free cells right now: compute the prompt instead
    }
    added.prefilled = static_cast<size_t>(match.length);
    added.reuse_checked = true;
    added.tokens.assign(added.spec.prompt.begin(), added.spec.prompt.begin() + match.length);
    stat_prefix_hits_.fetch_add(1);
    stat_prefix_tokens_.fetch_add(match.length);
    added.spec.sink->on_prompt_cached(match.length);
  }
  // A source kept alive for the copy may now have to go.
  make_room_for_active(-1);
}

// Cached prefixes may only use cells the running sequences could not claim: every running
// sequence can still grow to n_ctx. Evicts least recently used entries until that holds.
void Scheduler::make_room_for_active(model::SeqId keep) {
  const int64_t reserved = static_cast<int64_t>(active_.size()) * n_ctx_;
  while (prefix_.size() > 0 && prefix_.cells() + reserved > kv_.n_cells()) {
    if (!prefix_.evict_one(free_ids_, keep)) break;
  }
}

void Scheduler::loop() {
  for (;;) {
    bool stopping = false;
    std::vector<Waiting> admitted, abandoned;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || has_work_locked(); });
      if (stop_) {
        if (!has_work_locked()) break;
        if (std::chrono::steady_clock::now() >= *deadline_) stopping = true;
      }
      if (!stopping) {
        // Clients that left while queued give their place up now, not when they reach a slot.
        for (auto it = waiting_.begin(); it != waiting_.end();) {
          const bool gone = std::any_of(it->sequences.begin(), it->sequences.end(),
                                        [](const SequenceSpec& q) { return q.sink->cancelled(); });
          if (gone) {
            abandoned.push_back(std::move(*it));
            it = waiting_.erase(it);
          } else {
            ++it;
          }
        }
        admitted = take_admissible_locked();
      }
    }
    for (auto& w : abandoned)
      for (auto& seq : w.sequences) seq.sink->on_exit(SequenceExit::Cancelled, "cancelled");
    if (stopping) {
      drop_all("the server shut down before this request finished");
      break;
    }
    bool idle = false;
    try {
      for (auto& w : admitted) activate(std::move(w));
      reap();
      poll_finishing();
      if (build_batch()) run_batch();
      else idle = true;
    } catch (const std::exception& e) {
      // A broken invariant, not bad input (that is caught per sequence): fail everything in
      // flight rather than take the process down, and keep serving.
      const std::string message = std::string("engine failure: ") + e.what();
      for (auto& w : admitted)
        for (auto& seq : w.sequences)
          if (seq.sink) seq.sink->on_exit(SequenceExit::Failed, message);  // not activated yet
      drop_all(message);
    }
    if (idle) {
      // Nothing can run: every sequence waits on a slow consumer (or only flushing is left).
      publish_stats();
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, options_.paused_poll);
    }
  }
  publish_stats();
}

// Drops cancelled sequences before any work is spent on them.
void Scheduler::reap() {
  for (size_t i = active_.size(); i-- > 0;) {
    if (active_[i].spec.sink->cancelled()) finish(i, SequenceExit::Cancelled, "cancelled");
  }
}

void Scheduler::poll_finishing() {
  for (size_t i = finishing_.size(); i-- > 0;) {
    auto& sink = finishing_[i];
    SequenceExit exit = SequenceExit::Finished;
    bool gone = false;
    try {
      if (sink->cancelled()) {
        exit = SequenceExit::Cancelled;
        gone = true;
      } else {
        gone = sink->flush();
      }
    } catch (const std::exception& e) {
      sink->on_exit(SequenceExit::Failed, e.what());
      finishing_.erase(finishing_.begin() + static_cast<std::ptrdiff_t>(i));
      continue;
    }
    if (!gone) continue;
    sink->on_exit(exit, exit == SequenceExit::Finished ? "" : "cancelled");
    finishing_.erase(finishing_.begin() + static_cast<std::ptrdiff_t>(i));
  }
}

bool Scheduler::build_batch() {
  batch_.clear();
  batch_owner_.clear();
  // 1. One token for every decoding sequence whose consumer can take output.
  for (size_t i = 0; i < active_.size(); ++i) {
    Active& a = active_[i];
    if (!a.next || !a.spec.sink->ready()) continue;
    batch_.push_back({*a.next, static_cast<int32_t>(kv_.seq_len(a.slot)), a.slot, true});
    batch_owner_.push_back(i);
  }
  // 2. Prompt chunks, in priority / arrival order, up to the step's prefill budget.
  std::vector<size_t> prefilling;
  for (size_t i = 0; i < active_.size(); ++i)
    if (active_[i].prefilled < active_[i].spec.prompt.size()) prefilling.push_back(i);
  std::sort(prefilling.begin(), prefilling.end(),
            [&](size_t x, size_t y) { return before(active_[x], active_[y]); });
  int64_t budget = options_.prefill_chunk;
  for (size_t i : prefilling) {
    if (budget <= 0) break;
    if (!active_[i].reuse_checked && wait_or_share(i)) continue;
    Active& a = active_[i];
    const auto& prompt = a.spec.prompt;
    const size_t n = std::min<size_t>(static_cast<size_t>(budget), prompt.size() - a.prefilled);
    for (size_t k = 0; k < n; ++k) {
      const size_t p = a.prefilled + k;
      batch_.push_back({prompt[p], static_cast<int32_t>(p), a.slot, p + 1 == prompt.size()});
      batch_owner_.push_back(i);
    }
    budget -= static_cast<int64_t>(n);
  }
  return !batch_.empty();
}

namespace {
size_t common_prefix(std::span<const int32_t> a, std::span<const int32_t> b, size_t limit) {
  const size_t n = std::min({a.size(), b.size(), limit});
  size_t k = 0;
  while (k < n && a[k] == b[k]) ++k;
  return k;
}
}  // namespace

// Before its first prompt chunk, a sequence looks at the running ones: rows another sequence
// already holds for the same prefix are copied (the n choices of one request, a burst of chats
// with one system prompt). When an earlier sequence is still computing a longer shared prefix,
// this one waits for it instead of computing the same rows twice. Returns true to wait.
bool Scheduler::wait_or_share(size_t index) {
  Active& a = active_[index];
  a.reuse_checked = true;
  if (options_.prefix_cache_entries <= 0) return false;
  const std::span<const int32_t> prompt = a.spec.prompt;
  const size_t limit = prompt.size() - 1;  // the last prompt token is always computed
  const auto min_tokens = static_cast<size_t>(std::max<int64_t>(1, options_.prefix_min_tokens));
  size_t have = 0, coming = 0;
  model::SeqId source = -1;
  for (size_t j = 0; j < active_.size(); ++j) {
    if (j == index) continue;
    const Active& b = active_[j];
    const size_t now = common_prefix(prompt, b.tokens, limit);
    if (now > have) {
      have = now;
      source = b.slot;
    }
    // Only sequences ahead in order are waited for, so waits never form a cycle.
    const bool ahead = before(b, a) || (!before(a, b) && j < index);
    if (ahead && b.prefilled < b.spec.prompt.size())
      coming = std::max(coming, common_prefix(prompt, b.spec.prompt, limit));
  }
  if (coming >= min_tokens && coming > have) {
    a.reuse_checked = false;
    return true;
  }
  if (have < min_tokens) return false;
  try {
    prefix_.copy({source, static_cast<int64_t>(have)}, a.slot);
  } catch (const InvalidArgument&) {
    return false;  // no free cells right now: compute instead
  }
  a.prefilled = have;
  a.tokens.assign(prompt.begin(), prompt.begin() + static_cast<std::ptrdiff_t>(have));
  stat_prefix_hits_.fetch_add(1);
  stat_prefix_tokens_.fetch_add(static_cast<int64_t>(have));
  a.spec.sink->on_prompt_cached(static_cast<int64_t>(have));
  return false;
}

void Scheduler::run_batch() {
  const model::ForwardOutput* out = nullptr;
  try {
    out = &evaluator_.forward(batch_, kv_);
  } catch (const std::exception& e) {
    // Every sequence of the failed batch is in an unknown state: fail them all.
    std::vector<size_t> owners(batch_owner_.begin(), batch_owner_.end());
    std::sort(owners.begin(), owners.end());
    owners.erase(std::unique(owners.begin(), owners.end()), owners.end());
    for (size_t k = owners.size(); k-- > 0;)
      finish(owners[k], SequenceExit::Failed, std::string("engine error: ") + e.what());
    publish_stats();
    return;
  }
  stat_steps_.fetch_add(1);
  const auto n = static_cast<int64_t>(batch_.size());
  stat_last_batch_.store(n);
  if (n > stat_max_batch_.load()) stat_max_batch_.store(n);

  // Bookkeeping first: what each sequence just consumed.
  for (size_t b = 0; b < batch_.size(); ++b) {
    Active& a = active_[batch_owner_[b]];
    a.tokens.push_back(batch_[b].token);
    if (a.prefilled < a.spec.prompt.size()) ++a.prefilled;
    else a.next.reset();
  }
  // Then hand out logits. Sampling a large vocabulary costs milliseconds per sequence, so the
  // sinks run in parallel on the pool (each touches only its own state; Generation is
  // thread-safe). Sequences that end are removed afterwards, highest index first.
  const size_t rows = out->rows();
  const auto n_vocab = static_cast<size_t>(out->n_vocab);
  logits_.resize(rows * n_vocab);
  std::vector<std::optional<int32_t>> next(rows);
  std::vector<std::string> errors(rows);
  std::vector<char> failed(rows, 0);
  auto sample_rows = [&](int64_t r0, int64_t r1) {
    for (auto r = static_cast<size_t>(r0); r < static_cast<size_t>(r1); ++r) {
      Active& a = active_[batch_owner_[static_cast<size_t>(out->batch_index[r])]];
      const auto row = out->logits_row(r);
      std::span<float> mine(logits_.data() + r * n_vocab, n_vocab);
      std::copy(row.begin(), row.end(), mine.begin());
      try {
        next[r] = a.spec.sink->next_token(mine, n_ctx_ - kv_.seq_len(a.slot));
      } catch (const std::exception& e) {
        failed[r] = 1;
        errors[r] = e.what();
      }
    }
  };
  if (rows > 1) pool_.parallel_for(static_cast<int64_t>(rows), 1, sample_rows);
  else sample_rows(0, static_cast<int64_t>(rows));

  std::vector<std::pair<size_t, size_t>> leaving;  // (index in active_, output row)
  for (size_t r = 0; r < rows; ++r) {
    const size_t owner = batch_owner_[static_cast<size_t>(out->batch_index[r])];
    active_[owner].next = next[r];
    if (failed[r] || !next[r]) leaving.emplace_back(owner, r);
  }
  std::sort(leaving.begin(), leaving.end(), [](auto& x, auto& y) { return x.first > y.first; });
  for (auto& [i, r] : leaving)
    finish(i, failed[r] ? SequenceExit::Failed : SequenceExit::Finished, errors[r]);
  publish_stats();
}

// Removes active_[index]. Its cells become a cached prefix (finished or cancelled: they are
// valid) or are freed (failed). A finished sequence moves to the flushing list (its output may
// still wait for buffer room); the others exit now.
void Scheduler::finish(size_t index, SequenceExit exit, const std::string& message) {
  Active a = std::move(active_[index]);
  active_.erase(active_.begin() + static_cast<std::ptrdiff_t>(index));
  if (exit == SequenceExit::Failed) {
    kv_.seq_clear(a.slot);
    free_ids_.push_back(a.slot);
  } else {
    prefix_.insert(a.slot, std::move(a.tokens), free_ids_);
  }
  if (exit == SequenceExit::Finished) {
    finishing_.push_back(std::move(a.spec.sink));
    poll_finishing();
    return;
  }
  a.spec.sink->on_exit(exit, message);
}

void Scheduler::drop_all(const std::string& message) {
  std::deque<Waiting> waiting;
  {
    std::lock_guard lock(mutex_);
    waiting.swap(waiting_);
  }
  for (auto& w : waiting)
    for (auto& s : w.sequences) s.sink->on_exit(SequenceExit::Failed, message);
  for (auto& a : active_) {
    kv_.seq_clear(a.slot);
    free_ids_.push_back(a.slot);
    a.spec.sink->on_exit(SequenceExit::Failed, message);
  }
  prefix_.clear(free_ids_);
  active_.clear();
  for (auto& s : finishing_) s->on_exit(SequenceExit::Failed, message);
  finishing_.clear();
}

void Scheduler::publish_stats() {
  stat_running_.store(static_cast<int64_t>(active_.size()));
  stat_prefix_entries_.store(static_cast<int64_t>(prefix_.size()));
  stat_kv_used_.store(kv_.n_cells() - kv_.n_free_cells());
}

}  // namespace tandem::runtime
