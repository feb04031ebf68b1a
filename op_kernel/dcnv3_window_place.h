// Sampler's window mode: the bounding box of the tile's points (vector), the window placed on it
// within the plan's capacity (scalar), its load (MTE2, through dcnv3_window.h's DMAs), which points
// it serves (vector), and the Gatherb copy of their slot rows. Kept apart from the location maths
// and from the pair-DMA fallback because it is the one place that decides what the window covers.
#pragma once

#include "dcnv3_sampler.h"

namespace dcnv3_kernel {

// Window mode, V: the bounding box of the clamped top-left pixels of the tile's valid points, as
// the minima of the 4 rows of `box` (h, w, -h, -w) folded into their first kBoxLanes lanes. Lanes
// past the tile's positions or groups hold stale offsets and do not count; lanes past np repeat
// point 0 (their tables are zero), which counts anyway.
template <typename T>
__aicore__ inline void Sampler<T>::BoundPoints(const Tile& t, const LocalTensor<uint8_t>& counted) {
  const int32_t n = npc_;
  if (l_.tab_ho != 0) {  // several output rows: position index row * Wo + column, < npos
    LocalTensor<float> index = F(l_.tmp);  // free after Locate's weights
    Muls(index, F(l_.tab_ho), static_cast<float>(geo_.wo) / static_cast<float>(geo_.stride_h), n);
    PipeBarrier<PIPE_V>();
    Axpy(index, F(l_.tab_wo), 1.0f / static_cast<float>(geo_.stride_w), n);
    PipeBarrier<PIPE_V>();
    AndCompare(counted, index, static_cast<float>(t.npos) - 0.5f, CMPMODE::LT);  // robust to 1/stride rounding
  } else {
    AndCompare(counted, F(l_.tab_wo), static_cast<float>((t.npos - 1) * geo_.stride_w), CMPMODE::LE);
  }
  if (geo_.tile_groups > 1) AndCompare(counted, F(l_.tab_grel), static_cast<float>(t.ngroups - 1), CMPMODE::LE);
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
template <typename T>
__aicore__ inline int64_t Sampler<T>::BoxMin(int32_t row) {
  LocalTensor<float> box = F(l_.box);
  float m = box.GetValue(row * npc_);
  for (int32_t e = 1; e < static_cast<int32_t>(kBoxLanes); ++e) m = Min(m, box.GetValue(row * npc_ + e));
  return static_cast<int64_t>(m);
}

// One axis of the window: the points' pixels [lo, hi] when they fit the capacity `cap`, else
// their part of the cap-long window centred on the nominal area [nom_lo, nom_hi] (the points it
// misses are DMA'd). No point (lo > hi) gives an empty window.
template <typename T>
__aicore__ inline void Sampler<T>::Place(int64_t lo, int64_t hi, int64_t nom_lo, int64_t nom_hi, int64_t cap,
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
template <typename T>
__aicore__ inline void Sampler<T>::LoadWindow(const Tile& t) {
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

// Ring mode, S + MTE2: the rows of the tile's plane its points reach, cut to the ring's capacity
// placed on the output row's nominal sampling area, into the ring (dcnv3_ring.h keeps the rows it
// already holds; only the others are loaded). win_ describes the rows the ring then holds.
template <typename T>
__aicore__ inline void Sampler<T>::LoadRing(const Tile& t) {
  const float ext_h = static_cast<float>((geo_.kernel_h - 1) * geo_.dil_h) * geo_.scale;
  const float base_h = BaseH(t);
  // the tile's last output row (tiles of several rows start at column 0)
  const float last_h = base_h + static_cast<float>((t.wo + t.npos - 1) / geo_.wo * geo_.stride_h);
  const int64_t step_h = geo_.h >= 2 ? 1 : 0, cap = ring_state_.rows;
  const int64_t c0 =
      Centre(FloorToInt(Min(base_h, base_h + ext_h)), FloorToInt(Max(last_h, last_h + ext_h)) + 1, cap, geo_.h);
  int64_t a = BoxMin(0), b = step_h - BoxMin(2);
  if (a < c0) a = c0;
  if (b > c0 + cap - 1) b = c0 + cap - 1;
  const int64_t plane = t.n * geo_.g + t.g0;
  if (a <= b) {
    int64_t first[2], count[2];
    ring_state_.Update(plane, a, b, c0, first, count);
    for (int32_t i = 0; i < 2; ++i) LoadRingRows(t, first[i], count[i]);
  }
  const bool held = ring_state_.plane == plane;
  win_.r0 = held ? ring_state_.lo : 0;
  win_.nr = held ? ring_state_.hi - ring_state_.lo : 0;
  win_.c0 = 0;
  win_.nc = geo_.w;
  win_.ng = t.ngroups;
}

// Ring mode, MTE2: image rows [first, first + count) of the tile's plane into their ring slots,
// one DMA per run of consecutive slots (a run that passes the ring's last slot is split), each
// moving whole rows: row after row of W pixels, the group's C channels each, padded to c_pad. The
// row that goes to slot 0 is also copied after the last slot (one more DMA per ring length), so a
// point's second row is always the slot after its first and the vector code wraps only once.
template <typename T>
__aicore__ inline void Sampler<T>::LoadRingRows(const Tile& t, int64_t first, int64_t count) {
  const int64_t cap = ring_state_.rows, max_rows = dcnv3_ub::kMaxDmaBlocks / geo_.w;  // plan: W <= the maximum
  const DataCopyPadExtParams<T> pad{true, 0, static_cast<uint8_t>(geo_.cpad - geo_.c), static_cast<T>(0.0f)};
  LocalTensor<T> ring = At<T>(l_.win);
  while (count > 0) {
    const int64_t slot = first % cap;
    int64_t rows = cap - slot < count ? cap - slot : count;
    if (rows > max_rows) rows = max_rows;
    const uint64_t gm = (static_cast<uint64_t>(t.n) * geo_.h + first) * RowElems() + t.g0 * geo_.c;
    DataCopyPad(ring[slot * geo_.w * geo_.cpad], input_[gm],
                WindowDmaParams(rows * geo_.w, geo_.c, geo_.gc - geo_.c, geo_.cpad, sizeof(T), false), pad);
    if (slot == 0)
      DataCopyPad(ring[cap * geo_.w * geo_.cpad], input_[gm],
                  WindowDmaParams(geo_.w, geo_.c, geo_.gc - geo_.c, geo_.cpad, sizeof(T), false), pad);
    first += rows;
    count -= rows;
  }
}

// Window and ring modes, V: Gatherb copies every point's 4 slot rows out of the window (32-byte blocks;
// one pass per block of a row). Points outside the window gather a harmless block and are
// overwritten by FetchCorners.
template <typename T>
__aicore__ inline void Sampler<T>::GatherWindow() {
  const uint32_t row_blocks = static_cast<uint32_t>(geo_.cpad * sizeof(T) / dcnv3_ub::kUbBlock);
  constexpr uint32_t kBlocksPerRepeat = 8, kMaxRepeat = 255, kWordsPerBlock = 8;
  LocalTensor<uint32_t> dst = At<uint32_t>(l_.data_t), win = At<uint32_t>(l_.win), off = At<uint32_t>(l_.win_off);
  const GatherRepeatParams strides(static_cast<uint8_t>(row_blocks),
                                   static_cast<uint8_t>(kBlocksPerRepeat * row_blocks));
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

// First index of a `len`-long window centred on [lo, hi], kept inside [0, size).
template <typename T>
__aicore__ inline int64_t Sampler<T>::Centre(int64_t lo, int64_t hi, int64_t len, int64_t size) {
  int64_t first = lo - (len - (hi - lo + 1)) / 2;
  if (first > size - len) first = size - len;
  return first < 0 ? 0 : first;
}

// Window and ring modes, V: a point is served by the window when its clamped 2x2 neighbourhood lies
// inside (ring: both its rows are held); invalid samples too (no slot of theirs is real). Sets
// win_off (byte offset in the window of each slot row; the zero row after the window for slots that
// are not real corners), fetch_row (-1 for window points, else the DMA's top row) and, backward,
// acc_at (element offset of the point's slot (0, 0) in the window for the valid points it serves).
template <typename T>
__aicore__ inline void Sampler<T>::PlaceInWindow() {
  const int32_t n = npc_;
  const int64_t step_h = geo_.h >= 2 ? 1 : 0, step_w = geo_.w >= 2 ? 1 : 0;
  LocalTensor<float> ch = F(l_.clamp_h), cw = F(l_.clamp_w), scratch = F(l_.frac_w);
  // free after Locate: window row of slot row 0 (times the row length), column part
  LocalTensor<float> row0 = F(l_.tmp), col = F(l_.frac_h);
  LocalTensor<uint8_t> inside = Cmp(2), invalid = Cmp(3);
  CompareScalar(inside, ch, static_cast<float>(win_.r0), CMPMODE::GE, static_cast<uint32_t>(n));
  AndCompare(inside, ch, static_cast<float>(win_.r0 + win_.nr - 1 - step_h), CMPMODE::LE);
  AndCompare(inside, cw, static_cast<float>(win_.c0), CMPMODE::GE);
  AndCompare(inside, cw, static_cast<float>(win_.c0 + win_.nc - 1 - step_w), CMPMODE::LE);
  // window row of slot (0, 0): ((h - r0) * cols + (w - c0)) * groups + g, in fp32 (exact: < 2^24).
  // Ring (one group, whole rows: c0 = 0, g = 0): (slot of row h) * W + w, with the slot h - lo +
  // phase less the ring's rows where that passes its last slot; slot row 1 is the next slot even
  // after the last, as the ring keeps a copy of slot 0 there (LoadRingRows). The slot is formed
  // before the multiply: h * W passes 2^24 on tall planes, where fp32 rounds the column. Row 0 for
  // points outside (they are DMA'd, or have no real slot).
  if (ring_) {
    const int64_t phase = ring_state_.Phase(), shift = phase - win_.r0, cap = ring_state_.rows;
    Adds(scratch, ch, static_cast<float>(shift - cap), n);
    Adds(row0, ch, static_cast<float>(shift), n);
    CompareScalar(Cmp(1), ch, static_cast<float>(win_.r0 + cap - phase), CMPMODE::GE, static_cast<uint32_t>(n));
    PipeBarrier<PIPE_V>();
    Select(row0, Cmp(1), scratch, row0, SELMODE::VSEL_TENSOR_TENSOR_MODE, static_cast<uint32_t>(n));
    PipeBarrier<PIPE_V>();
    Muls(row0, row0, static_cast<float>(win_.nc), n);
    PipeBarrier<PIPE_V>();
    Add(row0, row0, cw, n);
  } else {
    Adds(row0, ch, static_cast<float>(-win_.r0), n);
    Adds(col, cw, static_cast<float>(-win_.c0), n);
    PipeBarrier<PIPE_V>();
    Muls(row0, row0, static_cast<float>(win_.nc * win_.ng), n);
    Muls(col, col, static_cast<float>(win_.ng), n);
    PipeBarrier<PIPE_V>();
    if (geo_.tile_groups > 1) {  // else every point's group in the tile is 0
      Add(col, col, F(l_.tab_grel), n);
      PipeBarrier<PIPE_V>();
    }
    Add(row0, row0, col, n);
  }
  PipeBarrier<PIPE_V>();
  Select(row0, inside, row0, 0.0f, SELMODE::VSEL_TENSOR_SCALAR_MODE, static_cast<uint32_t>(n));
  PipeBarrier<PIPE_V>();
  if (backward_) {
    Muls(scratch, row0, static_cast<float>(geo_.cpad), n);
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
  PipeBarrier<PIPE_V>();  // the Cast reads scratch, which the first Adds below overwrites
  const float row_bytes = static_cast<float>(geo_.cpad * sizeof(T));
  LocalTensor<int32_t> off = I(l_.win_off);
  LocalTensor<uint8_t> real = Cmp(3);
  for (int64_t k = 0; k < dcnv3_ub::kSlots; ++k) {
    const int64_t slot_rows = ((k / 2) * step_h * win_.nc + (k % 2) * step_w) * win_.ng;
    Adds(scratch, row0, static_cast<float>(slot_rows), n);
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

}  // namespace dcnv3_kernel
