// What each simulated API's page in the AscendC docs allows of a source sharing UB with the
// destination, so the simulator refuses exactly the overlaps the docs do not promise to compute.
//
// The general rule (asc-devkit docs/zh/api/SIMD-API/通用说明和约束.md, 通用地址重叠约束) is stated
// for the repeat form: within one iteration a source overlaps the destination 100% or not at all,
// and no iteration reads what an earlier iteration wrote, except that Add, Sub, Mul, Max, Min,
// AddRelu and SubRelu on half, int32_t or float may do so through src1 when src1RepStride or
// dstRepStride is 0. Its NOTE makes the pages authoritative: a page's own statement overrides the
// general rule, and an API whose page describes no overlap constraint does not support overlap.
// The count form runs the same instruction in counter mode (repeat strides of 8 blocks), so it
// takes the same entry: 100% or none where the page refers to the general rule, none where the
// page forbids overlap or is silent. Type-dependent clauses (Axpy with half src and float dst,
// widening Cast) are checked where those APIs are implemented.
#pragma once

#include <cstdint>
#include <cstring>

#include "errors.h"

namespace sim {

enum class OverlapPermission {
  kGeneral,     // the page refers to the general rule
  kAccumulate,  // the general rule and its src1 accumulation exception
  kNone,        // the page forbids overlap, or describes no overlap constraint (the NOTE)
};

struct ApiOverlap {
  const char* api;
  OverlapPermission permission;
  // the page under docs/zh/api/SIMD-API/ and the line of its overlap statement (or of its
  // 约束说明 section, where that section is silent)
  const char* page;
};

inline constexpr ApiOverlap kApiOverlap[] = {
    {"Add", OverlapPermission::kAccumulate, "基础API/Memory矢量计算/基础算术/Add.md:125"},
    {"Sub", OverlapPermission::kAccumulate, "基础API/Memory矢量计算/基础算术/Sub.md:125"},
    {"Mul", OverlapPermission::kAccumulate, "基础API/Memory矢量计算/基础算术/Mul.md:125"},
    {"Max", OverlapPermission::kAccumulate, "基础API/Memory矢量计算/基础算术/Max.md:119"},
    {"Min", OverlapPermission::kAccumulate, "基础API/Memory矢量计算/基础算术/Min.md:119"},
    {"AddRelu", OverlapPermission::kAccumulate, "基础API/Memory矢量计算/复合计算/AddRelu.md:116"},
    {"Div", OverlapPermission::kGeneral, "基础API/Memory矢量计算/基础算术/Div.md:184"},
    {"And", OverlapPermission::kGeneral, "基础API/Memory矢量计算/逻辑计算/And.md:125"},
    {"Or", OverlapPermission::kGeneral, "基础API/Memory矢量计算/逻辑计算/Or.md:125"},
    {"Not", OverlapPermission::kGeneral, "基础API/Memory矢量计算/逻辑计算/Not.md:119"},
    {"Adds", OverlapPermission::kGeneral, "基础API/Memory矢量计算/基础算术/Adds.md:145"},
    {"Muls", OverlapPermission::kGeneral, "基础API/Memory矢量计算/基础算术/Muls.md:145"},
    {"Maxs", OverlapPermission::kGeneral, "基础API/Memory矢量计算/基础算术/Maxs.md:142"},
    {"Mins", OverlapPermission::kGeneral, "基础API/Memory矢量计算/基础算术/Mins.md:142"},
    {"LeakyRelu", OverlapPermission::kGeneral, "基础API/Memory矢量计算/基础算术/LeakyRelu.md:132"},
    {"Abs", OverlapPermission::kGeneral, "基础API/Memory矢量计算/基础算术/Abs.md:132"},
    {"Relu", OverlapPermission::kGeneral, "基础API/Memory矢量计算/基础算术/Relu.md:123"},
    {"Exp", OverlapPermission::kGeneral, "基础API/Memory矢量计算/基础算术/Exp.md:155"},
    {"Ln", OverlapPermission::kGeneral, "基础API/Memory矢量计算/基础算术/Ln.md:157"},
    {"Sqrt", OverlapPermission::kGeneral, "基础API/Memory矢量计算/基础算术/Sqrt.md:155"},
    {"Reciprocal", OverlapPermission::kGeneral, "基础API/Memory矢量计算/基础算术/Reciprocal.md:178"},
    {"Rsqrt", OverlapPermission::kGeneral, "基础API/Memory矢量计算/基础算术/Rsqrt.md:155"},
    {"Axpy", OverlapPermission::kGeneral, "基础API/Memory矢量计算/复合计算/Axpy.md:201"},
    {"Cast", OverlapPermission::kGeneral, "基础API/Memory矢量计算/类型转换/Cast.md:358"},
    {"Select", OverlapPermission::kGeneral, "基础API/Memory矢量计算/比较与选择/Select.md:223"},
    // its example at :298 packs in place (vector_gather_mask.h)
    {"GatherMask", OverlapPermission::kGeneral, "基础API/Memory矢量计算/比较与选择/GatherMask.md:250"},
    {"ReduceSum", OverlapPermission::kGeneral, "基础API/Memory矢量计算/归约计算/ReduceSum.md:126"},
    {"Compare", OverlapPermission::kNone, "基础API/Memory矢量计算/比较与选择/Compare.md:204 (silent)"},
    {"CompareScalar", OverlapPermission::kNone, "基础API/Memory矢量计算/比较与选择/Compares.md:180 (silent)"},
    {"Gather", OverlapPermission::kNone, "基础API/Memory矢量计算/离散与聚合/Gather.md:115"},
    {"Gatherb", OverlapPermission::kNone, "基础API/Memory矢量计算/离散与聚合/Gatherb(ISASI).md:117"},
    {"Brcb", OverlapPermission::kNone, "基础API/Memory矢量计算/数据填充/Brcb.md:122"},
    {"Duplicate", OverlapPermission::kNone, "基础API/Memory矢量计算/数据填充/Duplicate.md:138 (silent)"},
    {"CreateVecIndex", OverlapPermission::kNone, "基础API/Memory矢量计算/数据填充/CreateVecIndex.md:103 (silent)"},
    {"DataCopy(UB->UB)", OverlapPermission::kNone,
     "基础API/Memory矢量计算/数据搬运/DataCopy（UBToUB连续数据搬运）.md:101 and "
     "DataCopy（UBToUB高维切分数据搬运）.md:147 (silent)"},
    {"Fmod", OverlapPermission::kNone, "高阶API/数学计算/Fmod接口/Fmod.md:120"},
};

// An API missing from the table is one whose page the simulator has not been checked against;
// the NOTE's default (no overlap) is the safe reading.
inline ApiOverlap OverlapOf(const char* api) {
  for (const ApiOverlap& entry : kApiOverlap)
    if (std::strcmp(entry.api, api) == 0) return entry;
  return {api, OverlapPermission::kNone, "no entry in simulator/include/sim/overlap_rules.h"};
}

// For an API whose page allows no overlap: `src` must share no byte with `dst`.
inline void RequireNoOverlap(const char* op, const char* api, const char* dst_name, uint64_t dst, uint64_t dst_bytes,
                             const char* src_name, uint64_t src, uint64_t src_bytes) {
  if (dst < src + src_bytes && src < dst + dst_bytes)
    Fail("ub-overlap-unsupported",
         Msg(op, ": ", src_name, " UB [", src, ", ", src + src_bytes, ") overlaps ", dst_name, " UB [", dst, ", ",
             dst + dst_bytes, "); ", api, " does not support overlapping operands (asc-devkit docs/zh/api/SIMD-API/",
             OverlapOf(api).page, ")"));
}

}  // namespace sim
