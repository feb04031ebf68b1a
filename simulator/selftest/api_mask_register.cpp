// Kernels exercising the vector mask register (SetMaskNorm / SetMaskCount / SetVectorMask /
// ResetMask and instructions called with isSetMask=false), checked by
// tests/test_simulator_mask_register.py against the asc-devkit SetVectorMask page.
#include "selftest_io.h"

using namespace AscendC;
using selftest::Load;
using selftest::Store;

// Float tiles of 256 elements: x from arg0, y from arg1, z from arg2 (result stored back to arg2).
// params[0] picks the scenario:
//  0  SetMaskNorm + SetVectorMask(0, 0xF), then Adds<float, false>(MASK_PLACEHOLDER, 1 repeat): z[0:4] = x + 2
//  1  SetMaskCount + SetVectorMask<float, COUNTER>(0, 100), Add<float, false>(MASK_PLACEHOLDER, repeat 1):
//     the counter decides, 100 elements over two iterations
//  2  Adds (isSetMask=true, mask 16, 1 repeat) leaves the register at 16 lanes; the next
//     Muls<float, false>(MASK_PLACEHOLDER, 2 repeats) uses it: z[0:16] and z[64:80]
//  3  SetVectorMask(0, 0xF), then a count-form Adds (which resets the register), then
//     Adds<float, false>(MASK_PLACEHOLDER, 1 repeat): all 64 lanes
//  4  the count form with isSetMask=false in counter mode: SetVectorMask<float, COUNTER>(0, 70),
//     Adds<float, false>(z, x, 2, 1): 70 elements (calCount is ignored)
//  5  the Normal-mode example of the SetVectorMask page: bit mask (all ones), Add<float, false>
//     with block strides 2 over one iteration
//  6  SetVectorMask(0, 0xF), then Brcb (which resets the register), then
//     Adds<float, false>(MASK_PLACEHOLDER, 1 repeat): all 64 lanes
//  7  a count-form Gather of 72 elements leaves its tail mask (8 lanes); the next
//     Adds<float, false>(MASK_PLACEHOLDER, 1 repeat): z[0:8]
//  8  a count-form CreateVecIndex of 100 elements leaves its last Adds' mask (36 lanes); the next
//     Adds<float, false>(MASK_PLACEHOLDER, 1 repeat): z[0:36]
//  9  SetVectorMask(0, 0xF), then a count-form CompareScalar (which leaves the register alone),
//     then Adds<float, false>(MASK_PLACEHOLDER, 1 repeat): z[0:4]
extern "C" __global__ __aicore__ void api_mask_register(GM_ADDR a, GM_ADDR b, GM_ADDR out, GM_ADDR, GM_ADDR params) {
  constexpr uint32_t len = 256;
  TPipe pipe;
  TBuf<TPosition::VECCALC> ba, bb, bo, bs;
  pipe.InitBuffer(ba, len * sizeof(float));
  pipe.InitBuffer(bb, len * sizeof(float));
  pipe.InitBuffer(bo, len * sizeof(float));
  pipe.InitBuffer(bs, len * sizeof(float));
  LocalTensor<float> x = ba.Get<float>(), y = bb.Get<float>(), z = bo.Get<float>(), scratch = bs.Get<float>();
  Load(x, a, len);
  Load(y, b, len);
  Load(z, out, len);
  const UnaryRepeatParams unary(1, 1, 8, 8);
  switch (sim::SelftestParam(params, 0)) {
    case 0:
      SetMaskNorm();
      SetVectorMask<float, MaskMode::NORMAL>(0, 0xF);
      Adds<float, false>(z, x, 2.0f, MASK_PLACEHOLDER, 1, unary);
      break;
    case 1:
      SetMaskCount();
      SetVectorMask<float, MaskMode::COUNTER>(0, 100);
      Add<float, false>(z, x, y, MASK_PLACEHOLDER, 1, {1, 1, 1, 8, 8, 8});
      SetMaskNorm();
      break;
    case 2:
      Adds(scratch, x, 1.0f, 16, 1, unary);
      Muls<float, false>(z, x, 3.0f, MASK_PLACEHOLDER, 2, unary);
      break;
    case 3:
      SetVectorMask<float, MaskMode::NORMAL>(0, 0xF);
      Adds(scratch, x, 1.0f, 64);
      Adds<float, false>(z, x, 2.0f, MASK_PLACEHOLDER, 1, unary);
      break;
    case 4:
      SetMaskCount();
      SetVectorMask<float, MaskMode::COUNTER>(0, 70);
      Adds<float, false>(z, x, 2.0f, 1);
      SetMaskNorm();
      break;
    case 6:
      SetVectorMask<float, MaskMode::NORMAL>(0, 0xF);
      Brcb(scratch, x, 1, {1, 8});
      Adds<float, false>(z, x, 2.0f, MASK_PLACEHOLDER, 1, unary);
      break;
    case 7: {
      LocalTensor<int32_t> offsets = scratch.ReinterpretCast<int32_t>();
      CreateVecIndex(offsets, 0, 72);
      PipeBarrier<PIPE_V>();
      Muls(offsets, offsets, static_cast<int32_t>(sizeof(float)), 72);
      PipeBarrier<PIPE_V>();
      Gather(y, x, scratch.ReinterpretCast<uint32_t>(), 0u, 72u);
      Adds<float, false>(z, x, 2.0f, MASK_PLACEHOLDER, 1, unary);
      break;
    }
    case 8:
      CreateVecIndex(scratch, 0.0f, 100);
      Adds<float, false>(z, x, 2.0f, MASK_PLACEHOLDER, 1, unary);
      break;
    case 9:
      SetVectorMask<float, MaskMode::NORMAL>(0, 0xF);
      CompareScalar(scratch.ReinterpretCast<uint8_t>(), x, 0.0f, CMPMODE::GT, 64);
      Adds<float, false>(z, x, 2.0f, MASK_PLACEHOLDER, 1, unary);
      break;
    default:
      SetMaskNorm();
      SetVectorMask<float, MaskMode::NORMAL>(0xffffffffffffffff, 0xffffffffffffffff);
      Add<float, false>(z, x, y, MASK_PLACEHOLDER, 1, {2, 2, 2, 8, 8, 8});
      break;
  }
  ResetMask();
  Store(out, z, len);
}
SIM_SELFTEST(api_mask_register);

