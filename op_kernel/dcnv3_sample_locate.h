// Sampler's vector work that turns a tile's offsets and mask into per-point sampling data: the
// sampling locations, their validity, the bilinear slot weights (times the mask), which slots are
// real corners, and the clamped corner addresses; plus the per-point constant tables built once per
// core. Kept apart from the fetch code because it is pure arithmetic on UB, shared unchanged by the
// forward and backward kernels.
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

#include "dcnv3_sampler.h"

namespace dcnv3_kernel {

// Vector: sampling locations, validity, slot weights (times mask into `wts`), real slots and
// corner addresses of every point of the tile.
template <typename T>
__aicore__ inline void Sampler<T>::Locate(const Tile& t) {
  const int32_t n = npc_;
  if constexpr (!kF32) {
    Cast(F(l_.off_f), At<T>(l_.off_in), RoundMode::CAST_NONE, geo_.tile_positions * l_.off_row);
    Cast(F(l_.mask_f), At<T>(l_.mask_in), RoundMode::CAST_NONE, geo_.tile_positions * l_.mask_row);
    PipeBarrier<PIPE_V>();
  }
  LocalTensor<float> locw = F(l_.loc_w), loch = F(l_.loc_h), m = F(l_.m);
  // loc = (p0 - half * scale) + (tap * dilation + offset) * scale, rounded as the reference rounds
  // it: p0, the position's grid coordinate, is an integer (exact in fp32), and p0 - half * scale
  // is rounded once per position before the one add. Adding the tile's base and the position's
  // offset within the tile separately rounded twice and could move a point across a pixel edge
  // (then grad_offset took the other one-sided derivative). frac_w / frac_h are free until Axis.
  // With an offset_scale that is not a power of two, CUDA's contraction (and the CPU op on a target
  // with FMA) rounds the last multiply and add once, Muls + Add here twice: the AscendC pages do not
  // say whether Axpy fuses on this SoC, so the documented pair is kept.
  const bool rows = l_.tab_ho != 0;  // a tile of several output rows: p0 of h varies too
  LocalTensor<float> p0w = F(l_.frac_w), p0h = F(l_.frac_h);
  Adds(p0w, F(l_.tab_wo), static_cast<float>(GridW(t)), n);
  if (rows) Adds(p0h, F(l_.tab_ho), static_cast<float>(GridH(t)), n);
  LocalTensor<uint32_t> tab_off = At<uint32_t>(l_.tab_off);
  Gather(locw, F(l_.off_f), tab_off, 0u, static_cast<uint32_t>(n));
  Gather(loch, F(l_.off_f), tab_off, static_cast<uint32_t>(sizeof(float)), static_cast<uint32_t>(n));
  Gather(m, F(l_.mask_f), At<uint32_t>(l_.tab_mask), 0u, static_cast<uint32_t>(n));
  PipeBarrier<PIPE_V>();
  Add(locw, locw, F(l_.tab_kw), n);
  Add(loch, loch, F(l_.tab_kh), n);
  Adds(p0w, p0w, -HalfScaledW(), n);
  if (rows) Adds(p0h, p0h, -HalfScaledH(), n);
  PipeBarrier<PIPE_V>();
  Muls(locw, locw, geo_.scale, n);
  Muls(loch, loch, geo_.scale, n);
  PipeBarrier<PIPE_V>();
  Add(locw, locw, p0w, n);
  if (rows) {
    Add(loch, loch, p0h, n);
  } else {
    Adds(loch, loch, BaseH(t), n);
  }
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

// loc = p0 - half * scale + (tap * dilation + offset) * scale, as the reference orders it, with
// half = (dilation * (kernel - 1)) >> 1 and p0 = half - pad + output index * stride. GridH/GridW:
// p0 of the tile's first position; HalfScaledH/W: half * scale, rounded as the reference's
// int * float; BaseH/W: the first two terms for the tile's first position.
template <typename T>
__aicore__ inline int64_t Sampler<T>::GridH(const Tile& t) const {
  return ((geo_.dil_h * (geo_.kernel_h - 1)) >> 1) - geo_.pad_h + t.ho * geo_.stride_h;
}

template <typename T>
__aicore__ inline int64_t Sampler<T>::GridW(const Tile& t) const {
  return ((geo_.dil_w * (geo_.kernel_w - 1)) >> 1) - geo_.pad_w + t.wo * geo_.stride_w;
}

template <typename T>
__aicore__ inline float Sampler<T>::HalfScaledH() const {
  return ((geo_.dil_h * (geo_.kernel_h - 1)) >> 1) * geo_.scale;
}

template <typename T>
__aicore__ inline float Sampler<T>::HalfScaledW() const {
  return ((geo_.dil_w * (geo_.kernel_w - 1)) >> 1) * geo_.scale;
}

template <typename T>
__aicore__ inline float Sampler<T>::BaseH(const Tile& t) const {
  return static_cast<float>(GridH(t)) - HalfScaledH();
}

template <typename T>
__aicore__ inline float Sampler<T>::BaseW(const Tile& t) const {
  return static_cast<float>(GridW(t)) - HalfScaledW();
}

template <typename T>
__aicore__ inline int64_t Sampler<T>::FloorToInt(float x) {
  const int64_t i = static_cast<int64_t>(x);
  return static_cast<float>(i) > x ? i - 1 : i;
}

// mask &= (src <cmp> scalar)
template <typename T>
__aicore__ inline void Sampler<T>::AndCompare(const LocalTensor<uint8_t>& mask, const LocalTensor<float>& src,
                                              float scalar, CMPMODE cmp) {
  LocalTensor<uint8_t> scratch = Cmp(1);
  CompareScalar(scratch, src, scalar, cmp, static_cast<uint32_t>(npc_));
  PipeBarrier<PIPE_V>();
  And(mask.ReinterpretCast<uint16_t>(), mask.ReinterpretCast<uint16_t>(), scratch.ReinterpretCast<uint16_t>(),
      static_cast<int32_t>(npc_ / 16));
  PipeBarrier<PIPE_V>();
}

template <typename T>
__aicore__ inline LocalTensor<uint8_t> Sampler<T>::Cmp(uint32_t i) {
  return At<uint8_t>(l_.cmp + i * dcnv3_ub::AlignUp(npc_ / 8, 256));
}

// Floor, fraction, clamped top-left slot pixel (fp32 and int32), slot weights and which of the
// two slots hold a real corner (bitmasks Real(real0), Real(real0 + 1)) along one axis of extent
// `size`.
template <typename T>
__aicore__ inline void Sampler<T>::Axis(const LocalTensor<float>& loc, int64_t size, const LocalTensor<float>& frac,
                                        const LocalTensor<float>& a, const LocalTensor<float>& b,
                                        const LocalTensor<float>& clamped, const LocalTensor<int32_t>& index,
                                        uint32_t real0) {
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
template <typename T>
__aicore__ inline LocalTensor<uint8_t> Sampler<T>::Real(uint32_t i) {
  return At<uint8_t>(l_.real + i * dcnv3_ub::AlignUp(npc_ / 8, 256));
}

// Slot k = 2 * row + column is real when its row and its column are: the bitmask into `dst`.
template <typename T>
__aicore__ inline void Sampler<T>::RealSlot(const LocalTensor<uint8_t>& dst, int64_t k) {
  LocalTensor<uint8_t> row = Real(2 + k / 2), col = Real(k % 2);
  And(dst.ReinterpretCast<uint16_t>(), row.ReinterpretCast<uint16_t>(), col.ReinterpretCast<uint16_t>(),
      static_cast<int32_t>(npc_ / 16));
}

// unreal[r] = bit k set for each slot k of point r that is not a real corner (read by the
// pair-DMA fallback, which zeroes those slots instead of fetching them).
template <typename T>
__aicore__ inline void Sampler<T>::MarkUnrealSlots() {
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
// tile_groups + group (both within the tile). Position i of a tile is column i % Wo, row i / Wo
// relative to the tile's first (TileCursor::NextOfGroup: tiles of several rows start at column 0).
// Built once per core by ~40 vector instructions over the np points (a scalar store per point and
// table cost ~7 scalar UB writes per point of capacity, as much scalar time as a small layer's
// whole forward); lanes past np keep the zeros of Init, so they repeat point 0 of position 0.
// Integer division is floor((x + 0.5) * (1 / d)): exact for the x < 2^22 a UB holds.
template <typename T>
__aicore__ inline void Sampler<T>::BuildPointTables() {
  const int32_t n = static_cast<int32_t>(l_.np);
  const uint32_t count = l_.np;
  LocalTensor<int32_t> fl = I(l_.floor_i);
  // quot = floor(x / d), rem = x - quot * d (rem may alias x)
  auto divide = [&](const LocalTensor<float>& quot, const LocalTensor<float>& rem, const LocalTensor<float>& x,
                    int64_t d) {
    Adds(quot, x, 0.5f, n);
    PipeBarrier<PIPE_V>();
    Muls(quot, quot, 1.0f / static_cast<float>(d), n);
    PipeBarrier<PIPE_V>();
    Cast(fl, quot, RoundMode::CAST_FLOOR, count);
    PipeBarrier<PIPE_V>();
    Cast(quot, fl, RoundMode::CAST_NONE, count);
    PipeBarrier<PIPE_V>();
    Axpy(rem, quot, static_cast<float>(-d), n);
    PipeBarrier<PIPE_V>();
  };
  LocalTensor<float> pg = F(l_.loc_w), p = F(l_.loc_h), pos = F(l_.m), g = F(l_.frac_w), row = F(l_.frac_h);
  LocalTensor<float> tap = F(l_.diff), i = F(l_.clamp_w), acc = F(l_.tmp);
  const bool groups = geo_.tile_groups > 1;  // else every group within the tile is 0
  // CreateVecIndex stores its first block by scalar SetValue (CANN 8.1's CreateVecIndexOneBlk):
  // Init's zeroing of the UB must have landed first.
  WaitPipe<HardEvent::V_S>();
  CreateVecIndex(pg, 0.0f, count);  // r, then pg
  PipeBarrier<PIPE_V>();
  divide(p, pg, pg, pg_cap_);
  if (groups) {
    Adds(g, pg, 0.0f, n);  // pg, then its group
    PipeBarrier<PIPE_V>();
    divide(pos, g, g, geo_.tile_groups);
  } else {
    pos = pg;
  }
  // Gather byte offsets into the [position][off_row] / [position][mask_row] offset and mask tiles
  Muls(acc, pos, static_cast<float>(l_.off_row * sizeof(float)), n);
  PipeBarrier<PIPE_V>();
  if (groups) {
    Axpy(acc, g, static_cast<float>(geo_.p * 2 * sizeof(float)), n);
    PipeBarrier<PIPE_V>();
  }
  Axpy(acc, p, static_cast<float>(2 * sizeof(float)), n);
  PipeBarrier<PIPE_V>();
  Cast(I(l_.tab_off), acc, RoundMode::CAST_RINT, count);
  PipeBarrier<PIPE_V>();  // the Cast reads acc, which Muls overwrites
  Muls(acc, pos, static_cast<float>(l_.mask_row * sizeof(float)), n);
  PipeBarrier<PIPE_V>();
  if (groups) {
    Axpy(acc, g, static_cast<float>(geo_.p * sizeof(float)), n);
    PipeBarrier<PIPE_V>();
  }
  Axpy(acc, p, static_cast<float>(sizeof(float)), n);
  PipeBarrier<PIPE_V>();
  Cast(I(l_.tab_mask), acc, RoundMode::CAST_RINT, count);
  if (groups) {  // else tab_gcol keeps Init's zeros and there is no tab_grel
    PipeBarrier<PIPE_V>();  // the Cast reads acc, which Muls overwrites
    Muls(acc, g, static_cast<float>(geo_.c), n);
    Adds(F(l_.tab_grel), g, 0.0f, n);
    PipeBarrier<PIPE_V>();
    Cast(I(l_.tab_gcol), acc, RoundMode::CAST_RINT, count);
  }
  if (l_.tab_ho != 0) {
    divide(row, pos, pos, geo_.wo);  // pos becomes its column
    Muls(F(l_.tab_ho), row, static_cast<float>(geo_.stride_h), n);
  }  // else every position is in the tile's first row
  Muls(F(l_.tab_wo), pos, static_cast<float>(geo_.stride_w), n);
  // Points enumerate kernel_w outer (i), kernel_h inner (j), skipping the centre when
  // remove_center: tap = p + 1 for the points after it, i.e. p + min(max(p - centre + 1, 0), 1).
  Adds(tap, p, 0.0f, n);
  PipeBarrier<PIPE_V>();
  if (geo_.remove_center) {
    const int64_t centre = (geo_.kernel_w / 2) * geo_.kernel_h + geo_.kernel_h / 2;
    Adds(acc, p, static_cast<float>(1 - centre), n);
    PipeBarrier<PIPE_V>();
    Maxs(acc, acc, 0.0f, n);
    PipeBarrier<PIPE_V>();
    Mins(acc, acc, 1.0f, n);
    PipeBarrier<PIPE_V>();
    Add(tap, tap, acc, n);
    PipeBarrier<PIPE_V>();
  }
  divide(i, tap, tap, geo_.kernel_h);  // tap becomes j
  Muls(F(l_.tab_kw), i, static_cast<float>(geo_.dil_w), n);
  Muls(F(l_.tab_kh), tap, static_cast<float>(geo_.dil_h), n);
  PipeBarrier<PIPE_V>();
}

}  // namespace dcnv3_kernel
