// CPU kernels of npu::dcnv3 and npu::dcnv3_backward (semantics: op_host/dcnv3_contract.h and
// InternImage's dcnv3_im2col_cuda.cuh), of npu::dcnv3_softmax_mask(_backward), the same op on
// softmax(mask) over each group's points, and of npu::dcnv3_dw_conv(_backward), the modules'
// dw_conv branch. The loops live in dcnv3_cpu_kernels.h and dw_conv_kernels.h, compiled here
// for the portable baseline and, on x86-64 with GCC, for AVX2+FMA and for AVX-512, the best the CPU
// runs chosen at run time. Half types accumulate in float32, float64 in float64 (offset_scale
// included: it stays a double).

// The kernels never read floating-point exception flags. Without trapping math GCC vectorises
// std::floor and the selects of the sampling loop (LocatePoints). Without loop distribution into
// library calls, CopyRow and ZeroRow stay inline loops rather than a memcpy or memset call per
// row of a few channels. It must precede every function definition of this file to take effect,
// hence before the includes.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math", "no-tree-loop-distribute-patterns")
#endif

#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "dcnv3_args.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace dcnv3 {

namespace cpu_baseline {
constexpr int kVectorBytes = 16;  // SSE2 on x86-64, NEON on AArch64
// Whether the baseline target has FMA instructions (AArch64 does; x86-64's baseline does not).
#ifdef FP_FAST_FMAF
constexpr bool kHasFma = true;
#else
constexpr bool kHasFma = false;
#endif
#include "dcnv3_cpu_kernels.h"
#include "dw_conv_kernels.h"
}  // namespace cpu_baseline

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define DCNV3_CPU_X86 1

// F16C converts 8 halves at once (AVX-512F 16); c10::Half converts in software here, because the
// c10 headers were compiled for the baseline target. Both round to nearest even, as c10::Half.
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
namespace cpu_avx2 {
constexpr int kVectorBytes = 32;
constexpr bool kHasFma = true;
#include "dcnv3_cpu_kernels.h"
#include "dw_conv_kernels.h"

template <>
struct LaneConvert<float, 8, c10::Half> {
  static Lanes<float, 8> Load(const c10::Half* src) {
    const __m256 wide = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src)));
    Lanes<float, 8> v;
    std::memcpy(&v, &wide, sizeof(v));
    return v;
  }
  static void Store(c10::Half* dst, Lanes<float, 8> v) {
    __m256 wide;
    std::memcpy(&wide, &v, sizeof(v));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), _mm256_cvtps_ph(wide, _MM_FROUND_TO_NEAREST_INT));
  }
};
}  // namespace cpu_avx2
#pragma GCC pop_options

// AVX-512 as the x86-64-v4 level has it (F, VL, DQ, BW; Skylake-SP and later Xeons, Zen 4): a
// group of 16 float channels, InternImage's usual width, is one register, so each corner is one
// load and one FMA.
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma,f16c")
namespace cpu_avx512 {
constexpr int kVectorBytes = 64;
constexpr bool kHasFma = true;
#include "dcnv3_cpu_kernels.h"
#include "dw_conv_kernels.h"

template <>
struct LaneConvert<float, 16, c10::Half> {
  static Lanes<float, 16> Load(const c10::Half* src) {
    // The zero-masking forms with every lane enabled: the plain ones start from an undefined
    // register, which GCC 12 reports as possibly uninitialised.
    const __m512 wide = _mm512_maskz_cvtph_ps(0xffff, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src)));
    Lanes<float, 16> v;
    std::memcpy(&v, &wide, sizeof(v));
    return v;
  }
  static void Store(c10::Half* dst, Lanes<float, 16> v) {
    __m512 wide;
    std::memcpy(&wide, &v, sizeof(v));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst),
                        _mm512_maskz_cvtps_ph(0xffff, wide, _MM_FROUND_TO_NEAREST_INT));
  }
};
}  // namespace cpu_avx512
#pragma GCC pop_options
#endif

namespace {

// The instruction sets the kernels are compiled for, in increasing order.
enum class CpuIsa { kBaseline, kAvx2, kAvx512 };

// The best kernels this CPU runs, at most the level DCNV3_CPU_ISA names (baseline, avx2 or
// avx512), so that tests can check every build of the kernels on one machine.
CpuIsa SelectedIsa() {
  static const CpuIsa isa = [] {
    CpuIsa best = CpuIsa::kBaseline;
#ifdef DCNV3_CPU_X86
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) {
      best = CpuIsa::kAvx2;
      if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
          __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw"))
        best = CpuIsa::kAvx512;
    }
#endif
    const char* cap = std::getenv("DCNV3_CPU_ISA");
    if (!cap) return best;
    const std::string name(cap);
    TORCH_CHECK(name == "baseline" || name == "avx2" || name == "avx512",
                "DCNV3_CPU_ISA: expected baseline, avx2 or avx512, got '", name, "'");
    const CpuIsa limit = name == "baseline" ? CpuIsa::kBaseline : name == "avx2" ? CpuIsa::kAvx2 : CpuIsa::kAvx512;
    return std::min(best, limit);
  }();
  return isa;
}

