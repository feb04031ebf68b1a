// z = x + scale * y over `total` elements, `perCore` per core in tiles of `tile` (a multiple of 8),
// written like a third-party kernel: DTYPE_X from the build, GET_TILING_DATA, the raw set_flag /
// wait_flag intrinsics. tests/test_simulator_external.py builds it with dcnv3_ascend.sim.external.
// params: SKIP_WAIT=1 drops the MTE2 -> V wait to show that pipe hazards are still caught.
#include "kernel_operator.h"
using namespace AscendC;

extern "C" __global__ __aicore__ void scaled_add(GM_ADDR x, GM_ADDR y, GM_ADDR z, GM_ADDR workspace, GM_ADDR tiling) {
  GET_TILING_DATA(t, tiling);
  ASSERT(t.tile % 8 == 0);
  const uint64_t begin = GetBlockIdx() * static_cast<uint64_t>(t.perCore);
  if (begin >= t.total) return;
  const uint32_t mine = static_cast<uint32_t>(t.total - begin < t.perCore ? t.total - begin : t.perCore);
  GlobalTensor<DTYPE_X> xg, yg, zg;
  xg.SetGlobalBuffer((__gm__ DTYPE_X*)x + begin, mine);
  yg.SetGlobalBuffer((__gm__ DTYPE_X*)y + begin, mine);
  zg.SetGlobalBuffer((__gm__ DTYPE_X*)z + begin, mine);
  TPipe pipe;
  TBuf<TPosition::VECCALC> bx, by;
  pipe.InitBuffer(bx, t.tile * sizeof(DTYPE_X));
  pipe.InitBuffer(by, t.tile * sizeof(DTYPE_X));
  LocalTensor<DTYPE_X> a = bx.Get<DTYPE_X>(), b = by.Get<DTYPE_X>();
  for (uint32_t done = 0; done < mine; done += t.tile) {
    const uint32_t n = mine - done < t.tile ? mine - done : t.tile;
    DataCopy(a, xg[done], n);
    DataCopy(b, yg[done], n);
#if !SKIP_WAIT
    set_flag(PIPE_MTE2, PIPE_V, EVENT_ID0);
    wait_flag(PIPE_MTE2, PIPE_V, EVENT_ID0);
#endif
    Axpy(a, b, static_cast<DTYPE_X>(t.scale), n);
    set_flag(PIPE_V, PIPE_MTE3, EVENT_ID0);
    wait_flag(PIPE_V, PIPE_MTE3, EVENT_ID0);
    DataCopy(zg[done], a, n);
    set_flag(PIPE_MTE3, PIPE_MTE2, EVENT_ID0);
    wait_flag(PIPE_MTE3, PIPE_MTE2, EVENT_ID0);
  }
}
