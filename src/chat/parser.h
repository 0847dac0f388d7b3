#pragma once
// Tokens -> syntax tree, following Jinja2's grammar and operator precedence. Throws TemplateError
// with the line for any construct outside the supported subset (include, extends, ...).
#include <vector>

#include "chat/ast.h"
#include "chat/lexer.h"

namespace tandem::chat {

// Bounds the parser's recursion so hostile input ("((((((...") cannot exhaust the stack.
constexpr int kMaxParseDepth = 200;

Body parse_template(const std::vector<Token>& tokens);

}  // namespace tandem::chat
