// DCNv3 backward on the Ascend vector cores (AIV only). Same work split, tiles, sampling and corner
// fetch as the forward (dcnv3.cpp, dcnv3_sampler.h); per tile, after the fetch:
//   V: the 4 slot dot products sum_c grad_output[c] * corner[c] of every point come from one Mul
//      per (slot, tap) block and group_channels Gathers + Adds that reduce the channel axis of all
//      corner rows at once; grad_mask and grad_offset are then short vector formulas over the
//      points (d/dloc of the slot weights, see dcnv3_sampler.h), Gathered back into GM order. The
//      grad_input terms (slot weight x mask x grad_output) are built with the slots of a point
//      side by side.
//   S+MTE3: per point one atomic-add DMA scatters its 2x2 terms (blockCount 2 image rows, each the
//      x-neighbour pair) into the fp32 accumulator; one DMA each stores the tile's grad_offset and
//      grad_mask rows (every pixel-group belongs to one core: no races, no atomics there). These
//      output buffers are doubled: MTE3 drains one tile's while the vector unit computes the next.
// DMAs: 1 per sampled point (+ the forward's per-tile loads, + 3 per tile). GM bytes: the scatter
// (4 * c_pad fp32 per point) outweighs the window loads on InternImage layers; a tile's grad_input
// summed in UB first would need a vector scatter-add (points of a tile share pixels), which the
// vector unit lacks.
//
// Accumulator: an fp32 user workspace laid out [N][G][H][W][c_pad], so that a point's two
// x-neighbours are adjacent (2 * c_pad floats) and its 2x2 neighbourhood is one strided DMA; in
// grad_input's NHWC layout the x-neighbours of one group are G * C apart and would need one DMA per
// image row. Fp32 atomics also keep half-type sums from rounding at every add. Each core zeroes its
// slice of the workspace first (nothing assumes GM is zeroed), SyncAll, runs its tiles, SyncAll,
// then converts its slice into grad_input (cast to the dtype, transposed back to NHWC by the
// store's stride).
#include "kernel_operator.h"
#include "dcnv3_sampler.h"

namespace dcnv3_kernel {

template <typename T>
class Backward {
 public:
  template <typename Tiling>
  __aicore__ inline void Init(const Tiling& tiling, GM_ADDR input, GM_ADDR offset, GM_ADDR mask,
                              GM_ADDR grad_output, GM_ADDR grad_input, GM_ADDR grad_offset, GM_ADDR grad_mask,
                              GM_ADDR workspace) {
    geo_.Load(tiling);
    grad_output_.SetGlobalBuffer((__gm__ T*)grad_output);
    grad_input_.SetGlobalBuffer((__gm__ T*)grad_input);
    grad_offset_.SetGlobalBuffer((__gm__ T*)grad_offset);
    grad_mask_.SetGlobalBuffer((__gm__ T*)grad_mask);
    acc_.SetGlobalBuffer((__gm__ float*)GetUserWorkspace(workspace));
    s_.Init(geo_, &pipe_, input, offset, mask, true);
    BuildTables();
  }

  __aicore__ inline void Process() {
    ZeroAccumulator();
    PipeBarrier<PIPE_ALL>();
    SyncAll<true>();
    // The scatter of one tile runs on MTE3 while the vector unit computes the next tile into the
    // other output buffer; event kOutEvent + b tells the vector unit that buffer b is free.
    for (uint32_t b = 0; b < dcnv3_ub::kOutBuffers; ++b) SetFlag<HardEvent::MTE3_V>(kOutEvent + b);
    uint32_t out = 0;
    TileCursor cursor;
    cursor.Start(geo_);
    Tile t;
    while (cursor.Next(geo_, &t)) {
      WaitPipe<HardEvent::V_MTE2>();  // the previous tile's vector work is done with its inputs
      s_.LoadOffsetMask(t);
      s_.LoadChannelRows(t, grad_output_, s_.template At<T>(L().rows_t));
      WaitPipe<HardEvent::MTE2_V>();
      s_.Sample(t, true);
      WaitPipe<HardEvent::MTE2_V>();
      WaitFlag<HardEvent::MTE3_V>(kOutEvent + out);  // MTE3 has drained this output buffer
      Compute(t, out);
      WaitPipe<HardEvent::V_MTE3>();
      ScatterGradInput(t, out);
      StoreGrads(t, out);
      SetFlag<HardEvent::MTE3_V>(kOutEvent + out);
      out = (out + 1) % dcnv3_ub::kOutBuffers;
    }
    for (uint32_t b = 0; b < dcnv3_ub::kOutBuffers; ++b) WaitFlag<HardEvent::MTE3_V>(kOutEvent + b);
    PipeBarrier<PIPE_ALL>();
    SyncAll<true>();
    WriteGradInput();
  }

