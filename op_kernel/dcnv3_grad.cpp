// DCNv3 backward on the Ascend vector cores: KERNEL_TYPE_AIV_ONLY, no cross-core synchronisation.
//
// Why no core waits for another (so nothing can hang, on either launch path): grad_input is a
// float32 output the framework zeroes before the launch (op_host/dcnv3_grad_outputs.h: the OpDef
// declares it InitValue(0) and the TilingFunc calls SetNeedAtomic(true); on the aclnn path the
// generated API zeroes it before the launch, in a graph GE inserts a memset node before the op;
// the torch adapter also allocates it with at::zeros). Every core only adds into it, with fp32
// atomic DMAs, and writes grad_offset / grad_mask of the pixel-groups it owns (each belongs to
// exactly one core: tiling plan). No core reads what another writes, so there is no SyncAll, no
// FFTS flag to wait for, and no batch-scheduling requirement on multi-stream use.
// Rejected: zeroing a workspace on device, SyncAll, scatter, SyncAll, convert (the previous
// design): in an AIV_ONLY kernel CANN 8.1 passes no FFTS address (ascendc_compile_v220.py
// get_v220_kernel_type_mix_flag), so the hardware SyncAll never returns; as MIX_AIV_1_0 it would
// work, but two streams running cross-core-synchronised operators can deadlock without batch
// scheduling, which the single-op aclnn path does not support. Zeroing in the torch adapter only:
// the graph path would then see garbage.
//
// Per tile (same split, tiles, sampling and corner fetch as the forward: dcnv3_sampler.h, the
// shared loop dcnv3_tile_loop.h):
//   V: the 4 slot dot products sum_c grad_output[c] * corner[c] of every point come from one Mul
//      per (slot, tap) block and group_channels Gathers + Adds that reduce the channel axis of all
//      corner rows at once (two Gather buffers in turn: one barrier per channel); grad_mask and
//      grad_offset are then short vector formulas over the points (d/dloc of the slot weights, see
//      dcnv3_sample_locate.h; the seven two-product sums in two batches), Gathered back into GM
//      order. The grad_input terms (slot weight x mask x grad_output) are built with the slots of
//      a point side by side. Slots that are no real corner hold zeros (dcnv3_sample_locate.h), so
//      one Inf pixel reaches only the samples whose corner it is, as in the reference.
//   S+V: grad_input of the points the input window or ring serves is summed in UB, in gacc, an fp32
//      accumulator of the same geometry. The scalar unit issues one repeat-form Add per point
//      where its 2 x-neighbours are adjacent in gacc (one group: the 2 pixels x c_pad channels as
//      the mask, the 2 slot rows as the repeats, one gacc row apart), else one per slot row (the
//      x-neighbours as the repeats). Points of one (tap, position) are different groups and touch
//      disjoint UB; a PipeBarrier<PIPE_V> separates consecutive (tap, position) pairs, whose
//      pixels may coincide, so no update is lost however many points hit one pixel (tested).
//   Ring mode (kFetchRing, group-major tiles of one group; the plan's choice on every InternImage
//      layer): the input rows come from the forward's ring (dcnv3_ring.h: row r of the (n, g)
//      plane in slot r % win_rows, a copy of slot 0 after the last slot), and gacc is a ring of
//      the same slots. It is never zeroed or flushed whole: after a tile's ring update the rows the
//      ring dropped (a core only walks down a plane; a plane it leaves never comes back) are final,
//      and MTE3 adds them into grad_input, one atomic DMA per run of slots (a row in slot 0 also
//      takes the copy slot, where points whose first row is the last slot added their second
//      row); V zeroes those slots before the tile's Adds (event kAccEvent: the Compute step runs in
//      between, so the wait is short), and the rows still held are flushed after the last tile.
//      About stride_h rows per output row are loaded and as many flushed, whole rows per core and
//      plane at its ends.
//   Window mode (kFetchWindow, other layers): gacc has the tile's window geometry
//      ([rows][cols][groups][c_pad]), is zeroed per tile and added into grad_input with the
//      window's own DMAs (dcnv3_window.h: one, or one per window row) after the tile; the next
//      tile waits for that flush before it zeroes gacc (kAccEvent).
//   MTE3: points outside the window or ring add their 2x2 terms with one atomic DMA per slot row
//      (the x-neighbour pair of their group); grad_offset and grad_mask rows are stored with one
//      DMA each. The grad_offset and grad_mask buffers are doubled: MTE3 drains one tile's while V
//      computes the next. The terms are single (half the UB per point): the next tile waits for
//      the scatter DMAs before it rebuilds them (kTermsEvent).
// fp32 atomic sums are not bit-reproducible run to run (order of adds across cores).
// DMAs per tile: offsets, mask, grad_output, grad_offset, grad_mask, plus 2 per valid point outside
// the window or ring; ring mode: plus about 2 per output row (a new input row, a flushed gacc row);
// window mode: plus the window's load and add-back (1 each, or 1 per window row).
// Simulator, Ascend910B3, InternImage-T/B layers (all ring tiles now, dcnv3_tiling_plan.h; on the
// 7x7 maps the ring holds the whole plane and a tile spans 3 output rows, TileCursor::NextOfGroup),
// offsets randn * 2 px (python -m dcnv3_ascend.sim.report), previous design (a window and its
// accumulator loaded and flushed per tile) -> ring:
//   fp32: 0.048-0.104 DMAs per sampled point (was 0.067-0.256), GM traffic 1.25-1.81x the op's
//   minimum (was 2.95-7.97x); fp16/bf16: 0.058-0.104 (was 0.067-0.260), 1.53-2.37x (was
//   4.09-11.62x; the minimum counts a half-type grad_input, the kernel adds fp32 rows); offsets
//   uniform in +-2 px, fp32: 0.047-0.065 and 1.20-1.43x.
//   Per sampled point, fp32: PipeBarrier<PIPE_V> 1.54-2.38 (was 2.07-3.28), scalar UB accesses
//   2.39-5.92 (was 2.71-4.92; the most on the 7x7 layers, whose per-tile scalar work is spread over
//   few points, and the scalar unit does not bound them), vector repeats 11.0-14.4 (was 13.1-15.8).
// Bound (estimate, sim.report's cost model, not measured): the vector pipe on every layer, by
// instruction issue and barrier drains more than by repeats. Busiest core, stages 1-4, us, was ->
// now: fp32 T 157.2 -> 164.6, 81.5 -> 67.0, 41.7 -> 33.5, 29.8 -> 16.6; B 273.4 -> 283.5,
// 135.9 -> 111.0, 67.9 -> 54.5, 48.0 -> 26.9; fp16/bf16 T 159.0 -> 168.2, 82.9 -> 68.4,
// 42.4 -> 34.2, 30.4 -> 19.5; B 273.8 -> 289.7, 138.1 -> 113.4, 69.1 -> 55.7, 48.9 -> 30.0. So
// 17-44 % faster on the 7x7 to 28x28 layers and 4-6 % slower on the 56x56 ones: there the input
// ring and its accumulator (2 x 13 rows x 56 px x 64 B = 91 KiB in fp32) leave room for 10-position
// tiles (6 per output row), and the per-tile vector work (~115 barriers and ~250 instructions
// besides the per-point Adds, most of them in the shared sampler) is paid on more tiles than in
// the window design.
// Open (issue 9's backward targets are met on every InternImage-T/B layer and dtype): the 56x56
// estimate. Fewer barriers per tile in the shared sampler (e.g. the per-slot passes of
// PlaceInWindow batched over the 4 slots) would help every layer; a smaller ring (3 px margin)
// buys tile room with fallback DMAs (see Rejected).
// Rejected:
// - A window and its fp32 accumulator per tile (the previous design, still the window mode): each
//   tile of one output row loads and flushes up to 12 input rows, 3-8x the op's minimum GM
//   traffic at 28x28 and 56x56 and 0.26 DMAs per point at 56x56.
// - A ring margin of 3 rows instead of 4 (10 ring rows): at T-stage1 fp32, before the UB sharing
//   and the one-Add-per-point and reduction changes, 10-position tiles instead of 8 and an
//   estimate of 191 us instead of 210 us, but 0.20 DMAs per point instead of 0.115 (the pair-DMA
//   fallback twice as often), close to the 0.25 target.
// - One atomic DMA per point (the design before the window): DMA-issue bound, 1.1 DMAs and 256 B
//   per point.
// - Conflict-free slices of points so that no barrier is needed (tap, position mod the window
//   span): exact only while offsets stay within the slice spacing, silently racy beyond; the
//   barrier per (tap, position) is always exact and costs one barrier per tile_groups points
//   (one per point in group-major tiles).
// - fp16/bf16 atomics straight into a half-type grad_input: every partial sum would round, and
//   InitValue(0) covers float32/float16 but not bfloat16.
// - The [N][G][H][W][c_pad] workspace layout (a point's 2x2 as one strided DMA): needs a convert
//   pass after all cores finish, i.e. a cross-core barrier.
#include "dcnv3_sampler.h"
#include "dcnv3_tile_loop.h"
#include "dcnv3_tiling_key.h"
#include "dcnv3_window.h"
#include "kernel_operator.h"

