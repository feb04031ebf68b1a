// Kernel types and the hardware SyncAll (tests/test_simulator_rules.py): which declarations CANN 8.1
// builds so that SyncAll returns, and which it builds so that SyncAll hangs (sim/kernel_type.h).
#include "kernel_operator.h"
#include "selftest_registry.h"

using namespace AscendC;

namespace {

// Each core stores its index + 1 in 8 floats of GM slot `idx` of arg0, passes SyncAll, then copies
// its neighbour's slot into its own slot of arg1, so arg1 proves every core waited for the others.
__aicore__ inline void ExchangeThroughSyncAll(GM_ADDR x, GM_ADDR y) {
  const int64_t idx = GetBlockIdx(), n = GetBlockNum();
  TPipe pipe;
  TBuf<TPosition::VECCALC> buf;
  pipe.InitBuffer(buf, 32);
  LocalTensor<float> t = buf.Get<float>();
  GlobalTensor<float> slots, out;
  slots.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(x), 8 * n);
  out.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(y), 8 * n);
  Duplicate(t, static_cast<float>(idx + 1), 8);
  SetFlag<HardEvent::V_MTE3>(0);
  WaitFlag<HardEvent::V_MTE3>(0);
  DataCopy(slots[8 * idx], t, 8);
  SyncAll<true>();
  DataCopy(t, slots[8 * ((idx + 1) % n)], 8);
  SetFlag<HardEvent::MTE2_MTE3>(0);
  WaitFlag<HardEvent::MTE2_MTE3>(0);
  DataCopy(out[8 * idx], t, 8);
}

}  // namespace

// SyncAll in a kernel declared AIV_ONLY: built without the FFTS address, it hangs on hardware.
extern "C" __global__ __aicore__ void rule_syncall_aiv_only(GM_ADDR x, GM_ADDR y, GM_ADDR, GM_ADDR, GM_ADDR) {
  KERNEL_TASK_TYPE_DEFAULT(KERNEL_TYPE_AIV_ONLY);
  ExchangeThroughSyncAll(x, y);
}
SIM_SELFTEST(rule_syncall_aiv_only);

// The same kernel declared MIX_AIV_1_0, as the SyncAll page prescribes for vector-only kernels.
extern "C" __global__ __aicore__ void good_syncall_mix_aiv(GM_ADDR x, GM_ADDR y, GM_ADDR, GM_ADDR, GM_ADDR) {
  KERNEL_TASK_TYPE_DEFAULT(KERNEL_TYPE_MIX_AIV_1_0);
  ExchangeThroughSyncAll(x, y);
}
SIM_SELFTEST(good_syncall_mix_aiv);

// With no declared type CANN finds the SyncAll itself and passes the FFTS address.
extern "C" __global__ __aicore__ void good_syncall_undeclared(GM_ADDR x, GM_ADDR y, GM_ADDR, GM_ADDR, GM_ADDR) {
  ExchangeThroughSyncAll(x, y);
}
SIM_SELFTEST(good_syncall_undeclared);

// A dav-m200 type, which CANN drops on dav-c220: the kernel counts as undeclared.
extern "C" __global__ __aicore__ void good_syncall_m200_type(GM_ADDR x, GM_ADDR y, GM_ADDR, GM_ADDR, GM_ADDR) {
  KERNEL_TASK_TYPE_DEFAULT(KERNEL_TYPE_VECTORCORE);
  ExchangeThroughSyncAll(x, y);
}
SIM_SELFTEST(good_syncall_m200_type);

// A cube-only type on a vector kernel.
extern "C" __global__ __aicore__ void rule_kernel_type_aic_only(GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR) {
  KERNEL_TASK_TYPE_DEFAULT(KERNEL_TYPE_AIC_ONLY);
}
SIM_SELFTEST(rule_kernel_type_aic_only);

// A cube + vector type, valid on hardware but beyond the simulator.
extern "C" __global__ __aicore__ void rule_kernel_type_mix_aic(GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR) {
  KERNEL_TASK_TYPE_DEFAULT(KERNEL_TYPE_MIX_AIC_1_2);
}
SIM_SELFTEST(rule_kernel_type_mix_aic);
