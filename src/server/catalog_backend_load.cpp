// CatalogBackend, the loading half: the loader thread, making room under the memory budget
// (least recently used idle models first), failed loads, and starting the requests that waited.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <sstream>
#include <utility>

#include "runtime/loaded_model.h"
#include "runtime/scheduler.h"
#include "server/catalog_backend.h"
#include "server/generation.h"
#include "util/error.h"

namespace tandem::server {

std::string CatalogBackend::mib(std::uint64_t bytes) {
  std::ostringstream s;
  s.precision(1);
  s << std::fixed << static_cast<double>(bytes) / (1024.0 * 1024.0) << " MiB";
  return s.str();
}

void CatalogBackend::loader_loop() {
  for (;;) {
    std::shared_ptr<Slot> slot;
    bool is_load = false;
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return draining_ || !jobs_.empty() || !headers_.empty(); });
      if (draining_) return;
      if (jobs_.empty()) {  // loads first; headers when idle
        slot = std::move(headers_.front());
        headers_.pop_front();
      } else {
        slot = std::move(jobs_.front());
        jobs_.pop_front();
        slot->phase = Slot::Phase::Loading;
        is_load = true;
      }
    }
    if (is_load) {
      load(slot);
    } else {
      read_header(slot);
    }
  }
}

void CatalogBackend::read_header(const std::shared_ptr<Slot>& slot) {
  ModelFile file;
  {
    std::lock_guard lock(mutex_);
    file = slot->file;
  }
  nlohmann::json header;
  try {
    header = header_card(file.path);
  } catch (const std::exception& e) {
    header = {{"file_error", e.what()}};  // listed as is; a load attempt reports it again
  }
  std::lock_guard lock(mutex_);
  slot->header_queued = false;
  if (slot->file.path == file.path && slot->file.size_bytes == file.size_bytes &&
      slot->file.modified_unix == file.modified_unix) {
    slot->header = std::move(header);
  } else {
    want_header_locked(slot);  // replaced while we read it
  }
}