namespace dcnv3_kernel {

// Repeat-form vector limits: 64 fp32 lanes per repeat, 8 fp32 per 32-byte block, 8-bit repeat strides.
constexpr int64_t kLanes = 64, kBlockFloats = 8, kMaxRepeatStride = 255;

template <typename T>
class Backward {
 public:
  template <typename Tiling>
  __aicore__ inline void Init(const Tiling& tiling, GM_ADDR input, GM_ADDR offset, GM_ADDR mask, GM_ADDR grad_output,
                              GM_ADDR grad_input, GM_ADDR grad_offset, GM_ADDR grad_mask) {
    geo_.Load(tiling);
    window_ = geo_.fetch_mode == dcnv3_ub::kFetchWindow;
    ring_ = geo_.fetch_mode == dcnv3_ub::kFetchRing;
    grad_output_.SetGlobalBuffer((__gm__ T*)grad_output);
    grad_input_.SetGlobalBuffer((__gm__ float*)grad_input);
    grad_offset_.SetGlobalBuffer((__gm__ T*)grad_offset);
    grad_mask_.SetGlobalBuffer((__gm__ T*)grad_mask);
    s_.Init(geo_, &pipe_, input, offset, mask, true);
    BuildTables();
  }

  __aicore__ inline void Process() {
    SetFlag<HardEvent::MTE3_V>(kTermsEvent);
    if (window_) SetFlag<HardEvent::MTE3_V>(kAccEvent);
    RunTileLoop(geo_, *this);
    if (window_) WaitFlag<HardEvent::MTE3_V>(kAccEvent);
    WaitFlag<HardEvent::MTE3_V>(kTermsEvent);
    if (ring_ && acc_hi_ > acc_lo_) {  // the rows the accumulator ring still holds
      WaitPipe<HardEvent::V_MTE3>();
      SetAtomicAdd<float>();
      FlushAccRows(acc_plane_, acc_lo_, acc_hi_ - acc_lo_);
      SetAtomicNone();
    }
  }

