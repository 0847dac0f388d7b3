#pragma once
// Syntax tree of a parsed template: expressions and statements, each with its source line so
// render errors can name it.
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chat/value.h"

namespace tandem::chat {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

enum class ExprKind {
  Literal,   // literal
  Name,      // name
  List,      // args = items
  Tuple,     // args = items
  Dict,      // args = key0, value0, key1, value1, ...
  Attr,      // args[0].name
  Item,      // args[0][args[1]]
  Slice,     // args[0][args[1]:args[2]:args[3]] (absent parts are null)
  Call,      // args[0](args[1..], kwargs)
  Filter,    // args[0] | name(args[1..], kwargs); args[0] null inside filter blocks
  Test,      // args[0] is [not] name(args[1..], kwargs)
  Not,       // not args[0]
  Negate,    // -args[0]
  Plus,      // +args[0]
  Binary,    // args[0] <name> args[1] for + - * / // % ** ~
  Compare,   // args[0] ops[0] args[1] ops[1] args[2] ... (chained)
  And,       // args[0] and args[1]
  Or,        // args[0] or args[1]
  Cond,      // args[1] if args[0] else args[2] (args[2] may be null)
};

struct Expr {
  ExprKind kind;
  int line = 0;
  Value literal;
  std::string name;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::string> ops;
  bool negated = false;  // `is not`
};

// Assignment target of set/for: a name, `ns.attr`, or a (nested) tuple of targets.
struct Target {
  std::string name;
  std::string attr;  // non-empty for `ns.attr`
  std::vector<Target> items;
  bool is_tuple = false;
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

enum class StmtKind {
  Text,        // text
  Output,      // {{ expr }}
  If,          // branches: (cond, body)...; a null cond is the else branch
  For,         // for target in expr [if cond] body [else else_body]
  Set,         // set target = expr
  SetBlock,    // set target [| filters via expr] body endset
  Macro,       // macro name(params) body endmacro
  CallBlock,   // call[(params)] expr body endcall
  FilterBlock, // filter expr (a Filter chain whose innermost subject is null) body endfilter
  Break,
  Continue,
  Scope,       // a body rendered in place (generation blocks)
};

struct MacroParam {
  std::string name;
  ExprPtr default_value;  // may be null
};

struct Stmt {
  StmtKind kind;
  int line = 0;
  std::string text;
  ExprPtr expr;
  ExprPtr cond;
  Target target;
  std::vector<std::pair<ExprPtr, Body>> branches;
  Body body;
  Body else_body;
  std::string name;
  std::vector<MacroParam> params;
  // Macros: whether the body reads varargs / kwargs; Jinja2 rejects extra arguments otherwise.
  bool takes_varargs = false;
  bool takes_kwargs = false;
  bool takes_caller = false;
};

// Whether any expression in `body` (nested bodies included) reads the variable `name`.
bool mentions_name(const Body& body, std::string_view name);

}  // namespace tandem::chat
