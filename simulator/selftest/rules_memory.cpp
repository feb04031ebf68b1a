// Deliberately bad kernels: UB/GM addressing, DMA parameters, UB capacity. Each breaks exactly one
// rule, which tests/test_simulator_rules.py expects the simulator to report.
#include "kernel_operator.h"
#include "selftest_registry.h"

using namespace AscendC;

// DataCopy into a UB address 4 bytes past a 32-byte boundary.
extern "C" __global__ __aicore__ void rule_misaligned_copy(GM_ADDR x, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR) {
  TPipe pipe;
  TBuf<TPosition::VECCALC> buf;
  pipe.InitBuffer(buf, 1024);
  GlobalTensor<float> gm;
  gm.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(x), 64);
  LocalTensor<float> t = buf.Get<float>();
  DataCopy(t[1], gm, 8);
}
SIM_SELFTEST(rule_misaligned_copy);

// DataCopy of 7 floats (28 bytes): the hardware would silently copy 0 bytes.
extern "C" __global__ __aicore__ void rule_unaligned_length(GM_ADDR x, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR) {
  TPipe pipe;
  TBuf<TPosition::VECCALC> buf;
  pipe.InitBuffer(buf, 1024);
  GlobalTensor<float> gm;
  gm.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(x), 64);
  DataCopy(buf.Get<float>(), gm, 7);
}
SIM_SELFTEST(rule_unaligned_length);

// Two buffers whose rounded sizes exceed the UB: params[0] and params[1] bytes.
extern "C" __global__ __aicore__ void rule_ub_capacity(GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR params) {
  TPipe pipe;
  TBuf<TPosition::VECCALC> a;
  TQue<TPosition::VECIN, 1> b;
  pipe.InitBuffer(a, static_cast<uint32_t>(sim::SelftestParam(params, 0)));
  pipe.InitBuffer(b, 2, static_cast<uint32_t>(sim::SelftestParam(params, 1)));
}
SIM_SELFTEST(rule_ub_capacity);

// DMA that reads 64 floats starting at element 32 of a 64-float GM buffer.
extern "C" __global__ __aicore__ void rule_gm_oob_dma(GM_ADDR x, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR) {
  TPipe pipe;
  TBuf<TPosition::VECCALC> buf;
  pipe.InitBuffer(buf, 1024);
  GlobalTensor<float> gm;
  gm.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(x));
  DataCopy(buf.Get<float>(), gm[32], 64);
}
SIM_SELFTEST(rule_gm_oob_dma);

// Scalar read one past the size given to SetGlobalBuffer (inside the registered buffer).
extern "C" __global__ __aicore__ void rule_gm_oob_sized(GM_ADDR x, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR) {
  GlobalTensor<float> gm;
  gm.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(x), 16);
  (void)gm.GetValue(16);
}
SIM_SELFTEST(rule_gm_oob_sized);

// A view at offset params[0] of a 64-float tensor, or (params[1] != 0) an Add over 65 elements.
extern "C" __global__ __aicore__ void rule_ub_oob(GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR params) {
  TPipe pipe;
  TBuf<TPosition::VECCALC> buf;
  pipe.InitBuffer(buf, 256);
  LocalTensor<float> t = buf.Get<float>();
  if (sim::SelftestParam(params, 1) != 0) {
    Add(t, t, t, 65);
  } else {
    (void)t[static_cast<uint32_t>(sim::SelftestParam(params, 0))];
  }
}
SIM_SELFTEST(rule_ub_oob);

// Add whose destination starts 8 floats into its first source.
extern "C" __global__ __aicore__ void rule_partial_overlap(GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR) {
  TPipe pipe;
  TBuf<TPosition::VECCALC> buf;
  pipe.InitBuffer(buf, 1024);
  LocalTensor<float> t = buf.Get<float>();
  Duplicate(t, 1.0f, 256);
  Add(t[8], t, t[128], 64);
}
SIM_SELFTEST(rule_partial_overlap);