// Calls the kernel named by the arguments after `args` (a function template's name with its
// template arguments) in the selected instruction set's namespace, with the tuple `args`.
#ifdef DCNV3_CPU_X86
#define DCNV3_CPU_CALL(args, ...)                                                                                      \
  switch (SelectedIsa()) {                                                                                             \
    case CpuIsa::kAvx512: return std::apply(cpu_avx512::__VA_ARGS__, args);                                            \
    case CpuIsa::kAvx2: return std::apply(cpu_avx2::__VA_ARGS__, args);                                                \
    case CpuIsa::kBaseline: return std::apply(cpu_baseline::__VA_ARGS__, args);                                        \
  }
#else
#define DCNV3_CPU_CALL(args, ...) return std::apply(cpu_baseline::__VA_ARGS__, args);
#endif

at::Tensor Forward(const at::Tensor& input, const at::Tensor& offset, const at::Tensor& mask, bool softmax,
                   DCNV3_ATTR_PARAMS) {
  const Problem pb = CheckDcnv3Args(input, offset, mask, nullptr, MakeDcnv3Attrs(DCNV3_ATTR_ARGS));
  const at::Tensor in = input.contiguous(), off = offset.contiguous(), msk = mask.contiguous();
  at::Tensor output = at::empty({pb.batch, pb.height_out, pb.width_out, pb.channels}, input.options());
  if (output.numel() == 0) return output;
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, input.scalar_type(), "dcnv3_cpu", [&] {
    const auto args = std::make_tuple(std::cref(pb), offset_scale, softmax, in.const_data_ptr<scalar_t>(),
                                      off.const_data_ptr<scalar_t>(), msk.const_data_ptr<scalar_t>(),
                                      output.mutable_data_ptr<scalar_t>());
    DCNV3_CPU_CALL(args, Forward<scalar_t>)
  });
  return output;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> Backward(const at::Tensor& input, const at::Tensor& offset,
                                                        const at::Tensor& mask, const at::Tensor& grad_output,
                                                        bool softmax, DCNV3_ATTR_PARAMS) {
  const Problem pb = CheckDcnv3Args(input, offset, mask, &grad_output, MakeDcnv3Attrs(DCNV3_ATTR_ARGS));
  const at::Tensor in = input.contiguous(), off = offset.contiguous(), msk = mask.contiguous();
  const at::Tensor go = grad_output.contiguous();
  at::Tensor grad_offset = at::empty(offset.sizes(), offset.options());
  at::Tensor grad_mask = at::empty(mask.sizes(), mask.options());
  // grad_input is a scatter-add: half types accumulate in a float32 buffer. The kernel zeroes it.
  const at::ScalarType acc_type = at::toOpMathType(input.scalar_type());
  at::Tensor grad_input_acc = at::empty(input.sizes(), input.options().dtype(acc_type));
  if (pb.batch > 0) {
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, input.scalar_type(), "dcnv3_backward_cpu", [&] {
      using acc_t = at::opmath_type<scalar_t>;
      const auto args = std::make_tuple(
          std::cref(pb), offset_scale, softmax, in.const_data_ptr<scalar_t>(), off.const_data_ptr<scalar_t>(),
          msk.const_data_ptr<scalar_t>(), go.const_data_ptr<scalar_t>(), grad_input_acc.mutable_data_ptr<acc_t>(),
          grad_offset.mutable_data_ptr<scalar_t>(), grad_mask.mutable_data_ptr<scalar_t>());
      DCNV3_CPU_CALL(args, Backward<scalar_t, acc_t>)
    });
  }
  at::Tensor grad_input = acc_type == input.scalar_type() ? grad_input_acc : grad_input_acc.to(input.scalar_type());
  return {grad_input, grad_offset, grad_mask};
}

at::Tensor Dcnv3Cpu(const at::Tensor& input, const at::Tensor& offset, const at::Tensor& mask, DCNV3_ATTR_PARAMS) {
  return Forward(input, offset, mask, false, DCNV3_ATTR_ARGS);
}

