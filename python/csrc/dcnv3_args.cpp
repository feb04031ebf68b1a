#include "dcnv3_args.h"

#include <c10/core/ScalarType.h>
#include <c10/util/Exception.h>

#include <cmath>
#include <utility>

namespace dcnv3 {
namespace {

// Python's spelling ("float32"), so messages match python/dcnv3_ascend/_checks.py.
std::string DtypeName(at::ScalarType t) { return std::string(c10::getDtypeNames(t).first); }

Dims DimsOf(const at::Tensor& t) { return Dims{t.sizes().data(), t.dim()}; }

bool IsSupportedDtype(at::ScalarType t) {
  return t == at::kFloat || t == at::kDouble || t == at::kHalf || t == at::kBFloat16;
}

void CheckLikeInput(const char* name, const at::Tensor& t, const at::Tensor& input) {
  CheckIsTensor(name, t);
  TORCH_CHECK(t.scalar_type() == input.scalar_type(), name, " must have the same dtype as input (",
              DtypeName(input.scalar_type()), "), got ", DtypeName(t.scalar_type()));
  TORCH_CHECK(t.device() == input.device(), name, " must be on the same device as input (", input.device().str(),
              "), got ", t.device().str());
}

}  // namespace

void CheckIsTensor(const char* name, const at::Tensor& t) {
  TORCH_CHECK(t.defined(), name, " must be a tensor, got None");
}

Attrs MakeDcnv3Attrs(DCNV3_ATTR_PARAMS) {
  Attrs a;
  // Narrows offset_scale to the contract's float; the integers are int64_t on both sides.
#define DCNV3_SET_ATTR(index, name, kind) a.name = static_cast<DCNV3_ATTR_TYPE_##kind>(name);
  DCNV3_ATTRS(DCNV3_SET_ATTR, )
#undef DCNV3_SET_ATTR
  return a;
}

Problem CheckDcnv3Args(const at::Tensor& input, const at::Tensor& offset, const at::Tensor& mask,
                       const at::Tensor* grad_output, const Attrs& attrs) {
  CheckIsTensor("input", input);
  TORCH_CHECK(IsSupportedDtype(input.scalar_type()), "input dtype must be float32, float64, float16 or bfloat16, got ",
              DtypeName(input.scalar_type()));
  CheckLikeInput("offset", offset, input);
  CheckLikeInput("mask", mask, input);
  if (grad_output) CheckLikeInput("grad_output", *grad_output, input);
  Problem problem;
  const Dims grad_dims = grad_output ? DimsOf(*grad_output) : Dims{};
  const std::string error =
      ValidateShapes(DimsOf(input), DimsOf(offset), DimsOf(mask), grad_output ? &grad_dims : nullptr, attrs, &problem);
  TORCH_CHECK(error.empty(), error);
  return problem;
}

DwConvShape CheckDwConvArgs(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias,
                            const at::Tensor& norm_weight, const at::Tensor& norm_bias, const at::Tensor* grad_output,
                            double eps) {
  CheckIsTensor("input", input);
  TORCH_CHECK(IsSupportedDtype(input.scalar_type()), "input dtype must be float32, float64, float16 or bfloat16, got ",
              DtypeName(input.scalar_type()));
  TORCH_CHECK(input.dim() == 4, "input must be [N, H, W, C] (4-D), got ", input.sizes());
  CheckLikeInput("weight", weight, input);
  CheckLikeInput("bias", bias, input);
  CheckLikeInput("norm_weight", norm_weight, input);
  CheckLikeInput("norm_bias", norm_bias, input);
  const int64_t channels = input.size(3);
  TORCH_CHECK(weight.dim() == 4 && weight.size(0) == channels && weight.size(1) == 1 &&
                  weight.size(2) == weight.size(3) && weight.size(2) % 2 == 1,
              "weight must be [C, 1, k, k] with C = ", channels, " (input's channels) and k odd, got ", weight.sizes());
  for (const auto& [name, t] : {std::pair<const char*, const at::Tensor&>{"bias", bias},
                                {"norm_weight", norm_weight},
                                {"norm_bias", norm_bias}})
    TORCH_CHECK(t.dim() == 1 && t.size(0) == channels, name, " must be [C] with C = ", channels,
                " (input's channels), got ", t.sizes());
  if (grad_output) {
    CheckLikeInput("grad_output", *grad_output, input);
    TORCH_CHECK(grad_output->sizes() == input.sizes(), "grad_output must have input's shape ", input.sizes(), ", got ",
                grad_output->sizes());
  }
  if (input.scalar_type() == at::kDouble) {
    TORCH_CHECK(std::isfinite(eps) && eps >= 0, "eps must be finite and >= 0, got ", eps);
  } else {
    // float16 and bfloat16 accumulate in float32 too, where an eps the double check passes (1e39)
    // would silently become inf. Compared in double, so that the message names the value passed
    // (narrowed to float it would read inf, as offset_scale's does: MakeDcnv3Attrs narrows first).
    constexpr double kFloat32Overflow = 0x1p128 - 0x1p103;  // the smallest double rounding to inf
    TORCH_CHECK(eps >= 0 && eps < kFloat32Overflow,
                "eps must be finite and >= 0 in float32 (the accumulation type for ", DtypeName(input.scalar_type()),
                " input; at most about 3.40282e+38), got ", eps);
  }
  return DwConvShape{input.size(0), input.size(1), input.size(2), channels, weight.size(2)};
}

}  // namespace dcnv3
