// Kernel types (KERNEL_TASK_TYPE_DEFAULT) and what they allow, as CANN 8.1's build decides it for
// Atlas A2 (dav-c220). Paths are inside ascend-toolkit/8.1.RC1.
//
// - python/site-packages/tbe/tikcpp/compile_op.py reads the declared type from the preprocessed
//   kernel (KernelInfoInfer.find_kernel_type / get_kernel_type_enum). On dav-c220 it knows
//   AIV_ONLY, AIC_ONLY, MIX_AIV_1_0, MIX_AIC_1_0, MIX_AIC_1_1 and MIX_AIC_1_2
//   (ascendc_constants.py STR_TO_KERNEL_TYPE_V220); the dav-m200 types (AICORE, VECTORCORE,
//   MIX_AICORE, MIX_VECTOR_CORE) are dropped there, so the kernel counts as undeclared.
// - ascendc_compile_v220.py get_v220_kernel_type_mix_flag: when every tiling key is AIV_ONLY (or
//   every one AIC_ONLY) the op is "not mix, no hard sync", so compile_op.py neither adds the
//   ffts_addr kernel parameter nor calls set_ffts_base_addr. An undeclared kernel instead has its
//   SyncAll found (get_hard_sync_instr_from_i_file on the source, _is_hard_sync_instr on the
//   object code) and gets the FFTS address.
// - basic_api/impl/dav_c220/kernel_operator_sync_impl.h SyncAllImpl<true>: ffts_cross_core_sync
//   then wait_flag_dev(SYNC_AIV_ONLY_ALL). Without the FFTS base address the flag never arrives,
//   so SyncAll in an AIV_ONLY kernel hangs. The SyncAll page (asc-devkit docs/zh/api/SIMD-API/
//   基础API/同步控制/核间同步/SyncAll.md) says a vector-only kernel using hard sync must be
//   __mix__(0, 1), i.e. KERNEL_TYPE_MIX_AIV_1_0.
#pragma once

#include "api_types.h"
#include "core_context.h"
#include "errors.h"

namespace sim {

inline const char* KernelTypeName(KernelMetaType t) {
  static const char* const kNames[] = {
      "KERNEL_TYPE_AIV_ONLY",    "KERNEL_TYPE_AIC_ONLY",       "KERNEL_TYPE_MIX_AIV_1_0", "KERNEL_TYPE_MIX_AIC_1_0",
      "KERNEL_TYPE_MIX_AIC_1_1", "KERNEL_TYPE_MIX_AIC_1_2",    "KERNEL_TYPE_AICORE",      "KERNEL_TYPE_VECTORCORE",
      "KERNEL_TYPE_MIX_AICORE",  "KERNEL_TYPE_MIX_VECTOR_CORE"};
  const int i = static_cast<int>(t);
  return i < static_cast<int>(sizeof(kNames) / sizeof(kNames[0])) ? kNames[i] : "(none)";
}

// KERNEL_TASK_TYPE_DEFAULT(type), run when the kernel starts on each core.
inline void DeclareKernelType(KernelMetaType type) {
  switch (type) {
    case KERNEL_TYPE_AIV_ONLY:
    case KERNEL_TYPE_MIX_AIV_1_0:
      Core().kernel_type = type;  // vector cores only: what the simulator runs
      return;
    case KERNEL_TYPE_AIC_ONLY:
    case KERNEL_TYPE_MIX_AIC_1_0:
      Fail("kernel-type",
           Msg("KERNEL_TASK_TYPE_DEFAULT(", KernelTypeName(type),
               ") runs the kernel on cube cores only "
               "(ascendc_compile_base.py get_actual_kernel_type maps MIX_AIC_1_0 to the cube channel); a "
               "vector kernel declared so never runs on a vector core. Use KERNEL_TYPE_AIV_ONLY, or "
               "KERNEL_TYPE_MIX_AIV_1_0 if it calls SyncAll"));
    case KERNEL_TYPE_MIX_AIC_1_1:
    case KERNEL_TYPE_MIX_AIC_1_2:
      Fail("sim-unsupported", Msg("KERNEL_TASK_TYPE_DEFAULT(", KernelTypeName(type),
                                  ") is a valid dav-c220 type, but "
                                  "it launches cube cores with 1 or 2 vector cores each; the simulator has no cube "
                                  "unit and does not model that block numbering"));
    default:
      // dav-m200 types: compile_op.py get_kernel_type_enum drops them on dav-c220 (undeclared).
      Core().kernel_type = KERNEL_TYPE_MAX;
      return;
  }
}

// The hardware SyncAll needs the FFTS address, which CANN passes only to mix or undeclared kernels.
inline void RequireHardSyncKernelType() {
  if (Core().kernel_type != KERNEL_TYPE_AIV_ONLY) return;
  Fail("syncall-kernel-type",
       "SyncAll() in a kernel declared KERNEL_TASK_TYPE_DEFAULT(KERNEL_TYPE_AIV_ONLY) hangs on Atlas A2: CANN 8.1 "
       "builds an all-AIV_ONLY kernel as 'not mix, no hard sync' (python/site-packages/tbe/tikcpp/"
       "ascendc_compile_v220.py get_v220_kernel_type_mix_flag), so compile_op.py never passes the FFTS base address, "
       "and SyncAllImpl (basic_api/impl/dav_c220/kernel_operator_sync_impl.h) waits on wait_flag_dev("
       "SYNC_AIV_ONLY_ALL) forever. Declare KERNEL_TYPE_MIX_AIV_1_0 (the SyncAll page: a vector-only kernel with "
       "hard sync must be __mix__(0, 1)), declare no type (CANN then detects the SyncAll), or avoid the barrier");
}

}  // namespace sim
