// The double-buffered tile loop the forward and backward kernels share. Per tile:
//   MTE2  Op::Load     the tile's offsets and mask (+ grad_output), once V is done with the last ones
//   V..   Op::Sample   locations, weights and the 4 corner slots of every point (V, S, MTE2)
//   V     Op::Compute  into output buffer `out`, once MTE3 has drained that buffer's previous tile
//   MTE3  Op::Store    from buffer `out`; it runs while the next tile is loaded and computed
// The output buffers (dcnv3_ub::kOutBuffers) alternate; event kOutEvent + b hands buffer b back
// from MTE3 to V.
#pragma once

#include "dcnv3_tiles.h"
#include "dcnv3_ub_layout.h"
#include "kernel_operator.h"

namespace dcnv3_kernel {

template <typename Op>
__aicore__ inline void RunTileLoop(const Geometry& geo, Op& op) {
  for (uint32_t b = 0; b < dcnv3_ub::kOutBuffers; ++b) SetFlag<HardEvent::MTE3_V>(kOutEvent + b);
  uint32_t out = 0;
  TileCursor cursor;
  cursor.Start(geo);
  Tile t;
  while (cursor.Next(geo, &t)) {
    WaitPipe<HardEvent::V_MTE2>();  // the previous tile's vector work is done with its inputs
    op.Load(t);
    WaitPipe<HardEvent::MTE2_V>();
    op.Sample(t);
    WaitPipe<HardEvent::MTE2_V>();
    WaitFlag<HardEvent::MTE3_V>(kOutEvent + out);  // MTE3 has drained this buffer's last tile
    op.Compute(t, out);
    WaitPipe<HardEvent::V_MTE3>();
    op.Store(t, out);
    SetFlag<HardEvent::MTE3_V>(kOutEvent + out);
    out = (out + 1) % dcnv3_ub::kOutBuffers;
  }
  for (uint32_t b = 0; b < dcnv3_ub::kOutBuffers; ++b) WaitFlag<HardEvent::MTE3_V>(kOutEvent + b);
}

}  // namespace dcnv3_kernel
