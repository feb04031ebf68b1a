// Deliberately bad kernels: flags, pipe hazards, SyncAll and atomics (tests/test_simulator_rules.py).
#include "kernel_operator.h"
#include "selftest_registry.h"

using namespace AscendC;

// WaitFlag with no SetFlag before it: the vector pipe would wait forever.
extern "C" __global__ __aicore__ void rule_waitflag_unset(GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR) {
  WaitFlag<HardEvent::MTE2_V>(0);
}
SIM_SELFTEST(rule_waitflag_unset);

// A second SetFlag of the same event and id before its WaitFlag (event-set-twice; SetFlag-
// WaitFlag(ISASI).md, 约束说明). params[0]: 0 SetFlag<MTE2_V>(0) twice; 1 the same through the raw
// set_flag intrinsic; 2 (correct) SetFlag/WaitFlag, then SetFlag/WaitFlag again, and flags of
// another id and another event pending at the same time.
extern "C" __global__ __aicore__ void rule_event_set_twice(GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR params) {
  const int64_t variant = sim::SelftestParam(params, 0);
  if (variant == 0) {
    SetFlag<HardEvent::MTE2_V>(0);
    SetFlag<HardEvent::MTE2_V>(0);
  } else if (variant == 1) {
    set_flag(PIPE_MTE2, PIPE_V, EVENT_ID0);
    set_flag(PIPE_MTE2, PIPE_V, EVENT_ID0);
  } else {
    SetFlag<HardEvent::MTE2_V>(0);
    WaitFlag<HardEvent::MTE2_V>(0);
    SetFlag<HardEvent::MTE2_V>(0);
    SetFlag<HardEvent::MTE2_V>(1);
    SetFlag<HardEvent::V_MTE3>(0);
    WaitFlag<HardEvent::V_MTE3>(0);
    WaitFlag<HardEvent::MTE2_V>(1);
    WaitFlag<HardEvent::MTE2_V>(0);
  }
}
SIM_SELFTEST(rule_event_set_twice);

// A tile loop that keeps the vector pipe off the output buffer until MTE3 has stored the previous
// tile: an MTE3_V flag primed before the loop, waited for before each tile's compute and set again
// after each store. params[0] != 0 waits for the last SetFlag after the loop (correct); 0 returns
// with it pending (event-left-set). Tile i stores 64 floats of i + 1 to arg1, which ends as 4.
extern "C" __global__ __aicore__ void rule_event_left_set(GM_ADDR, GM_ADDR y, GM_ADDR, GM_ADDR, GM_ADDR params) {
  const bool drained = sim::SelftestParam(params, 0) != 0;
  TPipe pipe;
  TBuf<TPosition::VECOUT> buf;
  pipe.InitBuffer(buf, 64 * sizeof(float));
  LocalTensor<float> t = buf.Get<float>();
  GlobalTensor<float> out;
  out.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(y), 64);
  SetFlag<HardEvent::MTE3_V>(1);
  for (int tile = 0; tile < 4; ++tile) {
    WaitFlag<HardEvent::MTE3_V>(1);  // MTE3 has stored the previous tile from t
    Duplicate(t, static_cast<float>(tile + 1), 64);
    SetFlag<HardEvent::V_MTE3>(0);
    WaitFlag<HardEvent::V_MTE3>(0);
    DataCopy(out, t, 64);
    SetFlag<HardEvent::MTE3_V>(1);
  }
  if (drained) WaitFlag<HardEvent::MTE3_V>(1);
}
SIM_SELFTEST(rule_event_left_set);

// Loads with a DMA, computes, stores with a DMA, all through a TBuf. params[0] selects which
// synchronisation is present: 0 none (MTE2->V hazard), 1 only MTE2->V (V->MTE3 hazard), 2 both.
extern "C" __global__ __aicore__ void rule_pipe_hazard(GM_ADDR x, GM_ADDR y, GM_ADDR, GM_ADDR, GM_ADDR params) {
  const int64_t synced = sim::SelftestParam(params, 0);
  TPipe pipe;
  TBuf<TPosition::VECCALC> buf;
  pipe.InitBuffer(buf, 256);
  GlobalTensor<float> in, out;
  in.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(x), 64);
  out.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(y), 64);
  LocalTensor<float> t = buf.Get<float>();
  DataCopy(t, in, 64);
  if (synced >= 1) {
    SetFlag<HardEvent::MTE2_V>(0);
    WaitFlag<HardEvent::MTE2_V>(0);
  }
  Muls(t, t, 2.0f, 64);
  if (synced >= 2) {
    SetFlag<HardEvent::V_MTE3>(0);
    WaitFlag<HardEvent::V_MTE3>(0);
  }
  DataCopy(out, t, 64);
}
SIM_SELFTEST(rule_pipe_hazard);

