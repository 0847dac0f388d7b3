// Expression half of the parser (see token_cursor.h for the grammar summary).
#include "chat/token_cursor.h"

namespace tandem::chat::detail {

std::string describe(const Token& t) {
  switch (t.type) {
    case TokenType::Text: return "template data";
    case TokenType::VarBegin: return "'{{'";
    case TokenType::VarEnd: return "end of print statement";
    case TokenType::BlockBegin: return "'{%'";
    case TokenType::BlockEnd: return "end of statement block";
    case TokenType::Name: return "'" + t.text + "'";
    case TokenType::String: return "string literal";
    case TokenType::Integer:
    case TokenType::Float: return "number " + t.text;
    case TokenType::Operator: return "'" + t.text + "'";
    case TokenType::End: return "end of template";
  }
  return "token";
}

bool ExprParser::at_tuple_end(const char* extra_end) const {
  if (cur().type == TokenType::VarEnd || cur().type == TokenType::BlockEnd || cur().type == TokenType::End)
    return true;
  if (cur().type == TokenType::Operator && cur().text == ")") return true;
  return extra_end && cur().type == TokenType::Name && cur().text == extra_end;
}

ExprPtr ExprParser::parse_tuple(bool with_condexpr, const char* extra_end, bool explicit_parens) {
  int line = cur().line;
  std::vector<ExprPtr> items;
  bool is_tuple = false;
  while (true) {
    if (!items.empty()) expect_op(",");
    if (at_tuple_end(extra_end)) break;
    items.push_back(parse_expression(with_condexpr));
    if (is_op(",")) is_tuple = true;
    else break;
  }
  if (!is_tuple) {
    if (!items.empty()) return std::move(items[0]);
    if (!explicit_parens) error("expected an expression, got " + describe(cur()));
  }
  auto e = make(ExprKind::Tuple, line);
  e->args = std::move(items);
  return e;
}

ExprPtr ExprParser::parse_expression(bool with_condexpr) {
  DepthGuard guard(depth_, cur().line);
  return with_condexpr ? parse_condexpr() : parse_or();
}

ExprPtr ExprParser::parse_condexpr() {
  ExprPtr expr1 = parse_or();
  while (is_name("if")) {
    int line = cur().line;
    advance();
    ExprPtr cond = parse_or();
    ExprPtr otherwise;
    if (skip_name("else")) otherwise = parse_condexpr();
    auto e = make(ExprKind::Cond, line);
    e->args.push_back(std::move(cond));
    e->args.push_back(std::move(expr1));
    e->args.push_back(std::move(otherwise));
    expr1 = std::move(e);
  }
  return expr1;
}

ExprPtr ExprParser::binary(ExprKind k, ExprPtr l, ExprPtr r, int line, std::string op) {
  auto e = make(k, line);
  e->name = std::move(op);
  e->args.push_back(std::move(l));
  e->args.push_back(std::move(r));
  return e;
}

ExprPtr ExprParser::parse_or() {
  ExprPtr left = parse_and();
  while (is_name("or")) {
    int line = cur().line;
    advance();
    left = binary(ExprKind::Or, std::move(left), parse_and(), line);
  }
  return left;
}

ExprPtr ExprParser::parse_and() {
  ExprPtr left = parse_not();
  while (is_name("and")) {
    int line = cur().line;
    advance();
    left = binary(ExprKind::And, std::move(left), parse_not(), line);
  }
  return left;
}

ExprPtr ExprParser::parse_not() {
  if (is_name("not")) {
    DepthGuard guard(depth_, cur().line);
    auto e = make(ExprKind::Not, cur().line);
    advance();
    e->args.push_back(parse_not());
    return e;
  }
  return parse_compare();
}

ExprPtr ExprParser::parse_compare() {
  int line = cur().line;
  ExprPtr first = parse_math1();
  ExprPtr cmp;
  while (true) {
    std::string op;
    if (cur().type == TokenType::Operator &&
        (cur().text == "==" || cur().text == "!=" || cur().text == "<" || cur().text == "<=" ||
         cur().text == ">" || cur().text == ">=")) {
      op = cur().text;
      advance();
    } else if (is_name("in")) {
      op = "in";
      advance();
    } else if (is_name("not") && peek().type == TokenType::Name && peek().text == "in") {
      op = "not in";
      advance();
      advance();
    } else {
      break;
    }
    if (!cmp) {
      cmp = make(ExprKind::Compare, line);
      cmp->args.push_back(std::move(first));
    }
    cmp->ops.push_back(op);
    cmp->args.push_back(parse_math1());
  }
  return cmp ? std::move(cmp) : std::move(first);
}

ExprPtr ExprParser::parse_math1() {
  ExprPtr left = parse_concat();
  while (is_op("+") || is_op("-")) {
    std::string op = cur().text;
    int line = cur().line;
    advance();
    left = binary(ExprKind::Binary, std::move(left), parse_concat(), line, op);
  }
  return left;
}

ExprPtr ExprParser::parse_concat() {
  ExprPtr left = parse_math2();
  while (is_op("~")) {
    int line = cur().line;
    advance();
    left = binary(ExprKind::Binary, std::move(left), parse_math2(), line, "~");
  }
  return left;
}

ExprPtr ExprParser::parse_math2() {
  ExprPtr left = parse_pow();
  while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
    std::string op = cur().text;
    int line = cur().line;
    advance();
    left = binary(ExprKind::Binary, std::move(left), parse_pow(), line, op);
  }
  return left;
}

