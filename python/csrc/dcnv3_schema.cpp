// The operator schemas (the contract torch sees) and the Python module stub of dcnv3_ascend._C.
// Kernels register elsewhere, one file per dispatch key (cpu/, npu/); fake kernels and autograd
// are registered in Python (python/dcnv3_ascend/_ops.py).
#include <torch/extension.h>
#include <torch/library.h>

#include <string>

#include "dcnv3_contract.h"

namespace {

// ", int kernel_h, ..., float offset_scale, int im2col_step, int remove_center": the attribute
// parameters of both schemas, from the contract's names and order (offset_scale is the one float).
std::string AttrParams() {
  std::string params;
  for (int index = 0; index < dcnv3::kAttrCount; ++index) {
    params += index == dcnv3::kOffsetScale ? ", float " : ", int ";
    params += dcnv3::kAttrNames[index];
  }
  return params;
}

}  // namespace

// torch_npu owns the `npu` namespace (TORCH_LIBRARY), so we add a fragment to it.
TORCH_LIBRARY_FRAGMENT(npu, m) {
  const std::string attrs = AttrParams();
  m.def(("dcnv3(Tensor input, Tensor offset, Tensor mask" + attrs + ") -> Tensor").c_str());
  m.def(("dcnv3_backward(Tensor input, Tensor offset, Tensor mask, Tensor grad_output" + attrs +
         ") -> (Tensor grad_input, Tensor grad_offset, Tensor grad_mask)").c_str());
}

// Importing the module runs the registrations above; it exposes nothing itself.
PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "Registers npu::dcnv3 and npu::dcnv3_backward with their CPU (and NPU) kernels";
}