// Core 1 breaks a rule before SyncAll; the other cores wait in SyncAll and must be released.
extern "C" __global__ __aicore__ void rule_throw_before_syncall(GM_ADDR x, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR) {
  if (GetBlockIdx() == 1) {
    GlobalTensor<float> gm;
    gm.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(x), 8);
    (void)gm.GetValue(100);
  }
  SyncAll<true>();
}
SIM_SELFTEST(rule_throw_before_syncall);

// Core 0 returns without calling SyncAll while the others wait in it.
extern "C" __global__ __aicore__ void rule_syncall_skipped(GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR) {
  if (GetBlockIdx() == 0) return;
  SyncAll<true>();
}
SIM_SELFTEST(rule_syncall_skipped);

// SyncAll with more cores launched than the SoC has (run with block_dim > vector_core_num).
extern "C" __global__ __aicore__ void rule_syncall_oversubscribed(GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR) {
  SyncAll<true>();
}
SIM_SELFTEST(rule_syncall_oversubscribed);

// Returns with the atomic-add mode still on.
extern "C" __global__ __aicore__ void rule_atomic_left_on(GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR) {
  SetAtomicAdd<float>();
}
SIM_SELFTEST(rule_atomic_left_on);

// A half copy to GM while SetAtomicAdd<float> is on.
extern "C" __global__ __aicore__ void rule_atomic_type_mismatch(GM_ADDR x, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR) {
  TPipe pipe;
  TBuf<TPosition::VECCALC> buf;
  pipe.InitBuffer(buf, 256);
  LocalTensor<half> t = buf.Get<half>();
  Duplicate(t, half(1.0f), 16);
  SetFlag<HardEvent::V_MTE3>(0);
  WaitFlag<HardEvent::V_MTE3>(0);
  GlobalTensor<half> gm;
  gm.SetGlobalBuffer(reinterpret_cast<__gm__ half*>(x), 16);
  SetAtomicAdd<float>();
  DataCopy(gm, t, 16);
  SetAtomicNone();
}
SIM_SELFTEST(rule_atomic_type_mismatch);

// Two cores and one 8-float GM slot of arg0. params[0]: 0 both cores write it; 1 core 0 writes,
// SyncAll, core 1 reads (correct); 2 core 0 writes and core 1 reads with no SyncAll between.
extern "C" __global__ __aicore__ void rule_gm_race(GM_ADDR x, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR params) {
  const int64_t variant = sim::SelftestParam(params, 0);
  TPipe pipe;
  TBuf<TPosition::VECCALC> buf;
  pipe.InitBuffer(buf, 32);
  LocalTensor<float> t = buf.Get<float>();
  GlobalTensor<float> gm;
  gm.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(x), 8);
  const bool writer = GetBlockIdx() == 0 || variant == 0;
  if (writer) {
    Duplicate(t, 1.0f, 8);
    SetFlag<HardEvent::V_MTE3>(0);
    WaitFlag<HardEvent::V_MTE3>(0);
    DataCopy(gm, t, 8);
  }
  if (variant == 1) SyncAll<true>();
  if (!writer) DataCopy(t, gm, 8);
}
SIM_SELFTEST(rule_gm_race);

// One core stores 8 floats to GM and loads them back; params[0] != 0 adds the MTE3->MTE2 sync.
extern "C" __global__ __aicore__ void rule_gm_pipe_hazard(GM_ADDR x, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR params) {
  TPipe pipe;
  TBuf<TPosition::VECCALC> a, b;
  pipe.InitBuffer(a, 32);
  pipe.InitBuffer(b, 32);
  GlobalTensor<float> gm;
  gm.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(x), 8);
  Duplicate(a.Get<float>(), 1.0f, 8);
  SetFlag<HardEvent::V_MTE3>(0);
  WaitFlag<HardEvent::V_MTE3>(0);
  DataCopy(gm, a.Get<float>(), 8);
  if (sim::SelftestParam(params, 0) != 0) {
    SetFlag<HardEvent::MTE3_MTE2>(0);
    WaitFlag<HardEvent::MTE3_MTE2>(0);
  }
  DataCopy(b.Get<float>(), gm, 8);
}
SIM_SELFTEST(rule_gm_pipe_hazard);

