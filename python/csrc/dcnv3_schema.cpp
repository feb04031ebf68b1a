// The operator schemas (the contract torch sees) and the Python module stub of dcnv3_ascend._C.
// Kernels register elsewhere, one file per dispatch key (cpu/, npu/); fake kernels and autograd
// are registered in Python (python/dcnv3_ascend/_ops.py).
#include <torch/extension.h>
#include <torch/library.h>

// torch_npu owns the `npu` namespace (TORCH_LIBRARY), so we add a fragment to it.
TORCH_LIBRARY_FRAGMENT(npu, m) {
  m.def(
      "dcnv3(Tensor input, Tensor offset, Tensor mask, int kernel_h, int kernel_w, int stride_h, "
      "int stride_w, int pad_h, int pad_w, int dilation_h, int dilation_w, int group, int group_channels, "
      "float offset_scale, int im2col_step, int remove_center) -> Tensor");
  m.def(
      "dcnv3_backward(Tensor input, Tensor offset, Tensor mask, Tensor grad_output, int kernel_h, "
      "int kernel_w, int stride_h, int stride_w, int pad_h, int pad_w, int dilation_h, int dilation_w, "
      "int group, int group_channels, float offset_scale, int im2col_step, int remove_center) "
      "-> (Tensor grad_input, Tensor grad_offset, Tensor grad_mask)");
}

// Importing the module runs the registrations above; it exposes nothing itself.
PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "Registers npu::dcnv3 and npu::dcnv3_backward with their CPU (and NPU) kernels";
}
