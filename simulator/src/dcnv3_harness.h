// Runs the DCNv3 AscendC kernels (op_kernel/dcnv3.cpp, op_kernel/dcnv3_grad.cpp) in the simulator
// the way CANN would: validate with the shared contract, ask the host tiling plan for block_dim,
// tiling key and workspace, hand the kernel GM buffers (outputs and workspace arrive filled with
// 0xFF bytes, i.e. NaN, as uninitialised device memory would), and launch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dcnv3_contract.h"
#include "dcnv3_tiling_plan.h"
#include "sim/launch.h"

namespace dcnv3_sim {

// A host tensor's bytes and shape (NHWC, contiguous).
struct HostTensor {
  void* data = nullptr;
  uint64_t bytes = 0;
  std::vector<int64_t> shape;
};

struct Call {
  dcnv3::Attrs attrs;
  dcnv3::DataType dtype = dcnv3::DataType::kFloat32;
  sim::SocConfig soc;
};

struct Result {
  dcnv3::TilingPlan plan{};
  std::vector<sim::CoreStats> per_core;
};

size_t ElementSize(dcnv3::DataType dtype);

// ValidateShapes of the contract; throws std::invalid_argument with its message.
dcnv3::Problem Validate(const std::vector<int64_t>& input, const std::vector<int64_t>& offset,
                        const std::vector<int64_t>& mask, const std::vector<int64_t>* grad_output,
                        const dcnv3::Attrs& attrs);

// The host's tiling decision (dcnv3::PlanTiling, as the TilingFunc takes it); throws
// std::invalid_argument with the host's message when a kernel limit rejects the problem.
dcnv3::TilingPlan Plan(bool backward, const dcnv3::Problem& problem, const Call& call);

// `output` must hold N*H_out*W_out*C elements of the call's dtype.
Result Forward(const HostTensor& input, const HostTensor& offset, const HostTensor& mask, const HostTensor& output,
               const Call& call);

Result Backward(const HostTensor& input, const HostTensor& offset, const HostTensor& mask,
                const HostTensor& grad_output, const HostTensor& grad_input, const HostTensor& grad_offset,
                const HostTensor& grad_mask, const Call& call);  // grad_input: float32

}  // namespace dcnv3_sim
