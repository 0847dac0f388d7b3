// Jinja2's tests (`x is defined`, `x is string`, `x is equalto y`, ...) with Python's type
// semantics: bool counts as a number, strings are iterable sequences, undefined is iterable.
#include <unordered_map>

#include "chat/builtins.h"
#include "chat/evaluator.h"
#include "chat/text.h"

namespace tandem::chat {
namespace {

Value arg0(const CallArgs& a, const char* test) {
  if (!a.positional.empty()) return a.positional[0];
  if (!a.keyword.empty()) return a.keyword[0].second;
  fail(std::string("test '") + test + "' requires an argument");
}

bool t_defined(Evaluator&, const Value& v, const CallArgs&) { return !v.is_undefined(); }
bool t_undefined(Evaluator&, const Value& v, const CallArgs&) { return v.is_undefined(); }
bool t_none(Evaluator&, const Value& v, const CallArgs&) { return v.is_none(); }
bool t_string(Evaluator&, const Value& v, const CallArgs&) { return v.is_string(); }
bool t_number(Evaluator&, const Value& v, const CallArgs&) { return v.is_number(); }
bool t_integer(Evaluator&, const Value& v, const CallArgs&) { return v.is_int(); }
bool t_float(Evaluator&, const Value& v, const CallArgs&) { return v.is_float(); }
bool t_boolean(Evaluator&, const Value& v, const CallArgs&) { return v.is_bool(); }
bool t_true(Evaluator&, const Value& v, const CallArgs&) { return v.is_bool() && v.as_bool(); }
bool t_false(Evaluator&, const Value& v, const CallArgs&) { return v.is_bool() && !v.as_bool(); }
bool t_mapping(Evaluator&, const Value& v, const CallArgs&) { return v.is_dict(); }
bool t_callable(Evaluator&, const Value& v, const CallArgs&) { return v.is_function(); }
bool t_escaped(Evaluator&, const Value& v, const CallArgs&) { return v.is_string() && v.is_safe(); }

bool t_iterable(Evaluator&, const Value& v, const CallArgs&) {
  return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict();
}

bool t_sequence(Evaluator&, const Value& v, const CallArgs&) {
  return v.is_undefined() || v.is_string() || v.is_dict() || (v.is_list() && v.seq_kind() != SeqKind::Iterator);
}

int64_t int_operand(const Value& v, const char* test) {
  if (v.is_undefined()) fail(undefined_message(v));
  if (!v.is_int() && !v.is_bool()) fail(std::string("test '") + test + "' needs an integer, got " + type_name(v));
  return v.as_int();
}

bool t_odd(Evaluator&, const Value& v, const CallArgs&) { return int_operand(v, "odd") % 2 != 0; }
bool t_even(Evaluator&, const Value& v, const CallArgs&) { return int_operand(v, "even") % 2 == 0; }
bool t_divisibleby(Evaluator&, const Value& v, const CallArgs& a) {
  int64_t d = int_operand(arg0(a, "divisibleby"), "divisibleby");
  if (d == 0) fail("integer division or modulo by zero");
  return int_operand(v, "divisibleby") % d == 0;
}

bool t_eq(Evaluator&, const Value& v, const CallArgs& a) { return equals(v, arg0(a, "eq")); }
bool t_ne(Evaluator&, const Value& v, const CallArgs& a) { return !equals(v, arg0(a, "ne")); }
bool t_lt(Evaluator&, const Value& v, const CallArgs& a) { return compare(v, arg0(a, "lt")) < 0; }
bool t_le(Evaluator&, const Value& v, const CallArgs& a) { return compare(v, arg0(a, "le")) <= 0; }
bool t_gt(Evaluator&, const Value& v, const CallArgs& a) { return compare(v, arg0(a, "gt")) > 0; }
bool t_ge(Evaluator&, const Value& v, const CallArgs& a) { return compare(v, arg0(a, "ge")) >= 0; }
bool t_in(Evaluator&, const Value& v, const CallArgs& a) { return contains(arg0(a, "in"), v); }

bool t_sameas(Evaluator&, const Value& v, const CallArgs& a) {
  Value o = arg0(a, "sameas");
  if (v.kind() != o.kind()) return false;
  switch (v.kind()) {
    case Kind::None:
    case Kind::Undefined: return v.is_none();
    case Kind::Bool: return v.as_bool() == o.as_bool();
    case Kind::Int: return v.as_int() == o.as_int() && v.as_int() >= -5 && v.as_int() <= 256;  // CPython's small ints
    case Kind::List:
    case Kind::Dict:
    case Kind::Namespace:
    case Kind::Function: return v.identity() == o.identity();
    default: return false;
  }
}

bool t_lower(Evaluator&, const Value& v, const CallArgs&) {
  std::string s = to_str(v);
  return text::lower(s) == s && text::upper(s) != s;
}

bool t_upper(Evaluator&, const Value& v, const CallArgs&) {
  std::string s = to_str(v);
  return text::upper(s) == s && text::lower(s) != s;
}

}  // namespace

TestFn find_test(std::string_view name) {
  static const std::unordered_map<std::string_view, TestFn> table = {
      {"defined", t_defined},   {"undefined", t_undefined}, {"none", t_none},
      {"string", t_string},     {"number", t_number},       {"integer", t_integer},
      {"float", t_float},       {"boolean", t_boolean},     {"true", t_true},
      {"false", t_false},       {"mapping", t_mapping},     {"callable", t_callable},
      {"escaped", t_escaped},   {"iterable", t_iterable},   {"sequence", t_sequence},
      {"odd", t_odd},           {"even", t_even},           {"divisibleby", t_divisibleby},
      {"eq", t_eq},             {"equalto", t_eq},          {"==", t_eq},
      {"ne", t_ne},             {"!=", t_ne},               {"lt", t_lt},
      {"lessthan", t_lt},       {"<", t_lt},                {"le", t_le},
      {"<=", t_le},             {"gt", t_gt},               {"greaterthan", t_gt},
      {">", t_gt},              {"ge", t_ge},               {">=", t_ge},
      {"in", t_in},             {"sameas", t_sameas},       {"lower", t_lower},
      {"upper", t_upper},
  };
  auto it = table.find(name);
  return it == table.end() ? nullptr : it->second;
}

}  // namespace tandem::chat
