// Jinja2's string and scalar filters, with Hugging Face's tojson override.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <unordered_map>

#include "chat/builtins.h"
#include "chat/evaluator.h"
#include "chat/json_dump.h"
#include "chat/text.h"

namespace tandem::chat {
namespace {

// Jinja2's soft_str: str(value), keeping the safe (Markup) flag.
Value soft_str(const Value& v) { return v.is_string() ? v : Value(to_str(v)); }

Value f_trim(Evaluator&, const Value& v, const CallArgs& a) {
  ArgReader r(a, "trim", {"chars"});
  Value s = soft_str(v);
  Value chars = r.get(0);
  std::optional<std::string> set;
  if (chars.is_string()) set = chars.str();
  return make_str(text::strip(s.str(), set, true, true), s.is_safe());
}

Value f_upper(Evaluator&, const Value& v, const CallArgs&) {
  Value s = soft_str(v);
  return make_str(text::upper(s.str()), s.is_safe());
}

Value f_lower(Evaluator&, const Value& v, const CallArgs&) {
  Value s = soft_str(v);
  return make_str(text::lower(s.str()), s.is_safe());
}

Value f_capitalize(Evaluator&, const Value& v, const CallArgs&) {
  Value s = soft_str(v);
  auto cps = text::decode(s.str());
  std::string out;
  for (size_t i = 0; i < cps.size(); ++i) text::append_utf8(out, i == 0 ? text::py_upper(cps[i]) : text::py_lower(cps[i]));
  return make_str(out, s.is_safe());
}

// Jinja2's title: split on runs of [-\s({\[<]; each piece gets its first character upper-cased
// and the rest lower-cased.
Value f_title(Evaluator&, const Value& v, const CallArgs&) {
  Value s = soft_str(v);
  auto cps = text::decode(s.str());
  auto is_sep = [](char32_t c) { return c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || text::py_isspace(c); };
  std::string out;
  size_t i = 0;
  while (i < cps.size()) {
    size_t j = i;
    bool sep = is_sep(cps[i]);
    while (j < cps.size() && is_sep(cps[j]) == sep) ++j;
    for (size_t k = i; k < j; ++k) text::append_utf8(out, k == i ? text::py_upper(cps[k]) : text::py_lower(cps[k]));
    i = j;
  }
  return make_str(out, s.is_safe());
}

Value f_replace(Evaluator&, const Value& v, const CallArgs& a) {
  ArgReader r(a, "replace", {"old", "new", "count"});
  Value count = r.get(2);
  int64_t n = count.is_int() ? count.as_int() : -1;
  return Value(text::replace(to_str(v), to_str(r.get(0)), to_str(r.get(1)), n));
}

Value f_string(Evaluator&, const Value& v, const CallArgs&) { return soft_str(v); }

Value f_safe(Evaluator&, const Value& v, const CallArgs&) { return Value::safe_string(to_str(v)); }

Value f_escape(Evaluator&, const Value& v, const CallArgs&) {
  if (v.is_string() && v.is_safe()) return v;
  return Value::safe_string(text::html_escape(to_str(v)));
}

Value f_forceescape(Evaluator&, const Value& v, const CallArgs&) {
  return Value::safe_string(text::html_escape(to_str(v)));
}

Value f_length(Evaluator&, const Value& v, const CallArgs&) {
  switch (v.kind()) {
    case Kind::Undefined: return Value(0);
    case Kind::String: return Value(static_cast<int64_t>(text::length(v.str())));
    case Kind::List:
      if (v.seq_kind() == SeqKind::Iterator) fail("object of type 'generator' has no len()");
      return Value(static_cast<int64_t>(v.items().size()));
    case Kind::Dict: return Value(static_cast<int64_t>(v.dict().size()));
    default: fail("object of type '" + type_name(v) + "' has no len()");
  }
}

Value f_default(Evaluator&, const Value& v, const CallArgs& a) {
  ArgReader r(a, "default", {"default_value", "boolean"});
  bool boolean = truthy(r.get(1, Value(false)));
  if (v.is_undefined() || (boolean && !truthy(v))) return r.get(0, Value(""));
  return v;
}

// Python int(str): optional sign and surrounding whitespace, digits with single underscores.
std::optional<int64_t> parse_py_int(const std::string& s, int base) {
  std::string t = text::strip(s, std::nullopt, true, true);
  std::string clean;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '_' && i > 0 && i + 1 < t.size() && t[i - 1] != '_' && t[i - 1] != '-' && t[i - 1] != '+') continue;
    clean += t[i];
  }
  if (clean.empty() || base < 2 || base > 36) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(clean.c_str(), &end, base);
  if (errno != 0 || *end != '\0' || clean.find_first_of(" \t") != std::string::npos) return std::nullopt;
  return v;
}

