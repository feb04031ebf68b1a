// Sampler's pair-DMA corner fetch: the corner slots of every point the window does not serve (all
// points in pair mode), two DMAs per point, with the slots that are not real corners zeroed instead
// of read. Kept apart because it is the scalar-driven fallback path, separate from window placement.
#pragma once

#include "dcnv3_sampler.h"

namespace dcnv3_kernel {

// DataCopyPad parameters fetching `pixels` (1 or 2) x-neighbours of one slot row: pixel w0c then
// w0c + 1 of the point's group (group_channels elements each, G * C apart in GM), one slot
// (ss * cpad elements) apart in UB. DataCopyPad counts the GM gap in bytes and the UB gap in
// 32-byte blocks.
template <typename T>
__aicore__ inline DataCopyExtParams Sampler<T>::RowParams(uint16_t pixels) const {
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
template <typename T>
__aicore__ inline void Sampler<T>::FetchCorners(const Tile& t) {
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
          if (left)
            DataCopyPad(data[dst], input_[at], single, pad);
          else
            Duplicate(words[dst * sizeof(T) / sizeof(uint16_t)], static_cast<uint16_t>(0), row_words);
          if (right)
            DataCopyPad(data[dst + slot], input_[at + geo_.gc], single, pad);
          else
            Duplicate(words[(dst + slot) * sizeof(T) / sizeof(uint16_t)], static_cast<uint16_t>(0), row_words);
        }
      }
    }
  }
}

}  // namespace dcnv3_kernel
