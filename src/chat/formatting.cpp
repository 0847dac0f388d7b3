// Python's str.format and printf-style `%` formatting, for the subset of format specs that
// templates use: fill/align/sign/zero/width/precision with types s d i x X o f F e E g G %.
#include <cstdio>

#include "chat/builtins.h"
#include "chat/text.h"

namespace tandem::chat {
namespace {

struct Spec {
  char fill = ' ';
  char align = 0;
  char sign = '-';
  bool zero = false;
  int width = 0;
  int precision = -1;
  char type = 0;
};

Spec parse_spec(const std::string& s) {
  Spec sp;
  size_t i = 0;
  auto is_align = [](char c) { return c == '<' || c == '>' || c == '^' || c == '='; };
  if (s.size() >= 2 && is_align(s[1])) {
    sp.fill = s[0];
    sp.align = s[1];
    i = 2;
  } else if (!s.empty() && is_align(s[0])) {
    sp.align = s[0];
    i = 1;
  }
  if (i < s.size() && (s[i] == '+' || s[i] == '-' || s[i] == ' ')) sp.sign = s[i++];
  if (i < s.size() && s[i] == '0') {
    sp.zero = true;
    ++i;
  }
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') sp.width = sp.width * 10 + (s[i++] - '0');
  if (i < s.size() && s[i] == '.') {
    sp.precision = 0;
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') sp.precision = sp.precision * 10 + (s[i++] - '0');
  }
  if (i < s.size()) sp.type = s[i++];
  if (i != s.size() || sp.width > 10000 || sp.precision > 1000) fail("invalid format specifier '" + s + "'");
  return sp;
}

std::string pad(std::string body, const Spec& sp, bool numeric) {
  size_t len = text::length(body);
  if (static_cast<int>(len) >= sp.width) return body;
  size_t missing = static_cast<size_t>(sp.width) - len;
  char align = sp.align ? sp.align : (numeric ? '>' : '<');
  char fill = sp.fill;
  if (sp.zero && !sp.align && numeric) {
    align = '=';
    fill = '0';
  }
  if (align == '<') return body + std::string(missing, fill);
  if (align == '>') return std::string(missing, fill) + body;
  if (align == '^') return std::string(missing / 2, fill) + body + std::string(missing - missing / 2, fill);
  size_t sign_len = (!body.empty() && (body[0] == '-' || body[0] == '+' || body[0] == ' ')) ? 1 : 0;
  return body.substr(0, sign_len) + std::string(missing, fill) + body.substr(sign_len);
}

std::string format_number(const Value& v, const Spec& sp) {
  char type = sp.type;
  std::string body;
  char buf[1100];
  if (v.is_float() || type == 'f' || type == 'F' || type == 'e' || type == 'E' || type == 'g' || type == 'G' ||
      type == '%') {
    double d = v.as_float() * (type == '%' ? 100.0 : 1.0);
    int prec = sp.precision < 0 ? 6 : sp.precision;
    if (!type) {
      body = sp.precision < 0 ? text::repr_float(d) : (std::snprintf(buf, sizeof buf, "%.*g", prec, d), buf);
    } else {
      char t = type == '%' ? 'f' : type;
      char fmt[8] = {'%', '.', '*', t, 0};
      std::snprintf(buf, sizeof buf, fmt, prec, d);
      body = buf;
      if (type == '%') body += '%';
    }
  } else {
    int64_t i = v.as_int();
    if (type == 'x' || type == 'X' || type == 'o' || type == 'b') {
      uint64_t u = i < 0 ? static_cast<uint64_t>(-(i + 1)) + 1 : static_cast<uint64_t>(i);
      std::string digits;
      unsigned base = type == 'o' ? 8 : type == 'b' ? 2 : 16;
      const char* alphabet = type == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
      do {
        digits.insert(digits.begin(), alphabet[u % base]);
        u /= base;
      } while (u);
      body = (i < 0 ? "-" : "") + digits;
    } else if (type == 0 || type == 'd' || type == 'n') {
      body = std::to_string(i);
    } else {
      fail(std::string("unknown format code '") + type + "' for object of type '" + type_name(v) + "'");
    }
  }
  if (body[0] != '-' && sp.sign != '-') body.insert(body.begin(), sp.sign);
  return pad(body, sp, true);
}

std::string format_value(const Value& v, const std::string& spec) {
  if (spec.empty()) return to_str(v);
  Spec sp = parse_spec(spec);
  if (v.is_number() && !v.is_bool()) return format_number(v, sp);
  if (v.is_bool() && sp.type && sp.type != 's') return format_number(Value(v.as_int()), sp);
  if (sp.type && sp.type != 's') fail(std::string("unknown format code '") + sp.type + "' for object of type '" + type_name(v) + "'");
  std::string s = to_str(v);
  if (sp.precision >= 0) {
    auto cps = text::decode(s);
    s = text::encode(cps, 0, static_cast<size_t>(sp.precision));
  }
  return pad(s, sp, false);
}

}  // namespace

std::string py_format(const std::string& fmt, const CallArgs& args) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    char c = fmt[i];
    if (c == '}') {
      if (i + 1 < fmt.size() && fmt[i + 1] == '}') {
        out += '}';
        ++i;
        continue;
      }
      fail("Single '}' encountered in format string");
    }
    if (c != '{') {
      out += c;
      continue;
    }
    if (i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    size_t close = fmt.find('}', i);
    if (close == std::string::npos) fail("Single '{' encountered in format string");
    std::string field = fmt.substr(i + 1, close - i - 1);
    i = close;
    std::string spec, conversion;
    if (size_t colon = field.find(':'); colon != std::string::npos) {
      spec = field.substr(colon + 1);
      field = field.substr(0, colon);
    }
    if (size_t bang = field.find('!'); bang != std::string::npos) {
      conversion = field.substr(bang + 1);
      field = field.substr(0, bang);
    }
    Value v;
    if (field.empty()) {
      if (auto_index >= args.positional.size()) fail("Replacement index " + std::to_string(auto_index) + " out of range");
      v = args.positional[auto_index++];
    } else if (field.find_first_not_of("0123456789") == std::string::npos) {
      size_t idx = field.size() > 6 ? SIZE_MAX : std::stoul(field);
      if (idx >= args.positional.size()) fail("Replacement index " + field + " out of range");
      v = args.positional[idx];
    } else {
      std::string key = field.substr(0, field.find_first_of(".["));
      const Value* kv = args.keyword_arg(key);
      if (!kv) fail("KeyError: '" + key + "'");
      v = *kv;
      if (key.size() != field.size()) fail("attribute and index lookups in format fields are not supported");
    }
    if (conversion == "r") v = Value(to_repr(v));
    else if (conversion == "s") v = Value(to_str(v));
    else if (!conversion.empty()) fail("Unknown conversion specifier " + conversion);
    out += format_value(v, spec);
  }
  return out;
}

