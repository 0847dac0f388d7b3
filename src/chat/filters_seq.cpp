// Jinja2's sequence filters. Those that are generators in Jinja2 (select, map, items, unique,
// batch, reverse) return SeqKind::Iterator values, so `|length` on them fails as it does there.
#include <algorithm>
#include <unordered_map>

#include "chat/builtins.h"
#include "chat/evaluator.h"
#include "chat/text.h"

namespace tandem::chat {
namespace {

// make_attrgetter: "a.b.0" looked up with getitem semantics, integer parts as integers.
Value lookup_path(const Value& item, const Value& attribute, const Value& dflt = Value()) {
  if (attribute.is_none() || attribute.is_undefined()) return item;
  Value cur = item;
  std::vector<Value> parts;
  if (attribute.is_string()) {
    for (const auto& p : text::split(attribute.str(), ".", -1)) {
      bool numeric = !p.empty() && p.find_first_not_of("0123456789") == std::string::npos && p.size() < 18;
      parts.push_back(numeric ? Value(static_cast<int64_t>(std::stoll(p))) : Value(p));
    }
  } else {
    parts.push_back(attribute);
  }
  for (const auto& p : parts) {
    cur = get_item(cur, p);
    if (!dflt.is_undefined() && !dflt.is_none() && cur.is_undefined()) cur = dflt;
  }
  return cur;
}

Value ignore_case(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.is_string()) return Value(text::lower(v.str()));
  return v;
}

std::vector<Value> iterable_items(const Value& v, const char* filter) {
  if (v.is_none() || v.is_number() || v.is_function() || v.is_namespace())
    fail("'" + type_name(v) + "' object is not iterable (in filter '" + filter + "')");
  return iterate(v);
}

Value f_items(Evaluator&, const Value& v, const CallArgs&) {
  if (v.is_undefined()) return Value::iterator({});
  if (!v.is_dict()) fail("Can only get item pairs from a mapping.");
  std::vector<Value> out;
  for (const auto& [k, val] : v.dict().entries) out.push_back(Value::tuple({k, val}));
  return Value::iterator(std::move(out));
}

Value f_join(Evaluator& ev, const Value& v, const CallArgs& a) {
  ArgReader r(a, "join", {"d", "attribute"});
  std::string sep = to_str(r.get(0, Value("")));
  Value attribute = r.get(1, Value::none());
  std::string out;
  bool first = true;
  for (const auto& item : iterable_items(v, "join")) {
    if (!first) out += sep;
    first = false;
    out += to_str(lookup_path(item, attribute));
    if (out.size() > ev.limits().max_output_bytes) fail("joined string exceeds the size limit");
  }
  ev.charge(out.size());
  return Value(std::move(out));
}

Value f_first(Evaluator&, const Value& v, const CallArgs&) {
  auto items = iterable_items(v, "first");
  if (items.empty()) return Value::undefined("No first item, sequence was empty.");
  return items.front();
}

Value f_last(Evaluator&, const Value& v, const CallArgs&) {
  if (v.is_list() && v.seq_kind() == SeqKind::Iterator) fail("'generator' object is not reversible");
  if (v.is_dict()) fail("'dict' object is not reversible");
  auto items = iterable_items(v, "last");
  if (items.empty()) return Value::undefined("No last item, sequence was empty.");
  return items.back();
}

Value f_list(Evaluator&, const Value& v, const CallArgs&) { return Value::list(iterable_items(v, "list")); }

Value f_reverse(Evaluator&, const Value& v, const CallArgs&) {
  if (v.is_string()) {
    auto cps = text::decode(v.str());
    std::reverse(cps.begin(), cps.end());
    return make_str(text::encode(cps), v.is_safe());
  }
  auto items = iterable_items(v, "reverse");
  std::reverse(items.begin(), items.end());
  return Value::iterator(std::move(items));
}

Value f_unique(Evaluator&, const Value& v, const CallArgs& a) {
  ArgReader r(a, "unique", {"case_sensitive", "attribute"});
  bool cs = truthy(r.get(0, Value(false)));
  Value attribute = r.get(1, Value::none());
  std::vector<Value> seen, out;
  for (const auto& item : iterable_items(v, "unique")) {
    Value key = ignore_case(lookup_path(item, attribute), cs);
    if (key.is_list() && key.seq_kind() == SeqKind::List) fail("unhashable type: 'list'");
    if (key.is_dict()) fail("unhashable type: 'dict'");
    bool dup = false;
    for (const auto& s : seen)
      if (equals(s, key)) dup = true;
    if (dup) continue;
    seen.push_back(key);
    out.push_back(item);
  }
  return Value::iterator(std::move(out));
}

void stable_sort_by(std::vector<Value>& items, const std::vector<Value>& keys, bool reverse) {
  std::vector<size_t> order(items.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
    int c = compare(keys[x], keys[y]);
    return reverse ? c > 0 : c < 0;
  });
  std::vector<Value> sorted;
  sorted.reserve(items.size());
  for (size_t i : order) sorted.push_back(items[i]);
  items = std::move(sorted);
}

