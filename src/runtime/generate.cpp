#include "runtime/generate.h"

#include <vector>

#include "sample/stop_matcher.h"
#include "tokenizer/stream_decoder.h"
#include "util/timer.h"

namespace tandem::runtime {

std::string_view finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::Stop: return "stop";
    case FinishReason::Length: return "length";
    case FinishReason::ContextFull: return "context_full";
  }
  return "unknown";
}

GenerateStats generate(Session& session, sample::Sampler& sampler, std::span<const int32_t> prompt,
                       const GenerateOptions& options,
                       const std::function<bool(std::string_view)>& on_text) {
  const tokenizer::Tokenizer& tok = session.tokenizer();
  GenerateStats stats;
  const int64_t start_pos = session.n_past();
  stats.prompt_tokens = static_cast<int64_t>(prompt.size());
  tokenizer::DecodeOptions decode_options;
  decode_options.skip_special = true;
  decode_options.strip_space_prefix = session.n_past() == 0;
  tokenizer::StreamDecoder decoder(tok, decode_options);
  sample::StopMatcher stops(options.stop);
  bool client_stopped = false;
  auto emit = [&](const std::string& text) {
    if (!text.empty() && !client_stopped && !on_text(text)) client_stopped = true;
  };

  Timer timer;
  sampler.accept(prompt);
  std::vector<float> logits;
  {
    auto l = session.append(prompt);
    logits.assign(l.begin(), l.end());
  }
  stats.prompt_seconds = timer.seconds();
  timer.reset();

  stats.finish = FinishReason::Length;
  while (options.max_tokens < 0 || stats.generated_tokens < options.max_tokens) {
    const int32_t id = sampler.sample(logits);
    if (!options.ignore_eos && tok.is_eog(id)) {
      stats.finish = FinishReason::Stop;
      break;
    }
    sampler.accept(id);
    stats.tokens.push_back(id);
    ++stats.generated_tokens;
    emit(stops.feed(decoder.push(id)));
    if (stops.stopped() || client_stopped) {
      stats.finish = FinishReason::Stop;
      break;
    }
    const bool last = options.max_tokens >= 0 && stats.generated_tokens >= options.max_tokens;
    if (last) break;
    if (session.n_past() >= session.n_ctx()) {
      stats.finish = FinishReason::ContextFull;
      break;
    }
    auto l = session.append(std::span<const int32_t>(&id, 1));
    logits.assign(l.begin(), l.end());
  }
  if (session.n_past() < start_pos + stats.prompt_tokens + stats.generated_tokens)
    stats.unevaluated.push_back(stats.tokens.back());
  if (!stops.stopped()) emit(stops.flush() + decoder.flush());
  stats.generate_seconds = timer.seconds();
  return stats;
}

}  // namespace tandem::runtime
