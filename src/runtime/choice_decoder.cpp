#include "runtime/choice_decoder.h"

#include <algorithm>
#include <cmath>
#include <string_view>

#include "chat/reasoning.h"

namespace tandem::runtime {

namespace {

constexpr std::string_view kThinkOpen = "<think>";
constexpr std::string_view kThinkClose = "</think>";
// OpenAI logprobs are finite numbers; a token the mask or a bias banned gets this instead of -inf.
constexpr double kLogprobFloor = -9999.0;

tokenizer::DecodeOptions stream_options(bool keep_special) {
  tokenizer::DecodeOptions o;
  // Control tokens (BOS, <|im_end|>, ...) are not reply text, except that some formats write
  // their tool-call markers ([TOOL_CALLS], ...) with them: the tool-call parser must see those.
  o.skip_special = !keep_special;
  o.strip_space_prefix = false;  // the reply continues a prompt: its first space is real
  return o;
}

// The texts that open a tool call in each format (see chat/tool_call.h).
std::vector<std::string_view> tool_markers(chat::ToolCallFormat format) {
  using F = chat::ToolCallFormat;
  switch (format) {
    case F::kHermes: return {"<tool_call>"};
    case F::kFunctionaryV31: return {"<function=", "<|python_tag|>"};
    case F::kMistral: return {"[TOOL_CALLS]"};
    case F::kCommandR: return {"Action:"};
    case F::kDeepSeekR1: return {"<｜tool▁calls▁begin｜>"};
    case F::kLlama3Json: return {"<|python_tag|>"};
    case F::kNone: break;
  }
  return {};
}

// Length of the longest suffix of `text` that is a proper prefix of `tag`: text a streamer must
// hold back because the next token may complete the tag.
size_t partial_tag_suffix(std::string_view text, std::string_view tag) {
  for (size_t n = std::min(text.size(), tag.size() - 1); n > 0; --n)
    if (text.substr(text.size() - n) == tag.substr(0, n)) return n;
  return 0;
}

// Appends to `out` what `now` has beyond `sent`, and remembers it. Text that stopped extending
// what was sent (a split that changed its mind) is held until it does again.
void send_growth(const std::string& now, std::string& sent, std::string& out) {
  if (now.size() <= sent.size() || now.compare(0, sent.size(), sent) != 0) return;
  out.append(now, sent.size(), std::string::npos);
  sent = now;
}

// Where a tool call may begin in `text` (npos: nowhere yet). Formats whose calls are bare JSON
// (Llama 3) begin at the first non-blank character when that is '{'.
size_t tool_marker_start(std::string_view text, chat::ToolCallFormat format) {
  for (std::string_view m : tool_markers(format)) {
    if (const size_t at = text.find(m); at != std::string_view::npos) return at;
  }
  if (format == chat::ToolCallFormat::kLlama3Json) {
    const size_t first = text.find_first_not_of(" \t\r\n");
    if (first != std::string_view::npos && text[first] == '{') return first;
  }
  return std::string_view::npos;
}

size_t partial_marker_suffix(std::string_view text, chat::ToolCallFormat format) {
  size_t hold = 0;
  for (std::string_view m : tool_markers(format)) hold = std::max(hold, partial_tag_suffix(text, m));
  // Bare-JSON calls: nothing may be shown while only blanks have come.
  if (format == chat::ToolCallFormat::kLlama3Json && text.find_first_not_of(" \t\r\n") == std::string_view::npos)
    hold = text.size();
  return hold;
}

}  // namespace

void ChoiceDelta::append(ChoiceDelta&& more) {
  content += more.content;
  reasoning += more.reasoning;
  for (auto& c : more.tool_calls) tool_calls.push_back(std::move(c));
  for (auto& l : more.logprobs) logprobs.push_back(std::move(l));
  tokens += more.tokens;
}

ChoiceDecoder::ChoiceDecoder(const ServingModel& model, ChoiceConfig config)
    : model_(model),
      config_(std::move(config)),
      sampler_(config_.sampling, model.tokenizer().n_vocab()),
      stops_(config_.stop),
      decoder_(model.tokenizer(), stream_options(config_.tool_format != chat::ToolCallFormat::kNone)) {
  if (config_.grammar) grammar_ = std::make_unique<chat::GrammarMatcher>(config_.grammar);
}

std::optional<int32_t> ChoiceDecoder::step(std::span<float> logits, int64_t room, ChoiceDelta& out) {
  if (finish_) return std::nullopt;
  const tokenizer::Tokenizer& tok = model_.tokenizer();
  const std::vector<bool>* mask = nullptr;
  if (grammar_) {
    grammar_->allowed_tokens(model_.token_trie(), tok.eog_ids(), mask_);
    mask = &mask_;
  }
  const int32_t id = sampler_.sample(logits, mask);
  if (tok.is_eog(id)) {
    end(ChoiceFinish::Stop, out);
    return std::nullopt;
  }
  if (config_.top_logprobs >= 0) out.logprobs.push_back(logprob_of(logits, id));
  sampler_.accept(id);
  ++generated_;
  ++out.tokens;
  if (grammar_) grammar_->accept(model_.token_bytes()[static_cast<size_t>(id)]);

  emit_text(stops_.feed(decoder_.push(id)), false, out);
  if (stops_.stopped()) end(ChoiceFinish::Stop, out);
  else if (config_.max_tokens && generated_ >= *config_.max_tokens) end(ChoiceFinish::Length, out);
  else if (grammar_ && grammar_->must_finish()) end(ChoiceFinish::Stop, out);
  else if (room <= 0) end(ChoiceFinish::Length, out);
  if (finish_) return std::nullopt;
  return id;
}

void ChoiceDecoder::end(ChoiceFinish reason, ChoiceDelta& out) {
  finish_ = reason;
  if (!stops_.stopped()) {
    std::string rest = stops_.feed(decoder_.flush());
    if (!stops_.stopped()) rest += stops_.flush();
    emit_text(rest, true, out);
  } else {
    emit_text("", true, out);
  }
}

void ChoiceDecoder::emit_text(const std::string& text, bool final, ChoiceDelta& out) {
  if (config_.tool_format == chat::ToolCallFormat::kNone && !config_.reasoning) {
    out.content += text;  // plain text: stream as it comes
    return;
  }
  text_ += text;
  if (config_.tool_format != chat::ToolCallFormat::kNone) {
    // Prose before the first tool-call marker streams as it comes; from a marker (or what may
    // become one) on, the reply is held and parsed once complete.
    if (!final) {
      if (!config_.reasoning && !holding_) {
        const size_t marker = tool_marker_start(text_, config_.tool_format);
        if (marker != std::string::npos) holding_ = true;
        const size_t safe = std::min(marker, text_.size() - partial_marker_suffix(text_, config_.tool_format));
        if (safe > sent_content_.size()) {
          out.content.append(text_, sent_content_.size(), safe - sent_content_.size());
          sent_content_.assign(text_, 0, safe);
        }
      }
      return;
    }
    chat::ToolCallParseOptions o;
    o.tool_names = config_.tool_names;
    o.id_seed = config_.tool_id_seed;
    o.reasoning = config_.reasoning;
    o.started_in_think = config_.started_in_think;
    chat::ParsedMessage parsed = chat::parse_model_output(text_, config_.tool_format, o);
    std::string content = std::move(parsed.content);
    if (!sent_content_.empty()) {
      // Already streamed: send only what the parse adds beyond it.
      if (content.compare(0, sent_content_.size(), sent_content_) == 0) content.erase(0, sent_content_.size());
      else content.clear();
    }
    out.content += content;
    out.reasoning += parsed.reasoning_content;
    if (!parsed.tool_calls.empty()) {
      out.tool_calls = std::move(parsed.tool_calls);
      finish_ = ChoiceFinish::ToolCalls;
    }
    return;
  }
  // Reasoning without tools: stream both parts, holding back a tag that may be half written.
  std::string_view stable = text_;
  if (!final) {
    const size_t hold = std::max(partial_tag_suffix(stable, kThinkOpen), partial_tag_suffix(stable, kThinkClose));
    stable.remove_suffix(hold);
  }
  chat::ReasoningSplit split = chat::split_reasoning(stable, config_.started_in_think);
  send_growth(split.reasoning, sent_reasoning_, out.reasoning);
  send_growth(split.content, sent_content_, out.content);
}

ChoiceLogprob ChoiceDecoder::logprob_of(std::span<const float> logits, int32_t id) const {
  const tokenizer::Tokenizer& tok = model_.tokenizer();
  // The distribution the token was drawn from: after masks, biases, penalties and temperature.
  const float t = config_.sampling.temperature > 0.0f ? config_.sampling.temperature : 1.0f;
  const float max_logit = logits[sample::argmax(logits)];
  double z = 0.0;
  for (float l : logits) z += std::exp((l - max_logit) / t);
  auto finite = [](double lp) { return std::isfinite(lp) ? std::max(lp, kLogprobFloor) : kLogprobFloor; };
  ChoiceLogprob lp;
  lp.token = tok.token_piece(id);
  // Same arithmetic as Sampler::top_logprobs, so the chosen token's value matches its entry there.
  lp.logprob = finite(static_cast<float>((logits[static_cast<size_t>(id)] - max_logit) / t - std::log(z)));
  for (const auto& c : sampler_.top_logprobs(logits, config_.top_logprobs))
    lp.top.emplace_back(tok.token_piece(c.id), finite(c.prob));
  return lp;
}

}  // namespace tandem::runtime
