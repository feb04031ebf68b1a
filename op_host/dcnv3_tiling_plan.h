// Tiling decision for the DCNv3 kernels: pure C++17, no CANN types, so the CANN TilingFunc
// (dcnv3_op_common.h), the simulator and the unit tests all run the same code.
//
// Work split: the N*Ho*Wo*G pixel-groups (output position x group), flattened, are cut into
// block_dim contiguous ranges, average + remainder. Order (n, g, ho, wo), "group-major", when its
// tiles get an input window and the cycle model below finds it cheaper (every InternImage layer,
// 7x7 to 56x56): a core walks long runs of one group's positions, row after row, and its tiles share
// the ring of input rows (forward) or window columns (backward); in pixel-groups, or in whole output
// rows of one group when that is balanced to kPositionSplitImbalance and the model finds it
// cheaper (every core then starts at column 0, so its tiles can span rows). Otherwise order
// (n, ho, wo, g), in whole positions when that is balanced to kPositionSplitImbalance, else in
// single pixel-groups (no core idles while there is a pixel-group for it). Either way each
// pixel-group's grad_offset / grad_mask belongs to exactly one core.
// Tiles: a core walks its range in rectangles of up to tile_positions positions of one output row
// x tile_groups groups (1 in group-major order; op_kernel/dcnv3_tiles.h, TileCursor); where the
// forward's ring holds the whole (n, g) plane (H <= its capacity: InternImage's 7x7 maps) a tile may
// run over several output rows of its plane. The shape is the one whose busiest core is cheapest in
// a rough cycle model (PlanCycles) among those whose UB layout (op_kernel/dcnv3_ub_layout.h, the
// code the kernel carves its UB with) fits the UB minus a reserve. The model only ranks candidates;
// sim.report's per-pipe estimate (python/dcnv3_ascend/sim/cost_model.py) is the check: on every
// InternImage-T/B layer the shapes this picks estimate faster than the previous choice.
// Corner fetch: window mode when a tile with its input window capacity (nominal sampling area plus
// kWindowMargin pixels, see WindowFor) fits, else one pair DMA per row per point. The kernel loads
// only the part of the capacity its points' 2x2 neighbourhoods reach. The backward may instead
// reserve whole image rows (one DMA per window for a tile of one group, against one per row) when
// the model finds that cheaper. Group-major tiles of one group may take the ring (kFetchRing) in
// both kernels; the backward's fp32 accumulator ring doubles its UB and its per-row traffic.
// Backward: grad_input is an fp32 output that the framework zeroes before the launch
// (dcnv3_grad_outputs.h); the kernel adds into it with fp32 atomic DMAs, so no core waits for
// another and no user workspace is needed.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "../op_kernel/dcnv3_tiling_key.h"
#include "../op_kernel/dcnv3_ub_layout.h"
#include "dcnv3_contract.h"
#include "dcnv3_tiling_fields.h"

