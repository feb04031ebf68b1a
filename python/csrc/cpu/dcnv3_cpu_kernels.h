// The loops of the DCNv3 CPU kernels, compiled once per instruction set: dcnv3_cpu.cpp includes
// this file into one namespace per target (portable baseline; AVX2+FMA on x86-64) and picks one
// at run time. Hence no include guard and no #include: it relies on the headers included before
// it (ATen Parallel/OpMathType, <algorithm>, <cmath>, <cstring>, <type_traits>, <vector>,
// dcnv3_contract.h), and on dcnv3_cpu.cpp turning off trapping math, without which GCC does not
// vectorise LocatePoints.
//
// Work split:
//   forward   parallel over output positions; each writes its own output row.
//   backward  parallel over (batch, group, channel block), see Backward.
// The sampling geometry of a point is computed once per (position, point), in a loop over all
// points of the position that the compiler vectorises, and reused for every channel.

// kLanes values of T in vector registers (GCC/Clang vector extension: the compiler splits it
// into the widest registers of the target).
template <typename T, int kLanes>
using Lanes [[gnu::vector_size(sizeof(T) * kLanes)]] = T;

// Moves kLanes values between memory (scalar_t) and registers (acc_t). dcnv3_cpu.cpp specialises
// it where the target converts faster than element by element (half on x86 with F16C).
template <typename acc_t, int kLanes, typename scalar_t>
struct LaneConvert {
  static Lanes<acc_t, kLanes> Load(const scalar_t* src) {
    Lanes<acc_t, kLanes> v;
    if constexpr (std::is_same_v<acc_t, scalar_t>) {
      std::memcpy(&v, src, sizeof(v));
    } else {
      for (int i = 0; i < kLanes; ++i) v[i] = static_cast<acc_t>(src[i]);
    }
    return v;
  }
  static void Store(scalar_t* dst, Lanes<acc_t, kLanes> v) {
    if constexpr (std::is_same_v<acc_t, scalar_t>) {
      std::memcpy(dst, &v, sizeof(v));
    } else {
      for (int i = 0; i < kLanes; ++i) dst[i] = static_cast<scalar_t>(v[i]);
    }
  }
};

template <typename acc_t, int kLanes, typename scalar_t>
inline Lanes<acc_t, kLanes> LoadLanes(const scalar_t* src) {
  return LaneConvert<acc_t, kLanes, scalar_t>::Load(src);
}

template <typename acc_t, int kLanes, typename scalar_t>
inline void StoreLanes(scalar_t* dst, Lanes<acc_t, kLanes> v) {
  LaneConvert<acc_t, kLanes, scalar_t>::Store(dst, v);
}

// Sum of the lanes as a tree of halves: log2(kLanes) vector adds, the same order every time.
template <typename acc_t, int kLanes>
inline acc_t SumLanes(Lanes<acc_t, kLanes> v) {
  if constexpr (kLanes == 1) {
    return v[0];
  } else {
    Lanes<acc_t, kLanes / 2> low, high;
    std::memcpy(&low, &v, sizeof(low));
    std::memcpy(&high, reinterpret_cast<const char*>(&v) + sizeof(low), sizeof(high));
    return SumLanes<acc_t, kLanes / 2>(low + high);
  }
}

// Calls f(lanes, c) over channels [0, n) in blocks of one native vector of acc_t
// (kVectorBytes, set by the includer), then halves of it for the tail; `lanes` is a
// std::integral_constant, so a block's accumulators live in registers.
template <typename acc_t, int kLanes = kVectorBytes / sizeof(acc_t), typename F>
inline void ForChannelBlocks(int64_t n, F&& f) {
  int64_t c = 0;
  for (; c + kLanes <= n; c += kLanes) f(std::integral_constant<int, kLanes>{}, c);
  if constexpr (kLanes > 1) {
    if (c < n) ForChannelBlocks<acc_t, kLanes / 2>(n - c, [&](auto lanes, int64_t tail) { f(lanes, c + tail); });
  }
}

