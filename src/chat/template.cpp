#include "chat/template.h"

#include <cstdio>

#include "chat/builtins.h"
#include "chat/lexer.h"
#include "chat/parser.h"

namespace tandem::chat {
namespace {

// Context JSON deeper than this is refused before conversion (the converter recurses).
constexpr int kMaxContextDepth = 256;

template <class Json>
void check_depth(const Json& j, int depth) {
  if (depth > kMaxContextDepth)
    throw InvalidArgument("chat template context is nested deeper than " + std::to_string(kMaxContextDepth) + " levels");
  if (j.is_structured())
    for (const auto& e : j) check_depth(e, depth + 1);
}

template <class Json>
Value context_value(const Json& context) {
  if (!context.is_object()) throw InvalidArgument("chat template context must be a JSON object");
  check_depth(context, 0);
  return Value::from_json(context);
}

}  // namespace

std::tm parse_fixed_date(const std::string& text) {
  std::tm tm{};
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  char tail = 0;
  int n = std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &s, &tail);
  if (!(n == 3 || n == 6) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
    throw InvalidArgument("bad fixed date '" + text + "' (expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS)");
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  tm.tm_isdst = -1;
  std::tm copy = tm;
  timegm(&copy);  // fills in weekday and day of year for %a, %A, %j
  tm.tm_wday = copy.tm_wday;
  tm.tm_yday = copy.tm_yday;
  return tm;
}

Template::Template(std::string_view source)
    : body_(std::make_shared<const Body>(parse_template(tokenize(source)))) {}

std::string Template::render(const nlohmann::ordered_json& context, const RenderOptions& options) const {
  return render_value(context_value(context), options);
}

std::string Template::render(const nlohmann::json& context, const RenderOptions& options) const {
  return render_value(context_value(context), options);
}

std::string Template::render_value(const Value& context, const RenderOptions& options) const {
  if (!context.is_dict()) throw InvalidArgument("chat template context must be a mapping");
  Evaluator ev(options.limits);
  auto globals = std::make_shared<Scope>();
  install_globals(*globals, ev);
  install_clock(*globals, options.fixed_now);
  auto top = std::make_shared<Scope>(globals);
  for (const auto& [k, v] : context.dict().entries) top->set(to_str(k), v);
  std::string out;
  ev.render(*body_, top, out);
  return out;
}

}  // namespace tandem::chat