// Repeat-form Adds on one 1 KiB buffer t of 1.0f, picked by params[0] (the address-overlap rule
// of the repeat form, simulator/README.md):
// 0: in place, 2 iterations one block apart: iteration 1 reads 7 blocks iteration 0 wrote;
// 1: one iteration whose src0 starts one block after dst;
// 2: accumulating 4 iterations into one destination through src1, dst and src1 repeat stride 0
//    (the documented exception); 3: the same through src0, which the exception does not cover;
// 4: in place, 16 lanes of 2 iterations 2 blocks apart (backward's 2x2 Add): no enabled lane shared.
// t[0..7] goes to y.
extern "C" __global__ __aicore__ void rule_repeat_overlap(GM_ADDR, GM_ADDR y, GM_ADDR, GM_ADDR, GM_ADDR params) {
  TPipe pipe;
  TBuf<TPosition::VECCALC> buf;
  pipe.InitBuffer(buf, 1024);
  LocalTensor<float> t = buf.Get<float>();
  Duplicate(t, 1.0f, 256);
  PipeBarrier<PIPE_V>();
  switch (sim::SelftestParam(params, 0)) {
    case 0: Add(t, t, t[128], 64, 2, {1, 1, 1, 1, 1, 1}); break;
    case 1: Add(t, t[8], t[128], 64, 1, {1, 1, 1, 8, 8, 8}); break;
    case 2: Add(t, t[64], t, 8, 4, {1, 1, 1, 0, 1, 0}); break;
    case 3: Add(t, t, t[64], 8, 4, {1, 1, 1, 0, 0, 1}); break;
    default: Add(t, t, t[128], 16, 2, {1, 1, 1, 2, 2, 2}); break;
  }
  SetFlag<HardEvent::V_MTE3>(0);
  WaitFlag<HardEvent::V_MTE3>(0);
  GlobalTensor<float> out;
  out.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(y), 64);
  DataCopy(out, t, 64);
}
SIM_SELFTEST(rule_repeat_overlap);

// Overlaps each API's own page allows or refuses (simulator/include/sim/overlap_rules.h), on one
// 2 KiB buffer t, picked by params[0]:
// 0: DataCopy UB->UB, dst 8 floats into src (its pages describe no overlap, so none is allowed);
// 1: DataCopy UB->UB in place, 4 blocks (the same, even 100%);
// 2: DataCopy UB->UB, src blocks 0, 2, 4, 6 to blocks 1, 3, 5, 7: interleaved, no block shared;
// 3: Gather in place (its page forbids src and dst sharing memory);
// 4: CompareScalar writing its bit mask over its source (its page is silent);
// 5: Cast half -> float over its source (the page warns that widening overlap computes wrongly);
// 6: Cast float -> int32_t in place (the general rule: 100% overlap);
// 7: GatherMask in place, even lanes of 4 iterations (the page's own example: kept lanes land on
//    other lanes of their own iteration, never on what a later iteration reads);
// 8: GatherMask, even lanes of 2 iterations into dst 64 floats into src0: iteration 1 reads what
//    iteration 0 wrote;
// 9: GatherMask into a dst after its src0: disjoint;
// 10: GatherMask of 2 iterations over a 96-float src0 into the floats right after it: iteration 1
//     reads past src0's view (class b) what iteration 0 wrote there, lanes the kernel does not use
//     (DrivingSDK's grid_sampler2d_v2 does this).
extern "C" __global__ __aicore__ void rule_api_overlap(GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR params) {
  TPipe pipe;
  TBuf<TPosition::VECCALC> buf;
  pipe.InitBuffer(buf, 2048);
  LocalTensor<float> t = buf.Get<float>();
  Duplicate(t, 1.0f, 512);
  PipeBarrier<PIPE_V>();
  uint64_t kept = 0;
  switch (sim::SelftestParam(params, 0)) {
    case 0: DataCopy(t[8], t, 64); break;
    case 1: DataCopy(t, t, DataCopyParams(4, 1, 0, 0)); break;
    case 2: DataCopy(t[8], t, DataCopyParams(4, 1, 1, 1)); break;
    case 3: {
      LocalTensor<uint32_t> offsets = t[256].ReinterpretCast<uint32_t>();
      Duplicate(offsets, 0u, 64);
      PipeBarrier<PIPE_V>();
      Gather(t, t, offsets, 0u, 64);
      break;
    }
    case 4: CompareScalar(t.ReinterpretCast<uint8_t>(), t, 0.0f, CMPMODE::GT, 64); break;
    case 5: Cast(t, t.ReinterpretCast<half>(), RoundMode::CAST_NONE, 64); break;
    case 6: Cast(t.ReinterpretCast<int32_t>(), t, RoundMode::CAST_RINT, 64); break;
    case 7: GatherMask(t, t, 1, false, 0, GatherMaskParams(1, 4, 8, 0), kept); break;
    case 8: GatherMask(t[64], t, 1, false, 0, GatherMaskParams(1, 2, 8, 0), kept); break;
    case 9: GatherMask(t[128], t, 1, false, 0, GatherMaskParams(1, 2, 8, 0), kept); break;
    default: GatherMask(t[96], buf.GetWithOffset<float>(96, 0), 1, false, 0, GatherMaskParams(1, 2, 8, 0), kept);
  }
}
SIM_SELFTEST(rule_api_overlap);

