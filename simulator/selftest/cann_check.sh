#!/usr/bin/env bash
# Syntax-checks the self-test kernels against the real CANN 8.1 AscendC headers (CPU-debug mode),
# proving that every API call they make, and so every API the simulator offers them, has CANN's
# name and signature. Needs the CANN 8.1 header tree (see /work/shared/tools/cann_syntax_check.sh
# for how to extract it); default location /tmp/cann81 or $CANN81_DIR.
#   simulator/selftest/cann_check.sh [FILES...]     (default: every selftest/*.cpp)
set -u
here=$(cd "$(dirname "$0")" && pwd)
T="${CANN81_DIR:-/tmp/cann81}/Ascend/ascend-toolkit/8.1.RC1"
A="$T/aarch64-linux/ascendc/include"
[ -d "$A" ] || { echo "cann_check: no CANN 8.1 headers under $T" >&2; exit 2; }
[ $# -gt 0 ] || set -- "$here"/*.cpp
flags=(-std=c++17 -fsyntax-only -DASCENDC_CPU_DEBUG=1 -D__CCE_KT_TEST__=1 -D__CCE_AICORE__=220 -D__DAV_C220_VEC__
       -D__NPU_ARCH__=2201 -I"$T/tools/tikicpulib/lib/include" -I"$A" -I"$A/basic_api" -I"$A/basic_api/impl"
       -I"$A/basic_api/interface" -I"$A/highlevel_api" -I"$T/aarch64-linux/include"
       -include "$here/cann_check_prelude.h")
bad=0
for f in "$@"; do
  if ! out=$(g++ "${flags[@]}" "$f" 2>&1); then
    bad=$((bad + 1)); echo "FAIL $f"; echo "$out" | grep error | head -10
  fi
done
echo "cann_check: $(($# - bad)) passed, $bad failed"
[ $bad -eq 0 ]
