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

// Values per block of the normalise-and-GELU phase (with its scratch arrays: 12 KB in float).
constexpr int64_t kGeluBlock = 1024;

// tail[i] = erfc(|v[i]| / sqrt 2) for n <= kGeluBlock values. Float uses a vectorisable erfc:
// with z = |v| / sqrt 2 and t = 1 / (1 + z / 2), erfc(z) = t * exp(-z^2 + P(t)), P the degree-9
// Chebyshev fit of Numerical Recipes' erfcc (relative error below 1.2e-7 for every z). Double
// calls std::erfc. NaN stays NaN.
template <typename acc_t>
inline void ErfcOfAbsOverSqrt2(const acc_t* v, int64_t n, acc_t* tail) {
  constexpr acc_t kInverseSqrt2 = 0.70710678118654752440;
  if constexpr (!std::is_same_v<acc_t, float>) {
    for (int64_t i = 0; i < n; ++i) tail[i] = std::erfc(std::fabs(v[i]) * kInverseSqrt2);
  } else {
    float t[kGeluBlock];
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
      tail[i] = exponent < 0.0f ? exponent : 0.0f;
    }
    ExpOfNonPositive(tail, n);
    for (int64_t i = 0; i < n; ++i) tail[i] *= t[i];
  }
}

// The standard normal distribution function at v from tail = erfc(|v| / sqrt 2).
template <typename acc_t>
inline acc_t NormalCdf(acc_t v, acc_t tail) {
  return v < acc_t(0) ? acc_t(0.5) * tail : acc_t(1) - acc_t(0.5) * tail;
}

// out[i] = GELU(v[i]) = v * Phi(v) (torch's default, approximate='none') for n <= kGeluBlock
// values, Phi the standard normal distribution function.
template <typename acc_t, typename out_t>
inline void Gelu(const acc_t* v, int64_t n, out_t* out) {
  acc_t tail[kGeluBlock];
  ErfcOfAbsOverSqrt2(v, n, tail);
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<out_t>(v[i] * NormalCdf(v[i], tail[i]));
}

// out[i] = GELU'(v[i]) = Phi(v) + v * phi(v), phi the standard normal density, for n <=
// kGeluBlock values.
template <typename acc_t>
inline void GeluDerivative(const acc_t* v, int64_t n, acc_t* out) {
  constexpr acc_t kInverseSqrt2Pi = 0.39894228040143267794;
  acc_t tail[kGeluBlock];
  ErfcOfAbsOverSqrt2(v, n, tail);
  for (int64_t i = 0; i < n; ++i) out[i] = acc_t(-0.5) * v[i] * v[i];
  ExpOfNonPositive(out, n);
  for (int64_t i = 0; i < n; ++i) out[i] = MulAdd(v[i] * kInverseSqrt2Pi, out[i], NormalCdf(v[i], tail[i]));
}

