// `tandem models list|show|pull|rm`: the local model store (see platform/model_store.h). Each
// subcommand takes --models-dir; the default is $TANDEM_MODELS or ~/.local/share/tandem/models.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "platform/model_json.h"
#include "platform/model_pull.h"
#include "platform/model_store.h"
#include "platform/url.h"

namespace tandem::cli {

namespace {

using platform::human_bytes;
using platform::human_count;

struct StoreOptions {
  std::string models_dir;
  bool json = false;
  std::string id;
};

struct PullCommandOptions {
  std::string models_dir;
  std::string url, name, sha256;
  bool force = false;
  long stall_seconds = 30;
  long connect_timeout_seconds = 30;
};

platform::ModelStore open_store(const std::string& dir) {
  return platform::ModelStore(dir.empty() ? platform::default_models_dir() : dir);
}

void add_models_dir(CLI::App* cmd, std::string& dir) {
  cmd->add_option("--models-dir", dir,
                  "Model directory (default: $TANDEM_MODELS or ~/.local/share/tandem/models)");
}

std::string dump(const nlohmann::json& j) {
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

// --- list

void run_list(const StoreOptions& o) {
  platform::ModelStore store = open_store(o.models_dir);
  std::vector<platform::StoredModel> models = store.list();
  if (o.json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& m : models) j.push_back(platform::stored_model_json(m));
    fmt::print("{}\n", dump(j));
    return;
  }
  if (models.empty()) {
    fmt::print("no models in {} (add one with `tandem models pull URL`)\n", store.dir());
    return;
  }
  std::vector<std::vector<std::string>> rows = {
      {"ID", "SIZE", "ARCH", "PARAMS", "QUANTIZATION", "CONTEXT"}};
  for (const auto& m : models) {
    if (!m.card) {
      rows.push_back({m.id, human_bytes(m.file_size), "error: " + m.error});
      continue;
    }
    const platform::ModelCard& c = *m.card;
    rows.push_back({m.id, human_bytes(m.file_size), c.architecture.empty() ? "-" : c.architecture,
                    human_count(c.parameters), platform::quantization_summary(c),
                    c.context_length ? std::to_string(*c.context_length) : "-"});
  }
  std::vector<size_t> width(6, 0);
  // A row with an error spans the trailing columns, so it does not widen them.
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size() && (row.size() == 6 || i + 1 < row.size()); ++i)
      width[i] = std::max(width[i], row[i].size());
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i)
      line += i + 1 == row.size() ? row[i] : fmt::format("{:<{}}  ", row[i], width[i]);
    fmt::print("{}\n", line);
  }
}

// --- show

void run_show(const StoreOptions& o) {
  platform::ModelStore store = open_store(o.models_dir);
  platform::StoredModel m = store.describe(o.id);
  if (o.json) {
    fmt::print("{}\n", dump(platform::stored_model_json(m)));
    return;
  }
  auto row = [](const char* label, const std::string& value) {
    fmt::print("{:<16}{}\n", label, value);
  };
  row("id:", m.id);
  row("path:", m.path);
  row("file size:", fmt::format("{} ({} bytes)", human_bytes(m.file_size), m.file_size));
  if (m.card) {
    const platform::ModelCard& c = *m.card;
    row("architecture:", c.architecture.empty() ? "(not set)" : c.architecture);
    row("name:", c.name.value_or("(not set)"));
    row("parameters:", fmt::format("{} ({})", human_count(c.parameters), c.parameters));
    row("quantization:", c.type_mix.empty() ? "(no tensors)" : platform::quantization_summary(c));
    row("context length:", c.context_length ? std::to_string(*c.context_length) : "(not set)");
    row("chat template:", c.has_chat_template ? "present" : "absent");
    if (c.license) row("license:", *c.license);
    std::string tok = c.tokenizer_model.value_or("(none)");
    if (c.vocab_size) tok += fmt::format(", {} tokens", *c.vocab_size);
    row("tokenizer:", tok);
  } else {
    row("error:", m.error);
  }
  if (m.source) {
    row("source:", m.source->url.empty() ? "(not recorded)" : m.source->url);
    if (!m.source->sha256.empty()) row("sha256:", m.source->sha256);
    if (!m.source->pulled_at.empty()) row("pulled at:", m.source->pulled_at);
  } else {
    row("source:", m.source_error.empty() ? "(added by hand: no sidecar)"
                                          : "unreadable sidecar: " + m.source_error);
  }
}

