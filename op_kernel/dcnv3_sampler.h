// The part of the DCNv3 forward and backward kernels that is the same in both: per tile, the
// sampling locations, bilinear slot weights and corner addresses vectorised over all its points, and
// the fetch of the corner data (the input window sized to the points' bounding box, Gatherb from it,
// pair DMAs for the points outside it).
//
// Slots instead of corners: each point's 2x2 neighbourhood is fetched from the clamped top-left
// pixel (h0c, w0c) = (clamp(h0, 0, H-2), clamp(w0, 0, W-2)), so every fetched address is inside
// the image and the fetch has no branches. Slot (sh, sw) holds pixel (h0c+sh, w0c+sw); its weight
// along w is hw if that pixel is w0, lw if it is w1 = w0+1, else 0 (likewise along h). With
// d = w0 - w0c in {-1, 0, 1}: aw0 = [d==0]hw + [d==-1]lw, aw1 = [d==0]lw + [d==1]hw; the
// derivative weights are bw0 = [d==-1] - [d==0], bw1 = [d==0] - [d==1]. Out-of-range corners thus
// get weight 0 exactly as the reference zeroes them, and the four slot weights replace the
// reference's per-corner range tests.
// A slot is "real" when its pixel is one of the reference's in-range corners (column 0: d in
// {-1, 0}; column 1: d in {0, 1}; none when W == 1 for column 1). The data of the other slots is
// never read from the image: Gatherb takes a zero row for them, the pair-DMA fallback zeroes them.
// Weight 0 alone would not do: 0 x Inf = NaN, and the reference never reads those pixels, so one
// Inf in the input would spread into outputs and gradients of points that do not sample it.
// Invalid samples (outside (-1, H) x (-1, W), NaN, Inf; every sample of an empty image) are moved to
// a sentinel location before any float->int conversion; the sentinel makes d = -4, so no slot is
// real and all slot weights vanish, and their mask is zeroed too.
#pragma once

#include "kernel_operator.h"
#include "dcnv3_tiles.h"
#include "dcnv3_ub_layout.h"
#include "dcnv3_window.h"

namespace dcnv3_kernel {

// Any location below -1 is invalid; -4 keeps the floor far from the {-1, 0, 1} window of d.
constexpr float kInvalidLocation = -4.0f;
// Bounding-box candidate of a point that does not count (invalid, or a lane past the tile): beyond
// any pixel index, and still an int64 after conversion.
constexpr float kNoPoint = 4.0e18f;
// BoundPoints keeps 4 rows (min h, min w, -max h, -max w), folded down to one 32-byte block each.
constexpr uint32_t kBoxRows = 4, kBoxLanes = 8;
// Per-point codes of acc_at (backward) besides a window offset >= 0.
constexpr int32_t kScatterByDma = -1, kScatterNothing = -2;

template <typename T>
class Sampler {
 public:
  static constexpr bool kF32 = sizeof(T) == 4;

  __aicore__ inline void Init(const Geometry& geo, TPipe* pipe, GM_ADDR input, GM_ADDR offset, GM_ADDR mask,
                              bool backward) {
    geo_ = geo;
    backward_ = backward;
    pg_cap_ = geo.tile_positions * geo.tile_groups;
    window_ = geo.fetch_mode == dcnv3_ub::kFetchWindow;
    l_ = dcnv3_ub::MakeUbLayout(sizeof(T), geo.p, geo.tile_positions, geo.tile_groups, geo.cpad, backward,
                                window_ ? geo.win_rows * geo.win_cols * geo.tile_groups : 0);
    input_.SetGlobalBuffer((__gm__ T*)input);
    offset_.SetGlobalBuffer((__gm__ T*)offset);
    mask_.SetGlobalBuffer((__gm__ T*)mask);
    pipe->InitBuffer(ub_, l_.total);
    npc_ = l_.npc;
    // Zero everything once: lanes past a short tile and padding channels then hold finite values.
    Duplicate(ub_.Get<float>(), 0.0f, static_cast<int32_t>(l_.total / 4));
    Duplicate(F(l_.ones), 1.0f, npc_);
    Duplicate(F(l_.ones)[npc_], -1.0f, npc_);
    WaitPipe<HardEvent::V_S>();
    BuildPointTables();
    WaitPipe<HardEvent::S_V>();
  }

  __aicore__ inline const dcnv3_ub::UbLayout& Layout() const { return l_; }
  // Byte offset of output buffer `out`'s copy of a doubled buffer (Layout().out_stride apart).
  __aicore__ inline uint32_t Out(uint32_t offset, uint32_t out) const { return offset + out * l_.out_stride; }
  __aicore__ inline int32_t Npc() const { return npc_; }
  __aicore__ inline int64_t PgCap() const { return pg_cap_; }
  // The current tile's input window (window mode, after Sample).
  __aicore__ inline const Window& Win() const { return win_; }

  template <typename U>
  __aicore__ inline LocalTensor<U> At(uint32_t byte_offset) {
    return ub_.GetWithOffset<U>((l_.total - byte_offset) / sizeof(U), byte_offset);
  }
  __aicore__ inline LocalTensor<float> F(uint32_t byte_offset) { return At<float>(byte_offset); }
  __aicore__ inline LocalTensor<int32_t> I(uint32_t byte_offset) { return At<int32_t>(byte_offset); }

  // DataCopyPad parameters for a tile's per-position runs of `elems_per_group` elements per group
  // (offsets, masks and their gradients): one block per position, G groups apart in GM, one
  // `row_elems` row apart in UB. DataCopyPad counts UB gaps in 32-byte blocks and GM gaps in bytes;
  // srcStride is the source side's gap.
  __aicore__ inline DataCopyExtParams PositionRows(const Tile& t, int64_t elems_per_group, uint32_t row_elems,
                                                   uint32_t elem_bytes, bool ub_to_gm) const {
    const uint32_t bytes = static_cast<uint32_t>(t.ngroups * elems_per_group * elem_bytes);
    const uint32_t gm_gap = static_cast<uint32_t>((geo_.g - t.ngroups) * elems_per_group * elem_bytes);
    const uint32_t ub_gap = (row_elems * elem_bytes - dcnv3_ub::AlignUp(bytes, dcnv3_ub::kUbBlock)) / dcnv3_ub::kUbBlock;
    const uint16_t blocks = static_cast<uint16_t>(t.npos);
    return ub_to_gm ? DataCopyExtParams{blocks, bytes, ub_gap, gm_gap, 0} : DataCopyExtParams{blocks, bytes, gm_gap, ub_gap, 0};
  }

