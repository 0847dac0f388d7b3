#include "runtime/scheduler.h"

#include <algorithm>
#include <exception>
#include <string>

#include "runtime/session.h"
#include "util/error.h"

namespace tandem::runtime {

namespace {

int64_t context_per_sequence(const model::Model& m, int64_t requested) {
  const int64_t train = m.hparams().n_ctx_train;
  if (requested <= 0) return std::min(train, kDefaultContext);
  if (requested > train)
    throw InvalidArgument("context size " + std::to_string(requested) +
                          " exceeds the model's training context of " + std::to_string(train));
  return requested;
}

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

Scheduler::Scheduler(const LoadedModel& model, const SchedulerOptions& options)
    : model_(model),
      options_(checked(options)),
      n_ctx_(context_per_sequence(*model.model, options.n_ctx)),
      pool_(options.threads),
      evaluator_(*model.model, pool_),
      // One context per slot, all in one pool of cells: a sequence can always grow to n_ctx.
      kv_(model.model->kv_shape(),
          KvCacheOptions{options.kv_type, n_ctx_ * options.n_slots, options.n_slots}) {
  for (model::SeqId s = options_.n_slots - 1; s >= 0; --s) free_slots_.push_back(s);
  stat_kv_used_.store(0);
  thread_ = std::thread([this] { loop(); });
}

Scheduler::~Scheduler() { shutdown(std::chrono::steady_clock::now()); }

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
  return s;
}

bool Scheduler::has_work_locked() const {
  return !waiting_.empty() || !active_.empty() || !finishing_.empty();
}

// Moves the best waiting request into slots while it fits. Strict order: a request that needs
// more slots than are free holds back the ones behind it, so large-n requests cannot starve.
void Scheduler::admit_locked() {
  while (!waiting_.empty()) {
    auto best = waiting_.begin();
    for (auto it = waiting_.begin(); it != waiting_.end(); ++it)
      if (before(*it, *best)) best = it;
    if (best->sequences.size() > free_slots_.size()) return;
    for (auto& seq : best->sequences) {
      Active a;
      a.spec = std::move(seq);
      a.slot = free_slots_.back();
      free_slots_.pop_back();
      a.priority = best->priority;
      a.order = best->order;
      active_.push_back(std::move(a));
    }
    waiting_.erase(best);
  }
}

void Scheduler::loop() {
  for (;;) {
    bool stopping = false;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || has_work_locked(); });
      if (stop_) {
        if (!has_work_locked()) break;
        if (std::chrono::steady_clock::now() >= *deadline_) stopping = true;
      }
      if (!stopping) admit_locked();
    }
    if (stopping) {
      drop_all("the server shut down before this request finished");
      break;
    }
    reap();
    poll_finishing();
    if (build_batch()) {
      run_batch();
    } else {
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
    if (a.prefilled < a.spec.prompt.size()) ++a.prefilled;
    else a.next.reset();
  }
  // Then hand out logits. Sinks may end sequences, so collect the finished ones and remove them
  // afterwards (indices stay valid meanwhile).
  std::vector<std::pair<size_t, std::string>> failed;
  std::vector<size_t> done;
  for (size_t r = 0; r < out->rows(); ++r) {
    const size_t owner = batch_owner_[static_cast<size_t>(out->batch_index[r])];
    Active& a = active_[owner];
    const auto row = out->logits_row(r);
    logits_.assign(row.begin(), row.end());
    const int64_t room = n_ctx_ - kv_.seq_len(a.slot);
    try {
      a.next = a.spec.sink->next_token(logits_, room);
      if (!a.next) done.push_back(owner);
    } catch (const std::exception& e) {
      failed.emplace_back(owner, e.what());
    }
  }
  std::vector<std::pair<size_t, int>> leaving;  // index, 0 = done / 1 = failed
  for (size_t i : done) leaving.emplace_back(i, 0);
  for (auto& [i, msg] : failed) leaving.emplace_back(i, 1);
  std::sort(leaving.begin(), leaving.end(), [](auto& x, auto& y) { return x.first > y.first; });
  for (auto& [i, kind] : leaving) {
    if (kind == 0) {
      finish(i, SequenceExit::Finished, "");
    } else {
      std::string msg;
      for (auto& f : failed)
        if (f.first == i) msg = f.second;
      finish(i, SequenceExit::Failed, msg);
    }
  }
  publish_stats();
}

// Removes active_[index], freeing its slot and cells. A finished sequence moves to the flushing
// list (its output may still be waiting for buffer room); the others exit now.
void Scheduler::finish(size_t index, SequenceExit exit, const std::string& message) {
  Active a = std::move(active_[index]);
  active_.erase(active_.begin() + static_cast<std::ptrdiff_t>(index));
  kv_.seq_clear(a.slot);
  free_slots_.push_back(a.slot);
  if (exit == SequenceExit::Finished) {
    finishing_.push_back(std::move(a.spec.sink));
    poll_finishing();
    // Freed slots may admit waiting requests right away.
    std::lock_guard lock(mutex_);
    if (!stop_ || !deadline_ || std::chrono::steady_clock::now() < *deadline_) admit_locked();
    return;
  }
  a.spec.sink->on_exit(exit, message);
  std::lock_guard lock(mutex_);
  admit_locked();
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
    free_slots_.push_back(a.slot);
    a.spec.sink->on_exit(SequenceExit::Failed, message);
  }
  active_.clear();
  for (auto& s : finishing_) s->on_exit(SequenceExit::Failed, message);
  finishing_.clear();
}

void Scheduler::publish_stats() {
  stat_running_.store(static_cast<int64_t>(active_.size()));
  stat_kv_used_.store(kv_.n_cells() - kv_.n_free_cells());
}

}  // namespace tandem::runtime
