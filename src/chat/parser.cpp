#include "chat/parser.h"

#include <initializer_list>

#include "chat/token_cursor.h"

namespace tandem::chat {
namespace {

using detail::DepthGuard;
using detail::describe;

// Statement half of the parser: template data, {{ }}, and the block tags.
class Parser : public detail::ExprParser {
 public:
  using ExprParser::ExprParser;

  Body parse_all() {
    std::string end_tag;
    Body body = subparse({}, end_tag);
    return body;
  }

 private:

  // ---- statements ----

  // Parses statements until a block tag whose name is in `ends`; leaves that name in `end_tag`
  // and the position just after it (the rest of that tag is for the caller).
  Body subparse(std::initializer_list<const char*> ends, std::string& end_tag) {
    DepthGuard guard(depth_, cur().line);
    Body body;
    while (true) {
      const Token& t = cur();
      if (t.type == TokenType::End) {
        if (ends.size() == 0) return body;
        std::string expected;
        for (const char* e : ends) expected += (expected.empty() ? "'" : " or '") + std::string(e) + "'";
        error("unexpected end of template; expected " + expected);
      }
      if (t.type == TokenType::Text) {
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::Text;
        s->line = t.line;
        s->text = t.text;
        body.push_back(std::move(s));
        advance();
      } else if (t.type == TokenType::VarBegin) {
        advance();
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::Output;
        s->line = t.line;
        s->expr = parse_tuple(true, {}, false);
        if (cur().type != TokenType::VarEnd) error("expected end of print statement, got " + describe(cur()));
        advance();
        body.push_back(std::move(s));
      } else if (t.type == TokenType::BlockBegin) {
        advance();
        if (cur().type != TokenType::Name) error("expected a statement name, got " + describe(cur()));
        std::string name = cur().text;
        for (const char* e : ends) {
          if (name == e) {
            advance();
            end_tag = name;
            return body;
          }
        }
        if (name == "elif" || name == "else" || name.rfind("end", 0) == 0) {
          std::string expected;
          for (const char* e : ends) expected += (expected.empty() ? "'" : " or '") + std::string(e) + "'";
          error("unexpected '" + name + "'" + (expected.empty() ? "" : "; expected " + expected));
        }
        body.push_back(parse_statement());
      } else {
        error("unexpected " + describe(t));
      }
    }
  }

  StmtPtr new_stmt(StmtKind k, int line) {
    auto s = std::make_unique<Stmt>();
    s->kind = k;
    s->line = line;
    return s;
  }

  StmtPtr parse_statement() {
    int line = cur().line;
    std::string name = cur().text;
    advance();
    if (name == "if") return parse_if(line);
    if (name == "for") return parse_for(line);
    if (name == "set") return parse_set(line);
    if (name == "macro") return parse_macro(line);
    if (name == "call") return parse_call_block(line);
    if (name == "filter") return parse_filter_block(line);
    if (name == "generation") {
      auto s = new_stmt(StmtKind::Scope, line);
      expect_block_end();
      std::string end;
      s->body = subparse({"endgeneration"}, end);
      expect_block_end();
      return s;
    }
    if (name == "break" || name == "continue") {
      if (loop_depth_ == 0) throw TemplateError("'" + name + "' outside of a loop", line);
      auto s = new_stmt(name == "break" ? StmtKind::Break : StmtKind::Continue, line);
      expect_block_end();
      return s;
    }
    if (name == "include" || name == "extends" || name == "import" || name == "from" || name == "block" ||
        name == "with" || name == "do" || name == "autoescape")
      throw TemplateError("the '" + name + "' tag is not supported in chat templates", line);
    throw TemplateError("encountered unknown tag '" + name + "'", line);
  }

  StmtPtr parse_if(int line) {
    auto s = new_stmt(StmtKind::If, line);
    ExprPtr cond = parse_tuple(true, {}, false);
    expect_block_end();
    while (true) {
      std::string end;
      Body body = subparse({"elif", "else", "endif"}, end);
      s->branches.emplace_back(std::move(cond), std::move(body));
      if (end == "elif") {
        cond = parse_tuple(true, {}, false);
        expect_block_end();
        continue;
      }
      if (end == "else") {
        expect_block_end();
        Body else_body = subparse({"endif"}, end);
        s->branches.emplace_back(nullptr, std::move(else_body));
      }
      expect_block_end();
      return s;
    }
  }

  StmtPtr parse_for(int line) {
    auto s = new_stmt(StmtKind::For, line);
    s->target = parse_assign_target(false, "in");
    if (!skip_name("in")) error("expected 'in' in for loop, got " + describe(cur()));
    s->expr = parse_tuple(false, "recursive", false);
    if (skip_name("if")) s->cond = parse_expression(true);
    if (is_name("recursive")) error("recursive for loops are not supported");
    expect_block_end();
    std::string end;
    ++loop_depth_;
    s->body = subparse({"endfor", "else"}, end);
    --loop_depth_;
    if (end == "else") {
      expect_block_end();
      s->else_body = subparse({"endfor"}, end);
    }
    expect_block_end();
    return s;
  }