  // First GM element of the tile in a tensor with `elems_per_group` elements per (position, group).
  __aicore__ inline uint64_t TileFirst(const Tile& t, int64_t elems_per_group) const {
    return (static_cast<uint64_t>(t.pos) * geo_.g + t.g0) * elems_per_group;
  }

  // After the tile's offsets and mask arrived: its corner data in data_t. Locations, weights and
  // (window mode) the points' bounding box on V; the scalar unit places the window on that box,
  // MTE2 loads it while V works out which points it serves, Gatherb copies theirs; then pair DMAs
  // for the rest. The caller waits MTE2_V before using data_t.
  __aicore__ inline void Sample(const Tile& t) {
    Locate(t);
    if (window_) {
      WaitPipe<HardEvent::V_S>();
      LoadWindow(t);
      PlaceInWindow();
      WaitPipe<HardEvent::MTE2_V>();
      GatherWindow();
    }
    WaitPipe<HardEvent::V_S>();
    FetchCorners(t);
  }

  // GM -> UB: the tile's offsets and mask, one row per position.
  __aicore__ inline void LoadOffsetMask(const Tile& t) {
    DataCopyPadExtParams<T> nopad{false, 0, 0, static_cast<T>(0.0f)};
    DataCopyPad(At<T>(l_.off_in), offset_[TileFirst(t, 2 * geo_.p)],
                PositionRows(t, 2 * geo_.p, l_.off_row, sizeof(T), false), nopad);
    DataCopyPad(At<T>(l_.mask_in), mask_[TileFirst(t, geo_.p)], PositionRows(t, geo_.p, l_.mask_row, sizeof(T), false),
                nopad);
  }

  // Rows of group_channels per pixel-group (output, grad_output) between GM and the tile layout
  // [pg][c_pad]. One DMA per tile when a group's channels fill whole 32-byte blocks (a strided run
  // per position), else one per position (each group's row padded in UB).
  __aicore__ inline void LoadChannelRows(const Tile& t, const GlobalTensor<T>& gm, const LocalTensor<T>& ub) {
    DataCopyPadExtParams<T> pad{true, 0, static_cast<uint8_t>(geo_.cpad - geo_.c), static_cast<T>(0.0f)};
    if (geo_.c == geo_.cpad) {
      DataCopyPad(ub, gm[TileFirst(t, geo_.c)], PositionRows(t, geo_.c, geo_.tile_groups * geo_.cpad, sizeof(T), false),
                  pad);
      return;
    }
    const DataCopyExtParams rows{static_cast<uint16_t>(t.ngroups), static_cast<uint32_t>(geo_.c * sizeof(T)), 0, 0, 0};
    for (int64_t pos = 0; pos < t.npos; ++pos)
      DataCopyPad(ub[pos * geo_.tile_groups * geo_.cpad], gm[TileFirst(t, geo_.c) + pos * geo_.gc], rows, pad);
  }
  __aicore__ inline void StoreChannelRows(const Tile& t, const GlobalTensor<T>& gm, const LocalTensor<T>& ub) {
    if (geo_.c == geo_.cpad) {
      DataCopyPad(gm[TileFirst(t, geo_.c)], ub, PositionRows(t, geo_.c, geo_.tile_groups * geo_.cpad, sizeof(T), true));
      return;
    }
    const DataCopyExtParams rows{static_cast<uint16_t>(t.ngroups), static_cast<uint32_t>(geo_.c * sizeof(T)), 0, 0, 0};
    for (int64_t pos = 0; pos < t.npos; ++pos)
      DataCopyPad(gm[TileFirst(t, geo_.c) + pos * geo_.gc], ub[pos * geo_.tile_groups * geo_.cpad], rows);
  }

  // NHWC addressing of the input (and of the fp32 grad_input): the tile's image and first group (a
  // point adds its clamped row x RowElems() and col_off).
  __aicore__ inline uint64_t TileBase(const Tile& t) const {
    return static_cast<uint64_t>(t.n) * geo_.h * RowElems() + t.g0 * geo_.c;
  }
  __aicore__ inline uint64_t RowElems() const { return static_cast<uint64_t>(geo_.w) * geo_.gc; }
  // Clamped top-left pixel of point r (valid after Locate; the scalar unit may read it after the
  // V_S wait in Sample).
  __aicore__ inline int32_t RowIdx(int64_t r) { return I(l_.row_idx).GetValue(r); }
  __aicore__ inline int32_t ColIdx(int64_t r) { return I(l_.col_idx).GetValue(r); }

  // data_f = fp32 corner data (a no-op alias for fp32 inputs).
  __aicore__ inline void CornerDataToFloat() {
    if constexpr (!kF32) {
      Cast(F(l_.data_f), At<T>(l_.data_t), RoundMode::CAST_NONE, l_.elems);
      PipeBarrier<PIPE_V>();
    }
  }

