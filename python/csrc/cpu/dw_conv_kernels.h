// The loops of npu::dcnv3_dw_conv's CPU kernel: the DCNv3 module's `dw_conv` branch (depthwise
// convolution, LayerNorm over channels, exact GELU) in one pass over an NHWC image, where torch
// runs three kernels with a layout change and two full-size temporaries between them.
// dcnv3_cpu.cpp includes this file into each instruction set's namespace after
// dcnv3_cpu_kernels.h, whose vector helpers (Chunk, ForChannelChunks, MulAdd, ExpOfNonPositive)
// it uses, and after dcnv3_args.h (DwConvShape); hence no include guard and no #include.
//
// Work split: parallel over image rows. A task convolves a whole row into a float buffer, then
// takes the LayerNorm statistics of all its pixels, then normalises and applies GELU in blocks
// that stay in L1. Phases over many pixels keep each pixel's reductions, square root and division
// independent of the next pixel's, where one pixel at a time would be a chain of latencies.

// Values per block of the normalise-and-GELU phase (with its two scratch arrays: 12 KB in float).
constexpr int64_t kGeluBlock = 1024;

// out[i] = GELU(v[i]) = v * (1 + erf(v / sqrt 2)) / 2 = v * erfc(-v / sqrt 2) / 2 (torch's
// default, approximate='none') for n <= kGeluBlock values. Float uses a vectorisable erfc: with
// z = |v| / sqrt 2 and t = 1 / (1 + z / 2), erfc(z) = t * exp(-z^2 + P(t)), P the degree-9
// Chebyshev fit of Numerical Recipes' erfcc (relative error below 1.2e-7 for every z), and
// erfc(-z) = 2 - erfc(z). Double calls std::erfc. NaN stays NaN.
template <typename acc_t, typename out_t>
inline void Gelu(const acc_t* v, int64_t n, out_t* out) {
  constexpr acc_t kHalf = 0.5, kInverseSqrt2 = 0.70710678118654752440;
  if constexpr (!std::is_same_v<acc_t, float>) {
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<out_t>(kHalf * v[i] * std::erfc(-v[i] * kInverseSqrt2));
  } else {
    float t[kGeluBlock], e[kGeluBlock];
    for (int64_t i = 0; i < n; ++i) {
      const float z = std::fabs(v[i]) * kInverseSqrt2;
      const float ti = 1.0f / MulAdd(0.5f, z, 1.0f);
      float p = MulAdd(ti, 0.17087277f, -0.82215223f);
      p = MulAdd(p, ti, 1.48851587f);
      p = MulAdd(p, ti, -1.13520398f);
      p = MulAdd(p, ti, 0.27886807f);
      p = MulAdd(p, ti, -0.18628806f);
      p = MulAdd(p, ti, 0.09678418f);
      p = MulAdd(p, ti, 0.37409196f);
      p = MulAdd(p, ti, 1.00002368f);
      p = MulAdd(p, ti, -1.26551223f);
      // The exponent is 0 at z = 0 up to the fit's rounding; ExpOfNonPositive wants <= 0.
      const float exponent = MulAdd(-z, z, p);
      t[i] = ti;
      e[i] = exponent < 0.0f ? exponent : 0.0f;
    }
    ExpOfNonPositive(e, n);
    for (int64_t i = 0; i < n; ++i) {
      const float tail = t[i] * e[i];  // erfc(|v| / sqrt 2)
      const float one_plus_erf = v[i] < 0.0f ? tail : 2.0f - tail;
      out[i] = static_cast<out_t>(kHalf * v[i] * one_plus_erf);
    }
  }
}

// The sum over [0, n) of f(v[i]), with f(x) = x or (x - mean)^2: four vector accumulators, then
// across them and their lanes. The compiler keeps them in registers, the four chains of adds
// overlap, and the order is fixed, so the result does not depend on the thread count.
template <bool kSquaredDeviations, typename acc_t>
inline acc_t SumOf(const acc_t* v, int64_t n, acc_t mean = 0) {
  constexpr int kLanes = kVectorBytes / sizeof(acc_t);
  using Vector = Lanes<acc_t, kLanes>;
  const auto term = [mean](auto x) {
    if constexpr (kSquaredDeviations) {
      return (x - mean) * (x - mean);
    } else {
      return x;
    }
  };
  Vector sums[4] = {};
  int64_t i = 0;
  for (; i + 4 * kLanes <= n; i += 4 * kLanes)
    for (int j = 0; j < 4; ++j) sums[j] += term(LoadLanes<acc_t, kLanes>(v + i + j * kLanes));
  for (; i + kLanes <= n; i += kLanes) sums[0] += term(LoadLanes<acc_t, kLanes>(v + i));
  const Vector total = (sums[0] + sums[1]) + (sums[2] + sums[3]);
  acc_t sum = 0;
  for (; i < n; ++i) sum += term(v[i]);
  for (int j = 0; j < kLanes; ++j) sum += total[j];
  return sum;
}

// The parameters in the accumulation type, laid out for the loops: taps [k * k][C] (a tap's
// channels contiguous, like a pixel's), then bias, norm_weight, norm_bias [C] each.
template <typename acc_t>
struct DwConvParams {
  const acc_t *taps, *bias, *norm_weight, *norm_bias;
  acc_t eps;
};

