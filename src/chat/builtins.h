#pragma once
// Built-in operations with Python/Jinja2 semantics: operators, attribute and item access,
// filters, tests, methods of str/dict/list, and the globals Hugging Face provides.
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chat/value.h"

namespace tandem::chat {

class Evaluator;
class Scope;

// operations.cpp
Value binary_op(const std::string& op, const Value& a, const Value& b, size_t max_string_bytes);
Value negate(const Value& v);
bool contains(const Value& container, const Value& item);  // Python `item in container`
Value get_attr(const Value& obj, const std::string& name);  // Jinja2 environment.getattr
Value get_item(const Value& obj, const Value& key);          // Jinja2 environment.getitem
Value slice(const Value& obj, const Value& start, const Value& stop, const Value& step);
// Python iteration: list/tuple items, dict keys, string characters, nothing for undefined.
std::vector<Value> iterate(const Value& v);
Value make_str(std::string s, bool safe);

// methods.cpp: bound methods of str / dict / list; nullopt if `name` is no such method.
std::optional<Value> find_method(const Value& obj, const std::string& name);
// Python str.format(*args, **kwargs) for {}, {0}, {name} fields with simple specs.
std::string py_format(const std::string& fmt, const CallArgs& args);
// Python `fmt % args` (printf-style) for %s %r %d %i %f %x %%.
std::string py_percent(const std::string& fmt, const Value& args);

// filters.cpp / filters_seq.cpp / tests.cpp
using FilterFn = Value (*)(Evaluator&, const Value& subject, const CallArgs& args);
using TestFn = bool (*)(Evaluator&, const Value& subject, const CallArgs& args);
FilterFn find_filter(std::string_view name);
FilterFn find_seq_filter(std::string_view name);
TestFn find_test(std::string_view name);

// globals.cpp: range, dict, namespace, raise_exception, strftime_now, cycler, joiner.
void install_globals(Scope& scope, Evaluator& ev);
// strftime_now: the current local time, or `fixed_now` when given (reproducible renders).
void install_clock(Scope& scope, const std::optional<std::tm>& fixed_now);

// Positional-or-keyword argument binding, as Python does for a builtin's signature.
class ArgReader {
 public:
  ArgReader(const CallArgs& args, std::string func, std::vector<std::string> params);
  // The argument for params[i], or `fallback` when not given.
  Value get(size_t i, const Value& fallback = Value()) const;
  bool has(size_t i) const;

 private:
  const CallArgs& args_;
  std::string func_;
  std::vector<std::string> params_;
};

}  // namespace tandem::chat