// Vector after vector (ub-vector-hazard, sim/pipe_hazards.h). arg0: 128 input floats x; arg1
// gets 128 result floats d. params[0] picks the pair of vector instructions, params[1] what
// separates them: 0 nothing, 1 PipeBarrier<PIPE_V>, 2 PipeBarrier<PIPE_ALL>.
//   0 RAW: c = x + 1, then d = 2c                          d = 2(x + 1)
//   1 WAR: d = 2x, then x overwritten with 5               d = 2x
//   2 WAW: d = 1, then d = 3                               d = 3
//   3 in-place x = x + 1 (one instruction), then d = 2x   d = 2(x + 1)
//   4 c = x + 1 by two repeat-form Adds on alternate blocks (dstBlkStride 2), then d = 2c
//   5 the same with alternate blocks picked by the lane mask (blocks 0, 2, 4, 6 of each repeat,
//     then 1, 3, 5, 7)                                    d = 2(x + 1)
//   6 c = Brcb of x[0..16) on alternate blocks (two passes, dstBlkStride 2), then d = 2c:
//     block 2j holds 2 x[j], block 2j + 1 holds 2 x[8 + j]
// In 3 to 6 only the last pair is dependent: the first instructions touch disjoint blocks.
namespace {
__aicore__ inline void Separate(int64_t fence) {
  if (fence == 1) PipeBarrier<PIPE_V>();
  if (fence == 2) PipeBarrier<PIPE_ALL>();
}
}  // namespace

extern "C" __global__ __aicore__ void rule_vector_pipe(GM_ADDR x, GM_ADDR y, GM_ADDR, GM_ADDR, GM_ADDR params) {
  const int64_t scenario = sim::SelftestParam(params, 0), fence = sim::SelftestParam(params, 1);
  TPipe pipe;
  TBuf<TPosition::VECIN> a_buf;
  TBuf<TPosition::VECCALC> c_buf;
  TBuf<TPosition::VECOUT> d_buf;
  pipe.InitBuffer(a_buf, 128 * sizeof(float));
  pipe.InitBuffer(c_buf, 128 * sizeof(float));
  pipe.InitBuffer(d_buf, 128 * sizeof(float));
  LocalTensor<float> a = a_buf.Get<float>(), c = c_buf.Get<float>(), d = d_buf.Get<float>();
  GlobalTensor<float> in, out;
  in.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(x), 128);
  out.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(y), 128);
  DataCopy(a, in, 128);
  SetFlag<HardEvent::MTE2_V>(0);
  WaitFlag<HardEvent::MTE2_V>(0);
  const UnaryRepeatParams alternate(2, 2, 16, 16);  // 8 blocks 2 apart per repeat
  const UnaryRepeatParams dense(1, 1, 8, 8);
  uint64_t even[2] = {0x00FF00FF00FF00FFull, 0}, odd[2] = {0xFF00FF00FF00FF00ull, 0};
  switch (scenario) {
    case 0:
      Adds(c, a, 1.0f, 128);
      Separate(fence);
      Muls(d, c, 2.0f, 128);
      break;
    case 1:
      Muls(d, a, 2.0f, 128);
      Separate(fence);
      Duplicate(a, 5.0f, 128);
      break;
    case 2:
      Duplicate(d, 1.0f, 128);
      Separate(fence);
      Duplicate(d, 3.0f, 128);
      break;
    case 3:
      Adds(a, a, 1.0f, 128);
      Separate(fence);
      Muls(d, a, 2.0f, 128);
      break;
    case 4:
      Adds(c, a, 1.0f, 64, 1, alternate);
      Adds(c[8], a[8], 1.0f, 64, 1, alternate);
      Separate(fence);
      Muls(d, c, 2.0f, 128);
      break;
    case 5:
      Adds(c, a, 1.0f, even, 2, dense);
      Adds(c, a, 1.0f, odd, 2, dense);
      Separate(fence);
      Muls(d, c, 2.0f, 128);
      break;
    default:
      Brcb(c, a, 1, BrcbRepeatParams(2, 16));
      Brcb(c[8], a[8], 1, BrcbRepeatParams(2, 16));
      Separate(fence);
      Muls(d, c, 2.0f, 128);
      break;
  }
  SetFlag<HardEvent::V_MTE3>(0);
  WaitFlag<HardEvent::V_MTE3>(0);
  DataCopy(out, d, 128);
}
SIM_SELFTEST(rule_vector_pipe);
