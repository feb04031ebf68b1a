// What the framework must do with Dcnv3Grad's outputs before the kernel runs. One definition read
// by the OpDef (dcnv3_op_common.h), the simulator harness (simulator/src/dcnv3_harness.cpp), which
// prepares GM exactly as the framework would, and the torch adapter (python/csrc/npu/).
//
// grad_input is float32 for every input dtype and zeroed before the launch: the backward adds every
// sample's contribution into it with fp32 atomic DMAs, from whichever core owns the sample, so it
// needs a zeroed accumulator and no core ever waits for another (no SyncAll). The OpDef declares it
// InitValue(0) and the TilingFunc calls SetNeedAtomic(true), which makes the framework zero it (a
// memset before the launch on the aclnn path, an inserted memset node in a graph). fp32 also keeps
// half-type sums from rounding at every add; the torch adapter casts it to the input dtype.
// grad_offset and grad_mask are written exactly once by the core that owns their pixel-group: no
// initial value.
#pragma once

namespace dcnv3 {

constexpr bool kGradInputZeroedBeforeLaunch = true;

}  // namespace dcnv3
