#include "server/request_fields.h"

#include <cmath>
#include <limits>

#include "server/api_error.h"

namespace tandem::server::fields {

const json* find(const json& object, const char* name) {
  if (!object.is_object()) throw bad_request("Request body must be a JSON object", std::nullopt);
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

void wrong_type(const std::string& param, const char* expected) {
  throw bad_request("Invalid type for '" + param + "': expected " + expected, param,
                    "invalid_type");
}

void invalid_value(const std::string& param, const std::string& why) {
  throw bad_request("Invalid value for '" + param + "': " + why, param, "invalid_value");
}

std::optional<std::string> string(const json& object, const char* name, const std::string& param) {
  const json* v = find(object, name);
  if (!v) return std::nullopt;
  if (!v->is_string()) wrong_type(param, "a string");
  return v->get<std::string>();
}

std::optional<bool> boolean(const json& object, const char* name, const std::string& param) {
  const json* v = find(object, name);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) wrong_type(param, "a boolean");
  return v->get<bool>();
}

std::optional<std::int64_t> integer(const json& object, const char* name, const std::string& param,
                                    std::int64_t lo, std::int64_t hi) {
  const json* v = find(object, name);
  if (!v) return std::nullopt;
  if (!v->is_number_integer()) wrong_type(param, "an integer");
  std::int64_t value = 0;
  if (v->is_number_unsigned()) {
    const auto u = v->get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      invalid_value(param, "must be at most " + std::to_string(hi));
    value = static_cast<std::int64_t>(u);
  } else {
    value = v->get<std::int64_t>();
  }
  if (value < lo) invalid_value(param, "must be at least " + std::to_string(lo));
  if (value > hi) invalid_value(param, "must be at most " + std::to_string(hi));
  return value;
}

static std::string format_number(double x) {
  json j = x;
  return j.dump();
}

std::optional<double> number(const json& object, const char* name, const std::string& param,
                             double lo, double hi, bool lo_open) {
  const json* v = find(object, name);
  if (!v) return std::nullopt;
  if (!v->is_number()) wrong_type(param, "a number");
  const double x = v->get<double>();
  if (!std::isfinite(x)) invalid_value(param, "must be a finite number");
  if (lo_open ? !(x > lo) : !(x >= lo)) {
    invalid_value(param, format_number(x) + " is " + (lo_open ? "at or below" : "below") +
                             " the minimum of " + format_number(lo));
  }
  if (x > hi) invalid_value(param, format_number(x) + " is above the maximum of " + format_number(hi));
  return x;
}

json parse_body(const std::string& body, int max_depth) {
  if (body.empty()) throw invalid_json("the body is empty");
  struct TooDeep {};
  // The callback sees each value's depth; stopping early bounds the work and the memory a
  // hostile body of nested brackets can cost.
  auto limit_depth = [max_depth](int depth, json::parse_event_t, json&) {
    if (depth > max_depth) throw TooDeep{};
    return true;
  };
  try {
    return json::parse(body, limit_depth);
  } catch (const TooDeep&) {
    throw invalid_json("nesting is deeper than " + std::to_string(max_depth) + " levels");
  } catch (const json::exception& e) {
    throw invalid_json(e.what());
  }
}

}  // namespace tandem::server::fields
