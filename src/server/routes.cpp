#include "server/routes.h"

#include <cstdio>
#include <random>

#include "server/openai_request.h"
#include "server/request_fields.h"

namespace tandem::server {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;

constexpr std::string_view kModelsPrefix = "/v1/models/";

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Model ids may contain '/' or ':'; clients percent-encode them in /v1/models/{id}.
std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
      continue;
    }
    out.push_back(s[i]);
  }
  return out;
}

std::string random_id(const char* prefix) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char hex[33];
  std::snprintf(hex, sizeof hex, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng()));
  return std::string(prefix) + std::string(hex, 24);
}

Reply json_reply(const json& body, int status = 200) { return {status, dump_json(body)}; }

json model_object(const ModelInfo& m) {
  json o = m.card.is_object() ? m.card : json::object();
  o["id"] = m.id;
  o["object"] = "model";
  o["created"] = m.created;
  o["owned_by"] = m.owned_by;
  return o;
}

// 503 while the backend loads or anything drains: generation routes only.
void require_ready(ServerState& st) {
  if (st.draining.load()) throw unavailable("The server is shutting down", 5);
  switch (st.backend.state()) {
    case BackendState::Loading: throw unavailable("The model is still loading; try again shortly", 5);
    case BackendState::Draining: throw unavailable("The server is shutting down", 5);
    case BackendState::Ready: break;
  }
}

void require_known_model(ServerState& st, const std::string& model) {
  for (const auto& m : st.backend.models()) {
    if (m.id == model) return;
  }
  throw model_not_found(model);
}

std::string authorize(ServerState& st, const HttpRequest& req, const std::string& route) {
  if (!st.options.authenticator) return {};
  const auto header = req[http::field::authorization];
  AuthRequest ar;
  ar.bearer_token = bearer_token(std::string_view(header.data(), header.size()));
  const auto method = req.method_string();
  ar.method = std::string_view(method.data(), method.size());
  ar.route = route;
  AuthDecision d = st.options.authenticator->authorize(ar);
  switch (d.outcome) {
    case AuthDecision::Outcome::Allow: return d.principal;
    case AuthDecision::Outcome::Unauthenticated: throw unauthorized(d.message);
    case AuthDecision::Outcome::Forbidden: throw forbidden(d.message);
  }
  return {};
}

Action start_generation(ServerState& st, const HttpRequest& req, Endpoint endpoint,
                        const std::string& principal) {
  require_ready(st);
  const nlohmann::ordered_json body = fields::parse_body(req.body(), st.options.limits.max_json_depth);
  GenerationRequest request = endpoint == Endpoint::ChatCompletions
                                  ? parse_chat_request(body, st.options.limits)
                                  : parse_completion_request(body, st.options.limits);
  require_known_model(st, request.model);
  request.id = random_id(endpoint == Endpoint::ChatCompletions ? "chatcmpl-" : "cmpl-");
  request.principal = principal;
  request.stream_buffer_events = st.options.stream_buffer_events;
  request.arrival = std::chrono::steady_clock::now();
  StartGeneration action;
  action.meta = ResponseMeta::from(request);
  action.stream = request.stream;
  action.generation = st.backend.start(std::move(request));
  if (!action.generation) throw internal_error("The backend did not start the generation");
  return action;
}

std::string base64_floats(const std::vector<float>& values) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  // OpenAI's base64 embeddings are the little-endian float32 bytes (x86 is little-endian).
  const auto* bytes = reinterpret_cast<const unsigned char*>(values.data());
  const std::size_t n = values.size() * sizeof(float);
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  for (std::size_t i = 0; i < n; i += 3) {
    const unsigned b0 = bytes[i];
    const unsigned b1 = i + 1 < n ? bytes[i + 1] : 0;
    const unsigned b2 = i + 2 < n ? bytes[i + 2] : 0;
    const unsigned triple = (b0 << 16) | (b1 << 8) | b2;
    out.push_back(kAlphabet[(triple >> 18) & 63]);
    out.push_back(kAlphabet[(triple >> 12) & 63]);
    out.push_back(i + 1 < n ? kAlphabet[(triple >> 6) & 63] : '=');
    out.push_back(i + 2 < n ? kAlphabet[triple & 63] : '=');
  }
  return out;
}