at::Tensor Dcnv3SoftmaxMaskCpu(const at::Tensor& input, const at::Tensor& offset, const at::Tensor& mask,
                               DCNV3_ATTR_PARAMS) {
  return Forward(input, offset, mask, true, DCNV3_ATTR_ARGS);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> Dcnv3BackwardCpu(const at::Tensor& input, const at::Tensor& offset,
                                                                const at::Tensor& mask, const at::Tensor& grad_output,
                                                                DCNV3_ATTR_PARAMS) {
  return Backward(input, offset, mask, grad_output, false, DCNV3_ATTR_ARGS);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> Dcnv3SoftmaxMaskBackwardCpu(const at::Tensor& input,
                                                                           const at::Tensor& offset,
                                                                           const at::Tensor& mask,
                                                                           const at::Tensor& grad_output,
                                                                           DCNV3_ATTR_PARAMS) {
  return Backward(input, offset, mask, grad_output, true, DCNV3_ATTR_ARGS);
}

at::Tensor DwConvCpu(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias,
                     const at::Tensor& norm_weight, const at::Tensor& norm_bias, double eps) {
  const DwConvShape shape = CheckDwConvArgs(input, weight, bias, norm_weight, norm_bias, nullptr, eps);
  const at::Tensor in = input.contiguous();
  at::Tensor output = at::empty(input.sizes(), input.options());
  if (output.numel() == 0) return output;
  const at::Tensor w = weight.contiguous(), b = bias.contiguous();
  const at::Tensor norm_w = norm_weight.contiguous(), norm_b = norm_bias.contiguous();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, input.scalar_type(), "dcnv3_dw_conv_cpu", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    const auto args = std::make_tuple(std::cref(shape), in.const_data_ptr<scalar_t>(), w.const_data_ptr<scalar_t>(),
                                      b.const_data_ptr<scalar_t>(), norm_w.const_data_ptr<scalar_t>(),
                                      norm_b.const_data_ptr<scalar_t>(), eps, output.mutable_data_ptr<scalar_t>());
    DCNV3_CPU_CALL(args, DwConv<scalar_t, acc_t>)
  });
  return output;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor> DwConvBackwardCpu(
    const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias, const at::Tensor& norm_weight,
    const at::Tensor& norm_bias, const at::Tensor& grad_output, double eps) {
  const DwConvShape shape = CheckDwConvArgs(input, weight, bias, norm_weight, norm_bias, &grad_output, eps);
  const at::Tensor in = input.contiguous(), go = grad_output.contiguous(), w = weight.contiguous();
  const at::Tensor b = bias.contiguous(), norm_w = norm_weight.contiguous(), norm_b = norm_bias.contiguous();
  at::Tensor grad_input = at::empty(input.sizes(), input.options());
  // Empty images leave every gradient zero (the parameters met no pixel).
  at::Tensor grads[4] = {at::zeros(weight.sizes(), weight.options()), at::zeros(bias.sizes(), bias.options()),
                         at::zeros(norm_weight.sizes(), norm_weight.options()),
                         at::zeros(norm_bias.sizes(), norm_bias.options())};
  if (input.numel() > 0) {
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, input.scalar_type(), "dcnv3_dw_conv_backward_cpu", [&] {
      using acc_t = at::opmath_type<scalar_t>;
      const auto args = std::make_tuple(std::cref(shape), in.const_data_ptr<scalar_t>(), w.const_data_ptr<scalar_t>(),
                                        b.const_data_ptr<scalar_t>(), norm_w.const_data_ptr<scalar_t>(),
                                        norm_b.const_data_ptr<scalar_t>(), go.const_data_ptr<scalar_t>(), eps,
                                        grad_input.mutable_data_ptr<scalar_t>(), grads[0].mutable_data_ptr<scalar_t>(),
                                        grads[1].mutable_data_ptr<scalar_t>(), grads[2].mutable_data_ptr<scalar_t>(),
                                        grads[3].mutable_data_ptr<scalar_t>());
      DCNV3_CPU_CALL(args, DwConvBackward<scalar_t, acc_t>)
    });
  }
  return {grad_input, grads[0], grads[1], grads[2], grads[3]};
}

}  // namespace
}  // namespace dcnv3

TORCH_LIBRARY_IMPL(npu, CPU, m) {
  m.impl("dcnv3_dw_conv", &dcnv3::DwConvCpu);
  m.impl("dcnv3_dw_conv_backward", &dcnv3::DwConvBackwardCpu);
  m.impl("dcnv3", &dcnv3::Dcnv3Cpu);
  m.impl("dcnv3_backward", &dcnv3::Dcnv3BackwardCpu);
  m.impl("dcnv3_softmax_mask", &dcnv3::Dcnv3SoftmaxMaskCpu);
  m.impl("dcnv3_softmax_mask_backward", &dcnv3::Dcnv3SoftmaxMaskBackwardCpu);
}
