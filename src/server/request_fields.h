#pragma once
// Typed access to fields of a JSON request body. Every getter names the field (as OpenAI's
// `param`) in the 400 it throws, so a client learns exactly which parameter was wrong.
// A field that is absent or JSON null reads as "not given".
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace tandem::server::fields {

using nlohmann::json;

// nullptr when `name` is absent or null. Throws 400 when `object` is not a JSON object.
const json* find(const json& object, const char* name);

std::optional<std::string> string(const json& object, const char* name, const std::string& param);
std::optional<bool> boolean(const json& object, const char* name, const std::string& param);
// Integers only (10.0 and 1e3 are rejected); must lie in [lo, hi].
std::optional<std::int64_t> integer(const json& object, const char* name, const std::string& param,
                                    std::int64_t lo, std::int64_t hi);
// Any JSON number in [lo, hi]; lo_open excludes lo itself (top_p's (0, 1]).
std::optional<double> number(const json& object, const char* name, const std::string& param,
                             double lo, double hi, bool lo_open = false);

// Throw a 400 naming `param`: wrong type / out of range / other.
[[noreturn]] void wrong_type(const std::string& param, const char* expected);
[[noreturn]] void invalid_value(const std::string& param, const std::string& why);

// Parses a JSON request body; throws ApiError (400) for malformed JSON, invalid UTF-8, numbers
// that overflow a double, or nesting deeper than `max_depth`.
json parse_body(const std::string& body, int max_depth);

}  // namespace tandem::server::fields