// The floating-point part of PointSampler::Sample for `count` points, a loop the compiler
// vectorises: no branches, no conditional loads, and restrict pointers (as parameters, where GCC
// honours them). NaN fails the range test; an invalid point is moved to (-2, 0), where no corner
// is inside, so no NaN/Inf reaches a float-to-int conversion, and its mask becomes 0.
template <typename acc_t, typename scalar_t>
inline void LocatePoints(const scalar_t* __restrict offset, const scalar_t* __restrict mask_in,
                         const acc_t* __restrict kernel_x, const acc_t* __restrict kernel_y, int64_t count,
                         acc_t base_h, acc_t base_w, acc_t scale, acc_t height, acc_t width,
                         acc_t* __restrict floor_h, acc_t* __restrict floor_w, acc_t* __restrict frac_h,
                         acc_t* __restrict frac_w, acc_t* __restrict mask, acc_t* __restrict weight) {
  for (int64_t s = 0; s < count; ++s) {
    const acc_t loc_w = base_w + (kernel_x[s] + static_cast<acc_t>(offset[2 * s])) * scale;
    const acc_t loc_h = base_h + (kernel_y[s] + static_cast<acc_t>(offset[2 * s + 1])) * scale;
    const bool valid = (loc_h > acc_t(-1)) & (loc_w > acc_t(-1)) & (loc_h < height) & (loc_w < width);
    const acc_t h = valid ? loc_h : acc_t(-2), w = valid ? loc_w : acc_t(0);
    const acc_t m_in = static_cast<acc_t>(mask_in[s]);
    const acc_t m = valid ? m_in : acc_t(0);
    const acc_t fh = std::floor(h), fw = std::floor(w);
    const acc_t l_h = h - fh, l_w = w - fw;
    floor_h[s] = fh;
    floor_w[s] = fw;
    frac_h[s] = l_h;
    frac_w[s] = l_w;
    mask[s] = m;
    weight[4 * s + 0] = m * (acc_t(1) - l_h) * (acc_t(1) - l_w);
    weight[4 * s + 1] = m * (acc_t(1) - l_h) * l_w;
    weight[4 * s + 2] = m * l_h * (acc_t(1) - l_w);
    weight[4 * s + 3] = m * l_h * l_w;
  }
}

// The bilinear sampling geometry of the points of one output position (one thread's scratch).
// For point s (s = group * P + p):
//   lh, lw   fractional parts of the location;
//   mask     the point's mask, 0 when the point is outside (-1, H) x (-1, W) or NaN, so such a
//            point contributes nothing and gets zero gradients even if its mask is NaN/Inf;
//   weight   [4 * s + k]: mask times the bilinear weight of corner k, the corners being
//            (h0,w0), (h0,w1), (h1,w0), (h1,w1);
//   corner   [4 * s + k]: element offset (pixel * channels) of corner k, or -1 for a corner
//            outside the image or of an invalid point. Kernels map -1 to a zero row (gathers) or
//            a scratch row (scatters), which keeps the channel loops free of branches.
template <typename acc_t>
class PointSampler {
 public:
  explicit PointSampler(const Problem& pb) : pb_(pb), a_(pb.attrs) {
    const int64_t total = a_.group * pb.points;
    kernel_x_.resize(total);
    kernel_y_.resize(total);
    // Point order of InternImage: kernel_w outer, kernel_h inner, the centre skipped with
    // remove_center; the same for every group.
    int64_t s = 0;
    for (int64_t g = 0; g < a_.group; ++g)
      for (int64_t i = 0; i < a_.kernel_w; ++i)
        for (int64_t j = 0; j < a_.kernel_h; ++j) {
          if (a_.remove_center && i == a_.kernel_w / 2 && j == a_.kernel_h / 2) continue;
          kernel_x_[s] = static_cast<acc_t>(i * a_.dilation_w);
          kernel_y_[s] = static_cast<acc_t>(j * a_.dilation_h);
          ++s;
        }
    lh.resize(total);
    lw.resize(total);
    mask.resize(total);
    floor_h_.resize(total);
    floor_w_.resize(total);
    weight.resize(4 * total);
    corner.resize(4 * total);
  }