  // Broadcasts the weights wts[k][r] of slots [k0, k0 + slots) over the channels of their corner
  // rows: dst row (k - k0) * slot_rows + r * point_rows gets wts[k][r] in all cpad channels. The
  // forward weights one slot at a time (slot_rows ss, point_rows 1); the backward lays a point's 4
  // slots side by side (slot_rows 1, point_rows 4) so its scatter is one DMA. One Brcb pass per
  // 32-byte block of a row.
  __aicore__ inline void BroadcastWeights(const LocalTensor<float>& dst, int64_t k0, int64_t slots, uint32_t slot_rows,
                                          uint32_t point_rows) {
    LocalTensor<float> wts = F(l_.wts);
    const uint16_t row_blocks = static_cast<uint16_t>(geo_.cpad * sizeof(float) / dcnv3_ub::kUbBlock);
    const uint16_t point_blocks = static_cast<uint16_t>(point_rows * row_blocks);
    constexpr uint32_t kRowsPerRepeat = 8, kMaxRepeat = 255;
    for (int64_t k = 0; k < slots; ++k) {
      for (uint32_t first = 0; first < l_.ss; first += kRowsPerRepeat * kMaxRepeat) {
        const uint32_t left = (l_.ss - first) / kRowsPerRepeat;
        const uint8_t repeats = static_cast<uint8_t>(left < kMaxRepeat ? left : kMaxRepeat);
        const int64_t row = k * slot_rows + first * point_rows;
        for (uint16_t b = 0; b < row_blocks; ++b) {
          Brcb(dst[row * geo_.cpad + b * 8], wts[(k0 + k) * npc_ + first], repeats,
               BrcbRepeatParams(point_blocks, static_cast<uint16_t>(kRowsPerRepeat * point_blocks)));
        }
      }
    }
    PipeBarrier<PIPE_V>();
  }

  // Element offset of corner row (slot k, point p, pixel-group pg) in the corner-data buffers.
  __aicore__ inline int64_t RowOffset(int64_t k, int64_t p) const {
    return (k * l_.ss + p * pg_cap_) * geo_.cpad;
  }

 private:
  // Vector: sampling locations, validity, slot weights (times mask into `wts`), real slots and
  // corner addresses of every point of the tile.
  __aicore__ inline void Locate(const Tile& t) {
    const int32_t n = npc_;
    if constexpr (!kF32) {
      Cast(F(l_.off_f), At<T>(l_.off_in), RoundMode::CAST_NONE, geo_.tile_positions * l_.off_row);
      Cast(F(l_.mask_f), At<T>(l_.mask_in), RoundMode::CAST_NONE, geo_.tile_positions * l_.mask_row);
      PipeBarrier<PIPE_V>();
    }
    LocalTensor<float> locw = F(l_.loc_w), loch = F(l_.loc_h), m = F(l_.m);
    LocalTensor<uint32_t> tab_off = At<uint32_t>(l_.tab_off);
    Gather(locw, F(l_.off_f), tab_off, 0u, static_cast<uint32_t>(n));
    Gather(loch, F(l_.off_f), tab_off, static_cast<uint32_t>(sizeof(float)), static_cast<uint32_t>(n));
    Gather(m, F(l_.mask_f), At<uint32_t>(l_.tab_mask), 0u, static_cast<uint32_t>(n));
    PipeBarrier<PIPE_V>();
    const float base_w = BaseW(t), base_h = BaseH(t);
    Add(locw, locw, F(l_.tab_kw), n);
    Add(loch, loch, F(l_.tab_kh), n);
    PipeBarrier<PIPE_V>();
    Muls(locw, locw, geo_.scale, n);
    Muls(loch, loch, geo_.scale, n);
    PipeBarrier<PIPE_V>();
    Add(locw, locw, F(l_.tab_wo), n);
    Adds(loch, loch, base_h, n);
    PipeBarrier<PIPE_V>();
    Adds(locw, locw, base_w, n);
    PipeBarrier<PIPE_V>();
    // valid = loc_h > -1 && loc_w > -1 && loc_h < H && loc_w < W (false for NaN). An empty image
    // (H or W 0, possible with padding) has no pixel to sample: an upper bound of -1 invalidates
    // every point, so nothing is read from the input and the results are zeros.
    const bool empty = geo_.h == 0 || geo_.w == 0;
    LocalTensor<uint8_t> valid = Cmp(0);
    CompareScalar(valid, locw, -1.0f, CMPMODE::GT, static_cast<uint32_t>(n));
    AndCompare(valid, locw, empty ? -1.0f : static_cast<float>(geo_.w), CMPMODE::LT);
    AndCompare(valid, loch, -1.0f, CMPMODE::GT);
    AndCompare(valid, loch, empty ? -1.0f : static_cast<float>(geo_.h), CMPMODE::LT);
    Select(locw, valid, locw, kInvalidLocation, SELMODE::VSEL_TENSOR_SCALAR_MODE, static_cast<uint32_t>(n));
    Select(loch, valid, loch, kInvalidLocation, SELMODE::VSEL_TENSOR_SCALAR_MODE, static_cast<uint32_t>(n));
    Select(m, valid, m, 0.0f, SELMODE::VSEL_TENSOR_SCALAR_MODE, static_cast<uint32_t>(n));
    PipeBarrier<PIPE_V>();
    LocalTensor<int32_t> col = I(l_.col_off);
    if (backward_) {  // acc_at: scatter grad_input by DMA, or not at all (window mode refines it)
      Select(F(l_.tmp), valid, F(l_.ones)[n], static_cast<float>(kScatterNothing), SELMODE::VSEL_TENSOR_SCALAR_MODE,
             static_cast<uint32_t>(n));
      PipeBarrier<PIPE_V>();
      Cast(I(l_.acc_at), F(l_.tmp), RoundMode::CAST_RINT, static_cast<uint32_t>(n));
      PipeBarrier<PIPE_V>();
    }
    Axis(locw, geo_.w, F(l_.frac_w), F(l_.aw), F(l_.bw), F(l_.clamp_w), I(l_.col_idx), 0);
    Axis(loch, geo_.h, F(l_.frac_h), F(l_.ah), F(l_.bh), F(l_.clamp_h), I(l_.row_idx), 2);
    MarkUnrealSlots();
    // col_off = w0c * G * C + g * C (int32: the plan checks W * G * C < 2^31)
    Muls(col, I(l_.col_idx), static_cast<int32_t>(geo_.gc), n);
    PipeBarrier<PIPE_V>();
    Add(col, col, I(l_.tab_gcol), n);
    // wts[sh * 2 + sw] = ah[sh] * aw[sw] * m
    LocalTensor<float> ah = F(l_.ah), aw = F(l_.aw), wts = F(l_.wts), tmp = F(l_.tmp);
    Mul(tmp, ah, m, n);
    Mul(F(l_.frac_w), ah[n], m, n);  // frac_w is free once the weights exist
    PipeBarrier<PIPE_V>();
    Mul(wts, tmp, aw, n);
    Mul(wts[n], tmp, aw[n], n);
    Mul(wts[2 * n], F(l_.frac_w), aw, n);
    Mul(wts[3 * n], F(l_.frac_w), aw[n], n);
    PipeBarrier<PIPE_V>();
    if (window_) {
      BoundPoints(t, valid);
    } else {
      Adds(I(l_.fetch_row), I(l_.row_idx), 0, n);
      PipeBarrier<PIPE_V>();
    }
  }

