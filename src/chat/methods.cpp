// Methods of Python's str, dict and list that chat templates call (`content.strip()`,
// `message.get('x')`, ...), plus str.format and the `%` operator.
#include <cmath>
#include <cstdio>

#include "chat/builtins.h"
#include "chat/text.h"

namespace tandem::chat {
namespace {

std::optional<std::string> opt_str(const Value& v, const char* what) {
  if (v.is_undefined() || v.is_none()) return std::nullopt;
  if (!v.is_string()) fail(std::string(what) + " arg must be None or str");
  return v.str();
}

int64_t opt_int(const Value& v, int64_t fallback) {
  if (v.is_undefined() || v.is_none()) return fallback;
  if (!v.is_int() && !v.is_bool()) fail("'" + type_name(v) + "' object cannot be interpreted as an integer");
  return v.as_int();
}

Value str_list(const std::vector<std::string>& parts, bool safe) {
  std::vector<Value> out;
  out.reserve(parts.size());
  for (const auto& p : parts) out.push_back(make_str(p, safe));
  return Value::list(std::move(out));
}

bool is_cased(char32_t c) { return text::py_upper(c) != c || text::py_lower(c) != c; }

std::string py_title(const std::string& s) {
  std::string out;
  bool prev_cased = false;
  for (char32_t c : text::decode(s)) {
    if (is_cased(c)) {
      text::append_utf8(out, prev_cased ? text::py_lower(c) : text::py_upper(c));
      prev_cased = true;
    } else {
      text::append_utf8(out, c);
      prev_cased = false;
    }
  }
  return out;
}

// startswith/endswith accept a string or a tuple of strings.
bool affix_match(const std::string& s, const Value& affix, bool prefix, const char* method) {
  auto one = [&](const Value& a) {
    if (!a.is_string()) fail(std::string(method) + " first arg must be str or a tuple of str, not " + type_name(a));
    return prefix ? text::starts_with(s, a.str()) : text::ends_with(s, a.str());
  };
  if (affix.is_list() && affix.seq_kind() == SeqKind::Tuple) {
    for (const auto& a : affix.items())
      if (one(a)) return true;
    return false;
  }
  return one(affix);
}

std::optional<Value> string_method(const Value& obj, const std::string& name) {
  const std::string s = obj.str();
  const bool safe = obj.is_safe();
  auto fn = [&](auto body) { return Value::function("str." + name, body); };
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    bool left = name != "rstrip", right = name != "lstrip";
    return fn([s, safe, left, right, name](const CallArgs& a) {
      ArgReader r(a, name, {"chars"});
      return make_str(text::strip(s, opt_str(r.get(0), name.c_str()), left, right), safe);
    });
  }
  if (name == "split" || name == "rsplit") {
    bool reverse = name == "rsplit";
    return fn([s, safe, reverse, name](const CallArgs& a) {
      ArgReader r(a, name, {"sep", "maxsplit"});
      auto sep = opt_str(r.get(0), "sep");
      int64_t maxsplit = opt_int(r.get(1), -1);
      if (!sep) return str_list(text::split_whitespace(s, reverse ? -1 : maxsplit), safe);
      if (sep->empty()) fail("empty separator");
      return str_list(reverse ? text::rsplit(s, *sep, maxsplit) : text::split(s, *sep, maxsplit), safe);
    });
  }
  if (name == "splitlines")
    return fn([s, safe](const CallArgs&) { return str_list(text::splitlines(s), safe); });
  if (name == "startswith" || name == "endswith") {
    bool prefix = name == "startswith";
    return fn([s, prefix, name](const CallArgs& a) {
      ArgReader r(a, name, {"affix"});
      return Value(affix_match(s, r.get(0), prefix, name.c_str()));
    });
  }
  if (name == "upper") return fn([s, safe](const CallArgs&) { return make_str(text::upper(s), safe); });
  if (name == "lower" || name == "casefold")
    return fn([s, safe](const CallArgs&) { return make_str(text::lower(s), safe); });
  if (name == "title") return fn([s, safe](const CallArgs&) { return make_str(py_title(s), safe); });
  if (name == "capitalize")
    return fn([s, safe](const CallArgs&) {
      auto cps = text::decode(s);
      std::string out;
      for (size_t i = 0; i < cps.size(); ++i) text::append_utf8(out, i == 0 ? text::py_upper(cps[i]) : text::py_lower(cps[i]));
      return make_str(out, safe);
    });
  if (name == "replace")
    return fn([s, safe](const CallArgs& a) {
      ArgReader r(a, "replace", {"old", "new", "count"});
      Value from = r.get(0), to = r.get(1);
      if (!from.is_string() || !to.is_string()) fail("replace() arguments must be str");
      return make_str(text::replace(s, from.str(), to.str(), opt_int(r.get(2), -1)), safe);
    });
  if (name == "format") return fn([s, safe](const CallArgs& a) { return make_str(py_format(s, a), safe); });
  if (name == "join")
    return fn([s, safe](const CallArgs& a) {
      ArgReader r(a, "join", {"iterable"});
      std::string out;
      bool first = true;
      for (const auto& item : iterate(r.get(0))) {
        if (!item.is_string()) fail("sequence item: expected str instance, " + type_name(item) + " found");
        if (!first) out += s;
        first = false;
        out += item.str();
      }
      return make_str(out, safe);
    });
  if (name == "find" || name == "rfind" || name == "count" || name == "index") {
    return fn([s, name](const CallArgs& a) {
      ArgReader r(a, name, {"sub"});
      Value sub = r.get(0);
      if (!sub.is_string()) fail("must be str, not " + type_name(sub));
      if (name == "count") {
        if (sub.str().empty()) return Value(static_cast<int64_t>(text::length(s) + 1));
        int64_t n = 0;
        for (size_t p = s.find(sub.str()); p != std::string::npos; p = s.find(sub.str(), p + sub.str().size())) ++n;
        return Value(n);
      }
      size_t p = name == "rfind" ? s.rfind(sub.str()) : s.find(sub.str());
      if (p == std::string::npos) {
        if (name == "index") fail("substring not found");
        return Value(-1);
      }
      return Value(static_cast<int64_t>(text::length(std::string_view(s).substr(0, p))));
    });
  }
  if (name == "isdigit" || name == "isalpha" || name == "isalnum" || name == "isspace" || name == "isupper" ||
      name == "islower") {
    return fn([s, name](const CallArgs&) {
      auto cps = text::decode(s);
      if (cps.empty()) return Value(false);
      bool any_cased = false;
      for (char32_t c : cps) {
        bool digit = c >= '0' && c <= '9';
        bool alpha = is_cased(c) || (c >= 0x80 && !text::py_isspace(c) && !digit);
        if (name == "isdigit" && !digit) return Value(false);
        if (name == "isalpha" && !alpha) return Value(false);
        if (name == "isalnum" && !alpha && !digit) return Value(false);
        if (name == "isspace" && !text::py_isspace(c)) return Value(false);
        if (name == "isupper" && text::py_lower(c) != c && text::py_upper(c) == c) any_cased = true;
        if (name == "isupper" && text::py_upper(c) != c) return Value(false);
        if (name == "islower" && text::py_upper(c) != c && text::py_lower(c) == c) any_cased = true;
        if (name == "islower" && text::py_lower(c) != c) return Value(false);
      }
      return Value(name == "isupper" || name == "islower" ? any_cased : true);
    });
  }
  return std::nullopt;
}

std::optional<Value> dict_method(const Value& obj, const std::string& name) {
  if (name == "items")
    return Value::function("dict.items", [obj](const CallArgs&) {
      std::vector<Value> out;
      for (const auto& [k, v] : obj.dict().entries) out.push_back(Value::tuple({k, v}));
      return Value::list(std::move(out));
    });
  if (name == "keys")
    return Value::function("dict.keys", [obj](const CallArgs&) { return Value::list(iterate(obj)); });
  if (name == "values")
    return Value::function("dict.values", [obj](const CallArgs&) {
      std::vector<Value> out;
      for (const auto& [k, v] : obj.dict().entries) out.push_back(v);
      return Value::list(std::move(out));
    });
  if (name == "get")
    return Value::function("dict.get", [obj](const CallArgs& a) {
      ArgReader r(a, "get", {"key", "default"});
      if (const Value* v = obj.dict().find(r.get(0))) return *v;
      return r.get(1, Value::none());
    });
  if (name == "copy")
    return Value::function("dict.copy", [obj](const CallArgs&) {
      return Value::dict(std::make_shared<Dict>(obj.dict()));
    });
  return std::nullopt;
}

std::optional<Value> list_method(const Value& obj, const std::string& name) {
  // Note: Hugging Face's immutable sandbox rejects list.append; tandem allows it because
  // templates written for other engines (llama.cpp's minja) accumulate with it.
  if (name == "append")
    return Value::function("list.append", [obj](const CallArgs& a) {
      ArgReader r(a, "append", {"object"});
      if (!r.has(0)) fail("append() takes exactly one argument (0 given)");
      if (obj.items().size() >= (1u << 24)) fail("list grew beyond the size limit");
      obj.items().push_back(r.get(0));
      return Value::none();
    });
  if (name == "index" || name == "count")
    return Value::function("list." + name, [obj, name](const CallArgs& a) {
      ArgReader r(a, name, {"value"});
      Value x = r.get(0);
      int64_t n = 0;
      for (size_t i = 0; i < obj.items().size(); ++i) {
        if (!equals(obj.items()[i], x)) continue;
        if (name == "index") return Value(static_cast<int64_t>(i));
        ++n;
      }
      if (name == "index") fail(to_repr(x) + " is not in list");
      return Value(n);
    });
  return std::nullopt;
}

}  // namespace

std::optional<Value> find_method(const Value& obj, const std::string& name) {
  if (obj.is_string()) return string_method(obj, name);
  if (obj.is_dict()) return dict_method(obj, name);
  if (obj.is_list() && obj.seq_kind() == SeqKind::List) return list_method(obj, name);
  if (obj.is_list() && obj.seq_kind() == SeqKind::Tuple && (name == "index" || name == "count"))
    return list_method(obj, name);
  return std::nullopt;
}

}  // namespace tandem::chat
