// LocalTensor (a typed view of the calling core's UB) and GlobalTensor (a typed GM pointer with an
// optional size). Every element access is bounds-checked: a LocalTensor against its view, a
// GlobalTensor against its SetGlobalBuffer size and against the launch's registered GM buffers.
#pragma once

#include <cstdint>
#include <type_traits>

#include "api_types.h"
#include "core_context.h"
#include "scalar_types.h"
#include "strictness.h"

namespace AscendC {

using TTagType = int32_t;

template <typename T>
class LocalTensor {
 public:
  using PrimType = T;
  LocalTensor() = default;

  uint64_t GetPhyAddr() const { return addr_; }
  uint64_t GetPhyAddr(const uint32_t offset) const { return addr_ + static_cast<uint64_t>(offset) * sizeof(T); }

  T GetValue(const uint32_t index) const {
    CheckIndex("GetValue", index);
    SimScalarUb("GetValue", index, false);
    T v;
    std::memcpy(&v, ::sim::Core().ub() + addr_ + static_cast<uint64_t>(index) * sizeof(T), sizeof(T));
    return v;
  }
  T& operator()(const uint32_t index) const {
    CheckIndex("operator()", index);
    SimScalarUb("operator()", index, false);  // tracked as a read: the reference may only be read
    return *reinterpret_cast<T*>(::sim::Core().ub() + addr_ + static_cast<uint64_t>(index) * sizeof(T));
  }
  template <typename T1>
  void SetValue(const uint32_t index, const T1 value) const {
    CheckIndex("SetValue", index);
    SimScalarUb("SetValue", index, true);
    const T v = static_cast<T>(value);
    std::memcpy(::sim::Core().ub() + addr_ + static_cast<uint64_t>(index) * sizeof(T), &v, sizeof(T));
  }

  // A view starting `offset` elements in. Like CANN's CPU check, the offset must be inside.
  LocalTensor operator[](const uint32_t offset) const {
    RequireValid("operator[]");
    if (offset >= size_)
      ::sim::Fail("ub-out-of-bounds", ::sim::Msg("LocalTensor operator[](", offset, ") on a tensor of ", size_,
                                                 " elements (UB address ", addr_, ")"));
    LocalTensor view = *this;
    view.addr_ = addr_ + offset * static_cast<uint32_t>(sizeof(T));
    view.size_ = size_ - offset;
    return view;
  }

  template <typename U>
  LocalTensor<U> ReinterpretCast() const {
    LocalTensor<U> out =
        LocalTensor<U>::SimMake(addr_, static_cast<uint32_t>(static_cast<uint64_t>(size_) * sizeof(T) / sizeof(U)),
                                limit_, owner_, slot_, pos_);
    out.valid_ = valid_;  // a view of a freed tensor stays unusable
    return out;
  }

  uint32_t GetSize() const { return size_; }
  void SetSize(const uint32_t size) {
    RequireValid("SetSize");
    if (addr_ + static_cast<uint64_t>(size) * sizeof(T) > limit_)
      ::sim::Fail("ub-out-of-bounds", ::sim::Msg("LocalTensor SetSize(", size, ") needs ", size * sizeof(T),
                                                 " B but its buffer has ", limit_ - addr_, " B from address ", addr_));
    size_ = size;
  }
  int32_t GetPosition() const { return static_cast<int32_t>(pos_); }
  void SetUserTag(const TTagType tag) { tag_ = tag; }
  TTagType GetUserTag() const { return tag_; }

  // ---- simulator internals (not AscendC API) ----
  static LocalTensor SimMake(uint32_t addr, uint32_t size, uint32_t limit, int32_t owner, int32_t slot, TPosition pos) {
    LocalTensor t;
    t.addr_ = addr;
    t.size_ = size;
    t.limit_ = limit;
    t.owner_ = owner;
    t.slot_ = slot;
    t.pos_ = pos;
    t.valid_ = true;
    return t;
  }
  uint32_t SimAddr() const { return addr_; }
  uint32_t SimBytes() const { return size_ * static_cast<uint32_t>(sizeof(T)); }
  int32_t SimOwner() const { return owner_; }
  int32_t SimSlot() const { return slot_; }
  T* SimData() const { return reinterpret_cast<T*>(::sim::Core().ub() + addr_); }
  void RequireValid(const char* op) const {
    if (!valid_)
      ::sim::Fail("ub-out-of-bounds",
                  ::sim::Msg(op, " on a LocalTensor that was never allocated (default-constructed)"));
  }

 private:
  template <typename U>
  friend class LocalTensor;

  void CheckIndex(const char* op, uint32_t index) const {
    RequireValid(op);
    if (index >= size_)
      ::sim::Fail("ub-out-of-bounds", ::sim::Msg("LocalTensor ", op, "(", index, ") on a tensor of ", size_,
                                                 " elements (UB address ", addr_, ")"));
  }

  // One scalar-pipe access of element `index`: counted in the statistics and checked by the
  // pipe-hazard checker (pipe_hazards.h).
  void SimScalarUb(const char* op, uint32_t index, bool write) const {
    ::sim::RecordUbScalarAccess();
    ::sim::CoreContext& c = ::sim::Core();
    const uint64_t seq = c.clocks.Issue(::sim::Pipe::kS);
    if (!c.check_hazards()) return;
    const uint32_t at = addr_ + index * static_cast<uint32_t>(sizeof(T));
    if (write)
      c.hazards().Write(c.clocks, ::sim::Pipe::kS, seq, op, at, sizeof(T));
    else
      c.hazards().Read(c.clocks, ::sim::Pipe::kS, seq, op, at, sizeof(T));
  }