  // Window mode, V: the bounding box of the clamped top-left pixels of the tile's valid points, as
  // the minima of the 4 rows of `box` (h, w, -h, -w) folded into their first kBoxLanes lanes. Lanes
  // past the tile's positions or groups hold stale offsets and do not count; lanes past np repeat
  // point 0 (their tables are zero), which counts anyway.
  __aicore__ inline void BoundPoints(const Tile& t, const LocalTensor<uint8_t>& counted) {
    const int32_t n = npc_;
    AndCompare(counted, F(l_.tab_wo), static_cast<float>((t.npos - 1) * geo_.stride_w), CMPMODE::LE);
    AndCompare(counted, F(l_.tab_grel), static_cast<float>(t.ngroups - 1), CMPMODE::LE);
    LocalTensor<float> box = F(l_.box);
    const uint32_t count = static_cast<uint32_t>(n);
    Select(box, counted, F(l_.clamp_h), kNoPoint, SELMODE::VSEL_TENSOR_SCALAR_MODE, count);
    Select(box[n], counted, F(l_.clamp_w), kNoPoint, SELMODE::VSEL_TENSOR_SCALAR_MODE, count);
    Select(box[2 * n], counted, F(l_.clamp_h), -kNoPoint, SELMODE::VSEL_TENSOR_SCALAR_MODE, count);
    Select(box[3 * n], counted, F(l_.clamp_w), -kNoPoint, SELMODE::VSEL_TENSOR_SCALAR_MODE, count);
    PipeBarrier<PIPE_V>();
    Muls(box[2 * n], box[2 * n], -1.0f, 2 * n);
    PipeBarrier<PIPE_V>();
    // One repeat per row (rows npc / 8 blocks apart): every 64-lane chunk onto the first, then
    // halves down to one 32-byte block.
    constexpr uint32_t kLanes = 64;
    const uint8_t row_blocks = static_cast<uint8_t>(n * sizeof(float) / dcnv3_ub::kUbBlock);
    const BinaryRepeatParams rows(1, 1, 1, row_blocks, row_blocks, row_blocks);
    for (int32_t at = kLanes; at < n; at += kLanes) {
      AscendC::Min(box, box, box[at], kLanes, kBoxRows, rows);
      PipeBarrier<PIPE_V>();
    }
    for (uint32_t half = kLanes / 2; half >= kBoxLanes; half /= 2) {
      AscendC::Min(box, box, box[half], half, kBoxRows, rows);
      PipeBarrier<PIPE_V>();
    }
  }

  // Scalar, after BoundPoints: the minimum of row `row` of `box`, a pixel index or +-kNoPoint.
  __aicore__ inline int64_t BoxMin(int32_t row) {
    LocalTensor<float> box = F(l_.box);
    float m = box.GetValue(row * npc_);
    for (int32_t e = 1; e < static_cast<int32_t>(kBoxLanes); ++e) m = Min(m, box.GetValue(row * npc_ + e));
    return static_cast<int64_t>(m);
  }

  // One axis of the window: the points' pixels [lo, hi] when they fit the capacity `cap`, else
  // their part of the cap-long window centred on the nominal area [nom_lo, nom_hi] (the points it
  // misses are DMA'd). No point (lo > hi) gives an empty window.
  __aicore__ static inline void Place(int64_t lo, int64_t hi, int64_t nom_lo, int64_t nom_hi, int64_t cap,
                                      int64_t size, int64_t* first, int64_t* len) {
    if (hi - lo + 1 > cap) {
      const int64_t c0 = Centre(nom_lo, nom_hi, cap, size);
      if (lo < c0) lo = c0;
      if (hi > c0 + cap - 1) hi = c0 + cap - 1;
    }
    *first = hi >= lo ? lo : 0;
    *len = hi >= lo ? hi - lo + 1 : 0;
  }

