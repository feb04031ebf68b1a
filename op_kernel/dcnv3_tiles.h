// The work of one vector core, decoded from the host plan (op_host/dcnv3_tiling_plan.h): its range
// of pixel-groups (output position x group) and the walk of that range in tiles, rectangles of up
// to tile_positions positions of one output row x tile_groups groups (group-major: positions of one
// plane, see TileCursor::NextOfGroup). Also the pipe-sync helpers
// and event ids every DCNv3 kernel file shares.
#pragma once

#include "kernel_operator.h"

namespace dcnv3_kernel {

using namespace AscendC;

// Event ids, MTE3_V: kOutEvent + b says that MTE3 has drained output buffer b (dcnv3_ub::kOutBuffers);
// backward: kAccEvent that MTE3 has added the grad_input window accumulator to GM, kTermsEvent that
// it has scattered the grad_input terms of the points outside the window. Id 0 is left to the
// immediate WaitPipe pairs.
constexpr int32_t kOutEvent = 1;
constexpr int32_t kAccEvent = 3;
constexpr int32_t kTermsEvent = 4;

// Pipe `dst` of HardEvent E waits until pipe `src` has finished everything issued so far.
template <HardEvent E>
__aicore__ inline void WaitPipe() {
  SetFlag<E>(0);
  WaitFlag<E>(0);
}

// A tile: positions [pos, pos + npos) of one output row x groups [g0, g0 + ngroups); in
// group-major order, a tile that starts at column 0 may span several output rows (NextOfGroup).
struct Tile {
  int64_t pos;        // first flattened output position n * Ho * Wo + ho * Wo + wo
  int64_t n, ho, wo;
  int64_t npos, g0, ngroups;
  int64_t pg_span;    // pixel-group rows the tile spans in the tile layout: (npos - 1) * tile_groups + ngroups
};

// Host-plan fields the kernels read, copied out of whichever TilingData type the build generates.
struct Geometry {
  int64_t h, w, ho, wo, g, c, p, gc, cpad;
  int64_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, remove_center;
  float scale;
  int64_t tile_positions, tile_groups;
  int64_t fetch_mode, win_rows, win_cols, win_cols_base;
  bool group_major;          // pixel-group order: (n, g, ho, wo) if set, else (n, ho, wo, g)
  int64_t pg_begin, pg_end;  // this core's pixel-groups, flattened in that order

  template <typename Tiling>
  __aicore__ inline void Load(const Tiling& t) {
    h = t.height_in;
    w = t.width_in;
    ho = t.height_out;
    wo = t.width_out;
    g = t.group;
    c = t.group_channels;
    p = t.points;
    gc = g * c;
    cpad = t.channels_pad;
    kernel_h = t.kernel_h;
    kernel_w = t.kernel_w;
    stride_h = t.stride_h;
    stride_w = t.stride_w;
    pad_h = t.pad_h;
    pad_w = t.pad_w;
    dil_h = t.dilation_h;
    dil_w = t.dilation_w;
    remove_center = t.remove_center;
    scale = t.offset_scale;
    tile_positions = t.tile_positions;
    tile_groups = t.tile_groups;
    fetch_mode = t.fetch_mode;
    win_rows = t.win_rows;
    win_cols = t.win_cols;
    win_cols_base = t.win_cols_base;
    group_major = t.group_major != 0;
    const int64_t core = GetBlockIdx();
    Range(core, t.units_per_core, t.units_remainder, &pg_begin, &pg_end);
    pg_begin *= t.split_unit;
    pg_end *= t.split_unit;
  }