// The sum over i in [0, n) of the terms that terms(width, i) returns as Lanes<acc_t, width> for
// i .. i + width - 1: four vector accumulators, then across them and their lanes. The compiler
// keeps them in registers, the four chains of adds overlap, and the order is fixed, so the result
// does not depend on the thread count.
template <typename acc_t, typename Terms>
inline acc_t SumOf(int64_t n, Terms&& terms) {
  constexpr int kLanes = kVectorBytes / sizeof(acc_t);
  using Vector = Lanes<acc_t, kLanes>;
  constexpr std::integral_constant<int, kLanes> kVector{};
  Vector sums[4] = {};
  int64_t i = 0;
  for (; i + 4 * kLanes <= n; i += 4 * kLanes)
    for (int j = 0; j < 4; ++j) sums[j] += terms(kVector, i + j * kLanes);
  for (; i + kLanes <= n; i += kLanes) sums[0] += terms(kVector, i);
  const Vector total = (sums[0] + sums[1]) + (sums[2] + sums[3]);
  acc_t sum = 0;
  for (; i < n; ++i) sum += terms(std::integral_constant<int, 1>{}, i)[0];
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

// Row h of `image` ([height][width][channels] of src_t) convolved with `taps` ([k * k][C]),
// plus `bias` unless null, into `out` ([width][channels]). Zero padding (kernel - 1) / 2.
template <typename src_t, typename acc_t, typename out_t>
void ConvolveRow(const DwConvShape& s, int64_t h, const src_t* image, const acc_t* taps, const acc_t* bias,
                 out_t* out) {
  const int64_t height = s.height, width = s.width, channels = s.channels, kernel = s.kernel;
  const int64_t pad = (kernel - 1) / 2;
  // The kernel rows and columns that fall inside the image (zero padding contributes nothing).
  const int64_t kh_begin = std::max<int64_t>(0, pad - h), kh_end = std::min(kernel, height + pad - h);
  for (int64_t w = 0; w < width; ++w) {
    const int64_t kw_begin = std::max<int64_t>(0, pad - w), kw_end = std::min(kernel, width + pad - w);
    ForChannelChunks<acc_t>(channels, [&](auto chunk_width, int64_t c) {
      using ChunkT = Chunk<acc_t, decltype(chunk_width)::value>;
      ChunkT sum = bias ? ChunkT::Load(bias + c) : ChunkT{};
      for (int64_t kh = kh_begin; kh < kh_end; ++kh) {
        const src_t* pixels = image + ((h + kh - pad) * width + w - pad + kw_begin) * channels + c;
        const acc_t* tap = taps + (kh * kernel + kw_begin) * channels + c;
        for (int64_t i = 0; i < kw_end - kw_begin; ++i)
          sum.AddProduct(ChunkT::Load(pixels + i * channels), ChunkT::Load(tap + i * channels));
      }
      sum.Store(out + w * channels + c);
    });
  }
}

template <typename acc_t>
void PixelStatistics(const acc_t* y, int64_t width, int64_t channels, acc_t eps, acc_t* mean, acc_t* inverse_std);

// The LayerNorm statistics of a pixel whose sums, or variance plus eps, overflow though its values
// are finite: those of its values times a power of two that brings the largest below 2 (exact),
// scaled back (eps by the square: a finite variance plus eps overflows only past half an ulp of
// the largest finite value, so some value is far above 1, the scale far below, and the scaled
// sum finite). A pixel holding Inf or NaN keeps the statistics it had, NaN.
template <typename acc_t>
void ScaledPixelStatistics(const acc_t* pixel, int64_t channels, acc_t eps, acc_t* mean, acc_t* inverse_std) {
  acc_t largest = 0;
  for (int64_t c = 0; c < channels; ++c) {
    if (!std::isfinite(pixel[c])) return;
    largest = std::max(largest, std::abs(pixel[c]));
  }
  if (largest == 0) return;  // zeros do not overflow (and ilogb(0) has no meaning)
  const acc_t scale = std::ldexp(acc_t(1), -std::ilogb(largest));
  std::vector<acc_t> scaled(pixel, pixel + channels);
  for (acc_t& v : scaled) v *= scale;
  acc_t scaled_mean, scaled_inverse_std;
  PixelStatistics(scaled.data(), 1, channels, eps * scale * scale, &scaled_mean, &scaled_inverse_std);
  *mean = scaled_mean / scale;
  // eps * scale^2 may underflow; the inverse deviation is at most 1 / sqrt(eps) all the same.
  *inverse_std = std::min(scaled_inverse_std * scale, acc_t(1) / std::sqrt(eps));
}

// Each pixel's LayerNorm statistics over its channels: mean and 1 / sqrt(biased variance + eps),
// in three passes: the mean, corrected by the mean deviation from it, then the variance around
// the corrected mean. A pixel whose channels are all equal then gets its value as mean and a zero
// variance (x_hat = 0, and NaN with eps = 0, as torch's LayerNorm gives), where sum / C alone
// can miss by an ulp, and that ulp times 1 / sqrt(eps) is an error of order 1. Phases over all
// pixels of the row keep each pixel's reductions, square root and division independent of the
// next pixel's.
template <typename acc_t>
void PixelStatistics(const acc_t* y, int64_t width, int64_t channels, acc_t eps, acc_t* mean, acc_t* inverse_std) {
  const acc_t inverse_channels = acc_t(1) / static_cast<acc_t>(channels);
  // The sum over a pixel's channels of f(their values minus `from`).
  const auto sum = [&](int64_t w, acc_t from, auto f) {
    const acc_t* pixel = y + w * channels;
    return SumOf<acc_t>(
        channels, [&](auto lanes, int64_t i) { return f(LoadLanes<acc_t, decltype(lanes)::value>(pixel + i) - from); });
  };
  const auto value = [](auto d) { return d; };
  const auto square = [](auto d) { return d * d; };
  for (int64_t w = 0; w < width; ++w) mean[w] = sum(w, acc_t(0), value) * inverse_channels;
  for (int64_t w = 0; w < width; ++w) mean[w] += sum(w, mean[w], value) * inverse_channels;
  for (int64_t w = 0; w < width; ++w) inverse_std[w] = sum(w, mean[w], square) * inverse_channels;
  for (int64_t w = 0; w < width; ++w) {
    // The variance plus eps, not the variance alone: a large eps can overflow a finite variance.
    const acc_t spread = inverse_std[w] + eps;
    if (std::isfinite(mean[w]) && std::isfinite(spread)) {
      inverse_std[w] = acc_t(1) / std::sqrt(spread);
    } else {
      ScaledPixelStatistics(y + w * channels, channels, eps, mean + w, inverse_std + w);
    }
  }
}

// Pixels [w0, w1) of a row: y = x_hat * norm_weight + norm_bias, with x_hat = (y - mean) *
// inverse_std stored in x_hat when it is not null (the backward's), in place in y otherwise.
template <typename acc_t>
void Normalise(int64_t w0, int64_t w1, int64_t channels, const DwConvParams<acc_t>& p, const acc_t* mean,
               const acc_t* inverse_std, acc_t* y, acc_t* x_hat) {
  for (int64_t w = w0; w < w1; ++w) {
    acc_t* pixel = y + w * channels;
    acc_t* normalised = x_hat ? x_hat + w * channels : pixel;
    for (int64_t c = 0; c < channels; ++c) {
      normalised[c] = (pixel[c] - mean[w]) * inverse_std[w];
      pixel[c] = MulAdd(normalised[c], p.norm_weight[c], p.norm_bias[c]);
    }
  }
}

// Pixels per block of the normalise-and-GELU phase: whole pixels, at least one (a pixel wider
// than kGeluBlock then goes through GELU in pieces).
inline int64_t BlockPixels(int64_t channels) { return std::max<int64_t>(1, kGeluBlock / channels); }

// Output row `row` (batch item row / height, image row row % height) into `out` (width *
// channels): convolution, LayerNorm, GELU. `y` is scratch of width * channels values, `mean` and
// `inverse_std` of width.
template <typename scalar_t, typename acc_t>
void DwConvRow(const DwConvShape& s, int64_t row, const scalar_t* input, const DwConvParams<acc_t>& p, acc_t* y,
               acc_t* mean, acc_t* inverse_std, scalar_t* out) {
  const int64_t width = s.width, channels = s.channels, h = row % s.height;
  ConvolveRow(s, h, input + (row - h) * width * channels, p.taps, p.bias, y);
  PixelStatistics(y, width, channels, p.eps, mean, inverse_std);
  for (int64_t w0 = 0; w0 < width; w0 += BlockPixels(channels)) {
    const int64_t w1 = std::min(width, w0 + BlockPixels(channels));
    Normalise<acc_t>(w0, w1, channels, p, mean, inverse_std, y, nullptr);
    for (int64_t i = w0 * channels; i < w1 * channels; i += kGeluBlock)
      Gelu(y + i, std::min(kGeluBlock, w1 * channels - i), out + i);
  }
}

// The parameters of a call in the accumulation type (DwConvParams' layout).
template <typename scalar_t, typename acc_t>
std::vector<acc_t> ParamsInAccType(const DwConvShape& s, const scalar_t* weight, const scalar_t* bias,
                                   const scalar_t* norm_weight, const scalar_t* norm_bias) {
  const int64_t channels = s.channels, taps = s.kernel * s.kernel;
  std::vector<acc_t> params((taps + 3) * channels);
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t k = 0; k < taps; ++k) params[k * channels + c] = static_cast<acc_t>(weight[c * taps + k]);
    params[(taps + 0) * channels + c] = static_cast<acc_t>(bias[c]);
    params[(taps + 1) * channels + c] = static_cast<acc_t>(norm_weight[c]);
    params[(taps + 2) * channels + c] = static_cast<acc_t>(norm_bias[c]);
  }
  return params;
}

