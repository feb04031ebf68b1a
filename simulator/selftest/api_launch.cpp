// Well-behaved kernels exercising launch-level behaviour: statistics, SyncAll across cores, the
// TQue pipeline's own synchronisation, TILING_KEY_IS, and event ids from the TPipe.
#include "selftest_io.h"

using namespace AscendC;

// A fixed instruction mix whose statistics the test knows exactly: UB 2 x 224 (TQue of 200 B,
// rounded) + 1024 (TBuf of 1000 B) = 1472 B; 2 DMAs in (128 B each), 1 DMA out (256 B); 2 vector
// instructions; 3 GM scalar reads and 1 GM scalar write.
extern "C" __global__ __aicore__ void api_stats(GM_ADDR in, GM_ADDR out, GM_ADDR, GM_ADDR, GM_ADDR) {
  TPipe pipe;
  TQue<TPosition::VECIN, 1> que;
  TBuf<TPosition::VECCALC> buf;
  pipe.InitBuffer(que, 2, 200);
  pipe.InitBuffer(buf, 1000);
  GlobalTensor<float> gin, gout;
  gin.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(in), 64);
  gout.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(out), 64);
  LocalTensor<float> t = buf.Get<float>();
  DataCopy(t, gin, 32);
  DataCopy(t[32], gin[32], 32);
  SetFlag<HardEvent::MTE2_V>(0);
  WaitFlag<HardEvent::MTE2_V>(0);
  Adds(t, t, 1.0f, 64);
  PipeBarrier<PIPE_V>();
  Muls(t, t, 2.0f, 64);
  SetFlag<HardEvent::V_MTE3>(0);
  WaitFlag<HardEvent::V_MTE3>(0);
  DataCopy(gout, t, 64);
  const float s = gin.GetValue(0) + gin.GetValue(1) + gin.GetValue(2);
  PipeBarrier<PIPE_ALL>();
  gout.SetValue(63, s);
}
SIM_SELFTEST(api_stats);

// Each core publishes (its index + 1) in its 8-float slot of arg0, SyncAll, then copies its right
// neighbour's slot into its slot of arg1. Only correct if SyncAll really is a barrier.
extern "C" __global__ __aicore__ void api_sync_all(GM_ADDR ws, GM_ADDR out, GM_ADDR, GM_ADDR, GM_ADDR) {
  const int64_t idx = GetBlockIdx(), n = GetBlockNum();
  TPipe pipe;
  TBuf<TPosition::VECCALC> buf;
  pipe.InitBuffer(buf, 32);
  LocalTensor<float> t = buf.Get<float>();
  GlobalTensor<float> gws, gout;
  gws.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(ws), 8 * n);
  gout.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(out), 8 * n);
  Duplicate(t, static_cast<float>(idx + 1), 8);
  selftest::Store(ws + idx * 32, t, 8);
  SyncAll<true>();
  DataCopy(t, gws[8 * ((idx + 1) % n)], 8);
  SetFlag<HardEvent::MTE2_MTE3>(0);
  WaitFlag<HardEvent::MTE2_MTE3>(0);
  DataCopy(gout[8 * idx], t, 8);
}
SIM_SELFTEST(api_sync_all);

// out = in * 2 + 1 over params[0] floats in tiles of 64, double-buffered VECIN/VECOUT queues and
// no hand-written flags: the queues' own EnQue/DeQue/Free synchronisation must suffice.
extern "C" __global__ __aicore__ void api_queue_pipeline(GM_ADDR in, GM_ADDR out, GM_ADDR, GM_ADDR, GM_ADDR params) {
  const int64_t total = sim::SelftestParam(params, 0);
  TPipe pipe;
  TQue<TPosition::VECIN, 1> qin;
  TQue<TPosition::VECOUT, 1> qout;
  pipe.InitBuffer(qin, 2, 64 * sizeof(float));
  pipe.InitBuffer(qout, 2, 64 * sizeof(float));
  GlobalTensor<float> gin, gout;
  gin.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(in), total);
  gout.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(out), total);
  for (int64_t start = 0; start < total; start += 64) {
    LocalTensor<float> a = qin.AllocTensor<float>();
    DataCopy(a, gin[start], 64);
    qin.EnQue(a);
    LocalTensor<float> x = qin.DeQue<float>();
    LocalTensor<float> y = qout.AllocTensor<float>();
    Muls(y, x, 2.0f, 64);
    PipeBarrier<PIPE_V>();  // queues order other pipes only, not V after V
    Adds(y, y, 1.0f, 64);
    qout.EnQue(y);
    qin.FreeTensor(x);
    LocalTensor<float> z = qout.DeQue<float>();
    DataCopy(gout[start], z, 64);
    qout.FreeTensor(z);
  }
}
SIM_SELFTEST(api_queue_pipeline);

// Writes 8 copies of the dispatched tiling key (as float) to arg0.
extern "C" __global__ __aicore__ void api_tiling_key(GM_ADDR out, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR) {
  KERNEL_TASK_TYPE_DEFAULT(KERNEL_TYPE_AIV_ONLY);
  float key = -1.0f;
  if (TILING_KEY_IS(0)) {
    key = 0.0f;
  } else if (TILING_KEY_IS(1)) {
    key = 1.0f;
  } else if (TILING_KEY_IS(2)) {
    key = 2.0f;
  }
  TPipe pipe;
  TBuf<TPosition::VECCALC> buf;
  pipe.InitBuffer(buf, 32);
  LocalTensor<float> t = buf.Get<float>();
  Duplicate(t, key, 8);
  selftest::Store(out, t, 8);
}
SIM_SELFTEST(api_tiling_key);
