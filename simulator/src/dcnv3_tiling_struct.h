// GET_TILING_DATA for the simulator. CANN generates it from the host tiling definition; here it
// copies a plain struct generated from the same field list (op_host/dcnv3_tiling_fields.h) as the
// host plan's dcnv3::TilingData, so both have the same layout. It lives outside `namespace dcnv3`
// because the kernel entry point is a function named dcnv3.
#pragma once

#include <cstdint>
#include <cstring>

#include "dcnv3_tiling_fields.h"

namespace sim_tiling {

struct Dcnv3TilingData {
#define SIM_TILING_MEMBER(type, name) type name;
  DCNV3_TILING_FIELDS(SIM_TILING_MEMBER)
#undef SIM_TILING_MEMBER
};

}  // namespace sim_tiling

#define GET_TILING_DATA(var, tiling)                                                                                   \
  ::sim_tiling::Dcnv3TilingData var;                                                                                   \
  std::memcpy(&var, (tiling), sizeof(var))
