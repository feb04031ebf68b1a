#!/usr/bin/env bash
# Opt-in developer check: runs the C++ test drivers (tests/cpp, built by tests/cpp_driver.py) and
# the simulator's pytest files, or with --extension the torch module's op tests, under
# AddressSanitizer + UndefinedBehaviorSanitizer. Any sanitizer report fails the run: the code is
# built with -fno-sanitize-recover=all and the runtimes halt on the first error with exit code 86,
# which fails the test (the drivers' tests require exit 0 or 1); the pytest output is also searched
# for a report, in case a test let a failed process pass.
#
# Usage: scripts/sanitize.sh [--drivers-only | --extension] [--build-dir DIR]
#   --drivers-only  skip the sanitized simulator module and its pytest files
#   --extension     instead of the drivers and the simulator, the torch module dcnv3_ascend._C (its
#                   CPU kernels and argument checks): built sanitized by setup.py (extra flags in
#                   DCNV3_EXTENSION_FLAGS) into DIR/ext-pkg, a copy of python/dcnv3_ascend put first
#                   on PYTHONPATH, so python/dcnv3_ascend/_C*.so is never replaced; then the op tests
#                   run against it (bad input, autograd, parity, softmax_mask, dw_conv, fuzz, modules)
#   --build-dir DIR where the sanitized modules are built (default build/sanitize). The simulator goes
#                   into DIR/pkg, a copy of python/dcnv3_ascend put first on PYTHONPATH for this run
#                   only, so python/dcnv3_ascend/sim/_sim*.so (the normal build) is never replaced.
#                   The torch module _C is copied unsanitized from python/dcnv3_ascend (build it
#                   first: python setup.py build_ext --inplace).
# First it compiles two tiny bad programs (an out-of-bounds read, a signed overflow) with the same
# compiler ($CXX, default g++) and flags as the modules and requires both to be caught, so a run
# that passes had its sanitizers live.
# Exit status: 0 clean, 1 a sanitizer report or a failed test, 2 usage error or a build failure.
set -uo pipefail
unset CDPATH  # a cd through it prints the directory, which $(cd ...) would capture

# The arguments are read in the caller's directory, before the cd below: --help reads "$0" and a
# relative --build-dir is the caller's (after it, `bash sanitize.sh --help` in scripts/ printed
# nothing, and --build-dir went below the repository).
drivers_only=0
extension=0
build_dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --drivers-only) drivers_only=1 ;;
    --extension) extension=1 ;;
    --build-dir)
      [ $# -ge 2 ] && [ -n "$2" ] || { echo "sanitize.sh: --build-dir needs a value" >&2; exit 2; }
      # Checked: without set -e, a failed mkdir left it empty, and the builds went to /pkg, /sim.
      # "$2/": a directory named '-' is not cd's previous directory ($OLDPWD).
      build_dir="$(mkdir -p -- "$2" && cd -- "$2/" && pwd)" ||
        { echo "sanitize.sh: cannot create --build-dir '$2'" >&2; exit 2; }
      shift
      ;;
    -h | --help) sed -n '2,/^# Exit status/s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "sanitize.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[ $((drivers_only + extension)) -le 1 ] ||
  { echo "sanitize.sh: --drivers-only and --extension exclude each other (see --help)" >&2; exit 2; }
cd "$(dirname "$0")/.."
repo="$PWD"
build_dir="${build_dir:-$repo/build/sanitize}"