// --- rm

void run_rm(const StoreOptions& o) {
  platform::ModelStore store = open_store(o.models_dir);
  platform::RemovedFiles removed = store.remove(o.id);
  if (removed.model)
    fmt::print("removed {}\n", o.id);
  else
    fmt::print("removed the leftovers of {} (partial download or sidecar)\n", o.id);
}

// --- pull

std::atomic<bool> g_interrupted{false};
extern "C" void on_sigint(int) { g_interrupted.store(true); }

// SIGINT stops the transfer cleanly (the .part stays for a resume) while a pull runs.
class SigintGuard {
 public:
  SigintGuard() {
    g_interrupted.store(false);
    struct sigaction sa {};
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &previous_);
  }
  ~SigintGuard() { sigaction(SIGINT, &previous_, nullptr); }

 private:
  struct sigaction previous_ {};
};

std::string format_duration(double seconds) {
  long s = static_cast<long>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, (s / 60) % 60);
  if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

// A bar redrawn in place on a terminal; on a pipe or file, one line every few seconds instead
// (a log should not fill with carriage returns).
class ProgressPrinter {
 public:
  explicit ProgressPrinter(bool tty) : tty_(tty) {}

  void operator()(const platform::DownloadProgress& p) {
    if (tty_) {
      draw_bar(p);
    } else {
      auto now = std::chrono::steady_clock::now();
      if (!p.done && now - last_line_ < std::chrono::seconds(5)) return;
      last_line_ = now;
      std::string pct = p.total && *p.total ? fmt::format(" ({:.0f}%)", percent(p)) : "";
      fmt::print(stderr, "pull: {}{}{}, {}/s\n", human_bytes(p.bytes),
                 p.total ? " of " + human_bytes(*p.total) : "", pct,
                 human_bytes(static_cast<uint64_t>(p.bytes_per_second)));
    }
  }

  void finish() {
    if (tty_ && drawn_) fmt::print(stderr, "\n");
  }

 private:
  static double percent(const platform::DownloadProgress& p) {
    return 100.0 * static_cast<double>(p.bytes) / static_cast<double>(*p.total);
  }

  void draw_bar(const platform::DownloadProgress& p) {
    constexpr int kBarWidth = 30;
    std::string bar, tail;
    if (p.total && *p.total) {
      int filled = static_cast<int>(percent(p) / 100.0 * kBarWidth);
      filled = std::clamp(filled, 0, kBarWidth);
      bar = "[" + std::string(filled, '=') + std::string(kBarWidth - filled, ' ') + "]";
      tail =
          fmt::format("{:5.1f}%  {} / {}", percent(p), human_bytes(p.bytes), human_bytes(*p.total));
      if (p.bytes_per_second > 0 && !p.done)
        tail += "  ETA " +
                format_duration(static_cast<double>(*p.total - p.bytes) / p.bytes_per_second);
    } else {
      tail = human_bytes(p.bytes);
    }
    tail += fmt::format("  {}/s", human_bytes(static_cast<uint64_t>(p.bytes_per_second)));
    // \033[K clears what a longer previous line left behind.
    fmt::print(stderr, "\r{} {}\033[K", bar, tail);
    std::fflush(stderr);
    drawn_ = true;
  }

  bool tty_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_line_{};
};

