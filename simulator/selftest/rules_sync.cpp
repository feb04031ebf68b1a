// Deliberately bad kernels: flags, pipe hazards, SyncAll and atomics (tests/test_simulator_rules.py).
#include "kernel_operator.h"
#include "selftest_registry.h"

using namespace AscendC;

// WaitFlag with no SetFlag before it: the vector pipe would wait forever.
extern "C" __global__ __aicore__ void rule_waitflag_unset(GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR) {
  WaitFlag<HardEvent::MTE2_V>(0);
}
SIM_SELFTEST(rule_waitflag_unset);

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
