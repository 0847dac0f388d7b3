#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/pretokenizer.h"

#include <pcre2.h>

#include "tokenizer/utf8.h"
#include "util/error.h"

namespace tandem::tokenizer {

namespace {

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  const int n = pcre2_get_error_message(code, buffer, sizeof(buffer));
  return n < 0 ? "PCRE2 error " + std::to_string(code) : std::string(reinterpret_cast<char*>(buffer));
}

struct CodeDeleter {
  void operator()(pcre2_code* code) const { pcre2_code_free(code); }
};
struct MatchDataDeleter {
  void operator()(pcre2_match_data* data) const { pcre2_match_data_free(data); }
};
using MatchData = std::unique_ptr<pcre2_match_data, MatchDataDeleter>;

// A piece that is one byte >= 0x80 can only be an invalid UTF-8 byte split off by
// split_invalid_utf8; it must never reach PCRE2, which was promised valid UTF-8.
bool is_opaque_byte(std::string_view piece) {
  return piece.size() == 1 && static_cast<unsigned char>(piece[0]) >= 0x80;
}

// Valid UTF-8 runs and single invalid bytes, in order.
std::vector<std::string_view> split_invalid_utf8(std::string_view text) {
  std::vector<std::string_view> pieces;
  size_t run_start = 0;
  for (size_t pos = 0; pos < text.size();) {
    const auto lead = static_cast<unsigned char>(text[pos]);
    if (lead < 0x80) {
      ++pos;
      continue;
    }
    const utf8::Decoded d = utf8::decode(text, pos);
    if (d.valid) {
      pos += d.length;
      continue;
    }
    if (pos > run_start) pieces.push_back(text.substr(run_start, pos - run_start));
    pieces.push_back(text.substr(pos, 1));
    ++pos;
    run_start = pos;
  }
  if (run_start < text.size()) pieces.push_back(text.substr(run_start));
  return pieces;
}

}  // namespace

struct PreTokenizer::Pattern {
  std::shared_ptr<pcre2_code> code;
  std::string source;
  bool jit = false;
};

PreTokenizer::PreTokenizer(const std::vector<std::string_view>& patterns) {
  auto compiled = std::make_shared<std::vector<Pattern>>();
  for (std::string_view source : patterns) {
    int error = 0;
    PCRE2_SIZE error_offset = 0;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(source.data()), source.size(),
                                     PCRE2_UTF | PCRE2_UCP, &error, &error_offset, nullptr);
    if (code == nullptr) {
      throw InvalidArgument("pre-tokenizer regex /" + std::string(source) + "/ does not compile at offset " +
                            std::to_string(error_offset) + ": " + pcre2_message(error));
    }
    Pattern p;
    p.code = std::shared_ptr<pcre2_code>(code, CodeDeleter{});
    p.source = std::string(source);
    // JIT is an optimisation only: when the library was built without it, the interpreter runs.
    p.jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
    compiled->push_back(std::move(p));
  }
  patterns_ = std::move(compiled);
}

PreTokenizer::~PreTokenizer() = default;

size_t PreTokenizer::pattern_count() const { return patterns_->size(); }

std::vector<std::string_view> PreTokenizer::split(std::string_view text) const {
  std::vector<std::string_view> pieces = split_invalid_utf8(text);
  std::vector<std::string_view> next;
  for (const Pattern& pattern : *patterns_) {
    MatchData match(pcre2_match_data_create_from_pattern(pattern.code.get(), nullptr));
    next.clear();
    next.reserve(pieces.size() * 2);
    for (std::string_view piece : pieces) {
      if (is_opaque_byte(piece)) {
        next.push_back(piece);
        continue;
      }
      const auto* subject = reinterpret_cast<PCRE2_SPTR>(piece.data());
      size_t last = 0;    // end of the previous emitted piece
      size_t offset = 0;  // where the next search starts
      while (offset <= piece.size()) {
        uint32_t options = PCRE2_NO_UTF_CHECK;
        int rc = pcre2_match(pattern.code.get(), subject, piece.size(), offset, options, match.get(), nullptr);
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
          // Very long pieces can exhaust the JIT's small stack; the interpreter uses the heap.
          options |= PCRE2_NO_JIT;
          rc = pcre2_match(pattern.code.get(), subject, piece.size(), offset, options, match.get(), nullptr);
        }
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
          throw InvalidArgument("pre-tokenizer regex /" + pattern.source + "/ failed on a " +
                                std::to_string(piece.size()) + "-byte piece: " + pcre2_message(rc));
        }
        const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.get());
        const size_t start = ovector[0];
        const size_t end = ovector[1];
        if (end <= start) {
          // An empty match (a pure lookahead) marks a split point.
          if (start > last) {
            next.push_back(piece.substr(last, start - last));
            last = start;
          }
          if (start >= piece.size()) break;
          offset = start + utf8::sequence_length(static_cast<unsigned char>(piece[start]));
          continue;
        }
        if (start > last) next.push_back(piece.substr(last, start - last));
        next.push_back(piece.substr(start, end - start));
        last = end;
        offset = end;
      }
      if (last < piece.size()) next.push_back(piece.substr(last));
    }
    pieces.swap(next);
  }
  return pieces;
}

}  // namespace tandem::tokenizer
