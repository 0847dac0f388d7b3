#include "chat/reasoning.h"

namespace tandem::chat {

namespace {

std::string_view trim(std::string_view s) {
  size_t a = s.find_first_not_of(" \t\r\n");
  if (a == std::string_view::npos) return {};
  size_t b = s.find_last_not_of(" \t\r\n");
  return s.substr(a, b - a + 1);
}

std::string_view trim_left(std::string_view s) {
  size_t a = s.find_first_not_of(" \t\r\n");
  return a == std::string_view::npos ? std::string_view{} : s.substr(a);
}

}  // namespace

ReasoningSplit split_reasoning(std::string_view text, bool started_in_think,
                               std::string_view open_tag, std::string_view close_tag) {
  std::string_view body = text;
  if (!started_in_think) {
    std::string_view lead = trim_left(text);
    if (lead.substr(0, open_tag.size()) != open_tag) return {"", std::string(text)};
    body = lead.substr(open_tag.size());
  } else if (trim_left(body).substr(0, open_tag.size()) == open_tag) {
    body = trim_left(body).substr(open_tag.size());  // the model repeated the opening tag
  }
  size_t close = body.find(close_tag);
  if (close == std::string_view::npos) return {std::string(trim(body)), ""};
  return {std::string(trim(body.substr(0, close))),
          std::string(trim_left(body.substr(close + close_tag.size())))};
}

bool prompt_opens_think(std::string_view prompt, std::string_view open_tag,
                        std::string_view close_tag) {
  size_t open = prompt.rfind(open_tag);
  if (open == std::string_view::npos) return false;
  size_t close = prompt.rfind(close_tag);
  return (close == std::string_view::npos || close < open) &&
         trim(prompt.substr(open + open_tag.size())).empty();
}

bool template_uses_reasoning(std::string_view template_text) {
  return template_text.find("<think>") != std::string_view::npos ||
         template_text.find("</think>") != std::string_view::npos;
}

}  // namespace tandem::chat
