// Autograd of npu::dcnv3 and npu::dcnv3_softmax_mask: the backward of each calls its backward op
// (npu::dcnv3_backward, npu::dcnv3_softmax_mask_backward) through the dispatcher, so every device
// with kernels gets it and torch.compile traces the backward as one op. npu::dcnv3_dw_conv has
// none: its autograd kernel only refuses calls that would need one.
//
// Written in C++ rather than with torch.library.register_autograd because a Python autograd
// formula costs tens of microseconds of interpreter time per call, forward and backward, which is
// a sizeable part of a small DCNv3 layer on CPU. Without the extension, _ops.py registers the
// same formula in Python for the grid_sample fallback.
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/grad_mode.h>
#include <torch/autograd.h>
#include <torch/library.h>

#include <tuple>

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

constexpr int kTensorInputs = 3;

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
    // The attributes by name, for the backward call.
#define DCNV3_SAVE_ATTR(index, name, kind) ctx->saved_data[#name] = name;
    DCNV3_ATTRS(DCNV3_SAVE_ATTR, )
#undef DCNV3_SAVE_ATTR
    // Below autograd, to the device kernel (apply only turns grad mode off).
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    return op.call(input, offset, mask, DCNV3_ATTR_ARGS);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    static const auto op =
        c10::Dispatcher::singleton().findSchemaOrThrow(kNames.backward, "").template typed<BackwardSignature>();
    const variable_list saved = ctx->get_saved_variables();
#define DCNV3_SAVED_ATTR(index, name, kind) ctx->saved_data[#name].to<DCNV3_TORCH_TYPE_##kind>()
    auto [grad_input, grad_offset, grad_mask] =
        op.call(saved[0], saved[1], saved[2], grad_outputs[0], DCNV3_ATTRS(DCNV3_SAVED_ATTR, DCNV3_COMMA));
#undef DCNV3_SAVED_ATTR
    variable_list grads{grad_input, grad_offset, grad_mask};
    grads.resize(kTensorInputs + kAttrCount);  // the attributes have no gradient
    return grads;
  }
};

template <const OpNames& kNames>
at::Tensor ApplyAutograd(const at::Tensor& input, const at::Tensor& offset, const at::Tensor& mask, DCNV3_ATTR_PARAMS) {
  return Dcnv3Autograd<kNames>::apply(input, offset, mask, DCNV3_ATTR_ARGS);
}

// npu::dcnv3_dw_conv has no backward: the modules call it only when no gradient is wanted, and
// a call that would need one fails here, at the call, instead of at backward time.
at::Tensor DwConvWithoutGrad(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias,
                             const at::Tensor& norm_weight, const at::Tensor& norm_bias, double eps) {
  static const auto op = c10::Dispatcher::singleton()
                             .findSchemaOrThrow("npu::dcnv3_dw_conv", "")
                             .typed<at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                               const at::Tensor&, const at::Tensor&, double)>();
  const bool wants_grad = input.requires_grad() || weight.requires_grad() || bias.requires_grad() ||
                          norm_weight.requires_grad() || norm_bias.requires_grad();
  TORCH_CHECK(!(at::GradMode::is_enabled() && wants_grad),
              "npu::dcnv3_dw_conv has no backward: call it under torch.no_grad() or torch.inference_mode(), "
              "or with tensors that do not require grad (the DCNv3 modules use their dw_conv layers when training)");
  at::AutoDispatchBelowADInplaceOrView below_autograd;
  return op.call(input, weight, bias, norm_weight, norm_bias, eps);
}

}  // namespace
}  // namespace dcnv3

TORCH_LIBRARY_IMPL(npu, Autograd, m) {
  m.impl("dcnv3_dw_conv", &dcnv3::DwConvWithoutGrad);
  m.impl("dcnv3", &dcnv3::ApplyAutograd<dcnv3::kPlain>);
  m.impl("dcnv3_softmax_mask", &dcnv3::ApplyAutograd<dcnv3::kSoftmaxMask>);
}
