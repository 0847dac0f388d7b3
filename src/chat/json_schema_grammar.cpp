#include "chat/json_schema_grammar.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "chat/grammar.h"
#include "util/error.h"

namespace tandem::chat {

namespace {

using json = nlohmann::ordered_json;
using json_schema_detail::integer_expr;
using json_schema_detail::number_expr;

constexpr int kMaxSchemaDepth = 100;  // nesting of sub-schemas visited at once

const char* const kRejectedKeywords[] = {
    "pattern",         "patternProperties", "propertyNames",        "not",
    "if",              "then",              "else",                 "multipleOf",
    "uniqueItems",     "minProperties",     "maxProperties",        "contains",
    "minContains",     "maxContains",       "prefixItems",          "dependentRequired",
    "dependentSchemas", "dependencies",     "unevaluatedProperties", "unevaluatedItems",
    "additionalItems", "$dynamicRef",
};

std::string join(const std::vector<std::string>& parts, const char* sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
  return out;
}

std::string literal_of(const json& value) { return grammar_literal(value.dump()); }

std::string sanitize(std::string_view hint) {
  std::string out;
  for (char c : hint) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    out += ok ? c : '-';
  }
  if (out.empty()) out = "value";
  return out;
}

// additionalProperties sees only the properties declared next to it. When one side of a merge
// closes its object (false, or a schema) and the other declares names it does not, the merged
// rule would generate objects the caller's schema rejects: refuse instead.
void check_closed_merge(const json& closed, const json& other, const std::string& where) {
  auto ap = closed.find("additionalProperties");
  if (ap == closed.end() || *ap == true) return;
  auto names = other.find("properties");
  if (names == other.end() || !names->is_object()) return;
  auto own = closed.find("properties");
  for (const auto& [name, sub] : names->items()) {
    if (own == closed.end() || !own->is_object() || !own->contains(name)) {
      throw InvalidArgument("JSON schema " + where + ": property '" + name +
                            "' is declared where another part's additionalProperties forbids it "
                            "(additionalProperties does not see properties of allOf/anyOf parts)");
    }
  }
}

// Shallow merge for allOf and for keywords next to anyOf/oneOf.
void merge_into(json& target, const json& source, const std::string& where) {
  if (!source.is_object()) throw InvalidArgument("JSON schema " + where + ": expected an object");
  check_closed_merge(target, source, where);
  check_closed_merge(source, target, where);
  for (const auto& [key, value] : source.items()) {
    if (!target.contains(key)) {
      target[key] = value;
    } else if (key == "properties") {
      for (const auto& [name, sub] : value.items()) {
        if (target[key].contains(name) && target[key][name] != sub) {
          throw InvalidArgument("JSON schema " + where + ": conflicting definitions of property '" +
                                name + "' are not supported");
        }
        target[key][name] = sub;
      }
    } else if (key == "required") {
      for (const auto& name : value) {
        if (std::find(target[key].begin(), target[key].end(), name) == target[key].end()) {
          target[key].push_back(name);
        }
      }
    } else if (target[key] != value) {
      throw InvalidArgument("JSON schema " + where + ": conflicting '" + key +
                            "' values are not supported");
    }
  }
}

// Bounds as integers, rounded inward. Draft-4 boolean exclusiveMinimum/Maximum are understood.
void bounds(const json& s, std::optional<int64_t>& lo, std::optional<int64_t>& hi) {
  constexpr double kLimit = 9.0e18;
  auto number = [&](const char* key) -> std::optional<double> {
    if (!s.contains(key) || !s[key].is_number()) return std::nullopt;
    return s[key].get<double>();
  };
  bool ex_min_flag = s.contains("exclusiveMinimum") && s["exclusiveMinimum"] == true;
  bool ex_max_flag = s.contains("exclusiveMaximum") && s["exclusiveMaximum"] == true;
  std::optional<double> min_v;
  if (auto m = number("minimum")) min_v = ex_min_flag ? std::floor(*m) + 1 : std::ceil(*m);
  if (auto m = number("exclusiveMinimum")) {
    double v = std::floor(*m) + 1;
    min_v = min_v ? std::max(*min_v, v) : v;
  }
  std::optional<double> max_v;
  if (auto m = number("maximum")) max_v = ex_max_flag ? std::ceil(*m) - 1 : std::floor(*m);
  if (auto m = number("exclusiveMaximum")) {
    double v = std::ceil(*m) - 1;
    max_v = max_v ? std::min(*max_v, v) : v;
  }
  if (min_v && *min_v > kLimit) throw InvalidArgument("JSON schema minimum is too large");
  if (max_v && *max_v < -kLimit) throw InvalidArgument("JSON schema maximum is too small");
  if (min_v && *min_v >= -kLimit) lo = static_cast<int64_t>(*min_v);
  if (max_v && *max_v <= kLimit) hi = static_cast<int64_t>(*max_v);
}

}  // namespace