 private:
  __aicore__ inline const dcnv3_ub::UbLayout& L() { return s_.Layout(); }
  __aicore__ inline uint32_t Out(uint32_t offset, uint32_t out) const { return s_.Out(offset, out); }
  __aicore__ inline int64_t Block(int64_t q) { return s_.RowOffset(q / geo_.p, q % geo_.p); }
  __aicore__ inline int64_t Plane() const { return geo_.h * geo_.w; }  // pixels of one (n, g) plane

  // Gather tables, written once by the scalar unit: the byte offset in the corner data of each
  // corner row (k, r) of the [kSlots][npc] dot products (rows past the slot's ss read row 0), and
  // point-major -> the position rows of grad_offset and grad_mask (padding reads point 0).
  __aicore__ inline void BuildTables() {
    const int64_t npc = s_.Npc(), ss = L().ss, pg_cap = s_.PgCap();
    const uint32_t row_bytes = static_cast<uint32_t>(geo_.cpad * sizeof(float));
    LocalTensor<uint32_t> tab_row = s_.template At<uint32_t>(L().tab_row);
    for (int64_t k = 0; k < dcnv3_ub::kSlots; ++k) {
      for (int64_t r = 0; r < npc; ++r) {
        tab_row.SetValue(k * npc + r, r < ss ? static_cast<uint32_t>(k * ss + r) * row_bytes : 0u);
      }
    }
    LocalTensor<uint32_t> tab_gout = s_.template At<uint32_t>(L().tab_gout);
    LocalTensor<uint32_t> tab_gmask = s_.template At<uint32_t>(L().tab_gmask);
    for (int64_t pg = 0; pg < pg_cap; ++pg) {
      const int64_t pos = pg / geo_.tile_groups, g = pg % geo_.tile_groups;
      for (int64_t p = 0; p < geo_.p; ++p) {
        const uint32_t r = static_cast<uint32_t>(p * pg_cap + pg);
        const int64_t j = g * geo_.p + p;
        tab_gout.SetValue(pos * L().off_row + 2 * j, r * sizeof(float));
        tab_gout.SetValue(pos * L().off_row + 2 * j + 1, static_cast<uint32_t>(npc + r) * sizeof(float));
        tab_gmask.SetValue(pos * L().mask_row + j, r * sizeof(float));
      }
    }
    WaitPipe<HardEvent::S_V>();
  }

  // This core's accumulator pixels [acc_begin, acc_end) (c_pad floats each) set to 0.
  __aicore__ inline void ZeroAccumulator() {
    LocalTensor<float> zeros = s_.F(L().wbc);
    Duplicate(zeros, 0.0f, static_cast<int32_t>(L().elems));
    WaitPipe<HardEvent::V_MTE3>();
    const int64_t end = geo_.acc_end * geo_.cpad;
    for (int64_t at = geo_.acc_begin * geo_.cpad; at < end; at += L().elems) {
      const int64_t n = end - at < L().elems ? end - at : L().elems;
      DataCopyPad(acc_[at], zeros, DataCopyExtParams{1, static_cast<uint32_t>(n * sizeof(float)), 0, 0, 0});
    }
  }