template <typename acc_t>
DwConvParams<acc_t> ParamsView(const DwConvShape& s, const std::vector<acc_t>& params, double eps) {
  const int64_t channels = s.channels, taps = s.kernel * s.kernel;
  const acc_t* base = params.data();
  return {base, base + taps * channels, base + (taps + 1) * channels, base + (taps + 2) * channels,
          static_cast<acc_t>(eps)};
}

// Image rows per task: enough values (about 8 K, some 15 us) that a task outweighs waking a
// thread. A function of the shape only, so that the backward's per-block partial sums, and with
// them its bits, do not depend on the thread count.
inline int64_t RowsPerTask(const DwConvShape& s) {
  return std::max<int64_t>(1, (int64_t{1} << 13) / (s.width * s.channels));
}

// npu::dcnv3_dw_conv over the whole input; weight [C, 1, k, k], bias, norm_weight, norm_bias [C]
// contiguous, in the input's dtype.
template <typename scalar_t, typename acc_t>
void DwConv(const DwConvShape& s, const scalar_t* input, const scalar_t* weight, const scalar_t* bias,
            const scalar_t* norm_weight, const scalar_t* norm_bias, double eps, scalar_t* output) {
  const std::vector<acc_t> params = ParamsInAccType<scalar_t, acc_t>(s, weight, bias, norm_weight, norm_bias);
  const DwConvParams<acc_t> p = ParamsView(s, params, eps);
  const int64_t row_values = s.width * s.channels;
  at::parallel_for(0, s.batch * s.height, RowsPerTask(s), [&](int64_t begin, int64_t end) {
    std::vector<acc_t> y(row_values), statistics(2 * s.width);
    for (int64_t row = begin; row < end; ++row)
      DwConvRow(s, row, input, p, y.data(), statistics.data(), statistics.data() + s.width, output + row * row_values);
  });
}

