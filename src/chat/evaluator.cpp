#include "chat/evaluator.h"

#include "chat/builtins.h"

namespace tandem::chat {
namespace {

[[noreturn]] void rethrow_with_line(const TemplateError& err, int line) {
  if (dynamic_cast<const TemplateRaised*>(&err)) throw TemplateRaised(err.detail(), line);
  throw TemplateError(err.detail(), line);
}

// Builds the `loop` variable of one for-loop iteration.
Value make_loop(const std::vector<Value>& items, size_t i, const std::shared_ptr<Value>& last_changed) {
  auto d = std::make_shared<Dict>();
  int64_t n = static_cast<int64_t>(items.size());
  int64_t idx = static_cast<int64_t>(i);
  d->entries.reserve(14);
  d->entries.emplace_back(Value("index"), Value(idx + 1));
  d->entries.emplace_back(Value("index0"), Value(idx));
  d->entries.emplace_back(Value("revindex"), Value(n - idx));
  d->entries.emplace_back(Value("revindex0"), Value(n - idx - 1));
  d->entries.emplace_back(Value("first"), Value(i == 0));
  d->entries.emplace_back(Value("last"), Value(idx == n - 1));
  d->entries.emplace_back(Value("length"), Value(n));
  d->entries.emplace_back(Value("depth"), Value(1));
  d->entries.emplace_back(Value("depth0"), Value(0));
  if (i > 0) d->entries.emplace_back(Value("previtem"), items[i - 1]);
  if (idx + 1 < n) d->entries.emplace_back(Value("nextitem"), items[i + 1]);
  d->entries.emplace_back(Value("cycle"), Value::function("loop.cycle", [idx](const CallArgs& a) {
                            if (a.positional.empty()) fail("no items for cycling given");
                            return a.positional[static_cast<size_t>(idx) % a.positional.size()];
                          }));
  d->entries.emplace_back(Value("changed"), Value::function("loop.changed", [last_changed](const CallArgs& a) {
                            Value now = Value::list(a.positional);
                            if (!last_changed->is_undefined() && equals(*last_changed, now)) return Value(false);
                            *last_changed = now;
                            return Value(true);
                          }));
  return Value::dict(std::move(d));
}

}  // namespace

const Value* Scope::find(const std::string& name) const {
  for (const Scope* s = this; s; s = s->parent_.get()) {
    auto it = s->vars_.find(name);
    if (it != s->vars_.end()) return &it->second;
  }
  return nullptr;
}

void Evaluator::charge(size_t bytes) {
  work_bytes_ += bytes;
  if (work_bytes_ > limits_.max_string_work_bytes)
    fail("template built more than " + std::to_string(limits_.max_string_work_bytes) + " bytes of strings");
  if (bytes > limits_.max_output_bytes)
    fail("string exceeds the limit of " + std::to_string(limits_.max_output_bytes) + " bytes");
}

void Evaluator::count_iterations(uint64_t n) {
  iterations_ += n;
  if (iterations_ > limits_.max_loop_iterations)
    fail("template exceeded " + std::to_string(limits_.max_loop_iterations) + " loop iterations");
}

void Evaluator::append(std::string& out, const std::string& text) {
  charge(text.size());
  if (out.size() + text.size() > limits_.max_output_bytes)
    fail("rendered output exceeds " + std::to_string(limits_.max_output_bytes) + " bytes");
  out += text;
}

void Evaluator::render(const Body& body, const ScopePtr& scope, std::string& out) { exec(body, scope, out); }

Evaluator::Flow Evaluator::exec(const Body& body, const ScopePtr& scope, std::string& out) {
  for (const auto& s : body) {
    Flow f = exec_stmt(*s, scope, out);
    if (f != Flow::Normal) return f;
  }
  return Flow::Normal;
}

Evaluator::Flow Evaluator::exec_stmt(const Stmt& s, const ScopePtr& scope, std::string& out) {
  try {
    switch (s.kind) {
      case StmtKind::Text: append(out, s.text); return Flow::Normal;
      case StmtKind::Output: append(out, to_str(eval(*s.expr, scope))); return Flow::Normal;
      case StmtKind::If:
        for (const auto& [cond, body] : s.branches)
          if (!cond || truthy(eval(*cond, scope))) return exec(body, scope, out);
        return Flow::Normal;
      case StmtKind::For: return exec_for(s, scope, out);
      case StmtKind::Set:
      case StmtKind::SetBlock: exec_set(s, scope, out); return Flow::Normal;
      case StmtKind::Macro: scope->set(s.name, make_macro(s, scope)); return Flow::Normal;
      case StmtKind::CallBlock: exec_call_block(s, scope, out); return Flow::Normal;
      case StmtKind::FilterBlock: {
        std::string inner;
        exec(s.body, std::make_shared<Scope>(scope), inner);
        append(out, to_str(eval_filter_chain(*s.expr, scope, Value(std::move(inner)))));
        return Flow::Normal;
      }
      case StmtKind::Break: return Flow::Break;
      case StmtKind::Continue: return Flow::Continue;
      case StmtKind::Scope: return exec(s.body, scope, out);
    }
  } catch (const TemplateError& err) {
    if (err.line() == 0) rethrow_with_line(err, s.line);
    throw;
  }
  return Flow::Normal;
}

Evaluator::Flow Evaluator::exec_for(const Stmt& s, const ScopePtr& scope, std::string& out) {
  Value seq = eval(*s.expr, scope);
  if (seq.is_none() || seq.is_number() || seq.is_function() || seq.is_namespace())
    fail("'" + type_name(seq) + "' object is not iterable");
  std::vector<Value> items = iterate(seq);
  if (s.cond) {
    std::vector<Value> kept;
    for (auto& item : items) {
      count_iterations(1);
      auto probe = std::make_shared<Scope>(scope);
      assign(s.target, item, *probe);
      if (truthy(eval(*s.cond, probe))) kept.push_back(std::move(item));
    }
    items = std::move(kept);
  }
  if (items.empty()) return exec(s.else_body, std::make_shared<Scope>(scope), out);  // may break an outer loop
  auto last_changed = std::make_shared<Value>();
  for (size_t i = 0; i < items.size(); ++i) {
    count_iterations(1);
    auto iter_scope = std::make_shared<Scope>(scope);  // sets inside the body do not outlive the iteration
    iter_scope->set("loop", make_loop(items, i, last_changed));
    assign(s.target, items[i], *iter_scope);
    Flow f = exec(s.body, iter_scope, out);
    if (f == Flow::Break) break;
  }
  return Flow::Normal;
}

void Evaluator::assign(const Target& t, const Value& v, Scope& scope) {
  if (!t.is_tuple) {
    if (!t.attr.empty()) {
      const Value* ns = scope.find(t.name);
      if (!ns || !ns->is_namespace()) fail("cannot assign attribute on non-namespace object");
      ns->dict().set(Value(t.attr), v);
      return;
    }
    scope.set(t.name, v);
    return;
  }
  if (v.is_undefined()) fail(undefined_message(v));
  std::vector<Value> parts = iterate(v);
  if (!(v.is_list() || v.is_string() || v.is_dict())) fail("cannot unpack non-iterable " + type_name(v) + " object");
  if (parts.size() < t.items.size())
    fail("not enough values to unpack (expected " + std::to_string(t.items.size()) + ", got " +
         std::to_string(parts.size()) + ")");
  if (parts.size() > t.items.size())
    fail("too many values to unpack (expected " + std::to_string(t.items.size()) + ")");
  for (size_t i = 0; i < parts.size(); ++i) assign(t.items[i], parts[i], scope);
}

void Evaluator::exec_set(const Stmt& s, const ScopePtr& scope, std::string&) {
  Value v;
  if (s.kind == StmtKind::Set) {
    v = eval(*s.expr, scope);
  } else {
    std::string inner;
    exec(s.body, std::make_shared<Scope>(scope), inner);
    v = Value(std::move(inner));
    if (s.expr) v = eval_filter_chain(*s.expr, scope, v);
  }
  assign(s.target, v, *scope);
}

Value Evaluator::make_macro(const Stmt& s, const ScopePtr& closure) {
  const Stmt* def = &s;
  std::string name = s.kind == StmtKind::Macro ? s.name : "caller";
  return Value::function(name, [this, def, closure, name](const CallArgs& args) {
    if (call_depth_ >= limits_.max_call_depth)
      fail("macro calls nested deeper than " + std::to_string(limits_.max_call_depth) + " (runaway recursion?)");
    auto scope = std::make_shared<Scope>(closure);
    const auto& params = def->params;
    std::vector<Value> extra;
    for (size_t i = 0; i < args.positional.size(); ++i) {
      if (i < params.size()) scope->set(params[i].name, args.positional[i]);
      else extra.push_back(args.positional[i]);
    }
    auto kwargs = std::make_shared<Dict>();
    std::vector<bool> given(params.size(), false);
    for (size_t i = 0; i < params.size() && i < args.positional.size(); ++i) given[i] = true;
    for (const auto& [k, v] : args.keyword) {
      bool matched = false;
      for (size_t i = 0; i < params.size(); ++i) {
        if (params[i].name != k) continue;
        if (given[i]) fail("macro '" + name + "' got multiple values for argument '" + k + "'");
        given[i] = matched = true;
        scope->set(k, v);
      }
      if (!matched && k == "caller" && !def->takes_caller)
        fail("macro '" + name + "' was invoked with two values for the special caller argument");
      if (!matched && k == "caller") scope->set("caller", v);  // passed by {% call %}
      else if (!matched && !def->takes_kwargs) fail("macro '" + name + "' takes no keyword argument '" + k + "'");
      else if (!matched) kwargs->set(Value(k), v);
    }
    if (!extra.empty() && !def->takes_varargs)
      fail("macro '" + name + "' takes not more than " + std::to_string(params.size()) + " argument(s)");
    for (size_t i = 0; i < params.size(); ++i) {
      if (given[i]) continue;
      if (params[i].default_value) scope->set(params[i].name, eval(*params[i].default_value, scope));
      else scope->set(params[i].name, Value::undefined("parameter '" + params[i].name + "' was not provided"));
    }
    scope->set("varargs", Value::tuple(std::move(extra)));
    scope->set("kwargs", Value::dict(kwargs));
    std::string out;
    ++call_depth_;
    try {
      exec(def->body, scope, out);
    } catch (...) {
      --call_depth_;
      throw;
    }
    --call_depth_;
    return Value(std::move(out));
  });
}

void Evaluator::exec_call_block(const Stmt& s, const ScopePtr& scope, std::string& out) {
  const Expr& call_expr = *s.expr;
  Value callee = eval(*call_expr.args[0], scope);
  CallArgs args = eval_args(call_expr, scope, 1);
  args.keyword.emplace_back("caller", make_macro(s, scope));
  append(out, to_str(call(callee, args)));
}

Value Evaluator::call(const Value& callee, const CallArgs& args) {
  if (callee.is_undefined()) fail(undefined_message(callee));
  if (!callee.is_function()) fail("'" + type_name(callee) + "' object is not callable");
  return callee.function().fn(args);
}

CallArgs Evaluator::eval_args(const Expr& e, const ScopePtr& scope, size_t first) {
  CallArgs args;
  for (size_t i = first; i < e.args.size(); ++i) args.positional.push_back(eval(*e.args[i], scope));
  for (const auto& [k, v] : e.kwargs) args.keyword.emplace_back(k, eval(*v, scope));
  return args;
}

Value Evaluator::apply_filter(const std::string& name, const Value& subject, const CallArgs& args) {
  FilterFn f = find_filter(name);
  if (!f) f = find_seq_filter(name);
  if (!f) fail("no filter named '" + name + "'");
  return f(*this, subject, args);
}

bool Evaluator::apply_test(const std::string& name, const Value& subject, const CallArgs& args) {
  TestFn t = find_test(name);
  if (!t) fail("no test named '" + name + "'");
  return t(*this, subject, args);
}

Value Evaluator::eval_filter_chain(const Expr& e, const ScopePtr& scope, const Value& innermost) {
  const Expr* inner = e.args[0].get();
  Value subject = !inner                          ? innermost
                  : inner->kind == ExprKind::Filter ? eval_filter_chain(*inner, scope, innermost)
                                                    : eval(*inner, scope);
  return apply_filter(e.name, subject, eval_args(e, scope, 1));
}

Value Evaluator::eval(const Expr& e, const ScopePtr& scope) {
  try {
    return eval_inner(e, scope);
  } catch (const TemplateError& err) {
    if (err.line() == 0) rethrow_with_line(err, e.line);
    throw;
  }
}

Value Evaluator::eval_inner(const Expr& e, const ScopePtr& scope) {
  switch (e.kind) {
    case ExprKind::Literal: return e.literal;
    case ExprKind::Name: {
      const Value* v = scope->find(e.name);
      return v ? *v : Value::undefined("'" + e.name + "' is undefined");
    }
    case ExprKind::List:
    case ExprKind::Tuple: {
      std::vector<Value> items;
      items.reserve(e.args.size());
      for (const auto& a : e.args) items.push_back(eval(*a, scope));
      return e.kind == ExprKind::List ? Value::list(std::move(items)) : Value::tuple(std::move(items));
    }
    case ExprKind::Dict: {
      auto d = std::make_shared<Dict>();
      for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
        Value k = eval(*e.args[i], scope);
        if (k.is_list() && k.seq_kind() != SeqKind::Tuple) fail("unhashable type: 'list'");
        if (k.is_dict()) fail("unhashable type: 'dict'");
        d->set(k, eval(*e.args[i + 1], scope));
      }
      return Value::dict(std::move(d));
    }
    case ExprKind::Attr: return get_attr(eval(*e.args[0], scope), e.name);
    case ExprKind::Item: return get_item(eval(*e.args[0], scope), eval(*e.args[1], scope));
    case ExprKind::Slice: {
      Value obj = eval(*e.args[0], scope);
      auto part = [&](size_t i) { return e.args[i] ? eval(*e.args[i], scope) : Value::none(); };
      return slice(obj, part(1), part(2), part(3));
    }
    case ExprKind::Call: {
      Value callee = eval(*e.args[0], scope);
      return call(callee, eval_args(e, scope, 1));
    }
    case ExprKind::Filter: return eval_filter_chain(e, scope, Value());
    case ExprKind::Test: {
      Value subject = eval(*e.args[0], scope);
      bool r = apply_test(e.name, subject, eval_args(e, scope, 1));
      return Value(e.negated ? !r : r);
    }
    case ExprKind::Not: return Value(!truthy(eval(*e.args[0], scope)));
    case ExprKind::Negate: return negate(eval(*e.args[0], scope));
    case ExprKind::Plus: {
      Value v = eval(*e.args[0], scope);
      if (v.is_undefined()) fail(undefined_message(v));
      if (!v.is_number()) fail("bad operand type for unary +: '" + type_name(v) + "'");
      return v.is_bool() ? Value(v.as_int()) : v;
    }
    case ExprKind::Binary: {
      Value r = binary_op(e.name, eval(*e.args[0], scope), eval(*e.args[1], scope), limits_.max_output_bytes);
      if (r.is_string()) charge(r.str().size());
      return r;
    }
    case ExprKind::Compare: {
      Value left = eval(*e.args[0], scope);
      for (size_t i = 0; i < e.ops.size(); ++i) {
        Value right = eval(*e.args[i + 1], scope);
        const std::string& op = e.ops[i];
        bool ok;
        if (op == "==") ok = equals(left, right);
        else if (op == "!=") ok = !equals(left, right);
        else if (op == "in") ok = contains(right, left);
        else if (op == "not in") ok = !contains(right, left);
        else {
          int c = compare(left, right);
          ok = op == "<" ? c < 0 : op == "<=" ? c <= 0 : op == ">" ? c > 0 : c >= 0;
        }
        if (!ok) return Value(false);
        left = std::move(right);
      }
      return Value(true);
    }
    case ExprKind::And: {
      Value l = eval(*e.args[0], scope);
      return truthy(l) ? eval(*e.args[1], scope) : l;
    }
    case ExprKind::Or: {
      Value l = eval(*e.args[0], scope);
      return truthy(l) ? l : eval(*e.args[1], scope);
    }
    case ExprKind::Cond:
      if (truthy(eval(*e.args[0], scope))) return eval(*e.args[1], scope);
      return e.args[2] ? eval(*e.args[2], scope) : Value::undefined("the inline if-expression evaluated to false and no else section was defined");
  }
  return Value();
}

}  // namespace tandem::chat