  // grad_input = this core's accumulator pixels, cast to the dtype; a run of pixels of one (n, g)
  // plane is contiguous in the accumulator and G * C apart in NHWC, so each chunk is one load and
  // one strided store.
  __aicore__ inline void WriteGradInput() {
    LocalTensor<float> f = s_.F(L().wbc);
    LocalTensor<T> out = s_.template At<T>(L().data_t);
    const int64_t max_px = dcnv3_ub::kMaxDmaBlocks, fit_px = L().elems / geo_.cpad;
    const int64_t chunk = fit_px < max_px ? fit_px : max_px;  // pixels
    const DataCopyPadExtParams<float> nopad{false, 0, 0, 0.0f};
    for (int64_t q = geo_.acc_begin; q < geo_.acc_end;) {
      const int64_t plane = q / Plane(), pix = q - plane * Plane();
      int64_t n = geo_.acc_end - q < chunk ? geo_.acc_end - q : chunk;
      if (n > Plane() - pix) n = Plane() - pix;
      DataCopyPad(f, acc_[q * geo_.cpad], DataCopyExtParams{1, static_cast<uint32_t>(n * geo_.cpad * sizeof(float)), 0, 0, 0},
                  nopad);
      const int64_t batch = plane / geo_.g, g = plane - batch * geo_.g;
      const uint64_t dst = (static_cast<uint64_t>(batch) * Plane() + pix) * geo_.gc + g * geo_.c;
      const DataCopyExtParams rows{static_cast<uint16_t>(n), static_cast<uint32_t>(geo_.c * sizeof(T)), 0,
                                   static_cast<uint32_t>((geo_.gc - geo_.c) * sizeof(T)), 0};
      if constexpr (Sampler<T>::kF32) {
        WaitPipe<HardEvent::MTE2_MTE3>();
        DataCopyPad(grad_input_[dst], f, rows);
        WaitPipe<HardEvent::MTE3_MTE2>();
      } else {
        WaitPipe<HardEvent::MTE2_V>();
        Cast(out, f, RoundMode::CAST_RINT, static_cast<uint32_t>(n * geo_.cpad));
        WaitPipe<HardEvent::V_MTE3>();
        DataCopyPad(grad_input_[dst], out, rows);
        WaitPipe<HardEvent::MTE3_V>();
        WaitPipe<HardEvent::V_MTE2>();
      }
      q += n;
    }
  }

  // dst = x0 * y0 + x1 * y1 over the points
  __aicore__ inline void Dot2(const LocalTensor<float>& dst, const LocalTensor<float>& x0, const LocalTensor<float>& y0,
                              const LocalTensor<float>& x1, const LocalTensor<float>& y1) {
    const int32_t n = s_.Npc();
    LocalTensor<float> tmp = s_.F(L().tmp);
    Mul(dst, x0, y0, n);
    Mul(tmp, x1, y1, n);
    PipeBarrier<PIPE_V>();
    Add(dst, dst, tmp, n);
    PipeBarrier<PIPE_V>();
  }

