#!/usr/bin/env bash
# Developer-side check that the AscendC CPU simulator computes what Huawei's hardware-proven
# kernels compute: compiles DrivingSDK vector kernels unchanged against simulator/include, runs them
# with the tiling their op_host would produce, and compares with PyTorch (scripts/fidelity/).
# Needs a fetched DrivingSDK (checkout or bare git directory) and the built simulator module; it is
# not part of CI, and no DrivingSDK code is ever copied into this repository (the sources are
# extracted into a temporary directory at run time).
#
#   bash scripts/check_simulator_fidelity.sh --drivingsdk /path/to/DrivingSDK [--only add_relu] [--build-dir DIR]
#
# Prints one line per kernel and shape (compiled, rules, max error); exits non-zero on a mismatch.
set -euo pipefail
unset CDPATH  # a cd through it prints the directory, which $(cd ...) would capture
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
# Either form argparse takes: --drivingsdk=PATH too, which this check used to refuse.
if [[ " $* " != *" --drivingsdk "* && " $* " != *" --drivingsdk="* ]]; then
  echo "usage: $0 --drivingsdk <DrivingSDK checkout or git dir> [--only KERNEL] [--build-dir DIR]" >&2
  exit 2
fi
export DCNV3_SIM_ROOT="$repo/simulator"
exec "${PYTHON:-python}" "$here/fidelity/check.py" "$@"
