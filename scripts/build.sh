#!/usr/bin/env bash
# Builds the DCNv3 CANN operator package (build_out/custom_opp_<os>_<arch>.run), or with --no-opp
# only what needs no CANN: the Python wheel (torch extension + AscendC simulator), smoke-tested.
#
# The arguments become CMakeUserPresets.json (a preset inheriting CMakePresets.json, written by
# scripts/build_config.py), so the presets stay the single source of the build configuration.
# Everything is checked before anything is written: a bad argument or a missing CANN leaves no
# build_out behind.
set -euo pipefail
unset CDPATH  # a cd through it prints the directory, which $(cd ...) would capture

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR="$ROOT/build_out"
CONFIG="$ROOT/scripts/build_config.py"
PYTHON=${PYTHON:-python3}
MIN_CMAKE=3.19.0

usage() {
  cat <<EOF
Usage: scripts/build.sh [options]

Builds the CANN operator package build_out/custom_opp_<os>_<arch>.run (see COMPILE_GUIDE.md).

Options:
  --soc SOC[,SOC...]   SoCs to build kernels for, as 'npu-smi info' names them; repeatable
                       (default: Ascend910B3).
                       Supported: $("$PYTHON" "$CONFIG" supported-socs)
  --vendor NAME        vendor directory name under opp/vendors/ (default: dcnv3)
  --cann PATH          CANN toolkit root (default: \$ASCEND_HOME_PATH, else \$ASCEND_TOOLKIT_HOME,
                       else /usr/local/Ascend/ascend-toolkit/latest)
  --build-type TYPE    Release or Debug (default: Release)
  --jobs N             parallel build jobs, 1 to 4096 (default: number of CPUs)
  --clean              remove build_out/, build/ (setup.py's and sanitize.sh's build trees) and
                       CMakeUserPresets.json first
  --no-opp             build only the Python wheel (torch extension + simulator) into
                       build_out/dist/ and import-test it; needs no CANN
  -h, --help           show this help
EOF
}

die() {
  echo "build.sh: error: $*" >&2
  exit 2
}

need_value() {
  [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value (see --help)"
}

# Before the arguments: --help asks it for the supported SoCs (without it, it listed none).
command -v "$PYTHON" >/dev/null || die "$PYTHON not found (set PYTHON=/path/to/python3)"
socs=""  # every --soc given, comma-joined; Ascend910B3 when none
vendor=dcnv3
cann=${ASCEND_HOME_PATH:-${ASCEND_TOOLKIT_HOME:-/usr/local/Ascend/ascend-toolkit/latest}}
# Where $cann came from, for the message when it holds no toolkit (a stale ASCEND_HOME_PATH, say).
if [ -n "${ASCEND_HOME_PATH:-}" ]; then
  cann_from=ASCEND_HOME_PATH
elif [ -n "${ASCEND_TOOLKIT_HOME:-}" ]; then
  cann_from=ASCEND_TOOLKIT_HOME
else
  cann_from="the default"
fi
build_type=Release
jobs=$(nproc 2>/dev/null || echo 2)
clean=0
no_opp=0
opp_options=()  # given options that configure the operator package only
while [ $# -gt 0 ]; do
  case "$1" in
    --soc | --soc=* | --vendor | --vendor=* | --cann | --cann=* | --build-type | --build-type=*)
      opp_options+=("${1%%=*}") ;;
  esac
  case "$1" in
    # Joined, not replaced: `--soc A --soc B` built for B alone, silently.
    --soc) need_value "$@"; socs+=${socs:+,}$2; shift 2 ;;
    --soc=*) need_value "--soc" "${1#*=}"; socs+=${socs:+,}${1#*=}; shift ;;
    --vendor) need_value "$@"; vendor=$2; shift 2 ;;
    --vendor=*) need_value "--vendor" "${1#*=}"; vendor=${1#*=}; shift ;;
    --cann) need_value "$@"; cann=$2; cann_from=--cann; shift 2 ;;
    --cann=*) need_value "--cann" "${1#*=}"; cann=${1#*=}; cann_from=--cann; shift ;;
    --build-type) need_value "$@"; build_type=$2; shift 2 ;;
    --build-type=*) need_value "--build-type" "${1#*=}"; build_type=${1#*=}; shift ;;
    --jobs) need_value "$@"; jobs=$2; shift 2 ;;
    --jobs=*) need_value "--jobs" "${1#*=}"; jobs=${1#*=}; shift ;;
    --clean) clean=1; shift ;;
    --no-opp) no_opp=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