  uint32_t addr_ = 0;   // byte address in UB
  uint32_t size_ = 0;   // elements in this view
  uint32_t limit_ = 0;  // end byte of the buffer the view lies in
  int32_t owner_ = 0;   // id of the TQue/TBuf that handed the buffer out
  int32_t slot_ = -1;   // buffer index inside a TQue
  TPosition pos_ = TPosition::VECCALC;
  TTagType tag_ = 0;
  bool valid_ = false;
};

template <typename T>
class GlobalTensor {
 public:
  using PrimType = T;
  GlobalTensor() = default;

  void SetGlobalBuffer(__gm__ T* buffer, uint64_t bufferSize) {
    addr_ = buffer;
    base_ = buffer;
    bufferSize_ = bufferSize;
    sized_ = true;
    SimFindHome();
    if (bufferSize == 0) return;
    const uintptr_t begin = reinterpret_cast<uintptr_t>(buffer);
    const uint64_t bytes = bufferSize * sizeof(T);
    const ::sim::GmRegistry& gm = ::sim::Core().launch().gm;
    // CANN stores only the pointer and the size (kernel_tensor_impl.h): a range past the buffer
    // is harmless until an access goes there, which SimCheck catches, so this is class (b).
    if (!gm.Find(begin, bytes)) {
      ::sim::BugRisk("gm-global-buffer-range",
                     ::sim::Msg("SetGlobalBuffer(size=", bufferSize, " elements = ", bytes, " B) covers ",
                                gm.DescribeRange(begin, bytes), "; the range is not inside one GM buffer"));
    }
  }
  void SetGlobalBuffer(__gm__ T* buffer) {
    addr_ = buffer;
    base_ = buffer;
    bufferSize_ = 0;
    sized_ = false;
    SimFindHome();
  }

  const __gm__ T* GetPhyAddr() const { return addr_; }
  __gm__ T* GetPhyAddr(const uint64_t offset) const { return addr_ + offset; }

  T GetValue(const uint64_t offset) const {
    SimScalarAccess("GetValue", offset, false);
    T v;
    std::memcpy(&v, addr_ + offset, sizeof(T));
    return v;
  }
  __gm__ T& operator()(const uint64_t offset) const {
    SimScalarAccess("operator()", offset, false);
    return addr_[offset];
  }
  void SetValue(const uint64_t offset, T value) {
    SimScalarAccess("SetValue", offset, true);
    std::memcpy(addr_ + offset, &value, sizeof(T));
  }

  uint64_t GetSize() const { return bufferSize_; }
  GlobalTensor operator[](const uint64_t offset) const {
    GlobalTensor view = *this;
    view.addr_ = addr_ + offset;
    return view;
  }

  // ---- simulator internals (not AscendC API) ----
  // Checks that bytes [byte_offset, byte_offset + bytes) from this tensor's address lie inside its
  // SetGlobalBuffer size and inside one registered GM buffer.
  void SimCheck(const char* op, uint64_t byte_offset, uint64_t bytes) const {
    const uintptr_t begin = reinterpret_cast<uintptr_t>(addr_) + byte_offset;
    const ::sim::GmRegistry& gm = ::sim::Core().launch().gm;
    // The GM buffer the tensor's base lies in is a hard limit (class a): past it the access reads
    // or corrupts another tensor. The SetGlobalBuffer size is only a bug risk (class b).
    const bool inside =
        home_ ? begin >= home_->begin && begin + bytes <= home_->end() : gm.Find(begin, bytes) != nullptr;
    if (!inside) {
      ::sim::Fail(
          "gm-out-of-bounds",
          ::sim::Msg(op, " touches GM ", gm.DescribeRange(begin, bytes), "; the range is not inside ",
                     home_ ? "'" + home_->name + "', the GM buffer of this GlobalTensor" : std::string("one GM buffer"),
                     sized_ ? ::sim::Msg(" (a GlobalTensor of ", bufferSize_, " elements)") : std::string()));
    }
    if (sized_) {
      const uintptr_t lo = reinterpret_cast<uintptr_t>(base_);
      const uintptr_t hi = lo + bufferSize_ * sizeof(T);
      if (begin < lo || begin + bytes > hi) {
        // A real DMA never looks at the size.
        ::sim::BugRisk(
            "gm-beyond-global-buffer",
            ::sim::Msg(op, " touches GM bytes [", static_cast<int64_t>(begin - lo), ", ",
                       static_cast<int64_t>(begin + bytes - lo), ") relative to a GlobalTensor of ", bufferSize_,
                       " elements (", bufferSize_ * sizeof(T), " B); access starts ", gm.Describe(begin)));
      }
    }
  }
  __gm__ T* SimAddr() const { return addr_; }

 private:
  void SimFindHome() { home_ = ::sim::Core().launch().gm.Find(reinterpret_cast<uintptr_t>(base_), 0); }

  void SimScalarAccess(const char* op, uint64_t offset, bool write) const {
    SimCheck(op, offset * sizeof(T), sizeof(T));
    ::sim::CoreContext& core = ::sim::Core();
    ++core.stats().gm_scalar_access_count;
    ::sim::TrackGm(::sim::Pipe::kS, core.clocks.Issue(::sim::Pipe::kS), op, write, addr_ + offset, sizeof(T));
  }

  __gm__ T* addr_ = nullptr;
  __gm__ T* base_ = nullptr;
  uint64_t bufferSize_ = 0;
  bool sized_ = false;
  const ::sim::GmBuffer* home_ = nullptr;  // the launch's GM buffer holding base_, if any
};

}  // namespace AscendC
