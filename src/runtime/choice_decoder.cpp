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

tokenizer::DecodeOptions stream_options() {
  tokenizer::DecodeOptions o;
  o.skip_special = true;         // control tokens (BOS, <|im_end|>, ...) are not reply text
  o.strip_space_prefix = false;  // the reply continues a prompt: its first space is real
  return o;
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
      decoder_(model.tokenizer(), stream_options()) {
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
    // A tool call can only be told from prose once it is complete: hold the reply until the end.
    if (!final) return;
    chat::ToolCallParseOptions o;
    o.tool_names = config_.tool_names;
    o.id_seed = config_.tool_id_seed;
    o.reasoning = config_.reasoning;
    o.started_in_think = config_.started_in_think;
    chat::ParsedMessage parsed = chat::parse_model_output(text_, config_.tool_format, o);
    out.content += parsed.content;
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