  StmtPtr parse_set(int line) {
    Target target = parse_assign_target(true, nullptr);
    if (skip_op("=")) {
      auto s = new_stmt(StmtKind::Set, line);
      s->target = std::move(target);
      s->expr = parse_tuple(true, {}, false);
      expect_block_end();
      return s;
    }
    auto s = new_stmt(StmtKind::SetBlock, line);
    s->target = std::move(target);
    if (is_op("|")) s->expr = parse_filter_chain(nullptr);
    expect_block_end();
    std::string end;
    int saved = loop_depth_;
    loop_depth_ = 0;
    s->body = subparse({"endset"}, end);
    loop_depth_ = saved;
    expect_block_end();
    return s;
  }

  void parse_params(std::vector<MacroParam>& params) {
    expect_op("(");
    while (!is_op(")")) {
      if (!params.empty()) expect_op(",");
      if (is_op(")")) break;
      MacroParam p;
      p.name = expect_name();
      if (skip_op("=")) p.default_value = parse_expression(true);
      else if (!params.empty() && params.back().default_value)
        error("non-default argument follows default argument");
      params.push_back(std::move(p));
    }
    expect_op(")");
  }

  StmtPtr parse_macro(int line) {
    auto s = new_stmt(StmtKind::Macro, line);
    s->name = expect_name();
    parse_params(s->params);
    expect_block_end();
    std::string end;
    int saved = loop_depth_;
    loop_depth_ = 0;
    s->body = subparse({"endmacro"}, end);
    loop_depth_ = saved;
    s->takes_varargs = mentions_name(s->body, "varargs");
    s->takes_kwargs = mentions_name(s->body, "kwargs");
    s->takes_caller = mentions_name(s->body, "caller");
    if (cur().type == TokenType::Name) advance();  // optional `endmacro name`
    expect_block_end();
    return s;
  }

  StmtPtr parse_call_block(int line) {
    auto s = new_stmt(StmtKind::CallBlock, line);
    if (is_op("(")) parse_params(s->params);
    s->expr = parse_expression(true);
    if (s->expr->kind != ExprKind::Call) throw TemplateError("expected a call after 'call'", line);
    expect_block_end();
    std::string end;
    int saved = loop_depth_;
    loop_depth_ = 0;
    s->body = subparse({"endcall"}, end);
    loop_depth_ = saved;
    s->takes_varargs = mentions_name(s->body, "varargs");
    s->takes_kwargs = mentions_name(s->body, "kwargs");
    expect_block_end();
    return s;
  }

  StmtPtr parse_filter_block(int line) {
    auto s = new_stmt(StmtKind::FilterBlock, line);
    s->expr = parse_filter_chain(nullptr, true);
    expect_block_end();
    std::string end;
    s->body = subparse({"endfilter"}, end);
    expect_block_end();
    return s;
  }

  Target parse_assign_target(bool with_namespace, const char* end_name) {
    Target t;
    if (with_namespace && cur().type == TokenType::Name && peek().type == TokenType::Operator && peek().text == ".") {
      t.name = expect_name();
      advance();
      t.attr = expect_name();
      return t;
    }
    std::vector<Target> items;
    bool is_tuple = false;
    bool parens = skip_op("(");
    while (true) {
      if (!items.empty()) {
        if (!skip_op(",")) break;
        is_tuple = true;
      }
      if ((end_name && is_name(end_name)) || is_op("=") || is_op(")") || is_op("|") ||
          cur().type == TokenType::BlockEnd)
        break;
      if (is_op("(")) {
        items.push_back(parse_assign_target(false, end_name));
        continue;
      }
      Target item;
      item.name = expect_name();
      if (item.name == "true" || item.name == "false" || item.name == "none" || item.name == "True" ||
          item.name == "False" || item.name == "None")
        error("cannot assign to '" + item.name + "'");
      items.push_back(std::move(item));
    }
    if (parens) expect_op(")");
    if (items.empty()) error("expected an assignment target, got " + describe(cur()));
    if (!is_tuple && !parens && items.size() == 1) return std::move(items[0]);
    if (!is_tuple && parens && items.size() == 1) return std::move(items[0]);
    t.is_tuple = true;
    t.items = std::move(items);
    return t;
  }

  int loop_depth_ = 0;
};

}  // namespace

Body parse_template(const std::vector<Token>& tokens) { return Parser(tokens).parse_all(); }

}  // namespace tandem::chat
