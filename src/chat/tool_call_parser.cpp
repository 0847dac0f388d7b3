// Generated text -> content + OpenAI tool_calls, per format (see tool_call.h).
#include <algorithm>
#include <cctype>
#include <optional>
#include <random>

#include "chat/reasoning.h"
#include "chat/tool_call.h"

namespace tandem::chat {

namespace {

using json = nlohmann::ordered_json;

constexpr std::string_view kPythonTag = "<|python_tag|>";
constexpr std::string_view kDsCallsBegin = "<｜tool▁calls▁begin｜>";
constexpr std::string_view kDsCallsEnd = "<｜tool▁calls▁end｜>";
constexpr std::string_view kDsCallBegin = "<｜tool▁call▁begin｜>";
constexpr std::string_view kDsCallEnd = "<｜tool▁call▁end｜>";
constexpr std::string_view kDsSep = "<｜tool▁sep｜>";

std::string_view trim(std::string_view s) {
  size_t a = s.find_first_not_of(" \t\r\n");
  if (a == std::string_view::npos) return {};
  size_t b = s.find_last_not_of(" \t\r\n");
  return s.substr(a, b - a + 1);
}

// Index just past the JSON object/array starting at `start` (brackets matched outside strings),
// or npos when it is not closed.
size_t json_end(std::string_view s, size_t start) {
  if (start >= s.size() || (s[start] != '{' && s[start] != '[')) return std::string_view::npos;
  int depth = 0;
  bool in_string = false;
  for (size_t i = start; i < s.size(); ++i) {
    char c = s[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) return i + 1;
    }
  }
  return std::string_view::npos;
}

std::optional<json> parse_json(std::string_view s) {
  json v = json::parse(s.begin(), s.end(), nullptr, /*allow_exceptions=*/false);
  if (v.is_discarded()) return std::nullopt;
  return v;
}

// A call object {name_key: "f", args_key: {...}}; arguments given as a JSON string are kept.
std::optional<ToolCall> call_from_object(const json& obj, const char* name_key,
                                         std::initializer_list<const char*> args_keys) {
  if (!obj.is_object() || !obj.contains(name_key) || !obj[name_key].is_string()) {
    return std::nullopt;
  }
  ToolCall call;
  call.name = obj[name_key].get<std::string>();
  call.arguments = "{}";
  for (const char* key : args_keys) {
    if (!obj.contains(key)) continue;
    const json& args = obj[key];
    if (args.is_string()) {
      call.arguments = args.get<std::string>();
    } else if (args.is_object()) {
      call.arguments = args.dump();
    } else {
      return std::nullopt;
    }
  }
  if (obj.contains("id") && obj["id"].is_string()) call.id = obj["id"].get<std::string>();
  return call;
}

using Calls = std::vector<ToolCall>;
struct Split {
  std::string content;
  Calls calls;
};

// Hermes / Qwen: <tool_call>{json}</tool_call> blocks anywhere; the last may be unclosed.
std::optional<Split> parse_tagged_blocks(std::string_view text, std::string_view open,
                                         std::string_view close, bool name_in_tag) {
  Split out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t at = text.find(open, pos);
    if (at == std::string_view::npos) {
      out.content += text.substr(pos);
      break;
    }
    out.content += text.substr(pos, at - pos);
    size_t body = at + open.size();
    std::string name;
    if (name_in_tag) {  // <function=NAME>
      size_t gt = text.find('>', body);
      if (gt == std::string_view::npos) return std::nullopt;
      name = std::string(trim(text.substr(body, gt - body)));
      body = gt + 1;
    }
    size_t first = text.find_first_not_of(" \t\r\n", body);
    size_t end = first == std::string_view::npos ? first : json_end(text, first);
    if (end == std::string_view::npos) return std::nullopt;
    auto value = parse_json(text.substr(first, end - first));
    if (!value) return std::nullopt;
    std::optional<ToolCall> call;
    if (name_in_tag) {
      if (!value->is_object() || name.empty()) return std::nullopt;
      call = ToolCall{"", name, value->dump()};
    } else {
      call = call_from_object(*value, "name", {"arguments", "parameters"});
    }
    if (!call) return std::nullopt;
    out.calls.push_back(*call);
    size_t after = text.find_first_not_of(" \t\r\n", end);
    if (after == std::string_view::npos) break;  // closing tag cut off by end of generation
    if (text.substr(after, close.size()) != close) return std::nullopt;
    pos = after + close.size();
  }
  return out;
}