void CatalogBackend::load(const std::shared_ptr<Slot>& slot) {
  ModelFile file;
  {
    std::lock_guard lock(mutex_);
    file = slot->file;
  }
  if (options_.before_load) options_.before_load(file.id);
  const auto began = std::chrono::steady_clock::now();
  std::unique_ptr<runtime::LoadedModel> model;
  LocalBackendOptions local = options_.local;
  local.model_id = file.id;
  std::uint64_t cost = 0;
  try {
    file = describe_model_file(file.path, file.id);  // it may have been replaced since the scan
    model = runtime::LoadedModel::open(file.path, local.scheduler.n_ctx);
    // One context size for a catalog of models with different training contexts: clamp.
    local.scheduler.n_ctx = std::min(local.scheduler.n_ctx, model->model->hparams().n_ctx_train);
    cost = file.size_bytes + runtime::Scheduler::estimate_kv_bytes(*model, local.scheduler);
  } catch (const std::exception& e) {
    return fail_load(slot, "model '" + file.id + "' could not be loaded: " + e.what());
  }

  std::vector<std::shared_ptr<LocalBackend>> victims;
  std::string refused;
  {
    std::lock_guard lock(mutex_);
    slot->known_cost = cost;
    if (draining_) {
      refused = "the server is shutting down";
    } else if (make_room_locked(*slot, cost, victims, refused)) {
      slot->cost = cost;  // reserved while loading
    }
  }
  if (!refused.empty()) return fail_load(slot, refused);
  for (auto& v : victims) {
    const std::uint64_t freed = v->memory_bytes();
    const std::string id = v->models().front().id;
    v->drain(std::chrono::milliseconds(0));
    v.reset();  // unmaps the model, frees the KV cache
    log("unloaded model '" + id + "' (" + mib(freed) + ") to make room for '" + file.id + "'");
  }

  std::shared_ptr<LocalBackend> backend;
  try {
    if (options_.prefault) runtime::prefault(*model->file, nullptr, nullptr);
    backend = std::make_shared<LocalBackend>(std::move(model), local);
  } catch (const std::exception& e) {
    return fail_load(slot, "model '" + file.id + "' could not be loaded: " + e.what());
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();

  std::vector<Waiter> waiters;
  {
    std::lock_guard lock(mutex_);
    slot->file = file;
    slot->backend = backend;
    slot->phase = Slot::Phase::Loaded;
    slot->cost = slot->known_cost = backend->memory_bytes();
    slot->last_error.clear();
    ++slot->loads;
    ++slot->attempts;
    waiters = std::move(slot->waiting);
    slot->waiting.clear();
    ++slot->in_use;  // until the waiters are handed to the engine
  }
  changed_.notify_all();
  std::ostringstream msg;
  msg.precision(2);
  msg << "loaded model '" << file.id << "' (" << mib(backend->memory_bytes()) << " with KV cache) in " << std::fixed
      << seconds << " s";
  log(msg.str());
  start_waiters(slot, backend, std::move(waiters));
}

void CatalogBackend::start_waiters(const std::shared_ptr<Slot>& slot, const std::shared_ptr<LocalBackend>& backend,
                                   std::vector<Waiter> waiters) {
  std::vector<std::weak_ptr<Generation>> started;
  for (Waiter& w : waiters) {
    if (w.generation->cancelled()) continue;  // the client left while the model loaded
    try {
      backend->start_into(std::move(w.request), w.generation);
      started.push_back(w.generation);
    } catch (const std::exception& e) {
      w.generation->push(GenerationEvent::error(e.what()));
    }
  }
  std::lock_guard lock(mutex_);
  --slot->in_use;
  slot->forget_finished();
  slot->started.insert(slot->started.end(), started.begin(), started.end());
}

// Unloads idle models, least recently used first, until `cost` more bytes fit the budget and one
// more model fits the count. Decides before unloading anything: when even unloading every idle
// model would not make room (busy models hold it), nothing is unloaded and `why` says so.
bool CatalogBackend::make_room_locked(const Slot& slot, std::uint64_t cost,
                                      std::vector<std::shared_ptr<LocalBackend>>& victims, std::string& why) {
  std::uint64_t used = 0, busy_bytes = 0;
  int loaded = 0, busy = 0;
  std::vector<Slot*> idle;
  std::string busy_names;
  for (const auto& [id, s] : slots_) {
    if (s.get() == &slot || (s->phase != Slot::Phase::Loaded && s->phase != Slot::Phase::Loading)) continue;
    used += s->cost;
    ++loaded;
    if (s->phase == Slot::Phase::Loaded && idle_locked(*s)) {
      idle.push_back(s.get());
    } else {
      busy_bytes += s->cost;
      ++busy;
      busy_names += (busy_names.empty() ? "" : ", ") + id;
    }
  }
  const std::uint64_t budget = options_.memory_budget_bytes;
  const auto fits = [&](std::uint64_t bytes, int count) {
    return (budget == 0 || bytes + cost <= budget) && (options_.max_models <= 0 || count + 1 <= options_.max_models);
  };
  if (!fits(busy_bytes, busy)) {
    if (busy > 0) {
      why = "cannot load model '" + slot.file.id + "' (" + mib(cost) + ") now: busy model(s) (" + busy_names +
            ") hold " + mib(busy_bytes) + (budget ? " of the " + mib(budget) + " memory budget" : std::string()) +
            (options_.max_models > 0 ? " (--max-models " + std::to_string(options_.max_models) + ")" : std::string()) +
            "; retry when they finish";
      return false;
    }
    log("warning: model '" + slot.file.id + "' needs " + mib(cost) + ", more than the whole memory budget of " +
        mib(budget) + "; loading it alone");
  }
  std::sort(idle.begin(), idle.end(), [](const Slot* a, const Slot* b) { return a->last_used < b->last_used; });
  for (Slot* s : idle) {
    if (fits(used, loaded)) break;
    victims.push_back(std::move(s->backend));
    s->backend.reset();
    s->phase = Slot::Phase::Unloaded;
    used -= s->cost;
    s->cost = 0;
    --loaded;
  }
  return true;
}

void CatalogBackend::fail_load(const std::shared_ptr<Slot>& slot, const std::string& message) {
  std::vector<Waiter> waiters;
  {
    std::lock_guard lock(mutex_);
    slot->phase = Slot::Phase::Unloaded;
    slot->cost = 0;
    slot->last_error = message;
    ++slot->attempts;
    waiters = std::move(slot->waiting);
    slot->waiting.clear();
  }
  changed_.notify_all();
  log(message);
  for (Waiter& w : waiters) w.generation->push(GenerationEvent::error(message));
}

std::uint64_t parse_byte_size(const std::string& text) {
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    throw InvalidArgument("'" + text + "' is not a size (examples: 8G, 512M, 1.5GiB, 1000000)");
  }
  std::string unit = text.substr(used);
  std::transform(unit.begin(), unit.end(), unit.begin(), [](unsigned char c) { return std::toupper(c); });
  if (unit.ends_with("IB")) unit.resize(unit.size() - 2);
  else if (unit.size() > 1 && unit.back() == 'B') unit.pop_back();
  double scale = 0;
  if (unit.empty() || unit == "B") scale = 1;
  else if (unit == "K") scale = 1024.0;
  else if (unit == "M") scale = 1024.0 * 1024;
  else if (unit == "G") scale = 1024.0 * 1024 * 1024;
  else if (unit == "T") scale = 1024.0 * 1024 * 1024 * 1024;
  if (scale == 0 || !std::isfinite(value) || value < 0 || value * scale > 1.8e19)
    throw InvalidArgument("'" + text + "' is not a size (examples: 8G, 512M, 1.5GiB, 1000000)");
  return static_cast<std::uint64_t>(value * scale);
}

}  // namespace tandem::server
