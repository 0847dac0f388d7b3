// Globals a chat template can call: Python's range and dict, Jinja2's namespace, and the two
// functions Hugging Face adds (raise_exception, strftime_now).
#include <ctime>

#include "chat/builtins.h"
#include "chat/evaluator.h"

namespace tandem::chat {
namespace {

// Jinja2's sandbox refuses larger ranges with the same limit.
constexpr int64_t kMaxRange = 100000;

Value g_range(Evaluator& ev, const CallArgs& a) {
  if (!a.keyword.empty()) fail("range() takes no keyword arguments");
  if (a.positional.empty() || a.positional.size() > 3)
    fail("range expected at most 3 arguments, got " + std::to_string(a.positional.size()));
  for (const auto& v : a.positional)
    if (!v.is_int() && !v.is_bool())
      fail("'" + type_name(v) + "' object cannot be interpreted as an integer");
  int64_t start = 0, stop, step = 1;
  if (a.positional.size() == 1) {
    stop = a.positional[0].as_int();
  } else {
    start = a.positional[0].as_int();
    stop = a.positional[1].as_int();
    if (a.positional.size() == 3) step = a.positional[2].as_int();
  }
  if (step == 0) fail("range() arg 3 must not be zero");
  std::vector<Value> out;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    if (static_cast<int64_t>(out.size()) >= kMaxRange)
      fail("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
    out.emplace_back(i);
  }
  ev.count_iterations(out.size());
  return Value::list(std::move(out));
}

Value g_dict(const CallArgs& a) {
  auto d = std::make_shared<Dict>();
  if (a.positional.size() > 1) fail("dict expected at most 1 argument, got " + std::to_string(a.positional.size()));
  if (a.positional.size() == 1) {
    const Value& src = a.positional[0];
    if (src.is_dict()) {
      *d = src.dict();
    } else {
      for (const auto& pair : iterate(src)) {
        if (!pair.is_list() || pair.items().size() != 2) fail("dictionary update sequence element has wrong length");
        d->set(pair.items()[0], pair.items()[1]);
      }
    }
  }
  for (const auto& [k, v] : a.keyword) d->set(Value(k), v);
  return Value::dict(std::move(d));
}

Value g_namespace(const CallArgs& a) {
  Value d = g_dict(a);
  return Value::namespace_(std::make_shared<Dict>(d.dict()));
}

}  // namespace

void install_globals(Scope& scope, Evaluator& ev) {
  scope.set("range", Value::function("range", [&ev](const CallArgs& a) { return g_range(ev, a); }));
  scope.set("dict", Value::function("dict", g_dict));
  scope.set("namespace", Value::function("namespace", g_namespace));
  scope.set("raise_exception", Value::function("raise_exception", [](const CallArgs& a) -> Value {
              ArgReader r(a, "raise_exception", {"message"});
              throw TemplateRaised(to_str(r.get(0)), 0);
            }));
}

void install_clock(Scope& scope, const std::optional<std::tm>& fixed_now) {
  scope.set("strftime_now", Value::function("strftime_now", [fixed_now](const CallArgs& a) {
              ArgReader r(a, "strftime_now", {"format"});
              Value fmt = r.get(0);
              if (!fmt.is_string()) fail("strftime() argument 1 must be str, not " + type_name(fmt));
              std::tm tm{};
              if (fixed_now) {
                tm = *fixed_now;
              } else {
                std::time_t now = std::time(nullptr);
                localtime_r(&now, &tm);
              }
              if (fmt.str().empty()) return Value("");
              std::string buf(256 + fmt.str().size() * 8, '\0');
              size_t n = std::strftime(buf.data(), buf.size(), fmt.str().c_str(), &tm);
              buf.resize(n);
              return Value(buf);
            }));
}

}  // namespace tandem::chat
