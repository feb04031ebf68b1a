// Torch-side argument checks of npu::dcnv3 and npu::dcnv3_backward: the one place that turns the
// schema's arguments into a validated dcnv3::Problem, shared by the CPU kernel and the NPU
// adapter. Shape rules come from op_host/dcnv3_contract.h; this file adds what only torch knows
// (dtypes, devices). python/dcnv3_ascend/_checks.py mirrors every message for the fake kernels.
#pragma once

#include <ATen/core/Tensor.h>

#include "dcnv3_contract.h"

// The 13 attribute parameters of both schemas, in schema order, so kernels that implement the
// schema do not retype them (torch passes a schema `float` as double).
#define DCNV3_ATTR_PARAMS                                                                                              \
  int64_t kernel_h, int64_t kernel_w, int64_t stride_h, int64_t stride_w, int64_t pad_h, int64_t pad_w,                \
      int64_t dilation_h, int64_t dilation_w, int64_t group, int64_t group_channels, double offset_scale,              \
      int64_t im2col_step, int64_t remove_center
#define DCNV3_ATTR_ARGS                                                                                                \
  kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w, group, group_channels, offset_scale,   \
      im2col_step, remove_center

namespace dcnv3 {

// Packs the schema attributes; offset_scale is narrowed to float as in InternImage's op.
Attrs MakeDcnv3Attrs(DCNV3_ATTR_PARAMS);

// Checks dtypes (equal, one of float32/float64/float16/bfloat16), devices (equal) and shapes
// (ValidateShapes) and returns the problem. `grad_output` is null for the forward op. Throws
// c10::Error (RuntimeError in Python) whose message names the argument and the expected value.
Problem CheckDcnv3Args(const at::Tensor& input, const at::Tensor& offset, const at::Tensor& mask,
                       const at::Tensor* grad_output, const Attrs& attrs);

}  // namespace dcnv3
