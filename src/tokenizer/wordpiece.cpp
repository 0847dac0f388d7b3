#include "tokenizer/wordpiece.h"

#include <string>

#include "tokenizer/utf8.h"
#include "util/error.h"

#ifdef TANDEM_HAVE_ICU
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>
#endif

namespace tandem::tokenizer {

#ifdef TANDEM_HAVE_ICU

namespace {

constexpr std::string_view kWordStart = "\xE2\x96\x81";  // U+2581 marks word-initial pieces
// BERT gives up on words longer than this many characters and emits [UNK] for them.
constexpr size_t kMaxCharsPerWord = 100;

bool is_whitespace(uint32_t cp) {
  return cp == '\t' || cp == '\n' || cp == '\r' || u_hasBinaryProperty(static_cast<UChar32>(cp), UCHAR_WHITE_SPACE);
}

// BERT's "control": any Other category (Cc, Cf, Cn, Co, Cs) except the three whitespace controls.
bool is_control(uint32_t cp) {
  if (cp == '\t' || cp == '\n' || cp == '\r') return false;
  switch (u_charType(static_cast<UChar32>(cp))) {
    case U_CONTROL_CHAR: case U_FORMAT_CHAR: case U_UNASSIGNED: case U_PRIVATE_USE_CHAR: case U_SURROGATE:
      return true;
    default:
      return false;
  }
}

bool is_punctuation(uint32_t cp) {
  if (cp < 0x80) return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) || (cp >= 0x5B && cp <= 0x60) ||
                        (cp >= 0x7B && cp <= 0x7E);
  switch (u_charType(static_cast<UChar32>(cp))) {
    case U_DASH_PUNCTUATION: case U_START_PUNCTUATION: case U_END_PUNCTUATION: case U_CONNECTOR_PUNCTUATION:
    case U_OTHER_PUNCTUATION: case U_INITIAL_PUNCTUATION: case U_FINAL_PUNCTUATION:
      return true;
    default:
      return false;
  }
}

// The CJK Unified Ideograph blocks BERT isolates as single-character words.
bool is_cjk(uint32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
         (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

std::u16string to_utf16(const std::u32string& cps) {
  std::u16string s;
  for (uint32_t cp : cps) {
    if (cp < 0x10000) {
      s.push_back(static_cast<char16_t>(cp));
    } else {
      s.push_back(static_cast<char16_t>(U16_LEAD(cp)));
      s.push_back(static_cast<char16_t>(U16_TRAIL(cp)));
    }
  }
  return s;
}

std::u32string from_utf16(const char16_t* s, int32_t n) {
  std::u32string out;
  for (int32_t i = 0; i < n;) {
    UChar32 cp;
    U16_NEXT(s, i, n, cp);
    out.push_back(static_cast<uint32_t>(cp));
  }
  return out;
}

// Canonical decomposition with the non-spacing marks (accents) removed.
std::u32string strip_accents(const std::u32string& cps) {
  UErrorCode err = U_ZERO_ERROR;
  const UNormalizer2* nfd = unorm2_getNFDInstance(&err);
  if (U_FAILURE(err)) throw InvalidArgument(std::string("ICU NFD normalizer unavailable: ") + u_errorName(err));
  const std::u16string in = to_utf16(cps);
  std::u16string out(in.size() * 4 + 16, u'\0');
  err = U_ZERO_ERROR;
  const int32_t n = unorm2_normalize(nfd, reinterpret_cast<const UChar*>(in.data()), static_cast<int32_t>(in.size()),
                                     reinterpret_cast<UChar*>(out.data()), static_cast<int32_t>(out.size()), &err);
  if (U_FAILURE(err)) throw InvalidArgument(std::string("ICU NFD normalization failed: ") + u_errorName(err));
  std::u32string result;
  for (uint32_t cp : from_utf16(out.data(), n)) {
    if (u_charType(static_cast<UChar32>(cp)) != U_NON_SPACING_MARK) result.push_back(cp);
  }
  return result;
}

// Full Unicode lowercase mapping (a character may become several).
std::u32string lowercase(const std::u32string& cps) {
  const std::u16string in = to_utf16(cps);
  std::u16string out(in.size() * 3 + 16, u'\0');
  UErrorCode err = U_ZERO_ERROR;
  const int32_t n = u_strToLower(reinterpret_cast<UChar*>(out.data()), static_cast<int32_t>(out.size()),
                                 reinterpret_cast<const UChar*>(in.data()), static_cast<int32_t>(in.size()), "", &err);
  if (U_FAILURE(err)) throw InvalidArgument(std::string("ICU lowercasing failed: ") + u_errorName(err));
  return from_utf16(out.data(), n);
}

// BERT's BasicTokenizer: cleaned, normalized words with punctuation and CJK split off.
std::vector<std::string> basic_words(const Vocab& vocab, std::string_view text) {
  std::u32string cps;
  for (size_t pos = 0; pos < text.size();) {
    const utf8::Decoded d = utf8::decode(text, pos);
    pos += d.length;
    if (d.cp == 0 || d.cp == utf8::kReplacementChar || is_control(d.cp)) continue;
    if (is_whitespace(d.cp)) {
      cps.push_back(' ');
    } else if (is_cjk(d.cp)) {
      cps.push_back(' ');
      cps.push_back(d.cp);
      cps.push_back(' ');
    } else {
      cps.push_back(d.cp);
    }
  }
  if (vocab.strip_accents) cps = strip_accents(cps);
  if (vocab.lowercase) cps = lowercase(cps);

  std::vector<std::string> words;
  std::string current;
  auto finish = [&] {
    if (!current.empty()) words.push_back(std::move(current));
    current.clear();
  };
  for (uint32_t cp : cps) {
    if (is_whitespace(cp)) {
      finish();
    } else if (is_punctuation(cp)) {
      finish();
      words.push_back(utf8::encode(cp));
    } else {
      utf8::append(current, cp);
    }
  }
  finish();
  return words;
}

bool is_char_boundary(std::string_view s, size_t pos) {
  return pos >= s.size() || (static_cast<unsigned char>(s[pos]) & 0xC0) != 0x80;
}

void encode_word(const Vocab& vocab, const std::string& word, std::vector<int32_t>& out) {
  size_t n_chars = 0;
  for (size_t pos = 0; pos < word.size(); pos += utf8::sequence_length(static_cast<unsigned char>(word[pos]))) ++n_chars;
  if (n_chars > kMaxCharsPerWord) {
    out.push_back(vocab.special.unk);
    return;
  }
  const std::string marked = std::string(kWordStart) + word;
  const std::string_view s = marked;
  const size_t first_out = out.size();
  for (size_t start = 0; start < s.size();) {
    size_t end = std::min(s.size(), start + vocab.max_token_bytes);
    int32_t id = kNoToken;
    for (; end > start; --end) {
      if (!is_char_boundary(s, end)) continue;
      id = vocab.find(s.substr(start, end - start));
      if (id != kNoToken) break;
    }
    if (id == kNoToken) {
      // Greedy matching failed somewhere: the whole word is unknown.
      out.resize(first_out);
      out.push_back(vocab.special.unk);
      return;
    }
    out.push_back(id);
    start = end;
  }
}

}  // namespace

void encode_wordpiece(const Vocab& vocab, std::string_view text, std::vector<int32_t>& out) {
  if (vocab.special.unk == kNoToken)
    throw InvalidArgument(vocab.source + ": WordPiece vocabulary has no unknown token");
  for (const std::string& word : basic_words(vocab, text)) encode_word(vocab, word, out);
}

#else

void encode_wordpiece(const Vocab& vocab, std::string_view, std::vector<int32_t>&) {
  throw InvalidArgument(vocab.source + ": WordPiece ('bert') tokenization needs ICU, and tandem was built without it");
}

#endif

}  // namespace tandem::tokenizer