JsonSchemaConverter::JsonSchemaConverter(JsonSchemaOptions options) : options_(options) {}

std::string JsonSchemaConverter::reserve_name(std::string_view hint) {
  std::string base = sanitize(hint);
  std::string name = base;
  for (int n = 2; names_.count(name); ++n) name = base + "-" + std::to_string(n);
  names_.insert(name);
  return name;
}

std::string JsonSchemaConverter::add_rule(std::string_view name_hint, const std::string& body) {
  std::string name = reserve_name(name_hint);
  rules_.push_back({name, body});
  return name;
}

std::string JsonSchemaConverter::grammar_text() const {
  std::string out;
  for (const auto& [name, body] : rules_) out += name + " ::= " + body + "\n";
  return out;
}

std::string JsonSchemaConverter::ws() { return primitive("ws"); }
std::string JsonSchemaConverter::any_value() { return primitive("json-value"); }
std::string JsonSchemaConverter::any_object() { return primitive("json-object"); }

// Shared rules, added once on first use.
std::string JsonSchemaConverter::primitive(const std::string& name) {
  auto it = primitives_.find(name);
  if (it != primitives_.end()) return it->second;
  std::string rule = reserve_name(name);
  primitives_[name] = rule;  // before building the body: json-value is recursive
  std::string body;
  if (name == "ws") {
    body = "[ \\t\\n]{0," + std::to_string(options_.max_whitespace) + "}";
  } else if (name == "json-char") {
    // No \u escapes of surrogates: they are not characters, and lengths would miscount.
    body = "[^\"\\\\\\x00-\\x1F] | \"\\\\\" ( [\"\\\\/bfnrt] | \"u\" ( [0-9a-cA-Ce-fE-F] "
           "[0-9a-fA-F]{3} | [dD] [0-7] [0-9a-fA-F]{2} ) )";
  } else if (name == "json-string") {
    body = "\"\\\"\" " + primitive("json-char") + "* \"\\\"\"";
  } else if (name == "json-number") {
    body = number_expr(std::nullopt, std::nullopt, options_.digits);
  } else if (name == "json-integer") {
    body = integer_expr(std::nullopt, std::nullopt, options_.digits);
  } else if (name == "json-boolean") {
    body = "\"true\" | \"false\"";
  } else if (name == "json-null") {
    body = "\"null\"";
  } else if (name == "json-object") {
    std::string w = ws(), s = primitive("json-string"), v = any_value();
    std::string member = s + " " + w + " \":\" " + w + " " + v;
    body = "\"{\" " + w + " ( " + member + " ( " + w + " \",\" " + w + " " + member + " )* " + w +
           " )? \"}\"";
  } else if (name == "json-array") {
    std::string w = ws(), v = any_value();
    body = "\"[\" " + w + " ( " + v + " ( " + w + " \",\" " + w + " " + v + " )* " + w +
           " )? \"]\"";
  } else if (name == "json-value") {
    body = any_object() + " | " + primitive("json-array") + " | " + primitive("json-string") +
           " | " + primitive("json-number") + " | " + primitive("json-boolean") + " | " +
           primitive("json-null");
  }
  rules_.push_back({rule, body});
  return rule;
}

std::string JsonSchemaConverter::add_schema(const json& schema, std::string_view name_hint) {
  document_ = &schema;
  ref_rules_.clear();
  std::string rule = rule_for(schema, std::string(name_hint));
  document_ = nullptr;
  return rule;
}

std::string JsonSchemaConverter::rule_for(const json& schema, const std::string& hint) {
  std::string name = reserve_name(hint);
  std::string body = expr(schema, name);
  rules_.push_back({name, body});
  return name;
}

