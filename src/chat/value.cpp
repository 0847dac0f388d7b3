#include "chat/value.h"

#include <cmath>

#include "chat/text.h"

namespace tandem::chat {

TemplateError::TemplateError(const std::string& detail, int line)
    : tandem::Error(line > 0 ? "chat template line " + std::to_string(line) + ": " + detail
                             : "chat template: " + detail),
      line_(line),
      detail_(detail) {}

void fail(const std::string& message) { throw TemplateError(message, 0); }

const Value* CallArgs::keyword_arg(std::string_view name) const {
  for (const auto& [k, v] : keyword)
    if (k == name) return &v;
  return nullptr;
}

Value Value::undefined(std::string hint) {
  Value v;
  v.str_ = std::move(hint);
  return v;
}

Value Value::none() {
  Value v;
  v.kind_ = Kind::None;
  return v;
}

Value Value::safe_string(std::string s) {
  Value v(std::move(s));
  v.safe_ = true;
  return v;
}

Value Value::list(std::vector<Value> items) {
  Value v;
  v.kind_ = Kind::List;
  v.list_ = std::make_shared<std::vector<Value>>(std::move(items));
  return v;
}

Value Value::tuple(std::vector<Value> items) {
  Value v = list(std::move(items));
  v.seq_kind_ = SeqKind::Tuple;
  return v;
}

Value Value::iterator(std::vector<Value> items) {
  Value v = list(std::move(items));
  v.seq_kind_ = SeqKind::Iterator;
  return v;
}

Value Value::dict(std::shared_ptr<Dict> d) {
  Value v;
  v.kind_ = Kind::Dict;
  v.dict_ = std::move(d);
  return v;
}

Value Value::new_dict() { return dict(std::make_shared<Dict>()); }

Value Value::function(std::string name, NativeFn fn) {
  Value v;
  v.kind_ = Kind::Function;
  v.fn_ = std::make_shared<Function>(Function{std::move(name), std::move(fn)});
  return v;
}

Value Value::namespace_(std::shared_ptr<Dict> attrs) {
  Value v = dict(std::move(attrs));
  v.kind_ = Kind::Namespace;
  return v;
}

const void* Value::identity() const {
  if (list_) return list_.get();
  if (dict_) return dict_.get();
  if (fn_) return fn_.get();
  return nullptr;
}

const Value* Dict::find(const Value& key) const {
  for (const auto& [k, v] : entries)
    if (equals(k, key)) return &v;
  return nullptr;
}

const Value* Dict::find(std::string_view key) const {
  for (const auto& [k, v] : entries)
    if (k.is_string() && k.str() == key) return &v;
  return nullptr;
}

void Dict::set(const Value& key, Value v) {
  for (auto& [k, old] : entries) {
    if (equals(k, key)) {
      old = std::move(v);
      return;
    }
  }
  entries.emplace_back(key, std::move(v));
}

bool truthy(const Value& v) {
  switch (v.kind()) {
    case Kind::Undefined:
    case Kind::None: return false;
    case Kind::Bool:
    case Kind::Int: return v.as_int() != 0;
    case Kind::Float: return v.as_float() != 0.0;
    case Kind::String: return !v.str().empty();
    case Kind::List: return v.seq_kind() == SeqKind::Iterator || !v.items().empty();  // generators are always true
    case Kind::Dict: return v.dict().size() != 0;
    case Kind::Function:
    case Kind::Namespace: return true;
  }
  return false;
}

bool equals(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_float() == b.as_float();
    return a.as_int() == b.as_int();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Kind::Undefined:
    case Kind::None: return true;
    case Kind::String: return a.str() == b.str();
    case Kind::List: {
      if (a.identity() == b.identity()) return true;
      if ((a.seq_kind() == SeqKind::Tuple) != (b.seq_kind() == SeqKind::Tuple)) return false;
      if (a.seq_kind() == SeqKind::Iterator || b.seq_kind() == SeqKind::Iterator) return false;
      const auto& x = a.items();
      const auto& y = b.items();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i)
        if (!equals(x[i], y[i])) return false;
      return true;
    }
    case Kind::Dict: {
      if (a.identity() == b.identity()) return true;
      if (a.dict().size() != b.dict().size()) return false;
      for (const auto& [k, v] : a.dict().entries) {
        const Value* other = b.dict().find(k);
        if (!other || !equals(v, *other)) return false;
      }
      return true;
    }
    default: return a.identity() == b.identity();
  }
}

