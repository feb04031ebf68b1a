// The operator schemas (the contract torch sees) and the Python module stub of dcnv3_ascend._C.
// Kernels register elsewhere, one file per dispatch key (cpu/, npu/, dcnv3_autograd.cpp); fake
// kernels are registered in Python (python/dcnv3_ascend/_ops.py).
//
// npu::dcnv3_softmax_mask is npu::dcnv3 applied to softmax(mask) over each group's points (the
// DCNv3 modules' mask): `mask` holds the logits, and its backward returns their gradient. It
// saves the modules a separate softmax (and its autograd node) on CPU. npu::dcnv3_dw_conv saves
// them, on CPU, the three kernels and two layout changes of their dw_conv branch.
#include <torch/extension.h>
#include <torch/library.h>

#include <string>

#include "dcnv3_contract.h"

namespace {

// ", int kernel_h, ..., float offset_scale, int im2col_step, int remove_center": the attribute
// parameters of every schema, from the contract's list (DCNV3_ATTRS; Int -> int, Float -> float).
#define DCNV3_SCHEMA_TYPE_Int "int"
#define DCNV3_SCHEMA_TYPE_Float "float"
#define DCNV3_SCHEMA_PARAM(index, name, kind) ", " DCNV3_SCHEMA_TYPE_##kind " " #name
constexpr const char kAttrParams[] = DCNV3_ATTRS(DCNV3_SCHEMA_PARAM, );
#undef DCNV3_SCHEMA_PARAM

}  // namespace

// torch_npu owns the `npu` namespace (TORCH_LIBRARY), so we add a fragment to it.
TORCH_LIBRARY_FRAGMENT(npu, m) {
  const std::string attrs = kAttrParams;
  const std::string grads = ") -> (Tensor grad_input, Tensor grad_offset, Tensor grad_mask)";
  // dcnv3_softmax_mask takes the mask logits and applies the per-group softmax itself.
  for (const std::string op : {"dcnv3", "dcnv3_softmax_mask"}) {
    m.def((op + "(Tensor input, Tensor offset, Tensor mask" + attrs + ") -> Tensor").c_str());
    m.def((op + "_backward(Tensor input, Tensor offset, Tensor mask, Tensor grad_output" + attrs + grads).c_str());
  }
  // The DCNv3 modules' dw_conv branch on NHWC input: depthwise conv (weight [C, 1, k, k], k odd,
  // zero padding (k - 1) / 2), LayerNorm over channels, exact GELU.
  const std::string dw_params = "Tensor input, Tensor weight, Tensor bias, Tensor norm_weight, Tensor norm_bias";
  m.def(("dcnv3_dw_conv(" + dw_params + ", float eps) -> Tensor").c_str());
  m.def(("dcnv3_dw_conv_backward(" + dw_params +
         ", Tensor grad_output, float eps) -> (Tensor grad_input, Tensor grad_weight, Tensor grad_bias, "
         "Tensor grad_norm_weight, Tensor grad_norm_bias)")
            .c_str());
}

// Importing the module runs the registrations above; it exposes nothing itself.
PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() =
      "Registers npu::dcnv3, npu::dcnv3_softmax_mask and their backward ops with CPU (and NPU) kernels, and "
      "npu::dcnv3_dw_conv and its backward op with CPU kernels";
}
