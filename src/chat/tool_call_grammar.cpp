// Grammars that force a tool call in a model's own format (tool_choice "required" or a named
// function), with arguments constrained by each tool's JSON-schema parameters.
#include "chat/grammar.h"
#include "chat/tool_call.h"
#include "util/error.h"

namespace tandem::chat {

namespace {

using json = nlohmann::ordered_json;

std::string lit(std::string_view text) { return grammar_literal(text); }

// {"<name_key>": "<name>", "<args_key>": <args>} with bounded whitespace between tokens.
std::string call_object(const std::string& w, const char* name_key, const std::string& name,
                        const char* args_key, const std::string& args) {
  return "\"{\" " + w + " " + lit(json(name_key).dump()) + " " + w + " \":\" " + w + " " +
         lit(json(name).dump()) + " " + w + " \",\" " + w + " " + lit(json(args_key).dump()) +
         " " + w + " \":\" " + w + " " + args + " " + w + " \"}\"";
}

}  // namespace

std::string tool_call_grammar(ToolCallFormat format, const json& tools,
                              const ToolCallGrammarOptions& options) {
  if (format == ToolCallFormat::kNone) {
    throw InvalidArgument("this chat template has no known tool-call format");
  }
  if (!tools.is_array() || tools.empty()) {
    throw InvalidArgument("tool_choice requires a non-empty 'tools' array");
  }
  JsonSchemaConverter conv(options.json);
  std::string root = conv.reserve_name("root");
  std::string w = conv.ws();
  std::vector<std::string> calls;
  for (const json& tool : tools) {
    const json& fn = tool.contains("function") ? tool["function"] : tool;
    if (!fn.is_object() || !fn.contains("name") || !fn["name"].is_string()) {
      throw InvalidArgument("each tool needs function.name");
    }
    std::string name = fn["name"].get<std::string>();
    if (options.function_name && *options.function_name != name) continue;
    json params = fn.contains("parameters") ? fn["parameters"] : json{{"type", "object"}};
    std::string args = conv.add_schema(params, name + "-args");
    std::string call;
    switch (format) {
      case ToolCallFormat::kHermes:
        call = lit("<tool_call>") + " " + w + " " + call_object(w, "name", name, "arguments", args) +
               " " + w + " " + lit("</tool_call>");
        break;
      case ToolCallFormat::kLlama3Json:
        call = call_object(w, "name", name, "parameters", args);
        break;
      case ToolCallFormat::kFunctionaryV31:
        call = lit("<function=" + name + ">") + " " + args + " " + lit("</function>");
        break;
      case ToolCallFormat::kMistral:
        call = call_object(w, "name", name, "arguments", args);
        break;
      case ToolCallFormat::kCommandR:
        call = call_object(w, "tool_name", name, "parameters", args);
        break;
      case ToolCallFormat::kDeepSeekR1:
        call = lit("<｜tool▁call▁begin｜>function<｜tool▁sep｜>" + name + "\n```json\n") + " " +
               args + " " + lit("\n```<｜tool▁call▁end｜>");
        break;
      case ToolCallFormat::kNone: break;
    }
    calls.push_back(conv.add_rule(name + "-call", call));
  }
  if (calls.empty()) {
    throw InvalidArgument("tool_choice names function '" + options.function_name.value_or("") +
                          "', which is not among the tools");
  }
  std::string one = calls[0];
  for (size_t i = 1; i < calls.size(); ++i) one += " | " + calls[i];
  one = conv.add_rule("tool-call", one);
  bool many = options.parallel;
  std::string body;
  switch (format) {
    case ToolCallFormat::kHermes:
      body = one + (many ? " ( " + w + " " + one + " )*" : "");
      break;
    case ToolCallFormat::kLlama3Json:  // the Llama 3 templates accept one call per message
      body = "( " + lit("<|python_tag|>") + " )? " + one;
      break;
    case ToolCallFormat::kFunctionaryV31:
      body = one + (many ? " " + one + "*" : "");
      break;
    case ToolCallFormat::kMistral:
      body = lit("[TOOL_CALLS]") + " \"[\" " + w + " " + one +
             (many ? " ( " + w + " \",\" " + w + " " + one + " )*" : "") + " " + w + " \"]\"";
      break;
    case ToolCallFormat::kCommandR:
      body = lit("Action:") + " " + w + " " + lit("```json") + " " + w + " \"[\" " + w + " " + one +
             (many ? " ( " + w + " \",\" " + w + " " + one + " )*" : "") + " " + w + " \"]\" " +
             w + " " + lit("```");
      break;
    case ToolCallFormat::kDeepSeekR1:
      body = lit("<｜tool▁calls▁begin｜>") + " " + one + (many ? " ( \"\\n\"? " + one + " )*" : "") +
             " " + lit("<｜tool▁calls▁end｜>");
      break;
    case ToolCallFormat::kNone: break;
  }
  conv.define_rule(root, body);
  return conv.grammar_text();
}

}  // namespace tandem::chat