int compare(const Value& a, const Value& b) {
  if (a.is_undefined()) fail(undefined_message(a));
  if (b.is_undefined()) fail(undefined_message(b));
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) {
      double x = a.as_float(), y = b.as_float();
      return x < y ? -1 : x > y ? 1 : 0;
    }
    return a.as_int() < b.as_int() ? -1 : a.as_int() > b.as_int() ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) {
    int c = a.str().compare(b.str());  // UTF-8 byte order equals code point order
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  if (a.is_list() && b.is_list() && a.seq_kind() == b.seq_kind() && a.seq_kind() != SeqKind::Iterator) {
    const auto& x = a.items();
    const auto& y = b.items();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (equals(x[i], y[i])) continue;
      return compare(x[i], y[i]);
    }
    return x.size() < y.size() ? -1 : x.size() > y.size() ? 1 : 0;
  }
  fail("'<' not supported between instances of '" + type_name(a) + "' and '" + type_name(b) + "'");
}

std::string type_name(const Value& v) {
  switch (v.kind()) {
    case Kind::Undefined: return "Undefined";
    case Kind::None: return "NoneType";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::String: return v.is_safe() ? "Markup" : "str";
    case Kind::List:
      return v.seq_kind() == SeqKind::Tuple ? "tuple" : v.seq_kind() == SeqKind::Iterator ? "generator" : "list";
    case Kind::Dict: return "dict";
    case Kind::Function: return "function";
    case Kind::Namespace: return "Namespace";
  }
  return "object";
}

std::string undefined_message(const Value& v) {
  return v.undefined_hint().empty() ? std::string("value is undefined") : v.undefined_hint();
}

static void repr_into(std::string& out, const Value& v, int depth);

static void repr_seq(std::string& out, const Value& v, int depth) {
  bool tuple = v.seq_kind() == SeqKind::Tuple;
  out += tuple ? '(' : '[';
  const auto& items = v.items();
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ", ";
    repr_into(out, items[i], depth + 1);
  }
  if (tuple && items.size() == 1) out += ',';
  out += tuple ? ')' : ']';
}

static void repr_into(std::string& out, const Value& v, int depth) {
  if (depth > 200) fail("value nested too deeply to print");
  switch (v.kind()) {
    case Kind::String: out += text::repr_string(v.str()); return;
    case Kind::List:
      if (v.seq_kind() == SeqKind::Iterator) {
        out += "<generator object>";
        return;
      }
      repr_seq(out, v, depth);
      return;
    case Kind::Dict: {
      out += '{';
      bool first = true;
      for (const auto& [k, val] : v.dict().entries) {
        if (!first) out += ", ";
        first = false;
        repr_into(out, k, depth + 1);
        out += ": ";
        repr_into(out, val, depth + 1);
      }
      out += '}';
      return;
    }
    case Kind::Namespace: {
      out += "<Namespace ";
      Value as_dict = Value::dict(std::make_shared<Dict>(v.dict()));
      repr_into(out, as_dict, depth + 1);
      out += '>';
      return;
    }
    case Kind::Undefined: out += "Undefined"; return;
    default: out += to_str(v);
  }
}

std::string to_str(const Value& v) {
  switch (v.kind()) {
    case Kind::Undefined: return "";
    case Kind::None: return "None";
    case Kind::Bool: return v.as_bool() ? "True" : "False";
    case Kind::Int: return std::to_string(v.as_int());
    case Kind::Float: return text::repr_float(v.as_float());
    case Kind::String: return v.str();
    case Kind::Function: return "<function " + v.function().name + ">";
    default: {
      std::string out;
      repr_into(out, v, 0);
      return out;
    }
  }
}

std::string to_repr(const Value& v) {
  std::string out;
  repr_into(out, v, 0);
  return out;
}

nlohmann::ordered_json Value::to_json() const {
  switch (kind_) {
    case Kind::None: return nullptr;
    case Kind::Bool: return as_bool();
    case Kind::Int: return int_;
    case Kind::Float: return float_;
    case Kind::String: return str_;
    case Kind::List: {
      auto arr = nlohmann::ordered_json::array();
      for (const auto& e : *list_) arr.push_back(e.to_json());
      return arr;
    }
    case Kind::Dict: {
      auto obj = nlohmann::ordered_json::object();
      for (const auto& [k, v] : dict_->entries) obj[k.is_string() ? k.str() : to_str(k)] = v.to_json();
      return obj;
    }
    default: fail("Object of type " + type_name(*this) + " is not JSON serializable");
  }
}

}  // namespace tandem::chat
