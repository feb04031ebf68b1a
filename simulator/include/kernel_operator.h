// AscendC CPU simulator: the one header AscendC kernel sources include. It provides the subset of
// the CANN 8.1 AscendC API (Atlas A2 vector core) that this project's kernels, and the third-party
// kernels of scripts/check_simulator_fidelity.sh, use, with the real names and signatures, and
// enforces the hardware's rules loudly (see sim/*.h, one job each).
#pragma once

#include "sim/api_types.h"
#include "sim/builtins.h"
#include "sim/core_context.h"
#include "sim/data_copy.h"
#include "sim/scalar_types.h"
#include "sim/sync_atomic.h"
#include "sim/tensors.h"
#include "sim/tpipe.h"
#include "sim/vector_arith.h"
#include "sim/vector_cast.h"
#include "sim/vector_gather.h"
#include "sim/vector_gather_mask.h"
#include "sim/vector_mask.h"
#include "sim/vector_math.h"
#include "sim/vector_reduce.h"
#include "sim/vector_select.h"
