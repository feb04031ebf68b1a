// CANN tiling data of Dcnv3 and Dcnv3Grad, generated from the one field list
// (dcnv3_tiling_fields.h) that also defines the planner's plain dcnv3::TilingData, so the two
// serialise identically. Both ops' translation units include it: BEGIN_TILING_DATA_DEF records the
// struct with its file and line, as CANN's own tiling-data headers (e.g. SoftMaxTiling in
// highlevel_api/lib/activation/softmax_tilingdata.h) are recorded from every unit that includes
// them. Each op registers the class in its own unit (dcnv3.cpp, dcnv3_grad.cpp), once; the build
// derives the kernels' GET_TILING_DATA from that registration (tikcpp/get_op_tiling.py
// get_tiling_def asks libregister for the op type's class).
#pragma once

#include "register/tilingdata_base.h"

#include "dcnv3_tiling_fields.h"

namespace optiling {

BEGIN_TILING_DATA_DEF(Dcnv3TilingData)
DCNV3_TILING_FIELDS(TILING_DATA_FIELD_DEF)
END_TILING_DATA_DEF;

}  // namespace optiling