// The most blocks of rows the backward sums the parameters' gradients in (plenty of tasks for
// any core count).
constexpr int64_t kMaxGradientBlocks = 256;

// The backward's first phase for row `row`: recomputes the forward, then writes the gradient of
// the convolution's output (before the norm) to `grad_pre` (width * channels) and adds this
// row's share of the parameters' gradients to `partial` (taps [k * k][C], bias, norm_weight,
// norm_bias [C]). `x_hat`, `grad` are scratch of width * channels values, `mean`, `inverse_std`
// of width.
template <typename scalar_t, typename acc_t>
void DwConvBackwardRow(const DwConvShape& s, int64_t row, const scalar_t* input, const DwConvParams<acc_t>& p,
                       const scalar_t* grad_output, acc_t* x_hat, acc_t* grad, acc_t* mean, acc_t* inverse_std,
                       acc_t* grad_pre, acc_t* partial) {
  const int64_t height = s.height, width = s.width, channels = s.channels, kernel = s.kernel;
  const int64_t pad = (kernel - 1) / 2, h = row % height;
  const scalar_t* image = input + (row - h) * width * channels;
  const scalar_t* grad_out = grad_output + row * width * channels;
  acc_t* grad_taps = partial;
  acc_t *grad_bias = partial + kernel * kernel * channels, *grad_norm_weight = grad_bias + channels;
  acc_t* grad_norm_bias = grad_norm_weight + channels;
  // grad holds y (after the norm), then the gradient of y, then of x_hat.
  ConvolveRow(s, h, image, p.taps, p.bias, grad);
  PixelStatistics(grad, width, channels, p.eps, mean, inverse_std);
  for (int64_t w0 = 0; w0 < width; w0 += BlockPixels(channels)) {
    const int64_t w1 = std::min(width, w0 + BlockPixels(channels));
    Normalise(w0, w1, channels, p, mean, inverse_std, grad, x_hat);
    for (int64_t i = w0 * channels; i < w1 * channels; i += kGeluBlock) {
      const int64_t n = std::min(kGeluBlock, w1 * channels - i);
      acc_t slope[kGeluBlock];
      GeluDerivative(grad + i, n, slope);
      for (int64_t j = 0; j < n; ++j) grad[i + j] = static_cast<acc_t>(grad_out[i + j]) * slope[j];
    }
    for (int64_t w = w0; w < w1; ++w) {
      acc_t* g = grad + w * channels;
      const acc_t* xh = x_hat + w * channels;
      for (int64_t c = 0; c < channels; ++c) {
        grad_norm_weight[c] = MulAdd(g[c], xh[c], grad_norm_weight[c]);
        grad_norm_bias[c] += g[c];
        g[c] *= p.norm_weight[c];
      }
    }
  }
  // Through the norm: grad_pre = inverse_std * (g - mean(g) - x_hat * mean(g * x_hat)).
  const acc_t inverse_channels = acc_t(1) / static_cast<acc_t>(channels);
  for (int64_t w = 0; w < width; ++w) {
    const acc_t *g = grad + w * channels, *xh = x_hat + w * channels;
    const acc_t g_mean =
        SumOf<acc_t>(channels, [&](auto lanes, int64_t i) { return LoadLanes<acc_t, decltype(lanes)::value>(g + i); }) *
        inverse_channels;
    const acc_t gx_mean = SumOf<acc_t>(channels,
                                       [&](auto lanes, int64_t i) {
                                         constexpr int kWidth = decltype(lanes)::value;
                                         return LoadLanes<acc_t, kWidth>(g + i) * LoadLanes<acc_t, kWidth>(xh + i);
                                       }) *
                          inverse_channels;
    acc_t* out = grad_pre + w * channels;
    for (int64_t c = 0; c < channels; ++c) {
      out[c] = (g[c] - g_mean - xh[c] * gx_mean) * inverse_std[w];
      grad_bias[c] += out[c];
    }
  }
  // The taps' gradient: each tap's products of grad_pre with the pixels it met, summed over the
  // row, a channel chunk at a time in registers.
  const int64_t kh_begin = std::max<int64_t>(0, pad - h), kh_end = std::min(kernel, height + pad - h);
  ForChannelChunks<acc_t>(channels, [&](auto chunk_width, int64_t c) {
    using ChunkT = Chunk<acc_t, decltype(chunk_width)::value>;
    for (int64_t kh = kh_begin; kh < kh_end; ++kh)
      for (int64_t kw = 0; kw < kernel; ++kw) {
        const int64_t w_begin = std::max<int64_t>(0, pad - kw), w_end = std::min(width, width + pad - kw);
        if (w_begin >= w_end) continue;
        acc_t* tap = grad_taps + (kh * kernel + kw) * channels + c;
        ChunkT sum = ChunkT::Load(tap);
        const scalar_t* pixels = image + ((h + kh - pad) * width + w_begin + kw - pad) * channels + c;
        for (int64_t w = w_begin; w < w_end; ++w)
          sum.AddProduct(ChunkT::Load(grad_pre + w * channels + c), ChunkT::Load(pixels + (w - w_begin) * channels));
        sum.Store(tap);
      }
  });
}

