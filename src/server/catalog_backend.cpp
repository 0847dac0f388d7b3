#include "server/catalog_backend.h"

#include <algorithm>
#include <sstream>
#include <utility>

#include "server/generation.h"
#include "util/error.h"

namespace tandem::server {

namespace {
// Started generations are tracked (to tell busy models from idle ones); finished ones are
// forgotten when the list reaches this length, or when the model's idleness is checked.
constexpr std::size_t kPruneStartedAt = 32;
}  // namespace

CatalogBackend::CatalogBackend(CatalogBackendOptions options) : options_(std::move(options)) {
  if (!options_.models_dir.empty()) dir_.emplace(options_.models_dir);
  if (!options_.pinned_model.empty()) {
    pinned_id_ = options_.pinned_id.empty() ? model_id_from_path(options_.pinned_model) : options_.pinned_id;
    auto slot = std::make_shared<Slot>();
    slot->file = describe_model_file(options_.pinned_model, pinned_id_);
    slot->pinned = true;
    slots_[pinned_id_] = slot;
  }
  std::lock_guard lock(mutex_);
  refresh_locked();
  if (!pinned_id_.empty()) {
    want_header_locked(slots_.at(pinned_id_));
    if (options_.preload_pinned) request_load_locked(slots_.at(pinned_id_));
  }
  loader_ = std::thread([this] { loader_loop(); });
}

CatalogBackend::~CatalogBackend() { drain(std::chrono::milliseconds(0)); }

void CatalogBackend::log(const std::string& message) const {
  if (options_.log) options_.log(message);
}

BackendState CatalogBackend::state() const {
  std::lock_guard lock(mutex_);
  return draining_ ? BackendState::Draining : BackendState::Ready;
}

// Adds models that appeared in the directory and forgets those that left it (unless they are
// loaded or wanted: a loaded model keeps serving from its mapping until it is unloaded).
void CatalogBackend::refresh_locked() const {
  if (!dir_ || !dir_->refresh()) return;
  std::map<std::string, const ModelFile*> on_disk;
  for (const ModelFile& f : dir_->files()) on_disk[f.id] = &f;
  for (auto it = slots_.begin(); it != slots_.end();) {
    Slot& s = *it->second;
    const bool gone = !s.pinned && !on_disk.count(it->first);
    if (gone && s.phase == Slot::Phase::Unloaded && s.waiting.empty() && s.in_use == 0) {
      it = slots_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [id, f] : on_disk) {
    auto& slot = slots_[id];
    if (!slot) slot = std::make_shared<Slot>();
    if (slot->pinned) continue;  // the command line's model wins over a file of the same name
    const bool changed = slot->file.path.empty() || slot->file.size_bytes != f->size_bytes ||
                         slot->file.modified_unix != f->modified_unix;
    slot->file = *f;
    if (changed) {  // a new file: what we knew of the old one says nothing
      slot->known_cost = 0;
      slot->header = nullptr;
      want_header_locked(slot);
    }
  }
}

void CatalogBackend::want_header_locked(const std::shared_ptr<Slot>& slot) const {
  if (slot->header_queued) return;
  slot->header_queued = true;
  headers_.push_back(slot);
  changed_.notify_all();
}

std::shared_ptr<CatalogBackend::Slot> CatalogBackend::find_locked(const std::string& model) const {
  std::string id = model;
  if (id.empty()) {
    if (!pinned_id_.empty()) {
      id = pinned_id_;
    } else {
      refresh_locked();
      if (slots_.size() != 1) {
        std::string names;
        for (const auto& [name, _] : slots_) names += (names.empty() ? "" : ", ") + name;
        if (slots_.empty()) throw ModelNotFound("no model is in the catalog (" + options_.models_dir + ")");
        throw InvalidArgument("this server serves several models (" + names + "): name one in \"model\"");
      }
      id = slots_.begin()->first;
    }
  }
  auto it = slots_.find(id);
  if (it == slots_.end()) {
    refresh_locked();
    it = slots_.find(id);
  }
  if (it == slots_.end()) throw ModelNotFound("The model '" + id + "' does not exist");
  return it->second;
}

void CatalogBackend::Slot::forget_finished() {
  std::erase_if(started, [](const std::weak_ptr<Generation>& w) {
    auto g = w.lock();
    return !g || g->finished() || g->cancelled();
  });
}

bool CatalogBackend::idle_locked(Slot& slot) const {
  if (slot.in_use > 0 || !slot.waiting.empty()) return false;
  slot.forget_finished();
  return slot.started.empty();
}

// Refuses a load early (503) when the model cannot fit beside the models that are busy: what is
// known of its cost now (its last measured cost, else its file size) already does not fit.
void CatalogBackend::check_can_load_locked(const Slot& slot) const {
  std::uint64_t busy_bytes = 0;
  int busy = 0;
  std::string names;
  for (const auto& [id, s] : slots_) {
    if (s.get() == &slot || s->phase == Slot::Phase::Unloaded || s->phase == Slot::Phase::Queued) continue;
    if (s->phase == Slot::Phase::Loaded && idle_locked(*s)) continue;
    busy_bytes += s->cost;
    ++busy;
    names += (names.empty() ? "" : ", ") + id;
  }
  if (busy == 0) return;
  const std::uint64_t need = slot.known_cost ? slot.known_cost : slot.file.size_bytes;
  if (options_.max_models > 0 && busy >= options_.max_models)
    throw Unavailable("cannot load model '" + slot.file.id + "' now: " + std::to_string(busy) +
                      " busy model(s) (" + names + ") fill --max-models " +
                      std::to_string(options_.max_models) + "; retry when they finish");
  if (options_.memory_budget_bytes > 0 && busy_bytes + need > options_.memory_budget_bytes)
    throw Unavailable("cannot load model '" + slot.file.id + "' (" + mib(need) + ") now: busy model(s) (" +
                      names + ") hold " + mib(busy_bytes) + " of the " + mib(options_.memory_budget_bytes) +
                      " memory budget; retry when they finish");
}

void CatalogBackend::request_load_locked(const std::shared_ptr<Slot>& slot) {
  if (slot->phase != Slot::Phase::Unloaded) return;
  slot->phase = Slot::Phase::Queued;
  jobs_.push_back(slot);
  changed_.notify_all();
}

std::shared_ptr<Generation> CatalogBackend::start(GenerationRequest request) {
  std::shared_ptr<Slot> slot;
  std::shared_ptr<LocalBackend> backend;
  {
    std::lock_guard lock(mutex_);
    if (draining_) throw Unavailable("the server is shutting down");
    slot = find_locked(request.model);
    slot->last_used = ++clock_;
    if (slot->phase != Slot::Phase::Loaded) {
      if (slot->waiting.size() >= options_.max_waiting)
        throw QueueFull("model '" + slot->file.id + "' is loading and " + std::to_string(slot->waiting.size()) +
                            " requests already wait for it; retry later",
                        options_.local.retry_after_seconds);
      if (slot->phase == Slot::Phase::Unloaded) {
        check_can_load_locked(*slot);
        request_load_locked(slot);
      }
      auto generation = std::make_shared<Generation>(request.stream_buffer_events);
      slot->waiting.push_back(Waiter{std::move(request), generation});
      return generation;
    }
    backend = slot->backend;
    ++slot->in_use;  // not idle while its start() runs outside the lock
  }
  std::shared_ptr<Generation> generation;
  try {
    generation = backend->start(std::move(request));
  } catch (...) {
    std::lock_guard lock(mutex_);
    --slot->in_use;
    throw;
  }
  std::lock_guard lock(mutex_);
  --slot->in_use;
  // Bounded: at most the engine's slots and queue are live, so pruning keeps this short.
  if (slot->started.size() >= kPruneStartedAt) slot->forget_finished();
  slot->started.push_back(generation);
  return generation;
}

EmbeddingResult CatalogBackend::embed(const EmbeddingRequest& request) {
  std::shared_ptr<Slot> slot;
  std::shared_ptr<LocalBackend> backend;
  {
    std::unique_lock lock(mutex_);
    if (draining_) throw Unavailable("the server is shutting down");
    slot = find_locked(request.model);
    slot->last_used = ++clock_;
    ++slot->in_use;  // also keeps the model from being unloaded between its load and our call
    if (slot->phase != Slot::Phase::Loaded) {
      if (slot->phase == Slot::Phase::Unloaded) {
        try {
          check_can_load_locked(*slot);
        } catch (...) {
          --slot->in_use;
          throw;
        }
        request_load_locked(slot);
      }
      const std::uint64_t attempts = slot->attempts;
      const bool settled = changed_.wait_for(lock, options_.embed_wait, [&] {
        return draining_ || slot->phase == Slot::Phase::Loaded || slot->attempts != attempts;
      });
      if (slot->phase != Slot::Phase::Loaded) {
        --slot->in_use;
        if (draining_) throw Unavailable("the server is shutting down");
        if (!settled) throw Unavailable("model '" + slot->file.id + "' is still loading; retry later");
        throw Error(slot->last_error);
      }
    }
    backend = slot->backend;
  }
  struct Release {
    CatalogBackend* self;
    Slot* slot;
    ~Release() {
      std::lock_guard lock(self->mutex_);
      --slot->in_use;
    }
  } release{this, slot.get()};
  return backend->embed(request);
}

std::vector<ModelInfo> CatalogBackend::models() const {
  std::lock_guard lock(mutex_);
  refresh_locked();
  std::vector<ModelInfo> out;
  for (const auto& [id, s] : slots_) {
    ModelInfo info;
    info.id = id;
    info.created = s->file.modified_unix;
    if (s->header.is_object()) info.card = s->header;
    if (s->phase == Slot::Phase::Loaded) {
      const ModelInfo engine = s->backend->models().front();
      for (const auto& [key, value] : engine.card.items()) info.card[key] = value;
      info.created = engine.created;
    }
    info.card["loaded"] = s->phase == Slot::Phase::Loaded;
    info.card["state"] = Slot::phase_name(s->phase);
    info.card["size_bytes"] = s->file.size_bytes;
    if (s->known_cost) info.card["memory_bytes"] = s->known_cost;
    info.card["loads"] = s->loads;
    info.card["default"] = id == pinned_id_;
    if (!s->last_error.empty()) info.card["last_error"] = s->last_error;
    out.push_back(std::move(info));
  }
  return out;
}

BackendStats CatalogBackend::stats() const {
  std::lock_guard lock(mutex_);
  BackendStats total;
  total.queue_depth = total.running = total.batch_size = total.kv_cache_used = total.kv_cache_total = 0;
  for (const auto& [id, s] : slots_) {
    total.queue_depth += static_cast<std::int64_t>(s->waiting.size());
    if (s->phase != Slot::Phase::Loaded) continue;
    const BackendStats b = s->backend->stats();
    total.queue_depth += std::max<std::int64_t>(0, b.queue_depth);
    total.running += std::max<std::int64_t>(0, b.running);
    total.batch_size += std::max<std::int64_t>(0, b.batch_size);
    total.kv_cache_used += std::max<std::int64_t>(0, b.kv_cache_used);
    total.kv_cache_total += std::max<std::int64_t>(0, b.kv_cache_total);
  }
  return total;
}

std::uint64_t CatalogBackend::memory_in_use() const {
  std::lock_guard lock(mutex_);
  std::uint64_t used = 0;
  for (const auto& [id, s] : slots_)
    if (s->phase == Slot::Phase::Loaded || s->phase == Slot::Phase::Loading) used += s->cost;
  return used;
}

void CatalogBackend::drain(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<Waiter> waiters;
  {
    std::lock_guard lock(mutex_);
    draining_ = true;
    for (auto& s : jobs_) s->phase = Slot::Phase::Unloaded;
    jobs_.clear();
    for (auto& [id, s] : slots_) {
      for (auto& w : s->waiting) waiters.push_back(std::move(w));
      s->waiting.clear();
    }
  }
  changed_.notify_all();
  for (Waiter& w : waiters) w.generation->push(GenerationEvent::error("the server is shutting down"));
  if (loader_.joinable() && loader_.get_id() != std::this_thread::get_id()) loader_.join();

  std::vector<std::shared_ptr<LocalBackend>> loaded;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, s] : slots_)
      if (s->backend) loaded.push_back(s->backend);
  }
  // Every engine keeps running while we wait on one, so one deadline serves them all.
  for (auto& b : loaded) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    b->drain(std::max(left, std::chrono::milliseconds(0)));
  }
}

}  // namespace tandem::server