  // Samples the points of groups [g0, g1) of output (ho, wo); `offset` and `mask_in` point at
  // that position's offsets [G*P*2] and mask [G*P].
  template <typename scalar_t>
  void Sample(int64_t ho, int64_t wo, const scalar_t* offset, const scalar_t* mask_in, int64_t g0, int64_t g1) {
    const acc_t scale = static_cast<acc_t>(a_.offset_scale);
    const int64_t half_h = (a_.dilation_h * (a_.kernel_h - 1)) >> 1;
    const int64_t half_w = (a_.dilation_w * (a_.kernel_w - 1)) >> 1;
    const acc_t base_h = static_cast<acc_t>(half_h - a_.pad_h + ho * a_.stride_h) - static_cast<acc_t>(half_h) * scale;
    const acc_t base_w = static_cast<acc_t>(half_w - a_.pad_w + wo * a_.stride_w) - static_cast<acc_t>(half_w) * scale;
    const int64_t height = pb_.height_in, width = pb_.width_in, stride = pb_.channels;
    const acc_t height_f = static_cast<acc_t>(height), width_f = static_cast<acc_t>(width);
    const int64_t s_begin = g0 * pb_.points, s_end = g1 * pb_.points;
    LocatePoints(offset + 2 * s_begin, mask_in + s_begin, kernel_x_.data() + s_begin, kernel_y_.data() + s_begin,
                 s_end - s_begin, base_h, base_w, scale, height_f, width_f, floor_h_.data() + s_begin,
                 floor_w_.data() + s_begin, lh.data() + s_begin, lw.data() + s_begin, mask.data() + s_begin,
                 weight.data() + 4 * s_begin);
    // The corners' offsets, in 64-bit integers.
    for (int64_t s = s_begin; s < s_end; ++s) {
      const int64_t h0 = static_cast<int64_t>(floor_h_[s]), w0 = static_cast<int64_t>(floor_w_[s]);
      const bool top = h0 >= 0, bottom = (h0 + 1 >= 0) & (h0 + 1 < height), left = w0 >= 0, right = w0 + 1 < width;
      const int64_t at = (h0 * width + w0) * stride;
      corner[4 * s + 0] = top & left ? at : -1;
      corner[4 * s + 1] = top & right ? at + stride : -1;
      corner[4 * s + 2] = bottom & left ? at + width * stride : -1;
      corner[4 * s + 3] = bottom & right ? at + (width + 1) * stride : -1;
    }
  }

  std::vector<acc_t> lh, lw, mask, weight;
  std::vector<int64_t> corner;

 private:
  const Problem& pb_;
  const Attrs& a_;
  std::vector<acc_t> kernel_x_, kernel_y_, floor_h_, floor_w_;
};

// Positions per parallel task, so that a task has at least ~16k multiply-adds.
inline int64_t PositionGrain(const Problem& pb) {
  const int64_t work = std::max<int64_t>(1, pb.channels * pb.points * 4);
  return std::max<int64_t>(1, 16384 / work);
}

