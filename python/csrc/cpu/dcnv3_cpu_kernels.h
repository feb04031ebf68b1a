// The loops of the DCNv3 CPU kernels, compiled once per instruction set: dcnv3_cpu.cpp includes
// this file into one namespace per target (portable baseline; AVX2+FMA and AVX-512 on x86-64) and
// picks one at run time. Hence no include guard and no #include: it relies on the headers included
// before it (ATen Parallel/OpMathType, <algorithm>, <cmath>, <cstring>, <memory>, <new>,
// <type_traits>, <utility>, <vector>, dcnv3_contract.h), and on dcnv3_cpu.cpp turning off trapping
// math, without which GCC does not vectorise LocatePoints.
//
// Work split:
//   forward   parallel over output positions; each writes its own output row.
//   backward  parallel over (batch, channel block, range of groups), see Backward.
// The sampling geometry of a point is computed once per (position, point), in a loop over all
// points of the position that the compiler vectorises, and reused for every channel. Channels
// are then walked in chunks of up to kChunkVectors native vectors: one pass over the points per
// chunk, its accumulators in registers. InternImage's groups (16 or 32 channels) are one chunk,
// so each point's corners and weights are read once.

// kLanes values of T in vector registers (GCC/Clang vector extension: the compiler splits it
// into the widest registers of the target).
template <typename T, int kLanes>
using Lanes [[gnu::vector_size(sizeof(T) * kLanes)]] = T;

// Native vectors per channel chunk: 4 keeps a chunk's accumulators, corner values and weights
// within the 16 vector registers of AVX2 and SSE (AVX-512 has 32).
constexpr int kChunkVectors = 4;

// Lanes at any address of a T. Accessed through this type, memory aliases T only (a memcpy
// would alias everything, so that every scatter store in Backward made the compiler reload all
// the loop's pointers and indices).
template <typename T, int kLanes>
using UnalignedLanes [[gnu::vector_size(sizeof(T) * kLanes), gnu::aligned(alignof(T))]] = T;

// Moves kLanes values between memory (scalar_t) and registers (acc_t). Specialised where a
// conversion is faster than element by element: bfloat16 below, and half on x86 with F16C in
// dcnv3_cpu.cpp.
template <typename acc_t, int kLanes, typename scalar_t>
struct LaneConvert {
  static Lanes<acc_t, kLanes> Load(const scalar_t* src) {
    Lanes<acc_t, kLanes> v;
    if constexpr (std::is_same_v<acc_t, scalar_t>) {
      v = *reinterpret_cast<const UnalignedLanes<acc_t, kLanes>*>(src);
    } else {
      for (int i = 0; i < kLanes; ++i) v[i] = static_cast<acc_t>(src[i]);
    }
    return v;
  }
  static void Store(scalar_t* dst, Lanes<acc_t, kLanes> v) {
    if constexpr (std::is_same_v<acc_t, scalar_t>) {
      *reinterpret_cast<UnalignedLanes<acc_t, kLanes>*>(dst) = v;
    } else {
      for (int i = 0; i < kLanes; ++i) dst[i] = static_cast<scalar_t>(v[i]);
    }
  }
};

