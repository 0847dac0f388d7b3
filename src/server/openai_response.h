#pragma once
// Turning generation events into OpenAI's response shapes:
//   stream=false -> one chat.completion / text_completion object (ResponseAccumulator)
//   stream=true  -> SSE frames of chat.completion.chunk / text_completion chunks, ending in
//                   "data: [DONE]" (StreamEncoder)
// All output is valid UTF-8: split characters are stitched, lone bytes become U+FFFD.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/backend.h"
#include "server/generation.h"
#include "server/utf8.h"

namespace tandem::server {

struct ResponseMeta {
  std::string id;
  std::string model;
  std::int64_t created = 0;  // unix seconds
  Endpoint endpoint = Endpoint::ChatCompletions;
  int choices = 1;
  bool logprobs = false;
  bool include_usage = false;

  static ResponseMeta from(const GenerationRequest& request);
};

nlohmann::json usage_json(const Usage& usage);
// JSON text that is valid UTF-8 whatever bytes the values hold.
std::string dump_json(const nlohmann::json& value);

class StreamEncoder {
 public:
  explicit StreamEncoder(ResponseMeta meta);
  // Frames sent before any event: the chat role chunk of every choice.
  void begin(std::string& out);
  // Appends the frames for `event` to `out`; true once the stream is complete.
  bool encode(const GenerationEvent& event, std::string& out);
  // An error frame for a stream that fails outside the generation (e.g. server drain).
  static std::string error_frame(const std::string& message, const std::string& code);

 private:
  struct ChoiceState {
    Utf8Stitcher content;
    Utf8Stitcher reasoning;
    std::int64_t text_offset = 0;  // completions logprobs.text_offset
  };
  nlohmann::json chunk(nlohmann::json choice) const;
  void frame(const nlohmann::json& payload, std::string& out) const;
  void encode_delta(const GenerationEvent& event, std::string& out);
  void encode_finish(const GenerationEvent& event, std::string& out);

  ResponseMeta meta_;
  std::vector<ChoiceState> choices_;
};

class ResponseAccumulator {
 public:
  explicit ResponseAccumulator(ResponseMeta meta);
  void add(const GenerationEvent& event);
  bool complete() const { return done_ || failed_; }
  bool failed() const { return failed_; }
  const std::string& error_message() const { return error_; }
  const Usage& usage() const { return usage_; }
  std::string body() const;  // the whole response object, once complete() and !failed()

 private:
  struct ToolCall {
    std::string id, name, arguments;
  };
  struct ChoiceState {
    std::string content, reasoning;
    std::vector<ToolCall> tool_calls;
    std::vector<TokenLogprob> logprobs;
    FinishReason finish = FinishReason::Stop;
  };
  ResponseMeta meta_;
  std::vector<ChoiceState> choices_;
  Usage usage_;
  bool done_ = false, failed_ = false;
  std::string error_;
};

}  // namespace tandem::server