template <typename scalar_t>
void Forward(const Problem& pb, const scalar_t* input, const scalar_t* offset, const scalar_t* mask,
             scalar_t* output) {
  using acc_t = at::opmath_type<scalar_t>;
  const int64_t groups = pb.attrs.group, gc = pb.attrs.group_channels, points = pb.points;
  const int64_t plane = pb.height_out * pb.width_out, image_size = pb.height_in * pb.width_in * pb.channels;
  at::parallel_for(0, pb.batch * plane, PositionGrain(pb), [&](int64_t begin, int64_t end) {
    PointSampler<acc_t> sampler(pb);
    const std::vector<scalar_t> zeros(gc, static_cast<scalar_t>(0));
    for (int64_t pos = begin; pos < end; ++pos) {
      const int64_t n = pos / plane, ho = (pos % plane) / pb.width_out, wo = pos % pb.width_out;
      sampler.Sample(ho, wo, offset + pos * groups * points * 2, mask + pos * groups * points, 0, groups);
      for (int64_t g = 0; g < groups; ++g) {
        const scalar_t* image = input + n * image_size + g * gc;
        scalar_t* out = output + pos * pb.channels + g * gc;
        ForChannelBlocks<acc_t>(gc, [&](auto lanes, int64_t c0) {
          constexpr int kLanes = decltype(lanes)::value;
          // One accumulator per corner: four independent FMA chains instead of one long one.
          Lanes<acc_t, kLanes> acc[4] = {};
          for (int64_t s = g * points; s < (g + 1) * points; ++s) {
            for (int k = 0; k < 4; ++k) {
              const int64_t at = sampler.corner[4 * s + k];
              const scalar_t* src = at >= 0 ? image + at + c0 : zeros.data() + c0;
              acc[k] += sampler.weight[4 * s + k] * LoadLanes<acc_t, kLanes>(src);
            }
          }
          StoreLanes<acc_t, kLanes>(out + c0, (acc[0] + acc[1]) + (acc[2] + acc[3]));
        });
      }
    }
  });
}

