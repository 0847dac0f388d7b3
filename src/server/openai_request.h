#pragma once
// Validation of OpenAI request bodies into backend requests. Every problem is a 400 ApiError
// whose `param` names the offending field; nothing reaches the backend unchecked.
#include <nlohmann/json.hpp>

#include "server/backend.h"

namespace tandem::server {

// Limits a deployment may tune (named here rather than buried in the checks).
struct RequestLimits {
  int max_json_depth = 64;     // nesting of the request body
  int max_choices = 16;        // n (x prompts for completions)
  int max_stop = 4;            // entries in "stop" (OpenAI's limit)
  int max_logit_bias = 1024;   // entries in "logit_bias"
  int max_prompts = 64;        // prompts / embedding inputs in one request
};

GenerationRequest parse_chat_request(const nlohmann::ordered_json& body, const RequestLimits& limits);
GenerationRequest parse_completion_request(const nlohmann::ordered_json& body, const RequestLimits& limits);

struct ParsedEmbeddingRequest {
  EmbeddingRequest request;
  bool base64 = false;  // encoding_format "base64"
};
ParsedEmbeddingRequest parse_embedding_request(const nlohmann::ordered_json& body,
                                               const RequestLimits& limits);

}  // namespace tandem::server
