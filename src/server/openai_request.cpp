#include "server/openai_request.h"

#include <algorithm>
#include <limits>
#include <string>

#include "server/api_error.h"
#include "server/request_fields.h"

namespace tandem::server {
namespace {

using nlohmann::ordered_json;
constexpr std::int64_t kInt32Max = std::numeric_limits<std::int32_t>::max();
constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kInt64Min = std::numeric_limits<std::int64_t>::min();

std::string indexed(const std::string& base, std::size_t i) {
  return base + "[" + std::to_string(i) + "]";
}

std::string required_model(const ordered_json& body) {
  auto model = fields::string(body, "model", "model");
  if (!model || model->empty()) {
    throw bad_request("you must provide a model parameter", "model", "missing_required_parameter");
  }
  return *model;
}

void check_message_content(const ordered_json& message, const std::string& param, const std::string& role) {
  const ordered_json* content = fields::find(message, "content");
  if (!content) {
    // An assistant turn may carry only tool calls; every other role needs content.
    if (role == "assistant") return;
    throw bad_request("Missing required parameter: '" + param + ".content'", param + ".content",
                      "missing_required_parameter");
  }
  if (content->is_string()) return;
  if (!content->is_array()) {
    fields::wrong_type(param + ".content", "a string or an array of content parts");
  }
  for (std::size_t i = 0; i < content->size(); ++i) {
    const ordered_json& part = (*content)[i];
    const std::string part_param = indexed(param + ".content", i);
    if (!part.is_object()) fields::wrong_type(part_param, "an object");
    if (!fields::string(part, "type", part_param + ".type")) {
      throw bad_request("Missing required parameter: '" + part_param + ".type'",
                        part_param + ".type", "missing_required_parameter");
    }
  }
}

ordered_json parse_messages(const ordered_json& body) {
  const ordered_json* messages = fields::find(body, "messages");
  if (!messages) {
    throw bad_request("Missing required parameter: 'messages'", "messages",
                      "missing_required_parameter");
  }
  if (!messages->is_array()) fields::wrong_type("messages", "an array");
  if (messages->empty()) fields::invalid_value("messages", "must contain at least one message");
  for (std::size_t i = 0; i < messages->size(); ++i) {
    const ordered_json& m = (*messages)[i];
    const std::string param = indexed("messages", i);
    if (!m.is_object()) fields::wrong_type(param, "an object");
    auto role = fields::string(m, "role", param + ".role");
    if (!role) {
      throw bad_request("Missing required parameter: '" + param + ".role'", param + ".role",
                        "missing_required_parameter");
    }
    if (*role != "system" && *role != "developer" && *role != "user" && *role != "assistant" &&
        *role != "tool" && *role != "function") {
      fields::invalid_value(param + ".role", "'" + *role +
                                                 "' is not one of system, developer, user, "
                                                 "assistant, tool");
    }
    check_message_content(m, param, *role);
    if (*role == "tool" && !fields::string(m, "tool_call_id", param + ".tool_call_id")) {
      throw bad_request("Missing required parameter: '" + param + ".tool_call_id'",
                        param + ".tool_call_id", "missing_required_parameter");
    }
    if (const ordered_json* calls = fields::find(m, "tool_calls"); calls && !calls->is_array()) {
      fields::wrong_type(param + ".tool_calls", "an array");
    }
  }
  return *messages;
}

ordered_json parse_tools(const ordered_json& body) {
  const ordered_json* tools = fields::find(body, "tools");
  if (!tools) return nullptr;
  if (!tools->is_array()) fields::wrong_type("tools", "an array");
  for (std::size_t i = 0; i < tools->size(); ++i) {
    const ordered_json& tool = (*tools)[i];
    const std::string param = indexed("tools", i);
    if (!tool.is_object()) fields::wrong_type(param, "an object");
    auto type = fields::string(tool, "type", param + ".type");
    if (type != "function") fields::invalid_value(param + ".type", "only 'function' is supported");
    const ordered_json* fn = fields::find(tool, "function");
    if (!fn || !fn->is_object()) fields::wrong_type(param + ".function", "an object");
    auto name = fields::string(*fn, "name", param + ".function.name");
    if (!name || name->empty() || name->size() > 64) {
      fields::invalid_value(param + ".function.name", "must be a string of 1 to 64 characters");
    }
    if (const ordered_json* p = fields::find(*fn, "parameters"); p && !p->is_object()) {
      fields::wrong_type(param + ".function.parameters", "an object (JSON Schema)");
    }
  }
  return *tools;
}

ordered_json parse_tool_choice(const ordered_json& body, const ordered_json& tools) {
  const ordered_json* choice = fields::find(body, "tool_choice");
  if (!choice) return nullptr;
  if (choice->is_string()) {
    const auto s = choice->get<std::string>();
    if (s != "none" && s != "auto" && s != "required") {
      fields::invalid_value("tool_choice", "must be 'none', 'auto', 'required' or a function");
    }
    if (s != "none" && tools.is_null()) {
      fields::invalid_value("tool_choice", "is only allowed when 'tools' are specified");
    }
    return *choice;
  }
  if (!choice->is_object()) fields::wrong_type("tool_choice", "a string or an object");
  if (fields::string(*choice, "type", "tool_choice.type") != "function") {
    fields::invalid_value("tool_choice.type", "only 'function' is supported");
  }
  const ordered_json* fn = fields::find(*choice, "function");
  if (!fn || !fn->is_object()) fields::wrong_type("tool_choice.function", "an object");
  auto name = fields::string(*fn, "name", "tool_choice.function.name");
  if (!name) fields::invalid_value("tool_choice.function.name", "is required");
  if (tools.is_null()) fields::invalid_value("tool_choice", "is only allowed when 'tools' are specified");
  return *choice;
}

ordered_json parse_response_format(const ordered_json& body) {
  const ordered_json* format = fields::find(body, "response_format");
  if (!format) return nullptr;
  if (!format->is_object()) fields::wrong_type("response_format", "an object");
  auto type = fields::string(*format, "type", "response_format.type");
  if (!type) fields::invalid_value("response_format.type", "is required");
  if (*type == "json_schema") {
    const ordered_json* schema = fields::find(*format, "json_schema");
    if (!schema || !schema->is_object()) fields::wrong_type("response_format.json_schema", "an object");
    if (!fields::string(*schema, "name", "response_format.json_schema.name")) {
      fields::invalid_value("response_format.json_schema.name", "is required");
    }
    if (const ordered_json* s = fields::find(*schema, "schema"); s && !s->is_object()) {
      fields::wrong_type("response_format.json_schema.schema", "an object");
    }
  } else if (*type != "text" && *type != "json_object") {
    fields::invalid_value("response_format.type", "must be 'text', 'json_object' or 'json_schema'");
  }
  return *format;
}

std::vector<std::string> parse_stop(const ordered_json& body, const RequestLimits& limits) {
  const ordered_json* stop = fields::find(body, "stop");
  std::vector<std::string> out;
  if (!stop) return out;
  if (stop->is_string()) {
    if (!stop->get_ref<const std::string&>().empty()) out.push_back(stop->get<std::string>());
    return out;
  }
  if (!stop->is_array()) fields::wrong_type("stop", "a string or an array of strings");
  if (stop->size() > static_cast<std::size_t>(limits.max_stop)) {
    fields::invalid_value("stop", "at most " + std::to_string(limits.max_stop) + " sequences");
  }
  for (std::size_t i = 0; i < stop->size(); ++i) {
    if (!(*stop)[i].is_string()) fields::wrong_type(indexed("stop", i), "a string");
    if (!(*stop)[i].get_ref<const std::string&>().empty()) out.push_back((*stop)[i].get<std::string>());
  }
  return out;
}

std::vector<std::pair<std::int32_t, float>> parse_logit_bias(const ordered_json& body,
                                                             const RequestLimits& limits) {
  const ordered_json* bias = fields::find(body, "logit_bias");
  std::vector<std::pair<std::int32_t, float>> out;
  if (!bias) return out;
  if (!bias->is_object()) fields::wrong_type("logit_bias", "an object of token id -> bias");
  if (bias->size() > static_cast<std::size_t>(limits.max_logit_bias)) {
    fields::invalid_value("logit_bias", "at most " + std::to_string(limits.max_logit_bias) + " entries");
  }
  for (const auto& [key, value] : bias->items()) {
    const std::string param = "logit_bias." + key;
    std::size_t used = 0;
    long long id = -1;
    try {
      id = std::stoll(key, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != key.size() || key.empty() || id < 0 || id > kInt32Max) {
      fields::invalid_value("logit_bias", "key '" + key + "' is not a token id");
    }
    ordered_json holder = {{"v", value}};
    const double b = *fields::number(holder, "v", param, -100.0, 100.0);
    out.emplace_back(static_cast<std::int32_t>(id), static_cast<float>(b));
  }
  return out;
}

SamplingParams parse_sampling(const ordered_json& body, const RequestLimits& limits) {
  SamplingParams s;
  auto max_tokens = fields::integer(body, "max_tokens", "max_tokens", 1, kInt32Max);
  auto max_completion = fields::integer(body, "max_completion_tokens", "max_completion_tokens", 1,
                                        kInt32Max);
  s.max_tokens = max_completion ? max_completion : max_tokens;
  s.temperature = fields::number(body, "temperature", "temperature", 0.0, 2.0).value_or(1.0);
  s.top_p = fields::number(body, "top_p", "top_p", 0.0, 1.0, /*lo_open=*/true).value_or(1.0);
  s.presence_penalty =
      fields::number(body, "presence_penalty", "presence_penalty", -2.0, 2.0).value_or(0.0);
  s.frequency_penalty =
      fields::number(body, "frequency_penalty", "frequency_penalty", -2.0, 2.0).value_or(0.0);
  s.seed = fields::integer(body, "seed", "seed", kInt64Min, kInt64Max);
  s.stop = parse_stop(body, limits);
  s.logit_bias = parse_logit_bias(body, limits);
  return s;
}

// Fields shared by both generation endpoints.
void parse_common(const ordered_json& body, const RequestLimits& limits, GenerationRequest& r) {
  r.model = required_model(body);
  r.sampling = parse_sampling(body, limits);
  r.n = static_cast<int>(fields::integer(body, "n", "n", 1, limits.max_choices).value_or(1));
  r.user = fields::string(body, "user", "user").value_or("");
  r.stream = fields::boolean(body, "stream", "stream").value_or(false);
  if (const ordered_json* opts = fields::find(body, "stream_options")) {
    if (!r.stream) {
      fields::invalid_value("stream_options", "is only allowed when 'stream' is true");
    }
    if (!opts->is_object()) fields::wrong_type("stream_options", "an object");
    r.include_usage =
        fields::boolean(*opts, "include_usage", "stream_options.include_usage").value_or(false);
  }
  r.priority = static_cast<int>(fields::integer(body, "priority", "priority", -1000, 1000).value_or(0));
}

// One prompt: a string or an array of token ids. Returns false if `v` is neither.
bool read_prompt(const ordered_json& v, const std::string& param, Prompt& out) {
  if (v.is_string()) {
    out = v.get<std::string>();
    return true;
  }
  if (!v.is_array() || v.empty() || !v[0].is_number()) return false;
  std::vector<std::int32_t> ids;
  ids.reserve(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_number_integer()) fields::wrong_type(indexed(param, i), "a token id (integer)");
    // Unsigned values above int64 are clamped so the range check below rejects them.
    const auto id = v[i].is_number_unsigned()
                        ? static_cast<std::int64_t>(
                              std::min<std::uint64_t>(v[i].get<std::uint64_t>(), kInt32Max + 1ull))
                        : v[i].get<std::int64_t>();
    if (id < 0 || id > kInt32Max) fields::invalid_value(indexed(param, i), "is not a token id");
    ids.push_back(static_cast<std::int32_t>(id));
  }
  out = std::move(ids);
  return true;
}

// string | [string...] | [id...] | [[id...]...]: the input shapes OpenAI accepts for prompts
// and embedding inputs.
std::vector<Prompt> parse_prompts(const ordered_json& body, const char* name, const RequestLimits& limits) {
  const ordered_json* v = fields::find(body, name);
  if (!v) {
    throw bad_request(std::string("Missing required parameter: '") + name + "'", name,
                      "missing_required_parameter");
  }
  std::vector<Prompt> prompts;
  Prompt single;
  if (read_prompt(*v, name, single)) {
    prompts.push_back(std::move(single));
    return prompts;
  }
  if (!v->is_array()) fields::wrong_type(name, "a string or an array");
  if (v->empty()) fields::invalid_value(name, "must not be empty");
  if (v->size() > static_cast<std::size_t>(limits.max_prompts)) {
    fields::invalid_value(name, "at most " + std::to_string(limits.max_prompts) + " entries");
  }
  for (std::size_t i = 0; i < v->size(); ++i) {
    Prompt p;
    if (!read_prompt((*v)[i], indexed(name, i), p)) {
      fields::wrong_type(indexed(name, i), "a string or an array of token ids");
    }
    prompts.push_back(std::move(p));
  }
  return prompts;
}

}  // namespace

GenerationRequest parse_chat_request(const ordered_json& body, const RequestLimits& limits) {
  if (!body.is_object()) throw bad_request("Request body must be a JSON object");
  GenerationRequest r;
  r.endpoint = Endpoint::ChatCompletions;
  r.messages = parse_messages(body);
  parse_common(body, limits, r);
  r.logprobs = fields::boolean(body, "logprobs", "logprobs").value_or(false);
  r.top_logprobs = static_cast<int>(fields::integer(body, "top_logprobs", "top_logprobs", 0, 20).value_or(0));
  if (fields::find(body, "top_logprobs") && !r.logprobs) {
    fields::invalid_value("top_logprobs", "'logprobs' must be true when 'top_logprobs' is used");
  }
  r.response_format = parse_response_format(body);
  r.tools = parse_tools(body);
  r.tool_choice = parse_tool_choice(body, r.tools);
  r.parallel_tool_calls = fields::boolean(body, "parallel_tool_calls", "parallel_tool_calls").value_or(true);
  return r;
}

GenerationRequest parse_completion_request(const ordered_json& body, const RequestLimits& limits) {
  if (!body.is_object()) throw bad_request("Request body must be a JSON object");
  GenerationRequest r;
  r.endpoint = Endpoint::Completions;
  r.prompts = parse_prompts(body, "prompt", limits);
  parse_common(body, limits, r);
  if (static_cast<std::int64_t>(r.prompts.size()) * r.n > limits.max_choices) {
    fields::invalid_value("n", "prompts x n must be at most " + std::to_string(limits.max_choices));
  }
  r.echo = fields::boolean(body, "echo", "echo").value_or(false);
  if (auto lp = fields::integer(body, "logprobs", "logprobs", 0, 5)) {
    r.logprobs = true;
    r.top_logprobs = static_cast<int>(*lp);
  }
  if (auto best_of = fields::integer(body, "best_of", "best_of", 1, limits.max_choices);
      best_of && *best_of != r.n) {
    fields::invalid_value("best_of", "only best_of equal to n is supported");
  }
  if (fields::find(body, "suffix")) fields::invalid_value("suffix", "is not supported");
  r.response_format = parse_response_format(body);
  return r;
}

ParsedEmbeddingRequest parse_embedding_request(const ordered_json& body, const RequestLimits& limits) {
  if (!body.is_object()) throw bad_request("Request body must be a JSON object");
  ParsedEmbeddingRequest parsed;
  EmbeddingRequest& r = parsed.request;
  r.inputs = parse_prompts(body, "input", limits);
  for (std::size_t i = 0; i < r.inputs.size(); ++i) {
    if (const auto* s = std::get_if<std::string>(&r.inputs[i]); s && s->empty()) {
      fields::invalid_value(r.inputs.size() == 1 ? "input" : indexed("input", i), "must not be empty");
    }
  }
  r.model = required_model(body);
  r.user = fields::string(body, "user", "user").value_or("");
  if (auto dims = fields::integer(body, "dimensions", "dimensions", 1, 65536)) {
    r.dimensions = static_cast<int>(*dims);
  }
  const auto format = fields::string(body, "encoding_format", "encoding_format").value_or("float");
  if (format != "float" && format != "base64") {
    fields::invalid_value("encoding_format", "must be 'float' or 'base64'");
  }
  parsed.base64 = format == "base64";
  return parsed;
}

}  // namespace tandem::server
