#include "chat/lexer.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "chat/text.h"
#include "chat/value.h"

namespace tandem::chat {
namespace {

// Jinja2 normalises \r\n and \r to \n and (keep_trailing_newline=False) drops one final newline.
std::string normalize_source(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }
bool is_tag_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

bool all_py_space(std::string_view s) {
  if (s.empty()) return false;
  for (char32_t c : text::decode(s))
    if (!text::py_isspace(c)) return false;
  return true;
}

class Lexer {
 public:
  explicit Lexer(std::string_view source) : src_(normalize_source(source)) {
    for (size_t i = 0; i < src_.size(); ++i)
      if (src_[i] == '\n') newlines_.push_back(i);
  }

  std::vector<Token> run() {
    size_t pos = 0;
    bool line_starting = true;
    const size_t n = src_.size();
    while (pos < n) {
      size_t i = find_tag_start(pos);
      if (i == std::string::npos) {
        emit_text(src_.substr(pos), pos);
        break;
      }
      char kind = src_[i + 1];
      size_t j = i + 2;
      char mod = 0;
      if (j < n && (src_[j] == '-' || src_[j] == '+')) mod = src_[j++];
      size_t raw_end = kind == '%' ? match_raw_begin(j) : std::string::npos;
      std::string text = src_.substr(pos, i - pos);
      apply_left_strip(text, mod, kind != '{', line_starting);
      emit_text(std::move(text), pos);

      if (raw_end != std::string::npos) {
        pos = lex_raw_body(raw_end);
      } else if (kind == '#') {
        pos = skip_comment(i, j);
      } else {
        pos = lex_tag(i, j, kind);
      }
      line_starting = src_[pos - 1] == '\n';
    }
    tokens_.push_back(Token{TokenType::End, "", 0, 0, line_of(n)});
    return std::move(tokens_);
  }

 private:
  int line_of(size_t pos) const {
    return 1 + static_cast<int>(std::lower_bound(newlines_.begin(), newlines_.end(), pos) - newlines_.begin());
  }

  [[noreturn]] void error(const std::string& what, size_t pos) const { throw TemplateError(what, line_of(pos)); }

  size_t find_tag_start(size_t pos) const {
    while (true) {
      size_t i = src_.find('{', pos);
      if (i == std::string::npos || i + 1 >= src_.size()) return std::string::npos;
      char c = src_[i + 1];
      if (c == '{' || c == '%' || c == '#') return i;
      pos = i + 1;
    }
  }

  size_t skip_space(size_t p) const {
    while (p < src_.size() && is_tag_space(src_[p])) ++p;
    return p;
  }

  // `-%}` and friends swallow all following whitespace, Python's \s (Unicode) included.
  size_t skip_py_space(size_t p) const {
    while (p < src_.size()) {
      unsigned char c = static_cast<unsigned char>(src_[p]);
      if (c < 0x80) {
        if (!text::py_isspace(c)) break;
        ++p;
        continue;
      }
      size_t len = (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : 4;
      auto cps = text::decode(std::string_view(src_).substr(p, len));
      if (cps.size() != 1 || !text::py_isspace(cps[0])) break;
      p += len;
    }
    return p;
  }

  // Text before a tag: `-` strips all trailing whitespace; lstrip_blocks strips the tag's
  // indentation when only whitespace precedes it on its line (never for `{{`, never with `+`).
  static void apply_left_strip(std::string& text, char mod, bool is_block_or_comment, bool line_starting) {
    if (mod == '-') {
      text = text::strip(text, std::nullopt, false, true);
    } else if (mod != '+' && is_block_or_comment) {
      size_t l_pos = text.rfind('\n');
      l_pos = l_pos == std::string::npos ? 0 : l_pos + 1;
      if ((l_pos > 0 || line_starting) && all_py_space(std::string_view(text).substr(l_pos))) text.resize(l_pos);
    }
  }

  void emit_text(std::string text, size_t pos) {
    if (text.empty()) return;
    tokens_.push_back(Token{TokenType::Text, std::move(text), 0, 0, line_of(pos)});
  }

  // After `{%` and its modifier: `\s*raw\s*(-%}\s*|%})`. Returns the end of the tag or npos.
  size_t match_raw_begin(size_t j) const {
    size_t k = skip_space(j);
    if (src_.compare(k, 3, "raw") != 0) return std::string::npos;
    k = skip_space(k + 3);
    if (src_.compare(k, 3, "-%}") == 0) return skip_py_space(k + 3);
    if (src_.compare(k, 2, "%}") == 0) return k + 2;
    return std::string::npos;
  }

  size_t lex_raw_body(size_t body_start) {
    bool line_starting = src_[body_start - 1] == '\n';
    size_t search = body_start;
    while (true) {
      size_t k = src_.find("{%", search);
      if (k == std::string::npos) error("missing end of raw directive", body_start);
      size_t p = k + 2;
      char mod = 0;
      if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) mod = src_[p++];
      p = skip_space(p);
      if (src_.compare(p, 6, "endraw") == 0) {
        p = skip_space(p + 6);
        size_t end = std::string::npos;
        if (src_.compare(p, 3, "+%}") == 0) end = p + 3;
        else if (src_.compare(p, 3, "-%}") == 0) end = skip_py_space(p + 3);
        else if (src_.compare(p, 2, "%}") == 0) end = p + 2 + (src_.compare(p + 2, 1, "\n") == 0 ? 1 : 0);
        if (end != std::string::npos) {
          std::string body = src_.substr(body_start, k - body_start);
          apply_left_strip(body, mod, true, line_starting);
          emit_text(std::move(body), body_start);
          return end;
        }
      }
      search = k + 2;
    }
  }

