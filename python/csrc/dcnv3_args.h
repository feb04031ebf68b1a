// Torch-side argument checks of npu::dcnv3 and npu::dcnv3_backward: the one place that turns the
// schema's arguments into a validated dcnv3::Problem, shared by the CPU kernel and the NPU
// adapter. Shape rules come from op_host/dcnv3_contract.h; this file adds what only torch knows
// (dtypes, devices). Also the checks of npu::dcnv3_dw_conv (the modules' dw_conv branch as one CPU
// op). python/dcnv3_ascend/_checks.py mirrors every message for the fake kernels.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "dcnv3_contract.h"

// The attribute parameters of both schemas and the matching arguments, in schema order, from the
// contract's list (DCNV3_ATTRS), so kernels that implement the schema do not retype them. torch
// passes a schema `float` as double.
#define DCNV3_TORCH_TYPE_Int int64_t
#define DCNV3_TORCH_TYPE_Float double
#define DCNV3_ATTR_PARAM(index, name, kind) DCNV3_TORCH_TYPE_##kind name
#define DCNV3_ATTR_ARG(index, name, kind) name
#define DCNV3_ATTR_PARAMS DCNV3_ATTRS(DCNV3_ATTR_PARAM, DCNV3_COMMA)
#define DCNV3_ATTR_ARGS DCNV3_ATTRS(DCNV3_ATTR_ARG, DCNV3_COMMA)

namespace dcnv3 {

// Throws "<name> must be a tensor, got None" for an undefined tensor (None for a Tensor argument
// reaches a kernel as one).
void CheckIsTensor(const char* name, const at::Tensor& t);

// Packs the schema attributes; offset_scale is narrowed to float as in InternImage's op.
Attrs MakeDcnv3Attrs(DCNV3_ATTR_PARAMS);

// Checks dtypes (equal, one of float32/float64/float16/bfloat16), devices (equal) and shapes
// (ValidateShapes) and returns the problem. `grad_output` is null for the forward op. Throws
// c10::Error (RuntimeError in Python) whose message names the argument and the expected value.
Problem CheckDcnv3Args(const at::Tensor& input, const at::Tensor& offset, const at::Tensor& mask,
                       const at::Tensor* grad_output, const Attrs& attrs);

// A dcnv3_dw_conv call: NHWC input and output of the same shape; a square depthwise kernel of odd
// size `kernel` with zero padding (kernel - 1) / 2 and stride 1, as the module builds it.
struct DwConvShape {
  int64_t batch, height, width, channels, kernel;
};

// Checks that input is [N, H, W, C], weight [C, 1, k, k] with k odd, bias, norm_weight and
// norm_bias [C], grad_output (null for the forward op) input's shape, all of input's dtype (as
// CheckDcnv3Args) and device, and eps finite and >= 0.
DwConvShape CheckDwConvArgs(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias,
                            const at::Tensor& norm_weight, const at::Tensor& norm_bias, const at::Tensor* grad_output,
                            double eps);

}  // namespace dcnv3
