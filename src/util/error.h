#pragma once
// Typed errors for library code. Bad input (a corrupt file, a malformed request) throws one of
// these with a message that names what was wrong; the layer boundary (CLI, server) catches them.
#include <stdexcept>
#include <string>

namespace tandem {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Input data that does not have the expected format (GGUF file, tokenizer metadata, ...).
class FormatError : public Error {
 public:
  using Error::Error;
};

// A request or option outside what is supported (unknown type, bad argument).
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

// Operating-system level failure (open, mmap, read).
class IoError : public Error {
 public:
  using Error::Error;
};

}  // namespace tandem
