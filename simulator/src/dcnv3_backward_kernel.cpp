// Compiles op_kernel/dcnv3_grad.cpp unchanged against the simulator's kernel_operator.h.
#include "dcnv3_tiling_struct.h"
#include "kernel_operator.h"

#include "op_kernel/dcnv3_grad.cpp"
