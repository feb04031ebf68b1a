// Scalar-unit access to UB (tests/test_simulator_rules.py): GetValue of data MTE2 or V wrote needs
// MTE2_S / V_S, and SetValue data read by V or MTE3 needs S_V / S_MTE3 (sim/pipe_hazards.h).
#include "kernel_operator.h"
#include "selftest_registry.h"

using namespace AscendC;

// params[0] picks the direction: 0 MTE2->S, 1 V->S, 2 S->V, 3 S->MTE3. params[1] != 0 adds the
// matching SetFlag/WaitFlag. arg0 holds 8 input floats; 8 result floats go to arg1:
//   0: x[3] read by the scalar unit       1: 2 * x[3], the scalar read after Muls
//   2: 2 * (i + 1), Muls of scalar writes  3: i + 1, the scalar writes copied out by MTE3
extern "C" __global__ __aicore__ void rule_scalar_pipe(GM_ADDR x, GM_ADDR y, GM_ADDR, GM_ADDR, GM_ADDR params) {
  const int64_t direction = sim::SelftestParam(params, 0);
  const bool fenced = sim::SelftestParam(params, 1) != 0;
  TPipe pipe;
  TBuf<TPosition::VECCALC> a_buf, b_buf;
  pipe.InitBuffer(a_buf, 32);
  pipe.InitBuffer(b_buf, 32);
  LocalTensor<float> a = a_buf.Get<float>(), b = b_buf.Get<float>();
  GlobalTensor<float> in, out;
  in.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(x), 8);
  out.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(y), 8);
  if (direction == 0 || direction == 1) {
    DataCopy(a, in, 8);
    if (direction == 1) {
      SetFlag<HardEvent::MTE2_V>(0);
      WaitFlag<HardEvent::MTE2_V>(0);
      Muls(a, a, 2.0f, 8);
    }
    if (fenced && direction == 0) {
      SetFlag<HardEvent::MTE2_S>(0);
      WaitFlag<HardEvent::MTE2_S>(0);
    }
    if (fenced && direction == 1) {
      SetFlag<HardEvent::V_S>(0);
      WaitFlag<HardEvent::V_S>(0);
    }
    const float v = a.GetValue(3);
    for (int32_t i = 0; i < 8; ++i) b.SetValue(i, v);
    SetFlag<HardEvent::S_MTE3>(0);
    WaitFlag<HardEvent::S_MTE3>(0);
    DataCopy(out, b, 8);
    return;
  }
  for (int32_t i = 0; i < 8; ++i) a.SetValue(i, static_cast<float>(i + 1));
  if (direction == 2) {
    if (fenced) {
      SetFlag<HardEvent::S_V>(0);
      WaitFlag<HardEvent::S_V>(0);
    }
    Muls(b, a, 2.0f, 8);
    SetFlag<HardEvent::V_MTE3>(0);
    WaitFlag<HardEvent::V_MTE3>(0);
    DataCopy(out, b, 8);
    return;
  }
  if (fenced) {
    SetFlag<HardEvent::S_MTE3>(0);
    WaitFlag<HardEvent::S_MTE3>(0);
  }
  DataCopy(out, a, 8);
}
SIM_SELFTEST(rule_scalar_pipe);

// CreateVecIndex stores its first 32-byte block by scalar SetValue (CANN 8.1's CreateVecIndexOneBlk),
// so it needs V_S after a vector write to that block. params[0] != 0 adds the fence; arg1 gets the
// 16 indices 0..15.
extern "C" __global__ __aicore__ void rule_create_vec_index_after_vector(GM_ADDR, GM_ADDR y, GM_ADDR, GM_ADDR,
                                                                         GM_ADDR params) {
  const bool fenced = sim::SelftestParam(params, 0) != 0;
  TPipe pipe;
  TBuf<TPosition::VECCALC> buf;
  pipe.InitBuffer(buf, 64);
  LocalTensor<float> a = buf.Get<float>();
  GlobalTensor<float> out;
  out.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(y), 16);
  Duplicate(a, 0.0f, 16);
  if (fenced) {
    SetFlag<HardEvent::V_S>(0);
    WaitFlag<HardEvent::V_S>(0);
  }
  CreateVecIndex(a, 0.0f, 16);
  SetFlag<HardEvent::V_MTE3>(0);
  WaitFlag<HardEvent::V_MTE3>(0);
  DataCopy(out, a, 16);
}
SIM_SELFTEST(rule_create_vec_index_after_vector);