ExprPtr ExprParser::parse_pow() {
  ExprPtr left = parse_unary(true);
  while (is_op("**")) {
    int line = cur().line;
    advance();
    left = binary(ExprKind::Binary, std::move(left), parse_unary(true), line, "**");
  }
  return left;
}

ExprPtr ExprParser::parse_unary(bool with_filter) {
  DepthGuard guard(depth_, cur().line);
  int line = cur().line;
  ExprPtr node;
  if (is_op("-") || is_op("+")) {
    auto e = make(is_op("-") ? ExprKind::Negate : ExprKind::Plus, line);
    advance();
    e->args.push_back(parse_unary(false));
    node = std::move(e);
  } else {
    node = parse_primary();
  }
  node = parse_postfix(std::move(node));
  if (with_filter) node = parse_filter_expr(std::move(node));
  return node;
}

ExprPtr ExprParser::parse_primary() {
  const Token& t = cur();
  int line = t.line;
  if (t.type == TokenType::Name) {
    auto e = make(ExprKind::Literal, line);
    const std::string& n = t.text;
    if (n == "true" || n == "True") e->literal = Value(true);
    else if (n == "false" || n == "False") e->literal = Value(false);
    else if (n == "none" || n == "None") e->literal = Value::none();
    else {
      e->kind = ExprKind::Name;
      e->name = n;
    }
    advance();
    return e;
  }
  if (t.type == TokenType::String) {
    std::string s;
    while (cur().type == TokenType::String) {  // adjacent literals concatenate
      s += cur().text;
      advance();
    }
    auto e = make(ExprKind::Literal, line);
    e->literal = Value(std::move(s));
    return e;
  }
  if (t.type == TokenType::Integer || t.type == TokenType::Float) {
    auto e = make(ExprKind::Literal, line);
    e->literal = t.type == TokenType::Integer ? Value(t.int_value) : Value(t.float_value);
    advance();
    return e;
  }
  if (is_op("(")) {
    advance();
    ExprPtr e = parse_tuple(true, {}, true);
    expect_op(")");
    return e;
  }
  if (is_op("[")) {
    advance();
    auto e = make(ExprKind::List, line);
    while (!is_op("]")) {
      if (!e->args.empty()) expect_op(",");
      if (is_op("]")) break;
      e->args.push_back(parse_expression(true));
    }
    expect_op("]");
    return e;
  }
  if (is_op("{")) {
    advance();
    auto e = make(ExprKind::Dict, line);
    while (!is_op("}")) {
      if (!e->args.empty()) expect_op(",");
      if (is_op("}")) break;
      e->args.push_back(parse_expression(true));
      expect_op(":");
      e->args.push_back(parse_expression(true));
    }
    expect_op("}");
    return e;
  }
  error("unexpected " + describe(t));
}

ExprPtr ExprParser::parse_postfix(ExprPtr node) {
  while (true) {
    int line = cur().line;
    if (is_op(".")) {
      advance();
      if (cur().type == TokenType::Name) {
        auto e = make(ExprKind::Attr, line);
        e->name = cur().text;
        advance();
        e->args.push_back(std::move(node));
        node = std::move(e);
      } else if (cur().type == TokenType::Integer) {
        auto e = make(ExprKind::Item, line);
        auto idx = make(ExprKind::Literal, line);
        idx->literal = Value(cur().int_value);
        advance();
        e->args.push_back(std::move(node));
        e->args.push_back(std::move(idx));
        node = std::move(e);
      } else {
        error("expected an attribute name after '.', got " + describe(cur()));
      }
    } else if (is_op("[")) {
      advance();
      node = parse_subscript(std::move(node), line);
    } else if (is_op("(")) {
      node = parse_call(std::move(node));
    } else {
      return node;
    }
  }
}

