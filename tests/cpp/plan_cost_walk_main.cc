// Test driver of the planner's cost walks (op_host/dcnv3_tiling_plan.h): CoreCycles and
// GroupMajorCost count repeated tiles once and multiply. Here every tile is enumerated by the
// kernel's own TileCursor (op_kernel/dcnv3_tiles.h, compiled against the simulator's
// kernel_operator.h) and charged one by one, with the ring loads as the model states them; the two
// totals must be equal to the last bit. Sweeps problems, tile shapes and core ranges; prints one
// line per mismatch, then "cases=N mismatches=M"; exit status 1 on a mismatch.
#include <cstdio>
#include <initializer_list>
#include <vector>

#include "dcnv3_tiles.h"
#include "dcnv3_tiling_plan.h"
#include "kernel_operator.h"

namespace {

using dcnv3::DataType;
using dcnv3::Problem;
using dcnv3::detail::TileShape;

// The cost of [a, b) charged tile by tile in the order the kernel walks it.
double ChargeEveryTile(const Problem& p, DataType t, const TileShape& s, bool group_major, int64_t a, int64_t b) {
  dcnv3_kernel::Geometry geo{};
  geo.ho = p.height_out;
  geo.wo = p.width_out;
  geo.g = p.attrs.group;
  geo.tile_positions = s.positions;
  geo.tile_groups = s.groups;
  geo.group_major = group_major;
  geo.pg_begin = a;
  geo.pg_end = b;
  dcnv3_kernel::TileCursor cursor;
  cursor.Start(geo);
  const int64_t cpad = dcnv3::ChannelsPad(p.attrs.group_channels, t);
  const double row_bytes = static_cast<double>(p.width_in * cpad * (dcnv3::DtypeBytes(t) + (s.backward ? 4 : 0)));
  const double ring_dmas = s.backward ? 2 : 1;
  double total = 0;
  int64_t plane = -1, last_row = -1;  // the ring's plane and the last output row its tiles reached
  dcnv3_kernel::Tile tile;
  while (cursor.Next(geo, &tile)) {
    total += dcnv3::detail::TileCycles(p, t, s, tile.npos, tile.ngroups);
    if (!s.ring) continue;
    const int64_t tile_plane = tile.n * geo.g + tile.g0;
    const int64_t row = tile_plane * geo.ho + tile.ho, end_row = row + (tile.wo + tile.npos - 1) / geo.wo;
    int64_t rows = 0;  // image rows the ring loads for this tile
    if (tile_plane != plane) {
      rows = s.win.rows;  // a new plane: the whole capacity
    } else if (s.win.rows != p.height_in && end_row > last_row) {
      rows = std::min(p.attrs.stride_h * (end_row - last_row), s.win.rows);  // stride_h rows per output row
    }
    if (tile_plane != plane || rows > 0)
      total +=
          ring_dmas * dcnv3::detail::kDmaUnits + static_cast<double>(rows) * row_bytes * dcnv3::detail::kUnitsPerByte;
    plane = tile_plane;
    last_row = std::max(last_row, end_row);
  }
  return total;
}

struct Dims {
  int64_t batch, ho, wo, group, stride_h;
};

}  // namespace

int main() {
  const Dims problems[] = {{1, 1, 1, 1, 1},  {1, 1, 13, 2, 1}, {1, 7, 1, 3, 1},  {2, 7, 7, 5, 1},
                           {1, 9, 13, 2, 2}, {3, 5, 40, 4, 1}, {1, 50, 9, 2, 3}, {2, 31, 17, 3, 1}};
  int64_t cases = 0, mismatches = 0;
  for (const Dims& dims : problems) {
    for (const DataType t : {DataType::kFloat32, DataType::kFloat16}) {
      for (const bool backward : {false, true}) {
        Problem p;
        p.batch = dims.batch;
        p.height_out = dims.ho;
        p.width_out = dims.wo;
        p.height_in = dims.ho * dims.stride_h;
        p.width_in = dims.wo;
        p.points = 9;
        p.attrs.kernel_h = p.attrs.kernel_w = 3;
        p.attrs.stride_h = dims.stride_h;
        p.attrs.stride_w = 1;
        p.attrs.group = dims.group;
        p.attrs.group_channels = 20;  // not a whole block in either dtype: per-position DMAs
        p.channels = dims.group * p.attrs.group_channels;
        const int64_t plane = dims.ho * dims.wo, pixel_groups = dims.batch * dims.group * plane;
        const int64_t wo = dims.wo;
        for (const bool group_major : {false, true}) {
          for (const int64_t positions : {int64_t{1}, int64_t{2}, int64_t{3}, wo - 1, wo, wo + 1, 2 * wo + 3, plane}) {
            for (const int64_t groups : {int64_t{1}, int64_t{2}, dims.group}) {
              if (positions < 1 || (group_major && groups != 1)) continue;
              for (const int64_t win_rows : {int64_t{0}, int64_t{1}, int64_t{3}, p.height_in}) {
                for (const bool ring : {false, true}) {
                  if (ring && (!group_major || win_rows == 0)) continue;
                  const dcnv3::WindowDims win{win_rows, win_rows ? std::min<int64_t>(wo, 7) : 0, win_rows ? 7 : 0};
                  const TileShape s{positions, groups, win, backward, ring};
                  // The plan's splits (pixel-groups, whole positions or rows) over several core
                  // counts, and ranges that start and end anywhere.
                  std::vector<std::pair<int64_t, int64_t>> ranges;
                  for (const int64_t unit : {int64_t{1}, group_major ? wo : dims.group}) {
                    for (const int64_t cores : {1, 3, 7, 40}) {
                      int64_t per_core = 0, extra = 0;
                      const uint32_t used = dcnv3::detail::SplitEvenly(pixel_groups / unit, cores, &per_core, &extra);
                      for (int64_t core = 0; core < used; ++core) {
                        int64_t begin = 0, end = 0;
                        dcnv3_kernel::Geometry::Range(core, per_core, extra, &begin, &end);
                        ranges.emplace_back(begin * unit, end * unit);
                      }
                    }
                  }
                  for (int64_t k = 1; k <= 9; ++k)
                    ranges.emplace_back(pixel_groups * k / 23, pixel_groups * (k + 9) / 19);
                  for (const auto& [a, b] : ranges) {
                    if (a >= b) continue;
                    const double walked = group_major ? dcnv3::detail::GroupMajorCost(p, t, s).Walk(a, b)
                                                      : dcnv3::detail::CoreCycles(p, t, s, a, b);
                    const double charged = ChargeEveryTile(p, t, s, group_major, a, b);
                    ++cases;
                    if (walked != charged) {
                      ++mismatches;
                      std::printf(
                          "mismatch: N=%lld Ho=%lld Wo=%lld G=%lld stride_h=%lld dtype=%lld backward=%d "
                          "group_major=%d positions=%lld groups=%lld win_rows=%lld ring=%d range=[%lld,%lld): "
                          "walk %.17g, every tile %.17g\n",
                          static_cast<long long>(dims.batch), static_cast<long long>(dims.ho),
                          static_cast<long long>(dims.wo), static_cast<long long>(dims.group),
                          static_cast<long long>(dims.stride_h), static_cast<long long>(t), backward, group_major,
                          static_cast<long long>(positions), static_cast<long long>(groups),
                          static_cast<long long>(win_rows), ring, static_cast<long long>(a), static_cast<long long>(b),
                          walked, charged);
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  }
  std::printf("cases=%lld mismatches=%lld\n", static_cast<long long>(cases), static_cast<long long>(mismatches));
  return mismatches == 0 ? 0 : 1;
}