  // RunTileLoop's steps (dcnv3_tile_loop.h).
  __aicore__ inline void Load(const Tile& t) {
    s_.LoadOffsetMask(t);
    s_.LoadChannelRows(t, grad_output_, s_.template At<T>(L().rows_t));
  }
  __aicore__ inline void Sample(const Tile& t) {
    s_.Sample(t);
    if (ring_) FlushDroppedRows(t);
  }
  __aicore__ inline void Store(const Tile& t, uint32_t out) {
    ScatterGradInput(t);
    StoreGrads(t, out);
  }

  __aicore__ inline const dcnv3_ub::UbLayout& L() { return s_.Layout(); }
  __aicore__ inline uint32_t Out(uint32_t offset, uint32_t out) const { return s_.Out(offset, out); }
  __aicore__ inline int64_t Block(int64_t q) { return s_.RowOffset(q / geo_.p, q % geo_.p); }

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

  // V: grad_offset and grad_mask of the tile into output buffer `out`, and the grad_input terms.
  __aicore__ inline void Compute(const Tile& t, uint32_t out) {
    const dcnv3_ub::UbLayout& l = L();
    const int32_t n = s_.Npc();
    s_.CornerDataToFloat();
    if constexpr (!Sampler<T>::kF32) {
      Cast(s_.F(l.rows_f), s_.template At<T>(l.rows_t), RoundMode::CAST_NONE, l.rows_out);
      PipeBarrier<PIPE_V>();
    }
    LocalTensor<float> terms = s_.F(l.wbc), data = s_.F(l.data_f), g = s_.F(l.rows_f), g4 = s_.F(l.g4);
    WaitFlag<HardEvent::MTE3_V>(kTermsEvent);  // MTE3 has scattered the previous tile's terms
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
    // dots[k][r] = sum_c prod[k][r][c]: one Gather per channel picks it from every corner row,
    // into two spare buffers in turn (wts is free once BroadcastWeights has read it), so that one
    // barrier per channel orders both the Gather before its Add and the Add before the buffer's
    // next Gather.
    LocalTensor<float> dots = s_.F(l.dots), tmp4 = s_.F(l.dot_tmp), prod = s_.F(l.wts);
    LocalTensor<uint32_t> tab_row = s_.template At<uint32_t>(l.tab_row);
    const uint32_t rows = static_cast<uint32_t>(dcnv3_ub::kSlots * n);
    Gather(dots, data, tab_row, 0u, rows);
    for (int64_t c = 1; c < geo_.c; ++c) {
      const LocalTensor<float>& spare = c % 2 ? tmp4 : prod;
      Gather(spare, data, tab_row, static_cast<uint32_t>(c * sizeof(float)), rows);
      PipeBarrier<PIPE_V>();
      Add(dots, dots, spare, static_cast<int32_t>(rows));
    }
    PipeBarrier<PIPE_V>();
    // Per point, with d_k the slot dot products:
    //   grad_mask = sum_k ah aw d,  gy = scale m sum_k bh aw d,  gx = scale m sum_k ah bw d
    // Each sum of two products x0 y0 + x1 y1: the first products into the destinations, the second
    // into prod, then one Add per run of destinations.
    LocalTensor<float> aw = s_.F(l.aw), ah = s_.F(l.ah), bw = s_.F(l.bw), bh = s_.F(l.bh), m = s_.F(l.m);
    LocalTensor<float> row0 = tmp4, row1 = tmp4[n], drow0 = tmp4[2 * n], drow1 = tmp4[3 * n];
    LocalTensor<float> gx = s_.F(l.gxy), gy = s_.F(l.gxy)[n], gm = s_.F(l.gm);
    Mul(row0, dots, aw, n);  // slot row 0 interpolated along w
    Mul(prod, dots[n], aw[n], n);
    Mul(row1, dots[2 * n], aw, n);  // slot row 1
    Mul(prod[n], dots[3 * n], aw[n], n);
    Mul(drow0, dots, bw, n);  // d/dw of slot row 0
    Mul(prod[2 * n], dots[n], bw[n], n);
    Mul(drow1, dots[2 * n], bw, n);
    Mul(prod[3 * n], dots[3 * n], bw[n], n);
    PipeBarrier<PIPE_V>();
    Add(tmp4, tmp4, prod, static_cast<int32_t>(rows));
    PipeBarrier<PIPE_V>();
    Mul(gx, ah, drow0, n);
    Mul(prod, ah[n], drow1, n);
    Mul(gy, bh, row0, n);
    Mul(prod[n], bh[n], row1, n);
    Mul(gm, ah, row0, n);
    Mul(prod[2 * n], ah[n], row1, n);
    Muls(m, m, geo_.scale, n);
    PipeBarrier<PIPE_V>();
    Add(gx, gx, prod, 2 * n);  // gx and gy are one run
    Add(gm, gm, prod[2 * n], n);
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

  // S + V + MTE3: the tile's grad_input terms into GM, fp32 atomic adds into grad_input (which the
  // framework zeroed, see the file comment). Points the window serves are added into the window
  // accumulator gacc by the vector unit, two repeat-form Adds per point (one per slot row, its two
  // x-neighbours as the 2 repeats), and gacc is added to GM by ForEachWindowDma: one DMA, or one per
  // window row. Other valid points: one atomic DMA per slot row (the x-neighbour pair of the
  // point's group). Points of one (tap, position) are different groups, disjoint in gacc; the
  // points of the next (tap, position) may hit the same pixels, so a PipeBarrier<PIPE_V> separates
  // them and no update is lost.
  __aicore__ inline void ScatterGradInput(const Tile& t) {
    const Window& win = s_.Win();
    const bool use_acc = (window_ || ring_) && !win.Empty();
    LocalTensor<float> gacc = s_.F(L().gacc), terms = s_.F(L().wbc);
    if (window_ && use_acc) {
      WaitFlag<HardEvent::MTE3_V>(kAccEvent);  // MTE3 has added the previous tile's gacc to GM
      Duplicate(gacc, 0.0f, static_cast<int32_t>(win.Elems(geo_.cpad)));
      PipeBarrier<PIPE_V>();
    }
    if (zero_pending_) ZeroFlushedRows();
    const int64_t slot_rows = geo_.h >= 2 ? 2 : 1;
    const uint16_t pixels = static_cast<uint16_t>(geo_.w >= 2 ? 2 : 1);
    const uint32_t c_bytes = static_cast<uint32_t>(geo_.c * sizeof(float));
    const DataCopyExtParams pair{
        pixels, c_bytes, (static_cast<uint32_t>(geo_.cpad * sizeof(float)) - dcnv3_ub::AlignUp(c_bytes, 32)) / 32,
        static_cast<uint32_t>((geo_.gc - geo_.c) * sizeof(float)), 0};
    const int64_t acc_px = win.ng * geo_.cpad, acc_row = win.nc * acc_px;  // gacc elements per pixel, row
    const bool repeat_form = geo_.cpad <= kLanes && acc_px / kBlockFloats <= kMaxRepeatStride;
    const BinaryRepeatParams strides(1, 1, 1, static_cast<uint8_t>(acc_px / kBlockFloats),
                                     static_cast<uint8_t>(acc_px / kBlockFloats),
                                     static_cast<uint8_t>(geo_.cpad / kBlockFloats));
    // One Add for the whole 2x2 when a point's two pixels are adjacent in gacc (one group): the 2
    // pixels x cpad channels as one mask, the slot rows as the repeats, one gacc row apart.
    const bool one_add =
        acc_px == geo_.cpad && pixels * geo_.cpad <= kLanes && acc_row / kBlockFloats <= kMaxRepeatStride;
    const BinaryRepeatParams rows(1, 1, 1, static_cast<uint8_t>(acc_row / kBlockFloats),
                                  static_cast<uint8_t>(acc_row / kBlockFloats),
                                  static_cast<uint8_t>(2 * geo_.cpad / kBlockFloats));
    LocalTensor<int32_t> acc_at = s_.I(L().acc_at), col_off = s_.I(L().col_off);
    const uint64_t base = s_.TileBase(t);
    const int64_t pg_cap = s_.PgCap(), point_elems = dcnv3_ub::kSlots * geo_.cpad;
    SetAtomicAdd<float>();
    for (int64_t p = 0; p < geo_.p; ++p) {
      for (int64_t pos = 0; pos < t.npos; ++pos) {
        bool added = false;
        for (int64_t g = 0; g < t.ngroups; ++g) {
          const int64_t r = p * pg_cap + pos * geo_.tile_groups + g;
          const int32_t at = acc_at.GetValue(r);
          if (at == kScatterNothing) continue;
          const int64_t src = r * point_elems;
          if (at >= 0 && one_add) {
            Add(gacc[at], gacc[at], terms[src], static_cast<uint64_t>(pixels * geo_.cpad),
                static_cast<uint8_t>(slot_rows), rows);
            added = true;
            continue;
          }
          if (at >= 0) {
            for (int64_t sh = 0; sh < slot_rows; ++sh) {
              const int64_t dst = at + sh * acc_row, from = src + 2 * sh * geo_.cpad;
              if (repeat_form) {
                Add(gacc[dst], gacc[dst], terms[from], static_cast<uint64_t>(geo_.cpad), static_cast<uint8_t>(pixels),
                    strides);
              } else {
                for (int64_t sw = 0; sw < pixels; ++sw) {
                  Add(gacc[dst + sw * acc_px], gacc[dst + sw * acc_px], terms[from + sw * geo_.cpad],
                      static_cast<int32_t>(geo_.cpad));
                }
              }
            }
            added = true;
            continue;
          }
          const uint64_t dst = base + static_cast<uint64_t>(s_.RowIdx(r)) * s_.RowElems() + col_off.GetValue(r);
          for (int64_t sh = 0; sh < slot_rows; ++sh) {
            DataCopyPad(grad_input_[dst + sh * s_.RowElems()], terms[src + 2 * sh * geo_.cpad], pair);
          }
        }
        if (added) PipeBarrier<PIPE_V>();
      }
    }
    SetFlag<HardEvent::MTE3_V>(kTermsEvent);  // the terms are free once these DMAs are done
    if (window_ && use_acc) {
      WaitPipe<HardEvent::V_MTE3>();
      WindowAdd add{gacc, grad_input_[win.Corner(geo_, t)]};
      ForEachWindowDma(geo_, win, sizeof(float), true, add);
    }
    SetAtomicNone();
    if (window_ && use_acc) SetFlag<HardEvent::MTE3_V>(kAccEvent);
  }

  // Ring mode, S + MTE3, after the tile's ring update (Sampler::LoadRing): the accumulator rows
  // [acc_lo_, acc_hi_) of plane acc_plane_ that the ring no longer holds are final (a core only
  // walks down a plane, and a plane it leaves never comes back), so they are added into
  // grad_input, one atomic DMA per run of slots; ZeroFlushedRows zeroes them before this tile's
  // Adds, by when MTE3 has long read them (the Compute step runs in between). Rows the ring keeps
  // stay in their slots (row r in slot r % win_rows, for the input and the accumulator alike).
  __aicore__ inline void FlushDroppedRows(const Tile& t) {
    const Window& win = s_.Win();
    const int64_t plane = t.n * geo_.g + t.g0;
    const bool keep = !win.Empty() && plane == acc_plane_;
    const int64_t lo = win.Empty() ? 0 : win.r0, hi = win.Empty() ? 0 : win.r0 + win.nr;
    // what leaves: all of it, or the rows above and below the new [lo, hi)
    drop_first_[0] = acc_lo_;
    drop_count_[0] = keep ? Clip(lo - acc_lo_, acc_hi_ - acc_lo_) : acc_hi_ - acc_lo_;
    drop_first_[1] = hi > acc_lo_ ? hi : acc_lo_;
    drop_count_[1] = keep ? Clip(acc_hi_ - drop_first_[1], acc_hi_ - acc_lo_) : 0;
    if (drop_count_[0] > 0 || drop_count_[1] > 0) {
      WaitPipe<HardEvent::V_MTE3>();  // the previous tiles' Adds into these rows are done
      SetAtomicAdd<float>();
      for (int32_t i = 0; i < 2; ++i) FlushAccRows(acc_plane_, drop_first_[i], drop_count_[i]);
      SetAtomicNone();
      SetFlag<HardEvent::MTE3_V>(kAccEvent);
      zero_pending_ = true;
    }
    acc_plane_ = win.Empty() ? acc_plane_ : plane;
    acc_lo_ = lo;
    acc_hi_ = hi;
  }
  __aicore__ static inline int64_t Clip(int64_t x, int64_t hi) { return x < 0 ? 0 : (x > hi ? hi : x); }

  // MTE3, atomic add on: accumulator rows [first, first + count) of `plane` into grad_input, one
  // DMA per run of consecutive slots; a row in slot 0 also takes the ring's copy of slot 0 after
  // its last slot, where points whose first row is in the last slot added their second row.
  __aicore__ inline void FlushAccRows(int64_t plane, int64_t first, int64_t count) {
    const int64_t cap = geo_.win_rows, row = geo_.w * geo_.cpad, max_rows = dcnv3_ub::kMaxDmaBlocks / geo_.w;
    const uint64_t image = static_cast<uint64_t>(plane / geo_.g) * geo_.h;
    const uint64_t channel = static_cast<uint64_t>(plane % geo_.g) * geo_.c;
    LocalTensor<float> gacc = s_.F(L().gacc);
    while (count > 0) {
      const int64_t slot = first % cap;
      int64_t rows = cap - slot < count ? cap - slot : count;
      if (rows > max_rows) rows = max_rows;
      const uint64_t gm = (image + first) * s_.RowElems() + channel;
      DataCopyPad(grad_input_[gm], gacc[slot * row],
                  WindowDmaParams(rows * geo_.w, geo_.c, geo_.gc - geo_.c, geo_.cpad, sizeof(float), true));
      if (slot == 0)
        DataCopyPad(grad_input_[gm], gacc[cap * row],
                    WindowDmaParams(geo_.w, geo_.c, geo_.gc - geo_.c, geo_.cpad, sizeof(float), true));
      first += rows;
      count -= rows;
    }
  }

  // V, once MTE3 has read them: zeroes the slots FlushDroppedRows flushed (and the copy of slot 0).
  __aicore__ inline void ZeroFlushedRows() {
    const int64_t cap = geo_.win_rows, row = geo_.w * geo_.cpad;
    LocalTensor<float> gacc = s_.F(L().gacc);
    WaitFlag<HardEvent::MTE3_V>(kAccEvent);
    for (int32_t i = 0; i < 2; ++i) {
      for (int64_t r = drop_first_[i]; r < drop_first_[i] + drop_count_[i]; ++r) {
        const int64_t slot = r % cap;
        Duplicate(gacc[slot * row], 0.0f, static_cast<int32_t>(row));
        if (slot == 0) Duplicate(gacc[cap * row], 0.0f, static_cast<int32_t>(row));
      }
    }
    PipeBarrier<PIPE_V>();
    zero_pending_ = false;
  }

  // One window DMA of gacc, UB -> GM (atomic while SetAtomicAdd is on).
  struct WindowAdd {
    LocalTensor<float> ub;
    GlobalTensor<float> gm;
    __aicore__ inline void operator()(uint64_t gm_at, uint64_t ub_at, const DataCopyExtParams& p) {
      DataCopyPad(gm[gm_at], ub[ub_at], p);
    }
  };

  // One DMA each: a run of ngroups * P (* 2) values per position, the tile's position rows.
  __aicore__ inline void StoreGrads(const Tile& t, uint32_t out) {
    DataCopyPad(grad_offset_[s_.TileFirst(t, 2 * geo_.p)], s_.template At<T>(Out(L().goff_t, out)),
                s_.PositionRows(t, 2 * geo_.p, L().off_row, sizeof(T), true));
    DataCopyPad(grad_mask_[s_.TileFirst(t, geo_.p)], s_.template At<T>(Out(L().gmask_t, out)),
                s_.PositionRows(t, geo_.p, L().mask_row, sizeof(T), true));
  }

 private:
  TPipe pipe_;
  Geometry geo_;
  Sampler<T> s_;
  bool window_ = false;  // a window and its accumulator per tile (kFetchWindow)
  bool ring_ = false;    // the input ring and an accumulator ring of its geometry (kFetchRing)
  // ring mode: the accumulator rows [acc_lo_, acc_hi_) of plane acc_plane_ that may hold sums;
  // the runs FlushDroppedRows flushed, for ZeroFlushedRows
  int64_t acc_plane_ = -1, acc_lo_ = 0, acc_hi_ = 0;
  int64_t drop_first_[2] = {0, 0}, drop_count_[2] = {0, 0};
  bool zero_pending_ = false;
  GlobalTensor<T> grad_output_, grad_offset_, grad_mask_;
  GlobalTensor<float> grad_input_;
};

}  // namespace dcnv3_kernel

extern "C" __global__ __aicore__ void dcnv3_grad(GM_ADDR input, GM_ADDR offset, GM_ADDR mask, GM_ADDR grad_output,
                                                 GM_ADDR grad_input, GM_ADDR grad_offset, GM_ADDR grad_mask,
                                                 GM_ADDR workspace, GM_ADDR tiling) {
  KERNEL_TASK_TYPE_DEFAULT(KERNEL_TYPE_AIV_ONLY);
  (void)workspace;  // no user workspace: grad_input is the fp32 accumulator itself
  GET_TILING_DATA(tilingData, tiling);
  if (TILING_KEY_IS(DCNV3_TILING_KEY_FLOAT32)) {
    dcnv3_kernel::Backward<float> op;
    op.Init(tilingData, input, offset, mask, grad_output, grad_input, grad_offset, grad_mask);
    op.Process();
  } else if (TILING_KEY_IS(DCNV3_TILING_KEY_FLOAT16)) {
    dcnv3_kernel::Backward<half> op;
    op.Init(tilingData, input, offset, mask, grad_output, grad_input, grad_offset, grad_mask);
    op.Process();
  } else if (TILING_KEY_IS(DCNV3_TILING_KEY_BFLOAT16)) {
    dcnv3_kernel::Backward<bfloat16_t> op;
    op.Init(tilingData, input, offset, mask, grad_output, grad_input, grad_offset, grad_mask);
    op.Process();
  }
}
