// TPipe, TQue and TBuf: UB allocation and the queue protocol. The simulator enforces what the
// hardware cannot forgive: UB capacity, at most `num` tensors out of a queue at once, at most
// `depth` tensors enqueued, no DeQue from an empty queue (the core would wait forever), FreeTensor
// only of a tensor the queue handed out. EnQue/DeQue and FreeTensor/AllocTensor also carry the
// pipe synchronisation the real framework inserts (MTE2->V for VECIN, V->MTE3 for VECOUT, and the
// reverse on free), which the hazard checker relies on.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "api_types.h"
#include "core_context.h"
#include "tensors.h"

namespace AscendC {

namespace sim_detail {

inline const char* PositionName(TPosition p) {
  switch (p) {
    case TPosition::VECIN: return "VECIN";
    case TPosition::VECOUT: return "VECOUT";
    case TPosition::VECCALC: return "VECCALC";
    default: return "non-vector position";
  }
}

// The pipes the framework synchronises for a queue position: who fills a tensor, who drains it.
inline bool QueuePipes(TPosition p, ::sim::Pipe* producer, ::sim::Pipe* consumer) {
  if (p == TPosition::VECIN) {
    *producer = ::sim::Pipe::kMte2;
    *consumer = ::sim::Pipe::kV;
    return true;
  }
  if (p == TPosition::VECOUT) {
    *producer = ::sim::Pipe::kV;
    *consumer = ::sim::Pipe::kMte3;
    return true;
  }
  return false;
}

inline uint32_t RoundUp32(uint32_t len) { return (len + 31u) / 32u * 32u; }

}  // namespace sim_detail

class TPipe;

template <TPosition pos, int32_t depth, auto mask = 0>
class TQue {
 public:
  static constexpr bool kSimIsQueue = true;
  TQue() = default;

  template <typename T>
  LocalTensor<T> AllocTensor() {
    RequireInit("AllocTensor");
    int slot = -1;
    for (int i = 0; i < num_ && slot < 0; ++i) {
      const int s = (next_alloc_ + i) % num_;
      if (state_[s] == State::kFree) slot = s;
    }
    if (slot < 0) {
      ::sim::Fail("queue-overflow", ::sim::Msg("AllocTensor on ", Name(), " but all ", num_,
                                               " of its buffers are "
                                               "still allocated or enqueued (InitBuffer num=",
                                               num_,
                                               "); FreeTensor one "
                                               "first, otherwise the core waits forever on hardware"));
    }
    next_alloc_ = (slot + 1) % num_;
    state_[slot] = State::kAllocated;
    ::sim::Pipe producer, consumer;
    if (has_free_snapshot_[slot] && sim_detail::QueuePipes(pos, &producer, &consumer))
      ::sim::Core().clocks.Absorb(producer, free_snapshot_[slot]);
    const uint32_t addr = start_ + static_cast<uint32_t>(slot) * len_;
    return LocalTensor<T>::SimMake(addr, len_ / static_cast<uint32_t>(sizeof(T)), addr + len_, id_, slot, pos);
  }

  template <typename T>
  bool EnQue(const LocalTensor<T>& tensor) {
    const int slot = OwnSlot("EnQue", tensor.SimOwner(), tensor.SimSlot());
    if (state_[slot] == State::kEnqueued)
      ::sim::Fail("queue-misuse",
                  ::sim::Msg("EnQue on ", Name(), " of a tensor (buffer ", slot, ") already in the queue"));
    if (state_[slot] == State::kFree)
      ::sim::Fail("queue-misuse", ::sim::Msg("EnQue on ", Name(), " of a tensor (buffer ", slot, ") that was freed"));
    if (static_cast<int32_t>(fifo_.size()) >= depth) {
      ::sim::Fail("queue-depth",
                  ::sim::Msg("EnQue on ", Name(), " which already holds ", fifo_.size(), " tensor(s) = its depth ",
                             depth, "; DeQue first or declare a deeper queue"));
    }
    ::sim::Pipe producer, consumer;
    if (sim_detail::QueuePipes(pos, &producer, &consumer))
      enque_snapshot_[slot] = ::sim::Core().clocks.Signal(producer);
    state_[slot] = State::kEnqueued;
    fifo_.push_back(slot);
    return true;
  }

  template <typename T>
  LocalTensor<T> DeQue() {
    RequireInit("DeQue");
    if (fifo_.empty()) {
      ::sim::Fail("queue-empty", ::sim::Msg("DeQue on ", Name(),
                                            " which holds no tensor (nothing was EnQue'd); "
                                            "on hardware the core waits forever"));
    }
    const int slot = fifo_.front();
    fifo_.pop_front();
    state_[slot] = State::kDequeued;
    ::sim::Pipe producer, consumer;
    if (sim_detail::QueuePipes(pos, &producer, &consumer)) ::sim::Core().clocks.Absorb(consumer, enque_snapshot_[slot]);
    const uint32_t addr = start_ + static_cast<uint32_t>(slot) * len_;
    return LocalTensor<T>::SimMake(addr, len_ / static_cast<uint32_t>(sizeof(T)), addr + len_, id_, slot, pos);
  }