  __aicore__ inline void Compute(const Tile& t, uint32_t out) {
    const dcnv3_ub::UbLayout& l = L();
    const int32_t n = s_.Npc();
    s_.CornerDataToFloat();
    if constexpr (!Sampler<T>::kF32) {
      Cast(s_.F(l.rows_f), s_.template At<T>(l.rows_t), RoundMode::CAST_NONE, l.rows_out);
      PipeBarrier<PIPE_V>();
    }
    LocalTensor<float> terms = s_.F(Out(l.wbc, out)), data = s_.F(l.data_f), g = s_.F(l.rows_f), g4 = s_.F(l.g4);
    // grad_input terms [r][k][c] = slot weight x mask x grad_output: weights broadcast with the
    // slots side by side, grad_output repeated for the 4 slots of a pixel-group, one Mul per tap.
    s_.BroadcastWeights(terms, 0, dcnv3_ub::kSlots, 1, dcnv3_ub::kSlots);
    const uint16_t row_blocks = static_cast<uint16_t>(geo_.cpad * sizeof(float) / dcnv3_ub::kUbBlock);
    for (int64_t k = 0; k < dcnv3_ub::kSlots; ++k) {
      DataCopy(g4[k * geo_.cpad], g,
               DataCopyParams{static_cast<uint16_t>(t.pg_span), row_blocks, 0, static_cast<uint16_t>(3 * row_blocks)});
    }
    PipeBarrier<PIPE_V>();
    const int64_t point_elems = dcnv3_ub::kSlots * geo_.cpad;
    for (int64_t p = 0; p < geo_.p; ++p) {
      Mul(terms[p * s_.PgCap() * point_elems], terms[p * s_.PgCap() * point_elems], g4,
          static_cast<int32_t>(t.pg_span * point_elems));
    }
    // corner data x grad_output, in place (data_f is refilled every tile)
    const int32_t count = static_cast<int32_t>(t.pg_span * geo_.cpad);
    const int64_t blocks = dcnv3_ub::kSlots * geo_.p;
    for (int64_t q = 0; q < blocks; ++q) Mul(data[Block(q)], data[Block(q)], g, count);
    PipeBarrier<PIPE_V>();
    // dots[k][r] = sum_c prod[k][r][c]: one Gather per channel picks it from every corner row.
    LocalTensor<float> dots = s_.F(l.dots), tmp4 = s_.F(l.dot_tmp);
    LocalTensor<uint32_t> tab_row = s_.template At<uint32_t>(l.tab_row);
    const uint32_t rows = static_cast<uint32_t>(dcnv3_ub::kSlots * n);
    Gather(dots, data, tab_row, 0u, rows);
    for (int64_t c = 1; c < geo_.c; ++c) {
      PipeBarrier<PIPE_V>();
      Gather(tmp4, data, tab_row, static_cast<uint32_t>(c * sizeof(float)), rows);
      PipeBarrier<PIPE_V>();
      Add(dots, dots, tmp4, static_cast<int32_t>(rows));
    }
    PipeBarrier<PIPE_V>();
    // Per point, with d_k the slot dot products:
    //   grad_mask = sum_k ah aw d,  gy = scale m sum_k bh aw d,  gx = scale m sum_k ah bw d
    LocalTensor<float> aw = s_.F(l.aw), ah = s_.F(l.ah), bw = s_.F(l.bw), bh = s_.F(l.bh), m = s_.F(l.m);
    LocalTensor<float> row0 = tmp4, row1 = tmp4[n], drow0 = tmp4[2 * n], drow1 = tmp4[3 * n];
    LocalTensor<float> gx = s_.F(l.gxy), gy = s_.F(l.gxy)[n], gm = s_.F(l.gm);
    Dot2(row0, dots, aw, dots[n], aw[n]);            // slot row 0 interpolated along w
    Dot2(row1, dots[2 * n], aw, dots[3 * n], aw[n]);  // slot row 1
    Dot2(drow0, dots, bw, dots[n], bw[n]);           // d/dw of slot row 0
    Dot2(drow1, dots[2 * n], bw, dots[3 * n], bw[n]);
    Dot2(gm, ah, row0, ah[n], row1);
    Dot2(gy, bh, row0, bh[n], row1);
    Dot2(gx, ah, drow0, ah[n], drow1);
    Muls(m, m, geo_.scale, n);
    PipeBarrier<PIPE_V>();
    Mul(gx, gx, m, n);
    Mul(gy, gy, m, n);
    PipeBarrier<PIPE_V>();
    const uint32_t off_elems = static_cast<uint32_t>(t.npos * l.off_row);
    const uint32_t mask_elems = static_cast<uint32_t>(t.npos * l.mask_row);
    // fp32 gathers straight into the output buffer; half types gather in fp32, then cast into it
    const uint32_t goff = Sampler<T>::kF32 ? Out(l.goff_t, out) : l.goff_f;
    const uint32_t gmask = Sampler<T>::kF32 ? Out(l.gmask_t, out) : l.gmask_f;
    Gather(s_.F(goff), s_.F(l.gxy), s_.template At<uint32_t>(l.tab_gout), 0u, off_elems);
    Gather(s_.F(gmask), gm, s_.template At<uint32_t>(l.tab_gmask), 0u, mask_elems);
    if constexpr (!Sampler<T>::kF32) {
      PipeBarrier<PIPE_V>();
      Cast(s_.template At<T>(Out(l.goff_t, out)), s_.F(goff), RoundMode::CAST_RINT, off_elems);
      Cast(s_.template At<T>(Out(l.gmask_t, out)), s_.F(gmask), RoundMode::CAST_RINT, mask_elems);
    }
  }