Value f_sort(Evaluator&, const Value& v, const CallArgs& a) {
  ArgReader r(a, "sort", {"reverse", "case_sensitive", "attribute"});
  bool reverse = truthy(r.get(0, Value(false)));
  bool cs = truthy(r.get(1, Value(false)));
  Value attribute = r.get(2, Value::none());
  auto items = iterable_items(v, "sort");
  std::vector<Value> keys;
  for (const auto& item : items) {
    if (attribute.is_string() && attribute.str().find(',') != std::string::npos) {
      std::vector<Value> multi;
      for (const auto& part : text::split(attribute.str(), ",", -1))
        multi.push_back(ignore_case(lookup_path(item, Value(part)), cs));
      keys.push_back(Value::list(std::move(multi)));
    } else {
      keys.push_back(ignore_case(lookup_path(item, attribute), cs));
    }
  }
  stable_sort_by(items, keys, reverse);
  return Value::list(std::move(items));
}

Value f_dictsort(Evaluator&, const Value& v, const CallArgs& a) {
  ArgReader r(a, "dictsort", {"case_sensitive", "by", "reverse"});
  bool cs = truthy(r.get(0, Value(false)));
  std::string by = to_str(r.get(1, Value("key")));
  bool reverse = truthy(r.get(2, Value(false)));
  if (by != "key" && by != "value") fail("You can only sort by either \"key\" or \"value\"");
  if (!v.is_dict()) fail("'" + type_name(v) + "' object has no attribute 'items'");
  std::vector<Value> items, keys;
  for (const auto& [k, val] : v.dict().entries) {
    items.push_back(Value::tuple({k, val}));
    keys.push_back(ignore_case(by == "key" ? k : val, cs));
  }
  stable_sort_by(items, keys, reverse);
  return Value::list(std::move(items));
}

// select / reject / selectattr / rejectattr share Jinja2's select_or_reject.
Value select_or_reject(Evaluator& ev, const Value& v, const CallArgs& a, bool select, bool by_attr) {
  if (!truthy(v)) return Value::iterator({});
  size_t off = by_attr ? 1 : 0;
  if (by_attr && a.positional.empty()) fail("missing parameter for attribute name");
  Value attribute = by_attr ? a.positional[0] : Value::none();
  bool has_test = a.positional.size() > off;
  std::string test = has_test ? to_str(a.positional[off]) : "";
  CallArgs test_args;
  if (has_test) test_args.positional.assign(a.positional.begin() + static_cast<std::ptrdiff_t>(off + 1), a.positional.end());
  test_args.keyword = a.keyword;
  std::vector<Value> out;
  for (const auto& item : iterable_items(v, select ? "select" : "reject")) {
    Value subject = by_attr ? lookup_path(item, attribute) : item;
    bool ok = has_test ? ev.apply_test(test, subject, test_args) : truthy(subject);
    if (ok == select) out.push_back(item);
  }
  return Value::iterator(std::move(out));
}

Value f_select(Evaluator& ev, const Value& v, const CallArgs& a) { return select_or_reject(ev, v, a, true, false); }
Value f_reject(Evaluator& ev, const Value& v, const CallArgs& a) { return select_or_reject(ev, v, a, false, false); }
Value f_selectattr(Evaluator& ev, const Value& v, const CallArgs& a) { return select_or_reject(ev, v, a, true, true); }
Value f_rejectattr(Evaluator& ev, const Value& v, const CallArgs& a) { return select_or_reject(ev, v, a, false, true); }

