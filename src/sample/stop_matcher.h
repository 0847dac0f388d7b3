#pragma once
// Stop strings for streaming output. Text is fed piece by piece; the matcher releases only text
// that can no longer be the start of a stop string, so a client never sees part of a stop string.
#include <string>
#include <string_view>
#include <vector>

namespace tandem::sample {

class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops);

  // Appends text. Returns the part that is safe to emit now. After a stop string is found,
  // stopped() is true and the text from the stop string on is dropped.
  std::string feed(std::string_view text);
  // End of generation: returns whatever is still held back (no stop string matched).
  std::string flush();
  bool stopped() const { return stopped_; }
  const std::string& matched() const { return matched_; }

 private:
  std::vector<std::string> stops_;
  std::string pending_;
  bool stopped_ = false;
  std::string matched_;
};

}  // namespace tandem::sample