ExprPtr ExprParser::parse_subscribed() {
  int line = cur().line;
  ExprPtr start;
  if (!is_op(":")) {
    start = parse_expression(true);
    if (!is_op(":")) return start;
  }
  advance();
  auto e = make(ExprKind::Slice, line);
  e->args.push_back(nullptr);
  e->args.push_back(std::move(start));
  ExprPtr stop, step;
  if (!is_op(":") && !is_op("]") && !is_op(",")) stop = parse_expression(true);
  if (skip_op(":") && !is_op("]") && !is_op(",")) step = parse_expression(true);
  e->args.push_back(std::move(stop));
  e->args.push_back(std::move(step));
  return e;
}

ExprPtr ExprParser::parse_subscript(ExprPtr node, int line) {
  std::vector<ExprPtr> items;
  while (!is_op("]")) {
    if (!items.empty()) expect_op(",");
    items.push_back(parse_subscribed());
  }
  expect_op("]");
  if (items.empty()) error("expected a subscript, got ']'");
  if (items.size() == 1 && items[0]->kind == ExprKind::Slice) {
    items[0]->args[0] = std::move(node);
    return std::move(items[0]);
  }
  for (const auto& it : items)
    if (it->kind == ExprKind::Slice) error("multi-dimensional slices are not supported");
  auto e = make(ExprKind::Item, line);
  e->args.push_back(std::move(node));
  if (items.size() == 1) {
    e->args.push_back(std::move(items[0]));
  } else {
    auto t = make(ExprKind::Tuple, line);
    t->args = std::move(items);
    e->args.push_back(std::move(t));
  }
  return e;
}

void ExprParser::parse_call_args(Expr& e) {
  expect_op("(");
  bool first = true;
  while (!is_op(")")) {
    if (!first) expect_op(",");
    first = false;
    if (is_op(")")) break;
    if (is_op("*") || is_op("**")) error("*args and **kwargs in calls are not supported");
    if (cur().type == TokenType::Name && peek().type == TokenType::Operator && peek().text == "=") {
      std::string key = cur().text;
      advance();
      advance();
      e.kwargs.emplace_back(key, parse_expression(true));
    } else {
      if (!e.kwargs.empty()) error("positional argument follows keyword argument");
      e.args.push_back(parse_expression(true));
    }
  }
  expect_op(")");
}

ExprPtr ExprParser::parse_call(ExprPtr callee) {
  auto e = make(ExprKind::Call, cur().line);
  e->args.push_back(std::move(callee));
  parse_call_args(*e);
  return e;
}

ExprPtr ExprParser::parse_filter_chain(ExprPtr node, bool start_inline) {
  while (start_inline || is_op("|")) {
    if (!start_inline) advance();
    start_inline = false;
    auto e = make(ExprKind::Filter, cur().line);
    e->name = expect_name();
    while (is_op(".")) {
      advance();
      e->name += "." + expect_name();
    }
    e->args.push_back(std::move(node));
    if (is_op("(")) parse_call_args(*e);
    node = std::move(e);
  }
  return node;
}

ExprPtr ExprParser::parse_filter_expr(ExprPtr node) {
  while (true) {
    if (is_op("|")) {
      node = parse_filter_chain(std::move(node));
    } else if (is_name("is")) {
      node = parse_test(std::move(node));
    } else if (is_op("(")) {
      node = parse_call(std::move(node));
    } else {
      return node;
    }
  }
}

ExprPtr ExprParser::parse_test(ExprPtr node) {
  auto e = make(ExprKind::Test, cur().line);
  advance();  // 'is'
  if (skip_name("not")) e->negated = true;
  e->name = expect_name();
  while (is_op(".")) {
    advance();
    e->name += "." + expect_name();
  }
  e->args.push_back(std::move(node));
  const Token& t = cur();
  bool arg_start = t.type == TokenType::Name || t.type == TokenType::String || t.type == TokenType::Integer ||
                   t.type == TokenType::Float || is_op("[") || is_op("{");
  if (is_op("(")) {
    parse_call_args(*e);
  } else if (arg_start && !is_name("else") && !is_name("or") && !is_name("and")) {
    if (is_name("is")) error("you cannot chain multiple tests with 'is'");
    e->args.push_back(parse_postfix(parse_primary()));
  }
  return e;
}
}  // namespace tandem::chat::detail
