// Autograd of npu::dcnv3, npu::dcnv3_softmax_mask and npu::dcnv3_dw_conv: the backward of each
// calls its backward op (npu::dcnv3_backward, ...) through the dispatcher, so every device with
// kernels gets it and torch.compile traces the backward as one op. The backward ops, which have
// no derivative, get one too: a gradient of their results raises.
//
// Written in C++ rather than with torch.library.register_autograd because a Python autograd
// formula costs tens of microseconds of interpreter time per call, forward and backward, which is
// a sizeable part of a small DCNv3 layer on CPU. Without the extension, _ops.py registers the
// same formula in Python for the grid_sample fallback.
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/autograd.h>
#include <torch/csrc/autograd/functions/basic_ops.h>
#include <torch/library.h>

#include <algorithm>
#include <memory>
#include <string>
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

// The backward ops have no derivative. Called with grad mode on (create_graph=True) and something
// the gradients depend on requiring grad, autograd would hand back gradients whose own gradient
// is silently missing. Instead they come back from a node that raises when a second-order
// gradient reaches it, like torch.autograd.function.once_differentiable's, but whose inputs
// include what they depend on: torch.autograd.grad towards any of those then passes through it
// and raises too (once_differentiable's node only sees detached copies, which backward() reaches
// but autograd.grad prunes).
variable_list OnceDifferentiable(variable_list grads, const variable_list& depends_on, const char* backward_op) {
  const auto requires_grad = [](const at::Tensor& t) { return t.defined() && t.requires_grad(); };
  if (!torch::autograd::GradMode::is_enabled() || std::none_of(depends_on.begin(), depends_on.end(), requires_grad)) {
    return grads;
  }
  const size_t count = grads.size();
  variable_list inputs = std::move(grads);
  inputs.insert(inputs.end(), depends_on.begin(), depends_on.end());
  const auto error = std::make_shared<torch::autograd::DelayedError>(
      std::string(backward_op) +
          " has no derivative: a second-order gradient (create_graph=True, e.g. a gradient penalty) cannot "
          "pass through this op",
      static_cast<int64_t>(inputs.size()));
  variable_list outputs = (*error)(std::move(inputs));  // the inputs' values, all from the node
  outputs.resize(count);
  return outputs;
}

// The saved tensors and the incoming gradients: what a backward op's results depend on.
variable_list Inputs(const variable_list& saved, const variable_list& grad_outputs) {
  variable_list all = saved;
  all.insert(all.end(), grad_outputs.begin(), grad_outputs.end());
  return all;
}

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
    variable_list grads;
    {
      at::AutoDispatchBelowADInplaceOrView below_autograd;
#define DCNV3_SAVED_ATTR(index, name, kind) ctx->saved_data[#name].to<DCNV3_TORCH_TYPE_##kind>()
      auto [grad_input, grad_offset, grad_mask] =
          op.call(saved[0], saved[1], saved[2], grad_outputs[0], DCNV3_ATTRS(DCNV3_SAVED_ATTR, DCNV3_COMMA));
#undef DCNV3_SAVED_ATTR
      grads = {grad_input, grad_offset, grad_mask};
    }
    grads = OnceDifferentiable(std::move(grads), Inputs(saved, grad_outputs), kNames.backward);
    grads.resize(kTensorInputs + kAttrCount);  // the attributes have no gradient
    return grads;
  }
};

template <const OpNames& kNames>
at::Tensor ApplyAutograd(const at::Tensor& input, const at::Tensor& offset, const at::Tensor& mask, DCNV3_ATTR_PARAMS) {
  // Function::apply fails on an undefined tensor with a message that names none.
  CheckIsTensor("input", input);
  CheckIsTensor("offset", offset);
  CheckIsTensor("mask", mask);
  return Dcnv3Autograd<kNames>::apply(input, offset, mask, DCNV3_ATTR_ARGS);
}

// A backward op called directly (dcnv3_ascend.dcnv3_backward) on tensors that require grad: its
// gradients come from OnceDifferentiable's node, so that differentiating them raises. Without an
// autograd kernel torch only warned, and the inputs' gradients through them were silently None.
template <const OpNames& kNames>
std::tuple<at::Tensor, at::Tensor, at::Tensor> ApplyBackwardAutograd(const at::Tensor& input, const at::Tensor& offset,
                                                                     const at::Tensor& mask,
                                                                     const at::Tensor& grad_output, DCNV3_ATTR_PARAMS) {
  static const auto op =
      c10::Dispatcher::singleton().findSchemaOrThrow(kNames.backward, "").template typed<BackwardSignature>();
  variable_list grads(kTensorInputs);
  {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    std::tie(grads[0], grads[1], grads[2]) = op.call(input, offset, mask, grad_output, DCNV3_ATTR_ARGS);
  }
  grads = OnceDifferentiable(std::move(grads), {input, offset, mask, grad_output}, kNames.backward);
  return {grads[0], grads[1], grads[2]};
}

