#include "platform/shared_library.h"

#include <dlfcn.h>
#include <fmt/format.h>

#include <utility>

#include "util/error.h"

namespace tandem::platform {

SharedLibrary::SharedLibrary(std::string soname, std::string debian_package, std::string needed_for)
    : soname_(std::move(soname)), debian_package_(std::move(debian_package)) {
  // RTLD_LOCAL: the library's symbols serve only the pointers bound here, never other code.
  handle_ = ::dlopen(soname_.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle_) {
    const char* why = ::dlerror();
    throw IoError(fmt::format("{} not found: install Debian package {} ({} needs it){}", soname_,
                              debian_package_, needed_for, why ? fmt::format("; {}", why) : ""));
  }
}

void* SharedLibrary::symbol(const char* name) const {
  ::dlerror();  // clear a stale error so the check below reports this lookup
  void* address = ::dlsym(handle_, name);
  if (!address)
    throw IoError(fmt::format("{} has no function {}: upgrade Debian package {}", soname_, name,
                              debian_package_));
  return address;
}

}  // namespace tandem::platform