  template <typename T>
  void FreeTensor(LocalTensor<T>& tensor) {
    const int slot = OwnSlot("FreeTensor", tensor.SimOwner(), tensor.SimSlot());
    if (state_[slot] == State::kEnqueued)
      ::sim::Fail("queue-misuse", ::sim::Msg("FreeTensor on ", Name(), " of a tensor (buffer ", slot,
                                             ") that is still enqueued; DeQue it first"));
    if (state_[slot] == State::kFree)
      ::sim::Fail("queue-misuse", ::sim::Msg("FreeTensor on ", Name(), " of a tensor (buffer ", slot,
                                             ") that is already free (freed twice?)"));
    state_[slot] = State::kFree;
    ::sim::Pipe producer, consumer;
    if (sim_detail::QueuePipes(pos, &producer, &consumer)) {
      free_snapshot_[slot] = ::sim::Core().clocks.Signal(consumer);
      has_free_snapshot_[slot] = true;
    }
  }

  bool VacantInQue() { return static_cast<int32_t>(fifo_.size()) < depth; }
  bool HasTensorInQue() { return !fifo_.empty(); }
  int32_t GetTensorCountInQue() { return static_cast<int32_t>(fifo_.size()); }
  bool HasIdleBuffer() {
    for (int i = 0; i < num_; ++i)
      if (state_[i] == State::kFree) return true;
    return false;
  }

  // Called by TPipe::InitBuffer.
  void SimInit(uint32_t start, int num, uint32_t len, int32_t id) {
    if (id_ != 0) ::sim::Fail("queue-misuse", ::sim::Msg("InitBuffer called twice for ", Name()));
    start_ = start;
    num_ = num;
    len_ = len;
    id_ = id;
    state_.assign(num, State::kFree);
    enque_snapshot_.assign(num, {});
    free_snapshot_.assign(num, {});
    has_free_snapshot_.assign(num, false);
  }
  std::string Name() const { return ::sim::Msg("TQue<", sim_detail::PositionName(pos), ", depth ", depth, "> #", id_); }

 private:
  enum class State { kFree, kAllocated, kEnqueued, kDequeued };

  void RequireInit(const char* op) const {
    if (id_ == 0) ::sim::Fail("queue-misuse", ::sim::Msg(op, " on a TQue that TPipe::InitBuffer never set up"));
  }
  int OwnSlot(const char* op, int32_t owner, int32_t slot) const {
    RequireInit(op);
    if (owner != id_ || slot < 0 || slot >= num_) {
      ::sim::Fail("queue-misuse",
                  ::sim::Msg(op, " on ", Name(),
                             " of a tensor it did not hand out (the tensor comes "
                             "from ",
                             owner == 0 ? std::string("nowhere") : ::sim::Msg("buffer owner #", owner), ")"));
    }
    return slot;
  }

  int32_t id_ = 0;
  uint32_t start_ = 0, len_ = 0;
  int num_ = 0;
  int next_alloc_ = 0;
  std::vector<State> state_;
  std::deque<int> fifo_;
  std::vector<::sim::ClockSnapshot> enque_snapshot_, free_snapshot_;
  std::vector<bool> has_free_snapshot_;
};

template <TPosition pos = TPosition::LCM>
class TBuf {
 public:
  TBuf() = default;

  template <typename T>
  LocalTensor<T> Get() {
    RequireInit("Get");
    return LocalTensor<T>::SimMake(start_, len_ / static_cast<uint32_t>(sizeof(T)), start_ + len_, id_, -1, pos);
  }
  template <typename T>
  LocalTensor<T> Get(uint32_t len) {
    RequireInit("Get");
    if (static_cast<uint64_t>(len) * sizeof(T) > len_)
      ::sim::Fail("ub-out-of-bounds", ::sim::Msg("TBuf #", id_, " Get(", len, ") needs ", len * sizeof(T),
                                                 " B but InitBuffer gave it ", len_, " B"));
    return LocalTensor<T>::SimMake(start_, len, start_ + len_, id_, -1, pos);
  }
  template <typename T>
  LocalTensor<T> GetWithOffset(uint32_t size, uint32_t bufOffset) {
    RequireInit("GetWithOffset");
    if (bufOffset % 32 != 0)
      ::sim::Fail("ub-address-unaligned",
                  ::sim::Msg("TBuf #", id_, " GetWithOffset bufOffset=", bufOffset, " is not a multiple of 32 bytes"));
    if (static_cast<uint64_t>(size) * sizeof(T) + bufOffset > len_)
      ::sim::Fail("ub-out-of-bounds",
                  ::sim::Msg("TBuf #", id_, " GetWithOffset(size=", size, ", bufOffset=", bufOffset, ") needs ",
                             size * sizeof(T) + bufOffset, " B but InitBuffer gave it ", len_, " B"));
    return LocalTensor<T>::SimMake(start_ + bufOffset, size, start_ + len_, id_, -1, pos);
  }

