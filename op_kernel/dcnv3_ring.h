// The input ring (fetch mode kFetchRing, forward and backward): whole image rows of one (n, g) plane
// kept in UB while a core walks down its output rows, so that each input row is loaded about once per core
// and plane instead of once per tile. Row r of the plane sits in ring slot r % rows; the rows held
// are always one run [lo, hi) of at most `rows` image rows, so no two of them share a slot.
//
// Which rows: a tile needs the rows its valid points' 2x2 neighbourhoods reach, cut to the ring's
// capacity placed on the output row's nominal sampling area (the same placement for every tile of
// an output row, so tiles of one row do not evict each other's rows; points beyond it take the
// pair-DMA fallback). The ring then keeps what it holds inside that capacity, extended by the
// rows the tile needs; rows that left the capacity are dropped (a core only walks down a plane).
// This file is the scalar bookkeeping only; Sampler::LoadRing (dcnv3_window_place.h) issues the
// DMAs and Sampler::PlaceInWindow maps points to slots; the backward keeps its fp32 grad_input
// accumulator in the same slots and flushes the rows the ring drops (dcnv3_grad.cpp).
#pragma once

#include "kernel_operator.h"

namespace dcnv3_kernel {

struct Ring {
  int64_t rows = 0;     // capacity in image rows
  int64_t plane = -1;   // n * G + g of the rows held; -1: none
  int64_t lo = 0, hi = 0;  // image rows [lo, hi) held

  // Makes the ring hold rows [a, b] (a <= b, inside [c0, c0 + rows)) of plane `pl`, keeping what
  // it holds of [c0, c0 + rows) when that touches [a, b]. Returns the rows to load as two runs
  // [first[i], first[i] + count[i]) (above and below what is kept; a count may be 0).
  __aicore__ inline void Update(int64_t pl, int64_t a, int64_t b, int64_t c0, int64_t first[2], int64_t count[2]) {
    int64_t l = lo > c0 ? lo : c0, h = hi < c0 + rows ? hi : c0 + rows;
    if (pl != plane || l >= h || b + 1 < l || a > h) {  // nothing kept: load [a, b] afresh
      plane = pl;
      l = a;
      h = a;
    }
    const int64_t new_lo = a < l ? a : l, new_hi = b + 1 > h ? b + 1 : h;
    first[0] = new_lo;
    count[0] = l - new_lo;
    first[1] = h;
    count[1] = new_hi - h;
    lo = new_lo;
    hi = new_hi;
  }

  // Slot of row lo: a row r of [lo, hi) is in slot (r - lo + Phase()) minus rows if that is >= rows.
  __aicore__ inline int64_t Phase() const { return lo % rows; }
};

}  // namespace dcnv3_kernel