python="${PYTHON:-python}"
cxx="${CXX:-g++}"
flags="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/selfcheck"
sanitizer_env() {  # $1: detect_leaks (0 or 1)
  export ASAN_OPTIONS="halt_on_error=1:exitcode=86:detect_leaks=$1"
  export UBSAN_OPTIONS="halt_on_error=1:exitcode=86:print_stacktrace=1"
}
report='runtime error:|ERROR: (Address|Leak|UndefinedBehavior)Sanitizer'
run_pytest() {  # $1: log name, then pytest's arguments; fails on a failed test or a report in the output
  local log="$work/$1.log"
  shift
  # verbosity_assertions=2: a failed driver's whole stderr (the report) in the failure message
  "$python" -m pytest -q -p no:cacheprovider -o verbosity_assertions=2 "$@" 2>&1 | tee "$log"
  local rc="${PIPESTATUS[0]}"
  if grep -Eq "$report" "$log"; then
    echo "sanitize.sh: sanitizer report in the output:" >&2
    grep -E -A12 "$report" "$log" | head -60 >&2
    return 1
  fi
  return "$rc"
}
# A fresh copy of python/dcnv3_ascend in folder $1 without the built module $2 (a glob inside the
# package), for that module's sanitized build to go into.
package_copy() {
  rm -rf "$1" && mkdir -p "$1" && cp -r python/dcnv3_ascend "$1/" && rm -f "$1"/dcnv3_ascend/$2
}
# Runs pytest against a sanitized module built into a copy of the package: $1 that copy's folder
# (put first on PYTHONPATH), $2 the module (checked to load from there), $3 the log name, then
# pytest's arguments.
sanitized_pytest() {
  (
    local pkg="$1" module="$2" log="$3"
    shift 3
    sanitizer_env 0  # CPython itself is not leak-clean
    export PYTHONPATH="$pkg:$repo/python${PYTHONPATH:+:$PYTHONPATH}"
    # The module links libasan, which must come first; libstdc++ too, or exceptions thrown through
    # it are not intercepted (ASan's __cxa_throw would find no real one to call).
    export LD_PRELOAD="$("$cxx" -print-file-name=libasan.so) $("$cxx" -print-file-name=libstdc++.so)"
    local where
    where="$("$python" -c "import $module as m; print(m.__file__)")" || exit 1
    case "$where" in
      "$pkg"/*) ;;
      *) echo "sanitize.sh: $module loaded from $where, not the sanitized build" >&2; exit 1 ;;
    esac
    # --capture=sys: a report halts the process in the middle of a test, while pytest's default
    # capture of file descriptor 2 still holds it, and it would never reach the log.
    run_pytest "$log" --capture=sys "$@"
  )
}

# 1. The sanitizers catch a planted bug of each kind, or nothing later can be trusted.
cat >"$work/selfcheck/oob.cc" <<'EOF'
#include <cstdlib>
#include <vector>
int main(int argc, char**) {
  std::vector<int> v(4, 1);
  return v.data()[argc + 3] == 7 ? EXIT_SUCCESS : EXIT_FAILURE;  // reads v[4]
}
EOF
cat >"$work/selfcheck/overflow.cc" <<'EOF'
#include <climits>
int main(int argc, char**) {
  const int big = INT_MAX - 1 + argc;  // INT_MAX, unknown to the compiler
  return big + argc > 0 ? 0 : 1;  // signed overflow
}
EOF
for bad in oob:AddressSanitizer overflow:'runtime error: signed integer overflow'; do
  name="${bad%%:*}" expect="${bad#*:}"
  "$cxx" -std=c++17 -O1 $flags "$work/selfcheck/$name.cc" -o "$work/selfcheck/$name" ||
    { echo "sanitize.sh: $cxx cannot build with $flags" >&2; exit 2; }
  (sanitizer_env 0 && "$work/selfcheck/$name" 2>"$work/selfcheck/$name.err")
  rc=$?
  if [ "$rc" -ne 86 ] || ! grep -qs "$expect" "$work/selfcheck/$name.err"; then
    cat "$work/selfcheck/$name.err" >&2
    echo "sanitize.sh: self-check '$name' was not caught (exit $rc, no '$expect' report)" >&2
    exit 2
  fi
  echo "sanitize.sh: self-check '$name' caught ($expect)"
done

failed=0
# The torch module on its own: its build and tests are long, and the other stages do not need it.
if [ "$extension" -eq 1 ]; then
  pkg="$build_dir/ext-pkg"
  package_copy "$pkg" "_C*.so"
  # setup.py's build of the torch module only: the simulator is not under test here and would be a
  # long CMake build in a fresh build directory. -O1 (after setup.py's -O3) as for the simulator;
  # -fno-wrapv undoes the -fwrapv that torch's build takes from Python's CFLAGS, with which UBSan
  # does not check signed overflow (the self-check's second bug would pass).
  DCNV3_EXTENSION_FLAGS="$flags -O1 -fno-wrapv" CXX="$cxx" MAX_JOBS="${SANITIZE_JOBS:-2}" "$python" - "$pkg" "$build_dir/ext" \
    >"$work/ext-build.log" 2>&1 <<'PY' ||
import runpy
import sys

import setuptools

build_lib, build_temp = sys.argv[1:]
setup = setuptools.setup


def torch_module_only(**kwargs):
    kwargs["ext_modules"] = [m for m in kwargs["ext_modules"] if m.name == "dcnv3_ascend._C"]
    assert kwargs["ext_modules"], "setup.py no longer declares dcnv3_ascend._C"
    setup(**kwargs)


setuptools.setup = torch_module_only
sys.argv = ["setup.py", "build_ext", "--build-lib", build_lib, "--build-temp", build_temp]
runpy.run_path("setup.py", run_name="__main__")
PY
    { cat "$work/ext-build.log" >&2; echo "sanitize.sh: the sanitized torch module did not build" >&2; exit 2; }
  sanitized_pytest "$pkg" dcnv3_ascend._C ext tests/test_op_bad_input.py tests/test_op_autograd.py \
    tests/test_op_parity.py tests/test_op_softmax_mask.py tests/test_dw_conv.py tests/test_op_fuzz.py \
    tests/test_modules.py || failed=1
  [ "$failed" -eq 0 ] && echo "sanitize.sh: no sanitizer reports, all tests passed"
  exit "$failed"
fi

# 2. The C++ test drivers, compiled with the sanitizers (leaks count too).
(
  export DCNV3_TEST_CXXFLAGS="$flags" DCNV3_TEST_CXX="$cxx"
  sanitizer_env 1
  # The in-place build if there is one, else the installed package (CI's pip install): the
  # source tree without its built modules would shadow it.
  if ls python/dcnv3_ascend/sim/_sim*.so >/dev/null 2>&1; then
    export PYTHONPATH="$repo/python${PYTHONPATH:+:$PYTHONPATH}"
  fi
  run_pytest drivers tests/test_onnx_plugin_attrs.py tests/test_infer_shape_unknown.py tests/test_tiling_plan.py
) || failed=1

# 3. The simulator module (kernels, harness, self-test kernels) built sanitized, out of the tree.
if [ "$drivers_only" -eq 0 ]; then
  ls python/dcnv3_ascend/_C*.so >/dev/null 2>&1 ||
    { echo "sanitize.sh: no python/dcnv3_ascend/_C*.so: python setup.py build_ext --inplace first" >&2; exit 2; }
  pkg="$build_dir/pkg"
  package_copy "$pkg" "sim/_sim*.so"
  pybind11_dir="$("$python" -m pybind11 --cmakedir)" || exit 2
  cmake -S simulator -B "$build_dir/sim" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O1" \
    -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" \
    -DPython_EXECUTABLE="$(command -v "$python")" -Dpybind11_DIR="$pybind11_dir" \
    -DCMAKE_LIBRARY_OUTPUT_DIRECTORY="$pkg/dcnv3_ascend/sim" >"$work/cmake.log" 2>&1 &&
    cmake --build "$build_dir/sim" -j "${SANITIZE_JOBS:-2}" >>"$work/cmake.log" 2>&1 ||
    { cat "$work/cmake.log" >&2; echo "sanitize.sh: the sanitized simulator did not build" >&2; exit 2; }
  sanitized_pytest "$pkg" dcnv3_ascend.sim._sim sim tests/test_sim_kernels.py tests/test_simulator_kat.py \
    tests/test_simulator_api.py tests/test_simulator_mask_register.py tests/test_simulator_strictness.py \
    tests/test_simulator_rules.py tests/test_sim_ring.py || failed=1
fi

[ "$failed" -eq 0 ] && echo "sanitize.sh: no sanitizer reports, all tests passed"
exit "$failed"
