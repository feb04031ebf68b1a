// Test driver of the contract's shape checks (op_host/dcnv3_contract.h ValidateShapes), which need
// no CANN: `contract_shapes [--unknown | --plan] ATTRS INPUT OFFSET MASK [GRAD_OUTPUT]`, ATTRS the
// 13 attribute values in contract order and each shape a comma list of sizes. --unknown checks as
// InferShape does (GE's -1 sizes and {-2} ranks allowed). Prints "output=N,H,W,C" or
// "error: <message>" and exit status 1. --plan then also runs the TilingFunc's plan
// (dcnv3_tiling_plan.h PlanTiling, float32; backward with GRAD_OUTPUT) for every SoC of
// dcnv3_soc_table.h and prints "block_dim=" their block_dims, or "error: <SoC>: <message>".
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "dcnv3_contract.h"
#include "dcnv3_soc_table.h"
#include "dcnv3_tiling_plan.h"

namespace {

std::vector<std::string> SplitCommas(const char* text) {
  std::vector<std::string> items;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) items.push_back(item);
  return items;
}

std::vector<int64_t> ParseShape(const char* text) {
  std::vector<int64_t> sizes;
  for (const std::string& item : SplitCommas(text)) sizes.push_back(std::strtoll(item.c_str(), nullptr, 10));
  return sizes;
}

dcnv3::Dims View(const std::vector<int64_t>& sizes) {
  return dcnv3::Dims{sizes.data(), static_cast<int64_t>(sizes.size())};
}

}  // namespace

int main(int argc, char** argv) {
  int first = 1;
  const bool allow_unknown = argc > 1 && std::strcmp(argv[1], "--unknown") == 0;
  const bool plan = argc > 1 && std::strcmp(argv[1], "--plan") == 0;
  if (allow_unknown || plan) ++first;
  const std::vector<std::string> values = argc > first ? SplitCommas(argv[first]) : std::vector<std::string>{};
  if ((argc - first != 4 && argc - first != 5) || values.size() != dcnv3::kAttrCount) {
    std::fprintf(stderr, "usage: contract_shapes [--unknown | --plan] ATTRS INPUT OFFSET MASK [GRAD_OUTPUT]\n");
    return 2;
  }
  dcnv3::Attrs attrs;
  for (int index = 0; index < dcnv3::kAttrCount; ++index) {
    if (index == dcnv3::kOffsetScale)
      attrs.offset_scale = std::strtof(values[index].c_str(), nullptr);
    else
      *dcnv3::IntAttrField(&attrs, index) = std::strtoll(values[index].c_str(), nullptr, 10);
  }
  std::vector<std::vector<int64_t>> shapes;
  for (int i = first + 1; i < argc; ++i) shapes.push_back(ParseShape(argv[i]));
  const dcnv3::Dims grad = shapes.size() == 4 ? View(shapes[3]) : dcnv3::Dims{};
  dcnv3::Problem problem;
  const std::string error = dcnv3::ValidateShapes(View(shapes[0]), View(shapes[1]), View(shapes[2]),
                                                  shapes.size() == 4 ? &grad : nullptr, attrs, &problem, allow_unknown);
  if (!error.empty()) {
    std::printf("error: %s\n", error.c_str());
    return 1;
  }
  std::printf("output=%lld,%lld,%lld,%lld\n", static_cast<long long>(problem.batch),
              static_cast<long long>(problem.height_out), static_cast<long long>(problem.width_out),
              static_cast<long long>(problem.channels));
  if (!plan) return 0;
  std::string block_dims;
#define PLAN_ON_SOC(name, unit, cores, ub, mhz)                                                                        \
  {                                                                                                                    \
    dcnv3::TilingPlan tiling{};                                                                                        \
    const std::string e =                                                                                              \
        dcnv3::PlanTiling(problem, dcnv3::DataType::kFloat32, dcnv3::SocInfo{cores, ub}, shapes.size() == 4, &tiling); \
    if (!e.empty()) {                                                                                                  \
      std::printf("error: %s: %s\n", name, e.c_str());                                                                 \
      return 1;                                                                                                        \
    }                                                                                                                  \
    block_dims += (block_dims.empty() ? "" : ",") + std::to_string(tiling.block_dim);                                  \
  }
  DCNV3_SOC_TABLE(PLAN_ON_SOC)
#undef PLAN_ON_SOC
  std::printf("block_dim=%s\n", block_dims.c_str());
  return 0;
}
