// DCNv3 forward on the Ascend vector cores (AIV only).
//
// Tiling (host: op_host/dcnv3_tiling_plan.h). The N*Ho*Wo*G pixel-groups (output position x
// group) are split into block_dim contiguous ranges, average + remainder. Where the host's tile
// model finds it cheaper (every InternImage layer, 7x7 to 56x56) they are taken in (n, g, ho, wo)
// order, in whole output rows of one group when that is balanced to 10 % (InternImage: 5-10 rows
// per core), and a core walks its range in tiles of up to tile_positions positions of one group:
// of one output row, or, where the ring below holds the whole (n, g) plane (7x7 maps), of several
// rows from column 0 (dcnv3_tiles.h, NextOfGroup). Otherwise in (n, ho, wo, g) order, in whole
// positions when that is balanced to 10 % and in single pixel-groups otherwise, in rectangles of
// positions x tile_groups groups. The tile size is chosen by the host as the cheapest for the busiest
// core in a rough cycle model among those whose UB layout (dcnv3_ub_layout.h, shared with the host)
// fits. The tile loop is shared with the backward (dcnv3_tile_loop.h).
//
// Once per core (Sampler::Init): the per-point tables (Gather offsets of each point's offset and
// mask, tap, output column and row within the tile) from an index sequence by ~40 vector
// instructions; stored by the scalar unit (7 UB stores per point of tile capacity) they were the
// busiest pipe of a 7x7 layer with whole-plane tiles.
// Per tile (dcnv3_sampler.h):
//   1. MTE2: the tile's offsets and mask (one strided DMA each).
//   2. V: Gather de-interleaves (x, y) and orders points point-major; sampling locations,
//      validity, floors, slot weights and addresses for all points of the tile in ~80 vector
//      instructions. NaN/Inf/outside samples become a sentinel before any float->int conversion.
//      Each point reads its 2x2 neighbourhood from the clamped top-left pixel, so every address is
//      inside the image and borders need no branch (weights of out-of-range corners are 0).
//      ~10 more instructions (Select, then Min folds in repeat form) reduce the valid points'
//      neighbourhoods to their bounding box.
//   3. S+MTE2, ring mode (kFetchRing: group-major tiles of one group, the plan's choice on every
//      InternImage layer; dcnv3_ring.h): the input ring holds whole image rows of the tile's (n, g)
//      plane, row r in slot r % win_rows, plus a copy of slot 0 after the last slot (so a point's
//      second row is always the next slot and the vector code wraps only the first). The scalar
//      unit reads the box, cuts it to the ring capacity placed on the tile's nominal rows, and loads
//      only the rows the ring does not hold yet (one DMA per run of slots): about stride_h new rows
//      per output row, whole rows per core and plane at its start; on maps no taller than the
//      capacity (7x7: 7 of 12 rows) the whole plane, once per core and plane. The ring is never
//      zeroed or reloaded for the next tile; a new plane starts it afresh.
//   3. S+MTE2, window mode (other layers): the scalar unit reads the box (32 values) and loads the
//      tile's input window: the box, for the tile's groups, cut to the window capacity (nominal sampling area + 4 px
//      margin, the UB the host reserved) around the nominal area when larger; none when no sample
//      is valid. One DMA, or one per window row when the tile has a subset of the groups or the
//      channels need 32-byte padding, unless the capacity spans the image width: then the window
//      takes whole rows, which follow each other in GM, and is one DMA again.
//   4. V: which points the window serves and their slot rows in it (overlapping the window DMA);
//      Gatherb copies the 4 corner rows of each from UB into the slots [slot][point][channel];
//      slots that are no real corner of their point read a zero row after the window instead
//      (dcnv3_sample_locate.h), so an Inf pixel reaches only the samples whose corner it is.
//   5. S+MTE2: points outside the window (offsets beyond the margin) fall back to 2 DMAs each,
//      one per image row, each a blockCount=2 DataCopyPad of the x-neighbour pair of the point's
//      group (a row with one real corner fetches that pixel alone, the other slot is zeroed);
//      the scalar unit reads one int32 per point to skip window points.
//   6. V: Brcb broadcasts each slot's weights (bilinear x mask) over channels, Muls weight the
//      corner data, 4P Adds of [pixel-group][channel] blocks sum slots and taps into the output
//      tile (fp32 accumulation for all dtypes), Cast to the output dtype.
//   7. MTE3: one DataCopyPad stores the tile (one per position when channels need padding), from
//      one of two output buffers, so the store overlaps the next tile's work.
// DMAs: 3 per tile + the ring rows it loads (window mode: 1 or window rows), + 2 per point outside
// the ring / window. InternImage-T/B layers, offsets randn * 2 px (python -m
// dcnv3_ascend.sim.report, all layers in the ring): fp32 0.024-0.035 DMAs per sampled point, GM
// traffic 1.22-1.67x the op's minimum (7x7: 1.22-1.34x, 13.7x when they kept position-major window
// tiles); fp16/bf16 0.024-0.040 DMAs per point, the same ratios.
// Bound (estimate, sim.report's cost model, not measured): the vector pipe on every layer, fp32
// ~6.0-11.4 vector repeats and 0.52-1.05 PipeBarriers per point (the per-slot Brcb/Mul/Add passes
// over the corner data); the scalar pipe is next (~1.1 scalar UB accesses per point, 1.4-4.2 with
// scalar-built tables). Estimated busiest core, fp32, against the kernels before these tiles and
// tables: T 40.5/20.6/17.8/7.9 us (was 43.1/23.3/20.2/12.3), B 66.9/33.8/29.4/14.1 (was
// 69.5/36.5/31.7/15.7); fp16 and bf16 (equal estimates) lower on every layer but T-stage1 (57.4
// against 56.6 us: its 19-position ring tiles, 3 per output row, are what the UB holds next to a
// 12-row fp16 ring, and whole-row ranges, which the plan's model prefers, are 7 % uneven there).
// Not fixed: position-major window tiles of 6 positions x 4 groups estimate 50.9 us at T-stage1
// fp16 but read 9.0x the minimum (issue 9's target is 3x); 21- and 24-position ring tiles fit but
// estimate 57.8 and 59.8 us (still 3 tiles per 56-wide row, and the vector work runs over each
// tile's full capacity).
//
// Rejected:
// - On 7x7 maps, one output row (7 positions, 63 points) per group-major tile: far less GM, but the
//   plan's model and the estimate found it slower than the position-major window tiles (each tile
//   pays the fixed vector work of ~100 instructions for few points), so the plan kept those (13.7x
//   GM). Tiles of several rows need the ring to hold the plane (its placement follows one output
//   row otherwise) and a row table (one more Add per tile).
// - Tiles of several rows with the tables stored by the scalar unit: T-stage4 became scalar-bound
//   (15.6 us estimated against 12.3 us for the window tiles): 315-point tiles cost ~2,200 scalar UB
//   stores per core, as many points as the core then samples.
// - Ranges in pixel-groups only: a core's range then starts inside an output row, its first tile is
//   a partial row and the busiest core has one tile more (B-stage4 17.4 us against 14.0 us in whole
//   rows). Whole rows are a candidate the plan's model weighs, not a rule.
// - Fewer cores with larger tiles on the 7x7 layers: not tried; with whole-row ranges each core
//   has 1-2 tiles and the estimate is bound by their vector work, which fewer cores would lengthen.
// - Ring slot of each slot row computed separately (h and h + 1 wrapped in vector code, no copy of
//   slot 0): ~10 more vector instructions per tile, +3-4 % in the estimate; the copy costs one row
//   of UB and one DMA per ring length.
// - A ring margin of 3 rows instead of the window's 4 (a 56-wide fp32 ring then leaves room for
//   28-position tiles): twice the pair-DMA fallback with randn * 2 px offsets (0.08 against 0.04
//   DMAs per point at T-stage1). Dropping the all-zero group table of one-group tiles made the room.
// - A fixed window per tile (nominal area + margin, loaded before the offsets are known): a 3x3
//   tile then reads 12 input rows however small its offsets; with the box, offsets of +-2 px need
//   7, and GM traffic fell 1.3-3.5x (backward 1.15-2.3x) on InternImage-T/B layers.
// - Position-major tiles (several positions x several groups; the order kept for one-group and
//   pair-fetch problems): each tile's window spans all its groups but few positions, so its
//   columns are loaded again by the next tile; 7-16x GM against 1.2-1.7x in the ring.
// - One DMA per bilinear corner (4 per point, DCNv2 kernels) or per corner row (2 per point,
//   MultiScaleDeformableAttn): the kernel is bound by DMA count; the window serves most points
//   from UB and keeps the pair DMA as the fallback only.
// - One DMA per point covering both rows with the x-neighbours of all groups in between
//   (blockCount 2, (G+1)*C elements per row): halves the DMAs but moves up to 16x the bytes for
//   wide G and still costs one DMA per point.
// - Per-point branches on border corners (MSDA style): a clamped slot with weight 0 gives the same
//   result with no scalar work.
// - GM addresses computed in float: exact only below 2^24; image rows are 64-bit scalar here and
//   in-row offsets int32 (the plan checks W * G * C < 2^31).
// - Whole output positions as the only work unit: a 7x7 map leaves a third of 40 cores with one
//   position and the rest with two; pixel-groups balance it.
#include "dcnv3_sampler.h"
#include "dcnv3_tile_loop.h"
#include "dcnv3_tiling_key.h"
#include "kernel_operator.h"