socs=${socs:-Ascend910B3}
# Bounded: past 65536, make's jobserver hangs (its pipe of job tokens fills up), and cmake refuses
# a count past its integer range, both only after the configure step.
[[ "$jobs" =~ ^[1-9][0-9]{0,3}$ ]] && [ "$jobs" -le 4096 ] || die "--jobs must be an integer from 1 to 4096, got '$jobs'"
# The wheel takes none of them: `--no-opp --build-type Debug` built a Release wheel, silently.
if [ "$no_opp" = 1 ] && [ ${#opp_options[@]} -gt 0 ]; then
  die "--no-opp builds only the Python wheel, on which these options of the operator package would have no effect: ${opp_options[*]}"
fi

clean_outputs() {
  rm -rf "$BUILD_DIR" "$ROOT/CMakeUserPresets.json" "$ROOT/build"
}

# Builds the wheel with the current Python (it needs torch, and torch_npu when present, to be
# importable: no build isolation), then imports it from a scratch install.
build_wheel() {
  local dist="$BUILD_DIR/dist" scratch=""
  if [ "$clean" = 1 ]; then clean_outputs; fi
  mkdir -p "$dist"
  # Only this build's wheel: one of an earlier build (another Python, another version) matched
  # the glob below too, and pip refused the pair.
  rm -f "$dist"/dcnv3_ascend-*.whl
  # A failed step leaves neither a wheel nor the scratch install behind.
  trap 'rm -rf "$dist" ${scratch:+"$scratch"}' ERR
  MAX_JOBS="$jobs" "$PYTHON" -m pip wheel --no-deps --no-build-isolation -w "$dist" "$ROOT"
  scratch=$(mktemp -d)
  "$PYTHON" -m pip install --no-deps --target "$scratch" "$dist"/dcnv3_ascend-*.whl >/dev/null
  PYTHONPATH="$scratch" "$PYTHON" -c "
import torch, dcnv3_ascend, dcnv3_ascend.sim._sim
assert hasattr(torch.ops.npu, 'dcnv3') and hasattr(torch.ops.npu, 'dcnv3_backward'), 'npu::dcnv3 not registered'
print('build.sh: wheel OK:', dcnv3_ascend.__file__)"
  rm -rf "$scratch"
  trap - ERR
  echo "build.sh: wheel in $dist"
}

# CANN's environment (set_env.sh): the kernel build runs opc/bisheng from PATH and imports CANN's
# python packages. Loaded here unless the current environment is already that of --cann.
same_dir() {
  local a b
  a=$(cd "$1" 2>/dev/null && pwd -P) && b=$(cd "$2" 2>/dev/null && pwd -P) && [ "$a" = "$b" ]
}

load_cann_env() {
  local script
  if same_dir "${ASCEND_HOME_PATH:-/nonexistent}" "$cann" && command -v opc >/dev/null; then
    return
  fi
  for script in "$cann/../set_env.sh" "$cann/bin/setenv.bash"; do
    if [ -f "$script" ]; then
      set +u
      # shellcheck disable=SC1090
      source "$script"
      set -u
      break
    fi
  done
  command -v opc >/dev/null && command -v bisheng >/dev/null ||
    die "CANN's tools (opc, bisheng) are not on PATH: run \`source <CANN install>/ascend-toolkit/set_env.sh\` for the toolkit at $cann, then build again"
  if [ -n "${ASCEND_HOME_PATH:-}" ] && ! same_dir "$ASCEND_HOME_PATH" "$cann"; then
    echo "build.sh: warning: the loaded CANN environment is $ASCEND_HOME_PATH, not --cann $cann" >&2
  fi
}

build_opp() {
  local units cmake_version
  units=$("$PYTHON" "$CONFIG" compute-units "$socs") || exit 2
  "$PYTHON" "$CONFIG" check-cann "$cann" >/dev/null || die "the toolkit path $cann came from $cann_from"
  command -v cmake >/dev/null || die "cmake >= $MIN_CMAKE not found (pip install cmake, or your distribution's package)"
  cmake_version=$(cmake --version | sed -n 's/^cmake version \([0-9.]*\).*/\1/p')
  if [ "$(printf '%s\n%s\n' "$MIN_CMAKE" "$cmake_version" | sort -V | head -n 1)" != "$MIN_CMAKE" ]; then
    die "cmake $cmake_version is too old: CMake presets need >= $MIN_CMAKE"
  fi
  # The presets' generator is Unix Makefiles; without make, cmake failed only after the preset was
  # written and --clean had removed the previous build.
  command -v make >/dev/null || command -v gmake >/dev/null ||
    die "make not found: the build's generator is Unix Makefiles (install make, e.g. apt install make)"
  local preset
  preset=$("$PYTHON" "$CONFIG" preset --soc "$socs" --vendor "$vendor" --cann "$cann" --build-type "$build_type") || exit 2
  load_cann_env

  if [ "$clean" = 1 ]; then clean_outputs; fi
  echo "$preset" >"$ROOT/CMakeUserPresets.json"
  echo "build.sh: compute units $units, vendor $vendor, CANN $cann, $build_type"
  rm -f "$BUILD_DIR"/custom_opp_*.run
  (cd "$ROOT" && cmake --preset "$("$PYTHON" "$CONFIG" preset-name)")
  cmake --build "$BUILD_DIR" --target binary -j "$jobs"
  cmake --build "$BUILD_DIR" --target package -j "$jobs"
  # A separate statement, so that set -e stops the script when the build made no package.
  local package
  package=$(ls "$BUILD_DIR"/custom_opp_*.run)
  echo "build.sh: package $package"
}

if [ "$no_opp" = 1 ]; then
  build_wheel
else
  build_opp
fi