  size_t skip_comment(size_t start, size_t j) const {
    size_t m = src_.find("#}", j);
    if (m == std::string::npos) error("missing end of comment tag", start);
    size_t end = m + 2;
    char close_mod = (m > j && (src_[m - 1] == '-' || src_[m - 1] == '+')) ? src_[m - 1] : 0;
    if (close_mod == '-') return skip_py_space(end);
    if (close_mod == 0 && end < src_.size() && src_[end] == '\n') ++end;  // trim_blocks
    return end;
  }

  // Lexes `{{ ... }}` or `{% ... %}` from just after the opening delimiter; returns the
  // position after the closing delimiter (and what it swallows).
  size_t lex_tag(size_t start, size_t p, char kind) {
    tokens_.push_back(Token{kind == '%' ? TokenType::BlockBegin : TokenType::VarBegin, "", 0, 0, line_of(start)});
    std::vector<char> balance;
    const size_t n = src_.size();
    while (true) {
      if (p >= n) error(kind == '%' ? "unexpected end of template inside a block tag '{%'"
                                    : "unexpected end of template inside '{{'", start);
      if (balance.empty()) {
        size_t end = match_tag_end(p, kind);
        if (end != std::string::npos) {
          tokens_.push_back(Token{kind == '%' ? TokenType::BlockEnd : TokenType::VarEnd, "", 0, 0, line_of(p)});
          return end;
        }
      }
      char c = src_[p];
      if (is_tag_space(c)) {
        ++p;
      } else if (is_digit(c)) {
        p = lex_number(p);
      } else if (is_name_start(c)) {
        size_t e = p;
        while (e < n && is_name_char(src_[e])) ++e;
        tokens_.push_back(Token{TokenType::Name, src_.substr(p, e - p), 0, 0, line_of(p)});
        p = e;
      } else if (c == '\'' || c == '"') {
        p = lex_string(p);
      } else {
        p = lex_operator(p, balance);
      }
    }
  }

  size_t match_tag_end(size_t p, char kind) const {
    if (kind == '%') {
      if (src_.compare(p, 3, "+%}") == 0) return p + 3;
      if (src_.compare(p, 3, "-%}") == 0) return skip_py_space(p + 3);
      if (src_.compare(p, 2, "%}") == 0) return p + 2 + (p + 2 < src_.size() && src_[p + 2] == '\n' ? 1 : 0);
    } else {
      if (src_.compare(p, 3, "-}}") == 0) return skip_py_space(p + 3);
      if (src_.compare(p, 2, "}}") == 0) return p + 2;
    }
    return std::string::npos;
  }

  size_t digits(size_t p, bool (*ok)(char)) const {
    // (\d+_)*\d+ style runs: digits with single underscores between them.
    size_t e = p;
    while (e < src_.size() && (ok(src_[e]) || (src_[e] == '_' && e > p && e + 1 < src_.size() && ok(src_[e + 1])))) ++e;
    return e;
  }