std::string py_percent(const std::string& fmt, const Value& args) {
  std::vector<Value> positional;
  bool is_tuple = args.is_list() && args.seq_kind() == SeqKind::Tuple;
  if (is_tuple) positional = args.items();
  else positional.push_back(args);
  size_t next = 0;
  std::string out;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out += fmt[i];
      continue;
    }
    if (++i >= fmt.size()) fail("incomplete format");
    Value v;
    bool have = false;
    if (fmt[i] == '(') {
      size_t close = fmt.find(')', i);
      if (close == std::string::npos) fail("incomplete format key");
      if (!args.is_dict()) fail("format requires a mapping");
      const Value* kv = args.dict().find(std::string_view(fmt).substr(i + 1, close - i - 1));
      if (!kv) fail("KeyError: '" + fmt.substr(i + 1, close - i - 1) + "'");
      v = *kv;
      have = true;
      i = close + 1;
    }
    std::string spec;
    while (i < fmt.size() && std::string("-+ 0#").find(fmt[i]) != std::string::npos) {
      if (fmt[i] == '-') spec.insert(spec.begin(), '<');
      else if (fmt[i] != '#') spec += fmt[i];
      ++i;
    }
    while (i < fmt.size() && ((fmt[i] >= '0' && fmt[i] <= '9') || fmt[i] == '.')) spec += fmt[i++];
    if (i >= fmt.size()) fail("incomplete format");
    char type = fmt[i];
    if (type == '%') {
      out += '%';
      continue;
    }
    if (!have) {
      if (next >= positional.size()) fail("not enough arguments for format string");
      v = positional[next++];
    }
    if (type == 's') out += format_value(Value(to_str(v)), spec);
    else if (type == 'r') out += format_value(Value(to_repr(v)), spec);
    else if (std::string("dixXofFeEgG").find(type) != std::string::npos) {
      if (!v.is_number()) fail("%" + std::string(1, type) + " format: a real number is required, not " + type_name(v));
      Value n = (type == 'd' || type == 'i') && v.is_float() ? Value(static_cast<int64_t>(v.as_float())) : v;
      out += format_value(n, spec + (type == 'i' ? 'd' : type));
    } else {
      fail(std::string("unsupported format character '") + type + "'");
    }
  }
  if (is_tuple && next < positional.size()) fail("not all arguments converted during string formatting");
  return out;
}

}  // namespace tandem::chat
