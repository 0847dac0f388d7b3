#include "util/mapped_file.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <filesystem>
#include <fstream>

#include "util/error.h"

namespace tandem {
namespace {

TEST(MappedFile, MapsContents) {
  auto path = std::filesystem::temp_directory_path() / "tandem_mapped_file_test.bin";
  {
    std::ofstream out(path, std::ios::binary);
    out << "hello";
  }
  MappedFile f(path.string());
  ASSERT_EQ(f.size(), 5u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(f.data()), 5), "hello");
  MappedFile moved(std::move(f));
  EXPECT_EQ(moved.size(), 5u);
  EXPECT_EQ(f.size(), 0u);
  std::filesystem::remove(path);
}

TEST(MappedFile, MissingFileNamesPath) {
  try {
    MappedFile f("/nonexistent/dir/model.gguf");
    FAIL() << "expected IoError";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/model.gguf"), std::string::npos);
  }
}

// Resident kB of the mapping that starts at p, from /proc/self/smaps (-1 when not found).
long resident_kb(const void* p) {
  std::ifstream smaps("/proc/self/smaps");
  const auto addr = reinterpret_cast<uintptr_t>(p);
  std::string line;
  bool in_map = false;
  while (std::getline(smaps, line)) {
    unsigned long begin = 0, end = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &begin, &end) == 2) {
      in_map = addr == begin;
      continue;
    }
    long kb = 0;
    if (in_map && std::sscanf(line.c_str(), "Rss: %ld kB", &kb) == 1) return kb;
  }
  return -1;
}

TEST(MappedFile, DroppedPagesLeaveMemoryButKeepTheirContents) {
  auto path = std::filesystem::temp_directory_path() / "tandem_mapped_file_drop.bin";
  const size_t size = 64 * 4096;
  {
    std::ofstream out(path, std::ios::binary);
    for (size_t i = 0; i < size; ++i) out.put(static_cast<char>(i * 7 + i / 4096));
  }
  MappedFile f(path.string());
  volatile unsigned sum = 0;
  for (size_t i = 0; i < size; i += 4096) sum = sum + f.data()[i];  // fault every page in
  const long before = resident_kb(f.data());
  ASSERT_GE(before, 200) << "the mapping's pages should be resident after reading them";
  f.drop_pages(f.data() + 100, size - 200);  // all but the partial first and last pages
  const long after = resident_kb(f.data());
  EXPECT_LE(after, 8) << "resident kB before " << before;
  for (size_t i = 0; i < size; ++i)
    ASSERT_EQ(f.data()[i], static_cast<uint8_t>(i * 7 + i / 4096)) << "byte " << i;
  // Ranges outside the mapping are ignored.
  const uint8_t other[16] = {};
  f.drop_pages(other, sizeof(other));
  f.drop_pages(f.data() + size - 10, 20);
  std::filesystem::remove(path);
}

TEST(MappedFile, DirectoryIsRejected) { EXPECT_THROW(MappedFile("/tmp"), IoError); }

}  // namespace
}  // namespace tandem