namespace dcnv3_kernel {

template <typename T>
class Forward {
 public:
  template <typename Tiling>
  __aicore__ inline void Init(const Tiling& tiling, GM_ADDR input, GM_ADDR offset, GM_ADDR mask, GM_ADDR output) {
    geo_.Load(tiling);
    output_.SetGlobalBuffer((__gm__ T*)output);
    s_.Init(geo_, &pipe_, input, offset, mask, false);
  }

  __aicore__ inline void Process() { RunTileLoop(geo_, *this); }

  // RunTileLoop's steps (dcnv3_tile_loop.h).
  __aicore__ inline void Load(const Tile& t) { s_.LoadOffsetMask(t); }
  __aicore__ inline void Sample(const Tile& t) { s_.Sample(t); }
  __aicore__ inline void Store(const Tile& t, uint32_t out) {
    s_.StoreChannelRows(t, output_, s_.template At<T>(s_.Out(s_.Layout().rows_t, out)));
  }

  // Output tile [pg][c] = sum over slots k and taps p of weight * corner data, accumulated in fp32
  // (rows_f for half types, the output buffer itself for fp32) and cast into output buffer `out`.
  __aicore__ inline void Compute(const Tile& t, uint32_t out) {
    const dcnv3_ub::UbLayout& l = s_.Layout();
    const uint32_t rows_t = s_.Out(l.rows_t, out);
    s_.CornerDataToFloat();
    LocalTensor<float> data = s_.F(l.data_f), acc = s_.F(Sampler<T>::kF32 ? rows_t : l.rows_f), weights = s_.F(l.wbc);
    const int32_t slot = static_cast<int32_t>(l.ss * geo_.cpad);
    for (int64_t k = 0; k < dcnv3_ub::kSlots; ++k) {  // one slot's weights at a time keeps wbc small
      s_.BroadcastWeights(weights, k, 1, s_.Layout().ss, 1);
      Mul(data[k * slot], data[k * slot], weights, slot);
      PipeBarrier<PIPE_V>();
    }
    const int32_t count = static_cast<int32_t>(t.pg_span * geo_.cpad);
    const int64_t blocks = dcnv3_ub::kSlots * geo_.p;  // one [pg][c] block per (slot, point), >= 4
    Add(acc, data[Block(0)], data[Block(1)], count);
    for (int64_t q = 2; q < blocks; ++q) {
      PipeBarrier<PIPE_V>();
      Add(acc, acc, data[Block(q)], count);
    }
    PipeBarrier<PIPE_V>();
    if constexpr (!Sampler<T>::kF32) {
      Cast(s_.template At<T>(rows_t), acc, RoundMode::CAST_RINT, static_cast<uint32_t>(count));
    }
  }

