#pragma once
// Renders a parsed template: statement execution, expression evaluation, scopes, macros and the
// resource limits that keep a hostile template from hanging or exhausting memory.
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "chat/ast.h"
#include "chat/value.h"

namespace tandem::chat {

// Named limits (all per render). Real chat templates use a tiny fraction of each.
struct RenderLimits {
  size_t max_output_bytes = 16u << 20;      // rendered prompt, and any single string built
  uint64_t max_string_work_bytes = 1u << 30;  // total bytes of strings built (concat, join, ...)
  uint64_t max_loop_iterations = 1'000'000;   // total for-loop iterations and range() sizes
  int max_call_depth = 100;                    // nested macro calls
};

class Scope {
 public:
  explicit Scope(std::shared_ptr<Scope> parent = nullptr) : parent_(std::move(parent)) {}
  const Value* find(const std::string& name) const;
  void set(const std::string& name, Value v) { vars_[name] = std::move(v); }

 private:
  std::shared_ptr<Scope> parent_;
  std::unordered_map<std::string, Value> vars_;
};
using ScopePtr = std::shared_ptr<Scope>;

class Evaluator {
 public:
  explicit Evaluator(const RenderLimits& limits) : limits_(limits) {}

  // Renders `body` into `out`. Errors are TemplateError with the line of the failing node.
  void render(const Body& body, const ScopePtr& scope, std::string& out);
  Value eval(const Expr& e, const ScopePtr& scope);

  // Used by builtins (filters that take a filter or test name, methods, globals).
  Value call(const Value& callee, const CallArgs& args);
  Value apply_filter(const std::string& name, const Value& subject, const CallArgs& args);
  bool apply_test(const std::string& name, const Value& subject, const CallArgs& args);
  // Charges bytes of string building against the work budget; throws when exceeded.
  void charge(size_t bytes);
  void count_iterations(uint64_t n);
  const RenderLimits& limits() const { return limits_; }

 private:
  enum class Flow { Normal, Break, Continue };
  Flow exec(const Body& body, const ScopePtr& scope, std::string& out);
  Flow exec_stmt(const Stmt& s, const ScopePtr& scope, std::string& out);
  Flow exec_for(const Stmt& s, const ScopePtr& scope, std::string& out);
  void exec_set(const Stmt& s, const ScopePtr& scope, std::string& out);
  void exec_call_block(const Stmt& s, const ScopePtr& scope, std::string& out);
  void assign(const Target& t, const Value& v, Scope& scope);
  void append(std::string& out, const std::string& text);
  Value make_macro(const Stmt& s, const ScopePtr& closure);
  Value eval_inner(const Expr& e, const ScopePtr& scope);
  Value eval_filter_chain(const Expr& e, const ScopePtr& scope, const Value& innermost);
  CallArgs eval_args(const Expr& e, const ScopePtr& scope, size_t first);

  RenderLimits limits_;
  uint64_t work_bytes_ = 0;
  uint64_t iterations_ = 0;
  int call_depth_ = 0;
};

}  // namespace tandem::chat
