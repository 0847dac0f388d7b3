#include "chat/json_schema_numbers.h"

#include <string_view>
#include <vector>

#include "util/error.h"

namespace tandem::chat::json_schema_detail {

namespace {

std::string join_alternatives(const std::vector<std::string>& parts) {
  if (parts.size() == 1) return parts[0];
  std::string out = "(";
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? " | " : "") + parts[i];
  return out + ")";
}

std::string digit_class(char a, char b) {
  if (a == b) return std::string("\"") + a + "\"";
  return std::string("[") + a + "-" + b + "]";
}

std::string any_digits(size_t n) {
  if (n == 0) return "";
  return n == 1 ? "[0-9]" : "[0-9]{" + std::to_string(n) + "}";
}

// a and b have the same length and a <= b; matches every digit string between them.
std::string same_length_range(std::string_view a, std::string_view b) {
  size_t n = a.size();
  if (n == 0) return "";
  if (a == b) return "\"" + std::string(a) + "\"";
  auto rest = [](std::string_view s) { return s.substr(1); };
  bool a_rest_zero = rest(a).find_first_not_of('0') == std::string_view::npos;
  bool b_rest_nine = rest(b).find_first_not_of('9') == std::string_view::npos;
  auto seq = [](std::string head, std::string tail) {
    return tail.empty() ? head : head + " " + tail;
  };
  if (a[0] == b[0]) return seq(digit_class(a[0], a[0]), same_length_range(rest(a), rest(b)));
  if (a_rest_zero && b_rest_nine) return seq(digit_class(a[0], b[0]), any_digits(n - 1));
  std::vector<std::string> parts;
  char lo_full = a[0];  // first digit whose whole sub-range is covered
  char hi_full = b[0];
  if (!a_rest_zero) {
    parts.push_back(seq(digit_class(a[0], a[0]),
                        same_length_range(rest(a), std::string(n - 1, '9'))));
    ++lo_full;
  }
  if (!b_rest_nine) --hi_full;
  if (lo_full <= hi_full) parts.push_back(seq(digit_class(lo_full, hi_full), any_digits(n - 1)));
  if (!b_rest_nine) {
    parts.push_back(seq(digit_class(b[0], b[0]),
                        same_length_range(std::string(n - 1, '0'), rest(b))));
  }
  return join_alternatives(parts);
}

// Unsigned decimal (no leading zeros) in [lo, hi]; hi absent = up to `max_digits` digits.
std::string unsigned_range(uint64_t lo, std::optional<uint64_t> hi, uint32_t max_digits) {
  std::string lo_s = std::to_string(lo);
  if (lo_s.size() > max_digits) {
    throw InvalidArgument("JSON schema bound " + lo_s + " has more than " +
                          std::to_string(max_digits) + " digits");
  }
  std::string hi_s = hi ? std::to_string(*hi) : std::string(max_digits, '9');
  if (hi_s.size() > max_digits) hi_s = std::string(max_digits, '9');
  std::vector<std::string> parts;
  for (size_t len = lo_s.size(); len <= hi_s.size(); ++len) {
    std::string a = len == lo_s.size() ? lo_s : "1" + std::string(len - 1, '0');
    if (len == 1 && len != lo_s.size()) a = "0";
    std::string b = len == hi_s.size() ? hi_s : std::string(len, '9');
    if (a <= b) parts.push_back(same_length_range(a, b));
  }
  if (parts.empty()) throw InvalidArgument("JSON schema numeric bounds admit no value");
  return join_alternatives(parts);
}

// Non-negative magnitudes in [lo, hi] with an optional fraction (see header).
std::string magnitude_with_fraction(uint64_t lo, std::optional<uint64_t> hi,
                                    const DigitLimits& limits) {
  std::string fraction = "(\".\" [0-9]{1," + std::to_string(limits.fraction_digits) + "})?";
  std::string zero_fraction = "(\".\" \"0\"{1," + std::to_string(limits.fraction_digits) + "})?";
  std::vector<std::string> parts;
  if (!hi) {
    parts.push_back(unsigned_range(lo, std::nullopt, limits.integer_digits) + " " + fraction);
  } else {
    if (lo < *hi) parts.push_back(unsigned_range(lo, *hi - 1, limits.integer_digits) + " " +
                                  fraction);
    parts.push_back("\"" + std::to_string(*hi) + "\" " + zero_fraction);
  }
  return join_alternatives(parts);
}

uint64_t magnitude(int64_t v) { return v < 0 ? 0 - static_cast<uint64_t>(v) : uint64_t(v); }

}  // namespace

std::string integer_expr(std::optional<int64_t> lo, std::optional<int64_t> hi,
                         const DigitLimits& limits) {
  if (lo && hi && *lo > *hi) throw InvalidArgument("JSON schema integer bounds admit no value");
  std::vector<std::string> parts;
  if (!hi || *hi >= 0) {
    uint64_t from = lo && *lo > 0 ? uint64_t(*lo) : 0;
    std::optional<uint64_t> to;
    if (hi) to = uint64_t(*hi);
    parts.push_back(unsigned_range(from, to, limits.integer_digits));
  }
  if (!lo || *lo < 0) {  // negatives: "-" and a magnitude in [max(1, -hi), -lo]
    uint64_t from = hi && *hi < 0 ? magnitude(*hi) : 1;
    std::optional<uint64_t> to;
    if (lo) to = magnitude(*lo);
    parts.push_back("\"-\" " + unsigned_range(from, to, limits.integer_digits));
  }
  return join_alternatives(parts);
}

std::string number_expr(std::optional<int64_t> lo, std::optional<int64_t> hi,
                        const DigitLimits& limits) {
  if (!lo && !hi) {
    return "\"-\"? (\"0\" | [1-9] [0-9]{0," + std::to_string(limits.integer_digits - 1) +
           "}) (\".\" [0-9]{1," + std::to_string(limits.fraction_digits) + "})? ([eE] [-+]? [0-9]{1," +
           std::to_string(limits.exponent_digits) + "})?";
  }
  if (lo && hi && *lo > *hi) throw InvalidArgument("JSON schema number bounds admit no value");
  std::vector<std::string> parts;
  if (!hi || *hi >= 0) {
    uint64_t from = lo && *lo > 0 ? uint64_t(*lo) : 0;
    std::optional<uint64_t> to;
    if (hi) to = uint64_t(*hi);
    parts.push_back(magnitude_with_fraction(from, to, limits));
  }
  if (!lo || *lo < 0) {  // -m with m in [max(0, -hi), -lo]; "-0.5" is fine when hi >= 0
    uint64_t from = hi && *hi < 0 ? magnitude(*hi) : 0;
    std::optional<uint64_t> to;
    if (lo) to = magnitude(*lo);
    parts.push_back("\"-\" " + magnitude_with_fraction(from, to, limits));
  }
  return join_alternatives(parts);
}

}  // namespace tandem::chat::json_schema_detail
