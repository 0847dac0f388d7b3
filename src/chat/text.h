#pragma once
// Python string behaviour on UTF-8 bytes: code-point indexing, str.isspace, strip, repr of
// strings and floats, and the HTML escaping that markupsafe applies to "safe" strings.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::chat::text {

// Decodes UTF-8; invalid bytes decode as U+FFFD so indexing never fails on bad input.
std::vector<char32_t> decode(std::string_view s);
std::string encode(const std::vector<char32_t>& cps, size_t begin = 0, size_t end = SIZE_MAX);
void append_utf8(std::string& out, char32_t cp);
size_t length(std::string_view s);  // number of code points
bool is_ascii(std::string_view s);

bool py_isspace(char32_t c);  // Python's str.isspace for one code point
bool py_isalnum_ascii(char32_t c);
char32_t py_upper(char32_t c);
char32_t py_lower(char32_t c);
std::string upper(std::string_view s);
std::string lower(std::string_view s);

// str.strip / lstrip / rstrip; `chars` absent means whitespace.
std::string strip(std::string_view s, const std::optional<std::string>& chars, bool left, bool right);
std::vector<std::string> split_whitespace(std::string_view s, int64_t maxsplit);
std::vector<std::string> split(std::string_view s, std::string_view sep, int64_t maxsplit);
std::vector<std::string> rsplit(std::string_view s, std::string_view sep, int64_t maxsplit);
std::vector<std::string> splitlines(std::string_view s);  // Python str.splitlines() boundaries
std::string replace(std::string_view s, std::string_view from, std::string_view to, int64_t count);
bool starts_with(std::string_view s, std::string_view p);
bool ends_with(std::string_view s, std::string_view p);

std::string repr_string(std::string_view s);  // Python repr(str)
std::string repr_float(double d);             // Python repr(float): shortest round-trip
std::string html_escape(std::string_view s);  // markupsafe.escape

}  // namespace tandem::chat::text
