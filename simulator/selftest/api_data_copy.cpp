// Well-behaved kernels exercising the DMA API; tests/test_simulator_api.py checks their results
// against numpy.
#include "kernel_operator.h"
#include "selftest_registry.h"

using namespace AscendC;

namespace {

// A whole UB tile of `floats` floats from/to GM with plain DataCopy.
void LoadTile(const LocalTensor<float>& t, GM_ADDR gm, uint32_t floats) {
  GlobalTensor<float> g;
  g.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(gm), floats);
  DataCopy(t, g, floats);
}
void StoreTile(GM_ADDR gm, const LocalTensor<float>& t, uint32_t floats) {
  GlobalTensor<float> g;
  g.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(gm), floats);
  DataCopy(g, t, floats);
}

}  // namespace

// DataCopyPad GM->UB into a tile pre-filled from arg1, then the tile back to arg1.
// params: blockCount, blockLen (B), srcStride (B), dstStride (blocks), leftPadding, rightPadding,
// isPad, paddingValue (float bits), tile floats.
extern "C" __global__ __aicore__ void api_datacopypad_in(GM_ADDR src, GM_ADDR tile, GM_ADDR, GM_ADDR, GM_ADDR params) {
  auto p = [&](int i) { return sim::SelftestParam(params, i); };
  const uint32_t floats = static_cast<uint32_t>(p(8));
  TPipe pipe;
  TBuf<TPosition::VECCALC> buf;
  pipe.InitBuffer(buf, floats * sizeof(float));
  LocalTensor<float> t = buf.Get<float>();
  LoadTile(t, tile, floats);
  PipeBarrier<PIPE_MTE2>();  // the two GM->UB copies overlap in UB
  GlobalTensor<float> g;
  g.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(src));
  const uint32_t bits = static_cast<uint32_t>(p(7));
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  DataCopyPad(t, g,
              DataCopyExtParams(static_cast<uint16_t>(p(0)), static_cast<uint32_t>(p(1)), static_cast<uint32_t>(p(2)),
                                static_cast<uint32_t>(p(3)), 0),
              DataCopyPadExtParams<float>(p(6) != 0, static_cast<uint8_t>(p(4)), static_cast<uint8_t>(p(5)), value));
  SetFlag<HardEvent::MTE2_MTE3>(0);
  WaitFlag<HardEvent::MTE2_MTE3>(0);
  StoreTile(tile, t, floats);
}
SIM_SELFTEST(api_datacopypad_in);

// A tile loaded from arg0, then DataCopyPad UB->GM into arg1.
// params: blockCount, blockLen (B), srcStride (blocks), dstStride (B), tile floats.
extern "C" __global__ __aicore__ void api_datacopypad_out(GM_ADDR tile, GM_ADDR dst, GM_ADDR, GM_ADDR, GM_ADDR params) {
  auto p = [&](int i) { return sim::SelftestParam(params, i); };
  const uint32_t floats = static_cast<uint32_t>(p(4));
  TPipe pipe;
  TBuf<TPosition::VECCALC> buf;
  pipe.InitBuffer(buf, floats * sizeof(float));
  LocalTensor<float> t = buf.Get<float>();
  LoadTile(t, tile, floats);
  SetFlag<HardEvent::MTE2_MTE3>(0);
  WaitFlag<HardEvent::MTE2_MTE3>(0);
  GlobalTensor<float> g;
  g.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(dst));
  DataCopyPad(g, t,
              DataCopyExtParams(static_cast<uint16_t>(p(0)), static_cast<uint32_t>(p(1)), static_cast<uint32_t>(p(2)),
                                static_cast<uint32_t>(p(3)), 0));
}
SIM_SELFTEST(api_datacopypad_out);

// DataCopy with DataCopyParams (32-byte blocks): GM arg0 -> UB -> GM arg1, strided both ways.
// params: blockCount, blockLen, srcStride, dstStride (GM->UB), then the same four for UB->GM, tile floats.
extern "C" __global__ __aicore__ void api_datacopy_strided(GM_ADDR src, GM_ADDR dst, GM_ADDR, GM_ADDR, GM_ADDR params) {
  auto p = [&](int i) { return static_cast<uint16_t>(sim::SelftestParam(params, i)); };
  TPipe pipe;
  TBuf<TPosition::VECCALC> buf;
  pipe.InitBuffer(buf, static_cast<uint32_t>(sim::SelftestParam(params, 8)) * sizeof(float));
  LocalTensor<float> t = buf.Get<float>();
  GlobalTensor<float> in, out;
  in.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(src));
  out.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(dst));
  DataCopy(t, in, DataCopyParams(p(0), p(1), p(2), p(3)));
  SetFlag<HardEvent::MTE2_MTE3>(0);
  WaitFlag<HardEvent::MTE2_MTE3>(0);
  DataCopy(out, t, DataCopyParams(p(4), p(5), p(6), p(7)));
}
SIM_SELFTEST(api_datacopy_strided);

