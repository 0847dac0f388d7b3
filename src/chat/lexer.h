#pragma once
// Template source -> tokens, with Jinja2's whitespace rules as Hugging Face configures them:
// trim_blocks (drop the newline after a block or comment tag), lstrip_blocks (drop the
// indentation before one), `-`/`+` modifiers on tags, and one trailing newline removed.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::chat {

enum class TokenType : uint8_t {
  Text,        // literal template data
  VarBegin,    // {{
  VarEnd,      // }}
  BlockBegin,  // {%
  BlockEnd,    // %}
  Name,
  String,
  Integer,
  Float,
  Operator,
  End,
};

struct Token {
  TokenType type = TokenType::End;
  std::string text;  // Text data, name, decoded string literal, or operator spelling
  int64_t int_value = 0;
  double float_value = 0;
  int line = 1;
};

// Throws TemplateError naming the line for unterminated tags, comments, strings and stray
// characters.
std::vector<Token> tokenize(std::string_view source);

}  // namespace tandem::chat