  size_t lex_number(size_t p) {
    const size_t n = src_.size();
    int line = line_of(p);
    bool after_dot = p > 0 && src_[p - 1] == '.';
    if (src_[p] == '0' && p + 1 < n && std::string("bBoOxX").find(src_[p + 1]) != std::string::npos) {
      char b = static_cast<char>(src_[p + 1] | 0x20);
      int base = b == 'b' ? 2 : b == 'o' ? 8 : 16;
      auto ok = [base](char c) {
        int v = is_digit(c) ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10 : 99;
        return v < base;
      };
      size_t e = p + 2;
      std::string clean;
      while (e < n && (ok(src_[e]) || (src_[e] == '_' && e + 1 < n && ok(src_[e + 1])))) {
        if (src_[e] != '_') clean += src_[e];
        ++e;
      }
      if (clean.empty()) error("invalid integer literal", p);
      push_int(clean, base, line, p);
      return e;
    }
    size_t e = digits(p, is_digit);
    size_t f = e;
    bool is_float = false;
    if (!after_dot) {
      if (f + 1 < n && src_[f] == '.' && is_digit(src_[f + 1])) {
        f = digits(f + 1, is_digit);
        is_float = true;
      }
      if (f < n && (src_[f] == 'e' || src_[f] == 'E')) {
        size_t g = f + 1;
        if (g < n && (src_[g] == '+' || src_[g] == '-')) ++g;
        if (g < n && is_digit(src_[g])) {
          f = digits(g, is_digit);
          is_float = true;
        }
      }
    }
    std::string clean;
    for (size_t k = p; k < (is_float ? f : e); ++k)
      if (src_[k] != '_') clean += src_[k];
    if (is_float) {
      Token t{TokenType::Float, clean, 0, std::strtod(clean.c_str(), nullptr), line};
      tokens_.push_back(std::move(t));
      return f;
    }
    push_int(clean, 10, line, p);
    return e;
  }

  void push_int(const std::string& clean, int base, int line, size_t p) {
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(clean.c_str(), &end, base);
    if (errno == ERANGE) error("integer literal too large: " + clean, p);
    tokens_.push_back(Token{TokenType::Integer, clean, static_cast<int64_t>(v), 0, line});
  }

  size_t lex_string(size_t p) {
    char q = src_[p];
    size_t e = p + 1;
    std::string raw;
    while (true) {
      if (e >= src_.size()) error("unterminated string literal", p);
      char c = src_[e];
      if (c == q) break;
      if (c == '\\' && e + 1 < src_.size()) {
        raw += c;
        raw += src_[e + 1];
        e += 2;
        continue;
      }
      raw += c;
      ++e;
    }
    tokens_.push_back(Token{TokenType::String, unescape(raw, p), 0, 0, line_of(p)});
    return e + 1;
  }

  // Python's unicode-escape decoding, which Jinja2 applies to string literals.
  std::string unescape(const std::string& raw, size_t pos) const {
    std::string out;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] != '\\' || i + 1 >= raw.size()) {
        out += raw[i];
        continue;
      }
      char c = raw[++i];
      switch (c) {
        case '\n': break;  // line continuation
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'v': out += '\v'; break;
        case 'x':
        case 'u':
        case 'U': {
          size_t len = c == 'x' ? 2 : c == 'u' ? 4 : 8;
          std::string hex = raw.substr(i + 1, len);
          if (hex.size() != len || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
            error("truncated \\" + std::string(1, c) + " escape in string literal", pos);
          unsigned long cp = std::strtoul(hex.c_str(), nullptr, 16);
          if (cp > 0x10FFFF) error("illegal Unicode character in string literal", pos);
          text::append_utf8(out, static_cast<char32_t>(cp));
          i += len;
          break;
        }
        default:
          if (c >= '0' && c <= '7') {
            unsigned v = 0;
            size_t k = 0;
            while (k < 3 && i + k < raw.size() && raw[i + k] >= '0' && raw[i + k] <= '7') v = v * 8 + (raw[i + k++] - '0');
            text::append_utf8(out, static_cast<char32_t>(v));
            i += k - 1;
          } else if (c == 'N') {
            error("\\N{...} escapes are not supported", pos);
          } else {
            out += '\\';  // Python keeps unknown escapes as written
            out += c;
          }
      }
    }
    return out;
  }

  size_t lex_operator(size_t p, std::vector<char>& balance) {
    static const char* kTwo[] = {"**", "//", "==", "!=", ">=", "<="};
    for (const char* op : kTwo) {
      if (src_.compare(p, 2, op) == 0) {
        tokens_.push_back(Token{TokenType::Operator, op, 0, 0, line_of(p)});
        return p + 2;
      }
    }
    char c = src_[p];
    if (std::string("+-/*%~[](){}><=.:|,;").find(c) == std::string::npos)
      error(std::string("unexpected character '") + c + "' in tag", p);
    if (c == '(' || c == '[' || c == '{') balance.push_back(c == '(' ? ')' : c == '[' ? ']' : '}');
    if (c == ')' || c == ']' || c == '}') {
      if (balance.empty()) error(std::string("unexpected '") + c + "'", p);
      if (balance.back() != c) error(std::string("unexpected '") + c + "', expected '" + balance.back() + "'", p);
      balance.pop_back();
    }
    tokens_.push_back(Token{TokenType::Operator, std::string(1, c), 0, 0, line_of(p)});
    return p + 1;
  }

  std::string src_;
  std::vector<size_t> newlines_;
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> tokenize(std::string_view source) { return Lexer(source).run(); }

}  // namespace tandem::chat