  // Window mode, S + MTE2: the tile's input window, [rows][cols][groups][c_pad], placed on the
  // points' bounding box (BoundPoints) within the capacity, loaded by ForEachWindowDma (one DMA, or
  // one per window row); none when no point is valid.
  __aicore__ inline void LoadWindow(const Tile& t) {
    const float ext_h = static_cast<float>((geo_.kernel_h - 1) * geo_.dil_h) * geo_.scale;
    const float ext_w = static_cast<float>((geo_.kernel_w - 1) * geo_.dil_w) * geo_.scale;
    const float base_h = BaseH(t), base_w = BaseW(t);
    const float last_w = base_w + static_cast<float>((t.npos - 1) * geo_.stride_w);
    // the tile's columns, within capacity; all of them when the plan reserved whole image rows
    int64_t cap_cols = geo_.win_cols_base + (t.npos - 1) * geo_.stride_w;
    if (cap_cols > geo_.win_cols || geo_.win_cols == geo_.w) cap_cols = geo_.win_cols;
    const int64_t step_h = geo_.h >= 2 ? 1 : 0, step_w = geo_.w >= 2 ? 1 : 0;
    win_.ng = t.ngroups;
    Place(BoxMin(0), step_h - BoxMin(2), FloorToInt(Min(base_h, base_h + ext_h)),
          FloorToInt(Max(base_h, base_h + ext_h)) + 1, geo_.win_rows, geo_.h, &win_.r0, &win_.nr);
    Place(BoxMin(1), step_w - BoxMin(3), FloorToInt(Min(base_w, base_w + ext_w)),
          FloorToInt(Max(last_w, last_w + ext_w)) + 1, cap_cols, geo_.w, &win_.c0, &win_.nc);
    if (win_.Empty()) return;
    // When the window would take one DMA per row, rows as wide as the image follow each other in
    // GM: a capacity that spans the image width is used whole, one run of pixels, one DMA.
    const bool one_dma = geo_.c == geo_.cpad && win_.ng == geo_.g;
    if (!one_dma && cap_cols == geo_.w && win_.nr * geo_.w * win_.ng <= dcnv3_ub::kMaxDmaBlocks) {
      win_.c0 = 0;
      win_.nc = geo_.w;
    }
    WindowLoad load{At<T>(l_.win), input_[win_.Corner(geo_, t)],
                    DataCopyPadExtParams<T>{true, 0, static_cast<uint8_t>(geo_.cpad - geo_.c), static_cast<T>(0.0f)}};
    ForEachWindowDma(geo_, win_, sizeof(T), false, load);
  }

  // One window DMA, GM -> UB, padding each group's channels to c_pad.
  struct WindowLoad {
    LocalTensor<T> ub;
    GlobalTensor<T> gm;
    DataCopyPadExtParams<T> pad;
    __aicore__ inline void operator()(uint64_t gm_at, uint64_t ub_at, const DataCopyExtParams& p) {
      DataCopyPad(ub[ub_at], gm[gm_at], p, pad);
    }
  };

  // Window mode, V: Gatherb copies every point's 4 slot rows out of the window (32-byte blocks;
  // one pass per block of a row). Points outside the window gather a harmless block and are
  // overwritten by FetchCorners.
  __aicore__ inline void GatherWindow() {
    const uint32_t row_blocks = static_cast<uint32_t>(geo_.cpad * sizeof(T) / dcnv3_ub::kUbBlock);
    constexpr uint32_t kBlocksPerRepeat = 8, kMaxRepeat = 255, kWordsPerBlock = 8;
    LocalTensor<uint32_t> dst = At<uint32_t>(l_.data_t), win = At<uint32_t>(l_.win), off = At<uint32_t>(l_.win_off);
    const GatherRepeatParams strides(static_cast<uint8_t>(row_blocks), static_cast<uint8_t>(kBlocksPerRepeat * row_blocks));
    for (int64_t k = 0; k < dcnv3_ub::kSlots; ++k) {
      for (uint32_t first = 0; first < l_.ss; first += kBlocksPerRepeat * kMaxRepeat) {
        const uint32_t left = (l_.ss - first) / kBlocksPerRepeat;
        const uint8_t repeats = static_cast<uint8_t>(left < kMaxRepeat ? left : kMaxRepeat);
        const uint32_t row = static_cast<uint32_t>(k * l_.ss + first);
        for (uint32_t b = 0; b < row_blocks; ++b) {
          Gatherb(dst[(row * row_blocks + b) * kWordsPerBlock], win[b * kWordsPerBlock], off[k * npc_ + first], repeats,
                  strides);
        }
      }
    }
    PipeBarrier<PIPE_V>();
  }

  // DataCopyPad parameters fetching `pixels` (1 or 2) x-neighbours of one slot row: pixel w0c then
  // w0c + 1 of the point's group (group_channels elements each, G * C apart in GM), one slot
  // (ss * cpad elements) apart in UB. DataCopyPad counts the GM gap in bytes and the UB gap in
  // 32-byte blocks.
  __aicore__ inline DataCopyExtParams RowParams(uint16_t pixels) const {
    const uint32_t bytes = static_cast<uint32_t>(geo_.c * sizeof(T));
    const uint32_t slot_bytes = static_cast<uint32_t>(l_.ss * geo_.cpad * sizeof(T));
    const uint32_t ub_gap = (slot_bytes - dcnv3_ub::AlignUp(bytes, dcnv3_ub::kUbBlock)) / dcnv3_ub::kUbBlock;
    const uint32_t gm_gap = static_cast<uint32_t>((geo_.gc - geo_.c) * sizeof(T));
    return DataCopyExtParams{pixels, bytes, gm_gap, ub_gap, 0};
  }

  // S + MTE2: the 4 corner slots of every point that is not served by the window (all points in
  // pair mode): per slot row one DMA of the x-neighbour pair of the point's group, so 2 DMAs per
  // point. Slots that are not real corners (unreal bits; at image borders, W or H == 1, invalid
  // points) are zeroed by the vector unit instead, and a row with one real slot fetches that pixel
  // alone. Scalar work per point: read one int32 (-1: skip); per fetched point one more and a
  // 64-bit multiply-add, and the unreal bits.
  __aicore__ inline void FetchCorners(const Tile& t) {
    const DataCopyExtParams pair = RowParams(2), single = RowParams(1);
    const DataCopyPadExtParams<T> pad{true, 0, static_cast<uint8_t>(geo_.cpad - geo_.c), static_cast<T>(0.0f)};
    const uint64_t base = TileBase(t);
    LocalTensor<T> data = At<T>(l_.data_t);
    LocalTensor<uint16_t> words = At<uint16_t>(l_.data_t);
    const int32_t row_words = static_cast<int32_t>(geo_.cpad * sizeof(T) / sizeof(uint16_t));
    LocalTensor<int32_t> fetch_row = I(l_.fetch_row), cols = I(l_.col_off), unreal = I(l_.unreal);
    const int64_t slot = l_.ss * geo_.cpad;
    PipeBarrier<PIPE_V>();  // the zeroing below follows GatherWindow's writes to the same rows
    for (int64_t p = 0; p < geo_.p; ++p) {
      for (int64_t pos = 0; pos < t.npos; ++pos) {
        for (int64_t g = 0; g < t.ngroups; ++g) {
          const int64_t r = p * pg_cap_ + pos * geo_.tile_groups + g;
          const int32_t row = fetch_row.GetValue(r);
          if (row < 0) continue;
          const int32_t bits = unreal.GetValue(r);
          const uint64_t src = base + static_cast<uint64_t>(row) * RowElems() + cols.GetValue(r);
          for (int64_t sh = 0; sh < 2; ++sh) {
            const int64_t dst = r * geo_.cpad + 2 * sh * slot;
            const uint64_t at = src + sh * RowElems();  // read only when the row holds a real slot
            const bool left = ((bits >> (2 * sh)) & 1) == 0, right = ((bits >> (2 * sh + 1)) & 1) == 0;
            if (left && right) {
              DataCopyPad(data[dst], input_[at], pair, pad);
              continue;
            }
            if (left) DataCopyPad(data[dst], input_[at], single, pad);
            else Duplicate(words[dst * sizeof(T) / sizeof(uint16_t)], static_cast<uint16_t>(0), row_words);
            if (right) DataCopyPad(data[dst + slot], input_[at + geo_.gc], single, pad);
            else Duplicate(words[(dst + slot) * sizeof(T) / sizeof(uint16_t)], static_cast<uint16_t>(0), row_words);
          }
        }
      }
    }
  }