// The gradients of npu::dcnv3_dw_conv (arguments as DwConv's, grad_output like the input).
// Phase 1, parallel over fixed blocks of rows: the gradient before the norm into a float buffer
// and per-block partial sums of the parameters' gradients, added up in block order afterwards.
// Phase 2, parallel over rows: the input's gradient, that buffer convolved with the flipped
// kernel. No thread writes where another does, and the sums' order follows the shape only.
template <typename scalar_t, typename acc_t>
void DwConvBackward(const DwConvShape& s, const scalar_t* input, const scalar_t* weight, const scalar_t* bias,
                    const scalar_t* norm_weight, const scalar_t* norm_bias, const scalar_t* grad_output, double eps,
                    scalar_t* grad_input, scalar_t* grad_weight, scalar_t* grad_bias, scalar_t* grad_norm_weight,
                    scalar_t* grad_norm_bias) {
  const int64_t channels = s.channels, taps = s.kernel * s.kernel, rows = s.batch * s.height;
  const int64_t row_values = s.width * channels, param_values = (taps + 3) * channels;
  const std::vector<acc_t> params = ParamsInAccType<scalar_t, acc_t>(s, weight, bias, norm_weight, norm_bias);
  const DwConvParams<acc_t> p = ParamsView(s, params, eps);
  // Every value is written in phase 1 (no zero fill).
  const std::unique_ptr<acc_t[]> grad_pre(new acc_t[rows * row_values]);
  // Blocks of RowsPerTask rows, at most kMaxGradientBlocks of them: each holds (k * k + 3) * C
  // partial sums, which a tall, narrow image would otherwise multiply by its height.
  const int64_t wanted_blocks = std::min(kMaxGradientBlocks, (rows + RowsPerTask(s) - 1) / RowsPerTask(s));
  const int64_t block_rows = (rows + wanted_blocks - 1) / wanted_blocks;
  const int64_t blocks = (rows + block_rows - 1) / block_rows;
  std::vector<acc_t> partials(blocks * param_values, acc_t(0));
  at::parallel_for(0, blocks, 1, [&](int64_t begin, int64_t end) {
    std::vector<acc_t> x_hat(row_values), grad(row_values), statistics(2 * s.width);
    for (int64_t block = begin; block < end; ++block)
      for (int64_t row = block * block_rows; row < std::min(rows, (block + 1) * block_rows); ++row)
        DwConvBackwardRow(s, row, input, p, grad_output, x_hat.data(), grad.data(), statistics.data(),
                          statistics.data() + s.width, grad_pre.get() + row * row_values,
                          partials.data() + block * param_values);
  });
  for (int64_t block = 1; block < blocks; ++block)
    for (int64_t i = 0; i < param_values; ++i) partials[i] += partials[block * param_values + i];
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t k = 0; k < taps; ++k) grad_weight[c * taps + k] = static_cast<scalar_t>(partials[k * channels + c]);
    grad_bias[c] = static_cast<scalar_t>(partials[(taps + 0) * channels + c]);
    grad_norm_weight[c] = static_cast<scalar_t>(partials[(taps + 1) * channels + c]);
    grad_norm_bias[c] = static_cast<scalar_t>(partials[(taps + 2) * channels + c]);
  }
  // The taps in reverse order: the kernel rotated by 180 degrees.
  std::vector<acc_t> flipped(taps * channels);
  for (int64_t k = 0; k < taps; ++k)
    std::copy_n(p.taps + (taps - 1 - k) * channels, channels, flipped.begin() + k * channels);
  at::parallel_for(0, rows, RowsPerTask(s), [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t h = row % s.height;
      ConvolveRow(s, h, grad_pre.get() + (row - h) * row_values, flipped.data(), static_cast<const acc_t*>(nullptr),
                  grad_input + row * row_values);
    }
  });
}
