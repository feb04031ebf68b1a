// A kernel with a fixed instruction mix whose statistics tests/test_sim_cost_model.py computes by
// hand: per-pipe DMA counts and bytes, atomic copies, vector instructions and their 256-byte
// repeats, explicit pipe barriers and scalar UB accesses. Core i runs the vector block i+1 times,
// so the per-core lists differ and the busiest core is the last one.
#include "selftest_io.h"

using namespace AscendC;

// arg0: 256 floats in; arg1: 256 floats out per core; arg2: 16 floats every core adds to atomically.
extern "C" __global__ __aicore__ void stats_counts(GM_ADDR in, GM_ADDR out, GM_ADDR acc, GM_ADDR, GM_ADDR) {
  TPipe pipe;
  TBuf<TPosition::VECCALC> fbuf, pbuf, hbuf;
  pipe.InitBuffer(fbuf, 256 * sizeof(float));
  pipe.InitBuffer(pbuf, 2 * 32);
  pipe.InitBuffer(hbuf, 256 * sizeof(half));
  LocalTensor<float> f = fbuf.Get<float>(), padded = pbuf.Get<float>();
  LocalTensor<half> h = hbuf.Get<half>();
  GlobalTensor<float> gin, gout, gacc;
  gin.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(in), 256);
  gout.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(out) + 256 * GetBlockIdx(), 256);
  gacc.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(acc), 16);

  // MTE2: 2 DMAs, 1024 + 2 x 20 B.
  DataCopy(f, gin, 256);
  DataCopyPad(padded, gin, DataCopyExtParams(2, 5 * sizeof(float), 0, 0, 0),
              DataCopyPadExtParams<float>(false, 0, 0, 0));
  SetFlag<HardEvent::MTE2_V>(0);
  WaitFlag<HardEvent::MTE2_V>(0);

  for (int64_t round = 0; round <= GetBlockIdx(); ++round) {
    Adds(f, f, 1.0f, 256);                                // count form, 1024 B: 4 repeats
    PipeBarrier<PIPE_V>();
    Muls(f, f, 1.0f, 100);                                // 400 B: 2 repeats
    PipeBarrier<PIPE_V>();
    Cast(h, f, RoundMode::CAST_NONE, 256);                // widest operand 1024 B: 4 repeats
    PipeBarrier<PIPE_V>();
    Add(f, f, f, 64, 3, BinaryRepeatParams(1, 1, 1, 8, 8, 8));  // repeat form: 3 repeats
    PipeBarrier<PIPE_V>();                                // the next round reads f
  }
  PipeBarrier<PIPE_ALL>();

  // Scalar UB accesses: 2 GetValue, 1 SetValue, 1 operator() = 4.
  const float first = f.GetValue(0) + f.GetValue(1);
  f.SetValue(2, first);
  f(3) = 0.0f;
  PipeBarrier<PIPE_ALL>();

  // MTE3: 1 plain DMA of 1024 B and 1 atomic DMA of 64 B.
  DataCopy(gout, f, 256);
  SetAtomicAdd<float>();
  DataCopyPad(gacc, f, DataCopyExtParams(1, 16 * sizeof(float), 0, 0, 0));
  SetAtomicNone();
}
SIM_SELFTEST(stats_counts);
