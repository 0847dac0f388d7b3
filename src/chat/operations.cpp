// Operators, attribute/item access, slicing and iteration with Python's semantics (and its
// error messages, so a template that fails in Jinja2 fails the same way here).
#include <cmath>

#include "chat/builtins.h"
#include "chat/text.h"

namespace tandem::chat {
namespace {

std::string object_repr(const Value& v) {
  if (v.is_none()) return "None";
  return type_name(v) + " object";
}

[[noreturn]] void unsupported(const std::string& op, const Value& a, const Value& b) {
  fail("unsupported operand type(s) for " + op + ": '" + type_name(a) + "' and '" + type_name(b) + "'");
}

void check_overflow(bool overflow) {
  if (overflow) fail("integer overflow (tandem templates use 64-bit integers)");
}

Value arith(const std::string& op, const Value& a, const Value& b) {
  if (a.is_float() || b.is_float() || op == "/") {
    double x = a.as_float(), y = b.as_float();
    if (op == "+") return Value(x + y);
    if (op == "-") return Value(x - y);
    if (op == "*") return Value(x * y);
    if (op == "**") return Value(std::pow(x, y));
    if (y == 0) fail(op == "/" ? "division by zero" : "float division by zero");
    if (op == "/") return Value(x / y);
    if (op == "//") return Value(std::floor(x / y));
    double r = std::fmod(x, y);
    if (r != 0 && ((r < 0) != (y < 0))) r += y;
    return Value(r);
  }
  int64_t x = a.as_int(), y = b.as_int(), r = 0;
  if (op == "+" || op == "-" || op == "*") {
    check_overflow(op == "+"   ? __builtin_add_overflow(x, y, &r)
                   : op == "-" ? __builtin_sub_overflow(x, y, &r)
                               : __builtin_mul_overflow(x, y, &r));
    return Value(r);
  }
  if (op == "**") {
    if (y < 0) return Value(std::pow(static_cast<double>(x), static_cast<double>(y)));
    int64_t result = 1;
    for (int64_t i = 0; i < y; ++i) {
      check_overflow(__builtin_mul_overflow(result, x, &r));
      result = r;
      if (result == 0 || result == 1) break;
    }
    return Value(result);
  }
  if (y == 0) fail("integer division or modulo by zero");
  if (x == INT64_MIN && y == -1) fail("integer overflow (tandem templates use 64-bit integers)");
  int64_t q = x / y, m = x % y;
  if (m != 0 && ((m < 0) != (y < 0))) {
    --q;
    m += y;
  }
  return Value(op == "//" ? q : m);
}

Value repeat(const Value& seq, int64_t n, size_t max_bytes) {
  if (n < 0) n = 0;
  if (seq.is_string()) {
    if (seq.str().size() * static_cast<uint64_t>(n) > max_bytes) fail("string repetition exceeds the size limit");
    std::string out;
    for (int64_t i = 0; i < n; ++i) out += seq.str();
    return make_str(std::move(out), seq.is_safe());
  }
  if (seq.items().size() * static_cast<uint64_t>(n) > max_bytes) fail("list repetition exceeds the size limit");
  std::vector<Value> out;
  for (int64_t i = 0; i < n; ++i) out.insert(out.end(), seq.items().begin(), seq.items().end());
  return seq.seq_kind() == SeqKind::Tuple ? Value::tuple(std::move(out)) : Value::list(std::move(out));
}

bool is_concat_seq(const Value& v) { return v.is_list() && v.seq_kind() != SeqKind::Iterator; }

}  // namespace

Value make_str(std::string s, bool safe) { return safe ? Value::safe_string(std::move(s)) : Value(std::move(s)); }

Value binary_op(const std::string& op, const Value& a, const Value& b, size_t max_string_bytes) {
  if (op == "~") {
    std::string s = to_str(a) + to_str(b);
    if (s.size() > max_string_bytes) fail("string exceeds the size limit");
    return Value(std::move(s));
  }
  if (a.is_undefined()) fail(undefined_message(a));
  if (b.is_undefined()) fail(undefined_message(b));
  if (a.is_number() && b.is_number()) return arith(op, a, b);
  if (op == "+") {
    if (a.is_string() && b.is_string()) {
      if (a.str().size() + b.str().size() > max_string_bytes) fail("string exceeds the size limit");
      // markupsafe: adding to a safe string escapes the other, unsafe, operand.
      if (a.is_safe() && !b.is_safe()) return Value::safe_string(a.str() + text::html_escape(b.str()));
      if (b.is_safe() && !a.is_safe()) return Value::safe_string(text::html_escape(a.str()) + b.str());
      return make_str(a.str() + b.str(), a.is_safe());
    }
    if (is_concat_seq(a) && is_concat_seq(b) && a.seq_kind() == b.seq_kind()) {
      std::vector<Value> out = a.items();
      out.insert(out.end(), b.items().begin(), b.items().end());
      return a.seq_kind() == SeqKind::Tuple ? Value::tuple(std::move(out)) : Value::list(std::move(out));
    }
    if (a.is_string() || is_concat_seq(a))
      fail("can only concatenate " + type_name(a) + " (not \"" + type_name(b) + "\") to " + type_name(a));
    unsupported("+", a, b);
  }
  if (op == "*") {
    if ((a.is_string() || is_concat_seq(a)) && (b.is_int() || b.is_bool())) return repeat(a, b.as_int(), max_string_bytes);
    if ((b.is_string() || is_concat_seq(b)) && (a.is_int() || a.is_bool())) return repeat(b, a.as_int(), max_string_bytes);
    fail("can't multiply sequence by non-int of type '" + type_name(a.is_string() || a.is_list() ? b : a) + "'");
  }
  if (op == "%" && a.is_string()) return make_str(py_percent(a.str(), b), a.is_safe());
  unsupported(op == "**" ? "** or pow()" : op, a, b);
}

Value negate(const Value& v) {
  if (v.is_undefined()) fail(undefined_message(v));
  if (v.is_float()) return Value(-v.as_float());
  if (v.is_int() || v.is_bool()) {
    if (v.as_int() == INT64_MIN) fail("integer overflow (tandem templates use 64-bit integers)");
    return Value(-v.as_int());
  }
  fail("bad operand type for unary -: '" + type_name(v) + "'");
}

bool contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Kind::Undefined: return false;
    case Kind::String:
      if (!item.is_string()) fail("'in <string>' requires string as left operand, not " + type_name(item));
      return container.str().find(item.str()) != std::string::npos;
    case Kind::List:
      for (const auto& e : container.items())
        if (equals(e, item)) return true;
      return false;
    case Kind::Dict: return container.dict().find(item) != nullptr;
    default: fail("argument of type '" + type_name(container) + "' is not iterable");
  }
}

