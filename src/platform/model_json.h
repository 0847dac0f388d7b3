#pragma once
// JSON forms of the store's records, shared by `tandem models list|show --json` and any API that
// lists the store.
#include <nlohmann/json.hpp>

#include "platform/model_card.h"
#include "platform/model_store.h"

namespace tandem::platform {

// architecture, name, parameters, quantization, tensor_types, context_length, ... (unset: null)
nlohmann::json card_json(const ModelCard& card);
nlohmann::json source_json(const ModelSource& source);
// {"id", "path", "size", "error", "source", "source_error"} plus the card's fields when readable.
nlohmann::json stored_model_json(const StoredModel& model);

}  // namespace tandem::platform
