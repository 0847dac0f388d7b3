// `tandem run [MODEL] -p TEXT`: streams a continuation to stdout; `-i` for an interactive session.
// A summary (prompt and generation speed, memory) goes to stderr.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "chat/chat_prompt.h"
#include "cli/model_options.h"
#include "runtime/generate.h"
#include "sample/sampler.h"
#include "util/error.h"

namespace tandem::cli {

namespace {

struct RunArgs {
  std::string model;
  std::string prompt;
  std::string prompt_file;
  bool interactive = false;
  bool no_bos = false;
  bool parse_special = false;
  bool quiet = false;
  bool force_chat = false;   // -i with the ChatML default even when the model has no template
  bool plain = false;        // -i as plain completion even when the model has a template
  std::string system;
  runtime::GenerateOptions gen;
  sample::SamplerParams sampling;
  std::vector<std::string> logit_bias;  // "ID=BIAS"
  ModelOptions model_options;
};

void print_summary(const runtime::GenerateStats& s, const runtime::Session& session) {
  auto rate = [](int64_t n, double sec) { return sec > 0 ? static_cast<double>(n) / sec : 0.0; };
  std::fprintf(stderr,
               "\n[prompt: %lld tokens, %.1f tokens/s | generation: %lld tokens, %.1f tokens/s | "
               "finish: %s | context %lld/%lld | peak memory %s]\n",
               static_cast<long long>(s.prompt_tokens), rate(s.prompt_tokens, s.prompt_seconds),
               static_cast<long long>(s.generated_tokens),
               rate(s.generated_tokens, s.generate_seconds),
               std::string(runtime::finish_reason_name(s.finish)).c_str(),
               static_cast<long long>(session.n_past()), static_cast<long long>(session.n_ctx()),
               human_bytes(static_cast<double>(peak_rss_bytes())).c_str());
}

bool write_out(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
  return true;
}

// Interactive chat: the whole conversation is rendered through the chat template every turn;
// the tokens it shares with what the session already holds are kept, only the rest is computed.
void chat_loop(const RunArgs& a, const chat::ChatPrompt& chat, const runtime::LoadedModel& model,
               runtime::Session& session, sample::Sampler& sampler) {
  const auto& tok = *model.tokenizer;
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  if (!a.system.empty()) messages.push_back({{"role", "system"}, {"content", a.system}});
  std::string line = a.prompt;
  bool have_line = !line.empty();
  while (true) {
    if (!have_line) {
      std::fprintf(stderr, "\n> ");
      if (!std::getline(std::cin, line)) break;
    }
    have_line = false;
    if (line.empty()) continue;
    messages.push_back({{"role", "user"}, {"content", line}});
    const std::string text = chat.render(messages, nullptr, true);
    // Templates that write bos_token themselves must not get a second BOS from the tokenizer.
    const bool template_has_bos = !chat.bos_token().empty() && text.rfind(chat.bos_token(), 0) == 0;
    std::vector<int32_t> ids = tok.encode(text, !template_has_bos, /*parse_special=*/true);
    if (ids.empty()) continue;
    size_t keep = 0;
    const auto& have = session.tokens();
    while (keep < have.size() && keep < ids.size() && have[keep] == ids[keep]) ++keep;
    if (keep == ids.size()) --keep;  // at least one token must be computed to get logits
    session.truncate(static_cast<int64_t>(keep));
    std::string reply;
    auto stats = runtime::generate(session, sampler, std::span<const int32_t>(ids).subspan(keep), a.gen,
                                   [&](std::string_view piece) {
                                     reply += piece;
                                     return write_out(piece);
                                   });
    messages.push_back({{"role", "assistant"}, {"content", reply}});
    if (!a.quiet) print_summary(stats, session);
    std::fprintf(stderr, "\n");
  }
}

void run(RunArgs& a) {
  for (const auto& lb : a.logit_bias) {
    const auto eq = lb.find('=');
    if (eq == std::string::npos) throw InvalidArgument("--logit-bias wants ID=BIAS, got '" + lb + "'");
    try {
      a.sampling.logit_bias[std::stoi(lb.substr(0, eq))] = std::stof(lb.substr(eq + 1));
    } catch (const std::logic_error&) {
      throw InvalidArgument("--logit-bias wants ID=BIAS, got '" + lb + "'");
    }
  }
  if (!a.prompt_file.empty()) {
    std::FILE* f = std::fopen(a.prompt_file.c_str(), "rb");
    if (!f) throw IoError(a.prompt_file + ": cannot open");
    char buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) a.prompt.append(buf, n);
    std::fclose(f);
  }
  if (a.prompt.empty() && !a.interactive) throw InvalidArgument("give a prompt with -p, -f or use -i");