  // loc = p0 - half * scale + (tap * dilation + offset) * scale, as the reference orders it; these
  // are the first two terms for the tile's first position.
  __aicore__ inline float BaseH(const Tile& t) const {
    const int64_t half = (geo_.dil_h * (geo_.kernel_h - 1)) >> 1;
    return static_cast<float>(half - geo_.pad_h + t.ho * geo_.stride_h) - half * geo_.scale;
  }
  __aicore__ inline float BaseW(const Tile& t) const {
    const int64_t half = (geo_.dil_w * (geo_.kernel_w - 1)) >> 1;
    return static_cast<float>(half - geo_.pad_w + t.wo * geo_.stride_w) - half * geo_.scale;
  }
  __aicore__ static inline float Min(float a, float b) { return a < b ? a : b; }
  __aicore__ static inline float Max(float a, float b) { return a > b ? a : b; }
  __aicore__ static inline int64_t FloorToInt(float x) {
    const int64_t i = static_cast<int64_t>(x);
    return static_cast<float>(i) > x ? i - 1 : i;
  }
  // First index of a `len`-long window centred on [lo, hi], kept inside [0, size).
  __aicore__ static inline int64_t Centre(int64_t lo, int64_t hi, int64_t len, int64_t size) {
    int64_t first = lo - (len - (hi - lo + 1)) / 2;
    if (first > size - len) first = size - len;
    return first < 0 ? 0 : first;
  }

  // mask &= (src <cmp> scalar)
  __aicore__ inline void AndCompare(const LocalTensor<uint8_t>& mask, const LocalTensor<float>& src, float scalar,
                                    CMPMODE cmp) {
    LocalTensor<uint8_t> scratch = Cmp(1);
    CompareScalar(scratch, src, scalar, cmp, static_cast<uint32_t>(npc_));
    PipeBarrier<PIPE_V>();
    And(mask.ReinterpretCast<uint16_t>(), mask.ReinterpretCast<uint16_t>(), scratch.ReinterpretCast<uint16_t>(),
        static_cast<int32_t>(npc_ / 16));
    PipeBarrier<PIPE_V>();
  }

