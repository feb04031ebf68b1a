#!/usr/bin/env bash
# Compiles the CANN-facing C++ of this repository against an installed CANN toolkit with the host
# compiler in syntax-only mode: op_host/*.cpp (as the op proto, the tiling library and plain),
# op_kernel/*.cpp (AscendC in CPU-debug mode, the way CANN's CPU twin builds them),
# framework/onnx_plugin/*.cc, and the simulator's self-test kernels (each API they call must exist
# in CANN with the signature the simulator gives it). Nothing is linked or run: it catches wrong
# API names, signatures and types in minutes, without building the operator package.
#
# Usage: scripts/check_cann.sh [--cann DIR] [--arch aarch64|x86_64] [FILE...]
#   --cann DIR   the toolkit root, which holds <arch>-linux/include (e.g.
#                /usr/local/Ascend/ascend-toolkit/latest); default $ASCEND_HOME_PATH, which
#                CANN's set_env.sh exports
#   --arch ARCH  which <arch>-linux tree to read (default: this machine's, else the one present)
#   FILE...      only these files (default: all of the above)
# Exit status: 0 all compiled, 1 some failed, 2 usage error or no CANN found.
set -uo pipefail
unset CDPATH  # a cd through it prints the directory, which $(cd ...) would capture

usage() { sed -n '2,/^# Exit status/s/^# \{0,1\}//p' "$0"; }
die() { echo "check_cann.sh: $*" >&2; exit 2; }

root=$(cd "$(dirname "$0")/.." && pwd -P)  # physical, as the files' paths below
cann="${ASCEND_HOME_PATH:-}"
arch=""
files=()
while [ $# -gt 0 ]; do
  case "$1" in
    --cann) [ $# -ge 2 ] || die "--cann needs a directory"; cann="$2"; shift 2 ;;
    --cann=*) cann="${1#--cann=}"; shift ;;
    --arch) [ $# -ge 2 ] || die "--arch needs aarch64 or x86_64"; arch="$2"; shift 2 ;;
    --arch=*) arch="${1#--arch=}"; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; files+=("$@"); break ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) files+=("$1"); shift ;;
  esac
done

case "$arch" in
  "" | aarch64 | x86_64) ;;
  *) die "--arch must be aarch64 or x86_64, got '$arch'" ;;
esac
if [ -z "$cann" ]; then
  die "no CANN toolkit given: set ASCEND_HOME_PATH (source <CANN>/set_env.sh) or pass --cann DIR"
fi
[ -d "$cann" ] || die "--cann / ASCEND_HOME_PATH '$cann' is not a directory"
if [ -z "$arch" ]; then
  for candidate in "$(uname -m)" aarch64 x86_64; do
    if [ -d "$cann/$candidate-linux/include" ]; then arch=$candidate; break; fi
  done
fi
inc="$cann/${arch:-aarch64}-linux/include"
ascendc="$cann/${arch:-aarch64}-linux/ascendc/include"
cpulib="$cann/tools/tikicpulib/lib/include"
for dir in "$inc" "$ascendc" "$cpulib"; do
  [ -d "$dir" ] || die "'$cann' is not an installed CANN toolkit: $dir is missing"
  # An empty directory would make every file "fail" on its first #include.
  [ -n "$(find "$dir" -name '*.h' -print -quit)" ] || die "'$cann' is not an installed CANN toolkit: $dir has no headers"
done
cxx="${CXX:-g++}"
command -v "$cxx" >/dev/null || die "no C++ compiler '$cxx' (set CXX)"

if [ ${#files[@]} -eq 0 ]; then
  shopt -s nullglob
  files=("$root"/op_host/*.cpp "$root"/op_kernel/*.cpp "$root"/framework/onnx_plugin/*.cc
         "$root"/simulator/selftest/*.cpp)
  shopt -u nullglob
fi

# CANN's host libraries are built with the old libstdc++ ABI; the kernels' CPU-debug build
# defines the AI-core target the Ascend910B vector cores (DAV C220) use.
host=(-std=c++17 -fsyntax-only -D_GLIBCXX_USE_CXX11_ABI=0 -I"$inc" -I"$ascendc/highlevel_api" -I"$root/op_host")
kernel=(-std=c++17 -fsyntax-only -DASCENDC_CPU_DEBUG=1 -D__CCE_KT_TEST__=1 -D__CCE_AICORE__=220
        -D__DAV_C220_VEC__ -D__NPU_ARCH__=2201 -I"$cpulib" -I"$ascendc" -I"$ascendc/basic_api"
        -I"$ascendc/basic_api/impl" -I"$ascendc/basic_api/interface" -I"$ascendc/highlevel_api" -I"$inc")

passed=0
failed=0
check() {  # check FILE LABEL FLAGS...
  local file=$1 label=$2 out
  shift 2
  if out=$("$cxx" "$@" "$file" 2>&1); then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL ${file#"$root"/} ($label)"
    echo "$out" | grep -E "error|required from" | head -20
  fi
}

for file in "${files[@]}"; do
  [ -f "$file" ] || die "no such file: $file"
  file=$(cd "$(dirname "$file")" && pwd -P)/$(basename "$file")
  case "$file" in
    "$root"/op_host/*)
      # The op proto and tiling libraries are built from the same sources with these defines.
      check "$file" host "${host[@]}"
      check "$file" op-proto "${host[@]}" -DOP_PROTO_LIB
      check "$file" op-tiling "${host[@]}" -DOP_TILING_LIB ;;
    "$root"/op_kernel/*)
      # The CANN build generates GET_TILING_DATA; the prelude defines it from the same fields.
      check "$file" kernel "${kernel[@]}" -I"$root/op_kernel" -I"$root/op_host" \
        -include "$root/scripts/cann_check_prelude.h" ;;
    "$root"/framework/onnx_plugin/*)
      # framework/onnx_plugin/CMakeLists.txt: CANN renames protobuf's namespace.
      check "$file" onnx-plugin "${host[@]}" -Dgoogle=ascend_private -I"$root/framework/onnx_plugin" ;;
    "$root"/simulator/selftest/*)
      check "$file" selftest "${kernel[@]}" -include "$root/simulator/selftest/cann_check_prelude.h" ;;
    *) die "$file is not in op_host/, op_kernel/, framework/onnx_plugin/ or simulator/selftest/" ;;
  esac
done

echo "check_cann.sh: $passed passed, $failed failed (CANN at $cann, ${arch}-linux)"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
