// Class (b) rules (sim/strictness.h): code the hardware runs harmlessly but that is a bug risk in
// our own kernels. Each scenario fails in strict mode and runs with a warning in lenient mode;
// tests/test_simulator_strictness.py checks both. params[0]:
//  0  CompareScalar with the count rounded up to 256 bytes (64 floats) over a 40-float tensor:
//     reads past the tensor view inside UB (the production "align the compare count" pattern);
//     the 64 mask bits land in arg2 as 8 bytes.
//  1  SetGlobalBuffer with a size past the end of the GM buffer (only the first 64 floats used).
//  2  DataCopy reading GM past the SetGlobalBuffer size but inside the GM buffer.
//  3  DataCopy reading GM past the end of the GM buffer: class (a), an error in both modes.
#include "selftest_io.h"

using namespace AscendC;

extern "C" __global__ __aicore__ void rule_strictness(GM_ADDR a, GM_ADDR, GM_ADDR out, GM_ADDR, GM_ADDR params) {
  const int64_t scenario = sim::SelftestParam(params, 0);
  TPipe pipe;
  TQue<TPosition::VECIN, 1> in;
  TQue<TPosition::VECOUT, 1> outq;
  pipe.InitBuffer(in, 1, 64 * sizeof(float));
  pipe.InitBuffer(outq, 1, 64 * sizeof(float));
  GlobalTensor<float> src, dst;
  const uint64_t size = scenario == 1 ? 100000 : (scenario == 2 ? 32 : 64);
  src.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(a), size);
  dst.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(out), 64);
  LocalTensor<float> x = in.AllocTensor<float>();
  DataCopy(x, src[scenario == 3 ? 16 : 0], 64);
  in.EnQue(x);
  x = in.DeQue<float>();
  LocalTensor<float> z = outq.AllocTensor<float>();
  if (scenario == 0) {
    LocalTensor<float> first40 = x;
    first40.SetSize(40);
    Duplicate(z, 0.0f, 64);
    PipeBarrier<PIPE_V>();
    CompareScalar(z.ReinterpretCast<uint8_t>(), first40, 10.0f, CMPMODE::LT, 64);
  } else {
    Muls(z, x, 2.0f, 64);
  }
  outq.EnQue(z);
  in.FreeTensor(x);
  z = outq.DeQue<float>();
  DataCopy(dst, z, 64);
  outq.FreeTensor(z);
}
SIM_SELFTEST(rule_strictness);