namespace dcnv3 {

// The kernels' dtypes; each value is the tiling key of that dtype's kernel (dcnv3_tiling_key.h).
enum class DataType : int64_t {
  kFloat32 = DCNV3_TILING_KEY_FLOAT32,
  kFloat16 = DCNV3_TILING_KEY_FLOAT16,
  kBFloat16 = DCNV3_TILING_KEY_BFLOAT16,
};

struct SocInfo {
  int64_t vector_core_num;
  int64_t ub_bytes;
};

struct TilingData {
#define DCNV3_PLAIN_FIELD(type, name) type name;
  DCNV3_TILING_FIELDS(DCNV3_PLAIN_FIELD)
#undef DCNV3_PLAIN_FIELD
};

struct TilingPlan {
  TilingData data;
  uint32_t block_dim;
  uint64_t tiling_key;
  uint64_t workspace_bytes;  // user workspace: none, the kernels keep everything in UB and the outputs
};

// UB kept free of the kernels' buffers, for the runtime and as a margin.
constexpr int64_t kUbReserveBytes = 16 * 1024;

inline int64_t DtypeBytes(DataType t) { return t == DataType::kFloat32 ? 4 : 2; }

// Tiling key = dtype: the kernels instantiate one templated class per key.
inline uint64_t TilingKeyFor(DataType t) { return static_cast<uint64_t>(t); }

inline int64_t ChannelsPad(int64_t group_channels, DataType t) {
  const int64_t per_block = dcnv3_ub::kUbBlock / DtypeBytes(t);
  return (group_channels + per_block - 1) / per_block * per_block;
}

// Pixels of input margin the window capacity keeps around a tile's nominal sampling area (the area
// the taps cover with zero offsets): samples displaced by up to this many pixels are served from the
// window; larger offsets fall back to per-point DMAs (still correct, only slower). The UB is
// reserved for the capacity; the kernel loads the bounding box of the tile's actual samples.
constexpr int64_t kWindowMargin = 4;

struct WindowDims {
  int64_t rows = 0, cols = 0;  // 0: no window (pair-per-row fetch)
  int64_t cols_base = 0;  // columns of a one-position tile before clipping to the image
};

// Window that holds the 2x2 neighbourhoods of `tile_positions` positions of one output row with
// offsets up to kWindowMargin pixels, clipped to the image; none for an empty image.
// full_width: whole image rows instead (a window of the image's width is one run of pixels in GM,
// so a tile with a subset of the groups loads it with one DMA instead of one per row).
inline WindowDims WindowFor(const Problem& p, int64_t tile_positions, bool full_width) {
  const Attrs& a = p.attrs;
  const double scale = a.offset_scale < 0 ? -a.offset_scale : a.offset_scale;
  WindowDims d;
  if (p.height_in == 0 || p.width_in == 0) return d;  // an empty image: nothing to load
  // The taps' spread, cut to the image (a wider spread gives the same window): a large
  // offset_scale makes it pass int64, whose conversion from double is undefined (x86 gave
  // win_rows = -2^63 + 10).
  const auto spread = [scale](int64_t kernel, int64_t dilation, int64_t size) {
    return static_cast<int64_t>(std::min(std::ceil((kernel - 1) * dilation * scale), static_cast<double>(size)));
  };
  const int64_t taps_h = spread(a.kernel_h, a.dilation_h, p.height_in);
  const int64_t taps_w = spread(a.kernel_w, a.dilation_w, p.width_in);
  d.rows = std::min(p.height_in, taps_h + 2 + 2 * kWindowMargin);
  d.cols_base = taps_w + 2 + 2 * kWindowMargin;
  d.cols = full_width ? p.width_in : std::min(p.width_in, (tile_positions - 1) * a.stride_w + d.cols_base);
  return d;
}

inline dcnv3_ub::UbLayout LayoutFor(const Problem& p, DataType t, int64_t tile_positions, int64_t tile_groups,
                                    bool backward, WindowDims win, bool ring = false) {
  return dcnv3_ub::MakeUbLayout(
      static_cast<uint32_t>(DtypeBytes(t)), static_cast<uint32_t>(p.points), static_cast<uint32_t>(tile_positions),
      static_cast<uint32_t>(tile_groups), static_cast<uint32_t>(ChannelsPad(p.attrs.group_channels, t)), backward,
      dcnv3_ub::WindowPixelGroups(win.rows, win.cols, tile_groups, ring), static_cast<uint32_t>(p.width_out));
}

// MakeUbLayout counts in uint32, as the kernel's UB offsets do. Its largest terms are a tile's
// fp32 corner data (kSlots rows of c_pad channels per point) and its input window (c_pad channels
// of the input dtype per pixel-group): a tile where either alone passes `budget` cannot fit, and is
// refused here in 64-bit before those uint32 products can wrap to a small total (group_channels =
// 2^29 did, and was planned). Both are parts of the layout, so no tile that fits is refused.
inline bool LayoutMayFit(const Problem& p, DataType t, int64_t tile_positions, int64_t tile_groups, WindowDims win,
                         bool ring, int64_t budget) {
  const int64_t cpad = ChannelsPad(p.attrs.group_channels, t);
  int64_t points = 0, corner = 0, pixel_groups = 0, window = 0;
  return CheckedMul(tile_positions, tile_groups, &points) && CheckedMul(points, p.points, &points) &&
         CheckedMul(points, dcnv3_ub::kSlots * cpad * 4, &corner) && corner <= budget &&
         CheckedMul(win.rows + (ring ? 1 : 0), win.cols, &pixel_groups) &&
         CheckedMul(pixel_groups, tile_groups, &pixel_groups) &&
         CheckedMul(pixel_groups, cpad * DtypeBytes(t), &window) && window <= budget;
}

// Limits of this kernel design beyond the op's contract. "" when the problem is supported, else a
// message naming the argument and the limit.
inline std::string CheckKernelLimits(const Problem& p, DataType t, const SocInfo& soc, bool backward) {
  const Attrs& a = p.attrs;
  // The kernels place sampling points in fp32 (dcnv3_sample_locate.h): image extents, output
  // positions times strides, taps times dilations and pads all enter it, and each is at most the
  // padded extent, so a padded extent up to 2^24 keeps them exact integers. Beyond it a point
  // lands on a neighbouring pixel. An empty problem samples nothing.
  constexpr int64_t kMaxExactFloat = int64_t{1} << 24;
  if (p.batch > 0 && p.height_in > 0 && p.width_in > 0) {
    if (p.height_in + 2 * a.pad_h > kMaxExactFloat)
      return "input H + 2*pad_h = " + std::to_string(p.height_in) + " + 2*" + std::to_string(a.pad_h) +
             " must be <= 2^24 = 16777216: the kernels compute sampling locations in fp32";
    if (p.width_in + 2 * a.pad_w > kMaxExactFloat)
      return "input W + 2*pad_w = " + std::to_string(p.width_in) + " + 2*" + std::to_string(a.pad_w) +
             " must be <= 2^24 = 16777216: the kernels compute sampling locations in fp32";
  }
  // Corner addresses inside one image row are int32 in the kernel (the row index is 64-bit). The
  // product is checked: an empty image's W and channels may multiply past int64.
  int64_t row_elems = 0;
  if (!CheckedMul(p.width_in, p.channels, &row_elems) || row_elems >= (int64_t{1} << 31))
    return "input width * channels must be < 2^31, got " + std::to_string(p.width_in) + " * " +
           std::to_string(p.channels);
  // DataCopyPad's GM stride is a 32-bit byte count. The widest GM gaps the kernels step over are
  // under one image row of the input (the backward's grad_input rows are fp32 whatever the
  // dtype) and under one position's offsets (grad_offset alike).
  constexpr int64_t kMaxGmStride = int64_t{1} << 32;
  const int64_t row_bytes = row_elems * (backward ? 4 : DtypeBytes(t));
  if (row_bytes >= kMaxGmStride)
    return "input width * channels * " + std::to_string(backward ? 4 : DtypeBytes(t)) +
           " bytes = " + std::to_string(row_bytes) + " must be < 2^32: one image row is a DMA stride" +
           (backward ? " (the backward's grad_input is fp32)" : "");
  int64_t offset_bytes = 0;
  if (!CheckedMul(a.group * 2 * DtypeBytes(t), p.points, &offset_bytes) || offset_bytes >= kMaxGmStride)
    return "group * P * 2 * " + std::to_string(DtypeBytes(t)) +
           " bytes (offsets of one output position) = " + std::to_string(a.group) + " * " + std::to_string(p.points) +
           " * " + std::to_string(2 * DtypeBytes(t)) + " must be < 2^32: one position's offsets are a DMA stride";
  const int64_t budget = soc.ub_bytes - kUbReserveBytes;
  auto fits = [&](const Problem& q) {
    return LayoutMayFit(q, t, 1, 1, WindowDims{}, false, budget) &&
           LayoutFor(q, t, 1, 1, backward, WindowDims{}).total <= budget;
  };
  if (!fits(p)) {
    const std::string where = " does not fit the " + std::to_string(soc.ub_bytes) +
                              "-byte unified buffer of this SoC in the " + (backward ? "backward" : "forward") +
                              " kernel";
    Problem smaller = p;  // the largest group_channels one group's points fit the UB with
    smaller.attrs.group_channels = 1;
    if (!fits(smaller))
      return "a " + std::to_string(a.kernel_h) + "x" + std::to_string(a.kernel_w) + " kernel (" +
             std::to_string(p.points) + " sampling points per group)" + where +
             " even with group_channels=1; use a kernel with fewer points";
    int64_t lo = 1, hi = a.group_channels - 1;  // fits at lo, not above hi
    while (lo < hi) {
      smaller.attrs.group_channels = lo + (hi - lo + 1) / 2;
      if (fits(smaller))
        lo = smaller.attrs.group_channels;
      else
        hi = smaller.attrs.group_channels - 1;
    }
    return "group_channels=" + std::to_string(a.group_channels) + " with a " + std::to_string(a.kernel_h) + "x" +
           std::to_string(a.kernel_w) + " kernel" + where + "; at most group_channels=" + std::to_string(lo) +
           " is supported";
  }
  return "";
}

namespace detail {

inline void FillProblem(const Problem& p, TilingData* d) {
  d->batch = p.batch;
  d->height_in = p.height_in;
  d->width_in = p.width_in;
  d->height_out = p.height_out;
  d->width_out = p.width_out;
  d->points = p.points;
#define DCNV3_FILL_ATTR(index, name, kind) d->name = p.attrs.name;
  DCNV3_ATTRS(DCNV3_FILL_ATTR, )
#undef DCNV3_FILL_ATTR
  d->offset_scale_pad = 0.0f;
}

// Contiguous ranges of `total` items over at most `cores` cores.
inline uint32_t SplitEvenly(int64_t total, int64_t cores, int64_t* per_core, int64_t* remainder) {
  const int64_t used = std::max<int64_t>(1, std::min(cores, total));
  *per_core = total / used;
  *remainder = total % used;
  return static_cast<uint32_t>(used);
}

// Largest ratio of the busiest core's positions to the average for which the work is split in
// whole positions.
constexpr double kPositionSplitImbalance = 1.1;

// A rough cycle model of one vector core, only to rank tile shapes (not a performance
// prediction): the fixed cost of a small DMA, bytes per cycle of one core's share of HBM (1.8 TB/s
// over 40 cores at 1.8 GHz), the fixed cost of a tile's ~100 vector and scalar instructions, and
// vector element passes per corner element (the vector code runs over the tile's full capacity,
// so short tiles cost as much as full ones).
constexpr double kDmaCycles = 100;
constexpr double kBytesPerCycle = 25;
constexpr double kTileCycles = 2000;
constexpr double kPassesPerCornerElement = 6;
constexpr double kFp32LanesPerCycle = 64;
// The model counts in units of 1/1600 cycle, where every term is a whole number: sums stay exact
// in a double (up to 2^53 units, some 5e12 cycles per core), so a run of identical tiles counted
// once and multiplied (GroupMajorCost) gives the very sum that adding them one by one gives,
// and the ranking does not depend on how the tiles are counted.
constexpr double kUnitsPerCycle = 1600;
constexpr double kDmaUnits = kDmaCycles * kUnitsPerCycle;
constexpr double kTileUnits = kTileCycles * kUnitsPerCycle;
constexpr double kUnitsPerByte = kUnitsPerCycle / kBytesPerCycle;
constexpr double kUnitsPerCornerElement = kPassesPerCornerElement * kUnitsPerCycle / kFp32LanesPerCycle;
static_assert(kUnitsPerByte == static_cast<int64_t>(kUnitsPerByte) &&
                  kUnitsPerCornerElement == static_cast<int64_t>(kUnitsPerCornerElement),
              "every term of the cycle model must be a whole number of units");

struct TileShape {
  int64_t positions, groups;  // capacity
  WindowDims win;  // rows 0: pair fetch
  bool backward;  // the backward also adds its fp32 window accumulator back to GM
  bool ring = false;  // group-major: win is a ring of whole image rows (kFetchRing)
};

// Cost (units of the model) of one tile of `npos` positions x `ng` groups cut from `s`.
inline double TileCycles(const Problem& p, DataType t, const TileShape& s, int64_t npos, int64_t ng) {
  const int64_t cpad = ChannelsPad(p.attrs.group_channels, t);
  const bool aligned = cpad == p.attrs.group_channels;
  // offsets, mask, output (forward) or grad_output, grad_offset, grad_mask (backward)
  double dmas = (s.backward ? 4 : 2) + (aligned ? 1 : npos);
  double window_bytes = 0;
  if (s.ring) {
    // the ring's loads are charged per output row (GroupMajorCost)
  } else if (s.win.rows > 0) {
    const int64_t cols =
        s.win.cols == p.width_in ? s.win.cols : std::min(s.win.cols, s.win.cols_base + (npos - 1) * p.attrs.stride_w);
    const bool all_groups = ng == p.attrs.group;
    // The kernel loads only its points' bounding box; the model charges the whole capacity.
    const bool one_run = cols == p.width_in && s.win.rows * cols * ng <= dcnv3_ub::kMaxDmaBlocks;
    const int64_t runs = one_run ? 1 : s.win.rows;
    const double window_dmas = aligned && all_groups ? 1 : (aligned || all_groups ? runs : runs * ng);
    const double pixel_groups = static_cast<double>(s.win.rows * cols * ng);
    dmas += (s.backward ? 2 : 1) * window_dmas;  // backward: load, and add gacc back with the same DMAs
    window_bytes = pixel_groups * cpad * (DtypeBytes(t) + (s.backward ? 4 : 0));
  } else {
    dmas += 2.0 * npos * ng * p.points * (s.backward ? 2 : 1);  // backward: fetch, then scatter
  }
  const double capacity_elements = static_cast<double>(s.positions * s.groups * p.points * dcnv3_ub::kSlots * cpad);
  return kTileUnits + dmas * kDmaUnits + window_bytes * kUnitsPerByte + capacity_elements * kUnitsPerCornerElement;
}

// Cost of the core owning pixel-groups [a, b): the tiles the kernel's TileCursor
// (op_kernel/dcnv3_tiles.h) cuts, counted per output-row run and per group chunk instead of one
// by one (whole units, so the products equal the sums).
inline double CoreCycles(const Problem& p, DataType t, const TileShape& s, int64_t a, int64_t b) {
  const int64_t g = p.attrs.group, wo = p.width_out;
  // `groups` groups in chunks of s.groups, the last one short: cost(ng) per chunk of ng groups
  auto over_groups = [&](int64_t groups, auto cost) {
    double sum = static_cast<double>(groups / s.groups) * cost(s.groups);
    if (groups % s.groups) sum += cost(groups % s.groups);
    return sum;
  };
  double total = 0;
  auto part_of_position = [&](int64_t groups) {
    total += over_groups(groups, [&](int64_t ng) { return TileCycles(p, t, s, 1, ng); });
  };
  auto run = [&](int64_t len, int64_t times) {  // `times` runs of `len` whole positions in one row
    total += static_cast<double>(times) * over_groups(g, [&](int64_t ng) {
               double cycles = static_cast<double>(len / s.positions) * TileCycles(p, t, s, s.positions, ng);
               if (len % s.positions) cycles += TileCycles(p, t, s, len % s.positions, ng);
               return cycles;
             });
  };
  int64_t q = a;
  if (q < b && (q % g != 0 || b - q < g)) {  // head: part of a position
    const int64_t n = std::min(g - q % g, b - q);
    part_of_position(n);
    q += n;
  }
  int64_t first = q / g;
  const int64_t last = b / g;  // whole positions [first, last)
  if (last > first) {
    const int64_t head = std::min(last - first, wo - first % wo);
    run(head, 1);
    first += head;
    run(wo, (last - first) / wo);
    first += (last - first) / wo * wo;
    if (last > first) run(last - first, 1);
    q = last * g;
  }
  if (b > q) part_of_position(b - q);  // tail
  return total;
}

// Cost of a core's pixel-groups in group-major order: runs of up to s.positions positions of one
// plane, one group each, that end with their output row unless they start at column 0
// (TileCursor::NextOfGroup).
// A ring loads its whole capacity where the core starts a plane (or starts), then stride_h rows
// per output row it moves down (the kernel loads only the rows its points reach; the model
// charges these); a ring that holds the whole plane loads nothing more. The backward's
// accumulator ring adds as many fp32 rows back to GM, with one more DMA.
// The host plans on every launch, and walking every tile took 62 ms at 1x800x1333, so the walk
// counts what repeats once and multiplies it (exact: the model's terms are whole units):
// - whole planes cost alike (each starts with the ring's full load);
// - from a tile that starts at column 0 right below the previous tile's last row, the same tiles
//   and ring loads come back every period_rows output rows (a tile of s.positions spans that many
//   rows, and the short tile after it ends the last one);
// - the rest of a row whose ring rows are loaded is s.positions-tiles and what is left.
class GroupMajorCost {
 public:
  // The contract gives Wo >= 1; the guard keeps a division by zero out of reach all the same.
  GroupMajorCost(const Problem& p, DataType t, const TileShape& s)
      : p_(p),
        t_(t),
        s_(s),
        wo_(p.width_out),
        plane_(p.height_out * p.width_out),
        period_rows_(wo_ > 0 && s.positions >= wo_ ? (s.positions + wo_ - 1) / wo_ : 1),
        full_tile_(TileCycles(p, t, s, s.positions, 1)) {
    const int64_t cpad = ChannelsPad(p.attrs.group_channels, t);
    ring_row_units_ = static_cast<double>(p.width_in * cpad * (DtypeBytes(t) + (s.backward ? 4 : 0))) * kUnitsPerByte;
  }

