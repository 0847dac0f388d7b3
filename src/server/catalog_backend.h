#pragma once
// CatalogBackend: the server's Backend over several models — every NAME.gguf of a directory plus
// optionally one pinned model (the command line's) — each served by its own LocalBackend, loaded
// on first use and unloaded least-recently-used when a memory budget or a model count is
// exceeded.
//
// Choices (see also README "Serving several models"):
// - Loading happens on one background loader thread, never on an I/O thread or another model's
//   engine. Requests for a model that is not ready WAIT for it: start() returns a Generation at
//   once and the request is started when the load completes (up to `max_waiting` per model,
//   then 429). A failed load (corrupt file) fails exactly the requests that waited for it, with
//   a message naming the file; the next request tries again. Loads run one at a time, so the
//   budget check sees exact numbers.
// - A loaded model costs its file size (it is mapped and read in) plus its KV cache bytes.
//   Before a load, idle models (nothing queued, running or waiting) are unloaded least recently
//   used first until the new model fits the budget and the model count. A model with work in
//   flight is never unloaded. If the new model cannot fit beside the busy ones, the request is
//   refused with 503 (Unavailable, retry later) — before anything is unloaded. A model that
//   alone exceeds the budget is still loaded when no other model is loaded (after unloading the
//   idle ones): a budget smaller than one model must not make it unservable; a warning is logged.
// - An empty "model" routes to the pinned model, else to the only model of the catalog.
// - The directory is re-read (stat, then readdir only when it changed) on every listing and on an
//   unknown id, so a model pulled while the server runs is found.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "server/backend.h"
#include "server/local_backend.h"
#include "server/model_catalog.h"

namespace tandem::server {

struct CatalogBackendOptions {
  std::string models_dir;    // NAME.gguf files; empty: only the pinned model
  std::string pinned_model;  // always offered, never dropped from the list; the default model
  std::string pinned_id;     // its id (default: file name without .gguf)
  LocalBackendOptions local; // engine options of every model (model_id is set per model);
                             // a context larger than a model's training context is clamped
  std::uint64_t memory_budget_bytes = 0;  // 0: no budget
  int max_models = 0;                     // models loaded at once; 0: no limit
  std::size_t max_waiting = 64;           // requests per model waiting for its load before 429
  bool prefault = true;                   // read the file's pages in on the loader thread
  bool preload_pinned = true;             // start loading the pinned model at construction
  std::chrono::milliseconds embed_wait{std::chrono::minutes(5)};  // embed() waiting for a load
  std::function<void(const std::string&)> log;  // loads, unloads, failures; null: silent
  // Runs on the loader thread as each load begins, with the model id (tests hold a load open).
  std::function<void(const std::string&)> before_load;
};

class CatalogBackend : public Backend {
 public:
  // Throws IoError when the pinned model file cannot be stat'ed. A missing models_dir lists
  // nothing until it exists.
  explicit CatalogBackend(CatalogBackendOptions options);
  ~CatalogBackend() override;  // drain(0)
  CatalogBackend(const CatalogBackend&) = delete;
  CatalogBackend& operator=(const CatalogBackend&) = delete;

  BackendState state() const override;
  // Every model of the catalog, loaded or not; card: "loaded", "state"
  // (unloaded|loading|loaded), "size_bytes", "memory_bytes" (when known), "loads",
  // "last_error" (after a failed load), "default"; the file's header card (architecture,
  // parameters, quantization, ...; read on the loader thread soon after the file is found); and
  // the engine's card fields when loaded.
  std::vector<ModelInfo> models() const override;
  BackendStats stats() const override;  // summed over loaded models; queue includes load waiters
  std::shared_ptr<Generation> start(GenerationRequest request) override;
  EmbeddingResult embed(const EmbeddingRequest& request) override;

  // Stops accepting; fails requests still waiting for a load; lets every loaded model finish its
  // queued and running requests until `timeout` (one deadline for all), then fails the rest.
  void drain(std::chrono::milliseconds timeout);

  // Bytes the loaded (and loading) models hold or have reserved.
  std::uint64_t memory_in_use() const;
  std::uint64_t memory_budget() const { return options_.memory_budget_bytes; }

 private:
  struct Waiter {
    GenerationRequest request;
    std::shared_ptr<Generation> generation;
  };
  // One model of the catalog and its lifecycle (guarded by mutex_).
  struct Slot {
    enum class Phase { Unloaded, Queued, Loading, Loaded };

    ModelFile file;
    bool pinned = false;
    Phase phase = Phase::Unloaded;
    std::shared_ptr<LocalBackend> backend;               // set while Loaded
    std::vector<Waiter> waiting;                         // generations waiting for the load
    std::vector<std::weak_ptr<Generation>> started;      // handed to the engine; pruned when done
    int in_use = 0;               // start()/embed() calls inside the backend, embed() load waits
    std::uint64_t cost = 0;       // bytes held (Loaded) or reserved (Loading)
    std::uint64_t known_cost = 0; // the last measured cost, for refusing early
    std::uint64_t last_used = 0;
    std::uint64_t attempts = 0;   // loads finished or failed (embed() waits on it)
    int loads = 0;
    std::string last_error;
    nlohmann::json header;        // card fields from the file's GGUF header; null until read
    bool header_queued = false;

    void forget_finished();  // drops started generations that ended or were cancelled
    static const char* phase_name(Phase p) {
      switch (p) {
        case Phase::Unloaded: return "unloaded";
        case Phase::Queued:
        case Phase::Loading: return "loading";
        case Phase::Loaded: return "loaded";
      }
      return "unloaded";
    }
  };

  void refresh_locked() const;
  std::shared_ptr<Slot> find_locked(const std::string& model) const;
  bool idle_locked(Slot& slot) const;
  void check_can_load_locked(const Slot& slot) const;
  void request_load_locked(const std::shared_ptr<Slot>& slot);
  void loader_loop();
  void load(const std::shared_ptr<Slot>& slot);
  void read_header(const std::shared_ptr<Slot>& slot);
  void want_header_locked(const std::shared_ptr<Slot>& slot) const;
  bool make_room_locked(const Slot& slot, std::uint64_t cost,
                        std::vector<std::shared_ptr<LocalBackend>>& victims, std::string& why);
  void fail_load(const std::shared_ptr<Slot>& slot, const std::string& message);
  void start_waiters(const std::shared_ptr<Slot>& slot, const std::shared_ptr<LocalBackend>& backend,
                     std::vector<Waiter> waiters);
  void log(const std::string& message) const;
  static std::string mib(std::uint64_t bytes);

  CatalogBackendOptions options_;
  std::string pinned_id_;

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;  // a load finished or failed, a job arrived, or draining
  mutable std::optional<ModelDirectory> dir_;
  mutable std::map<std::string, std::shared_ptr<Slot>> slots_;
  std::deque<std::shared_ptr<Slot>> jobs_;
  mutable std::deque<std::shared_ptr<Slot>> headers_;  // files whose header the loader reads when idle
  std::uint64_t clock_ = 0;  // LRU tick
  bool draining_ = false;

  std::thread loader_;  // last: starts after everything above exists
};

// "8G", "512M", "1.5GiB", "1024" (bytes) -> bytes. K/M/G/T are powers of 1024. Throws
// InvalidArgument naming the text.
std::uint64_t parse_byte_size(const std::string& text);

}  // namespace tandem::server
