// Launch logic for the DCNv3 kernels; the kernels themselves are compiled in
// dcnv3_forward_kernel.cpp and dcnv3_backward_kernel.cpp (one translation unit each, as CANN
// compiles them).
#include "dcnv3_harness.h"

#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "dcnv3_grad_outputs.h"
#include "dcnv3_tiling_struct.h"
#include "sim/errors.h"

// The kernels read the tiling bytes the plan wrote through a struct generated from the same field
// list; the two must agree byte for byte.
static_assert(sizeof(sim_tiling::Dcnv3TilingData) == sizeof(dcnv3::TilingData), "tiling layouts differ");
static_assert(std::is_trivially_copyable_v<dcnv3::TilingData>, "TilingData must be a plain struct");

// The kernel entry points, declared in a namespace of their own: the name dcnv3 is also the
// contract's namespace, and an extern "C" declaration in any namespace names the same function.
namespace kernel_entry {
extern "C" void dcnv3(GM_ADDR input, GM_ADDR offset, GM_ADDR mask, GM_ADDR output, GM_ADDR workspace, GM_ADDR tiling);
extern "C" void dcnv3_grad(GM_ADDR input, GM_ADDR offset, GM_ADDR mask, GM_ADDR grad_output, GM_ADDR grad_input,
                           GM_ADDR grad_offset, GM_ADDR grad_mask, GM_ADDR workspace, GM_ADDR tiling);
}  // namespace kernel_entry