// DataCopyPad GM->UB with one bad parameter chosen by params[0]: 0 blockCount=0, 1 blockCount=4096,
// 2 leftPadding of 9 floats (36 B), 3 blockLen=6 B for floats, 4 blockLen=2097152.
extern "C" __global__ __aicore__ void rule_datacopypad_params(GM_ADDR x, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR params) {
  TPipe pipe;
  TBuf<TPosition::VECCALC> buf;
  pipe.InitBuffer(buf, 4096);
  GlobalTensor<float> gm;
  gm.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(x));
  DataCopyExtParams copy(1, 16, 0, 0, 0);
  DataCopyPadExtParams<float> pad(false, 0, 0, 0.0f);
  switch (sim::SelftestParam(params, 0)) {
    case 0: copy.blockCount = 0; break;
    case 1: copy.blockCount = 4096; break;
    case 2: pad.leftPadding = 9; break;
    case 3: copy.blockLen = 6; break;
    default: copy.blockLen = 2097152; break;
  }
  DataCopyPad(buf.Get<float>(), gm, copy, pad);
}
SIM_SELFTEST(rule_datacopypad_params);

// Gather with a byte offset that is not a multiple of sizeof(float) (params[0] = 0), that reads
// past the source tensor (params[0] = 1), or with srcBaseAddr 2 and offsets 4i + 2 (params[0] = 2:
// every sum is aligned, neither part is).
extern "C" __global__ __aicore__ void rule_gather_offset(GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR params) {
  TPipe pipe;
  TBuf<TPosition::VECCALC> src, dst, off;
  pipe.InitBuffer(src, 256);
  pipe.InitBuffer(dst, 256);
  pipe.InitBuffer(off, 256);
  LocalTensor<float> s = src.Get<float>();
  LocalTensor<uint32_t> o = off.Get<uint32_t>();
  Duplicate(s, 2.0f, 64);
  CreateVecIndex(o.ReinterpretCast<int32_t>(), 0, 8);
  Muls(o.ReinterpretCast<int32_t>(), o.ReinterpretCast<int32_t>(), 4, 8);
  SetFlag<HardEvent::V_S>(0);
  WaitFlag<HardEvent::V_S>(0);
  const int64_t mode = sim::SelftestParam(params, 0);
  if (mode == 0) {
    o.SetValue(3, 6u);
  } else if (mode == 1) {
    o.SetValue(3, 256u);
  } else {
    for (uint32_t i = 0; i < 8; ++i) o.SetValue(i, 4u * i + 2u);
  }
  SetFlag<HardEvent::S_V>(0);
  WaitFlag<HardEvent::S_V>(0);
  Gather(dst.Get<float>(), s, o, mode == 2 ? 2u : 0u, 8);
}
SIM_SELFTEST(rule_gather_offset);
