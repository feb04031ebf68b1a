// Unified-buffer layout of the DCNv3 kernels, shared by the kernels (which carve their one UB
// buffer with it) and the host tiling plan (which sizes tiles so that `total` fits the UB). One
// definition, so the plan's UB budget and the kernel's real use cannot drift apart.
//
// A tile is a rectangle of up to tile_positions output positions (of one output row) x
// tile_groups groups: pg_cap = tile_positions * tile_groups pixel-groups, pg = position *
// tile_groups + group within the tile, each with P sampling points. Offsets, masks and their
// gradients keep GM order within a position ([group][point][2], [group][point]), one row per
// position padded to 16 elements (`off_row`, `mask_row`), because a tile with a subset of the
// groups reads one strided run per position.
// Per-point arrays are point-major, r = p * pg_cap + pg, padded to `npc` (a multiple of 64 so that
// every 4-byte vector op covers whole 256-byte repeats). Bilinear corner data is laid out
// [slot k][point r][channel c], `ss` rows per slot (np rounded up to 8): slot k = 2 * row + column
// of the 2x2 neighbourhood, rows of `c_pad` channels (group_channels rounded up to 32 bytes), so
// one (k, p) pair is a contiguous [pixel-group][channel] block that lines up with the output tile.
#pragma once

#include <cstdint>

#ifdef __aicore__
#define DCNV3_UB_FN __aicore__ inline
#else
#define DCNV3_UB_FN inline
#endif

