#include "dcnv3_args.h"

#include <c10/core/ScalarType.h>
#include <c10/util/Exception.h>

namespace dcnv3 {
namespace {

// Python's spelling ("float32"), so messages match python/dcnv3_ascend/_checks.py.
std::string DtypeName(at::ScalarType t) { return std::string(c10::getDtypeNames(t).first); }

Dims DimsOf(const at::Tensor& t) { return Dims{t.sizes().data(), t.dim()}; }

bool IsSupportedDtype(at::ScalarType t) {
  return t == at::kFloat || t == at::kDouble || t == at::kHalf || t == at::kBFloat16;
}

void CheckLikeInput(const char* name, const at::Tensor& t, const at::Tensor& input) {
  TORCH_CHECK(t.defined(), name, " must be a tensor, got None");
  TORCH_CHECK(t.scalar_type() == input.scalar_type(), name, " must have the same dtype as input (",
              DtypeName(input.scalar_type()), "), got ", DtypeName(t.scalar_type()));
  TORCH_CHECK(t.device() == input.device(), name, " must be on the same device as input (", input.device().str(),
              "), got ", t.device().str());
}

}  // namespace

Attrs MakeDcnv3Attrs(DCNV3_ATTR_PARAMS) {
  Attrs a;
  a.kernel_h = kernel_h;
  a.kernel_w = kernel_w;
  a.stride_h = stride_h;
  a.stride_w = stride_w;
  a.pad_h = pad_h;
  a.pad_w = pad_w;
  a.dilation_h = dilation_h;
  a.dilation_w = dilation_w;
  a.group = group;
  a.group_channels = group_channels;
  a.offset_scale = static_cast<float>(offset_scale);
  a.im2col_step = im2col_step;
  a.remove_center = remove_center;
  return a;
}

Problem CheckDcnv3Args(const at::Tensor& input, const at::Tensor& offset, const at::Tensor& mask,
                       const at::Tensor* grad_output, const Attrs& attrs) {
  TORCH_CHECK(input.defined(), "input must be a tensor, got None");
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

}  // namespace dcnv3