// The backward pass, one task per (batch, group, channel block). Each task owns a disjoint slice
// of grad_input and walks the output positions in order, so the scatter has no races. For each
// point it gathers the 4 corners once and
//   scatters   grad_input[corner k] += m * w_k * grad_output,
//   reduces    grad_mask = go . value, grad_offset_x = scale * m * go . d value / d loc_w (y likewise),
// the dot products running over the task's channels. Channels are split into blocks (multiples of
// 16) only when there are fewer than kMinTasks (batch, group) pairs; the blocks' partial dot
// products are then added in block order. The split depends on the shape alone, never on the
// thread count, so results are bitwise reproducible.
template <typename scalar_t, typename acc_t>
void Backward(const Problem& pb, const scalar_t* input, const scalar_t* offset, const scalar_t* mask,
              const scalar_t* grad_output, acc_t* grad_input, scalar_t* grad_offset, scalar_t* grad_mask) {
  constexpr int kMaxLanes = kVectorBytes / sizeof(acc_t);
  const int64_t groups = pb.attrs.group, gc = pb.attrs.group_channels, points = pb.points;
  const int64_t plane = pb.height_out * pb.width_out, image_size = pb.height_in * pb.width_in * pb.channels;
  const int64_t total_points = pb.batch * plane * groups * points;
  const acc_t scale = static_cast<acc_t>(pb.attrs.offset_scale);
  constexpr int64_t kMinTasks = 16;
  const int64_t slices = pb.batch * groups;
  const int64_t wanted = (kMinTasks + slices - 1) / slices;
  const int64_t block = std::max<int64_t>(16, ((gc + wanted - 1) / wanted + 15) / 16 * 16);
  const int64_t blocks = (gc + block - 1) / block;
  // [blocks][point][3] partial (grad_mask, grad_offset_x, grad_offset_y), only when split.
  std::vector<acc_t> partial(blocks > 1 ? blocks * total_points * 3 : 0);
  at::parallel_for(0, slices * blocks, 1, [&](int64_t begin, int64_t end) {
    PointSampler<acc_t> sampler(pb);
    const std::vector<scalar_t> zeros(block, static_cast<scalar_t>(0));
    std::vector<acc_t> sink(block);  // where the corners outside the image are scattered
    for (int64_t task = begin; task < end; ++task) {
      const int64_t n = task / (groups * blocks), g = (task / blocks) % groups, b = task % blocks;
      const int64_t c_begin = b * block, width = std::min(block, gc - c_begin);
      const scalar_t* image = input + n * image_size + g * gc + c_begin;
      acc_t* grad_image = grad_input + n * image_size + g * gc + c_begin;
      // grad_input arrives uninitialised: each task zeroes the slice it owns, inside this
      // parallel region rather than in a separate fill pass.
      for (int64_t pixel = 0; pixel < pb.height_in * pb.width_in; ++pixel)
        std::fill_n(grad_image + pixel * pb.channels, width, acc_t(0));
      for (int64_t yx = 0; yx < plane; ++yx) {
        const int64_t pos = n * plane + yx;
        sampler.Sample(yx / pb.width_out, yx % pb.width_out, offset + pos * groups * points * 2,
                       mask + pos * groups * points, g, g + 1);
        const scalar_t* go = grad_output + pos * pb.channels + g * gc + c_begin;
        for (int64_t s = g * points; s < (g + 1) * points; ++s) {
          const acc_t lh = sampler.lh[s], lw = sampler.lw[s], hh = acc_t(1) - lh, hw = acc_t(1) - lw;
          // Dot products: full vector blocks accumulate lane-wise, tail blocks as scalars.
          Lanes<acc_t, kMaxLanes> dots[3] = {};
          acc_t tails[3] = {};
          ForChannelBlocks<acc_t>(width, [&](auto lanes, int64_t c0) {
            constexpr int kLanes = decltype(lanes)::value;
            using V = Lanes<acc_t, kLanes>;
            const V g_out = LoadLanes<acc_t, kLanes>(go + c0);
            V v[4];
            for (int k = 0; k < 4; ++k) {
              const int64_t at = sampler.corner[4 * s + k];
              v[k] = LoadLanes<acc_t, kLanes>(at >= 0 ? image + at + c0 : zeros.data() + c0);
              acc_t* dst = at >= 0 ? grad_image + at + c0 : sink.data() + c0;
              StoreLanes<acc_t, kLanes>(dst, LoadLanes<acc_t, kLanes>(dst) + sampler.weight[4 * s + k] * g_out);
            }
            const V value = hh * (hw * v[0] + lw * v[1]) + lh * (hw * v[2] + lw * v[3]);
            const V by_w = hh * (v[1] - v[0]) + lh * (v[3] - v[2]);
            const V by_h = hw * (v[2] - v[0]) + lw * (v[3] - v[1]);
            const V products[3] = {g_out * value, g_out * by_w, g_out * by_h};
            for (int i = 0; i < 3; ++i) {
              if constexpr (kLanes == kMaxLanes) {
                dots[i] += products[i];
              } else {
                tails[i] += SumLanes<acc_t, kLanes>(products[i]);
              }
            }
          });
          const acc_t sm = scale * sampler.mask[s];
          const acc_t result[3] = {SumLanes<acc_t, kMaxLanes>(dots[0]) + tails[0],
                                   sm * (SumLanes<acc_t, kMaxLanes>(dots[1]) + tails[1]),
                                   sm * (SumLanes<acc_t, kMaxLanes>(dots[2]) + tails[2])};
          const int64_t point = pos * groups * points + s;
          if (blocks == 1) {
            grad_mask[point] = static_cast<scalar_t>(result[0]);
            grad_offset[2 * point] = static_cast<scalar_t>(result[1]);
            grad_offset[2 * point + 1] = static_cast<scalar_t>(result[2]);
          } else {
            for (int i = 0; i < 3; ++i) partial[(b * total_points + point) * 3 + i] = result[i];
          }
        }
      }
    }
  });
  if (blocks == 1) return;
  at::parallel_for(0, total_points, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t point = begin; point < end; ++point) {
      acc_t sums[3] = {};
      for (int64_t b = 0; b < blocks; ++b)
        for (int i = 0; i < 3; ++i) sums[i] += partial[(b * total_points + point) * 3 + i];
      grad_mask[point] = static_cast<scalar_t>(sums[0]);
      grad_offset[2 * point] = static_cast<scalar_t>(sums[1]);
      grad_offset[2 * point + 1] = static_cast<scalar_t>(sums[2]);
    }
  });
}