// Python-call syntax of Llama 3.1 built-in tools: name.call(key="value", n=3)
std::optional<ToolCall> parse_builtin_call(std::string_view s) {
  s = trim(s);
  size_t dot = s.find(".call(");
  if (dot == std::string_view::npos || s.back() != ')') return std::nullopt;
  ToolCall call;
  call.name = std::string(s.substr(0, dot));
  if (call.name.empty() || !std::all_of(call.name.begin(), call.name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
      })) {
    return std::nullopt;
  }
  std::string_view args = s.substr(dot + 6, s.size() - dot - 7);
  json obj = json::object();
  size_t i = 0;
  while (i < args.size()) {
    size_t eq = args.find('=', i);
    if (eq == std::string_view::npos) return std::nullopt;
    std::string key(trim(args.substr(i, eq - i)));
    size_t v = args.find_first_not_of(" ", eq + 1);
    if (key.empty() || v == std::string_view::npos) return std::nullopt;
    if (args[v] == '"' || args[v] == '\'') {
      char quote = args[v];
      std::string value;
      size_t k = v + 1;
      for (; k < args.size() && args[k] != quote; ++k) {
        if (args[k] == '\\' && k + 1 < args.size()) ++k;
        value += args[k];
      }
      if (k >= args.size()) return std::nullopt;
      obj[key] = value;
      i = k + 1;
    } else {
      size_t k = args.find(',', v);
      std::string raw(trim(args.substr(v, k == std::string_view::npos ? k : k - v)));
      if (raw == "True") raw = "true";
      if (raw == "False") raw = "false";
      if (raw == "None") raw = "null";
      auto parsed = parse_json(raw);
      obj[key] = parsed ? *parsed : json(raw);
      i = k == std::string_view::npos ? args.size() : k;
    }
    i = args.find_first_not_of(" ,", i);
    if (i == std::string_view::npos) break;
  }
  call.arguments = obj.dump();
  return call;
}

// One or more JSON call objects separated by ';' or whitespace; the whole text must be used.
std::optional<Calls> parse_json_calls(std::string_view s, const char* args_key) {
  Calls calls;
  size_t pos = s.find_first_not_of(" \t\r\n");
  while (pos != std::string_view::npos) {
    size_t end = json_end(s, pos);
    if (end == std::string_view::npos) return std::nullopt;
    auto value = parse_json(s.substr(pos, end - pos));
    if (!value) return std::nullopt;
    auto call = call_from_object(*value, "name", {args_key, "arguments"});
    if (!call) return std::nullopt;
    calls.push_back(*call);
    pos = s.find_first_not_of(" \t\r\n;", end);
  }
  if (calls.empty()) return std::nullopt;
  return calls;
}

std::optional<Split> parse_llama3(std::string_view text) {
  size_t tag = text.find(kPythonTag);
  if (tag != std::string_view::npos) {
    std::string_view rest = trim(text.substr(tag + kPythonTag.size()));
    Split out{std::string(text.substr(0, tag)), {}};
    if (auto calls = parse_json_calls(rest, "parameters")) {
      out.calls = *calls;
    } else if (auto call = parse_builtin_call(rest)) {
      out.calls.push_back(*call);
    } else {
      return std::nullopt;
    }
    return out;
  }
  std::string_view body = trim(text);
  if (body.empty() || body[0] != '{') return Split{std::string(text), {}};
  auto calls = parse_json_calls(body, "parameters");
  if (!calls) return Split{std::string(text), {}};  // ordinary JSON answer, not a call
  return Split{"", *calls};
}

