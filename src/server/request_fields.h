#pragma once
// Typed access to fields of a JSON request body. Every getter names the field (as OpenAI's
// `param`) in the 400 it throws, so a client learns exactly which parameter was wrong.
// A field that is absent or JSON null reads as "not given".
//
// Bodies are nlohmann::ordered_json: objects keep the client's key order, because much of a
// request reaches the model as written (a response_format schema's property order decides the
// order the grammar generates them in; tool parameters are rendered into the prompt). Lookups are
// linear in an object's size, which is fine for request-sized objects.
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace tandem::server::fields {

using nlohmann::ordered_json;

// nullptr when `name` is absent or null. Throws 400 when `object` is not a JSON object.
const ordered_json* find(const ordered_json& object, const char* name);

std::optional<std::string> string(const ordered_json& object, const char* name, const std::string& param);
std::optional<bool> boolean(const ordered_json& object, const char* name, const std::string& param);
// Integers only (10.0 and 1e3 are rejected); must lie in [lo, hi].
std::optional<std::int64_t> integer(const ordered_json& object, const char* name, const std::string& param,
                                    std::int64_t lo, std::int64_t hi);
// Any JSON number in [lo, hi]; lo_open excludes lo itself (top_p's (0, 1]).
std::optional<double> number(const ordered_json& object, const char* name, const std::string& param,
                             double lo, double hi, bool lo_open = false);

// Throw a 400 naming `param`: wrong type / out of range / other.
[[noreturn]] void wrong_type(const std::string& param, const char* expected);
[[noreturn]] void invalid_value(const std::string& param, const std::string& why);

// Parses a JSON request body, keeping every object's keys in the order the client wrote them (a
// repeated key keeps its first position and its last value). Throws ApiError (400) for malformed
// JSON, invalid UTF-8, numbers that overflow a double, or nesting deeper than `max_depth`.
// Linear in the body's size even for objects with very many keys.
ordered_json parse_body(const std::string& body, int max_depth);

}  // namespace tandem::server::fields
