#pragma once
// One choice of one request, token by token: logits -> (grammar mask) -> sampler -> token, and
// token -> text with everything a client must never see held back: partial UTF-8 characters,
// partial stop strings, half-written <think> tags, and (when tools are offered) the whole reply
// until it can be parsed into tool calls. Knows nothing of HTTP: the server wraps its deltas into
// its own events.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "chat/grammar.h"
#include "chat/grammar_matcher.h"
#include "chat/tool_call.h"
#include "runtime/serving_model.h"
#include "sample/sampler.h"
#include "sample/stop_matcher.h"
#include "tokenizer/stream_decoder.h"

namespace tandem::runtime {

struct ChoiceLogprob {
  std::string token;  // raw bytes of the token
  double logprob = 0.0;
  std::vector<std::pair<std::string, double>> top;  // best first
};

// Output produced since the last delta was taken.
struct ChoiceDelta {
  std::string content;
  std::string reasoning;
  std::vector<chat::ToolCall> tool_calls;  // only ever in the final delta
  std::vector<ChoiceLogprob> logprobs;
  int tokens = 0;  // generated tokens this delta covers
  bool empty() const {
    return content.empty() && reasoning.empty() && tool_calls.empty() && logprobs.empty() && tokens == 0;
  }
  void append(ChoiceDelta&& more);
};

enum class ChoiceFinish { Stop, Length, ToolCalls };

struct ChoiceConfig {
  sample::SamplerParams sampling;
  std::vector<std::string> stop;
  std::optional<int64_t> max_tokens;  // none: until the context is full
  int top_logprobs = -1;              // < 0: no logprobs; else alternatives per token
  std::shared_ptr<const chat::Grammar> grammar;  // null: unconstrained
  // Tool calls: parse the finished reply in this format (kNone: plain text, streamed as it comes).
  chat::ToolCallFormat tool_format = chat::ToolCallFormat::kNone;
  std::vector<std::string> tool_names;
  uint64_t tool_id_seed = 0;
  bool reasoning = false;         // split <think>...</think> into reasoning
  bool started_in_think = false;  // the prompt opened the think block
};

class ChoiceDecoder {
 public:
  // `model` must outlive the decoder.
  ChoiceDecoder(const ServingModel& model, ChoiceConfig config);

  // Picks the next token from `logits` (modified in place) and appends the text it completes to
  // `out`. Returns the token to feed back, or nullopt when the choice is done (see finish()).
  // `room` is how many more tokens the context can take (0: this is the last one).
  std::optional<int32_t> step(std::span<float> logits, int64_t room, ChoiceDelta& out);

  bool done() const { return finish_.has_value(); }
  ChoiceFinish finish_reason() const { return finish_.value_or(ChoiceFinish::Stop); }
  int64_t generated_tokens() const { return generated_; }

 private:
  void end(ChoiceFinish reason, ChoiceDelta& out);
  void emit_text(const std::string& text, bool final, ChoiceDelta& out);
  ChoiceLogprob logprob_of(std::span<const float> logits, int32_t id) const;

  const ServingModel& model_;
  ChoiceConfig config_;
  sample::Sampler sampler_;
  sample::StopMatcher stops_;
  tokenizer::StreamDecoder decoder_;
  std::unique_ptr<chat::GrammarMatcher> grammar_;
  std::vector<bool> mask_;
  std::optional<ChoiceFinish> finish_;
  int64_t generated_ = 0;
  // Visible text so far (after stop strings), and the parts of its split already sent.
  std::string text_;
  std::string sent_content_;
  std::string sent_reasoning_;
  bool holding_ = false;  // a tool-call marker appeared: the rest waits for the final parse
};

}  // namespace tandem::runtime
