#pragma once
// JSON Schema (a documented subset) -> grammar (grammar.h notation), for OpenAI `response_format`
// and for tool-call arguments.
//
// Supported: type (string or array of types), object {properties, required,
// additionalProperties: false | true | schema}, array {items, minItems, maxItems}, string
// {minLength, maxLength, enum, const}, integer/number {minimum, maximum, exclusiveMinimum,
// exclusiveMaximum}, boolean, null, enum/const of any JSON value, anyOf/oneOf, allOf (merged
// shallowly: properties and required combine, any other keyword must agree; refused when one
// part's additionalProperties would forbid another part's properties), $ref to "#" or a
// JSON pointer into the same document ($defs/definitions; recursion allowed).
//
// Choices made (documented behaviour, not accidents):
// - Keywords that constrain values in ways a grammar here cannot enforce (pattern,
//   patternProperties, propertyNames, not, if/then/else, multipleOf, uniqueItems,
//   min/maxProperties, contains, prefixItems, dependent*, unevaluated*) are REJECTED with
//   InvalidArgument naming the keyword, rather than ignored: we never emit output that violates
//   the caller's schema. Annotations (title, description, default, examples, format, ...) and
//   unknown keywords are ignored (JSON Schema treats `format` as an annotation by default).
// - Properties are generated in the schema's declared order (pass ordered_json or text to keep
//   it); optional ones may be skipped. `additionalProperties` absent means "no extra properties
//   are generated" when `properties` is given, and "any properties" when it is not (so
//   {"type":"object"} is any object). Extra properties come after the declared ones, use keys
//   without escape sequences, and never repeat a declared name.
// - Integer bounds are exact. Number bounds are rounded inward to integers and then exact (a
//   bounded number has no exponent); e.g. minimum 0.5 generates values >= 1.
// - oneOf is treated like anyOf: give it disjoint alternatives (the output matches >= 1).
// - Whitespace between tokens is bounded (`max_whitespace` characters of [ \t\n]) and digit
//   counts are bounded, so a model cannot loop forever on spaces or digits. Strings are unbounded
//   unless maxLength says otherwise.
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/json_schema_numbers.h"

namespace tandem::chat {

struct JsonSchemaOptions {
  // One character per gap: enough for `{"a": 1, "b": 2}` or a newline between members, never a
  // run. Small models fill whatever whitespace a grammar allows (20 per gap left 0 of 16 nested
  // outputs of the demo and stories260K models closed within 200 tokens; 1 closes all of them:
  // tests/runtime/schema_outputs_test.py), and compact JSON is what clients expect.
  uint32_t max_whitespace = 1;
  json_schema_detail::DigitLimits digits;
  uint32_t max_repetition = 10000;  // largest minItems/maxItems/minLength/maxLength accepted
};

// Accumulates grammar rules for one or more schemas (tool calls combine several).
class JsonSchemaConverter {
 public:
  explicit JsonSchemaConverter(JsonSchemaOptions options = {});

  // Adds rules for values matching `schema` ($refs resolve within `schema`) and returns the name
  // of the rule matching one such value. Throws InvalidArgument on unsupported or bad schemas.
  std::string add_schema(const nlohmann::ordered_json& schema, std::string_view name_hint);
  // Adds `name_hint ::= body` (name made unique) and returns the name.
  std::string add_rule(std::string_view name_hint, const std::string& body);
  // Reserves a unique rule name now and defines its body later (for a root that must keep the
  // name "root" while its body refers to rules added after it).
  std::string reserve_name(std::string_view hint);
  void define_rule(const std::string& name, const std::string& body) {
    rules_.push_back({name, body});
  }
  // Bounded whitespace rule name.
  std::string ws();
  // Rule matching any JSON value / any JSON object.
  std::string any_value();
  std::string any_object();

  // All rules so far, one per line.
  std::string grammar_text() const;

 private:
  using json = nlohmann::ordered_json;

  std::string expr(const json& schema, const std::string& hint);
  std::string rule_for(const json& schema, const std::string& hint);
  std::string ref_rule(const std::string& ref);
  std::string type_expr(const std::string& type, const json& schema, const std::string& hint);
  std::string object_expr(const json& schema, const std::string& hint);
  std::string array_expr(const json& schema, const std::string& hint);
  std::string string_expr(const json& schema);
  std::string extra_key_rule(const std::vector<std::string>& declared, const std::string& hint);
  std::string primitive(const std::string& name);
  uint32_t count_keyword(const json& schema, const char* key);

  JsonSchemaOptions options_;
  std::vector<std::pair<std::string, std::string>> rules_;
  std::set<std::string> names_;
  std::map<std::string, std::string> primitives_;
  std::map<std::string, std::string> ref_rules_;
  const json* document_ = nullptr;
  int depth_ = 0;
};

// A complete grammar (root rule "root") for values matching `schema`.
std::string json_schema_to_grammar(const nlohmann::ordered_json& schema,
                                   const JsonSchemaOptions& options = {});

// OpenAI `response_format`: {"type":"text"} -> "" (unconstrained), {"type":"json_object"} -> any
// JSON object, {"type":"json_schema","json_schema":{"schema":{...}}} -> that schema.
std::string response_format_to_grammar(const nlohmann::ordered_json& response_format,
                                        const JsonSchemaOptions& options = {});

}  // namespace tandem::chat