  if (a.model.empty()) a.model = default_model_path();
  auto options = a.model_options.session_options();
  auto model = load_model(a.model, options.n_ctx);
  ThreadPool pool(a.model_options.threads);
  runtime::Session session(*model, pool, options);
  sample::Sampler sampler(a.sampling, model->tokenizer->n_vocab());
  const auto& tok = *model->tokenizer;

  std::vector<int32_t> pending;  // generated tokens not yet evaluated, carried into the next turn
  auto turn = [&](const std::string& text, bool first) {
    std::vector<int32_t> ids = tok.encode(text, first && !a.no_bos, a.parse_special);
    ids.insert(ids.begin(), pending.begin(), pending.end());
    if (ids.empty()) return;
    auto stats = runtime::generate(session, sampler, ids, a.gen, write_out);
    pending = stats.unevaluated;
    if (!a.quiet) print_summary(stats, session);
  };

  if (!a.interactive) {
    turn(a.prompt, true);
    if (a.quiet) std::printf("\n");
    return;
  }
  auto chat = chat::ChatPrompt::from_gguf(*model->file);
  const bool use_chat = !a.plain && (!chat.is_default() || a.force_chat);
  std::fprintf(stderr, "interactive %s: type a line and press Enter; Ctrl-D ends.\n",
               use_chat ? (chat.is_default() ? "chat (ChatML default template)" : "chat (model's template)")
                        : "completion (no chat template; each line continues the text)");
  if (!use_chat) {
    bool first = true;
    if (!a.prompt.empty()) {
      turn(a.prompt, true);
      first = false;
    }
    std::string line;
    while (true) {
      std::fprintf(stderr, "\n> ");
      if (!std::getline(std::cin, line)) break;
      turn(first ? line : "\n" + line, first);
      first = false;
    }
    return;
  }
  chat_loop(a, chat, *model, session, sampler);
}

}  // namespace

void register_run(CLI::App& app) {
  auto a = std::make_shared<RunArgs>();
  a->sampling.seed = std::random_device{}();
  auto* cmd = app.add_subcommand("run", "Generate text from a GGUF model on this CPU");
  cmd->add_option("model", a->model, "Model file (.gguf); default: the embedded demo model")
      ->check(CLI::ExistingFile);
  cmd->add_option("-p,--prompt", a->prompt, "Prompt text");
  cmd->add_option("-f,--file", a->prompt_file, "Read the prompt from a file");
  cmd->add_flag("-i,--interactive", a->interactive, "Interactive session");
  cmd->add_option("-n,--max-tokens", a->gen.max_tokens, "Tokens to generate (-1: until the context is full)");
  cmd->add_option("--stop", a->gen.stop, "Stop string (repeatable)");
  cmd->add_flag("--ignore-eos", a->gen.ignore_eos, "Do not stop at end-of-generation tokens");
  cmd->add_flag("--no-bos", a->no_bos, "Do not add the BOS token");
  cmd->add_flag("--parse-special", a->parse_special, "Treat special-token text in the prompt as tokens");
  cmd->add_flag("-q,--quiet", a->quiet, "No summary on stderr");
  cmd->add_flag("--chat", a->force_chat, "With -i: chat even without a model template (ChatML default)");
  cmd->add_flag("--no-chat", a->plain, "With -i: plain completion even when the model has a template");
  cmd->add_option("--system", a->system, "With -i: system message of the chat");
  cmd->add_option("--temp", a->sampling.temperature, "Temperature (0: greedy)")->check(CLI::Range(0.0, 100.0));
  cmd->add_option("--top-k", a->sampling.top_k, "Top-k (0: off)");
  cmd->add_option("--top-p", a->sampling.top_p, "Top-p (1: off)")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--min-p", a->sampling.min_p, "Min-p (0: off)")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--repeat-penalty", a->sampling.repetition_penalty, "Repetition penalty (1: off)");
  cmd->add_option("--repeat-last-n", a->sampling.penalty_last_n, "Tokens the penalties look back on");
  cmd->add_option("--presence-penalty", a->sampling.presence_penalty, "Presence penalty");
  cmd->add_option("--frequency-penalty", a->sampling.frequency_penalty, "Frequency penalty");
  cmd->add_option("--logit-bias", a->logit_bias, "ID=BIAS added to a token's logit (repeatable)");
  cmd->add_option("-s,--seed", a->sampling.seed, "Random seed (same seed, same output)");
  a->model_options.add_to(*cmd);
  cmd->callback([a] { run(*a); });
}

}  // namespace tandem::cli