std::string JsonSchemaConverter::ref_rule(const std::string& ref) {
  auto it = ref_rules_.find(ref);
  if (it != ref_rules_.end()) return it->second;
  if (ref.empty() || ref[0] != '#') {
    throw InvalidArgument("JSON schema $ref '" + ref + "' is not supported (only local refs)");
  }
  const json* target = nullptr;
  try {
    target = ref == "#" ? document_ : &document_->at(json::json_pointer(ref.substr(1)));
  } catch (const std::exception&) {
    throw InvalidArgument("JSON schema $ref '" + ref + "' does not resolve");
  }
  std::string hint = ref.substr(ref.find_last_of("/#") + 1);
  std::string name = reserve_name(hint.empty() ? "root" : hint);
  ref_rules_[ref] = name;  // before visiting: the target may refer back to itself
  std::string body = expr(*target, name);
  rules_.push_back({name, body});
  return name;
}

std::string JsonSchemaConverter::expr(const json& s, const std::string& hint) {
  if (s.is_boolean()) {
    if (s.get<bool>()) return any_value();
    throw InvalidArgument("JSON schema at '" + hint + "' is `false`: no value can match");
  }
  if (!s.is_object()) throw InvalidArgument("JSON schema at '" + hint + "' must be an object");
  if (++depth_ > kMaxSchemaDepth) {
    depth_ = 0;
    throw InvalidArgument("JSON schema is nested too deeply");
  }
  struct DepthGuard {
    int& d;
    ~DepthGuard() { if (d > 0) --d; }
  } guard{depth_};
  for (const char* key : kRejectedKeywords) {
    if (s.contains(key)) {
      throw InvalidArgument(std::string("JSON schema keyword '") + key + "' (at '" + hint +
                            "') is not supported for constrained output");
    }
  }
  if (s.contains("items") && s["items"].is_array()) {
    throw InvalidArgument("JSON schema tuple form of 'items' (at '" + hint + "') is not supported");
  }
  if (s.contains("$ref")) {
    if (!s["$ref"].is_string()) throw InvalidArgument("JSON schema $ref must be a string");
    return ref_rule(s["$ref"].get<std::string>());
  }
  if (s.contains("allOf")) {
    json merged = s;
    merged.erase("allOf");
    if (!s["allOf"].is_array()) throw InvalidArgument("JSON schema allOf must be an array");
    for (const json& part : s["allOf"]) {
      json resolved = part;
      while (resolved.is_object() && resolved.contains("$ref")) {  // merge what refs point to
        std::string ref = resolved["$ref"].get<std::string>();
        if (ref.empty() || ref[0] != '#') throw InvalidArgument("JSON schema $ref '" + ref + "'");
        try {
          resolved = ref == "#" ? *document_ : document_->at(json::json_pointer(ref.substr(1)));
        } catch (const std::exception&) {
          throw InvalidArgument("JSON schema $ref '" + ref + "' does not resolve");
        }
      }
      merge_into(merged, resolved, "allOf at '" + hint + "'");
    }
    return expr(merged, hint);
  }
  for (const char* key : {"anyOf", "oneOf"}) {
    if (!s.contains(key)) continue;
    if (!s[key].is_array() || s[key].empty()) {
      throw InvalidArgument(std::string("JSON schema ") + key + " must be a non-empty array");
    }
    json base = s;
    base.erase(key);
    for (const char* annotation : {"title", "description", "default", "examples", "$defs",
                                   "definitions", "$schema", "$id", "$comment"}) {
      base.erase(annotation);
    }
    std::vector<std::string> alternatives;
    size_t i = 0;
    for (const json& sub : s[key]) {
      std::string sub_hint = hint + "-" + std::to_string(i++);
      if (base.empty()) {
        alternatives.push_back(rule_for(sub, sub_hint));
      } else {
        json merged = base;
        merge_into(merged, sub, std::string(key) + " at '" + hint + "'");
        alternatives.push_back(rule_for(merged, sub_hint));
      }
    }
    return join(alternatives, " | ");
  }
  if (s.contains("const")) return literal_of(s["const"]);
  if (s.contains("enum")) {
    if (!s["enum"].is_array() || s["enum"].empty()) {
      throw InvalidArgument("JSON schema enum at '" + hint + "' must be a non-empty array");
    }
    std::vector<std::string> alternatives;
    for (const json& v : s["enum"]) alternatives.push_back(literal_of(v));
    return join(alternatives, " | ");
  }
  std::vector<std::string> types;
  if (s.contains("type")) {
    const json& t = s["type"];
    if (t.is_string()) {
      types.push_back(t.get<std::string>());
    } else if (t.is_array() && !t.empty()) {
      for (const json& one : t) {
        if (!one.is_string()) throw InvalidArgument("JSON schema type entries must be strings");
        types.push_back(one.get<std::string>());
      }
    } else {
      throw InvalidArgument("JSON schema 'type' at '" + hint + "' must be a string or array");
    }
  } else if (s.contains("properties") || s.contains("additionalProperties") ||
             s.contains("required")) {
    types.push_back("object");
  } else if (s.contains("items") || s.contains("minItems") || s.contains("maxItems")) {
    types.push_back("array");
  } else if (s.contains("minLength") || s.contains("maxLength")) {
    types.push_back("string");
  } else {
    return any_value();
  }
  std::vector<std::string> alternatives;
  for (const std::string& t : types) {
    std::string e = type_expr(t, s, types.size() > 1 ? hint + "-" + t : hint);
    alternatives.push_back(types.size() > 1 ? "( " + e + " )" : e);
  }
  return join(alternatives, " | ");
}

