// Deliberately bad kernels: vector instruction constraints (tests/test_simulator_rules.py).
#include "kernel_operator.h"
#include "selftest_registry.h"

using namespace AscendC;

// Compare of params[0] floats (anything but a multiple of 64 breaks the 256-byte rule).
extern "C" __global__ __aicore__ void rule_compare_count(GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR params) {
  TPipe pipe;
  TBuf<TPosition::VECCALC> a, m;
  pipe.InitBuffer(a, 1024);
  pipe.InitBuffer(m, 256);
  LocalTensor<float> t = a.Get<float>();
  Duplicate(t, 0.0f, 256);
  PipeBarrier<PIPE_V>();
  Compare(m.Get<uint8_t>(), t, t[128], CMPMODE::LT, static_cast<uint32_t>(sim::SelftestParam(params, 0)));
}
SIM_SELFTEST(rule_compare_count);

// Select in tensor-scalar mode while the TPipe buffers cover the UB's reserved top 8 KiB.
extern "C" __global__ __aicore__ void rule_select_reserved(GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR) {
  TPipe pipe;
  TBuf<TPosition::VECCALC> big, work;
  pipe.InitBuffer(big, 190 * 1024);
  pipe.InitBuffer(work, 512);
  LocalTensor<float> t = work.Get<float>();
  Duplicate(t, 1.0f, 64);
  LocalTensor<uint8_t> mask = big.Get<uint8_t>();
  Duplicate(mask.ReinterpretCast<uint16_t>(), static_cast<uint16_t>(0xFFFF), 16);
  Select(t, mask, t, 0.0f, SELMODE::VSEL_TENSOR_SCALAR_MODE, 64);
}
SIM_SELFTEST(rule_select_reserved);

// Cast float -> int32 of a NaN (params[0] = 0) or of 3e9, outside int32 (params[0] = 1).
extern "C" __global__ __aicore__ void rule_cast_to_int(GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR params) {
  TPipe pipe;
  TBuf<TPosition::VECCALC> a, b;
  pipe.InitBuffer(a, 256);
  pipe.InitBuffer(b, 256);
  LocalTensor<float> f = a.Get<float>();
  Duplicate(f, sim::SelftestParam(params, 0) == 0 ? NAN : 3e9f, 8);
  PipeBarrier<PIPE_V>();
  Cast(b.Get<int32_t>(), f, RoundMode::CAST_FLOOR, 8);
}
SIM_SELFTEST(rule_cast_to_int);

// float -> bfloat16_t with CAST_NONE, which Atlas A2 does not offer.
extern "C" __global__ __aicore__ void rule_cast_mode(GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR) {
  TPipe pipe;
  TBuf<TPosition::VECCALC> a, b;
  pipe.InitBuffer(a, 256);
  pipe.InitBuffer(b, 256);
  LocalTensor<float> f = a.Get<float>();
  Duplicate(f, 1.0f, 16);
  Cast(b.Get<bfloat16_t>(), f, RoundMode::CAST_NONE, 16);
}
SIM_SELFTEST(rule_cast_mode);

// Maxs on a NaN lane: the NPU result is undocumented.
extern "C" __global__ __aicore__ void rule_max_nan(GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR) {
  TPipe pipe;
  TBuf<TPosition::VECCALC> a;
  pipe.InitBuffer(a, 256);
  LocalTensor<float> f = a.Get<float>();
  Duplicate(f, 1.0f, 64);
  SetFlag<HardEvent::V_S>(0);
  WaitFlag<HardEvent::V_S>(0);
  f.SetValue(5, NAN);
  SetFlag<HardEvent::S_V>(0);
  WaitFlag<HardEvent::S_V>(0);
  Maxs(f, f, -1.0f, 64);
}
SIM_SELFTEST(rule_max_nan);