  // Window mode, V: a point is served by the window when its clamped 2x2 neighbourhood lies inside;
  // invalid samples too (no slot of theirs is real). Sets win_off (byte offset in the window of
  // each slot row; the zero row after the window for slots that are not real corners), fetch_row
  // (-1 for window points, else the DMA's top row) and, backward, acc_at (element offset of the
  // point's slot (0, 0) in the window for the valid points it serves).
  __aicore__ inline void PlaceInWindow() {
    const int32_t n = npc_;
    const int64_t step_h = geo_.h >= 2 ? 1 : 0, step_w = geo_.w >= 2 ? 1 : 0;
    LocalTensor<float> ch = F(l_.clamp_h), cw = F(l_.clamp_w), base = F(l_.tmp), scratch = F(l_.frac_w);
    LocalTensor<uint8_t> inside = Cmp(2), invalid = Cmp(3);
    CompareScalar(inside, ch, static_cast<float>(win_.r0), CMPMODE::GE, static_cast<uint32_t>(n));
    AndCompare(inside, ch, static_cast<float>(win_.r0 + win_.nr - 1 - step_h), CMPMODE::LE);
    AndCompare(inside, cw, static_cast<float>(win_.c0), CMPMODE::GE);
    AndCompare(inside, cw, static_cast<float>(win_.c0 + win_.nc - 1 - step_w), CMPMODE::LE);
    // window row of slot (0, 0): ((h - r0) * cols + (w - c0)) * groups + g, in fp32 (exact: < 2^24);
    // row 0 for points outside (they are DMA'd, or have no real slot)
    Adds(base, ch, static_cast<float>(-win_.r0), n);
    Adds(scratch, cw, static_cast<float>(-win_.c0), n);
    PipeBarrier<PIPE_V>();
    Muls(base, base, static_cast<float>(win_.nc * win_.ng), n);
    Muls(scratch, scratch, static_cast<float>(win_.ng), n);
    PipeBarrier<PIPE_V>();
    Add(base, base, scratch, n);
    PipeBarrier<PIPE_V>();
    Add(base, base, F(l_.tab_grel), n);
    PipeBarrier<PIPE_V>();
    Select(base, inside, base, 0.0f, SELMODE::VSEL_TENSOR_SCALAR_MODE, static_cast<uint32_t>(n));
    PipeBarrier<PIPE_V>();
    if (backward_) {
      Muls(scratch, base, static_cast<float>(geo_.cpad), n);
      PipeBarrier<PIPE_V>();
      Select(scratch, inside, scratch, F(l_.ones)[n], SELMODE::VSEL_TENSOR_TENSOR_MODE, static_cast<uint32_t>(n));
      PipeBarrier<PIPE_V>();
      Select(scratch, Cmp(0), scratch, static_cast<float>(kScatterNothing), SELMODE::VSEL_TENSOR_SCALAR_MODE,
             static_cast<uint32_t>(n));
      PipeBarrier<PIPE_V>();
      Cast(I(l_.acc_at), scratch, RoundMode::CAST_RINT, static_cast<uint32_t>(n));
      PipeBarrier<PIPE_V>();
    }
    CompareScalar(invalid, F(l_.loc_w), kInvalidLocation, CMPMODE::EQ, static_cast<uint32_t>(n));
    PipeBarrier<PIPE_V>();
    Or(inside.ReinterpretCast<uint16_t>(), inside.ReinterpretCast<uint16_t>(), invalid.ReinterpretCast<uint16_t>(),
       static_cast<int32_t>(n / 16));
    PipeBarrier<PIPE_V>();
    Select(scratch, inside, F(l_.ones)[n], ch, SELMODE::VSEL_TENSOR_TENSOR_MODE, static_cast<uint32_t>(n));
    PipeBarrier<PIPE_V>();
    Cast(I(l_.fetch_row), scratch, RoundMode::CAST_RINT, static_cast<uint32_t>(n));
    const float row_bytes = static_cast<float>(geo_.cpad * sizeof(T));
    LocalTensor<int32_t> off = I(l_.win_off);
    LocalTensor<uint8_t> real = Cmp(3);
    for (int64_t k = 0; k < dcnv3_ub::kSlots; ++k) {
      const int64_t slot_rows = ((k / 2) * step_h * win_.nc + (k % 2) * step_w) * win_.ng;
      Adds(scratch, base, static_cast<float>(slot_rows), n);
      RealSlot(real, k);
      PipeBarrier<PIPE_V>();
      Muls(scratch, scratch, row_bytes, n);
      PipeBarrier<PIPE_V>();
      Select(scratch, real, scratch, static_cast<float>(l_.win_zero), SELMODE::VSEL_TENSOR_SCALAR_MODE,
             static_cast<uint32_t>(n));
      PipeBarrier<PIPE_V>();
      Cast(off[k * n], scratch, RoundMode::CAST_RINT, static_cast<uint32_t>(n));
      PipeBarrier<PIPE_V>();
    }
  }

  __aicore__ inline LocalTensor<uint8_t> Cmp(uint32_t i) {
    return At<uint8_t>(l_.cmp + i * dcnv3_ub::AlignUp(npc_ / 8, 256));
  }

  // Floor, fraction, clamped top-left slot pixel (fp32 and int32), slot weights and which of the
  // two slots hold a real corner (bitmasks Real(real0), Real(real0 + 1)) along one axis of extent
  // `size`.
  __aicore__ inline void Axis(const LocalTensor<float>& loc, int64_t size, const LocalTensor<float>& frac,
                              const LocalTensor<float>& a, const LocalTensor<float>& b,
                              const LocalTensor<float>& clamped, const LocalTensor<int32_t>& index, uint32_t real0) {
    const int32_t n = npc_;
    LocalTensor<int32_t> fl = I(l_.floor_i);
    LocalTensor<float> flf = F(l_.tmp), d = F(l_.diff);
    Cast(fl, loc, RoundMode::CAST_FLOOR, static_cast<uint32_t>(n));  // loc is in (-1, size) or the sentinel
    PipeBarrier<PIPE_V>();
    Cast(flf, fl, RoundMode::CAST_NONE, static_cast<uint32_t>(n));
    PipeBarrier<PIPE_V>();
    Sub(frac, loc, flf, n);                                   // l = loc - floor
    Mins(clamped, flf, static_cast<float>(size - 2), n);      // clamp(floor, 0, size - 2); size 1 gives 0
    PipeBarrier<PIPE_V>();
    Maxs(clamped, clamped, 0.0f, n);
    PipeBarrier<PIPE_V>();
    Cast(index, clamped, RoundMode::CAST_RINT, static_cast<uint32_t>(n));
    Sub(d, flf, clamped, n);                                  // d = floor - clamped floor
    PipeBarrier<PIPE_V>();
    LocalTensor<uint8_t> eq0 = Cmp(1), eqm1 = Cmp(2), eq1 = Cmp(3);
    CompareScalar(eq0, d, 0.0f, CMPMODE::EQ, static_cast<uint32_t>(n));
    CompareScalar(eqm1, d, -1.0f, CMPMODE::EQ, static_cast<uint32_t>(n));
    CompareScalar(eq1, d, 1.0f, CMPMODE::EQ, static_cast<uint32_t>(n));
    // hi = 1 - l, into flf (free now)
    Muls(flf, frac, -1.0f, n);
    PipeBarrier<PIPE_V>();
    Adds(flf, flf, 1.0f, n);
    PipeBarrier<PIPE_V>();
    // slot 0 is real for d in {-1, 0}, slot 1 for d in {0, 1}
    const int32_t words = n / 16;
    LocalTensor<uint8_t> real_lo = Real(real0), real_hi = Real(real0 + 1);
    Or(real_lo.ReinterpretCast<uint16_t>(), eqm1.ReinterpretCast<uint16_t>(), eq0.ReinterpretCast<uint16_t>(), words);
    Or(real_hi.ReinterpretCast<uint16_t>(), eq1.ReinterpretCast<uint16_t>(), eq0.ReinterpretCast<uint16_t>(), words);
    LocalTensor<float> a0 = a, a1 = a[n];
    Select(a0, eqm1, frac, 0.0f, SELMODE::VSEL_TENSOR_SCALAR_MODE, static_cast<uint32_t>(n));
    Select(a1, eq1, flf, 0.0f, SELMODE::VSEL_TENSOR_SCALAR_MODE, static_cast<uint32_t>(n));
    PipeBarrier<PIPE_V>();
    Select(a0, eq0, flf, a0, SELMODE::VSEL_TENSOR_TENSOR_MODE, static_cast<uint32_t>(n));
    Select(a1, eq0, frac, a1, SELMODE::VSEL_TENSOR_TENSOR_MODE, static_cast<uint32_t>(n));
    if (backward_) {
      LocalTensor<float> one = F(l_.ones), minus_one = F(l_.ones)[n], b0 = b, b1 = b[n];
      Select(b0, eqm1, one, 0.0f, SELMODE::VSEL_TENSOR_SCALAR_MODE, static_cast<uint32_t>(n));
      Select(b1, eq0, one, 0.0f, SELMODE::VSEL_TENSOR_SCALAR_MODE, static_cast<uint32_t>(n));
      PipeBarrier<PIPE_V>();
      Select(b0, eq0, minus_one, b0, SELMODE::VSEL_TENSOR_TENSOR_MODE, static_cast<uint32_t>(n));
      Select(b1, eq1, minus_one, b1, SELMODE::VSEL_TENSOR_TENSOR_MODE, static_cast<uint32_t>(n));
    }
    if (size == 1) {  // both slots hold pixel 0: the second one is not a corner
      PipeBarrier<PIPE_V>();
      Duplicate(a1, 0.0f, n);
      Duplicate(real_hi.ReinterpretCast<uint16_t>(), static_cast<uint16_t>(0), words);
      if (backward_) Duplicate(b[n], 0.0f, n);
    }
    PipeBarrier<PIPE_V>();
  }

