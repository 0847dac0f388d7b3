#include "server/request_fields.h"

#include <cmath>
#include <cstddef>
#include <limits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "server/api_error.h"

namespace tandem::server::fields {

const ordered_json* find(const ordered_json& object, const char* name) {
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

std::optional<std::string> string(const ordered_json& object, const char* name, const std::string& param) {
  const ordered_json* v = find(object, name);
  if (!v) return std::nullopt;
  if (!v->is_string()) wrong_type(param, "a string");
  return v->get<std::string>();
}

std::optional<bool> boolean(const ordered_json& object, const char* name, const std::string& param) {
  const ordered_json* v = find(object, name);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) wrong_type(param, "a boolean");
  return v->get<bool>();
}

std::optional<std::int64_t> integer(const ordered_json& object, const char* name, const std::string& param,
                                    std::int64_t lo, std::int64_t hi) {
  const ordered_json* v = find(object, name);
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
  ordered_json j = x;
  return j.dump();
}

std::optional<double> number(const ordered_json& object, const char* name, const std::string& param,
                             double lo, double hi, bool lo_open) {
  const ordered_json* v = find(object, name);
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

namespace {

struct TooDeep {};

// Builds the DOM from nlohmann's SAX events instead of its own DOM parser, for two reasons: the
// depth limit stops the parse at the first value nested too deep (bounding the work and memory a
// body of nested brackets can cost), and member lookup for repeated keys uses a hash index once
// an object grows large — ordered_json's own insertion scans the object for every key, which
// would make a body with a million keys take minutes.
class OrderedBuilder {
 public:
  explicit OrderedBuilder(int max_depth) : max_depth_(static_cast<std::size_t>(max_depth < 0 ? 0 : max_depth)) {}

  ordered_json take() { return std::move(root_); }

  bool null() { return add(nullptr); }
  bool boolean(bool v) { return add(v); }
  bool number_integer(ordered_json::number_integer_t v) { return add(v); }
  bool number_unsigned(ordered_json::number_unsigned_t v) { return add(v); }
  bool number_float(ordered_json::number_float_t v, const std::string&) { return add(v); }
  bool string(std::string& v) { return add(std::move(v)); }
  bool binary(ordered_json::binary_t& v) { return add(ordered_json::binary(std::move(v))); }
  bool start_object(std::size_t) { return add(ordered_json::object(), /*container=*/true); }
  bool start_array(std::size_t) { return add(ordered_json::array(), /*container=*/true); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(std::string& name) {
    check_depth();
    Open& open = open_.back();
    // Positional access: ordered_map's own operator[] takes a key.
    auto& members = static_cast<ordered_json::object_t::Container&>(open.container->get_ref<ordered_json::object_t&>());
    if (open.index.empty() && members.size() < kIndexFrom) {
      for (auto& member : members)
        if (member.first == name) return remember(member.second);
      members.emplace_back(std::move(name), nullptr);
      return remember(members.back().second);
    }
    if (open.index.empty())
      for (std::size_t i = 0; i < members.size(); ++i) open.index.emplace(members[i].first, i);
    auto [it, inserted] = open.index.emplace(name, members.size());
    if (!inserted) return remember(members[it->second].second);
    members.emplace_back(std::move(name), nullptr);
    return remember(members.back().second);
  }

  // Same behaviour as nlohmann's DOM parser: the (typed) exception describing the error.
  template <class Exception>
  bool parse_error(std::size_t, const std::string&, const Exception& error) {
    throw error;
  }

 private:
  // Objects smaller than this are searched linearly for a repeated key; larger ones get an index.
  static constexpr std::size_t kIndexFrom = 32;

  struct Open {
    ordered_json* container;
    std::unordered_map<std::string, std::size_t> index;  // key -> member position, once large
  };

  // A value's depth is the number of containers around it (what nlohmann's parse callback
  // reports), so max_depth 64 allows 65 nested levels.
  void check_depth() const {
    if (open_.size() > max_depth_) throw TooDeep{};
  }

  bool remember(ordered_json& slot) {
    member_slot_ = &slot;
    return true;
  }

  template <class Value>
  bool add(Value&& value, bool container = false) {
    check_depth();
    ordered_json* slot = nullptr;
    if (open_.empty()) {
      root_ = ordered_json(std::forward<Value>(value));
      slot = &root_;
    } else if (open_.back().container->is_array()) {
      auto& items = open_.back().container->get_ref<ordered_json::array_t&>();
      items.emplace_back(std::forward<Value>(value));
      slot = &items.back();
    } else {
      // The slot key() made; the parent does not grow until this value is complete.
      *member_slot_ = ordered_json(std::forward<Value>(value));
      slot = member_slot_;
    }
    if (container) open_.push_back(Open{slot, {}});
    return true;
  }

  bool close() {
    open_.pop_back();
    return true;
  }

  std::size_t max_depth_;
  ordered_json root_;
  std::vector<Open> open_;
  ordered_json* member_slot_ = nullptr;
};

}  // namespace

ordered_json parse_body(const std::string& body, int max_depth) {
  if (body.empty()) throw invalid_json("the body is empty");
  OrderedBuilder builder(max_depth);
  try {
    ordered_json::sax_parse(body, &builder);
  } catch (const TooDeep&) {
    throw invalid_json("nesting is deeper than " + std::to_string(max_depth) + " levels");
  } catch (const ordered_json::exception& e) {
    throw invalid_json(e.what());
  }
  return builder.take();
}

}  // namespace tandem::server::fields
