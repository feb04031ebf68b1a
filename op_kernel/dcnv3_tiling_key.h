// Tiling keys of Dcnv3 and Dcnv3Grad: one per input dtype, each selecting one instantiation of the
// kernel class template. The host's dcnv3::DataType enum takes its values from these macros
// (op_host/dcnv3_tiling_plan.h), so the key the TilingFunc sets is the key the kernel tests.
// Macros, not constexpr variables: CANN's compile_op.py finds the keys by matching
// "g_tilingKey == (<number>" in the preprocessed kernel, so TILING_KEY_IS needs literals after
// preprocessing.
#pragma once

#define DCNV3_TILING_KEY_FLOAT32 0
#define DCNV3_TILING_KEY_FLOAT16 1
#define DCNV3_TILING_KEY_BFLOAT16 2