std::optional<Split> parse_functionary(std::string_view text) {
  size_t tag = text.find(kPythonTag);
  std::string_view before = tag == std::string_view::npos ? text : text.substr(0, tag);
  auto out = parse_tagged_blocks(before, "<function=", "</function>", true);
  if (!out) return std::nullopt;
  if (tag != std::string_view::npos) {  // the python tool takes raw code
    std::string code(trim(text.substr(tag + kPythonTag.size())));
    out->calls.push_back({"", "python", json{{"code", code}}.dump()});
  }
  return out;
}

std::optional<Split> parse_array_after(std::string_view text, std::string_view marker,
                                       const char* name_key, const char* args_key,
                                       bool fenced) {
  size_t at = text.find(marker);
  if (at == std::string_view::npos) return Split{std::string(text), {}};
  Split out{std::string(text.substr(0, at)), {}};
  std::string_view rest = text.substr(at + marker.size());
  size_t start = rest.find_first_not_of(" \t\r\n");
  if (fenced && start != std::string_view::npos && rest.substr(start, 3) == "```") {
    start = rest.find_first_of("[{", start);
  }
  size_t end = start == std::string_view::npos ? start : json_end(rest, start);
  if (end == std::string_view::npos) return std::nullopt;
  auto value = parse_json(rest.substr(start, end - start));
  if (!value) return std::nullopt;
  json items = value->is_array() ? *value : json::array({*value});
  for (const json& item : items) {
    auto call = call_from_object(item, name_key, {args_key});
    if (!call) return std::nullopt;
    out.calls.push_back(*call);
  }
  std::string_view tail = trim(rest.substr(end));
  if (fenced && tail.substr(0, 3) == "```") tail = trim(tail.substr(3));
  out.content += tail;
  return out;
}

std::optional<Split> parse_deepseek(std::string_view text) {
  size_t begin = text.find(kDsCallsBegin);
  size_t first_call = text.find(kDsCallBegin);
  if (first_call == std::string_view::npos) return Split{std::string(text), {}};
  Split out{std::string(text.substr(0, std::min(begin, first_call))), {}};
  size_t pos = first_call;
  while ((pos = text.find(kDsCallBegin, pos)) != std::string_view::npos) {
    size_t sep = text.find(kDsSep, pos);
    if (sep == std::string_view::npos) return std::nullopt;
    size_t name_start = sep + kDsSep.size();
    size_t newline = text.find('\n', name_start);
    if (newline == std::string_view::npos) return std::nullopt;
    std::string name(trim(text.substr(name_start, newline - name_start)));
    size_t json_start = text.find_first_of("{[", newline);
    size_t end = json_start == std::string_view::npos ? json_start : json_end(text, json_start);
    if (end == std::string_view::npos || name.empty()) return std::nullopt;
    auto args = parse_json(text.substr(json_start, end - json_start));
    if (!args || !args->is_object()) return std::nullopt;
    out.calls.push_back({"", name, args->dump()});
    size_t call_end = text.find(kDsCallEnd, end);
    pos = call_end == std::string_view::npos ? end : call_end + kDsCallEnd.size();
  }
  size_t calls_end = text.find(kDsCallsEnd);
  if (calls_end != std::string_view::npos) out.content += trim(text.substr(calls_end + kDsCallsEnd.size()));
  return out;
}

std::string make_id(std::string_view text, size_t index, uint64_t seed) {
  std::mt19937_64 rng(std::hash<std::string_view>{}(text) ^ (seed * 0x9E3779B97F4A7C15ull) ^ index);
  static constexpr char kAlphabet[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string id = "call_";
  for (int i = 0; i < 24; ++i) id += kAlphabet[rng() % 62];
  return id;
}

}  // namespace