namespace dcnv3_sim {

namespace {

dcnv3::Dims AsDims(const std::vector<int64_t>& shape) { return {shape.data(), static_cast<int64_t>(shape.size())}; }

int64_t Numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::vector<int64_t> OutputShape(const dcnv3::Problem& p) { return {p.batch, p.height_out, p.width_out, p.channels}; }

// Checks that `t` holds exactly `shape` in elements of `elem` bytes and registers it as the GM
// buffer `name`. Outputs are filled with 0xFF first (NaN in every float type), as device memory
// would hold garbage, so a kernel that leaves an element unwritten fails the comparison; outputs
// the OpDef declares InitValue(0) are zeroed instead, as the framework does before the launch.
enum class Role { kInput, kOutput, kZeroedOutput };
void Bind(sim::GmRegistry& gm, const char* name, const HostTensor& t, const std::vector<int64_t>& shape, size_t elem,
          Role role) {
  const uint64_t want = static_cast<uint64_t>(Numel(shape)) * elem;
  if (t.bytes != want)
    throw std::invalid_argument(std::string(name) + " holds " + std::to_string(t.bytes) + " bytes but its shape " +
                                dcnv3::DimsToString(shape.data(), static_cast<int64_t>(shape.size())) + " needs " +
                                std::to_string(want));
  if (role != Role::kInput && t.bytes) std::memset(t.data, role == Role::kZeroedOutput ? 0 : 0xFF, t.bytes);
  gm.Add(name, t.data, t.bytes);
}

sim::LaunchResult RunKernel(const dcnv3::TilingPlan& plan, const Call& call, sim::GmRegistry gm,
                            std::vector<uint8_t>& workspace, const std::function<void(GM_ADDR, GM_ADDR)>& entry) {
  if (plan.block_dim == 0) throw sim::SimError("launch", "the tiling plan asks for block_dim=0");
  workspace.assign(plan.workspace_bytes, 0xFF);
  std::vector<uint8_t> tiling(sizeof(plan.data));
  std::memcpy(tiling.data(), &plan.data, sizeof(plan.data));
  gm.Add("workspace", workspace.data(), workspace.size());
  gm.Add("tiling", tiling.data(), tiling.size());
  sim::LaunchConfig cfg;
  cfg.block_dim = plan.block_dim;
  cfg.soc = call.soc;
  cfg.tiling_key = plan.tiling_key;
  GM_ADDR ws = workspace.empty() ? nullptr : workspace.data();
  return sim::Launch(cfg, gm, [&] { entry(ws, tiling.data()); });
}

GM_ADDR Addr(const HostTensor& t) { return static_cast<GM_ADDR>(t.data); }

}  // namespace

size_t ElementSize(dcnv3::DataType dtype) { return dtype == dcnv3::DataType::kFloat32 ? 4 : 2; }

dcnv3::Problem Validate(const std::vector<int64_t>& input, const std::vector<int64_t>& offset,
                        const std::vector<int64_t>& mask, const std::vector<int64_t>* grad_output,
                        const dcnv3::Attrs& attrs) {
  dcnv3::Problem problem;
  const dcnv3::Dims go = grad_output ? AsDims(*grad_output) : dcnv3::Dims{nullptr, 0};
  const std::string error =
      dcnv3::ValidateShapes(AsDims(input), AsDims(offset), AsDims(mask), grad_output ? &go : nullptr, attrs, &problem);
  if (!error.empty()) throw std::invalid_argument(error);
  return problem;
}

dcnv3::TilingPlan Plan(bool backward, const dcnv3::Problem& problem, const Call& call) {
  const dcnv3::SocInfo soc{call.soc.vector_core_num, call.soc.ub_bytes};
  dcnv3::TilingPlan plan{};
  const std::string error = dcnv3::PlanTiling(problem, call.dtype, soc, backward, &plan);
  if (!error.empty()) throw std::invalid_argument(error);
  return plan;
}

Result Forward(const HostTensor& input, const HostTensor& offset, const HostTensor& mask, const HostTensor& output,
               const Call& call) {
  const dcnv3::Problem problem = Validate(input.shape, offset.shape, mask.shape, nullptr, call.attrs);
  const size_t elem = ElementSize(call.dtype);
  sim::GmRegistry gm;
  Bind(gm, "input", input, input.shape, elem, Role::kInput);
  Bind(gm, "offset", offset, offset.shape, elem, Role::kInput);
  Bind(gm, "mask", mask, mask.shape, elem, Role::kInput);
  Bind(gm, "output", output, OutputShape(problem), elem, Role::kOutput);
  Result result;
  result.plan = Plan(false, problem, call);
  std::vector<uint8_t> workspace;
  result.per_core = RunKernel(result.plan, call, gm, workspace, [&](GM_ADDR ws, GM_ADDR tiling) {
                      kernel_entry::dcnv3(Addr(input), Addr(offset), Addr(mask), Addr(output), ws, tiling);
                    }).per_core;
  return result;
}

Result Backward(const HostTensor& input, const HostTensor& offset, const HostTensor& mask,
                const HostTensor& grad_output, const HostTensor& grad_input, const HostTensor& grad_offset,
                const HostTensor& grad_mask, const Call& call) {
  const dcnv3::Problem problem = Validate(input.shape, offset.shape, mask.shape, &grad_output.shape, call.attrs);
  const size_t elem = ElementSize(call.dtype);
  sim::GmRegistry gm;
  Bind(gm, "input", input, input.shape, elem, Role::kInput);
  Bind(gm, "offset", offset, offset.shape, elem, Role::kInput);
  Bind(gm, "mask", mask, mask.shape, elem, Role::kInput);
  Bind(gm, "grad_output", grad_output, grad_output.shape, elem, Role::kInput);
  Bind(gm, "grad_input", grad_input, input.shape, sizeof(float),
       dcnv3::kGradInputZeroedBeforeLaunch ? Role::kZeroedOutput : Role::kOutput);
  Bind(gm, "grad_offset", grad_offset, offset.shape, elem, Role::kOutput);
  Bind(gm, "grad_mask", grad_mask, mask.shape, elem, Role::kOutput);
  Result result;
  result.plan = Plan(true, problem, call);
  std::vector<uint8_t> workspace;
  result.per_core = RunKernel(result.plan, call, gm, workspace, [&](GM_ADDR ws, GM_ADDR tiling) {
                      kernel_entry::dcnv3_grad(Addr(input), Addr(offset), Addr(mask), Addr(grad_output),
                                               Addr(grad_input), Addr(grad_offset), Addr(grad_mask), ws, tiling);
                    }).per_core;
  return result;
}

}  // namespace dcnv3_sim
