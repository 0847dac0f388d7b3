#include "server/local_request.h"

#include <memory>
#include <optional>

#include "chat/grammar.h"
#include "chat/json_schema_grammar.h"
#include "chat/reasoning.h"
#include "chat/tool_call.h"
#include "chat/value.h"
#include "util/error.h"

namespace tandem::server {

namespace {

using ordered_json = nlohmann::ordered_json;

std::vector<std::int32_t> encode_prompt(const tokenizer::Tokenizer& tok, const std::string& text) {
  // parse_special: templates write their markers (<|im_start|>, <s>, ...) as text.
  std::vector<std::int32_t> ids = tok.encode(text, /*add_special=*/true, /*parse_special=*/true);
  // A template that writes bos_token itself plus the tokenizer's own BOS: keep one.
  if (ids.size() >= 2 && tok.bos() >= 0 && ids[0] == tok.bos() && ids[1] == tok.bos())
    ids.erase(ids.begin());
  return ids;
}

bool tools_enabled(const GenerationRequest& r) {
  if (!r.tools.is_array() || r.tools.empty()) return false;
  return !(r.tool_choice.is_string() && r.tool_choice.get<std::string>() == "none");
}

// The function tool_choice forces: {"type":"function","function":{"name":"f"}}.
std::optional<std::string> forced_function(const ordered_json& tool_choice) {
  if (!tool_choice.is_object()) return std::nullopt;
  auto f = tool_choice.find("function");
  if (f == tool_choice.end() || !f->is_object() || !f->contains("name") || !(*f)["name"].is_string())
    throw InvalidArgument("tool_choice object needs function.name");
  return (*f)["name"].get<std::string>();
}

std::shared_ptr<const chat::Grammar> compile(const std::string& text, const char* what) {
  if (text.empty()) return nullptr;
  try {
    return std::make_shared<chat::Grammar>(chat::Grammar::parse(text));
  } catch (const FormatError& e) {
    throw InvalidArgument(std::string(what) + " cannot be enforced: " + e.what());
  }
}

std::vector<std::string> tool_names(const ordered_json& tools) {
  std::vector<std::string> names;
  for (const auto& t : tools) {
    auto f = t.find("function");
    if (f != t.end() && f->is_object() && f->contains("name") && (*f)["name"].is_string())
      names.push_back((*f)["name"].get<std::string>());
  }
  return names;
}

sample::SamplerParams sampler_params(const SamplingParams& s, int32_t n_vocab) {
  sample::SamplerParams p;
  p.temperature = static_cast<float>(s.temperature);
  p.top_p = static_cast<float>(s.top_p);
  p.top_k = 0;
  p.min_p = 0.0f;
  p.repetition_penalty = 1.0f;
  p.penalty_last_n = -1;  // OpenAI penalties count every generated token
  p.frequency_penalty = static_cast<float>(s.frequency_penalty);
  p.presence_penalty = static_cast<float>(s.presence_penalty);
  for (const auto& [id, bias] : s.logit_bias) {
    if (id < 0 || id >= n_vocab)
      throw InvalidArgument("logit_bias token id " + std::to_string(id) + " is outside the vocabulary (0.." +
                            std::to_string(n_vocab - 1) + ")");
    p.logit_bias[id] = bias;
  }
  return p;
}

}  // namespace

ordered_json template_messages(const ordered_json& messages, bool null_content_as_empty) {
  ordered_json out = ordered_json::array();
  for (const auto& m : messages) {
    ordered_json om = m;  // a copy: content parts are flattened below
    auto c = om.find("content");
    if (null_content_as_empty && (c == om.end() || c->is_null())) {
      om["content"] = "";
      c = om.find("content");
    }
    if (c != om.end() && c->is_array()) {
      std::string text;
      for (const auto& part : *c)
        if (part.is_object() && part.value("type", "") == "text" && part.contains("text") &&
            part["text"].is_string())
          text += part["text"].get<std::string>();
      *c = text;
    }
    out.push_back(std::move(om));
  }
  return out;
}

PreparedRequest prepare_request(const runtime::ServingModel& model, const GenerationRequest& r,
                                std::uint64_t random_seed) {
  const tokenizer::Tokenizer& tok = model.tokenizer();
  PreparedRequest out;
  const bool tools_on = r.endpoint == Endpoint::ChatCompletions && tools_enabled(r);
  const chat::ToolCallFormat format =
      !tools_on ? chat::ToolCallFormat::kNone
                : (model.tool_format() != chat::ToolCallFormat::kNone ? model.tool_format()
                                                                      : chat::ToolCallFormat::kHermes);
  const ordered_json no_tools;
  const ordered_json& tools = tools_on ? r.tools : no_tools;

  bool started_in_think = false;
  if (r.endpoint == Endpoint::ChatCompletions) {
    std::string text;
    try {
      // ChatML concatenates content as a string: an assistant turn that only called tools has
      // null content, which it would reject. Models' own templates see the messages as sent.
      text = model.chat_prompt().render(template_messages(r.messages, model.chat_prompt().is_default()),
                                        tools, true);
    } catch (const chat::TemplateError& e) {
      throw InvalidArgument(std::string("the model's chat template rejected the conversation: ") + e.what());
    }
    started_in_think = model.reasons() && chat::prompt_opens_think(text);
    out.prompts.push_back(encode_prompt(tok, text));
    out.echo_text.emplace_back();
  } else {
    if (r.prompts.empty()) throw InvalidArgument("prompt is empty");
    for (const auto& p : r.prompts) {
      if (const auto* s = std::get_if<std::string>(&p)) {
        out.prompts.push_back(encode_prompt(tok, *s));
        out.echo_text.push_back(r.echo ? *s : std::string());
      } else {
        const auto& ids = std::get<std::vector<std::int32_t>>(p);
        for (auto id : ids)
          if (id < 0 || id >= tok.n_vocab())
            throw InvalidArgument("prompt token id " + std::to_string(id) + " is outside the vocabulary");
        out.prompts.push_back(ids);
        out.echo_text.push_back(r.echo ? tok.decode(ids) : std::string());
      }
    }
  }
  for (const auto& p : out.prompts) out.prompt_tokens += static_cast<std::int64_t>(p.size());

  // One grammar for all choices: a forced tool call beats response_format.
  std::shared_ptr<const chat::Grammar> grammar;
  const bool required = r.tool_choice.is_string() && r.tool_choice.get<std::string>() == "required";
  const auto forced = forced_function(r.tool_choice);
  if (tools_on && (required || forced)) {
    chat::ToolCallGrammarOptions o;
    o.function_name = forced;
    o.parallel = r.parallel_tool_calls;
    grammar = compile(chat::tool_call_grammar(format, tools, o), "tool_choice");
  } else if (r.response_format.is_object()) {
    grammar = compile(chat::response_format_to_grammar(r.response_format), "response_format");
  }

  const std::uint64_t base_seed = r.sampling.seed ? static_cast<std::uint64_t>(*r.sampling.seed) : random_seed;
  const int n_prompts = static_cast<int>(out.prompts.size());
  for (int p = 0; p < n_prompts; ++p) {
    for (int j = 0; j < r.n; ++j) {
      PreparedChoice c;
      c.prompt_index = p;
      auto& cfg = c.config;
      cfg.sampling = sampler_params(r.sampling, tok.n_vocab());
      cfg.sampling.seed = base_seed + static_cast<std::uint64_t>(p * r.n + j);
      cfg.stop = r.sampling.stop;
      cfg.max_tokens = r.sampling.max_tokens;
      if (r.logprobs) cfg.top_logprobs = r.top_logprobs;
      cfg.grammar = grammar;
      cfg.tool_format = format;
      if (tools_on) cfg.tool_names = tool_names(r.tools);
      cfg.tool_id_seed = cfg.sampling.seed;
      cfg.reasoning = r.endpoint == Endpoint::ChatCompletions && model.reasons();
      cfg.started_in_think = started_in_think;
      out.choices.push_back(std::move(c));
    }
  }
  return out;
}

}  // namespace tandem::server