namespace dcnv3_ub {

constexpr uint32_t kUbBlock = 32;      // UB addresses of vector operands and DMAs: 32-byte aligned
constexpr uint32_t kPointAlign = 64;   // 64 fp32 = one 256-byte vector repeat
constexpr uint32_t kSlots = 4;         // 2x2 bilinear neighbourhood
// The buffers MTE3 reads (forward: the output tile; backward: the grad_input terms, grad_offset and
// grad_mask tiles) are doubled, so the vector unit fills one while MTE3 still drains the other.
constexpr uint32_t kOutBuffers = 2;
// Most blocks (blockCount) one DataCopyPad moves.
constexpr uint32_t kMaxDmaBlocks = 4095;
// Window mode folds the [4][npc] bounding-box candidates with one repeat per row, rows npc / 8
// blocks apart: the 8-bit repeat stride caps npc (the plan keeps window tiles below it).
constexpr uint32_t kMaxWindowNpc = 255 * kUbBlock / 4;

// How the 4 bilinear corners of a sampling point reach UB.
enum FetchMode : uint32_t {
  // Two DMAs per point, one per image row: blockCount=2 moves the x-neighbours (w0, w0+1) of the
  // point's group, straight into their slots.
  kFetchPairPerRow = 0,
  // The tile's input window (the bounding box of its points' 2x2 neighbourhoods, at most the
  // window capacity: the nominal sampling area plus a margin) is loaded with one DMA per tile (or
  // per window row), and Gatherb copies each in-window point's slots from it; points whose 2x2
  // neighbourhood leaves the window fall back to kFetchPairPerRow.
  kFetchWindow = 1,
  // Group-major tiles of one group: a ring of whole image rows of the tile's (n, g) plane,
  // win_rows of them, kept in UB while the core walks down its output rows (dcnv3_ring.h). A tile
  // loads only the rows its points reach that the ring does not hold yet (about stride_h new rows
  // per output row), and Gatherb copies the served points' slots from it; points whose 2x2
  // neighbourhood leaves the ring fall back to kFetchPairPerRow. The backward's gacc is a ring of
  // the same slots, each row added to GM when the ring drops it.
  kFetchRing = 2,
};

DCNV3_UB_FN uint32_t AlignUp(uint32_t x, uint32_t a) { return (x + a - 1) / a * a; }

// Pixel-groups the window buffer holds: rows x cols x groups; a ring (kFetchRing) one row more, the
// copy of its slot 0 after its last slot.
DCNV3_UB_FN uint32_t WindowPixelGroups(int64_t rows, int64_t cols, int64_t groups, bool ring) {
  return static_cast<uint32_t>((rows + (ring ? 1 : 0)) * cols * groups);
}

struct UbLayout {
  // element counts
  uint32_t np;        // points in a full tile: P * pg_cap
  uint32_t npc;       // per-point array length, np rounded up to kPointAlign
  uint32_t ss;        // corner rows per slot, np rounded up to 8 (a Brcb / Gatherb repeat)
  uint32_t elems;     // corner-data elements: kSlots * ss * c_pad
  uint32_t rows_out;  // pg_cap rows of c_pad channels (output / grad_output tile)
  uint32_t off_row;   // elements per position row of offsets / grad_offset: tile_groups * P * 2, padded
  uint32_t mask_row;  // elements per position row of masks / grad_mask: tile_groups * P, padded
  // byte offsets into the one UB buffer
  uint32_t off_in, mask_in;        // [tile_positions][off_row / mask_row] tiles in the input dtype
  uint32_t off_f, mask_f;          // the same in fp32 (aliases off_in / mask_in for fp32)
  uint32_t tab_off, tab_mask;      // Gather byte offsets: position rows -> point-major [p][pg]
  uint32_t tab_kw, tab_kh;         // i * dilation_w, j * dilation_h of each point's kernel tap
  uint32_t tab_wo;                 // output-column offset within the tile, times stride_w
  uint32_t tab_ho;                 // output-row offset within the tile, times stride_h (tiles of
                                   // several output rows, tile_positions > width_out; else none)
  uint32_t tab_gcol;               // channel offset g * group_channels within the tile (int32)
  uint32_t tab_grel;               // group within the tile, fp32 (window mode, tile_groups > 1)
  uint32_t loc_w, loc_h, m;        // sampling location, mask (zero for invalid samples)
  uint32_t frac_w, frac_h, tmp;    // fractional parts; scratch
  uint32_t floor_i, diff;          // int32 floor; floor minus clamped floor
  uint32_t clamp_w, clamp_h;       // clamped top-left slot pixel, fp32
  uint32_t col_idx, col_off;       // int32: clamped left column, its in-row element offset (NHWC)
  uint32_t row_idx;                // int32: clamped top row
  uint32_t fetch_row;              // int32: row_idx for points to DMA, -1 for points in the window
  uint32_t unreal;                 // int32: bit k set when slot k is not a real corner (pair DMAs)
  uint32_t aw, ah;                 // [2][npc] value weights per slot column / row
  uint32_t bw, bh;                 // [2][npc] derivative weights (backward only)
  uint32_t ones;                   // [2][npc] constants +1 and -1
  uint32_t wts;                    // [kSlots][npc] corner weights times mask
  uint32_t cmp;                    // 4 compare bitmasks of npc bits, each 256-byte aligned
  uint32_t real;                   // 4 bitmasks like cmp: slot column 0, 1 and slot row 0, 1 real
  uint32_t win;                    // window mode: [rows][cols][groups][c_pad] input window, then
                                   // one zero row that Gatherb reads for slots that are no corner
  uint32_t win_zero;               // window mode: bytes from `win` to its zero row
  uint32_t win_off;                // window mode: [kSlots][npc] byte offset of each slot row in `win`
  uint32_t box;                    // window mode: [4][npc] min h, min w, -max h, -max w candidates
  uint32_t data_t, data_f;         // [elems] corner data in input dtype / fp32 (aliased for fp32)
  uint32_t wbc;                    // weights broadcast over channels (fp32): forward one slot (ss *
                                   // c_pad); backward all slots interleaved [r][k][c_pad] (elems),
                                   // then the grad_input terms
  // forward: output tile (rows_t doubled, fp32 accumulates into rows_t); backward: grad_output tile
  uint32_t rows_f, rows_t;         // [rows_out] fp32 / input dtype (backward: aliased for fp32)
  // backward only
  uint32_t g4;                     // [pg_cap][kSlots][c_pad] grad_output repeated for the 4 slots
  uint32_t tab_row;                // [kSlots * npc] byte offset of each corner row (Gather)
  uint32_t dots, dot_tmp;          // [kSlots][npc] per-corner dot products; Gather scratch
  uint32_t gxy, gm;                // [2][npc] grad of x,y location; [npc] grad of mask
  uint32_t tab_gout, tab_gmask;    // Gather byte offsets point-major -> position rows
  uint32_t acc_at;                 // int32 [npc]: element offset of slot (0, 0) in gacc, or
                                   // kScatterByDma / kScatterNothing (dcnv3_sampler.h)
  uint32_t gacc;                   // window and ring modes: fp32 grad_input accumulator, the
                                   // window's [rows][cols][groups][c_pad] geometry
  uint32_t goff_f, gmask_f;        // [tile_positions][off_row / mask_row] grad_offset / grad_mask
                             // tiles in fp32 (half types; fp32 Gathers into goff_t / gmask_t)
  uint32_t goff_t, gmask_t;  // the same in the input dtype, kOutBuffers buffers each
  uint32_t out_stride;  // bytes from one output buffer to the next (forward rows_t,
                        // backward goff_t, gmask_t: [kOutBuffers][...] at that stride)
  uint32_t total;  // bytes
};

DCNV3_UB_FN uint32_t UbTake(uint32_t* cursor, uint32_t bytes) {
  const uint32_t at = *cursor;
  *cursor += AlignUp(bytes, kUbBlock);
  return at;
}

// dtype_bytes: 4 (fp32) or 2 (fp16/bf16). points: P. c_pad: channels per corner row, a multiple
// of 32 / dtype_bytes. win_pixel_groups: rows x cols x groups of the input window (window mode),
// else 0. width_out: output columns (a tile of more positions spans several output rows).
DCNV3_UB_FN UbLayout MakeUbLayout(uint32_t dtype_bytes, uint32_t points, uint32_t tile_positions, uint32_t tile_groups,
                                  uint32_t c_pad, bool backward, uint32_t win_pixel_groups, uint32_t width_out) {
  UbLayout l{};
  const bool f32 = dtype_bytes == 4;
  const uint32_t pg_cap = tile_positions * tile_groups;
  l.np = points * pg_cap;
  l.npc = AlignUp(l.np, kPointAlign);
  l.ss = AlignUp(l.np, 8);
  l.elems = kSlots * l.ss * c_pad;
  l.rows_out = pg_cap * c_pad;
  // 16 elements: 32 bytes of a half type, so rows stay block-aligned in both dtypes
  l.off_row = AlignUp(tile_groups * points * 2, 16);
  l.mask_row = AlignUp(tile_groups * points, 16);
  const uint32_t off_elems = tile_positions * l.off_row, mask_elems = tile_positions * l.mask_row;
  uint32_t cur = 0;
  const uint32_t pt = l.npc * 4;  // one fp32/int32 per-point array
  l.off_in = UbTake(&cur, off_elems * dtype_bytes);
  l.mask_in = UbTake(&cur, mask_elems * dtype_bytes);
  l.off_f = f32 ? l.off_in : UbTake(&cur, off_elems * 4);
  l.mask_f = f32 ? l.mask_in : UbTake(&cur, mask_elems * 4);
  l.tab_off = UbTake(&cur, pt);
  l.tab_mask = UbTake(&cur, pt);
  l.tab_kw = UbTake(&cur, pt);
  l.tab_kh = UbTake(&cur, pt);
  l.tab_wo = UbTake(&cur, pt);
  l.tab_ho = tile_positions > width_out ? UbTake(&cur, pt) : 0;
  l.tab_gcol = UbTake(&cur, pt);
  l.tab_grel = tile_groups > 1 ? UbTake(&cur, pt) : 0;  // all zeros with one group: not kept
  l.loc_w = UbTake(&cur, pt);
  l.loc_h = UbTake(&cur, pt);
  l.m = UbTake(&cur, pt);
  l.frac_w = UbTake(&cur, pt);
  l.frac_h = UbTake(&cur, pt);
  l.tmp = UbTake(&cur, pt);
  l.floor_i = UbTake(&cur, pt);
  l.diff = UbTake(&cur, pt);
  l.clamp_w = UbTake(&cur, pt);
  l.clamp_h = UbTake(&cur, pt);
  l.col_idx = UbTake(&cur, pt);
  l.col_off = UbTake(&cur, pt);
  l.row_idx = UbTake(&cur, pt);
  l.fetch_row = UbTake(&cur, pt);
  l.aw = UbTake(&cur, 2 * pt);
  l.ah = UbTake(&cur, 2 * pt);
  l.bw = backward ? UbTake(&cur, 2 * pt) : 0;
  l.bh = backward ? UbTake(&cur, 2 * pt) : 0;
  l.ones = UbTake(&cur, 2 * pt);
  l.wts = UbTake(&cur, kSlots * pt);
  l.unreal = UbTake(&cur, pt);
  l.cmp = UbTake(&cur, 4 * AlignUp(l.npc / 8, 256));
  l.real = UbTake(&cur, 4 * AlignUp(l.npc / 8, 256));
  l.win_zero = win_pixel_groups * c_pad * dtype_bytes;
  l.win = win_pixel_groups ? UbTake(&cur, l.win_zero + c_pad * dtype_bytes) : 0;
  l.win_off = win_pixel_groups ? UbTake(&cur, kSlots * pt) : 0;
  l.box = win_pixel_groups ? UbTake(&cur, 4 * pt) : 0;
  l.data_t = UbTake(&cur, l.elems * dtype_bytes);
  l.data_f = f32 ? l.data_t : UbTake(&cur, l.elems * 4);
  if (backward) {
    // the grad_input terms once (MTE3 is done with them before the next tile rebuilds them), then
    // goff_t, gmask_t of buffer 0 and the same block again for buffer 1
    l.wbc = UbTake(&cur, l.elems * 4);
    const uint32_t first = cur;
    l.goff_t = UbTake(&cur, off_elems * dtype_bytes);
    l.gmask_t = UbTake(&cur, mask_elems * dtype_bytes);
    l.out_stride = cur - first;
    cur += (kOutBuffers - 1) * l.out_stride;
    l.rows_t = UbTake(&cur, l.rows_out * dtype_bytes);
    l.rows_f = f32 ? l.rows_t : UbTake(&cur, l.rows_out * 4);
  } else {
    l.wbc = UbTake(&cur, l.ss * c_pad * 4);
    l.rows_f = f32 ? 0 : UbTake(&cur, l.rows_out * 4);
    const uint32_t first = cur;
    l.rows_t = UbTake(&cur, l.rows_out * dtype_bytes);
    l.out_stride = cur - first;
    cur += (kOutBuffers - 1) * l.out_stride;
  }
  if (backward) {
    l.g4 = UbTake(&cur, kSlots * l.rows_out * 4);
    l.tab_row = UbTake(&cur, kSlots * pt);
    // The backward's Compute-only scratch shares UB with sampler arrays that only its Sample step
    // uses (each tile rewrites them there, after a PipeBarrier): the dot products and their Gather
    // scratch take the box and the slot offsets (window and ring modes), the location and mask
    // gradients the fractional parts and the floor. That room is what fits 10-position ring tiles
    // (6 per output row instead of 7) on a 56-wide fp32 image.
    l.dots = win_pixel_groups ? l.box : UbTake(&cur, kSlots * pt);
    l.dot_tmp = win_pixel_groups ? l.win_off : UbTake(&cur, kSlots * pt);
    l.gxy = l.frac_w;  // frac_w, frac_h: 2 * pt in a row
    l.gm = l.floor_i;
    l.tab_gout = UbTake(&cur, off_elems * 4);
    l.tab_gmask = UbTake(&cur, mask_elems * 4);
    l.acc_at = UbTake(&cur, pt);
    l.gacc = win_pixel_groups ? UbTake(&cur, win_pixel_groups * c_pad * 4) : 0;
    l.goff_f = f32 ? 0 : UbTake(&cur, off_elems * 4);
    l.gmask_f = f32 ? 0 : UbTake(&cur, mask_elems * 4);
  }
  l.total = cur;
  return l;
}

}  // namespace dcnv3_ub
