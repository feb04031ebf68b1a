// CANN tiling data of Dcnv3 and Dcnv3Grad, generated from the one field list
// (dcnv3_tiling_fields.h) that also defines the planner's plain dcnv3::TilingData, so the two
// serialise identically. The build derives the kernels' GET_TILING_DATA from this registration.
#pragma once

#include "register/tilingdata_base.h"

#include "dcnv3_tiling_fields.h"

namespace optiling {

BEGIN_TILING_DATA_DEF(Dcnv3TilingData)
DCNV3_TILING_FIELDS(TILING_DATA_FIELD_DEF)
END_TILING_DATA_DEF;

REGISTER_TILING_DATA_CLASS(Dcnv3, Dcnv3TilingData)
REGISTER_TILING_DATA_CLASS(Dcnv3Grad, Dcnv3TilingData)

}  // namespace optiling