void run_pull(const PullCommandOptions& o) {
  platform::ModelStore store = open_store(o.models_dir);
  platform::PullOptions pull;
  pull.url = o.url;
  pull.id = o.name;
  pull.sha256 = o.sha256;
  pull.force = o.force;
  pull.download.low_speed_seconds = o.stall_seconds;
  pull.download.connect_timeout_seconds = o.connect_timeout_seconds;
  // Gated Hugging Face repositories need the user's token; never send it to other hosts.
  if (const char* token = std::getenv("HF_TOKEN");
      token && *token && platform::is_hugging_face_host(platform::url_host(o.url)))
    pull.download.bearer_token = token;
  auto printer = std::make_shared<ProgressPrinter>(::isatty(STDERR_FILENO) == 1);
  pull.download.on_progress = [printer](const platform::DownloadProgress& p) { (*printer)(p); };
  pull.download.cancel = &g_interrupted;

  SigintGuard sigint;
  platform::PullResult r;
  try {
    r = platform::pull_model(store, pull);
  } catch (const platform::DownloadError& e) {
    printer->finish();
    if (!e.cancelled()) throw;
    fmt::print(stderr, "tandem: {}\n", e.what());
    throw CLI::RuntimeError(130);  // the conventional status for "stopped by SIGINT"
  } catch (...) {
    printer->finish();
    throw;
  }
  printer->finish();
  if (r.resumed_from > 0)
    fmt::print(stderr, "resumed from byte {} of an earlier pull\n", r.resumed_from);
  if (r.restarted)
    fmt::print(stderr, "the server did not resume; downloaded the whole file again\n");
  fmt::print("pulled {} ({}) to {}\n", r.id, human_bytes(r.source.size), r.path);
  fmt::print("sha256 {}{}\n", r.source.sha256,
             r.verified_against.empty() ? " (not verified: no --sha256 given)"
                                        : " (verified against " + r.verified_against + ")");
}

}  // namespace

void register_models(CLI::App& app) {
  CLI::App* models = app.add_subcommand("models", "Manage the local model store");
  models->require_subcommand(1);

  auto list_opts = std::make_shared<StoreOptions>();
  CLI::App* list = models->add_subcommand("list", "List the models in the store");
  add_models_dir(list, list_opts->models_dir);
  list->add_flag("--json", list_opts->json, "Print machine-readable JSON");
  list->callback([list_opts] { run_list(*list_opts); });

  auto show_opts = std::make_shared<StoreOptions>();
  CLI::App* show = models->add_subcommand("show", "Show one model's card and origin");
  show->add_option("id", show_opts->id, "Model id (file name without .gguf)")->required();
  add_models_dir(show, show_opts->models_dir);
  show->add_flag("--json", show_opts->json, "Print machine-readable JSON");
  show->callback([show_opts] { run_show(*show_opts); });

  auto rm_opts = std::make_shared<StoreOptions>();
  CLI::App* rm =
      models->add_subcommand("rm", "Delete a model (its file, sidecar and partial download)");
  rm->add_option("id", rm_opts->id, "Model id")->required();
  add_models_dir(rm, rm_opts->models_dir);
  rm->callback([rm_opts] { run_rm(*rm_opts); });

  auto pull_opts = std::make_shared<PullCommandOptions>();
  CLI::App* pull = models->add_subcommand(
      "pull", "Download a GGUF model into the store (re-run to resume an interrupted pull)");
  pull->add_option("url", pull_opts->url, "http(s) URL of a .gguf file")->required();
  pull->add_option("--name", pull_opts->name,
                   "Model id (default: the URL's file name without .gguf)");
  pull->add_option("--sha256", pull_opts->sha256, "Expected SHA-256 of the file (64 hex digits)");
  pull->add_flag("--force", pull_opts->force, "Replace an existing model with the same id");
  pull->add_option("--stall-timeout", pull_opts->stall_seconds,
                   "Give up when under 1 KiB/s arrives for this many seconds")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  pull->add_option("--connect-timeout", pull_opts->connect_timeout_seconds,
                   "Seconds allowed for connecting")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  add_models_dir(pull, pull_opts->models_dir);
  pull->callback([pull_opts] { run_pull(*pull_opts); });
}

}  // namespace tandem::cli
