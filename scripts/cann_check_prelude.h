// Force-included by scripts/check_cann.sh when it syntax-checks op_kernel/*.cpp with the host
// compiler. The CANN build generates GET_TILING_DATA from the host's BEGIN_TILING_DATA_DEF
// (op_host/dcnv3_tiling.h); this defines the same struct from the same field list and copies the
// serialised bytes into it, which is what the generated macro does.
#pragma once

#include <cstdint>
#include <cstring>

#include "dcnv3_tiling_fields.h"

struct Dcnv3TilingData {
#define DCNV3_PRELUDE_FIELD(type, name) type name;
  DCNV3_TILING_FIELDS(DCNV3_PRELUDE_FIELD)
#undef DCNV3_PRELUDE_FIELD
};

#define GET_TILING_DATA(var, tiling)                                                                                   \
  Dcnv3TilingData var;                                                                                                 \
  std::memcpy(&var, reinterpret_cast<const uint8_t*>(tiling), sizeof(Dcnv3TilingData))
