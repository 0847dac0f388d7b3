// JSON Schema objects -> grammar, and the top-level entry points.
#include <cstdio>
#include <functional>
#include <map>
#include <optional>

#include "chat/grammar.h"
#include "chat/json_schema_grammar.h"
#include "util/error.h"

namespace tandem::chat {

namespace {

using json = nlohmann::ordered_json;

const char* const kKeyChar = "[^\"\\\\\\x00-\\x1F]";  // a string character needing no escape

std::vector<uint32_t> decode(const std::string& s) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < s.size();) {
    unsigned char b = static_cast<unsigned char>(s[i]);
    int extra = b < 0x80 ? 0 : b >= 0xF0 ? 3 : b >= 0xE0 ? 2 : 1;
    uint32_t cp = extra == 0 ? b : (b & (0x3F >> extra));
    for (int k = 1; k <= extra && i + k < s.size(); ++k) {
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    }
    out.push_back(cp);
    i += 1 + extra;
  }
  return out;
}

std::string class_member(uint32_t cp) {
  std::string out;
  if (cp == ']' || cp == '\\' || cp == '-' || cp == '^' || cp == '[') {
    out = "\\";
    out += static_cast<char>(cp);
    return out;
  }
  char buf[16];
  std::snprintf(buf, sizeof buf, "\\U%08X", cp);
  return cp < 0x80 ? std::string(1, static_cast<char>(cp)) : std::string(buf);
}

struct KeyTrie {
  struct Node {
    std::map<uint32_t, size_t> children;
    bool terminal = false;
  };
  std::vector<Node> nodes{1};
  void add(const std::vector<uint32_t>& word) {
    size_t at = 0;
    for (uint32_t cp : word) {
      auto it = nodes[at].children.find(cp);
      if (it == nodes[at].children.end()) {
        nodes.emplace_back();
        it = nodes[at].children.emplace(cp, nodes.size() - 1).first;
      }
      at = it->second;
    }
    nodes[at].terminal = true;
  }
};

}  // namespace

// A JSON string key (escape-free) that differs from every declared property name: a trie of the
// names where each node may end the key (unless it spells a name), follow a name's next
// character, or leave the trie with any other character and then continue freely.
std::string JsonSchemaConverter::extra_key_rule(const std::vector<std::string>& declared,
                                                const std::string& hint) {
  KeyTrie trie;
  for (const std::string& name : declared) {
    std::vector<uint32_t> cps = decode(name);
    bool plain = true;
    for (uint32_t cp : cps) plain = plain && cp >= 0x20 && cp != '"' && cp != '\\';
    if (plain) trie.add(cps);  // names needing escapes can never equal an escape-free key
  }
  std::string quote = "\"\\\"\"";
  std::string free = add_rule(hint + "-keyfree", std::string(kKeyChar) + "* " + quote);
  std::function<std::string(size_t)> node_rule = [&](size_t at) -> std::string {
    std::vector<std::string> alternatives;
    if (!trie.nodes[at].terminal) alternatives.push_back(quote);
    std::string others = "[^\"\\\\\\x00-\\x1F";
    for (const auto& [cp, child] : trie.nodes[at].children) {
      alternatives.push_back("[" + class_member(cp) + "] " + node_rule(child));
      others += class_member(cp);
    }
    alternatives.push_back(others + "] " + free);
    std::string body;
    for (size_t i = 0; i < alternatives.size(); ++i) body += (i ? " | " : "") + alternatives[i];
    return add_rule(hint + "-key", body);
  };
  return add_rule(hint + "-extra-key", quote + " " + node_rule(0));
}

