// Stands in for CANN's register/tilingdata_base.h when an external kernel's op_host tiling header
// is compiled for the simulator: the tiling macros come from sim/external_kernel.h instead.
#pragma once
#include "sim/external_kernel.h"