  void SimInit(uint32_t start, uint32_t len, int32_t id) {
    if (id_ != 0) ::sim::Fail("queue-misuse", ::sim::Msg("InitBuffer called twice for TBuf #", id_));
    start_ = start;
    len_ = len;
    id_ = id;
  }

 private:
  void RequireInit(const char* op) const {
    if (id_ == 0) ::sim::Fail("queue-misuse", ::sim::Msg("TBuf ", op, " before TPipe::InitBuffer set it up"));
  }
  int32_t id_ = 0;
  uint32_t start_ = 0, len_ = 0;
};

class TPipe {
 public:
  TPipe() {
    ::sim::CoreContext& core = ::sim::Core();
    if (core.live_pipes > 0)
      ::sim::Fail("tpipe-misuse", "a second TPipe was constructed while another is alive; a kernel owns one TPipe");
    ++core.live_pipes;
    core.current_pipe = this;
  }
  ~TPipe() {
    ::sim::CoreContext* core = ::sim::t_core;
    if (!core) return;
    --core->live_pipes;
    core->current_pipe = nullptr;
    core->ResetUb();
    core->buffers_in_pipe = 0;
  }
  TPipe(const TPipe&) = delete;
  TPipe& operator=(const TPipe&) = delete;

  void Init() {}
  void Reset() {}
  void Destroy() {}

  template <class Q>
  bool InitBuffer(Q& que, uint8_t num, uint32_t len) {
    static_assert(Q::kSimIsQueue, "TPipe::InitBuffer(que, num, len) takes a TQue; use InitBuffer(tbuf, len) for TBuf");
    if (num == 0) ::sim::Fail("ub-capacity", "InitBuffer of a TQue with num=0 buffers");
    if (len == 0) ::sim::Fail("ub-capacity", "InitBuffer of a TQue with len=0 bytes");
    const uint32_t rounded = sim_detail::RoundUp32(len);
    ::sim::CoreContext& core = ::sim::Core();
    CountBuffers(core, num);
    const int32_t id = core.next_queue_id++;
    const std::string what = ::sim::Msg("TQue #", id, " (", static_cast<int>(num), " x ", rounded, " B)");
    const uint32_t start = core.AllocateUb(what, rounded * num);
    que.SimInit(start, num, rounded, id);
    return true;
  }

  template <TPosition pos>
  bool InitBuffer(TBuf<pos>& buf, uint32_t len) {
    if (len == 0) ::sim::Fail("ub-capacity", "InitBuffer of a TBuf with len=0 bytes");
    const uint32_t rounded = sim_detail::RoundUp32(len);
    ::sim::CoreContext& core = ::sim::Core();
    CountBuffers(core, 1);
    const int32_t id = core.next_queue_id++;
    const uint32_t start = core.AllocateUb(::sim::Msg("TBuf #", id, " (", rounded, " B)"), rounded);
    buf.SimInit(start, rounded, id);
    return true;
  }

  // Event ids for hand-written SetFlag/WaitFlag pairs (8 per event on the vector core).
  template <HardEvent evt>
  TEventID AllocEventID() {
    uint8_t& used = event_ids_[static_cast<int>(evt)];
    for (int id = 0; id < 8; ++id) {
      if (!(used & (1u << id))) {
        used |= static_cast<uint8_t>(1u << id);
        return static_cast<TEventID>(id);
      }
    }
    ::sim::Fail("event-id-exhausted", "AllocEventID: all 8 event ids of this HardEvent are allocated");
  }
  template <HardEvent evt>
  void ReleaseEventID(TEventID id) {
    if (id < 0 || id > 7) ::sim::Fail("event-id-range", ::sim::Msg("ReleaseEventID(", static_cast<int>(id), ")"));
    event_ids_[static_cast<int>(evt)] &= static_cast<uint8_t>(~(1u << id));
  }
  template <HardEvent evt>
  TEventID FetchEventID() {
    return FetchEventID(evt);
  }
  TEventID FetchEventID(HardEvent evt) {
    const uint8_t used = event_ids_[static_cast<int>(evt)];
    for (int id = 0; id < 8; ++id)
      if (!(used & (1u << id))) return static_cast<TEventID>(id);
    ::sim::Fail("event-id-exhausted", "FetchEventID: all 8 event ids of this HardEvent are allocated");
  }

 private:
  static void CountBuffers(::sim::CoreContext& core, int num) {
    core.buffers_in_pipe += num;
    if (core.buffers_in_pipe > 64)
      ::sim::Fail("ub-capacity",
                  ::sim::Msg("TPipe manages at most 64 buffers; InitBuffer brings it to ", core.buffers_in_pipe));
  }
  uint8_t event_ids_[static_cast<int>(HardEvent::MAX)] = {};
};

inline TPipe* GetTPipePtr() { return static_cast<TPipe*>(::sim::Core().current_pipe); }

}  // namespace AscendC
