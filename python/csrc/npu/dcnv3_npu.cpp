// NPU (PrivateUse1) kernels of npu::dcnv3 and npu::dcnv3_backward: check the arguments, allocate
// the outputs on the NPU, and make one call of the custom package's aclnnDcnv3 / aclnnDcnv3Grad
// (OpTypes Dcnv3 and Dcnv3Grad, op_host/dcnv3.cpp and dcnv3_grad.cpp).
//
// The aclnn signatures op_build generates from the OpDefs: the input tensors, then the attributes
// in contract order (Int -> int64_t, Float -> double: DCNV3_ATTR_ARGS, the kernel's own
// parameters), then the output tensors. The
// kernels work in float32, float16 and bfloat16 (half types accumulate in float32). The forward
// writes every output element. The backward adds into grad_input, a float32 output the OpDef
// declares InitValue(0) (op_host/dcnv3_grad_outputs.h): it is allocated here as float32 zeros (the
// aclnn path zeroes it too; zeros here keep the result right whatever the framework version does)
// and cast to the input dtype afterwards; grad_offset and grad_mask are written exactly once.
#include <ATen/Context.h>
#include <ATen/DeviceGuard.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <torch/library.h>

#include <tuple>

#include "dcnv3_args.h"
#include "dcnv3_grad_outputs.h"
#include "dcnv3_soc_table.h"
#include "dcnv3_tiling_plan.h"
#include "npu/aclnn_call.h"

namespace dcnv3 {
namespace {

// Unified buffer per vector core the kernel limits are checked against: the smallest of every SoC
// the package is built for (op_host/dcnv3_soc_table.h).
constexpr int64_t kUnifiedBufferBytes = MinUbBytesOfTable();

DataType KernelDtype(const at::Tensor& input) {
  switch (input.scalar_type()) {
    case at::kFloat: return DataType::kFloat32;
    case at::kHalf: return DataType::kFloat16;
    case at::kBFloat16: return DataType::kBFloat16;
    default:
      TORCH_CHECK(false, "input dtype on NPU must be float32, float16 or bfloat16 (the NPU kernels have no ",
                  c10::toString(input.scalar_type()), " version; cast with .float()), got ",
                  c10::toString(input.scalar_type()));
  }
}

// The torch-side checks (dcnv3_args.h), then the kernels' own limits, so a problem the tiling
// would reject fails here with its reason instead of as an ACL error code.
Problem CheckNpuArgs(const at::Tensor& input, const at::Tensor& offset, const at::Tensor& mask,
                     const at::Tensor* grad_output, const Attrs& attrs) {
  const Problem problem = CheckDcnv3Args(input, offset, mask, grad_output, attrs);
  const std::string limit =
      CheckKernelLimits(problem, KernelDtype(input), SocInfo{0, kUnifiedBufferBytes}, grad_output != nullptr);
  TORCH_CHECK(limit.empty(), "npu::dcnv3 on NPU: ", limit);
  return problem;
}

// No sampling point can land inside an empty batch or image: the op is all zeros.
bool NothingToSample(const Problem& p) { return p.batch == 0 || p.height_in == 0 || p.width_in == 0; }

at::Tensor Dcnv3Npu(const at::Tensor& input, const at::Tensor& offset, const at::Tensor& mask, DCNV3_ATTR_PARAMS) {
  const Problem p = CheckNpuArgs(input, offset, mask, nullptr, MakeDcnv3Attrs(DCNV3_ATTR_ARGS));
  const c10::OptionalDeviceGuard guard(at::device_of(input));
  const std::vector<int64_t> output_size = {p.batch, p.height_out, p.width_out, p.channels};
  if (NothingToSample(p)) return at::zeros(output_size, input.options());

  [[maybe_unused]] static const bool aclnn_found = dcnv3_npu::RequireAclnnApi("Dcnv3");
  const at::Tensor in = input.contiguous(), off = offset.contiguous(), msk = mask.contiguous();
  at::Tensor output = at::empty(output_size, input.options());
  EXEC_NPU_CMD_EXT(aclnnDcnv3, in, off, msk, DCNV3_ATTR_ARGS, output);
  return output;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> Dcnv3BackwardNpu(const at::Tensor& input, const at::Tensor& offset,
                                                                const at::Tensor& mask, const at::Tensor& grad_output,
                                                                DCNV3_ATTR_PARAMS) {
  const Problem p = CheckNpuArgs(input, offset, mask, &grad_output, MakeDcnv3Attrs(DCNV3_ATTR_ARGS));
  const c10::OptionalDeviceGuard guard(at::device_of(input));
  if (NothingToSample(p)) {
    return {at::zeros(input.sizes(), input.options()), at::zeros(offset.sizes(), offset.options()),
            at::zeros(mask.sizes(), mask.options())};
  }

  // The kernel adds into grad_input with fp32 atomic DMAs from every core, in an order that varies
  // from run to run (op_kernel/dcnv3_grad.cpp): under torch.use_deterministic_algorithms(True) this
  // raises (warns with warn_only=True), as torch's own atomic-add backward kernels do.
  at::globalContext().alertNotDeterministic("npu::dcnv3_backward on NPU");
  [[maybe_unused]] static const bool aclnn_found = dcnv3_npu::RequireAclnnApi("Dcnv3Grad");
  const at::Tensor in = input.contiguous(), off = offset.contiguous(), msk = mask.contiguous();
  const at::Tensor grad_out = grad_output.contiguous();
  static_assert(kGradInputZeroedBeforeLaunch, "the adapter allocates grad_input as the zeroed fp32 accumulator");
  at::Tensor grad_input_f32 = at::zeros(input.sizes(), input.options().dtype(at::kFloat));
  at::Tensor grad_offset = at::empty(offset.sizes(), offset.options());
  at::Tensor grad_mask = at::empty(mask.sizes(), mask.options());
  EXEC_NPU_CMD_EXT(aclnnDcnv3Grad, in, off, msk, grad_out, DCNV3_ATTR_ARGS, grad_input_f32, grad_offset, grad_mask);
  return {grad_input_f32.to(input.scalar_type()), grad_offset, grad_mask};
}

}  // namespace
}  // namespace dcnv3

TORCH_LIBRARY_IMPL(npu, PrivateUse1, m) {
  m.impl("dcnv3", &dcnv3::Dcnv3Npu);
  m.impl("dcnv3_backward", &dcnv3::Dcnv3BackwardNpu);
}