// npu::dcnv3_dw_conv's autograd: its backward op returns all five gradients.
using DwConvSignature = at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                   const at::Tensor&, double);
using DwConvBackwardSignature = std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor>(
    const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
    double);

class DwConvAutograd : public torch::autograd::Function<DwConvAutograd> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& input, const at::Tensor& weight,
                            const at::Tensor& bias, const at::Tensor& norm_weight, const at::Tensor& norm_bias,
                            double eps) {
    static const auto op =
        c10::Dispatcher::singleton().findSchemaOrThrow("npu::dcnv3_dw_conv", "").typed<DwConvSignature>();
    ctx->save_for_backward({input, weight, bias, norm_weight, norm_bias});
    ctx->saved_data["eps"] = eps;
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    return op.call(input, weight, bias, norm_weight, norm_bias, eps);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    static const auto op = c10::Dispatcher::singleton()
                               .findSchemaOrThrow("npu::dcnv3_dw_conv_backward", "")
                               .typed<DwConvBackwardSignature>();
    const variable_list saved = ctx->get_saved_variables();
    variable_list grads;
    {
      at::AutoDispatchBelowADInplaceOrView below_autograd;
      auto [grad_input, grad_weight, grad_bias, grad_norm_weight, grad_norm_bias] =
          op.call(saved[0], saved[1], saved[2], saved[3], saved[4], grad_outputs[0], ctx->saved_data["eps"].toDouble());
      grads = {grad_input, grad_weight, grad_bias, grad_norm_weight, grad_norm_bias};
    }
    grads = OnceDifferentiable(std::move(grads), Inputs(saved, grad_outputs), "npu::dcnv3_dw_conv_backward");
    grads.emplace_back();  // eps: none
    return grads;
  }
};

// npu::dcnv3_dw_conv_backward called directly: as ApplyBackwardAutograd.
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor> ApplyDwConvBackwardAutograd(
    const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias, const at::Tensor& norm_weight,
    const at::Tensor& norm_bias, const at::Tensor& grad_output, double eps) {
  static const auto op = c10::Dispatcher::singleton()
                             .findSchemaOrThrow("npu::dcnv3_dw_conv_backward", "")
                             .typed<DwConvBackwardSignature>();
  variable_list grads(5);
  {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    std::tie(grads[0], grads[1], grads[2], grads[3], grads[4]) =
        op.call(input, weight, bias, norm_weight, norm_bias, grad_output, eps);
  }
  grads = OnceDifferentiable(std::move(grads), {input, weight, bias, norm_weight, norm_bias, grad_output},
                             "npu::dcnv3_dw_conv_backward");
  return {grads[0], grads[1], grads[2], grads[3], grads[4]};
}

at::Tensor ApplyDwConvAutograd(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias,
                               const at::Tensor& norm_weight, const at::Tensor& norm_bias, double eps) {
  CheckIsTensor("input", input);
  CheckIsTensor("weight", weight);
  CheckIsTensor("bias", bias);
  CheckIsTensor("norm_weight", norm_weight);
  CheckIsTensor("norm_bias", norm_bias);
  return DwConvAutograd::apply(input, weight, bias, norm_weight, norm_bias, eps);
}

}  // namespace
}  // namespace dcnv3

TORCH_LIBRARY_IMPL(npu, Autograd, m) {
  m.impl("dcnv3_dw_conv", &dcnv3::ApplyDwConvAutograd);
  m.impl("dcnv3_dw_conv_backward", &dcnv3::ApplyDwConvBackwardAutograd);
  m.impl("dcnv3", &dcnv3::ApplyAutograd<dcnv3::kPlain>);
  m.impl("dcnv3_backward", &dcnv3::ApplyBackwardAutograd<dcnv3::kPlain>);
  m.impl("dcnv3_softmax_mask", &dcnv3::ApplyAutograd<dcnv3::kSoftmaxMask>);
  m.impl("dcnv3_softmax_mask_backward", &dcnv3::ApplyBackwardAutograd<dcnv3::kSoftmaxMask>);
}