  // One atomic fp32 add per point: its [2][2][c_pad] terms to the accumulator pixels
  // (h0c + sh, w0c + sw) of its (n, g) plane. H == 1 drops the second image row and W == 1 the
  // second column (they would repeat a real pixel with weight 0).
  __aicore__ inline void ScatterGradInput(const Tile& t, uint32_t out) {
    const bool two_cols = geo_.w >= 2;
    const uint32_t row_bytes = static_cast<uint32_t>(geo_.cpad * sizeof(float));
    const uint32_t pair_bytes = (two_cols ? 2 : 1) * row_bytes;
    const DataCopyExtParams rows{static_cast<uint16_t>(geo_.h >= 2 ? 2 : 1), pair_bytes,
                                 (2 * row_bytes - pair_bytes) / dcnv3_ub::kUbBlock,
                                 static_cast<uint32_t>(geo_.w * row_bytes - pair_bytes), 0};
    LocalTensor<float> terms = s_.F(Out(L().wbc, out));
    const uint64_t plane = static_cast<uint64_t>(Plane()) * geo_.cpad;
    const uint64_t base = (static_cast<uint64_t>(t.n) * geo_.g + t.g0) * plane;
    const int64_t pg_cap = s_.PgCap(), point_elems = dcnv3_ub::kSlots * geo_.cpad;
    SetAtomicAdd<float>();
    for (int64_t p = 0; p < geo_.p; ++p) {
      for (int64_t pos = 0; pos < t.npos; ++pos) {
        for (int64_t g = 0; g < t.ngroups; ++g) {
          const int64_t r = p * pg_cap + pos * geo_.tile_groups + g;
          const uint64_t dst = base + g * plane + (static_cast<uint64_t>(s_.RowIdx(r)) * geo_.w + s_.ColIdx(r)) * geo_.cpad;
          DataCopyPad(acc_[dst], terms[r * point_elems], rows);
        }
      }
    }
    SetAtomicNone();
  }

  // One DMA each: a run of ngroups * P (* 2) values per position, the tile's position rows.
  __aicore__ inline void StoreGrads(const Tile& t, uint32_t out) {
    DataCopyPad(grad_offset_[s_.TileFirst(t, 2 * geo_.p)], s_.template At<T>(Out(L().goff_t, out)),
                s_.PositionRows(t, 2 * geo_.p, L().off_row, sizeof(T), true));
    DataCopyPad(grad_mask_[s_.TileFirst(t, geo_.p)], s_.template At<T>(Out(L().gmask_t, out)),
                s_.PositionRows(t, geo_.p, L().mask_row, sizeof(T), true));
  }

  TPipe pipe_;
  Geometry geo_;
  Sampler<T> s_;
  GlobalTensor<T> grad_output_, grad_input_, grad_offset_, grad_mask_;
  GlobalTensor<float> acc_;
};

}  // namespace dcnv3_kernel

extern "C" __global__ __aicore__ void dcnv3_grad(GM_ADDR input, GM_ADDR offset, GM_ADDR mask, GM_ADDR grad_output,
                                                 GM_ADDR grad_input, GM_ADDR grad_offset, GM_ADDR grad_mask,
                                                 GM_ADDR workspace, GM_ADDR tiling) {
  KERNEL_TASK_TYPE_DEFAULT(KERNEL_TYPE_AIV_ONLY);
  GET_TILING_DATA(tilingData, tiling);
  if (TILING_KEY_IS(0)) {
    dcnv3_kernel::Backward<float> op;
    op.Init(tilingData, input, offset, mask, grad_output, grad_input, grad_offset, grad_mask, workspace);
    op.Process();
  } else if (TILING_KEY_IS(1)) {
    dcnv3_kernel::Backward<half> op;
    op.Init(tilingData, input, offset, mask, grad_output, grad_input, grad_offset, grad_mask, workspace);
    op.Process();
  } else if (TILING_KEY_IS(2)) {
    dcnv3_kernel::Backward<bfloat16_t> op;
    op.Init(tilingData, input, offset, mask, grad_output, grad_input, grad_offset, grad_mask, workspace);
    op.Process();
  }
}