Action embeddings(ServerState& st, const HttpRequest& req, const std::string& principal) {
  require_ready(st);
  const nlohmann::ordered_json body = fields::parse_body(req.body(), st.options.limits.max_json_depth);
  ParsedEmbeddingRequest parsed = parse_embedding_request(body, st.options.limits);
  require_known_model(st, parsed.request.model);
  parsed.request.principal = principal;
  Backend* backend = &st.backend;
  Metrics* metrics = &st.metrics;
  return RunBlocking{[backend, metrics, parsed = std::move(parsed)]() -> Reply {
    try {
      const EmbeddingResult result = backend->embed(parsed.request);
      if (result.embeddings.size() != parsed.request.inputs.size()) {
        throw internal_error("The backend returned " + std::to_string(result.embeddings.size()) +
                             " embeddings for " + std::to_string(parsed.request.inputs.size()) +
                             " inputs");
      }
      json data = json::array();
      for (std::size_t i = 0; i < result.embeddings.size(); ++i) {
        json e = {{"object", "embedding"}, {"index", i}};
        if (parsed.base64) {
          e["embedding"] = base64_floats(result.embeddings[i]);
        } else {
          e["embedding"] = result.embeddings[i];
        }
        data.push_back(std::move(e));
      }
      metrics->record_tokens(result.prompt_tokens, 0);
      return json_reply({{"object", "list"},
                         {"data", std::move(data)},
                         {"model", parsed.request.model},
                         {"usage",
                          {{"prompt_tokens", result.prompt_tokens},
                           {"total_tokens", result.prompt_tokens}}}});
    } catch (...) {
      return error_reply_for_current_exception();
    }
  }};
}

Action list_models(ServerState& st) {
  json data = json::array();
  for (const auto& m : st.backend.models()) data.push_back(model_object(m));
  return json_reply({{"object", "list"}, {"data", std::move(data)}});
}

Action get_model(ServerState& st, std::string_view path) {
  const std::string id = percent_decode(path.substr(kModelsPrefix.size()));
  for (const auto& m : st.backend.models()) {
    if (m.id == id) return json_reply(model_object(m));
  }
  throw model_not_found(id);
}

Action ready(ServerState& st) {
  if (st.draining.load()) return Reply{503, R"({"status":"draining"})", "application/json", 5};
  switch (st.backend.state()) {
    case BackendState::Loading: return Reply{503, R"({"status":"loading"})", "application/json", 5};
    case BackendState::Draining: return Reply{503, R"({"status":"draining"})", "application/json", 5};
    case BackendState::Ready: break;
  }
  return Reply{200, R"({"status":"ready"})"};
}

}  // namespace

Reply error_reply(const ApiError& e) {
  Reply r{e.status(), e.body()};
  r.retry_after = e.retry_after_seconds;
  return r;
}

Reply error_reply_for_current_exception() {
  try {
    throw;
  } catch (const ApiError& e) {
    return error_reply(e);
  } catch (const QueueFull& e) {
    return error_reply(rate_limited(e.what(), e.retry_after_seconds));
  } catch (const ModelNotFound& e) {
    return error_reply(not_found(e.what(), "model_not_found"));
  } catch (const Unavailable& e) {
    return error_reply(unavailable(e.what(), 5));
  } catch (const InvalidArgument& e) {
    return error_reply(bad_request(e.what()));
  } catch (const std::exception& e) {
    return error_reply(internal_error(std::string("Internal error: ") + e.what()));
  } catch (...) {
    return error_reply(internal_error("Internal error"));
  }
}

std::string route_name(std::string_view target) {
  const std::string_view path = path_of(target);
  static constexpr std::string_view kFixed[] = {"/health", "/ready", "/metrics", "/v1/models",
                                                "/v1/chat/completions", "/v1/completions",
                                                "/v1/embeddings"};
  for (auto r : kFixed) {
    if (path == r) return std::string(r);
  }
  if (path.starts_with(kModelsPrefix)) return "/v1/models/{id}";
  return "other";
}

Action handle_request(ServerState& st, const HttpRequest& req) {
  const auto target_sv = req.target();
  const std::string_view target(target_sv.data(), target_sv.size());
  const std::string_view path = path_of(target);
  const std::string route = route_name(target);
  const auto method = req.method();
  const auto method_sv = req.method_string();
  const std::string method_name(method_sv.data(), method_sv.size());
  const bool get = method == http::verb::get || method == http::verb::head;
  try {
    auto wrong_method = [&](const char* allow) -> Reply {
      Reply r = error_reply(method_not_allowed(method_name, std::string(path)));
      r.allow = allow;
      return r;
    };
    if (route == "/health") return get ? Reply{200, std::string(kHealthBody)} : wrong_method("GET, HEAD");
    if (route == "/ready") return get ? ready(st) : wrong_method("GET, HEAD");
    if (route == "/metrics") {
      if (!get) return wrong_method("GET, HEAD");
      return Reply{200, st.metrics.render(st.backend.stats()), "text/plain; version=0.0.4"};
    }
    if (route == "other") {
      throw not_found("Unknown request URL: " + method_name + " " + std::string(path), "unknown_url");
    }
    const bool post_route = route != "/v1/models" && route != "/v1/models/{id}";
    if (post_route && method != http::verb::post) return wrong_method("POST");
    if (!post_route && !get) return wrong_method("GET, HEAD");
    const std::string principal = authorize(st, req, route);
    if (route == "/v1/models") return list_models(st);
    if (route == "/v1/models/{id}") return get_model(st, path);
    if (route == "/v1/chat/completions") {
      return start_generation(st, req, Endpoint::ChatCompletions, principal);
    }
    if (route == "/v1/completions") return start_generation(st, req, Endpoint::Completions, principal);
    return embeddings(st, req, principal);
  } catch (...) {
    return error_reply_for_current_exception();
  }
}

}  // namespace tandem::server
