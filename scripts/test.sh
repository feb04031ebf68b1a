#!/usr/bin/env bash
# The README's test command: installs what the tests need on a fresh machine (Python 3.11 and
# the package registries; no root: the .run tests need only bash, tar and coreutils), builds the
# package (torch extension + AscendC simulator), checks lint and format (scripts/lint.sh) and
# runs the whole test suite. Extra arguments go to pytest.
set -euo pipefail
unset CDPATH  # a cd through it prints the directory, which $(cd ...) would capture
cd "$(dirname "$0")/.."
python3 -m pip install -q -r requirements-test.txt
bash scripts/lint.sh
python3 -m pip install -q --no-build-isolation .
python3 -m pytest -q "$@"
