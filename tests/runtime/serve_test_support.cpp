#include "serve_test_support.h"

#include "gguf/file.h"
#include "gguf/writer.h"
#include "shared_data.h"

namespace tandem::testing {

std::string stories_path() { return shared_dir() + "/testdata/models/stories260K.gguf"; }

void write_chat_model(const std::string& path, const std::string& chat_template) {
  const gguf::File src = gguf::File::open(stories_path());
  gguf::Writer w(src.alignment());
  for (const auto& [key, value] : src.metadata()) w.set(key, value);
  w.set("tokenizer.chat_template", gguf::Value::str(chat_template));
  for (const auto& t : src.tensors())
    w.add_tensor(t.name, t.type, t.dims, std::vector<uint8_t>(t.data, t.data + t.n_bytes));
  w.write(path);
}

const char* const kHermesToolTemplate =
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['role'] == 'system' and tools %}{{ message['content'] }}\n"
    "You may call tools. Tools: {{ tools | tojson }}\n"
    "Answer with <tool_call>\n{\"name\": ..., \"arguments\": ...}\n</tool_call>"
    "{% else %}{{ message['content'] }}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

const char* const kReasoningTemplate =
    "{% for message in messages %}{{ message['role'] }}: {{ message['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant: <think>\n{% endif %}";

RequestResult collect(server::Generation& g, int choices, std::chrono::milliseconds timeout) {
  RequestResult r;
  r.choices.resize(static_cast<size_t>(choices));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<server::GenerationEvent> events;
  while (std::chrono::steady_clock::now() < deadline) {
    events.clear();
    g.wait_drain(events, std::chrono::milliseconds(50));
    for (auto& e : events) {
      using K = server::GenerationEvent::Kind;
      if (e.kind == K::Delta && e.token_count > 0 && r.first_token_at == decltype(r.first_token_at){})
        r.first_token_at = e.pushed_at;
      if (e.kind == K::Done) {
        r.done = true;
        r.done_at = e.pushed_at;
        r.usage = e.usage;
        return r;
      }
      if (e.kind == K::Error) {
        r.error = e.error_message;
        return r;
      }
      ChoiceResult& c = r.choices.at(static_cast<size_t>(e.choice));
      if (e.kind == K::Finish) {
        c.finish = e.finish_reason;
        c.finished = true;
        continue;
      }
      c.content += e.content;
      c.reasoning += e.reasoning;
      for (auto& t : e.tool_calls) {
        if (c.tool_calls.size() <= static_cast<size_t>(t.index)) c.tool_calls.resize(t.index + 1);
        auto& call = c.tool_calls[static_cast<size_t>(t.index)];
        if (!t.id.empty()) call.id = t.id;
        if (!t.name.empty()) call.name = t.name;
        call.arguments += t.arguments;
      }
      for (auto& l : e.logprobs) c.logprobs.push_back(l);
    }
  }
  r.error = "timed out";
  return r;
}

server::GenerationRequest completion_request(const std::string& model, const std::string& prompt,
                                             int max_tokens, double temperature, long seed) {
  server::GenerationRequest r;
  r.endpoint = server::Endpoint::Completions;
  r.model = model;
  r.prompts = {prompt};
  r.sampling.max_tokens = max_tokens;
  r.sampling.temperature = temperature;
  r.sampling.seed = seed;
  return r;
}

server::GenerationRequest chat_request(const std::string& model, const std::string& user_text,
                                       int max_tokens, long seed) {
  server::GenerationRequest r;
  r.endpoint = server::Endpoint::ChatCompletions;
  r.model = model;
  r.messages = nlohmann::ordered_json::array({{{"role", "user"}, {"content", user_text}}});
  r.sampling.max_tokens = max_tokens;
  r.sampling.seed = seed;
  return r;
}

}  // namespace tandem::testing