Value get_attr(const Value& obj, const std::string& name) {
  if (obj.is_undefined()) fail(undefined_message(obj));
  if (obj.is_namespace()) {
    if (const Value* v = obj.dict().find(std::string_view(name))) return *v;
  } else {
    if (auto m = find_method(obj, name)) return *m;
    if (obj.is_dict())
      if (const Value* v = obj.dict().find(std::string_view(name))) return *v;
  }
  return Value::undefined("'" + object_repr(obj) + "' has no attribute '" + name + "'");
}

Value get_item(const Value& obj, const Value& key) {
  if (obj.is_undefined()) fail(undefined_message(obj));
  if (obj.is_dict()) {
    if (const Value* v = obj.dict().find(key)) return *v;
  } else if (obj.is_namespace()) {
    if (key.is_string())
      if (const Value* v = obj.dict().find(std::string_view(key.str()))) return *v;
  } else if ((obj.is_list() && obj.seq_kind() != SeqKind::Iterator) || obj.is_string()) {
    if (key.is_int() || key.is_bool()) {
      int64_t i = key.as_int();
      if (obj.is_list()) {
        int64_t n = static_cast<int64_t>(obj.items().size());
        if (i < 0) i += n;
        if (i >= 0 && i < n) return obj.items()[static_cast<size_t>(i)];
      } else {
        auto cps = text::decode(obj.str());
        int64_t n = static_cast<int64_t>(cps.size());
        if (i < 0) i += n;
        if (i >= 0 && i < n) return make_str(text::encode(cps, static_cast<size_t>(i), static_cast<size_t>(i) + 1), obj.is_safe());
      }
    }
  }
  if (key.is_string() && !obj.is_namespace()) {
    if (auto m = find_method(obj, key.str())) return *m;
  }
  if (key.is_string()) return Value::undefined("'" + object_repr(obj) + "' has no attribute '" + key.str() + "'");
  return Value::undefined("'" + object_repr(obj) + "' has no element " + to_repr(key));
}