// Counter mode past 255 iterations: SetVectorMask<float, COUNTER>(0, n) and one
// Adds<float, false>(MASK_PLACEHOLDER, repeat 1) over the first n of `len` floats (params[0] = n,
// params[1] = len). The iteration count is not an instruction field in counter mode (SetMaskCount.md:
// the vector unit infers it), and CANN 8.1's own count forms issue one instruction for any count
// (dav_c220 kernel_operator_vec_binary_impl.h AddImpl: set_vector_mask(0, calCount), vadd repeat 1).
extern "C" __global__ __aicore__ void api_counter_mode_long(GM_ADDR a, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR params) {
  const int64_t n = sim::SelftestParam(params, 0);
  const uint32_t len = static_cast<uint32_t>(sim::SelftestParam(params, 1));
  TPipe pipe;
  TBuf<TPosition::VECCALC> buf;
  pipe.InitBuffer(buf, len * sizeof(float));
  LocalTensor<float> z = buf.Get<float>();
  Load(z, a, len);
  SetMaskCount();
  SetVectorMask<float, MaskMode::COUNTER>(0, n);
  Adds<float, false>(z, z, 2.0f, MASK_PLACEHOLDER, 1, {1, 1, 8, 8});
  SetMaskNorm();
  ResetMask();
  Store(a, z, len);
}
SIM_SELFTEST(api_counter_mode_long);
