#pragma once
// Template values with Python semantics: what Jinja2 sees when Hugging Face renders a chat
// template. Lists and dicts are shared by reference (as in Python), dicts keep insertion order,
// strings are UTF-8 and may carry Jinja2's "safe" (Markup) flag.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/error.h"

namespace tandem::chat {

// Syntax errors (thrown by Template's constructor) and render errors. line() is 1-based, 0 when
// the error has no position (an error raised inside a builtin, before the evaluator adds it).
class TemplateError : public tandem::Error {
 public:
  TemplateError(const std::string& detail, int line);
  int line() const { return line_; }
  const std::string& detail() const { return detail_; }

 private:
  int line_;
  std::string detail_;
};

// The template itself called raise_exception(message): a refusal of the input (for example a
// system message the model does not accept), not a bug in the template or in tandem.
class TemplateRaised : public TemplateError {
 public:
  using TemplateError::TemplateError;
};

enum class Kind : uint8_t { Undefined, None, Bool, Int, Float, String, List, Dict, Function, Namespace };
// Python distinguishes lists, tuples and one-shot generators (what select/map/items return).
enum class SeqKind : uint8_t { List, Tuple, Iterator };

class Value;
class Dict;

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
  const Value* keyword_arg(std::string_view name) const;
};
using NativeFn = std::function<Value(const CallArgs&)>;
struct Function {
  std::string name;
  NativeFn fn;
};

class Value {
 public:
  Value() = default;  // undefined
  Value(bool b) : kind_(Kind::Bool), int_(b ? 1 : 0) {}
  Value(int i) : kind_(Kind::Int), int_(i) {}
  Value(int64_t i) : kind_(Kind::Int), int_(i) {}
  Value(double f) : kind_(Kind::Float), float_(f) {}
  Value(std::string s) : kind_(Kind::String), str_(std::move(s)) {}
  Value(const char* s) : kind_(Kind::String), str_(s) {}

  static Value undefined(std::string hint = {});
  static Value none();
  static Value safe_string(std::string s);
  static Value list(std::vector<Value> items = {});
  static Value tuple(std::vector<Value> items);
  static Value iterator(std::vector<Value> items);
  static Value dict(std::shared_ptr<Dict> d);
  static Value new_dict();
  static Value function(std::string name, NativeFn fn);
  static Value namespace_(std::shared_ptr<Dict> attrs);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::Undefined; }
  bool is_none() const { return kind_ == Kind::None; }
  bool is_bool() const { return kind_ == Kind::Bool; }
  bool is_int() const { return kind_ == Kind::Int; }
  bool is_float() const { return kind_ == Kind::Float; }
  bool is_number() const { return kind_ == Kind::Int || kind_ == Kind::Float || kind_ == Kind::Bool; }
  bool is_string() const { return kind_ == Kind::String; }
  bool is_list() const { return kind_ == Kind::List; }
  bool is_dict() const { return kind_ == Kind::Dict; }
  bool is_function() const { return kind_ == Kind::Function; }
  bool is_namespace() const { return kind_ == Kind::Namespace; }

  bool as_bool() const { return int_ != 0; }
  int64_t as_int() const { return int_; }  // Int and Bool
  double as_float() const { return kind_ == Kind::Float ? float_ : static_cast<double>(int_); }
  const std::string& str() const { return str_; }
  bool is_safe() const { return safe_; }
  const std::string& undefined_hint() const { return str_; }
  SeqKind seq_kind() const { return seq_kind_; }
  std::vector<Value>& items() const { return *list_; }  // List
  Dict& dict() const { return *dict_; }                 // Dict and Namespace
  const Function& function() const { return *fn_; }
  // Identity of shared containers, for `is sameas` and cycle detection.
  const void* identity() const;

  template <class Json> static Value from_json(const Json& j);
  nlohmann::ordered_json to_json() const;  // throws TemplateError for undefined/functions

 private:
  Kind kind_ = Kind::Undefined;
  bool safe_ = false;
  SeqKind seq_kind_ = SeqKind::List;
  int64_t int_ = 0;
  double float_ = 0;
  std::string str_;
  std::shared_ptr<std::vector<Value>> list_;
  std::shared_ptr<Dict> dict_;
  std::shared_ptr<Function> fn_;
};

// Insertion-ordered mapping. Lookups are linear: chat messages and tool schemas are small, and a
// linear scan keeps Python's key equality (1 == 1.0 == True) without a hash.
class Dict {
 public:
  const Value* find(const Value& key) const;
  const Value* find(std::string_view key) const;
  void set(const Value& key, Value v);
  size_t size() const { return entries.size(); }
  std::vector<std::pair<Value, Value>> entries;
};

// Python semantics shared by the evaluator, filters and tests.
bool truthy(const Value& v);
bool equals(const Value& a, const Value& b);
// <0, 0, >0 like Python's ordering; throws TemplateError for types Python cannot order.
int compare(const Value& a, const Value& b);
std::string to_str(const Value& v);   // str(v); undefined prints as ""
std::string to_repr(const Value& v);  // repr(v)
std::string type_name(const Value& v);  // Python's name for the type, for error messages
// Message of the error Jinja2 raises when an undefined value is used.
std::string undefined_message(const Value& v);
[[noreturn]] void fail(const std::string& message);  // throws TemplateError without a line

template <class Json>
Value Value::from_json(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null: return none();
    case Json::value_t::boolean: return Value(j.template get<bool>());
    case Json::value_t::number_integer: return Value(j.template get<int64_t>());
    case Json::value_t::number_unsigned: {
      auto u = j.template get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) return Value(static_cast<double>(u));
      return Value(static_cast<int64_t>(u));
    }
    case Json::value_t::number_float: return Value(j.template get<double>());
    case Json::value_t::string: return Value(j.template get<std::string>());
    case Json::value_t::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (const auto& e : j) items.push_back(from_json(e));
      return list(std::move(items));
    }
    case Json::value_t::object: {
      auto d = std::make_shared<Dict>();
      d->entries.reserve(j.size());
      for (auto it = j.begin(); it != j.end(); ++it) d->entries.emplace_back(Value(it.key()), from_json(it.value()));
      return dict(std::move(d));
    }
    default: return undefined();  // binary / discarded: not produced by JSON text
  }
}

}  // namespace tandem::chat
