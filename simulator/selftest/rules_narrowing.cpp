// Counts and strides the real API narrows silently (tests/test_simulator_rules.py): the count-form
// Gather's uint8_t repeat count, the count-form DataCopy's uint16_t blockLen, and arguments wider
// than the API's uint8_t / uint16_t parameters.
#include "kernel_operator.h"
#include "selftest_registry.h"

using namespace AscendC;

// Count-form Gather of params[0] floats, every offset 0 (each element is src[0] = 7). params[0] =
// 16320 is 255 full repeats, the most CANN's uint8_t repeat count holds; 16448 is 257.
extern "C" __global__ __aicore__ void rule_gather_count(GM_ADDR, GM_ADDR y, GM_ADDR, GM_ADDR, GM_ADDR params) {
  const uint32_t count = static_cast<uint32_t>(sim::SelftestParam(params, 0));
  TPipe pipe;
  TBuf<TPosition::VECCALC> src_buf, dst_buf, off_buf;
  pipe.InitBuffer(src_buf, 256);
  pipe.InitBuffer(dst_buf, count * sizeof(float));
  pipe.InitBuffer(off_buf, count * sizeof(uint32_t));
  LocalTensor<float> src = src_buf.Get<float>(), dst = dst_buf.Get<float>();
  LocalTensor<uint32_t> off = off_buf.Get<uint32_t>();
  Duplicate(src, 7.0f, 64);
  Duplicate(off.ReinterpretCast<int32_t>(), 0, static_cast<int32_t>(count));
  PipeBarrier<PIPE_V>();
  Gather(dst, src, off, 0, count);
  SetFlag<HardEvent::V_MTE3>(0);
  WaitFlag<HardEvent::V_MTE3>(0);
  GlobalTensor<float> out;
  out.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(y), 64);
  DataCopy(out, dst[count - 64], 64);
}
SIM_SELFTEST(rule_gather_count);

// Count-form DataCopy GM->UB of 65536 blocks (2 MiB): blockLen is uint16_t, so the NPU copies 0.
extern "C" __global__ __aicore__ void rule_datacopy_count(GM_ADDR x, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR) {
  TPipe pipe;
  TBuf<TPosition::VECCALC> buf;
  pipe.InitBuffer(buf, 256);
  GlobalTensor<float> in;
  in.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(x));
  DataCopy(buf.Get<float>(), in, 65536u * 8u);
}
SIM_SELFTEST(rule_datacopy_count);

// An int argument wider than the API parameter. params[0] picks the API: 0 Adds repeatTimes,
// 1 Duplicate dstRepeatStride, 2 Brcb repeatTimes, 3 Gatherb repeatTimes; params[1] is the value.
extern "C" __global__ __aicore__ void rule_param_narrowing(GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR params) {
  const int64_t api = sim::SelftestParam(params, 0);
  const int32_t value = static_cast<int32_t>(sim::SelftestParam(params, 1));
  TPipe pipe;
  TBuf<TPosition::VECCALC> a_buf, b_buf, c_buf;
  pipe.InitBuffer(a_buf, 256);
  pipe.InitBuffer(b_buf, 256);
  pipe.InitBuffer(c_buf, 256);
  LocalTensor<float> a = a_buf.Get<float>();
  LocalTensor<uint32_t> b = b_buf.Get<uint32_t>(), c = c_buf.Get<uint32_t>();
  if (api == 0) {
    Adds(a, a, 1.0f, 64, value, {1, 1, 8, 8});
  } else if (api == 1) {
    Duplicate(a, 1.0f, 64, 1, 1, value);
  } else if (api == 2) {
    Brcb(b, c, value, {1, 8});
  } else {
    Gatherb(b, c, c, value, {1, 8});
  }
}
SIM_SELFTEST(rule_param_narrowing);