// DataCopy UB->UB with DataCopyParams, the form dcnv3_grad.cpp uses to repeat grad_output rows:
// arg0 -> UB tile a, b = -1 (Duplicate), DataCopy(b, a, {params 0..3}), b -> arg1. CANN 8.1
// (impl/dav_c220/kernel_operator_data_copy_impl.h, the UB->UB DataCopy) passes the four fields to
// copy_ubuf_to_ubuf unchanged: blockLen in 32-byte blocks, srcStride/dstStride the gaps between
// blocks in 32-byte blocks; the intrinsic runs on PIPE_V. params: the four fields, floats per tile.
extern "C" __global__ __aicore__ void api_datacopy_ub_strided(GM_ADDR src, GM_ADDR dst, GM_ADDR, GM_ADDR,
                                                              GM_ADDR params) {
  auto p = [&](int i) { return static_cast<uint16_t>(sim::SelftestParam(params, i)); };
  const uint32_t floats = static_cast<uint32_t>(sim::SelftestParam(params, 4));
  TPipe pipe;
  TBuf<TPosition::VECCALC> buf;
  pipe.InitBuffer(buf, 2 * floats * static_cast<uint32_t>(sizeof(float)));
  LocalTensor<float> a = buf.Get<float>(), b = a[floats];
  Duplicate(b, -1.0f, static_cast<int32_t>(floats));
  LoadTile(a, src, floats);
  SetFlag<HardEvent::MTE2_V>(0);
  WaitFlag<HardEvent::MTE2_V>(0);
  PipeBarrier<PIPE_V>();  // the copy overwrites what Duplicate wrote
  DataCopy(b, a, DataCopyParams(p(0), p(1), p(2), p(3)));
  SetFlag<HardEvent::V_MTE3>(0);
  WaitFlag<HardEvent::V_MTE3>(0);
  StoreTile(dst, b, floats);
}
SIM_SELFTEST(api_datacopy_ub_strided);

// Every core atomically adds its 64 values (arg0 row GetBlockIdx()) into arg1; dtype by params[0]:
// 0 float, 1 half, 2 bfloat16_t.
template <typename T>
void AtomicRows(GM_ADDR rows, GM_ADDR acc) {
  TPipe pipe;
  TQue<TPosition::VECIN, 1> que;
  pipe.InitBuffer(que, 1, 64 * sizeof(T));
  GlobalTensor<T> src, dst;
  src.SetGlobalBuffer(reinterpret_cast<__gm__ T*>(rows) + GetBlockIdx() * 64, 64);
  dst.SetGlobalBuffer(reinterpret_cast<__gm__ T*>(acc), 64);
  LocalTensor<T> t = que.AllocTensor<T>();
  DataCopy(t, src, 64);
  que.EnQue(t);
  t = que.DeQue<T>();
  SetFlag<HardEvent::MTE2_MTE3>(0);
  WaitFlag<HardEvent::MTE2_MTE3>(0);
  SetAtomicAdd<T>();
  DataCopyPad(dst, t, DataCopyExtParams(1, 64 * sizeof(T), 0, 0, 0));
  SetAtomicNone();
  que.FreeTensor(t);
}

extern "C" __global__ __aicore__ void api_atomic_add(GM_ADDR rows, GM_ADDR acc, GM_ADDR, GM_ADDR, GM_ADDR params) {
  switch (sim::SelftestParam(params, 0)) {
    case 0: AtomicRows<float>(rows, acc); break;
    case 1: AtomicRows<half>(rows, acc); break;
    default: AtomicRows<bfloat16_t>(rows, acc); break;
  }
}
SIM_SELFTEST(api_atomic_add);

// InitOutput of params[0] floats with value params[1] (float bits) into arg0.
extern "C" __global__ __aicore__ void api_init_output(GM_ADDR dst, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR params) {
  const uint32_t bits = static_cast<uint32_t>(sim::SelftestParam(params, 1));
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  TPipe pipe;
  GlobalTensor<float> g;
  g.SetGlobalBuffer(reinterpret_cast<__gm__ float*>(dst));
  InitOutput<float>(g, static_cast<uint32_t>(sim::SelftestParam(params, 0)), value);
}
SIM_SELFTEST(api_init_output);
