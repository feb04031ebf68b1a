// Deliberately bad kernels: TQue protocol violations (tests/test_simulator_rules.py).
#include "kernel_operator.h"
#include "selftest_registry.h"

using namespace AscendC;

// Two AllocTensor calls on a queue with one buffer and no FreeTensor in between.
extern "C" __global__ __aicore__ void rule_queue_overflow(GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR) {
  TPipe pipe;
  TQue<TPosition::VECIN, 1> que;
  pipe.InitBuffer(que, 1, 256);
  LocalTensor<float> a = que.AllocTensor<float>();
  LocalTensor<float> b = que.AllocTensor<float>();
  (void)a;
  (void)b;
}
SIM_SELFTEST(rule_queue_overflow);

// DeQue from a queue nothing was enqueued into.
extern "C" __global__ __aicore__ void rule_deque_empty(GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR) {
  TPipe pipe;
  TQue<TPosition::VECOUT, 1> que;
  pipe.InitBuffer(que, 2, 256);
  LocalTensor<float> t = que.DeQue<float>();
  (void)t;
}
SIM_SELFTEST(rule_deque_empty);

// Two EnQue calls on a depth-1 queue without a DeQue.
extern "C" __global__ __aicore__ void rule_enque_depth(GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR) {
  TPipe pipe;
  TQue<TPosition::VECIN, 1> que;
  pipe.InitBuffer(que, 2, 256);
  LocalTensor<float> a = que.AllocTensor<float>();
  LocalTensor<float> b = que.AllocTensor<float>();
  que.EnQue(a);
  que.EnQue(b);
}
SIM_SELFTEST(rule_enque_depth);

// FreeTensor on one queue of a tensor allocated from another.
extern "C" __global__ __aicore__ void rule_free_foreign(GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR) {
  TPipe pipe;
  TQue<TPosition::VECIN, 1> in;
  TQue<TPosition::VECOUT, 1> out;
  pipe.InitBuffer(in, 1, 256);
  pipe.InitBuffer(out, 1, 256);
  LocalTensor<float> t = in.AllocTensor<float>();
  out.FreeTensor(t);
}
SIM_SELFTEST(rule_free_foreign);
