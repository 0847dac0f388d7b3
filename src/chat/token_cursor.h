#pragma once
// Shared by the statement and expression parsers: a cursor over the token stream with Jinja2's
// error reporting (TemplateError naming the line) and a recursion guard.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "chat/ast.h"
#include "chat/lexer.h"
#include "chat/parser.h"

namespace tandem::chat::detail {

std::string describe(const Token& t);

class DepthGuard {
 public:
  DepthGuard(int& depth, int line) : depth_(depth) {
    if (++depth_ > kMaxParseDepth) throw TemplateError("template nested too deeply", line);
  }
  ~DepthGuard() { --depth_; }

 private:
  int& depth_;
};

class TokenCursor {
 public:
  explicit TokenCursor(const std::vector<Token>& tokens) : t_(tokens) {}

 protected:
  const Token& cur() const { return t_[pos_]; }
  const Token& peek(size_t k = 1) const { return t_[std::min(pos_ + k, t_.size() - 1)]; }
  void advance() {
    if (pos_ + 1 < t_.size()) ++pos_;
  }
  bool is_op(const char* op) const { return cur().type == TokenType::Operator && cur().text == op; }
  bool is_name(const char* name) const { return cur().type == TokenType::Name && cur().text == name; }
  bool skip_op(const char* op) {
    if (!is_op(op)) return false;
    advance();
    return true;
  }
  bool skip_name(const char* name) {
    if (!is_name(name)) return false;
    advance();
    return true;
  }
  [[noreturn]] void error(const std::string& what) const { throw TemplateError(what, cur().line); }
  void expect_op(const char* op) {
    if (!skip_op(op)) error(std::string("expected '") + op + "', got " + describe(cur()));
  }
  std::string expect_name() {
    if (cur().type != TokenType::Name) error("expected a name, got " + describe(cur()));
    std::string n = cur().text;
    advance();
    return n;
  }
  void expect_block_end() {
    if (cur().type != TokenType::BlockEnd) error("expected end of statement block, got " + describe(cur()));
    advance();
  }

  ExprPtr make(ExprKind k, int line) {
    auto e = std::make_unique<Expr>();
    e->kind = k;
    e->line = line;
    return e;
  }

  const std::vector<Token>& t_;
  size_t pos_ = 0;
  int depth_ = 0;
};

// Jinja2's expression grammar, precedence from lowest to highest: conditional, or, and, not,
// comparisons (chained, in, not in), + -, ~, * / // %, **, unary - +, then postfix access,
// calls, filters and tests.
class ExprParser : public TokenCursor {
 public:
  using TokenCursor::TokenCursor;

 protected:
  bool at_tuple_end(const char* extra_end) const;
  ExprPtr parse_tuple(bool with_condexpr, const char* extra_end, bool explicit_parens);
  ExprPtr parse_expression(bool with_condexpr);
  ExprPtr parse_condexpr();
  ExprPtr binary(ExprKind k, ExprPtr l, ExprPtr r, int line, std::string op = {});
  ExprPtr parse_or();
  ExprPtr parse_and();
  ExprPtr parse_not();
  ExprPtr parse_compare();
  ExprPtr parse_math1();
  ExprPtr parse_concat();
  ExprPtr parse_math2();
  ExprPtr parse_pow();
  ExprPtr parse_unary(bool with_filter);
  ExprPtr parse_primary();
  ExprPtr parse_postfix(ExprPtr node);
  // One entry of `x[...]`: an expression or a slice `start:stop:step` (returned as a Slice node
  // whose object slot is still empty).
  ExprPtr parse_subscribed();
  ExprPtr parse_subscript(ExprPtr node, int line);
  // Parses `(args)` into e->args (appended) and e->kwargs.
  void parse_call_args(Expr& e);
  ExprPtr parse_call(ExprPtr callee);
  // `| name(args) | name ...`; with start_inline the first filter has no leading '|'.
  ExprPtr parse_filter_chain(ExprPtr node, bool start_inline = false);
  ExprPtr parse_filter_expr(ExprPtr node);
  ExprPtr parse_test(ExprPtr node);
};

}  // namespace tandem::chat::detail