std::optional<double> parse_py_float(const std::string& s) {
  std::string t = text::strip(s, std::nullopt, true, true);
  if (t.empty()) return std::nullopt;
  std::string low = text::lower(t);
  if (low == "nan" || low == "+nan" || low == "-nan") return NAN;
  if (low == "inf" || low == "+inf" || low == "infinity" || low == "+infinity") return INFINITY;
  if (low == "-inf" || low == "-infinity") return -INFINITY;
  if (low.find_first_not_of("0123456789.eE+-_") != std::string::npos) return std::nullopt;
  char* end = nullptr;
  double d = std::strtod(t.c_str(), &end);
  if (*end != '\0') return std::nullopt;
  return d;
}

Value f_int(Evaluator&, const Value& v, const CallArgs& a) {
  ArgReader r(a, "int", {"default", "base"});
  Value dflt = r.get(0, Value(0));
  int base = static_cast<int>(r.get(1, Value(10)).as_int());
  if (v.is_int() || v.is_bool()) return Value(v.as_int());
  if (v.is_float()) {
    double d = v.as_float();
    if (std::isnan(d) || std::isinf(d) || std::fabs(d) >= 9.2e18) return dflt;
    return Value(static_cast<int64_t>(d));
  }
  if (v.is_string()) {
    if (auto i = parse_py_int(v.str(), base)) return Value(*i);
    if (auto d = parse_py_float(v.str()); d && std::isfinite(*d) && std::fabs(*d) < 9.2e18)
      return Value(static_cast<int64_t>(*d));
  }
  return dflt;
}

Value f_float(Evaluator&, const Value& v, const CallArgs& a) {
  ArgReader r(a, "float", {"default"});
  if (v.is_number()) return Value(v.as_float());
  if (v.is_string())
    if (auto d = parse_py_float(v.str())) return Value(*d);
  return r.get(0, Value(0.0));
}

Value f_abs(Evaluator&, const Value& v, const CallArgs&) {
  if (v.is_float()) return Value(std::fabs(v.as_float()));
  if (v.is_int() || v.is_bool()) return v.as_int() < 0 ? negate(v) : Value(v.as_int());
  if (v.is_undefined()) fail(undefined_message(v));
  fail("bad operand type for abs(): '" + type_name(v) + "'");
}

Value f_round(Evaluator&, const Value& v, const CallArgs& a) {
  ArgReader r(a, "round", {"precision", "method"});
  int64_t precision = r.get(0, Value(0)).as_int();
  std::string method = to_str(r.get(1, Value("common")));
  if (method != "common" && method != "ceil" && method != "floor") fail("method must be common, ceil or floor");
  if (v.is_undefined()) fail(undefined_message(v));
  if (!v.is_number()) fail("type " + type_name(v) + " doesn't define __round__ method");
  if (method == "common") {
    if (!v.is_float()) return Value(v.as_int());
    if (precision < -20 || precision > 300) return v;
    // printf rounds the exact binary value half-to-even, which is what Python's round() does.
    char buf[400];
    std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(std::max<int64_t>(precision, 0)), v.as_float());
    if (precision >= 0) return Value(std::strtod(buf, nullptr));
    double scale = std::pow(10.0, static_cast<double>(-precision));
    return Value(std::nearbyint(v.as_float() / scale) * scale);
  }
  double scale = std::pow(10.0, static_cast<double>(precision));
  double x = v.as_float() * scale;
  return Value((method == "ceil" ? std::ceil(x) : std::floor(x)) / scale);
}

Value f_center(Evaluator&, const Value& v, const CallArgs& a) {
  ArgReader r(a, "center", {"width"});
  int64_t width = r.get(0, Value(80)).as_int();
  std::string s = to_str(v);
  int64_t len = static_cast<int64_t>(text::length(s));
  if (width <= len) return Value(s);
  if (width > 1 << 20) fail("center width too large");
  int64_t pad = width - len, left = pad / 2 + (pad & width & 1);
  return Value(std::string(static_cast<size_t>(left), ' ') + s + std::string(static_cast<size_t>(pad - left), ' '));
}

Value f_indent(Evaluator& ev, const Value& v, const CallArgs& a) {
  ArgReader r(a, "indent", {"width", "first", "blank"});
  Value width = r.get(0, Value(4));
  std::string ind;
  if (width.is_string()) {
    ind = width.str();
  } else {
    int64_t w = width.as_int();
    if (w > 1 << 16) fail("indent width too large");
    ind = std::string(static_cast<size_t>(std::max<int64_t>(w, 0)), ' ');
  }
  bool first = truthy(r.get(1, Value(false))), blank = truthy(r.get(2, Value(false)));
  std::string s = to_str(v) + "\n";  // as Jinja2 does, so splitlines keeps a trailing empty line
  std::vector<std::string> lines = text::splitlines(s);
  std::string out;
  if (blank) {
    for (size_t i = 0; i < lines.size(); ++i) out += (i ? "\n" + ind : "") + lines[i];
  } else {
    out = lines.empty() ? "" : lines[0];
    for (size_t i = 1; i < lines.size(); ++i) out += "\n" + (lines[i].empty() ? "" : ind + lines[i]);
  }
  if (first) out = ind + out;
  ev.charge(out.size());
  return make_str(std::move(out), v.is_string() && v.is_safe());
}