// bfloat16 is the high half of a float32, so the conversions are integer lane operations, which
// every target vectorises (c10::BFloat16 converts one value at a time). Stores round to nearest
// even and turn NaN into 0x7fc0, as c10::BFloat16 does.
template <int kLanes>
struct LaneConvert<float, kLanes, c10::BFloat16> {
  using Bits = Lanes<uint32_t, kLanes>;
  using Halves = Lanes<uint16_t, kLanes>;
  static Lanes<float, kLanes> Load(const c10::BFloat16* src) {
    Halves halves;
    std::memcpy(&halves, src, sizeof(halves));
    const Bits bits = __builtin_convertvector(halves, Bits) << 16;
    Lanes<float, kLanes> v;
    std::memcpy(&v, &bits, sizeof(v));
    return v;
  }
  static void Store(c10::BFloat16* dst, Lanes<float, kLanes> v) {
    Bits bits;
    std::memcpy(&bits, &v, sizeof(bits));
    const Bits rounded = (bits + (0x7fffu + (bits >> 16 & 1u))) >> 16;
    const Bits nan = reinterpret_cast<Bits>(v != v);  // all ones where v is NaN
    const Halves halves = __builtin_convertvector((rounded & ~nan) | (0x7fc0u & nan), Halves);
    std::memcpy(dst, &halves, sizeof(halves));
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

// Helpers of SumEach, written as lane lists: constructors instead of __builtin_shufflevector,
// which GCC only has from version 12 (Ascend hosts often build with GCC 9 or 10); GCC and Clang
// turn them into the same shuffles, and keep 512-bit vectors out of the stack (a memcpy of
// their halves does not).

// Lane i of the result is lane pick(i) of x when pick(i) < kLanes, else lane pick(i) - kLanes
// of y. pick's results are constants once inlined, so each lane's source is known when compiling.
template <typename T, int kLanes, typename Pick, size_t... kLane>
inline Lanes<T, kLanes> Mix(Lanes<T, kLanes> x, Lanes<T, kLanes> y, Pick pick, std::index_sequence<kLane...>) {
  return Lanes<T, kLanes>{(pick(int{kLane}) < kLanes ? x[pick(int{kLane}) % kLanes] : y[pick(int{kLane}) % kLanes])...};
}

// Within every run of 4 lanes: the first halves of x's and y's runs interleaved in blocks of
// kBlock lanes, plus their second halves likewise. kBlock 1: {x0, y0, x1, y1} + {x2, y2, x3, y3},
// x's and y's pair sums; kBlock 2, on two such results xy and zw: {xy0, xy1, zw0, zw1} +
// {xy2, xy3, zw2, zw3}, the run sums of x, y, z and w in that order.
template <int kBlock, typename T, int kLanes>
inline Lanes<T, kLanes> AddInterleavedHalves(Lanes<T, kLanes> x, Lanes<T, kLanes> y) {
  const auto half = [](int second) {
    return [second](int i) {
      const int r = i & 3;  // lane within the run
      return (r / kBlock & 1) * kLanes + (i & ~3) + 2 * second + r / (2 * kBlock) * kBlock + r % kBlock;
    };
  };
  constexpr auto lanes = std::make_index_sequence<kLanes>{};
  return Mix<T, kLanes>(x, y, half(0), lanes) + Mix<T, kLanes>(x, y, half(1), lanes);
}

// The sum of v's runs of 4 lanes, halving the vector each step (the upper half added to the lower).
template <typename T, int kLanes, size_t... kLane>
inline Lanes<T, 4> AddRuns(Lanes<T, kLanes> v, std::index_sequence<kLane...>) {
  if constexpr (kLanes == 4) {
    return v;
  } else {
    constexpr int kHalf = kLanes / 2;
    return AddRuns<T, kHalf>(Lanes<T, kHalf>{v[kLane]...} + Lanes<T, kHalf>{v[kHalf + kLane]...},
                             std::make_index_sequence<kHalf / 2>{});
  }
}

// {sum(a), sum(b), sum(c), sum(d)}: four horizontal sums sharing their shuffles, always in the
// same order: within each run of 4 lanes (a 128-bit lane of x86 floats) first, where x86
// shuffles are cheap, then the runs added by halving the vector. Reducing across the halves
// first took 9 shuffles per point with AVX-512, 7 of them across the whole register's lanes;
// this takes 6 within runs and 2 extractions of narrower halves. On Zen 4 the
// backward's corner loop then took ~6% less time (cycle counter around the loop, 6 alternating
// runs of each variant), the whole backward ~3% at 1 thread.
template <typename T, int kLanes>
inline Lanes<T, 4> SumEach(Lanes<T, kLanes> a, Lanes<T, kLanes> b, Lanes<T, kLanes> c, Lanes<T, kLanes> d) {
  if constexpr (kLanes == 1) {
    return Lanes<T, 4>{a[0], b[0], c[0], d[0]};
  } else if constexpr (kLanes == 2) {
    return Lanes<T, 4>{a[0], b[0], c[0], d[0]} + Lanes<T, 4>{a[1], b[1], c[1], d[1]};
  } else {
    static_assert(kLanes % 4 == 0 && (kLanes & (kLanes - 1)) == 0, "SumEach: a power of two of lanes");
    return AddRuns<T, kLanes>(AddInterleavedHalves<2, T, kLanes>(AddInterleavedHalves<1, T, kLanes>(a, b),
                                                                 AddInterleavedHalves<1, T, kLanes>(c, d)),
                              std::make_index_sequence<kLanes / 2>{});
  }
}

// kWidth consecutive channels in kVecs registers of kLanes values of T (kVecs > 1 only for full
// native vectors). An array of native vectors stays in registers, where GCC would spill a
// vector type wider than the target's.
template <typename T, int kWidth>
struct Chunk {
  static constexpr int kLanes = std::min<int>(kWidth, kVectorBytes / sizeof(T)), kVecs = kWidth / kLanes;
  Lanes<T, kLanes> v[kVecs];

  template <typename scalar_t>
  static Chunk Load(const scalar_t* src) {
    Chunk c;
    for (int i = 0; i < kVecs; ++i) c.v[i] = LoadLanes<T, kLanes>(src + i * kLanes);
    return c;
  }
  template <typename scalar_t>
  void Store(scalar_t* dst) const {
    for (int i = 0; i < kVecs; ++i) StoreLanes<T, kLanes>(dst + i * kLanes, v[i]);
  }
  void Add(const Chunk& x) {
    for (int i = 0; i < kVecs; ++i) v[i] += x.v[i];
  }
  void Scale(T s) {
    for (int i = 0; i < kVecs; ++i) v[i] *= s;
  }
  // += s * x
  void AddScaled(T s, const Chunk& x) {
    for (int i = 0; i < kVecs; ++i) v[i] += s * x.v[i];
  }
  // += a * b, lane by lane
  void AddProduct(const Chunk& a, const Chunk& b) {
    for (int i = 0; i < kVecs; ++i) v[i] += a.v[i] * b.v[i];
  }
  // The lane-wise products with x, summed over the registers: a dot product before its
  // horizontal sum.
  Lanes<T, kLanes> Dot(const Chunk& x) const {
    Lanes<T, kLanes> sum = v[0] * x.v[0];
    for (int i = 1; i < kVecs; ++i) sum += v[i] * x.v[i];
    return sum;
  }
};

// Calls f(width, c) over channels [0, n) in chunks of kChunkVectors native vectors of acc_t,
// then halves of that for the rest; `width` is a std::integral_constant, the width of a Chunk.
template <typename acc_t, int kWidth = kChunkVectors * kVectorBytes / sizeof(acc_t), typename F>
inline void ForChannelChunks(int64_t n, F&& f) {
  int64_t c = 0;
  for (; c + kWidth <= n; c += kWidth) f(std::integral_constant<int, kWidth>{}, c);
  if constexpr (kWidth > 1) {
    if (c < n) ForChannelChunks<acc_t, kWidth / 2>(n - c, [&](auto width, int64_t tail) { f(width, c + tail); });
  }
}

// a * b + c, fused where the target has an FMA instruction. The loops over a range of points
// spell their products and sums this way: where GCC contracts them on its own may differ between
// a loop's vector body and its scalar remainder, whose split follows the range, a task's share
// of the groups, hence the thread count; the bits of the results must not.
// kHasFma (set per build by dcnv3_cpu.cpp, as kVectorBytes): the target has FMA instructions,
// so that GCC may contract; without them it cannot, and std::fma would be a slow library call.
template <typename T>
inline T MulAdd(T a, T b, T c) {
  if constexpr (kHasFma) {
    return std::fma(a, b, c);
  } else {
    return a * b + c;
  }
}

// v[i] = exp(v[i]) for v[i] <= 0 or NaN (softmax's logits minus their maximum). In float, a
// loop the compiler vectorises (std::exp is a call per value): exp(r) * 2^n with n the nearest
// integer to v / ln 2 and |r| <= ln 2 / 2, exp(r) from its Taylor series to r^7 (relative error
// below 1e-8 before rounding), so within 2 units in the last place of std::exp; below -87, where
// exp is subnormal, 0. NaN stays NaN.
template <typename acc_t>
inline void ExpOfNonPositive(acc_t* v, int64_t count) {
  if constexpr (!std::is_same_v<acc_t, float>) {
    for (int64_t i = 0; i < count; ++i) v[i] = std::exp(v[i]);
  } else {
    constexpr float kLog2e = 1.44269504f, kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds
    constexpr float kLn2High = 0.693359375f, kLn2Low = -2.12194440e-4f;  // ln 2 = high + low
    constexpr float kLowest = -87.0f;
    for (int64_t i = 0; i < count; ++i) {
      const float x = v[i];
      const float clamped = x < kLowest ? kLowest : x;
      const float n = MulAdd(clamped, kLog2e, kRound) - kRound;
      const float r = MulAdd(n, -kLn2Low, MulAdd(n, -kLn2High, clamped));
      float series = MulAdd(MulAdd(MulAdd(1.0f / 5040, r, 1.0f / 720), r, 1.0f / 120), r, 1.0f / 24);
      series = MulAdd(MulAdd(MulAdd(MulAdd(series, r, 1.0f / 6), r, 0.5f), r, 1.0f), r, 1.0f);
      // 2^n from its exponent bits (n is in [-126, 0]; 0 for NaN, which `series` carries).
      const int32_t bits = ((n == n ? static_cast<int32_t>(n) : 0) + 127) << 23;
      float power;
      std::memcpy(&power, &bits, sizeof(power));
      v[i] = x < kLowest ? 0.0f : series * power;
    }
  }
}

// prob = softmax(logits) over each of `groups` runs of `points` values, as torch.softmax
// computes it (shifted by the maximum, scaled by the reciprocal of the sum); a NaN or +inf logit
// makes its group's every value NaN. `top` is scratch for `groups` maxima. The exponentials of
// all groups in one pass.
template <typename acc_t, typename scalar_t>
inline void SoftmaxGroups(const scalar_t* logits, int64_t groups, int64_t points, acc_t* prob, acc_t* top) {
  // The maxima of the non-NaN logits after each group's first, one point of every group at a
  // time: the groups' running maxima are independent, where one group's alone would be a chain
  // of compare-and-selects. A NaN logit, or a NaN first logit, still makes the group NaN,
  // through its shifted value or through the sum.
  for (int64_t g = 0; g < groups; ++g) top[g] = static_cast<acc_t>(logits[g * points]);
  for (int64_t i = 1; i < points; ++i)
    for (int64_t g = 0; g < groups; ++g) {
      const acc_t value = static_cast<acc_t>(logits[g * points + i]);
      top[g] = value > top[g] ? value : top[g];
    }
  for (int64_t g = 0; g < groups; ++g)
    for (int64_t i = 0; i < points; ++i) prob[g * points + i] = static_cast<acc_t>(logits[g * points + i]) - top[g];
  ExpOfNonPositive(prob, groups * points);
  for (int64_t g = 0; g < groups; ++g) {
    acc_t* p = prob + g * points;
    acc_t sum = 0;
    for (int64_t i = 0; i < points; ++i) sum += p[i];
    const acc_t inverse = acc_t(1) / sum;
    for (int64_t i = 0; i < points; ++i) p[i] *= inverse;
  }
}

// The logits' gradient from the probabilities' one (the softmax Jacobian):
// grad_logit_i = prob_i * (grad_prob_i - sum_j prob_j * grad_prob_j).
template <typename acc_t, typename out_t>
inline void SoftmaxBackward(const acc_t* prob, const acc_t* grad_prob, int64_t count, out_t* grad_logits) {
  acc_t dot = 0;
  for (int64_t i = 0; i < count; ++i) dot += prob[i] * grad_prob[i];
  for (int64_t i = 0; i < count; ++i) grad_logits[i] = static_cast<out_t>(prob[i] * (grad_prob[i] - dot));
}

// The vectorisable part of PointSampler::Sample for `count` points: no branches, no conditional
// loads, and restrict pointers (as parameters, where GCC honours them). NaN fails the range test;
// an invalid point is moved to (-2, 0), so no NaN/Inf reaches a float-to-int conversion, and its
// mask and corner bits become 0.
template <typename acc_t, typename scalar_t, typename mask_t>
inline void LocatePoints(const scalar_t* __restrict offset, const mask_t* __restrict mask_in,
                         const acc_t* __restrict kernel_x, const acc_t* __restrict kernel_y, int64_t count,
                         acc_t base_h, acc_t base_w, acc_t scale, acc_t height, acc_t width, acc_t* __restrict floor_h,
                         acc_t* __restrict floor_w, acc_t* __restrict frac_h, acc_t* __restrict frac_w,
                         acc_t* __restrict mask, acc_t* __restrict weight, int32_t* __restrict inside) {
  for (int64_t s = 0; s < count; ++s) {
    const acc_t loc_w = MulAdd(kernel_x[s] + static_cast<acc_t>(offset[2 * s]), scale, base_w);
    const acc_t loc_h = MulAdd(kernel_y[s] + static_cast<acc_t>(offset[2 * s + 1]), scale, base_h);
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
    weight[4 * s + 0] = (acc_t(1) - l_h) * (acc_t(1) - l_w);
    weight[4 * s + 1] = (acc_t(1) - l_h) * l_w;
    weight[4 * s + 2] = l_h * (acc_t(1) - l_w);
    weight[4 * s + 3] = l_h * l_w;
    // Bit k = 2 * row + column: corner k is inside when its row and its column are. A valid point
    // has fh, fw >= -1, so only these ends need testing. (Integer selects rather than bools:
    // GCC vectorises these.)
    const int32_t columns = (fw >= acc_t(0) ? 1 : 0) | (fw + acc_t(1) < width ? 2 : 0);
    const int32_t top = fh >= acc_t(0) ? columns : 0, bottom = fh + acc_t(1) < height ? columns : 0;
    inside[s] = valid ? top | bottom << 2 : 0;
  }
}

// at[s] = floor_h[s] * row_stride + floor_w[s] * pixel_stride + group_offset[s]: the element
// offsets of `count` points' top-left corners. The floors convert to Floor and their products
// are taken in Product, each int32_t where the values fit: AVX2 converts floats to int32 and
// multiplies int32 eight at a time, but has no vector conversion to int64 and no 64-bit
// multiply (GCC emulates it with three multiplies and shifts, which took a fifth of the
// sampling). PointSampler picks the narrowest pair the image allows.
template <typename Floor, typename Product, typename acc_t>
inline void CornerOffsets(const acc_t* __restrict floor_h, const acc_t* __restrict floor_w,
                          const int64_t* __restrict group_offset, int64_t count, Product row_stride,
                          Product pixel_stride, int64_t* __restrict at) {
  for (int64_t s = 0; s < count; ++s)
    at[s] = static_cast<int64_t>(static_cast<Product>(static_cast<Floor>(floor_h[s])) * row_stride +
                                 static_cast<Product>(static_cast<Floor>(floor_w[s])) * pixel_stride) +
            group_offset[s];
}

// Where PointSampler's points are and how they weigh (see PointSampler), in raw pointers.
template <typename acc_t>
struct PointGeometry {
  const acc_t* mask;
  const acc_t* weight;
  const int32_t* inside;  // bit k: corner k is inside the image
  const int64_t* at;      // element offset of the top-left corner in the image
  int64_t corner_delta[4];  // element offsets of the corners from the top-left one

  // Whether all 4 corners of point s are inside the image: most points, whose corners the
  // channel loops then address without a test per corner (Corner<true>).
  bool Interior(int64_t s) const { return inside[s] == 15; }

  // Where corner k of point s is: in `image` (laid out as the sampler's ImageLayout), or
  // `outside` for a corner outside the image. kInterior: the caller knows that Interior(s).
  template <bool kInterior = false, typename T>
  T* Corner(T* image, T* outside, int64_t s, int k) const {
    if constexpr (kInterior) {
      return image + at[s] + corner_delta[k];
    } else {
      return inside[s] >> k & 1 ? image + at[s] + corner_delta[k] : outside;
    }
  }
};

// Where an image's channels lie in memory, for the corner offsets of PointSampler.
struct ImageLayout {
  int64_t pixel_stride;  // elements from one pixel to the next in a row
  int64_t row_stride;    // elements from one row to the next
  int64_t group_stride;  // elements from one group's channels to the next group's
  int64_t first_group;   // the group whose channels start the image, the first one sampled

  // The tensors' own layout: [H][W][G][group_channels].
  static ImageLayout Interleaved(const Problem& pb, int64_t first_group) {
    return {pb.channels, pb.width_in * pb.channels, pb.attrs.group_channels, first_group};
  }

  // A backward task's copies: group by group, `width` channels a pixel, [group][H][W][width], each
  // row padded to an odd number of 64-byte lines of float. Rows of a multiple of 4 KB (64 pixels
  // of 16 floats at 64x64-C128-G8) would put a pixel column of every row in one L1 set, and a
  // run of positions reads about 7 rows of input and as many of gradient there, more lines than
  // the set's 8 ways (padded, the backward is 2-6% faster there; in-process A/B).
  static ImageLayout GroupMajor(const Problem& pb, int64_t width, int64_t first_group) {
    constexpr int64_t kLine = 16;  // floats in a 64-byte line
    const int64_t lines = (pb.width_in * width + kLine - 1) / kLine;
    const int64_t row = (lines | 1) * kLine;
    return {width, row, pb.height_in * row, first_group};
  }

  // Where group g's channels of pixel (y, x) start.
  int64_t Row(int64_t g, int64_t y, int64_t x) const {
    return (g - first_group) * group_stride + y * row_stride + x * pixel_stride;
  }
};

// The bilinear sampling geometry of the points of `groups` groups from layout.first_group, at
// `slots` output positions (one thread's scratch; each Sample fills one slot). For point s of a
// slot (s = (group - layout.first_group) * P + p):
//   lh, lw   fractional parts of the location;
//   mask     the point's mask (with a softmax mask, its probability), 0 when the point is
//            outside (-1, H) x (-1, W) or NaN, so such a point contributes nothing and gets zero
//            gradients even if its mask is NaN/Inf;
//   weight   [4 * s + k]: the bilinear weight of corner k, the corners being (h0,w0), (h0,w1),
//            (h1,w0), (h1,w1). The mask multiplies the interpolated value, not the weights, as in
//            InternImage's CUDA op: an infinite mask then gives +-inf, not inf * 0 = NaN, where
//            a corner's weight is 0;
//   prob     with a softmax mask, the probabilities of every point of the sampled groups,
//            outside points included (the softmax backward needs them);
// and where the corners are (Corner): a corner outside the image, or of an invalid point, maps
// to a caller's zero row (gathers) or scratch row (scatters), which keeps the channel loops free
// of branches.
template <typename acc_t>
class PointSampler {
 public:
  // `scale` is offset_scale in acc_t: the schema's double, not Attrs' float, so that float64
  // keeps a scale such as 0.3 exact. The corners are located in an image laid out as `layout`
  // says.
  PointSampler(const Problem& pb, acc_t scale, const ImageLayout& layout, int64_t groups, int64_t slots)
      : pb_(pb),
        a_(pb.attrs),
        scale_(scale),
        first_point_(layout.first_group * pb.points),
        groups_(groups),
        total_(groups * pb.points),
        row_stride_(layout.row_stride),
        // A point's floors are in [-2, max(H, W) - 1] (invalid points sit at (-2, 0)), so each
        // product within +-(max(H, W) + 2) times its stride.
        narrow_floors_(std::max(pb.height_in, pb.width_in) <= std::numeric_limits<int32_t>::max()),
        narrow_products_(narrow_floors_ &&
                         layout.row_stride + layout.pixel_stride <=
                             std::numeric_limits<int32_t>::max() / (std::max(pb.height_in, pb.width_in) + 2)),
        corner_delta_{0, layout.pixel_stride, row_stride_, row_stride_ + layout.pixel_stride} {
    kernel_x_.resize(total_);
    kernel_y_.resize(total_);
    group_offset_.resize(total_);
    // Point order of InternImage: kernel_w outer, kernel_h inner, the centre skipped with
    // remove_center; the same for every group.
    int64_t s = 0;
    for (int64_t g = 0; g < groups; ++g)
      for (int64_t i = 0; i < a_.kernel_w; ++i)
        for (int64_t j = 0; j < a_.kernel_h; ++j) {
          if (a_.remove_center && i == a_.kernel_w / 2 && j == a_.kernel_h / 2) continue;
          kernel_x_[s] = static_cast<acc_t>(i * a_.dilation_w);
          kernel_y_[s] = static_cast<acc_t>(j * a_.dilation_h);
          group_offset_[s] = layout.Row(layout.first_group + g, 0, 0);
          ++s;
        }
    lh.resize(slots * total_);
    lw.resize(slots * total_);
    mask.resize(slots * total_);
    weight.resize(4 * slots * total_);
    prob.resize(slots * total_);
    group_scratch_.resize(groups);
    floor_h_.resize(slots * total_);
    floor_w_.resize(slots * total_);
    inside_.resize(slots * total_);
    at_.resize(slots * total_);
  }

  // Samples the points of output (ho, wo) into `slot`; `offset` and `mask_in` point at that
  // position's offsets [G*P*2] and mask [G*P] (logits, with `softmax`: each group's
  // probabilities are their softmax).
  template <typename scalar_t>
  void Sample(int64_t ho, int64_t wo, const scalar_t* offset, const scalar_t* mask_in, bool softmax, int64_t slot) {
    const acc_t scale = scale_;
    const int64_t half_h = (a_.dilation_h * (a_.kernel_h - 1)) >> 1;
    const int64_t half_w = (a_.dilation_w * (a_.kernel_w - 1)) >> 1;
    const acc_t base_h = static_cast<acc_t>(half_h - a_.pad_h + ho * a_.stride_h) - static_cast<acc_t>(half_h) * scale;
    const acc_t base_w = static_cast<acc_t>(half_w - a_.pad_w + wo * a_.stride_w) - static_cast<acc_t>(half_w) * scale;
    const int64_t first = first_point_, count = total_;
    const int64_t at = Slot(slot);  // where the slot's first point is stored
    const auto locate = [&](const auto* point_mask) {
      LocatePoints(offset + 2 * first, point_mask, kernel_x_.data(), kernel_y_.data(), count, base_h, base_w, scale,
                   static_cast<acc_t>(pb_.height_in), static_cast<acc_t>(pb_.width_in), floor_h_.data() + at,
                   floor_w_.data() + at, lh.data() + at, lw.data() + at, mask.data() + at, weight.data() + 4 * at,
                   inside_.data() + at);
    };
    if (softmax) {
      SoftmaxGroups(mask_in + first, groups_, pb_.points, prob.data() + at, group_scratch_.data());
      locate(prob.data() + at);
    } else {
      locate(mask_in + first);
    }
    const auto corner_offsets = [&](auto floor, auto product) {
      using Product = decltype(product);
      CornerOffsets<decltype(floor), Product>(floor_h_.data() + at, floor_w_.data() + at, group_offset_.data(), count,
                                              static_cast<Product>(row_stride_), static_cast<Product>(corner_delta_[1]),
                                              at_.data() + at);
    };
    if (narrow_products_) {
      corner_offsets(int32_t{}, int32_t{});
    } else if (narrow_floors_) {
      corner_offsets(int32_t{}, int64_t{});
    } else {
      corner_offsets(int64_t{}, int64_t{});
    }
  }

  // Where a slot's points start in lh, lw, mask and prob (weight: 4 times that).
  int64_t Slot(int64_t slot) const { return slot * total_; }

  // A slot's masks, weights and corners, indexed by s, as a value for the channel loops to copy
  // into their locals (read through the sampler, GCC reloads its members at every point).
  PointGeometry<acc_t> Geometry(int64_t slot) const {
    const int64_t base = Slot(slot);
    return {mask.data() + base,
            weight.data() + 4 * base,
            inside_.data() + base,
            at_.data() + base,
            {corner_delta_[0], corner_delta_[1], corner_delta_[2], corner_delta_[3]}};
  }

  std::vector<acc_t> lh, lw, mask, weight, prob;

 private:
  const Problem& pb_;
  const Attrs& a_;
  const acc_t scale_;
  const int64_t first_point_;  // the position's first point sampled: first_group * P
  const int64_t groups_;       // groups sampled
  const int64_t total_;        // points per slot: groups_ * P
  const int64_t row_stride_;  // elements from one image row to the next
  const bool narrow_floors_;    // every floor fits in int32_t (see CornerOffsets)
  const bool narrow_products_;  // and every floor times its stride
  const int64_t corner_delta_[4];  // element offsets of the corners from the top-left one
  std::vector<acc_t> kernel_x_, kernel_y_, floor_h_, floor_w_;
  std::vector<acc_t> group_scratch_;  // SoftmaxGroups' maxima
  std::vector<int64_t> group_offset_;  // where the point's group's channels start
  std::vector<int32_t> inside_;        // bit k: corner k is inside the image
  std::vector<int64_t> at_;            // element offset of the top-left corner in the image
};

// Positions per parallel task, so that a task has at least ~16k multiply-adds.
inline int64_t PositionGrain(const Problem& pb) {
  const int64_t work = std::max<int64_t>(1, pb.channels * pb.points * 4);
  return std::max<int64_t>(1, 16384 / work);
}

// `softmax`: `mask` holds logits, and each group's mask is their softmax over its points.
// A task samples a segment of up to 16 positions at a time, then walks it one group at a time,
// as the backward does: a group's corners of a few neighbouring positions are mostly the same
// lines, which one position at a time over all groups (8 groups: ~290 lines a position) had
// often left L1 by the time the next position read them (in-process A/B on InternImage-T/B layers
// and 64x64-C128-G8: 0-10% faster, 3-6% on most; 64 positions at a time is slower again). At most
// kSegmentPoints points, so that the sampler's scratch (~52 bytes a point in float) stays well
// within L2 however many groups and kernel points there are (InternImage-T's and -B's layers
// keep 16 positions but for their last stage, 14 and 8).
template <typename scalar_t>
void Forward(const Problem& pb, double offset_scale, bool softmax, const scalar_t* input, const scalar_t* offset,
             const scalar_t* mask, scalar_t* output) {
  using acc_t = at::opmath_type<scalar_t>;
  const int64_t groups = pb.attrs.group, gc = pb.attrs.group_channels, points = pb.points;
  const int64_t plane = pb.height_out * pb.width_out, image_size = pb.height_in * pb.width_in * pb.channels;
  constexpr int64_t kSegmentPoints = 4096;
  const int64_t segment = std::clamp<int64_t>(kSegmentPoints / std::max<int64_t>(1, groups * points), 1, 16);
  at::parallel_for(0, pb.batch * plane, PositionGrain(pb), [&](int64_t begin, int64_t end) {
    PointSampler<acc_t> sampler(pb, static_cast<acc_t>(offset_scale), ImageLayout::Interleaved(pb, 0), groups,
                                std::min(segment, end - begin));
    const std::vector<scalar_t> zeros(gc, static_cast<scalar_t>(0));
    for (int64_t first = begin; first < end; first += segment) {
      const int64_t last = std::min(end, first + segment);
      for (int64_t pos = first; pos < last; ++pos) {
        const int64_t yx = pos % plane;
        sampler.Sample(yx / pb.width_out, yx % pb.width_out, offset + pos * groups * points * 2,
                       mask + pos * groups * points, softmax, pos - first);
      }
      for (int64_t g = 0; g < groups; ++g) {
        for (int64_t pos = first; pos < last; ++pos) {
          const scalar_t* image = input + pos / plane * image_size;
          scalar_t* out = output + pos * pb.channels + g * gc;
          const PointGeometry<acc_t> geo = sampler.Geometry(pos - first);
          ForChannelChunks<acc_t>(gc, [&](auto width, int64_t c0) {
            using C = Chunk<acc_t, decltype(width)::value>;
            // One accumulator: the interpolations of different points are independent, so their
            // FMA chains overlap; each adds one FMA to the accumulator's chain.
            C acc = {};
            const auto interpolate = [&](int64_t s, auto interior) {
              const auto corner = [&](int k) {
                return C::Load(geo.template Corner<decltype(interior)::value>(image, zeros.data(), s, k) + c0);
              };
              C value = corner(0);
              value.Scale(geo.weight[4 * s]);
              for (int k = 1; k < 4; ++k) value.AddScaled(geo.weight[4 * s + k], corner(k));
              return value;
            };
            for (int64_t s = g * points; s < (g + 1) * points; ++s)
              acc.AddScaled(geo.mask[s],
                            geo.Interior(s) ? interpolate(s, std::true_type{}) : interpolate(s, std::false_type{}));
            acc.Store(out + c0);
          });
        }
      }
    }
  });
}

// The mask and offset gradients of `count` points from their corner dot products
// dots[4 * s + k] = grad_output . value of corner k:
//   grad_mask   = sum_k bilinear_k * dots_k                      (= grad_output . value)
//   grad_off_x  = scale * m * (hh * (dots_1 - dots_0) + lh * (dots_3 - dots_2))
//   grad_off_y  = scale * m * (hw * (dots_2 - dots_0) + lw * (dots_3 - dots_1))
template <typename acc_t>
inline void PointGradients(const acc_t* __restrict dots, const acc_t* __restrict frac_h, const acc_t* __restrict frac_w,
                           const acc_t* __restrict mask, int64_t count, acc_t scale, acc_t* __restrict grad_mask,
                           acc_t* __restrict grad_offset) {
  for (int64_t s = 0; s < count; ++s) {
    const acc_t d0 = dots[4 * s], d1 = dots[4 * s + 1], d2 = dots[4 * s + 2], d3 = dots[4 * s + 3];
    const acc_t lh = frac_h[s], lw = frac_w[s], hh = acc_t(1) - lh, hw = acc_t(1) - lw;
    const acc_t sm = scale * mask[s];
    grad_mask[s] = MulAdd(hh, MulAdd(hw, d0, lw * d1), lh * MulAdd(hw, d2, lw * d3));
    grad_offset[2 * s] = sm * MulAdd(hh, d1 - d0, lh * (d3 - d2));
    grad_offset[2 * s + 1] = sm * MulAdd(hw, d2 - d0, lw * (d3 - d1));
  }
}

// Writes the gradients of `count` points, whole groups of `points`: grad_offset as it is,
// grad_mask through each group's softmax Jacobian when the mask was softmax(logits) with
// probabilities `prob`.
template <typename acc_t, typename scalar_t>
inline void StorePointGradients(const acc_t* grad_mask_acc, const acc_t* grad_offset_acc, const acc_t* prob,
                                bool softmax, int64_t count, int64_t points, scalar_t* grad_mask,
                                scalar_t* grad_offset) {
  for (int64_t i = 0; i < 2 * count; ++i) grad_offset[i] = static_cast<scalar_t>(grad_offset_acc[i]);
  if (softmax) {
    for (int64_t i = 0; i < count; i += points) SoftmaxBackward(prob + i, grad_mask_acc + i, points, grad_mask + i);
  } else {
    for (int64_t i = 0; i < count; ++i) grad_mask[i] = static_cast<scalar_t>(grad_mask_acc[i]);
  }
}

// to[i] = from[i] and zero[i] = 0 for i < n, for the backward's image rows: a group's few channels
// of one pixel (16 floats at 64x64-C128-G8), where std::copy_n and std::fill_n each became a call of
// memmove or memset per row, ~4% of the backward (in-process A/B, 1 and 2 threads); these loops
// are inlined and vectorised (dcnv3_cpu.cpp keeps GCC from turning them back into such calls).
template <typename T>
inline void CopyRow(const T* __restrict from, int64_t n, T* __restrict to) {
  for (int64_t i = 0; i < n; ++i) to[i] = from[i];
}
template <typename T>
inline void ZeroRow(T* __restrict zero, int64_t n) {
  for (int64_t i = 0; i < n; ++i) zero[i] = T(0);
}

// Owns an array allocated at a 64-byte boundary (a cache line: a group's 16 float channels then
// fill one line instead of straddling two).
struct AlignedDelete {
  void operator()(void* p) const { ::operator delete[](p, std::align_val_t{64}); }
};
template <typename T>
using AlignedArray = std::unique_ptr<T[], AlignedDelete>;

// The copied images of a backward task (see Backward), kept by each thread for its next task and
// call (at most kMaxTaskImage elements each, 8 MB for both in float): a fresh allocation of a few
// MB is fresh pages, whose faults cost about as much as the task's work whenever glibc has handed
// the memory back to the system in between (which it does once the free top of its heap outgrows
// the trim threshold; 3 us per 4 KB page on the VM measured).
template <typename scalar_t, typename acc_t>
class TaskImages {
 public:
  // Room for `count` elements in each image; their contents are then undefined.
  void Reserve(int64_t count) {
    if (count <= capacity_) return;
    input_.reset(static_cast<scalar_t*>(::operator new[](count * sizeof(scalar_t), std::align_val_t{64})));
    grad_.reset(static_cast<acc_t*>(::operator new[](count * sizeof(acc_t) + kPageBytes, std::align_val_t{64})));
    capacity_ = count;
    const uintptr_t input_at = reinterpret_cast<uintptr_t>(input_.get());
    const uintptr_t grad_at = reinterpret_cast<uintptr_t>(grad_.get());
    grad_start_ = static_cast<int64_t>((input_at + kGradShiftBytes - grad_at) % kPageBytes / sizeof(acc_t));
  }
  scalar_t* input() const { return input_.get(); }
  acc_t* grad() const { return grad_.get() + grad_start_; }

 private:
  // The gradient image starts kGradShiftBytes (33 cache lines) past the input image's place in a
  // 4 KB page. x86 cores compare a load with older stores on the low 12 address bits first, and
  // one that matches waits as if it overlapped (4K aliasing): with the images at one place in
  // their pages, each corner's input line would match its own gradient line, which the previous
  // points have just stored; the allocator put them one line apart, which matches a pixel's
  // input with its left neighbour's gradient. In-process A/B at 64x64-C128-G8: the backward is
  // 5-15% slower with the images at one place, 2-4% with the allocator's placement.
  static constexpr uintptr_t kPageBytes = 4096, kGradShiftBytes = 33 * 64;
  AlignedArray<scalar_t> input_;
  AlignedArray<acc_t> grad_;
  int64_t grad_start_ = 0;  // elements of grad_ before the gradient image
  int64_t capacity_ = 0;
};

// The backward pass. grad_input is split into slices, one per (batch, group, channel block), and
// each slice is owned by one task. A task owns the slices of a range of groups of one batch item
// and channel block. It samples a segment of output positions for all its groups (one vectorised
// pass over each position's points), then walks the segment once per group: for each point it
// gathers the 4 corners once and
//   scatters   grad[corner k] += w_k * (m * grad_output),
//   reduces    dots_k = grad_output . corner k over the block's channels (see PointGradients),
// and last turns each position's dots into its point gradients. One group at a time, the corners
// of a run of positions are a few KB that stay in L1; one position at a time over all groups, as
// the forward walks, they overflow L1 from 8 groups of 16 channels (G * 36 lines of input and as
// many of gradient), and the next position, though it reuses most of them, finds them in L2.
// On images from kMinCopiedImage elements (up to kMaxTaskImage a group and channel block) the task
// also copies its slices of the input into an image of its own laid out group by group
// (ImageLayout::GroupMajor), scatters into a gradient image of that layout and copies it out into
// grad_input at the end (holding at most kMaxTaskImage elements of each): a group's corners
// then fill whole cache lines, where in the tensors' layout its lines lie one per pixel between
// the other groups' (at 64x64-C128-G8 the walk by group is 1.25x faster at 1 thread, and the
// copies 1.2x more at 2 threads; smaller images stay in L2 either way and pay for the copies).
// A group's slice receives its points' scatters in position order whatever the segment, and the
// dots of a (position, group) are computed whole by one task, so how groups are shared into tasks
// may follow the thread count (enough ranges to keep every thread busy at batch 1) without
// changing a bit of the results. Channels are split into blocks (multiples of 16) only when there
// are fewer than kMinTasks (batch, group) pairs; the blocks' partial gradients are then added in
// block order, a split that depends on the shape alone, never on the thread count.
// `softmax` as in Forward: grad_mask is then the gradient of the logits.
template <typename scalar_t, typename acc_t>
void Backward(const Problem& pb, double offset_scale, bool softmax, const scalar_t* input, const scalar_t* offset,
              const scalar_t* mask, const scalar_t* grad_output, acc_t* grad_input, scalar_t* grad_offset,
              scalar_t* grad_mask) {
  const int64_t groups = pb.attrs.group, gc = pb.attrs.group_channels, points = pb.points;
  const int64_t plane = pb.height_out * pb.width_out, pixels = pb.height_in * pb.width_in;
  const int64_t image_size = pixels * pb.channels;
  const int64_t total_points = pb.batch * plane * groups * points;
  const acc_t scale = static_cast<acc_t>(offset_scale);
  // kSegmentPoints: points sampled at once, whose geometry and dots (~100 KB in float) stay in L2
  // beside the images.
  constexpr int64_t kMinTasks = 16, kSegmentPoints = 2048;
  constexpr int64_t kMinCopiedImage = int64_t(1) << 17, kMaxTaskImage = int64_t(1) << 20;
  const int64_t slices = pb.batch * groups;
  const int64_t wanted = (kMinTasks + slices - 1) / slices;
  const int64_t block = std::max<int64_t>(16, ((gc + wanted - 1) / wanted + 15) / 16 * 16);
  const int64_t blocks = (gc + block - 1) / block;
  // Copies while one group's slice fits in kMaxTaskImage (beyond that a task works in place,
  // as on small images), and then with at most `fit` groups a task.
  const int64_t group_slice = ImageLayout::GroupMajor(pb, std::min(block, gc), 0).group_stride;
  const bool copied = image_size >= kMinCopiedImage && group_slice <= kMaxTaskImage;
  const int64_t fit = copied ? kMaxTaskImage / std::max<int64_t>(1, group_slice) : groups;
  // Group ranges per (batch item, block): one unless there are fewer of those than threads, or
  // the copies would exceed kMaxTaskImage.
  const int64_t threads = at::get_num_threads(), items = pb.batch * blocks;
  const int64_t ranges =
      std::clamp<int64_t>(std::max((threads + items - 1) / items, (groups + fit - 1) / fit), 1, groups);
  // [blocks][point] partial grad_mask and [blocks][point][2] partial grad_offset, when split.
  std::vector<acc_t> partial_mask(blocks > 1 ? blocks * total_points : 0);
  std::vector<acc_t> partial_offset(blocks > 1 ? blocks * total_points * 2 : 0);
  at::parallel_for(0, items * ranges, 1, [&](int64_t begin, int64_t end) {
    const std::vector<scalar_t> zeros(block, static_cast<scalar_t>(0));
    std::vector<acc_t> sink(block);  // where the corners outside the image are scattered
    // Per point: its gradients before the store, without blocks.
    std::vector<acc_t> point_grads(3 * groups * points);
    acc_t* const grad_mask_acc = point_grads.data();
    acc_t* const grad_offset_acc = grad_mask_acc + groups * points;
    for (int64_t task = begin; task < end; ++task) {
      const int64_t r = task % ranges, b = task / ranges % blocks, n = task / (ranges * blocks);
      const int64_t g_begin = r * groups / ranges, g_end = (r + 1) * groups / ranges;
      const int64_t c_begin = b * block, width = std::min(block, gc - c_begin);
      const int64_t s_begin = g_begin * points, count = (g_end - g_begin) * points;
      const int64_t segment = std::max<int64_t>(1, kSegmentPoints / std::max<int64_t>(1, count));
      // The images the task reads and scatters into, from channel c_begin of group g_begin: the
      // batch item's input and grad_input, or the task's copies, [group - g_begin][H][W][width].
      // Either way the task first zeroes its gradient slices (grad_input arrives uninitialised).
      const ImageLayout tensors = ImageLayout::Interleaved(pb, g_begin);
      const ImageLayout layout = copied ? ImageLayout::GroupMajor(pb, width, g_begin) : tensors;
      const int64_t tensor_start = n * image_size + g_begin * gc + c_begin;
      static thread_local TaskImages<scalar_t, acc_t> copies;
      if (copied) copies.Reserve((g_end - g_begin) * layout.group_stride);
      const scalar_t* const task_input = copied ? copies.input() : input + tensor_start;
      acc_t* const task_grad = copied ? copies.grad() : grad_input + tensor_start;
      // Calls f(row in the tensors, row in the task's images) for each pixel of the task's groups.
      const auto for_each_row = [&](auto&& f) {
        for (int64_t g = g_begin; g < g_end; ++g)
          for (int64_t y = 0; y < pb.height_in; ++y)
            for (int64_t x = 0; x < pb.width_in; ++x) f(tensors.Row(g, y, x), layout.Row(g, y, x));
      };
      for_each_row([&](int64_t tensor_row, int64_t task_row) {
        if (copied) CopyRow(input + tensor_start + tensor_row, width, copies.input() + task_row);
        ZeroRow(task_grad + task_row, width);
      });
      PointSampler<acc_t> sampler(pb, scale, layout, g_end - g_begin, segment);
      // dots[4 * (Slot(i) + s) + k] (see PointGradients) of the sampler's point s at the segment's
      // position i.
      std::vector<acc_t> dots(4 * sampler.Slot(segment));
      for (int64_t first_yx = 0; first_yx < plane; first_yx += segment) {
        const int64_t positions = std::min(segment, plane - first_yx);
        for (int64_t i = 0; i < positions; ++i) {
          const int64_t yx = first_yx + i, pos = n * plane + yx;
          sampler.Sample(yx / pb.width_out, yx % pb.width_out, offset + pos * groups * points * 2,
                         mask + pos * groups * points, softmax, i);
        }
        for (int64_t g = g_begin; g < g_end; ++g) {
          for (int64_t i = 0; i < positions; ++i) {
            const scalar_t* go = grad_output + (n * plane + first_yx + i) * pb.channels + g * gc + c_begin;
            acc_t* const position_dots = dots.data() + 4 * sampler.Slot(i);
            ForChannelChunks<acc_t>(width, [&](auto chunk_width, int64_t c0) {
              using C = Chunk<acc_t, decltype(chunk_width)::value>;
              const C g_out = C::Load(go + c0);
              const PointGeometry<acc_t> geo = sampler.Geometry(i);
              const auto point = [&](int64_t s, auto interior) {
                constexpr bool kInterior = decltype(interior)::value;
                Lanes<acc_t, C::kLanes> products[4];
                // w_k * (m * grad_output), the CUDA op's order; a register times a weight read
                // from memory, which x86 multiplies without a broadcast on the shuffle unit.
                C masked = g_out;
                masked.Scale(geo.mask[s]);
                for (int k = 0; k < 4; ++k) {
                  products[k] = g_out.Dot(C::Load(geo.template Corner<kInterior>(task_input, zeros.data(), s, k) + c0));
                  acc_t* dst = geo.template Corner<kInterior>(task_grad, sink.data(), s, k) + c0;
                  C scattered = C::Load(dst);
                  scattered.AddScaled(geo.weight[4 * s + k], masked);
                  scattered.Store(dst);
                }
                // The group's first chunk starts the point's dots, the others add to them.
                acc_t* dot = position_dots + 4 * s;
                const Lanes<acc_t, 4> sums =
                    SumEach<acc_t, C::kLanes>(products[0], products[1], products[2], products[3]);
                StoreLanes<acc_t, 4>(dot, c0 == 0 ? sums : LoadLanes<acc_t, 4>(dot) + sums);
              };
              for (int64_t s = (g - g_begin) * points; s < (g - g_begin + 1) * points; ++s) {
                if (geo.Interior(s)) {
                  point(s, std::true_type{});
                } else {
                  point(s, std::false_type{});
                }
              }
            });
          }
        }
        // The point gradients of each position's groups in one vectorised pass: they are
        // contiguous in grad_offset and grad_mask.
        for (int64_t i = 0; i < positions; ++i) {
          const int64_t at = sampler.Slot(i), first = (n * plane + first_yx + i) * groups * points + s_begin;
          const auto point_gradients = [&](acc_t* to_mask, acc_t* to_offset) {
            PointGradients(dots.data() + 4 * at, sampler.lh.data() + at, sampler.lw.data() + at,
                           sampler.mask.data() + at, count, scale, to_mask, to_offset);
          };
          if (blocks == 1) {
            point_gradients(grad_mask_acc, grad_offset_acc);
            StorePointGradients(grad_mask_acc, grad_offset_acc, sampler.prob.data() + at, softmax, count, points,
                                grad_mask + first, grad_offset + 2 * first);
          } else {
            const int64_t partial = b * total_points + first;
            point_gradients(partial_mask.data() + partial, partial_offset.data() + 2 * partial);
          }
        }
      }
      // grad_input arrives uninitialised: every element is in one task's slices.
      if (copied) {
        for_each_row([&](int64_t tensor_row, int64_t task_row) {
          CopyRow(task_grad + task_row, width, grad_input + tensor_start + tensor_row);
        });
      }
    }
  });
  if (blocks == 1 || points == 0) return;
  // The blocks' partial sums, one (position, group) at a time: the softmax Jacobian mixes the
  // points of a group.
  at::parallel_for(0, total_points / points, std::max<int64_t>(1, 4096 / points), [&](int64_t begin, int64_t end) {
    std::vector<acc_t> sums(3 * points), prob(points);
    for (int64_t unit = begin; unit < end; ++unit) {
      const int64_t first = unit * points;
      std::fill(sums.begin(), sums.end(), acc_t(0));
      for (int64_t b = 0; b < blocks; ++b) {
        const acc_t* part_mask = partial_mask.data() + b * total_points + first;
        const acc_t* part_offset = partial_offset.data() + 2 * (b * total_points + first);
        for (int64_t i = 0; i < points; ++i) sums[i] += part_mask[i];
        for (int64_t i = 0; i < 2 * points; ++i) sums[points + i] += part_offset[i];
      }
      acc_t top;
      if (softmax) SoftmaxGroups(mask + first, 1, points, prob.data(), &top);
      StorePointGradients(sums.data(), sums.data() + points, prob.data(), softmax, points, points, grad_mask + first,
                          grad_offset + 2 * first);
    }
  });
}