 private:
  __aicore__ inline int64_t Block(int64_t q) { return s_.RowOffset(q / geo_.p, q % geo_.p); }

  TPipe pipe_;
  Geometry geo_;
  Sampler<T> s_;
  GlobalTensor<T> output_;
};

}  // namespace dcnv3_kernel

extern "C" __global__ __aicore__ void dcnv3(GM_ADDR input, GM_ADDR offset, GM_ADDR mask, GM_ADDR output,
                                            GM_ADDR workspace, GM_ADDR tiling) {
  KERNEL_TASK_TYPE_DEFAULT(KERNEL_TYPE_AIV_ONLY);
  (void)workspace;
  GET_TILING_DATA(tilingData, tiling);
  if (TILING_KEY_IS(DCNV3_TILING_KEY_FLOAT32)) {
    dcnv3_kernel::Forward<float> op;
    op.Init(tilingData, input, offset, mask, output);
    op.Process();
  } else if (TILING_KEY_IS(DCNV3_TILING_KEY_FLOAT16)) {
    dcnv3_kernel::Forward<half> op;
    op.Init(tilingData, input, offset, mask, output);
    op.Process();
  } else if (TILING_KEY_IS(DCNV3_TILING_KEY_BFLOAT16)) {
    dcnv3_kernel::Forward<bfloat16_t> op;
    op.Init(tilingData, input, offset, mask, output);
    op.Process();
  }
}
