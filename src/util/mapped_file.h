#pragma once
// Read-only memory map of a whole file. Moves, does not copy; unmaps on destruction.
#include <cstddef>
#include <cstdint>
#include <string>

namespace tandem {

class MappedFile {
 public:
  MappedFile() = default;
  // Throws IoError naming the path when the file cannot be opened or mapped.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

  // Hands the whole pages inside [p, p + n) back to the kernel (madvise DONTNEED): the caller has
  // copied what it needs from them. Reading them again is still valid and faults them back in
  // from the file; only the process's resident size changes. Ranges outside the map are ignored.
  void drop_pages(const void* p, size_t n) const;

 private:
  void reset();
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

}  // namespace tandem
