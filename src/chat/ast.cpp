#include "chat/ast.h"

namespace tandem::chat {
namespace {

bool expr_mentions(const Expr* e, std::string_view name) {
  if (!e) return false;
  if (e->kind == ExprKind::Name && e->name == name) return true;
  for (const auto& a : e->args)
    if (expr_mentions(a.get(), name)) return true;
  for (const auto& [k, v] : e->kwargs)
    if (expr_mentions(v.get(), name)) return true;
  return false;
}

}  // namespace

bool mentions_name(const Body& body, std::string_view name) {
  for (const auto& s : body) {
    if (expr_mentions(s->expr.get(), name) || expr_mentions(s->cond.get(), name)) return true;
    for (const auto& [cond, b] : s->branches)
      if (expr_mentions(cond.get(), name) || mentions_name(b, name)) return true;
    for (const auto& p : s->params)
      if (expr_mentions(p.default_value.get(), name)) return true;
    if (mentions_name(s->body, name) || mentions_name(s->else_body, name)) return true;
  }
  return false;
}

}  // namespace tandem::chat