  // Real-corner bitmask i of npc bits: 0, 1 slot columns 0 and 1; 2, 3 slot rows 0 and 1.
  __aicore__ inline LocalTensor<uint8_t> Real(uint32_t i) {
    return At<uint8_t>(l_.real + i * dcnv3_ub::AlignUp(npc_ / 8, 256));
  }

  // Slot k = 2 * row + column is real when its row and its column are: the bitmask into `dst`.
  __aicore__ inline void RealSlot(const LocalTensor<uint8_t>& dst, int64_t k) {
    LocalTensor<uint8_t> row = Real(2 + k / 2), col = Real(k % 2);
    And(dst.ReinterpretCast<uint16_t>(), row.ReinterpretCast<uint16_t>(), col.ReinterpretCast<uint16_t>(),
        static_cast<int32_t>(npc_ / 16));
  }

  // unreal[r] = bit k set for each slot k of point r that is not a real corner (read by the
  // pair-DMA fallback, which zeroes those slots instead of fetching them).
  __aicore__ inline void MarkUnrealSlots() {
    const int32_t n = npc_;
    LocalTensor<float> bits = F(l_.tmp), more = F(l_.diff);
    LocalTensor<uint8_t> real = Cmp(1);
    Duplicate(bits, 0.0f, n);
    for (int64_t k = 0; k < dcnv3_ub::kSlots; ++k) {
      RealSlot(real, k);
      PipeBarrier<PIPE_V>();
      Adds(more, bits, static_cast<float>(1 << k), n);
      PipeBarrier<PIPE_V>();
      Select(bits, real, bits, more, SELMODE::VSEL_TENSOR_TENSOR_MODE, static_cast<uint32_t>(n));
      PipeBarrier<PIPE_V>();
    }
    Cast(I(l_.unreal), bits, RoundMode::CAST_RINT, static_cast<uint32_t>(n));
    PipeBarrier<PIPE_V>();
  }

  // Per-point constants of a full tile, point-major r = p * pg_cap + pg with pg = position *
  // tile_groups + group (both within the tile). Written once per core by the scalar unit.
  __aicore__ inline void BuildPointTables() {
    LocalTensor<uint32_t> tab_off = At<uint32_t>(l_.tab_off), tab_mask = At<uint32_t>(l_.tab_mask);
    LocalTensor<float> kw = F(l_.tab_kw), kh = F(l_.tab_kh), wo = F(l_.tab_wo);
    LocalTensor<int32_t> gcol = I(l_.tab_gcol);
    LocalTensor<float> grel = F(l_.tab_grel);
    int64_t p = 0;
    // Points enumerate kernel_w outer, kernel_h inner, skipping the centre when remove_center.
    for (int64_t i = 0; i < geo_.kernel_w; ++i) {
      for (int64_t j = 0; j < geo_.kernel_h; ++j) {
        if (geo_.remove_center && i == geo_.kernel_w / 2 && j == geo_.kernel_h / 2) continue;
        for (int64_t pg = 0; pg < pg_cap_; ++pg) {
          const int64_t r = p * pg_cap_ + pg, pos = pg / geo_.tile_groups, g = pg % geo_.tile_groups;
          tab_off.SetValue(r, static_cast<uint32_t>((pos * l_.off_row + (g * geo_.p + p) * 2) * sizeof(float)));
          tab_mask.SetValue(r, static_cast<uint32_t>((pos * l_.mask_row + g * geo_.p + p) * sizeof(float)));
          kw.SetValue(r, static_cast<float>(i * geo_.dil_w));
          kh.SetValue(r, static_cast<float>(j * geo_.dil_h));
          wo.SetValue(r, static_cast<float>((pg / geo_.tile_groups) * geo_.stride_w));
          gcol.SetValue(r, static_cast<int32_t>((pg % geo_.tile_groups) * geo_.c));
          grel.SetValue(r, static_cast<float>(pg % geo_.tile_groups));
        }
        ++p;
      }
    }
  }

  Geometry geo_;
  dcnv3_ub::UbLayout l_;
  int64_t pg_cap_ = 0;
  int32_t npc_ = 0;
  TBuf<TPosition::VECCALC> ub_;
  GlobalTensor<T> input_, offset_, mask_;
  bool window_ = false;
  bool backward_ = false;
  Window win_;  // the tile's window
};

}  // namespace dcnv3_kernel
