// `tandem tokenize MODEL.gguf [TEXT | --file F] [--ids] [--no-bos] [--no-parse-special]`: shows
// how the model's own tokenizer splits a text, one "id 'piece'" line per token, or with --ids
// just the ids on one line (space separated), ready to paste into tests.
#include <fmt/format.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>

#include "cli/commands.h"
#include "gguf/file.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

namespace tandem::cli {

namespace {

struct TokenizeOptions {
  std::string model;
  std::string text;
  std::string file;
  bool ids_only = false;
  bool no_bos = false;
  bool no_parse_special = false;
};

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("cannot open text file '" + path + "'");
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A piece as a readable, single-line literal: control characters and bytes that are not part of
// valid UTF-8 (halves of a character split over byte tokens) are escaped.
std::string printable_piece(const std::string& piece) {
  std::string out;
  for (size_t i = 0; i < piece.size();) {
    const auto c = static_cast<unsigned char>(piece[i]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\\' || c == '\'') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7F) {
      out += fmt::format("\\x{:02x}", c);
    } else if (c >= 0x80) {
      size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
      bool complete = len > 1 && i + len <= piece.size();
      for (size_t k = 1; complete && k < len; ++k)
        complete = (static_cast<unsigned char>(piece[i + k]) & 0xC0) == 0x80;
      if (complete) {
        out.append(piece, i, len);
        i += len;
        continue;
      }
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
    ++i;
  }
  return out;
}

void run_tokenize(const TokenizeOptions& o) {
  const std::string text = o.file.empty() ? o.text : read_text_file(o.file);
  const gguf::File file = gguf::File::open(o.model);
  const tokenizer::Tokenizer tok = tokenizer::Tokenizer::from_gguf(file);
  const std::vector<int32_t> ids = tok.encode(text, /*add_special=*/!o.no_bos, /*parse_special=*/!o.no_parse_special);
  if (o.ids_only) {
    fmt::print("{}\n", fmt::join(ids, " "));
    return;
  }
  for (int32_t id : ids) fmt::print("{:>7} '{}'\n", id, printable_piece(tok.token_piece(id)));
  fmt::print("{} tokens\n", ids.size());
}

}  // namespace

void register_tokenize(CLI::App& app) {
  auto opts = std::make_shared<TokenizeOptions>();
  CLI::App* cmd = app.add_subcommand("tokenize", "Show how a model's tokenizer splits a text");
  cmd->add_option("model", opts->model, "GGUF model or vocabulary file")->required();
  CLI::Option* text = cmd->add_option("text", opts->text, "Text to tokenize");
  CLI::Option* file = cmd->add_option("--file,-f", opts->file, "Read the text from this file");
  text->excludes(file);
  cmd->add_flag("--ids", opts->ids_only, "Print only the token ids, space separated on one line");
  cmd->add_flag("--no-bos", opts->no_bos, "Do not add the BOS/EOS tokens the model asks for");
  cmd->add_flag("--no-parse-special", opts->no_parse_special,
                "Treat text such as <|im_start|> as plain text instead of special tokens");
  cmd->callback([opts] { run_tokenize(*opts); });
}

}  // namespace tandem::cli