  // Cost of the tiles of pixel-groups [q, end), the core's range or the rest of it.
  double Walk(int64_t q, int64_t end) {
    double sum = 0;
    while (q < end) {
      int64_t unit = 0, bound = end;  // a stretch that repeats from q, within [q, bound)
      if (q % plane_ == 0) {
        unit = plane_;
      } else if (q % wo_ == 0 && last_row_ == q / wo_ - 1) {
        unit = period_rows_ * wo_;
        bound = std::min(end, (q / plane_ + 1) * plane_);
      }
      const int64_t repeats = unit > 0 ? (bound - q) / unit : 0;
      if (repeats > 1) {
        sum += Walk(q, q + unit) * static_cast<double>(repeats);
        q += repeats * unit;
        last_row_ = q / wo_ - 1;
      } else if (s_.positions < wo_ && last_row_ == q / wo_) {
        const int64_t len = std::min(end, (q / wo_ + 1) * wo_) - q;
        sum += static_cast<double>(len / s_.positions) * full_tile_;
        if (len % s_.positions) sum += TileCycles(p_, t_, s_, len % s_.positions, 1);
        q += len;
      } else {
        q += Tile(q, end, &sum);
      }
    }
    return sum;
  }

 private:
  // Adds the tile that starts at q to *sum; returns its positions.
  int64_t Tile(int64_t q, int64_t end, double* sum) {
    const int64_t left = q % wo_ == 0 ? plane_ - q % plane_ : wo_ - q % wo_;
    const int64_t npos = std::min({left, s_.positions, end - q});
    *sum += npos == s_.positions ? full_tile_ : TileCycles(p_, t_, s_, npos, 1);
    const int64_t row = q / wo_, end_row = (q + npos - 1) / wo_;
    const bool same_plane = last_row_ >= 0 && row / p_.height_out == last_row_ / p_.height_out;
    const double ring_dma_units = (s_.backward ? 2 : 1) * kDmaUnits;
    if (s_.ring && !same_plane) {
      *sum += ring_dma_units + static_cast<double>(s_.win.rows) * ring_row_units_;
    } else if (s_.ring && s_.win.rows != p_.height_in && end_row > last_row_) {
      const int64_t rows = std::min(p_.attrs.stride_h * (end_row - last_row_), s_.win.rows);
      *sum += ring_dma_units + static_cast<double>(rows) * ring_row_units_;
    }
    last_row_ = std::max(last_row_, end_row);
    return npos;
  }