Value f_wordcount(Evaluator&, const Value& v, const CallArgs&) {
  int64_t n = 0;
  bool in_word = false;
  for (char32_t c : text::decode(to_str(v))) {
    bool word = text::py_isalnum_ascii(c) || c == '_' || (c >= 0x80 && !text::py_isspace(c));
    if (word && !in_word) ++n;
    in_word = word;
  }
  return Value(n);
}

Value f_truncate(Evaluator&, const Value& v, const CallArgs& a) {
  ArgReader r(a, "truncate", {"length", "killwords", "end", "leeway"});
  int64_t length = r.get(0, Value(255)).as_int();
  bool killwords = truthy(r.get(1, Value(false)));
  std::string end = to_str(r.get(2, Value("...")));
  int64_t leeway = r.get(3, Value(5)).as_int();
  auto cps = text::decode(to_str(v));
  int64_t n = static_cast<int64_t>(cps.size());
  if (n <= length + leeway) return Value(to_str(v));
  int64_t keep = std::max<int64_t>(0, length - static_cast<int64_t>(text::length(end)));
  std::string head = text::encode(cps, 0, static_cast<size_t>(keep));
  if (killwords) return Value(head + end);
  size_t sp = head.rfind(' ');
  if (sp != std::string::npos) head = head.substr(0, sp);
  return Value(head + end);
}

Value f_format(Evaluator&, const Value& v, const CallArgs& a) {
  if (!a.positional.empty() && !a.keyword.empty()) fail("can't handle positional and keyword arguments at the same time");
  Value args;
  if (!a.keyword.empty()) {
    auto d = std::make_shared<Dict>();
    for (const auto& [k, val] : a.keyword) d->set(Value(k), val);
    args = Value::dict(d);
  } else {
    args = Value::tuple(a.positional);
  }
  return Value(py_percent(to_str(v), args));
}

// Hugging Face's override: json.dumps(x, ensure_ascii=False, indent=indent,
// separators=separators, sort_keys=sort_keys).
Value f_tojson(Evaluator& ev, const Value& v, const CallArgs& a) {
  ArgReader r(a, "tojson", {"ensure_ascii", "indent", "separators", "sort_keys"});
  JsonDumpOptions o;
  o.ensure_ascii = truthy(r.get(0, Value(false)));
  Value indent = r.get(1, Value::none());
  if (indent.is_int() || indent.is_bool()) {
    o.indent = std::string(static_cast<size_t>(std::clamp<int64_t>(indent.as_int(), 0, 1 << 10)), ' ');
  } else if (indent.is_string()) {
    o.indent = indent.str();
  } else if (!indent.is_none() && !indent.is_undefined()) {
    fail("tojson indent must be an int or a string");
  }
  if (o.indent) o.item_separator = ",";
  Value seps = r.get(2, Value::none());
  if (seps.is_list() && seps.items().size() == 2 && seps.items()[0].is_string() && seps.items()[1].is_string()) {
    o.item_separator = seps.items()[0].str();
    o.key_separator = seps.items()[1].str();
  } else if (!seps.is_none() && !seps.is_undefined()) {
    fail("tojson separators must be a pair of strings");
  }
  o.sort_keys = truthy(r.get(3, Value(false)));
  std::string out = json_dumps(v, o);
  ev.charge(out.size());
  return Value(std::move(out));
}

Value f_attr(Evaluator&, const Value& v, const CallArgs& a) {
  // Python getattr only: unlike `.name`, no fallback to dict keys.
  ArgReader r(a, "attr", {"name"});
  std::string name = to_str(r.get(0));
  if (v.is_namespace()) return get_attr(v, name);
  if (auto m = find_method(v, name)) return *m;
  return Value::undefined("'" + type_name(v) + " object' has no attribute '" + name + "'");
}

}  // namespace

FilterFn find_filter(std::string_view name) {
  static const std::unordered_map<std::string_view, FilterFn> table = {
      {"trim", f_trim},         {"upper", f_upper},
      {"lower", f_lower},       {"capitalize", f_capitalize},
      {"title", f_title},       {"replace", f_replace},
      {"string", f_string},     {"safe", f_safe},
      {"e", f_escape},          {"escape", f_escape},
      {"forceescape", f_forceescape},
      {"length", f_length},     {"count", f_length},
      {"default", f_default},   {"d", f_default},
      {"int", f_int},           {"float", f_float},
      {"abs", f_abs},           {"round", f_round},
      {"center", f_center},     {"indent", f_indent},
      {"wordcount", f_wordcount}, {"truncate", f_truncate},
      {"format", f_format},     {"tojson", f_tojson},
      {"attr", f_attr},
  };
  auto it = table.find(name);
  return it == table.end() ? nullptr : it->second;
}

}  // namespace tandem::chat
