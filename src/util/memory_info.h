#pragma once
// What the operating system says about memory.
#include <cstdint>

namespace tandem {

// MemAvailable from /proc/meminfo, in bytes (memory a new allocation can get without swapping,
// reclaimable page cache included); 0 when it cannot be read.
std::uint64_t available_memory_bytes();

}  // namespace tandem