std::string JsonSchemaConverter::type_expr(const std::string& type, const json& s,
                                           const std::string& hint) {
  if (type == "string") return string_expr(s);
  if (type == "boolean") return primitive("json-boolean");
  if (type == "null") return primitive("json-null");
  if (type == "object") return object_expr(s, hint);
  if (type == "array") return array_expr(s, hint);
  if (type == "integer" || type == "number") {
    std::optional<int64_t> lo, hi;
    bounds(s, lo, hi);
    if (!lo && !hi) return primitive(type == "integer" ? "json-integer" : "json-number");
    return type == "integer" ? integer_expr(lo, hi, options_.digits)
                             : number_expr(lo, hi, options_.digits);
  }
  throw InvalidArgument("JSON schema type '" + type + "' (at '" + hint + "') is not known");
}

uint32_t JsonSchemaConverter::count_keyword(const json& s, const char* key) {
  const json& v = s[key];
  if (!v.is_number_integer() || v.get<int64_t>() < 0) {
    throw InvalidArgument(std::string("JSON schema '") + key + "' must be a non-negative integer");
  }
  if (v.get<int64_t>() > static_cast<int64_t>(options_.max_repetition)) {
    throw InvalidArgument(std::string("JSON schema '") + key + "' above " +
                          std::to_string(options_.max_repetition) + " is not supported");
  }
  return static_cast<uint32_t>(v.get<int64_t>());
}

std::string JsonSchemaConverter::string_expr(const json& s) {
  if (!s.contains("minLength") && !s.contains("maxLength")) return primitive("json-string");
  uint32_t min = s.contains("minLength") ? count_keyword(s, "minLength") : 0;
  std::string range = "{" + std::to_string(min) + ",";
  if (s.contains("maxLength")) {
    uint32_t max = count_keyword(s, "maxLength");
    if (max < min) throw InvalidArgument("JSON schema maxLength is below minLength");
    range += std::to_string(max);
  }
  return "\"\\\"\" " + primitive("json-char") + range + "} \"\\\"\"";
}

std::string JsonSchemaConverter::array_expr(const json& s, const std::string& hint) {
  std::string item = s.contains("items") ? rule_for(s["items"], hint + "-item") : any_value();
  uint32_t min = s.contains("minItems") ? count_keyword(s, "minItems") : 0;
  std::optional<uint32_t> max;
  if (s.contains("maxItems")) max = count_keyword(s, "maxItems");
  if (max && *max < min) throw InvalidArgument("JSON schema maxItems is below minItems");
  std::string w = ws();
  if (max && *max == 0) return "\"[\" " + w + " \"]\"";
  std::string more = "( " + w + " \",\" " + w + " " + item + " ){" +
                     std::to_string(min > 0 ? min - 1 : 0) + "," +
                     (max ? std::to_string(*max - 1) : std::string()) + "}";
  std::string items = item + " " + more + " " + w;
  if (min == 0) items = "( " + items + " )?";
  return "\"[\" " + w + " " + items + " \"]\"";
}

}  // namespace tandem::chat
