#include "server/openai_response.h"

#include <algorithm>
#include <chrono>

namespace tandem::server {
namespace {

using nlohmann::json;

json token_bytes(const std::string& token) {
  json bytes = json::array();
  for (unsigned char c : token) bytes.push_back(static_cast<int>(c));
  return bytes;
}

// Chat shape: {"content": [{"token", "logprob", "bytes", "top_logprobs": [...]}, ...]}
json chat_logprobs(const std::vector<TokenLogprob>& tokens) {
  json content = json::array();
  for (const auto& t : tokens) {
    json top = json::array();
    for (const auto& alt : t.top) {
      top.push_back({{"token", sanitize_utf8(alt.token)},
                     {"logprob", alt.logprob},
                     {"bytes", token_bytes(alt.token)}});
    }
    content.push_back({{"token", sanitize_utf8(t.token)},
                       {"logprob", t.logprob},
                       {"bytes", token_bytes(t.token)},
                       {"top_logprobs", std::move(top)}});
  }
  return {{"content", std::move(content)}};
}

// Legacy completions shape: parallel arrays plus one {token: logprob} map per position.
json completion_logprobs(const std::vector<TokenLogprob>& tokens, std::int64_t& text_offset) {
  json out = {{"tokens", json::array()},
              {"token_logprobs", json::array()},
              {"top_logprobs", json::array()},
              {"text_offset", json::array()}};
  for (const auto& t : tokens) {
    out["tokens"].push_back(sanitize_utf8(t.token));
    out["token_logprobs"].push_back(t.logprob);
    json top = json::object();
    for (const auto& alt : t.top) top[sanitize_utf8(alt.token)] = alt.logprob;
    out["top_logprobs"].push_back(std::move(top));
    out["text_offset"].push_back(text_offset);
    text_offset += static_cast<std::int64_t>(t.token.size());
  }
  return out;
}

json tool_call_delta(const ToolCallDelta& d) {
  json call = {{"index", d.index}};
  json fn = {{"arguments", d.arguments}};
  if (!d.id.empty()) {
    call["id"] = d.id;
    call["type"] = "function";
  }
  if (!d.name.empty()) fn["name"] = d.name;
  call["function"] = std::move(fn);
  return call;
}

}  // namespace

ResponseMeta ResponseMeta::from(const GenerationRequest& request) {
  ResponseMeta m;
  m.id = request.id;
  m.model = request.model;
  m.created = std::chrono::duration_cast<std::chrono::seconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  m.endpoint = request.endpoint;
  m.choices = request.choice_count();
  m.logprobs = request.logprobs;
  m.include_usage = request.include_usage;
  return m;
}

json usage_json(const Usage& usage) {
  json u = {{"prompt_tokens", usage.prompt_tokens},
            {"completion_tokens", usage.completion_tokens},
            {"total_tokens", usage.prompt_tokens + usage.completion_tokens}};
  if (usage.cached_prompt_tokens > 0) {
    u["prompt_tokens_details"] = {{"cached_tokens", usage.cached_prompt_tokens}};
  }
  return u;
}

std::string dump_json(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

// ---------------------------------------------------------------------------- streaming

StreamEncoder::StreamEncoder(ResponseMeta meta)
    : meta_(std::move(meta)), choices_(static_cast<std::size_t>(std::max(meta_.choices, 1))) {}

json StreamEncoder::chunk(json choice) const {
  const bool chat = meta_.endpoint == Endpoint::ChatCompletions;
  json c = {{"id", meta_.id},
            {"object", chat ? "chat.completion.chunk" : "text_completion"},
            {"created", meta_.created},
            {"model", meta_.model},
            {"choices", json::array({std::move(choice)})}};
  if (meta_.include_usage) c["usage"] = nullptr;  // OpenAI: null on all but the usage chunk
  return c;
}

void StreamEncoder::frame(const json& payload, std::string& out) const {
  out += "data: ";
  out += dump_json(payload);
  out += "\n\n";
}

void StreamEncoder::begin(std::string& out) {
  if (meta_.endpoint != Endpoint::ChatCompletions) return;
  for (int i = 0; i < static_cast<int>(choices_.size()); ++i) {
    frame(chunk({{"index", i},
                 {"delta", {{"role", "assistant"}, {"content", ""}}},
                 {"logprobs", nullptr},
                 {"finish_reason", nullptr}}),
          out);
  }
}

void StreamEncoder::encode_delta(const GenerationEvent& e, std::string& out) {
  ChoiceState& state = choices_[static_cast<std::size_t>(e.choice)];
  const std::string content = state.content.push(e.content);
  const std::string reasoning = state.reasoning.push(e.reasoning);
  if (content.empty() && reasoning.empty() && e.tool_calls.empty() && e.logprobs.empty()) return;
  if (meta_.endpoint == Endpoint::ChatCompletions) {
    json delta = json::object();
    if (!content.empty()) delta["content"] = content;
    if (!reasoning.empty()) delta["reasoning_content"] = reasoning;
    if (!e.tool_calls.empty()) {
      json calls = json::array();
      for (const auto& d : e.tool_calls) calls.push_back(tool_call_delta(d));
      delta["tool_calls"] = std::move(calls);
    }
    json lp = meta_.logprobs && !e.logprobs.empty() ? chat_logprobs(e.logprobs) : json(nullptr);
    frame(chunk({{"index", e.choice}, {"delta", std::move(delta)}, {"logprobs", std::move(lp)},
                 {"finish_reason", nullptr}}),
          out);
  } else {
    json lp = meta_.logprobs ? completion_logprobs(e.logprobs, state.text_offset) : json(nullptr);
    frame(chunk({{"text", content}, {"index", e.choice}, {"logprobs", std::move(lp)},
                 {"finish_reason", nullptr}}),
          out);
  }
}

void StreamEncoder::encode_finish(const GenerationEvent& e, std::string& out) {
  ChoiceState& state = choices_[static_cast<std::size_t>(e.choice)];
  // A character left unfinished at the end can never complete: send it as U+FFFD.
  GenerationEvent rest = GenerationEvent::delta(e.choice, "");
  const std::string content_tail = state.content.flush();
  const std::string reasoning_tail = state.reasoning.flush();
  if (!content_tail.empty() || !reasoning_tail.empty()) {
    rest.content = content_tail;
    rest.reasoning = reasoning_tail;
    encode_delta(rest, out);
  }
  const char* reason = finish_reason_name(e.finish_reason);
  if (meta_.endpoint == Endpoint::ChatCompletions) {
    frame(chunk({{"index", e.choice}, {"delta", json::object()}, {"logprobs", nullptr},
                 {"finish_reason", reason}}),
          out);
  } else {
    frame(chunk({{"text", ""}, {"index", e.choice}, {"logprobs", nullptr},
                 {"finish_reason", reason}}),
          out);
  }
}

bool StreamEncoder::encode(const GenerationEvent& e, std::string& out) {
  switch (e.kind) {
    case GenerationEvent::Kind::Delta:
    case GenerationEvent::Kind::Finish:
      if (e.choice < 0 || e.choice >= static_cast<int>(choices_.size())) return false;
      if (e.kind == GenerationEvent::Kind::Delta) {
        encode_delta(e, out);
      } else {
        encode_finish(e, out);
      }
      return false;
    case GenerationEvent::Kind::Done:
      if (meta_.include_usage) {
        json c = chunk(nullptr);
        c["choices"] = json::array();
        c["usage"] = usage_json(e.usage);
        frame(c, out);
      }
      out += "data: [DONE]\n\n";
      return true;
    case GenerationEvent::Kind::Error:
      out += error_frame(e.error_message, "generation_failed");
      return true;
  }
  return false;
}

std::string StreamEncoder::error_frame(const std::string& message, const std::string& code) {
  json error = {{"error",
                 {{"message", message}, {"type", "server_error"}, {"param", nullptr}, {"code", code}}}};
  return "data: " + dump_json(error) + "\n\n";
}

// ---------------------------------------------------------------------------- non-streaming

ResponseAccumulator::ResponseAccumulator(ResponseMeta meta)
    : meta_(std::move(meta)), choices_(static_cast<std::size_t>(std::max(meta_.choices, 1))) {}

void ResponseAccumulator::add(const GenerationEvent& e) {
  if (complete()) return;
  if (e.kind == GenerationEvent::Kind::Done) {
    usage_ = e.usage;
    done_ = true;
    return;
  }
  if (e.kind == GenerationEvent::Kind::Error) {
    error_ = e.error_message;
    failed_ = true;
    return;
  }
  if (e.choice < 0 || e.choice >= static_cast<int>(choices_.size())) return;
  ChoiceState& c = choices_[static_cast<std::size_t>(e.choice)];
  if (e.kind == GenerationEvent::Kind::Finish) {
    c.finish = e.finish_reason;
    return;
  }
  c.content += e.content;
  c.reasoning += e.reasoning;
  for (const auto& d : e.tool_calls) {
    if (d.index < 0 || d.index > 1024) continue;  // a backend bug must not cost unbounded memory
    if (c.tool_calls.size() <= static_cast<std::size_t>(d.index)) c.tool_calls.resize(d.index + 1);
    ToolCall& call = c.tool_calls[static_cast<std::size_t>(d.index)];
    if (!d.id.empty()) call.id = d.id;
    if (!d.name.empty()) call.name = d.name;
    call.arguments += d.arguments;
  }
  c.logprobs.insert(c.logprobs.end(), e.logprobs.begin(), e.logprobs.end());
}

std::string ResponseAccumulator::body() const {
  const bool chat = meta_.endpoint == Endpoint::ChatCompletions;
  json choices = json::array();
  for (std::size_t i = 0; i < choices_.size(); ++i) {
    const ChoiceState& c = choices_[i];
    json choice = {{"index", i}};
    if (chat) {
      json message = {{"role", "assistant"}};
      const std::string content = sanitize_utf8(c.content);
      message["content"] = content.empty() && !c.tool_calls.empty() ? json(nullptr) : json(content);
      if (!c.reasoning.empty()) message["reasoning_content"] = sanitize_utf8(c.reasoning);
      if (!c.tool_calls.empty()) {
        json calls = json::array();
        for (const auto& call : c.tool_calls) {
          calls.push_back({{"id", call.id},
                           {"type", "function"},
                           {"function", {{"name", call.name}, {"arguments", call.arguments}}}});
        }
        message["tool_calls"] = std::move(calls);
      }
      choice["message"] = std::move(message);
      choice["logprobs"] = meta_.logprobs ? chat_logprobs(c.logprobs) : json(nullptr);
    } else {
      choice["text"] = sanitize_utf8(c.content);
      std::int64_t offset = 0;
      choice["logprobs"] = meta_.logprobs ? completion_logprobs(c.logprobs, offset) : json(nullptr);
    }
    choice["finish_reason"] = finish_reason_name(c.finish);
    choices.push_back(std::move(choice));
  }
  json response = {{"id", meta_.id},
                   {"object", chat ? "chat.completion" : "text_completion"},
                   {"created", meta_.created},
                   {"model", meta_.model},
                   {"choices", std::move(choices)},
                   {"usage", usage_json(usage_)}};
  return dump_json(response);
}

}  // namespace tandem::server
