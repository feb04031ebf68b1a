// The operator schemas (the contract torch sees) and the Python module stub of dcnv3_ascend._C.
// Kernels register elsewhere, one file per dispatch key (cpu/, npu/, dcnv3_autograd.cpp); fake
// kernels are registered in Python (python/dcnv3_ascend/_ops.py).
//
// npu::dcnv3_softmax_mask is npu::dcnv3 applied to softmax(mask) over each group's points (the
// DCNv3 modules' mask): `mask` holds the logits, and its backward returns their gradient. It
// saves the modules a separate softmax (and its autograd node) on CPU.
#include <torch/extension.h>
#include <torch/library.h>

// The 13 attributes, in the order of op_host/dcnv3_contract.h's AttrIndex.
#define DCNV3_ATTRS_SCHEMA                                                                                       \
  "int kernel_h, int kernel_w, int stride_h, int stride_w, int pad_h, int pad_w, int dilation_h, int dilation_w, " \
  "int group, int group_channels, float offset_scale, int im2col_step, int remove_center"
#define DCNV3_GRADS_SCHEMA "(Tensor grad_input, Tensor grad_offset, Tensor grad_mask)"

// torch_npu owns the `npu` namespace (TORCH_LIBRARY), so we add a fragment to it.
TORCH_LIBRARY_FRAGMENT(npu, m) {
  m.def("dcnv3(Tensor input, Tensor offset, Tensor mask, " DCNV3_ATTRS_SCHEMA ") -> Tensor");
  m.def("dcnv3_backward(Tensor input, Tensor offset, Tensor mask, Tensor grad_output, " DCNV3_ATTRS_SCHEMA
        ") -> " DCNV3_GRADS_SCHEMA);
  m.def("dcnv3_softmax_mask(Tensor input, Tensor offset, Tensor mask, " DCNV3_ATTRS_SCHEMA ") -> Tensor");
  m.def("dcnv3_softmax_mask_backward(Tensor input, Tensor offset, Tensor mask, Tensor grad_output, "
        DCNV3_ATTRS_SCHEMA ") -> " DCNV3_GRADS_SCHEMA);
}

// Importing the module runs the registrations above; it exposes nothing itself.
PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "Registers npu::dcnv3, npu::dcnv3_softmax_mask and their backward ops with CPU (and NPU) kernels";
}
