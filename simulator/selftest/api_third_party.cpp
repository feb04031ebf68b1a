// Kernels exercising the APIs added for third-party production kernels (AddRelu, LeakyRelu,
// GatherMask, Fmod, ScalarGetSFFValue and the raw set_flag / wait_flag / pipe_barrier / ASSERT
// builtins), checked by tests/test_simulator_third_party_api.py against the asc-devkit pages.
#include "selftest_io.h"

using namespace AscendC;
using selftest::Load;
using selftest::Store;

// z = op(x, y) on tiles of params[2] elements, count params[1]; params[0]: 0 AddRelu (float),
// 1 AddRelu (half), 2 AddRelu (int16_t), 3 LeakyRelu (float, slope = float bits params[3]),
// 4 Fmod (float).
template <typename T>
void Binary(GM_ADDR a, GM_ADDR b, GM_ADDR out, int64_t op, int32_t count, uint32_t len, float slope) {
  TPipe pipe;
  TBuf<TPosition::VECCALC> ba, bb, bo;
  pipe.InitBuffer(ba, len * sizeof(T));
  pipe.InitBuffer(bb, len * sizeof(T));
  pipe.InitBuffer(bo, len * sizeof(T));
  LocalTensor<T> x = ba.Get<T>(), y = bb.Get<T>(), z = bo.Get<T>();
  Load(x, a, len);
  Load(y, b, len);
  Load(z, out, len);
  if (op <= 2) AddRelu(z, x, y, count);
  if constexpr (std::is_same_v<T, float>) {
    if (op == 3) LeakyRelu(z, x, slope, count);
    if (op == 4) Fmod(z, x, y, static_cast<uint32_t>(count));
  }
  Store(out, z, len);
}

extern "C" __global__ __aicore__ void api_fused_binary(GM_ADDR a, GM_ADDR b, GM_ADDR out, GM_ADDR, GM_ADDR params) {
  auto p = [&](int i) { return sim::SelftestParam(params, i); };
  const int32_t count = static_cast<int32_t>(p(1));
  const uint32_t len = static_cast<uint32_t>(p(2));
  const float slope = selftest::FloatFromBits(p(3));
  switch (p(0)) {
    case 1: Binary<half>(a, b, out, p(0), count, len, slope); break;
    case 2: Binary<int16_t>(a, b, out, p(0), count, len, slope); break;
    default: Binary<float>(a, b, out, p(0), count, len, slope); break;
  }
}
SIM_SELFTEST(api_fused_binary);

// GatherMask on a float (32-bit) tile of 512 elements from arg0 into arg2; the kept count goes to
// arg3[0] (int64). params: pattern (1..7, or 0 for the uint32_t pattern tensor from arg1),
// repeatTimes, src0BlockStride, src0RepeatStride, src1RepeatStride, in_place (dst = src0),
// reduceMode.
extern "C" __global__ __aicore__ void api_gather_mask(GM_ADDR a, GM_ADDR pat, GM_ADDR out, GM_ADDR cnt,
                                                      GM_ADDR params) {
  auto p = [&](int i) { return sim::SelftestParam(params, i); };
  constexpr uint32_t len = 512;
  TPipe pipe;
  TBuf<TPosition::VECCALC> bs, bp, bd;
  pipe.InitBuffer(bs, len * sizeof(float));
  pipe.InitBuffer(bp, 64 * sizeof(uint32_t));
  pipe.InitBuffer(bd, len * sizeof(float));
  LocalTensor<float> src = bs.Get<float>(), dst = bd.Get<float>();
  LocalTensor<uint32_t> pattern = bp.Get<uint32_t>();
  Load(src, a, len);
  Load(pattern, pat, 64);
  Load(dst, out, len);
  const GatherMaskParams gp(static_cast<uint8_t>(p(2)), static_cast<uint16_t>(p(1)), static_cast<uint16_t>(p(3)),
                            static_cast<uint8_t>(p(4)));
  const LocalTensor<float>& target = p(5) != 0 ? src : dst;
  uint64_t kept = 0;
  if (p(0) == 0) {
    GatherMask(target, src, pattern, p(6) != 0, 0, gp, kept);
  } else {
    GatherMask(target, src, static_cast<uint8_t>(p(0)), p(6) != 0, 0, gp, kept);
  }
  Store(out, target, len);
  GlobalTensor<int64_t> count;
  count.SetGlobalBuffer(reinterpret_cast<__gm__ int64_t*>(cnt), 4);
  count.SetValue(0, static_cast<int64_t>(kept));
}
SIM_SELFTEST(api_gather_mask);

// The raw intrinsics: arg2 = arg0 * 3 with set_flag / wait_flag between the pipes (params[0] = 0),
// the same without the MTE2 -> V wait (1: a pipe hazard), pipe_barrier(PIPE_ALL) instead of the
// flags (2), or a failing ASSERT (3). Scenario 4 writes ScalarGetSFFValue results to arg3 (int64):
// <0>(~0), <1>(0), <0>(0xFF00), <1>(0xFF00), <1>(0x1000000000000100).
extern "C" __global__ __aicore__ void api_builtins(GM_ADDR a, GM_ADDR, GM_ADDR out, GM_ADDR res, GM_ADDR params) {
  const int64_t scenario = sim::SelftestParam(params, 0);
  if (scenario == 4) {
    GlobalTensor<int64_t> r;
    r.SetGlobalBuffer(reinterpret_cast<__gm__ int64_t*>(res), 8);
    r.SetValue(0, ScalarGetSFFValue<0>(0xFFFFFFFFFFFFFFFFULL));
    r.SetValue(1, ScalarGetSFFValue<1>(0));
    r.SetValue(2, ScalarGetSFFValue<0>(0xFF00ULL));
    r.SetValue(3, ScalarGetSFFValue<1>(0xFF00ULL));
    r.SetValue(4, ScalarGetSFFValue<1>(0x1000000000000100ULL));
    return;
  }
  ASSERT(scenario != 3 && "scenario 3 asserts");
  constexpr uint32_t len = 64;
  TPipe pipe;
  TQue<TPosition::VECIN, 1> in;
  TQue<TPosition::VECOUT, 1> outq;
  pipe.InitBuffer(in, 1, len * sizeof(float));
  pipe.InitBuffer(outq, 1, len * sizeof(float));
  LocalTensor<float> x = in.AllocTensor<float>(), z = outq.AllocTensor<float>();
  GlobalTensor<float> src, dst;
  src.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(a), len);
  dst.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(out), len);
  DataCopy(x, src, len);
  if (scenario == 0) {
    set_flag(PIPE_MTE2, PIPE_V, EVENT_ID0);
    wait_flag(PIPE_MTE2, PIPE_V, EVENT_ID0);
  } else if (scenario == 2) {
    pipe_barrier(PIPE_ALL);
  }
  Muls(z, x, 3.0f, len);
  if (scenario == 2) {
    pipe_barrier(PIPE_ALL);
  } else {
    set_flag(PIPE_V, PIPE_MTE3, EVENT_ID1);
    wait_flag(PIPE_V, PIPE_MTE3, EVENT_ID1);
  }
  DataCopy(dst, z, len);
  in.FreeTensor(x);
  outq.FreeTensor(z);
}
SIM_SELFTEST(api_builtins);
