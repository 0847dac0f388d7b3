#include "platform/model_json.h"

namespace tandem::platform {

namespace {

template <typename T>
nlohmann::json or_null(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json text_or_null(const std::string& s) {
  return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s);
}

}  // namespace

nlohmann::json card_json(const ModelCard& c) {
  nlohmann::json j;
  j["architecture"] = text_or_null(c.architecture);
  j["name"] = or_null(c.name);
  j["parameters"] = c.parameters;
  j["parameters_human"] = human_count(c.parameters);
  j["quantization"] = quantization_summary(c);
  j["tensor_types"] = nlohmann::json::array();
  for (const auto& [type, u] : c.type_mix)
    j["tensor_types"].push_back({{"type", type}, {"tensors", u.tensors}, {"bytes", u.bytes}});
  j["context_length"] = or_null(c.context_length);
  j["chat_template"] = c.has_chat_template;
  j["license"] = or_null(c.license);
  j["tokenizer"] = {{"model", or_null(c.tokenizer_model)}, {"vocab_size", or_null(c.vocab_size)}};
  return j;
}

nlohmann::json source_json(const ModelSource& s) {
  return {{"url", s.url}, {"sha256", s.sha256}, {"size", s.size}, {"pulled_at", s.pulled_at}};
}

nlohmann::json stored_model_json(const StoredModel& m) {
  nlohmann::json j = {{"id", m.id}, {"path", m.path}, {"size", m.file_size}};
  if (m.card) j.update(card_json(*m.card));
  j["error"] = text_or_null(m.error);
  j["source"] = m.source ? source_json(*m.source) : nlohmann::json(nullptr);
  j["source_error"] = text_or_null(m.source_error);
  return j;
}

}  // namespace tandem::platform
