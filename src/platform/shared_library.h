#pragma once
// A shared library opened at run time (dlopen) instead of linked, for dependencies that only one
// rarely used command needs. Linking libcurl (and, through it, OpenSSL, GnuTLS, Kerberos, LDAP,
// SSH, ...) costs every `tandem` process ~6 MB of resident memory for relocations and
// initialisers, even `tandem bench`, which never downloads anything.
#include <string>

namespace tandem::platform {

class SharedLibrary {
 public:
  // Opens `soname` (e.g. "libcurl.so.4"). Throws IoError saying which Debian package provides it
  // (`debian_package`) and what needs it (`needed_for`) when it cannot be loaded.
  SharedLibrary(std::string soname, std::string debian_package, std::string needed_for);
  // The library stays loaded for the life of the process: the function pointers taken from it
  // live in process-wide tables, and unloading TLS libraries at exit is a source of crashes.
  ~SharedLibrary() = default;
  SharedLibrary(const SharedLibrary&) = delete;
  SharedLibrary& operator=(const SharedLibrary&) = delete;

  // The address of `name`; throws IoError when the library lacks it (too old a version).
  void* symbol(const char* name) const;

  // Sets `fn` to the function `name`, typed as the declaration in the library's own header, e.g.
  //   decltype(&::curl_easy_init) easy_init; lib.bind(easy_init, "curl_easy_init");
  template <typename Function>
  void bind(Function*& fn, const char* name) const {
    fn = reinterpret_cast<Function*>(symbol(name));
  }

 private:
  std::string soname_;
  std::string debian_package_;
  void* handle_ = nullptr;
};

}  // namespace tandem::platform
