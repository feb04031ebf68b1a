// The global-memory buffers of one launch. Every GM access a kernel makes must fall inside exactly
// one of them; this is how out-of-bounds DMAs are caught instead of silently corrupting memory.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace sim {

struct GmBuffer {
  std::string name;
  uintptr_t begin = 0;
  uint64_t bytes = 0;
  uintptr_t end() const { return begin + bytes; }
};

class GmRegistry {
 public:
  void Add(std::string name, const void* data, uint64_t bytes) {
    buffers_.push_back({std::move(name), reinterpret_cast<uintptr_t>(data), bytes});
    std::sort(buffers_.begin(), buffers_.end(), [](const GmBuffer& a, const GmBuffer& b) { return a.begin < b.begin; });
  }

  // The buffer holding [addr, addr + len), or null. A zero-length access needs only a start
  // inside (or at the end of) some buffer.
  const GmBuffer* Find(uintptr_t addr, uint64_t len) const {
    for (const GmBuffer& b : buffers_) {
      if (addr >= b.begin && addr + len <= b.end()) return &b;
    }
    return nullptr;
  }

  // "bytes [4000, 4112) of 'output' (4096 bytes), 16 past its end" style description of a range
  // that does not fit: relative to the buffer its start lies in.
  std::string DescribeRange(uintptr_t addr, uint64_t len) const {
    for (const GmBuffer& b : buffers_) {
      if (addr >= b.begin && addr < b.end()) {
        const uint64_t lo = addr - b.begin, hi = lo + len;
        return "bytes [" + std::to_string(lo) + ", " + std::to_string(hi) + ") of '" + b.name + "' (" +
               std::to_string(b.bytes) + " bytes), " + std::to_string(hi - b.bytes) + " past its end";
      }
    }
    return std::to_string(len) + " bytes starting " + Describe(addr);
  }

  // "12 bytes past the end of 'output' (4096 bytes)" style description of where addr lies.
  std::string Describe(uintptr_t addr) const {
    const GmBuffer* best = nullptr;
    for (const GmBuffer& b : buffers_) {
      if (addr >= b.begin) best = &b;
    }
    if (!best) return "below every GM buffer";
    if (addr < best->end())
      return "at byte " + std::to_string(addr - best->begin) + " of '" + best->name + "' (" +
             std::to_string(best->bytes) + " bytes)";
    return std::to_string(addr - best->end()) + " bytes past the end of '" + best->name + "' (" +
           std::to_string(best->bytes) + " bytes)";
  }

 private:
  std::vector<GmBuffer> buffers_;
};

}  // namespace sim
