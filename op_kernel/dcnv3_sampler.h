// The part of the DCNv3 forward and backward kernels that is the same in both: per tile, the
// sampling locations, bilinear slot weights and corner addresses vectorised over all its points, and
// the fetch of the corner data (the input window sized to the points' bounding box, Gatherb from it,
// pair DMAs for the points outside it).
//
// This file holds the Sampler class, its UB buffer and the per-tile steps the kernels call (Sample,
// the tile's row DMAs, the weight broadcast). Its private steps live in one header per job, included
// at the end: dcnv3_sample_locate.h (locations, slot weights, corner addresses), dcnv3_window_place.h
// (window placement, load and Gatherb) and dcnv3_corner_fetch.h (pair DMAs for the other points).
#pragma once

#include "dcnv3_ring.h"
#include "dcnv3_tiles.h"
#include "dcnv3_ub_layout.h"
#include "dcnv3_window.h"
#include "kernel_operator.h"

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
    ring_ = geo.fetch_mode == dcnv3_ub::kFetchRing;
    window_ = geo.fetch_mode == dcnv3_ub::kFetchWindow || ring_;  // the ring is a window that persists
    ring_state_.rows = geo.win_rows;
    l_ = dcnv3_ub::MakeUbLayout(
        sizeof(T), geo.p, geo.tile_positions, geo.tile_groups, geo.cpad, backward,
        window_ ? dcnv3_ub::WindowPixelGroups(geo.win_rows, geo.win_cols, geo.tile_groups, ring_) : 0,
        static_cast<uint32_t>(geo.wo));
    input_.SetGlobalBuffer((__gm__ T*)input);
    offset_.SetGlobalBuffer((__gm__ T*)offset);
    mask_.SetGlobalBuffer((__gm__ T*)mask);
    pipe->InitBuffer(ub_, l_.total);
    npc_ = l_.npc;
    // Zero everything once: lanes past a short tile and padding channels then hold finite values.
    Duplicate(ub_.Get<float>(), 0.0f, static_cast<int32_t>(l_.total / 4));
    PipeBarrier<PIPE_V>();  // the ones overwrite those zeros
    Duplicate(F(l_.ones), 1.0f, npc_);
    Duplicate(F(l_.ones)[npc_], -1.0f, npc_);
    PipeBarrier<PIPE_V>();
    BuildPointTables();
    WaitPipe<HardEvent::V_S>();  // the kernels' own Init may store into the UB by scalar
  }

  __aicore__ inline const dcnv3_ub::UbLayout& Layout() const { return l_; }
  // Byte offset of output buffer `out`'s copy of a doubled buffer (Layout().out_stride apart).
  __aicore__ inline uint32_t Out(uint32_t offset, uint32_t out) const { return offset + out * l_.out_stride; }
  __aicore__ inline int32_t Npc() const { return npc_; }
  __aicore__ inline int64_t PgCap() const { return pg_cap_; }
  // The current tile's input window (window mode, after Sample; ring mode: the rows the ring holds).
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
    const uint32_t ub_gap =
        (row_elems * elem_bytes - dcnv3_ub::AlignUp(bytes, dcnv3_ub::kUbBlock)) / dcnv3_ub::kUbBlock;
    const uint16_t blocks = static_cast<uint16_t>(t.npos);
    return ub_to_gm ? DataCopyExtParams{blocks, bytes, ub_gap, gm_gap, 0}
                    : DataCopyExtParams{blocks, bytes, gm_gap, ub_gap, 0};
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
      if (ring_)
        LoadRing(t);
      else
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
      PipeBarrier<PIPE_V>();  // FetchCorners may have zeroed rows of data_t by Duplicate
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
  __aicore__ inline int64_t RowOffset(int64_t k, int64_t p) const { return (k * l_.ss + p * pg_cap_) * geo_.cpad; }

 private:
  // Sampling locations, validity, slot weights and corner addresses (dcnv3_sample_locate.h).
  __aicore__ inline void Locate(const Tile& t);
  __aicore__ inline int64_t GridH(const Tile& t) const;
  __aicore__ inline int64_t GridW(const Tile& t) const;
  __aicore__ inline float HalfScaledH() const;
  __aicore__ inline float HalfScaledW() const;
  __aicore__ inline float BaseH(const Tile& t) const;
  __aicore__ inline float BaseW(const Tile& t) const;
  __aicore__ static inline int64_t FloorToInt(float x);
  __aicore__ inline void AndCompare(const LocalTensor<uint8_t>& mask, const LocalTensor<float>& src, float scalar,
                                    CMPMODE cmp);
  __aicore__ inline LocalTensor<uint8_t> Cmp(uint32_t i);
  __aicore__ inline void Axis(const LocalTensor<float>& loc, int64_t size, const LocalTensor<float>& frac,
                              const LocalTensor<float>& a, const LocalTensor<float>& b,
                              const LocalTensor<float>& clamped, const LocalTensor<int32_t>& index, uint32_t real0);
  __aicore__ inline LocalTensor<uint8_t> Real(uint32_t i);
  __aicore__ inline void RealSlot(const LocalTensor<uint8_t>& dst, int64_t k);
  __aicore__ inline void MarkUnrealSlots();
  __aicore__ inline void BuildPointTables();

  // Window mode: the window placed on the points' bounding box, loaded, and gathered from (dcnv3_window_place.h).
  __aicore__ inline void BoundPoints(const Tile& t, const LocalTensor<uint8_t>& counted);
  __aicore__ inline int64_t BoxMin(int32_t row);
  __aicore__ static inline void Place(int64_t lo, int64_t hi, int64_t nom_lo, int64_t nom_hi, int64_t cap, int64_t size,
                                      int64_t* first, int64_t* len);
  __aicore__ inline void LoadWindow(const Tile& t);
  __aicore__ inline void LoadRing(const Tile& t);
  __aicore__ inline void LoadRingRows(const Tile& t, int64_t first, int64_t count);
  __aicore__ inline void GatherWindow();
  __aicore__ static inline int64_t Centre(int64_t lo, int64_t hi, int64_t len, int64_t size);
  __aicore__ inline void PlaceInWindow();

  // Pair-DMA fetch of the corners the window does not serve (dcnv3_corner_fetch.h).
  __aicore__ inline DataCopyExtParams RowParams(uint16_t pixels) const;
  __aicore__ inline void FetchCorners(const Tile& t);

  // One window DMA, GM -> UB, padding each group's channels to c_pad.
  struct WindowLoad {
    LocalTensor<T> ub;
    GlobalTensor<T> gm;
    DataCopyPadExtParams<T> pad;
    __aicore__ inline void operator()(uint64_t gm_at, uint64_t ub_at, const DataCopyExtParams& p) {
      DataCopyPad(ub[ub_at], gm[gm_at], p, pad);
    }
  };
  __aicore__ static inline float Min(float a, float b) { return a < b ? a : b; }
  __aicore__ static inline float Max(float a, float b) { return a > b ? a : b; }

  Geometry geo_;
  dcnv3_ub::UbLayout l_;
  int64_t pg_cap_ = 0;
  int32_t npc_ = 0;
  TBuf<TPosition::VECCALC> ub_;
  GlobalTensor<T> input_, offset_, mask_;
  bool window_ = false;  // window or ring mode
  bool ring_ = false;
  Ring ring_state_;  // ring mode: the rows the ring holds
  bool backward_ = false;
  Window win_;  // the tile's window
};

}  // namespace dcnv3_kernel

#include "dcnv3_corner_fetch.h"
#include "dcnv3_sample_locate.h"
#include "dcnv3_window_place.h"
