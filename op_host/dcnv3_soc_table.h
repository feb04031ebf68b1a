// The SoCs this package is built for, in one table: the build configuration
// (scripts/build_config.py parses the rows below), the NPU adapter (python/csrc/npu) and the
// simulator (simulator/src/soc_table.h) all read it; tests/test_soc_table.py fails if any of them
// holds its own copy. On a device the host tiling asks the runtime (PlatformAscendC) instead.
//
// Columns: SoC name as `npu-smi info` and ATC's --soc_version spell it; compute unit passed to
// ASCEND_COMPUTE_UNIT (CANN's short SoC name, cmake/util/opdesc_parser.py SOC_TO_SHORT_SOC_MAP);
// vector cores, UB bytes per vector core and AI core clock in MHz, from CANN 8.1.RC1's
// aarch64-linux/data/platform_config/<SoC>.ini (keys vector_core_cnt, ub_size, cube_freq).
// All are dav-c220 vector cores (CCEC_AIV_version=dav-c220-vec). The bare name "Ascend910B" is
// deliberately absent: CANN maps it to the first-generation ascend910, which has no AscendC
// vector core.
#pragma once

#include <cstdint>

// X(name, compute_unit, vector_core_num, ub_bytes, clock_mhz)
#define DCNV3_SOC_TABLE(X)                                                                                             \
  X("Ascend910B1", "ascend910b", 48, 196608, 1850)                                                                     \
  X("Ascend910B2", "ascend910b", 48, 196608, 1800)                                                                     \
  X("Ascend910B2C", "ascend910b", 48, 196608, 1800)                                                                    \
  X("Ascend910B3", "ascend910b", 40, 196608, 1800)                                                                     \
  X("Ascend910B4", "ascend910b", 40, 196608, 1500)                                                                     \
  X("Ascend910B4-1", "ascend910b", 40, 196608, 1500)                                                                   \
  X("Ascend910_9391", "ascend910_93", 48, 196608, 1850)                                                                \
  X("Ascend910_9392", "ascend910_93", 48, 196608, 1850)                                                                \
  X("Ascend910_9381", "ascend910_93", 48, 196608, 1800)                                                                \
  X("Ascend910_9382", "ascend910_93", 48, 196608, 1800)                                                                \
  X("Ascend910_9372", "ascend910_93", 40, 196608, 1800)                                                                \
  X("Ascend910_9362", "ascend910_93", 40, 196608, 1500)

namespace dcnv3 {

// The smallest UB of any SoC in the table: what a check made without a device must assume.
constexpr int64_t MinUbBytesOfTable() {
  int64_t least = INT64_MAX;
#define DCNV3_SOC_MIN_UB(name, unit, cores, ub, mhz) least = ub < least ? ub : least;
  DCNV3_SOC_TABLE(DCNV3_SOC_MIN_UB)
#undef DCNV3_SOC_MIN_UB
  return least;
}

}  // namespace dcnv3
