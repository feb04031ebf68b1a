#!/usr/bin/env bash
# The README's test command: installs what the tests need on a fresh machine (Python 3.11 and
# the package registries), builds the package (torch extension + AscendC simulator) and runs
# the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q -r requirements-test.txt
# The .run packaging tests need makeself, which Debian ships (CANN ships its own copy).
if ! command -v makeself >/dev/null 2>&1 && ! command -v makeself.sh >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq makeself >/dev/null
  else
    echo "scripts/test.sh: makeself is missing; install it (sudo apt-get install makeself)" >&2
    exit 2
  fi
fi
python3 -m pip install -q --no-build-isolation .
python3 -m pytest -q "$@"