std::string JsonSchemaConverter::object_expr(const json& s, const std::string& hint) {
  static const json kAnySchema = json::object();
  std::vector<std::pair<std::string, const json*>> props;
  std::set<std::string> required;
  if (s.contains("required")) {
    if (!s["required"].is_array()) throw InvalidArgument("JSON schema 'required' must be an array");
    for (const json& r : s["required"]) {
      if (!r.is_string()) throw InvalidArgument("JSON schema 'required' entries must be strings");
      required.insert(r.get<std::string>());
    }
  }
  if (s.contains("properties")) {
    if (!s["properties"].is_object()) {
      throw InvalidArgument("JSON schema 'properties' at '" + hint + "' must be an object");
    }
    for (const auto& [key, sub] : s["properties"].items()) props.push_back({key, &sub});
  }
  for (const std::string& r : required) {
    bool declared = false;
    for (const auto& p : props) declared = declared || p.first == r;
    if (!declared) props.push_back({r, &kAnySchema});
  }
  std::optional<std::string> extra_value;
  if (s.contains("additionalProperties")) {
    const json& ap = s["additionalProperties"];
    if (ap.is_boolean()) {
      if (ap.get<bool>()) extra_value = any_value();
    } else {
      extra_value = rule_for(ap, hint + "-additional");
    }
  } else if (!s.contains("properties")) {
    extra_value = any_value();
  }
  std::string w = ws();
  if (props.empty()) {
    if (!extra_value) return "\"{\" " + w + " \"}\"";
    if (*extra_value == any_value()) return any_object();
  }

  std::optional<std::string> extra_kv;
  if (extra_value) {
    std::vector<std::string> names;
    for (const auto& p : props) names.push_back(p.first);
    extra_kv = add_rule(hint + "-extra-kv", extra_key_rule(names, hint) + " " + w + " \":\" " + w +
                                                " " + *extra_value);
  }
  size_t n = props.size();
  std::vector<std::string> kv(n);
  for (size_t k = 0; k < n; ++k) {
    std::string value = rule_for(*props[k].second, hint + "-" + props[k].first);
    kv[k] = add_rule(hint + "-" + props[k].first + "-kv",
                     grammar_literal(json(props[k].first).dump()) + " " + w + " \":\" " + w + " " +
                         value);
  }
  // tail[k]: what may follow once something has been written, from property k on.
  std::vector<std::string> tail(n + 1);
  if (extra_kv) {
    tail[n] = add_rule(hint + "-rest", "( " + w + " \",\" " + w + " " + *extra_kv + " )*");
  }
  for (size_t k = n; k-- > 0;) {
    std::string segment = w + " \",\" " + w + " " + kv[k];
    std::string body = required.count(props[k].first) ? segment : "( " + segment + " )?";
    if (!tail[k + 1].empty()) body += " " + tail[k + 1];
    tail[k] = add_rule(hint + "-tail", body);
  }
  // head: a non-empty member list starting at property k (skipping optional ones).
  std::optional<std::string> head;
  if (extra_kv) head = add_rule(hint + "-from", *extra_kv + " " + tail[n]);
  for (size_t k = n; k-- > 0;) {
    std::string first = kv[k] + " " + tail[k + 1];
    if (!required.count(props[k].first) && head) first += " | " + *head;
    head = add_rule(hint + "-from", first);
  }
  bool any_required = false;
  for (const auto& p : props) any_required = any_required || required.count(p.first) > 0;
  if (any_required) return "\"{\" " + w + " " + *head + " " + w + " \"}\"";
  return "\"{\" " + w + " ( " + *head + " " + w + " )? \"}\"";
}

std::string json_schema_to_grammar(const nlohmann::ordered_json& schema,
                                   const JsonSchemaOptions& options) {
  JsonSchemaConverter converter(options);
  converter.add_schema(schema, "root");  // the first rule reserved is named exactly "root"
  return converter.grammar_text();
}

std::string response_format_to_grammar(const nlohmann::ordered_json& response_format,
                                        const JsonSchemaOptions& options) {
  if (!response_format.is_object() || !response_format.contains("type") ||
      !response_format["type"].is_string()) {
    throw InvalidArgument("response_format must be an object with a string 'type'");
  }
  std::string type = response_format["type"].get<std::string>();
  if (type == "text") return "";
  if (type == "json_object") {
    if (response_format.contains("schema")) {  // extension some clients send
      return json_schema_to_grammar(response_format["schema"], options);
    }
    JsonSchemaConverter converter(options);
    converter.add_rule("root", converter.any_object());
    return converter.grammar_text();
  }
  if (type == "json_schema") {
    const json& spec = response_format.contains("json_schema") ? response_format["json_schema"]
                                                                : json();
    if (!spec.is_object() || !spec.contains("schema")) {
      throw InvalidArgument("response_format json_schema needs json_schema.schema");
    }
    return json_schema_to_grammar(spec["schema"], options);
  }
  throw InvalidArgument("response_format type '" + type + "' is not supported");
}

}  // namespace tandem::chat
