// A tile's input window and the DMAs that move it between GM (NHWC) and UB ([rows][cols][groups]
// [c_pad]). The forward and backward load the input window with them; the backward adds its fp32
// grad_input window accumulator back into GM with the same DMAs, so the two cannot disagree about
// which pixels a window holds.
#pragma once

#include "dcnv3_tiles.h"
#include "dcnv3_ub_layout.h"
#include "kernel_operator.h"

namespace dcnv3_kernel {

// Pixels [r0, r0 + nr) x [c0, c0 + nc) of the tile's image, groups [g0, g0 + ng) of the tile.
struct Window {
  int64_t r0 = 0, c0 = 0, nr = 0, nc = 0, ng = 0;

  __aicore__ inline bool Empty() const { return nr == 0 || nc == 0; }
  // UB elements of the window, c_pad per pixel-group
  __aicore__ inline int64_t Elems(int64_t cpad) const { return nr * nc * ng * cpad; }
  // GM element (NHWC) of the window's first pixel and first group.
  __aicore__ inline uint64_t Corner(const Geometry& geo, const Tile& t) const {
    return (static_cast<uint64_t>(t.n) * geo.h + r0) * geo.w * geo.gc + c0 * geo.gc + t.g0 * geo.c;
  }
};

// DataCopyPad parameters of `count` blocks of `len` elements (of `elem_bytes`), `gm_gap` elements
// apart in GM and `ub_stride` elements from block start to block start in UB. DataCopyPad counts
// the GM gap in bytes and the UB gap in 32-byte blocks; to_gm picks the side each belongs to.
__aicore__ inline DataCopyExtParams WindowDmaParams(int64_t count, int64_t len, int64_t gm_gap, int64_t ub_stride,
                                                    uint32_t elem_bytes, bool to_gm) {
  const uint32_t bytes = static_cast<uint32_t>(len * elem_bytes);
  const uint32_t ub_gap =
      (static_cast<uint32_t>(ub_stride * elem_bytes) - dcnv3_ub::AlignUp(bytes, dcnv3_ub::kUbBlock)) /
      dcnv3_ub::kUbBlock;
  const uint32_t gm = static_cast<uint32_t>(gm_gap * elem_bytes);
  const uint16_t n = static_cast<uint16_t>(count);
  return to_gm ? DataCopyExtParams{n, bytes, ub_gap, gm, 0} : DataCopyExtParams{n, bytes, gm, ub_gap, 0};
}

// Calls fn(gm_offset, ub_offset, params) for each DMA that moves window `win` (elements of
// `elem_bytes` on both sides; offsets in elements from the window's GM corner and UB start):
// - one DMA when group_channels fills whole 32-byte blocks and the tile has every group (each window
//   row is one run in GM), or one per kMaxDmaBlocks rows of a taller window;
// - else one per window row (per row and group when channels need padding and the tile has a subset
//   of the groups), except that rows as wide as the image follow each other in GM: then one run.
// Fn is a functor with an __aicore__ operator() (no lambdas in kernel code).
template <typename Fn>
__aicore__ inline void ForEachWindowDma(const Geometry& geo, const Window& win, uint32_t elem_bytes, bool to_gm,
                                        Fn& fn) {
  const uint32_t e = elem_bytes;
  const bool aligned = geo.c == geo.cpad;
  if (aligned && win.ng == geo.g) {
    // One block per window row; a window of a tall kernel (large dilation_h) can pass the most
    // blocks one DMA moves, so its rows go in runs of at most that many.
    for (int64_t r = 0; r < win.nr; r += dcnv3_ub::kMaxDmaBlocks) {
      const int64_t rows = win.nr - r < dcnv3_ub::kMaxDmaBlocks ? win.nr - r : dcnv3_ub::kMaxDmaBlocks;
      fn(static_cast<uint64_t>(r) * geo.w * geo.gc, static_cast<uint64_t>(r * win.nc * geo.gc),
         WindowDmaParams(rows, win.nc * geo.gc, (geo.w - win.nc) * geo.gc, win.nc * geo.gc, e, to_gm));
    }
    return;
  }
  const bool one_run = win.nc == geo.w && win.nr * win.nc * win.ng <= dcnv3_ub::kMaxDmaBlocks;
  const int64_t runs = one_run ? 1 : win.nr, run_px = one_run ? win.nr * win.nc : win.nc;
  const int64_t run_elems = run_px * win.ng * geo.cpad;  // UB elements per run
  for (int64_t i = 0; i < runs; ++i) {
    const uint64_t gm = static_cast<uint64_t>(i) * geo.w * geo.gc;
    const uint64_t ub = static_cast<uint64_t>(i * run_elems);
    if (aligned) {  // a subset of the groups: one run of ngroups * C per pixel
      fn(gm, ub, WindowDmaParams(run_px, win.ng * geo.c, (geo.g - win.ng) * geo.c, win.ng * geo.c, e, to_gm));
    } else if (win.ng == geo.g) {  // every group: a run of C-blocks, each padded in UB
      fn(gm, ub, WindowDmaParams(run_px * geo.g, geo.c, 0, geo.cpad, e, to_gm));
    } else {
      for (int64_t g = 0; g < win.ng; ++g)
        fn(gm + g * geo.c, ub + g * geo.cpad,
           WindowDmaParams(run_px, geo.c, geo.gc - geo.c, win.ng * geo.cpad, e, to_gm));
    }
  }
}

}  // namespace dcnv3_kernel