  const Problem& p_;
  const DataType t_;
  const TileShape& s_;
  const int64_t wo_, plane_, period_rows_;
  const double full_tile_;
  double ring_row_units_ = 0;
  int64_t last_row_ = -1;  // (n * G + g) * Ho + ho of the previous tile's last position
};

// Cost of the busiest core for a shape.
inline double PlanCycles(const Problem& p, DataType t, const TileShape& s, const TilingData& d, uint32_t cores) {
  double worst = 0;
  for (uint32_t core = 0; core < cores; ++core) {
    const int64_t c = core, extra = d.units_remainder;
    const int64_t begin = (c * d.units_per_core + std::min(c, extra)) * d.split_unit;
    const int64_t end = begin + (d.units_per_core + (c < extra ? 1 : 0)) * d.split_unit;
    worst = std::max(worst, d.group_major ? GroupMajorCost(p, t, s).Walk(begin, end) : CoreCycles(p, t, s, begin, end));
  }
  return worst;
}

// The tile shape with the cheapest busiest core (PlanCycles) among those whose UB layout fits
// `budget`: for each group count, the most positions that fit and the position counts that cut an
// output row evenly. Window fetch when a window fits, else pair fetch. False if not even one
// pixel-group fits.
inline bool ChooseTile(const Problem& p, DataType t, bool backward, int64_t budget, const TilingData& d, uint32_t cores,
                       TileShape* best, double* best_cycles_out) {
  // Gatherb's destination repeat stride (8 blocks per corner row) is 8 bits; a window row of
  // pixel-groups is one DMA of at most kMaxDmaBlocks blocks; the kernel's bounding-box fold steps
  // over per-point arrays with an 8-bit repeat stride (npc <= kMaxWindowNpc).
  const bool window_ok = 8 * ChannelsPad(p.attrs.group_channels, t) * DtypeBytes(t) / 32 <= 255;
  const int64_t core_pgs = (d.units_per_core + (d.units_remainder ? 1 : 0)) * d.split_unit;
  const int64_t max_groups = d.group_major ? 1 : p.attrs.group;  // group-major tiles hold one group
  const int64_t row_positions = std::max<int64_t>(1, std::min(p.width_out, (core_pgs + max_groups - 1) / max_groups));
  double best_cycles = 0;
  bool found = false;
  for (const bool window : {true, false}) {
    if (window && !window_ok) continue;
    // kind 0: a window sized to the tile; 1: whole image rows (backward); 2: the ring (group-major:
    // kFetchRing)
    auto shape = [&](int64_t positions, int64_t groups, int kind) {
      const WindowDims win = window ? WindowFor(p, positions, kind != 0) : WindowDims{};
      return TileShape{positions, groups, win, backward, window && kind == 2};
    };
    auto fits = [&](int64_t positions, int64_t groups, int kind = 0) {
      const TileShape s = shape(positions, groups, kind);
      if (!LayoutMayFit(p, t, positions, groups, s.win, s.ring, budget)) return false;
      const dcnv3_ub::UbLayout l = LayoutFor(p, t, positions, groups, backward, s.win, s.ring);
      return s.win.cols * groups <= dcnv3_ub::kMaxDmaBlocks && l.total <= budget &&
             (!window || l.npc <= dcnv3_ub::kMaxWindowNpc);
    };
    for (int64_t groups = 1; groups <= max_groups && fits(1, groups); ++groups) {
      for (const int kind : {0, 1, 2}) {
        const bool allowed = kind == 0 || (window && (kind == 1 ? backward : d.group_major));
        if (!allowed || !fits(1, groups, kind)) continue;
        // A ring that holds the whole plane serves tiles of several output rows (the kernel's
        // tables place position i at row i / Wo, column i % Wo): up to the core's share of a plane.
        const bool rows_ok = kind == 2 && shape(1, groups, kind).win.rows == p.height_in;
        const int64_t max_positions =
            rows_ok ? std::max<int64_t>(1, std::min(p.height_out * p.width_out, core_pgs)) : row_positions;
        int64_t lo = 1, hi = max_positions;
        while (lo < hi) {  // most positions that fit
          const int64_t mid = (lo + hi + 1) / 2;
          if (fits(mid, groups, kind))
            lo = mid;
          else
            hi = mid - 1;
        }
        // Each count once: many pieces cut a wide row into tiles of the same count (1333 columns
        // gave 1,300 evaluations of n = 2), and an equal cost never replaces the best.
        std::vector<int64_t> considered;
        auto consider = [&](int64_t n) {
          if (std::find(considered.begin(), considered.end(), n) != considered.end()) return;
          considered.push_back(n);
          const double cycles = PlanCycles(p, t, shape(n, groups, kind), d, cores);
          if (!found || cycles < best_cycles) {
            best_cycles = cycles;
            found = true;
            *best = shape(n, groups, kind);
          }
        };
        for (int64_t rows = 2; rows * p.width_out <= lo; ++rows) consider(rows * p.width_out);  // whole rows
        // The count that cuts a row evenly into the fewest tiles of at most `most` positions, found
        // by division: stepping the number of pieces up one at a time took a step per output
        // column (minutes with an empty batch or image, whose pad may reach 2^31 - 1).
        const auto even_cut = [&](int64_t most) {
          const int64_t pieces = (p.width_out + most - 1) / most;
          return (p.width_out + pieces - 1) / pieces;
        };
        const int64_t even = even_cut(lo);
        consider(even);
        consider(lo);
        if (even == lo && lo > 1) consider(even_cut(lo - 1));  // smaller counts only add tiles
      }
    }
    if (found) break;  // a window layout beats per-point DMAs whenever it fits
  }
  *best_cycles_out = best_cycles;
  return found;
}

// The work split in one order: position-major in whole positions when that is balanced to
// kPositionSplitImbalance, else in pixel-groups; group-major in pixel-groups, or (whole_rows) in
// output rows of one group when that is balanced as well (false if it is not), so that every
// core starts at column 0 and its tiles may span several rows (TileCursor::NextOfGroup).
inline bool Split(const Problem& p, int64_t cores, bool group_major, bool whole_rows, TilingData* d, uint32_t* used) {
  const int64_t positions = p.batch * p.height_out * p.width_out;
  const int64_t units = !group_major ? positions : whole_rows ? positions / p.width_out * p.attrs.group : 0;
  // The busiest core's units, rounded up without adding: an empty image's output may hold up to
  // 2^63 - 1 positions, and units + cores - 1 overflowed.
  const int64_t busiest = units / cores + (units % cores != 0 ? 1 : 0);
  const bool whole = units >= cores && busiest <= kPositionSplitImbalance * units / cores;
  if (whole_rows && !whole) return false;
  d->group_major = group_major ? 1 : 0;
  d->split_unit = !whole ? 1 : group_major ? p.width_out : p.attrs.group;
  *used = SplitEvenly(whole ? units : positions * p.attrs.group, cores, &d->units_per_core, &d->units_remainder);
  return true;
}

inline TilingPlan Plan(const Problem& p, DataType t, const SocInfo& soc, bool backward) {
  TilingPlan plan{};
  TilingData& d = plan.data;
  FillProblem(p, &d);
  // Both orders, each with its cheapest tile; group-major (a core walks long runs of one group's
  // positions, so its windows share columns, on small maps whole planes) when its tiles get an
  // input window and the model finds it cheaper, split in pixel-groups or in whole output rows,
  // whichever the model finds cheaper. Group-major wins on every InternImage layer; on 7x7 maps
  // only since the forward's tiles may span several output rows (one 7-position row per tile paid
  // the fixed vector work of a tile per 63 points, and the model kept position-major tiles).
  const int64_t budget = soc.ub_bytes - kUbReserveBytes;
  TileShape shape{1, 1, WindowDims{}, backward};  // CheckKernelLimits rejects problems where nothing fits
  double cycles = 0;
  Split(p, soc.vector_core_num, false, false, &d, &plan.block_dim);
  ChooseTile(p, t, backward, budget, d, plan.block_dim, &shape, &cycles);
  for (const bool whole_rows : {false, true}) {
    TilingData g = d;
    TileShape g_shape{1, 1, WindowDims{}, backward};
    double g_cycles = 0;
    uint32_t g_cores = 0;
    if (p.attrs.group > 1 && Split(p, soc.vector_core_num, true, whole_rows, &g, &g_cores) &&
        ChooseTile(p, t, backward, budget, g, g_cores, &g_shape, &g_cycles) && g_shape.win.rows > 0 &&
        g_cycles < cycles) {
      d = g;
      shape = g_shape;
      cycles = g_cycles;
      plan.block_dim = g_cores;
    }
  }
  d.tile_positions = shape.positions;
  d.tile_groups = shape.groups;
  d.fetch_mode = shape.ring           ? dcnv3_ub::kFetchRing
                 : shape.win.rows > 0 ? dcnv3_ub::kFetchWindow
                                      : dcnv3_ub::kFetchPairPerRow;
  d.win_rows = shape.win.rows;
  d.win_cols = shape.win.cols;
  d.win_cols_base = shape.win.cols_base;
  d.channels_pad = ChannelsPad(p.attrs.group_channels, t);
  plan.tiling_key = TilingKeyFor(t);
  plan.workspace_bytes = 0;
  return plan;
}

}  // namespace detail

// UB bytes the kernel carves for `plan` (its one buffer; the plan keeps it <= ub_bytes - reserve).
inline int64_t PlannedUbBytes(const Problem& p, DataType t, const TilingData& d, bool backward) {
  const WindowDims win =
      d.fetch_mode != dcnv3_ub::kFetchPairPerRow ? WindowDims{d.win_rows, d.win_cols, d.win_cols_base} : WindowDims{};
  return LayoutFor(p, t, d.tile_positions, d.tile_groups, backward, win, d.fetch_mode == dcnv3_ub::kFetchRing).total;
}

// The host's tiling decision, as the TilingFunc (dcnv3_op_common.h) and the simulator harness both
// take it: "" and *plan, or the message of the kernel limit the problem breaks (then no launch).
// Every problem the contract accepts gets a launch that stays inside its tensors: an empty output
// gives one core with no pixel-group, an empty image (H or W 0) makes every sample invalid, so the
// kernels write zeros without reading the input.
inline std::string PlanTiling(const Problem& p, DataType dtype, const SocInfo& soc, bool backward, TilingPlan* plan) {
  const std::string e = CheckKernelLimits(p, dtype, soc, backward);
  if (!e.empty()) return e;
  *plan = detail::Plan(p, dtype, soc, backward);
  return "";
}

}  // namespace dcnv3