// Output row `row` (batch item row / height, image row row % height) into `out` (width *
// channels): convolution, LayerNorm, GELU. `y` is scratch of width * channels values, `mean` and
// `inverse_std` of width.
template <typename scalar_t, typename acc_t>
void DwConvRow(const DwConvShape& s, int64_t row, const scalar_t* input, const DwConvParams<acc_t>& p, acc_t* y,
               acc_t* mean, acc_t* inverse_std, scalar_t* out) {
  const int64_t height = s.height, width = s.width, channels = s.channels, kernel = s.kernel;
  const int64_t pad = (kernel - 1) / 2, h = row % height;
  const scalar_t* image = input + (row - h) * width * channels;
  // The kernel rows and columns that fall inside the image (zero padding contributes nothing).
  const int64_t kh_begin = std::max<int64_t>(0, pad - h), kh_end = std::min(kernel, height + pad - h);
  for (int64_t w = 0; w < width; ++w) {
    const int64_t kw_begin = std::max<int64_t>(0, pad - w), kw_end = std::min(kernel, width + pad - w);
    ForChannelChunks<acc_t>(channels, [&](auto chunk_width, int64_t c) {
      using ChunkT = Chunk<acc_t, decltype(chunk_width)::value>;
      ChunkT sum = ChunkT::Load(p.bias + c);
      for (int64_t kh = kh_begin; kh < kh_end; ++kh) {
        const scalar_t* pixels = image + ((h + kh - pad) * width + w - pad + kw_begin) * channels + c;
        const acc_t* tap = p.taps + (kh * kernel + kw_begin) * channels + c;
        for (int64_t i = 0; i < kw_end - kw_begin; ++i)
          sum.AddProduct(ChunkT::Load(pixels + i * channels), ChunkT::Load(tap + i * channels));
      }
      sum.Store(y + w * channels + c);
    });
  }
  // LayerNorm statistics: mean and biased variance over each pixel's channels (two passes).
  const acc_t inverse_channels = acc_t(1) / static_cast<acc_t>(channels);
  for (int64_t w = 0; w < width; ++w) mean[w] = SumOf<false>(y + w * channels, channels) * inverse_channels;
  for (int64_t w = 0; w < width; ++w)
    inverse_std[w] = SumOf<true>(y + w * channels, channels, mean[w]) * inverse_channels;
  for (int64_t w = 0; w < width; ++w) inverse_std[w] = acc_t(1) / std::sqrt(inverse_std[w] + p.eps);
  // Normalise and GELU, a block of pixels at a time (at least one pixel per block).
  const int64_t block_pixels = std::max<int64_t>(1, kGeluBlock / channels);
  for (int64_t w0 = 0; w0 < width; w0 += block_pixels) {
    const int64_t w1 = std::min(width, w0 + block_pixels);
    for (int64_t w = w0; w < w1; ++w) {
      acc_t* pixel = y + w * channels;
      for (int64_t c = 0; c < channels; ++c)
        pixel[c] = MulAdd((pixel[c] - mean[w]) * inverse_std[w], p.norm_weight[c], p.norm_bias[c]);
    }
    // A pixel wider than a block (channels > kGeluBlock) goes in pieces.
    for (int64_t i = w0 * channels; i < w1 * channels; i += kGeluBlock)
      Gelu(y + i, std::min(kGeluBlock, w1 * channels - i), out + i);
  }
}

// npu::dcnv3_dw_conv over the whole input; weight [C, 1, k, k], bias, norm_weight, norm_bias [C]
// contiguous, in the input's dtype.
template <typename scalar_t, typename acc_t>
void DwConv(const DwConvShape& s, const scalar_t* input, const scalar_t* weight, const scalar_t* bias,
            const scalar_t* norm_weight, const scalar_t* norm_bias, double eps, scalar_t* output) {
  const int64_t channels = s.channels, taps = s.kernel * s.kernel;
  std::vector<acc_t> params((taps + 3) * channels);
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t k = 0; k < taps; ++k) params[k * channels + c] = static_cast<acc_t>(weight[c * taps + k]);
    params[(taps + 0) * channels + c] = static_cast<acc_t>(bias[c]);
    params[(taps + 1) * channels + c] = static_cast<acc_t>(norm_weight[c]);
    params[(taps + 2) * channels + c] = static_cast<acc_t>(norm_bias[c]);
  }
  const acc_t* base = params.data();
  const DwConvParams<acc_t> p{base, base + taps * channels, base + (taps + 1) * channels, base + (taps + 2) * channels,
                              static_cast<acc_t>(eps)};
  const int64_t row_values = s.width * channels;
  // Rows per task: enough values (about 8 K, some 15 us) that a task outweighs waking a thread.
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 13) / row_values);
  at::parallel_for(0, s.batch * s.height, grain, [&](int64_t begin, int64_t end) {
    std::vector<acc_t> y(row_values), statistics(2 * s.width);
    for (int64_t row = begin; row < end; ++row)
      DwConvRow(s, row, input, p, y.data(), statistics.data(), statistics.data() + s.width, output + row * row_values);
  });
}