const char* tool_call_format_name(ToolCallFormat format) {
  switch (format) {
    case ToolCallFormat::kNone: return "none";
    case ToolCallFormat::kLlama3Json: return "llama3-json";
    case ToolCallFormat::kHermes: return "hermes";
    case ToolCallFormat::kFunctionaryV31: return "functionary-v3.1";
    case ToolCallFormat::kMistral: return "mistral";
    case ToolCallFormat::kCommandR: return "command-r";
    case ToolCallFormat::kDeepSeekR1: return "deepseek-r1";
  }
  return "none";
}

ToolCallFormat detect_tool_call_format(std::string_view t) {
  auto has = [&](std::string_view s) { return t.find(s) != std::string_view::npos; };
  if (has(kDsCallsBegin)) return ToolCallFormat::kDeepSeekR1;
  if (has("<function=")) return ToolCallFormat::kFunctionaryV31;
  if (has("<tool_call>")) return ToolCallFormat::kHermes;
  if (has("[TOOL_CALLS]")) return ToolCallFormat::kMistral;
  if (has("Action:") && has("tool_name")) return ToolCallFormat::kCommandR;
  if (has("<|start_header_id|>") && has("\"parameters\"") && has("tool_call")) {
    return ToolCallFormat::kLlama3Json;
  }
  return ToolCallFormat::kNone;
}

nlohmann::ordered_json ParsedMessage::to_json() const {
  json msg = {{"role", "assistant"}};
  msg["content"] = content.empty() && !tool_calls.empty() ? json(nullptr) : json(content);
  if (!reasoning_content.empty()) msg["reasoning_content"] = reasoning_content;
  if (!tool_calls.empty()) {
    json calls = json::array();
    for (const ToolCall& c : tool_calls) {
      calls.push_back({{"id", c.id},
                       {"type", "function"},
                       {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
    }
    msg["tool_calls"] = calls;
  }
  return msg;
}

ParsedMessage parse_model_output(std::string_view text, ToolCallFormat format,
                                 const ToolCallParseOptions& options) {
  ParsedMessage msg;
  std::string body(text);
  if (options.reasoning || options.started_in_think) {
    ReasoningSplit split = split_reasoning(text, options.started_in_think);
    msg.reasoning_content = split.reasoning;
    body = split.content;
  }
  std::optional<Split> split;
  try {
    switch (format) {
      case ToolCallFormat::kNone: split = Split{body, {}}; break;
      case ToolCallFormat::kLlama3Json: split = parse_llama3(body); break;
      case ToolCallFormat::kHermes: split = parse_tagged_blocks(body, "<tool_call>", "</tool_call>", false); break;
      case ToolCallFormat::kFunctionaryV31: split = parse_functionary(body); break;
      case ToolCallFormat::kMistral:
        split = parse_array_after(body, "[TOOL_CALLS]", "name", "arguments", false);
        break;
      case ToolCallFormat::kCommandR:
        split = parse_array_after(body, "Action:", "tool_name", "parameters", true);
        break;
      case ToolCallFormat::kDeepSeekR1: split = parse_deepseek(body); break;
    }
  } catch (const std::exception&) {
    split.reset();  // malformed model output is content, never an error
  }
  if (split && !options.tool_names.empty()) {
    for (const ToolCall& c : split->calls) {
      if (std::find(options.tool_names.begin(), options.tool_names.end(), c.name) ==
          options.tool_names.end()) {
        split.reset();
        break;
      }
    }
  }
  if (!split) {
    msg.content = std::string(trim(body));
    return msg;
  }
  msg.content = std::string(trim(split->content));
  msg.tool_calls = std::move(split->calls);
  for (size_t i = 0; i < msg.tool_calls.size(); ++i) {
    if (msg.tool_calls[i].id.empty()) msg.tool_calls[i].id = make_id(text, i, options.id_seed);
  }
  return msg;
}

}  // namespace tandem::chat
