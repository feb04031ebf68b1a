#!/usr/bin/env bash
# Runs the C++ test drivers (tests/cpp: the host tiling plan and its cost walk, the shape
# contract, the ONNX parser plugin's attribute JSON reader) under AddressSanitizer and
# UndefinedBehaviorSanitizer through their pytest files, so an out-of-bounds access, a use after
# free or a signed overflow in that code fails the run instead of passing by luck. The drivers are
# plain C++ built by tests/cpp_driver.py, which takes the extra flags from DCNV3_TEST_CXXFLAGS;
# they go to pytest's temporary folders, so nothing sanitized is left in the tree.
#
# First it proves the sanitizers are live: a planted heap overflow and a planted signed overflow
# must each stop a test program with the sanitizer's report, or the script fails.
#
# Usage: scripts/sanitize.sh [PYTEST ARGS...]   (e.g. -x, -k plan)
# Needs: g++ with libasan and libubsan (Debian: gcc), the test requirements (pytest).
# Exit status: 0 clean, 1 a sanitizer report or a failing test, 2 the sanitizers are not live.
set -uo pipefail
unset CDPATH
cd "$(dirname "$0")/.."
case "${1:-}" in
  -h | --help) sed -n '2,/^# Exit status/s/^# \{0,1\}//p' "$0"; exit 0 ;;
esac

flags="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g"
# Exit codes no driver uses (theirs are 0 and 1), so a report after the driver's own output cannot
# pass for the exit the test expects.
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:exitcode=86"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=87"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# planted NAME REPORT SOURCE: the program must exit non-zero with REPORT on its standard error.
planted() {
  local name=$1 report=$2 source=$3
  printf '%s\n' "$source" >"$work/$name.cc"
  # shellcheck disable=SC2086  # the flags are words
  if ! g++ -std=c++17 -O1 $flags "$work/$name.cc" -o "$work/$name" 2>"$work/$name.build"; then
    echo "sanitize.sh: g++ cannot build with $flags:" >&2
    cat "$work/$name.build" >&2
    exit 2
  fi
  if "$work/$name" 4 2>"$work/$name.err" >/dev/null || ! grep -q "$report" "$work/$name.err"; then
    echo "sanitize.sh: the planted $name was not reported ('$report' expected); the sanitizers are not live" >&2
    cat "$work/$name.err" >&2
    exit 2
  fi
  echo "== planted $name: reported ($report)"
}
# The sizes come from argv (4), so the compiler can neither see the bug nor fold it away (nor
# UBSan's object-size check report the overflow before ASan does).
planted heap-overflow "AddressSanitizer: heap-buffer-overflow" '
#include <cstdlib>
int main(int argc, char** argv) {
  const int n = std::atoi(argv[argc - 1]);
  int* a = new int[n]();
  const int v = a[n];
  delete[] a;
  return v;
}'
planted signed-overflow "runtime error: signed integer overflow" '
#include <climits>
#include <cstdlib>
int main(int argc, char** argv) {
  const int big = INT_MAX - 3;
  const int sum = big + std::atoi(argv[argc - 1]);  // INT_MAX - 3 + 4
  return sum & 1;
}'

echo "== C++ drivers under $flags"
DCNV3_TEST_CXXFLAGS="$flags" PYTHONPATH="$PWD/python${PYTHONPATH:+:$PYTHONPATH}" \
  python -m pytest -q -p no:cacheprovider tests/test_tiling_plan.py tests/test_infer_shape_unknown.py \
  tests/test_onnx_plugin_attrs.py "$@"