Value f_map(Evaluator& ev, const Value& v, const CallArgs& a) {
  std::vector<Value> out;
  if (v.is_undefined()) return Value::iterator({});
  const Value* attribute = a.keyword_arg("attribute");
  if (a.positional.empty() && attribute) {
    Value dflt;
    for (const auto& [k, val] : a.keyword) {
      if (k == "default") dflt = val;
      else if (k != "attribute") fail("Unexpected keyword argument '" + k + "'");
    }
    for (const auto& item : iterable_items(v, "map")) out.push_back(lookup_path(item, *attribute, dflt));
    return Value::iterator(std::move(out));
  }
  if (a.positional.empty()) fail("map requires a filter argument");
  std::string filter = to_str(a.positional[0]);
  CallArgs rest;
  rest.positional.assign(a.positional.begin() + 1, a.positional.end());
  rest.keyword = a.keyword;
  for (const auto& item : iterable_items(v, "map")) out.push_back(ev.apply_filter(filter, item, rest));
  return Value::iterator(std::move(out));
}

Value min_or_max(const Value& v, const CallArgs& a, bool want_max) {
  ArgReader r(a, want_max ? "max" : "min", {"case_sensitive", "attribute"});
  bool cs = truthy(r.get(0, Value(false)));
  Value attribute = r.get(1, Value::none());
  auto items = iterable_items(v, want_max ? "max" : "min");
  if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
  size_t best = 0;
  Value best_key = ignore_case(lookup_path(items[0], attribute), cs);
  for (size_t i = 1; i < items.size(); ++i) {
    Value key = ignore_case(lookup_path(items[i], attribute), cs);
    int c = compare(key, best_key);
    if (want_max ? c > 0 : c < 0) {
      best = i;
      best_key = key;
    }
  }
  return items[best];
}

Value f_max(Evaluator&, const Value& v, const CallArgs& a) { return min_or_max(v, a, true); }
Value f_min(Evaluator&, const Value& v, const CallArgs& a) { return min_or_max(v, a, false); }

Value f_sum(Evaluator& ev, const Value& v, const CallArgs& a) {
  ArgReader r(a, "sum", {"attribute", "start"});
  Value attribute = r.get(0, Value::none());
  Value total = r.get(1, Value(0));
  for (const auto& item : iterable_items(v, "sum"))
    total = binary_op("+", total, lookup_path(item, attribute), ev.limits().max_output_bytes);
  return total;
}

Value f_batch(Evaluator&, const Value& v, const CallArgs& a) {
  ArgReader r(a, "batch", {"linecount", "fill_with"});
  int64_t n = r.get(0).as_int();
  if (n <= 0) fail("batch size must be positive");
  bool fill = r.has(1) && !r.get(1).is_none();
  std::vector<Value> out, cur;
  for (const auto& item : iterable_items(v, "batch")) {
    cur.push_back(item);
    if (static_cast<int64_t>(cur.size()) == n) {
      out.push_back(Value::list(std::move(cur)));
      cur.clear();
    }
  }
  if (!cur.empty()) {
    while (fill && static_cast<int64_t>(cur.size()) < n) cur.push_back(r.get(1));
    out.push_back(Value::list(std::move(cur)));
  }
  return Value::iterator(std::move(out));
}

}  // namespace

FilterFn find_seq_filter(std::string_view name) {
  static const std::unordered_map<std::string_view, FilterFn> table = {
      {"items", f_items},   {"join", f_join},         {"first", f_first},           {"last", f_last},
      {"list", f_list},     {"reverse", f_reverse},   {"unique", f_unique},         {"sort", f_sort},
      {"dictsort", f_dictsort}, {"select", f_select}, {"reject", f_reject},         {"selectattr", f_selectattr},
      {"rejectattr", f_rejectattr}, {"map", f_map},   {"max", f_max},               {"min", f_min},
      {"sum", f_sum},       {"batch", f_batch},
  };
  auto it = table.find(name);
  return it == table.end() ? nullptr : it->second;
}

}  // namespace tandem::chat
