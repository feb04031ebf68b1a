// Stands in for CANN's kernel_tiling/kernel_tiling.h (high-level API tiling structs), which the
// vector kernels the simulator runs include without using.
#pragma once