Value slice(const Value& obj, const Value& start, const Value& stop, const Value& step) {
  if (obj.is_undefined()) fail(undefined_message(obj));
  bool is_seq = obj.is_list() && obj.seq_kind() != SeqKind::Iterator;
  if (!is_seq && !obj.is_string()) return Value::undefined("'" + object_repr(obj) + "' cannot be sliced");
  auto index_of = [](const Value& v) -> std::optional<int64_t> {
    if (v.is_none()) return std::nullopt;
    if (!v.is_int() && !v.is_bool()) fail("slice indices must be integers or None or have an __index__ method");
    return v.as_int();
  };
  std::optional<int64_t> b = index_of(start), e = index_of(stop), s = index_of(step);
  int64_t st = s.value_or(1);
  if (st == 0) fail("slice step cannot be zero");
  std::vector<char32_t> cps;
  int64_t n;
  if (is_seq) {
    n = static_cast<int64_t>(obj.items().size());
  } else {
    cps = text::decode(obj.str());
    n = static_cast<int64_t>(cps.size());
  }
  auto clamp = [&](std::optional<int64_t> v, int64_t dflt, int64_t lo, int64_t hi) {
    if (!v) return dflt;
    int64_t x = *v < 0 ? *v + n : *v;
    return x < lo ? lo : x > hi ? hi : x;
  };
  int64_t from, to;
  if (st > 0) {
    from = clamp(b, 0, 0, n);
    to = clamp(e, n, 0, n);
  } else {
    from = clamp(b, n - 1, -1, n - 1);
    to = clamp(e, -1, -1, n - 1);
  }
  std::vector<size_t> picks;
  for (int64_t i = from; st > 0 ? i < to : i > to; i += st) picks.push_back(static_cast<size_t>(i));
  if (is_seq) {
    std::vector<Value> out;
    out.reserve(picks.size());
    for (size_t i : picks) out.push_back(obj.items()[i]);
    return obj.seq_kind() == SeqKind::Tuple ? Value::tuple(std::move(out)) : Value::list(std::move(out));
  }
  std::string out;
  for (size_t i : picks) text::append_utf8(out, cps[i]);
  return make_str(std::move(out), obj.is_safe());
}

std::vector<Value> iterate(const Value& v) {
  switch (v.kind()) {
    case Kind::Undefined: return {};
    case Kind::List: return v.items();
    case Kind::Dict: {
      std::vector<Value> keys;
      keys.reserve(v.dict().size());
      for (const auto& [k, val] : v.dict().entries) keys.push_back(k);
      return keys;
    }
    case Kind::String: {
      std::vector<Value> chars;
      for (char32_t c : text::decode(v.str())) {
        std::string s;
        text::append_utf8(s, c);
        chars.push_back(make_str(std::move(s), v.is_safe()));
      }
      return chars;
    }
    default: fail("'" + type_name(v) + "' object is not iterable");
  }
}

ArgReader::ArgReader(const CallArgs& args, std::string func, std::vector<std::string> params)
    : args_(args), func_(std::move(func)), params_(std::move(params)) {
  if (args_.positional.size() > params_.size())
    fail(func_ + "() takes at most " + std::to_string(params_.size()) + " argument(s) (" +
         std::to_string(args_.positional.size()) + " given)");
  for (const auto& [k, v] : args_.keyword) {
    bool known = false;
    for (size_t i = 0; i < params_.size(); ++i) {
      if (params_[i] != k) continue;
      known = true;
      if (i < args_.positional.size()) fail(func_ + "() got multiple values for argument '" + k + "'");
    }
    if (!known) fail(func_ + "() got an unexpected keyword argument '" + k + "'");
  }
}

bool ArgReader::has(size_t i) const {
  return i < args_.positional.size() || (i < params_.size() && args_.keyword_arg(params_[i]));
}

Value ArgReader::get(size_t i, const Value& fallback) const {
  if (i < args_.positional.size()) return args_.positional[i];
  if (i < params_.size())
    if (const Value* v = args_.keyword_arg(params_[i])) return *v;
  return fallback;
}

}  // namespace tandem::chat
