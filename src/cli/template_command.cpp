// `tandem template render (MODEL.gguf | FILE.jinja) --messages conv.json [--tools tools.json]
// [--add-generation-prompt] [--bos TEXT] [--eos TEXT]`: prints the prompt a chat template
// renders for a conversation, exactly (no trailing newline added), as Hugging Face's
// apply_chat_template would produce it. TANDEM_FIXED_DATE (YYYY-MM-DD) pins strftime_now.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>

#include "chat/chat_prompt.h"
#include "chat/template.h"
#include "cli/commands.h"
#include "gguf/file.h"
#include "util/error.h"

namespace tandem::cli {
namespace {

struct TemplateRenderOptions {
  std::string source;
  std::string messages_path;
  std::string tools_path;
  bool add_generation_prompt = false;
  std::optional<std::string> bos, eos;
};

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("cannot open '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

nlohmann::ordered_json read_json(const std::string& path) {
  try {
    return nlohmann::ordered_json::parse(read_text(path));
  } catch (const nlohmann::json::parse_error& e) {
    throw InvalidArgument("'" + path + "' is not valid JSON: " + e.what());
  }
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void run_render(const TemplateRenderOptions& o) {
  std::string source, bos, eos;
  if (ends_with(o.source, ".gguf")) {
    const auto prompt = chat::ChatPrompt::from_gguf(gguf::File::open(o.source));
    if (prompt.is_default()) throw FormatError(o.source + ": has no tokenizer.chat_template");
    source = prompt.source();
    bos = prompt.bos_token();
    eos = prompt.eos_token();
  } else {
    source = read_text(o.source);
  }
  if (o.bos) bos = *o.bos;
  if (o.eos) eos = *o.eos;

  // --messages holds either the messages array or an object of template variables.
  nlohmann::ordered_json conv = read_json(o.messages_path);
  nlohmann::ordered_json ctx = nlohmann::ordered_json::object();
  if (conv.is_array()) ctx["messages"] = conv;
  else if (conv.is_object()) ctx = conv;
  else throw InvalidArgument("'" + o.messages_path + "' must hold a messages array or an object");
  if (!ctx.contains("messages")) throw InvalidArgument("'" + o.messages_path + "' has no messages");
  if (!o.tools_path.empty()) ctx["tools"] = read_json(o.tools_path);
  if (!ctx.contains("tools")) ctx["tools"] = nullptr;  // as apply_chat_template passes it
  ctx["add_generation_prompt"] = o.add_generation_prompt || ctx.value("add_generation_prompt", false);
  ctx["bos_token"] = bos;
  ctx["eos_token"] = eos;

  chat::RenderOptions render_options;
  if (const char* fixed = std::getenv("TANDEM_FIXED_DATE")) render_options.fixed_now = chat::parse_fixed_date(fixed);
  std::string prompt = chat::Template(source).render(ctx, render_options);
  std::fwrite(prompt.data(), 1, prompt.size(), stdout);
  std::fflush(stdout);
}

}  // namespace

void register_template(CLI::App& app) {
  auto* tpl = app.add_subcommand("template", "Chat templates (Jinja2 subset, as Hugging Face renders them)");
  tpl->require_subcommand(1);
  auto opts = std::make_shared<TemplateRenderOptions>();
  auto* render = tpl->add_subcommand("render", "Print the prompt a chat template renders for a conversation");
  render->add_option("source", opts->source, "MODEL.gguf (uses tokenizer.chat_template) or FILE.jinja")->required();
  render->add_option("--messages", opts->messages_path, "JSON file: messages array, or object of template variables")
      ->required();
  render->add_option("--tools", opts->tools_path, "JSON file with the tools array (OpenAI shape)");
  render->add_flag("--add-generation-prompt", opts->add_generation_prompt, "End with the assistant turn header");
  render->add_option("--bos", opts->bos, "bos_token text (default: the model's BOS token, or empty)");
  render->add_option("--eos", opts->eos, "eos_token text (default: the model's EOS token, or empty)");
  render->callback([opts] { run_render(*opts); });
}

}  // namespace tandem::cli