  // Core `core`'s contiguous share of items split as per_core each plus one for the first `extra`.
  __aicore__ static inline void Range(int64_t core, int64_t per_core, int64_t extra, int64_t* begin, int64_t* end) {
    *begin = core * per_core + (core < extra ? core : extra);
    *end = *begin + per_core + (core < extra ? 1 : 0);
  }
};

// Walks this core's pixel-groups in tiles. A position the range only partly covers (at its ends)
// is cut into tiles of one position x up to tile_groups groups; runs of whole positions in one
// output row are cut into rectangles of tile_positions x tile_groups.
struct TileCursor {
  int64_t q, end;            // pixel-groups not yet handed out, outside the current run
  int64_t run_pos, run_len;  // current run of whole positions (run_len 0: none)
  int64_t run_g0, run_at;    // next group chunk and position within the run

  __aicore__ inline void Start(const Geometry& geo) {
    q = geo.pg_begin;
    end = geo.pg_end;
    run_len = 0;
  }

  __aicore__ inline bool Next(const Geometry& geo, Tile* t) {
    if (geo.group_major) return NextOfGroup(geo, t);
    if (run_len == 0) {
      if (q >= end) return false;
      const int64_t pos = q / geo.g, g = q - pos * geo.g;
      if (g != 0 || end - q < geo.g) {  // part of one position
        int64_t ng = geo.g - g < geo.tile_groups ? geo.g - g : geo.tile_groups;
        if (ng > end - q) ng = end - q;
        Fill(geo, pos, 1, g, ng, t);
        q += ng;
        return true;
      }
      run_pos = pos;
      run_len = (end - q) / geo.g;
      const int64_t left_in_row = geo.wo - pos % geo.wo;
      if (run_len > left_in_row) run_len = left_in_row;
      run_g0 = 0;
      run_at = 0;
    }
    int64_t npos = run_len - run_at < geo.tile_positions ? run_len - run_at : geo.tile_positions;
    const int64_t ng = geo.g - run_g0 < geo.tile_groups ? geo.g - run_g0 : geo.tile_groups;
    Fill(geo, run_pos + run_at, npos, run_g0, ng, t);
    run_at += npos;
    if (run_at >= run_len) {
      run_at = 0;
      run_g0 += geo.tile_groups;
      if (run_g0 >= geo.g) {
        q = (run_pos + run_len) * geo.g;
        run_len = 0;
      }
    }
    return true;
  }

  // Group-major order, q = ((n * G + g) * Ho + ho) * Wo + wo: a tile is a run of up to
  // tile_positions positions of one (n, g) plane, in one group (tile_groups is 1). A run that
  // starts at output column 0 may go on into the next output rows (the plan makes tile_positions
  // larger than Wo only where the ring holds the whole plane); one that starts inside a row ends
  // with it, so position i of a tile is always column (wo + i) % Wo of row ho + (wo + i) / Wo
  // with wo + i < Wo or wo = 0, which the per-point tables (BuildPointTables) encode once.
  __aicore__ inline bool NextOfGroup(const Geometry& geo, Tile* t) {
    if (q >= end) return false;
    const int64_t plane = geo.ho * geo.wo;
    const int64_t image_group = q / plane, in_plane = q - image_group * plane;
    const int64_t n = image_group / geo.g, wo = in_plane % geo.wo;
    const int64_t left = wo == 0 ? plane - in_plane : geo.wo - wo;
    int64_t npos = left < geo.tile_positions ? left : geo.tile_positions;
    if (npos > end - q) npos = end - q;
    Fill(geo, n * plane + in_plane, npos, image_group - n * geo.g, 1, t);
    q += npos;
    return true;
  }

 private:
  __aicore__ static inline void Fill(const Geometry& geo, int64_t pos, int64_t npos, int64_t g0, int64_t ng, Tile* t) {
    const int64_t row = pos / geo.wo;  // n * Ho + ho
    t->pos = pos;
    t->n = row / geo.ho;
    t->ho = row - t->n * geo.ho;
    t->wo = pos - row * geo.wo;
    t->npos = npos;
    t->g0 = g0;
    t->ngroups = ng;
    t->pg_span = (npos - 1) * geo.tile_groups + ng;
  }
};

}  // namespace dcnv3_kernel
