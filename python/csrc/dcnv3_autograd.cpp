// Autograd of npu::dcnv3 and npu::dcnv3_softmax_mask: the backward of each calls its backward op
// (npu::dcnv3_backward, npu::dcnv3_softmax_mask_backward) through the dispatcher, so every device
// with kernels gets it and torch.compile traces the backward as one op.
//
// Written in C++ rather than with torch.library.register_autograd because a Python autograd
// formula costs tens of microseconds of interpreter time per call, forward and backward, which is
// a sizeable part of a small DCNv3 layer on CPU. Without the extension, _ops.py registers the
// same formula in Python for the grid_sample fallback.
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/autograd.h>
#include <torch/library.h>

#include <tuple>
#include <vector>

#include "dcnv3_args.h"

namespace dcnv3 {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The signatures of the forward and backward schemas (dcnv3_schema.cpp), for typed op handles.
using ForwardSignature = at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&, DCNV3_ATTR_PARAMS);
using BackwardSignature = std::tuple<at::Tensor, at::Tensor, at::Tensor>(const at::Tensor&, const at::Tensor&,
                                                                         const at::Tensor&, const at::Tensor&,
                                                                         DCNV3_ATTR_PARAMS);

constexpr int kTensorInputs = 3, kAttrs = 13;

struct OpNames {
  const char* forward;
  const char* backward;
};
constexpr OpNames kPlain{"npu::dcnv3", "npu::dcnv3_backward"};
constexpr OpNames kSoftmaxMask{"npu::dcnv3_softmax_mask", "npu::dcnv3_softmax_mask_backward"};

template <const OpNames& kNames>
class Dcnv3Autograd : public torch::autograd::Function<Dcnv3Autograd<kNames>> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& input, const at::Tensor& offset,
                            const at::Tensor& mask, DCNV3_ATTR_PARAMS) {
    static const auto op =
        c10::Dispatcher::singleton().findSchemaOrThrow(kNames.forward, "").template typed<ForwardSignature>();
    ctx->save_for_backward({input, offset, mask});
    // The integer attributes in schema order, offset_scale apart (it is the only double).
    ctx->saved_data["ints"] =
        std::vector<int64_t>{kernel_h,   kernel_w,   stride_h, stride_w,       pad_h,       pad_w,
                             dilation_h, dilation_w, group,    group_channels, im2col_step, remove_center};
    ctx->saved_data["offset_scale"] = offset_scale;
    // Below autograd, to the device kernel (apply only turns grad mode off).
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    return op.call(input, offset, mask, DCNV3_ATTR_ARGS);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    static const auto op =
        c10::Dispatcher::singleton().findSchemaOrThrow(kNames.backward, "").template typed<BackwardSignature>();
    const variable_list saved = ctx->get_saved_variables();
    const std::vector<int64_t> a = ctx->saved_data["ints"].toIntVector();
    auto [grad_input, grad_offset, grad_mask] =
        op.call(saved[0], saved[1], saved[2], grad_outputs[0], a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8],
                a[9], ctx->saved_data["offset_scale"].toDouble(), a[10], a[11]);
    variable_list grads{grad_input, grad_offset, grad_mask};
    grads.resize(kTensorInputs + kAttrs);  // the attributes have no gradient
    return grads;
  }
};

template <const OpNames& kNames>
at::Tensor ApplyAutograd(const at::Tensor& input, const at::Tensor& offset, const at::Tensor& mask, DCNV3_ATTR_PARAMS) {
  return Dcnv3Autograd<kNames>::apply(input, offset, mask, DCNV3_ATTR_ARGS);
}

}  // namespace
}  // namespace dcnv3

TORCH_LIBRARY_IMPL(npu, Autograd, m) {
  m.impl("dcnv3", &dcnv3::ApplyAutograd<dcnv3::kPlain>);
  m.impl("dcnv3_softmax_mask", &dcnv3::ApplyAutograd<dcnv3::kSoftmaxMask>);
}
