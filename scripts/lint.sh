#!/usr/bin/env bash
# Lint and format checks of the repository: ruff (Python lint and format, pyproject.toml),
# clang-format (C++, .clang-format) and codespell (pyproject.toml). The tools and their pinned
# versions come from requirements-test.txt; .pre-commit-config.yaml runs the same on commit.
#
# Usage: scripts/lint.sh [--fix]
#   --fix   rewrite files instead of only reporting: ruff check --fix, ruff format, clang-format -i
#           (codespell's findings are left to a person)
# Exit status: 0 clean, 1 findings, 2 usage error or a tool missing.
set -uo pipefail
unset CDPATH  # a cd through it prints the directory, which $(cd ...) would capture

fix=0
case "${1:-}" in
  "") ;;
  --fix) fix=1 ;;
  -h | --help) sed -n '2,/^# Exit status/s/^# \{0,1\}//p' "$0"; exit 0 ;;
  *) echo "lint.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
esac
[ $# -le 1 ] || { echo "lint.sh: too many arguments (see --help)" >&2; exit 2; }
# After the arguments: --help reads "$0", which is relative to the caller's directory.
cd "$(dirname "$0")/.."
for tool in ruff clang-format codespell; do
  command -v "$tool" >/dev/null || { echo "lint.sh: $tool is missing: pip install -r requirements-test.txt" >&2; exit 2; }
done

# The C++ files are git's list; outside a checkout there is none, and clang-format without files
# would wait on its standard input.
git rev-parse --is-inside-work-tree >/dev/null 2>&1 || { echo "lint.sh: not in a git checkout" >&2; exit 2; }
mapfile -d '' cxx < <(git ls-files -z -- '*.cpp' '*.cc' '*.h')
failed=()
run() {  # run NAME COMMAND...: runs one check, remembers it when it fails
  local name=$1
  shift
  echo "== $name"
  "$@" || failed+=("$name")
}
if [ $fix -eq 1 ]; then
  run "ruff check --fix" ruff check --fix .
  run "ruff format" ruff format .
  run "clang-format -i" clang-format -i "${cxx[@]}"
else
  run "ruff check" ruff check .
  run "ruff format --check" ruff format --check .
  run "clang-format --dry-run" clang-format --dry-run --Werror "${cxx[@]}"
fi
run codespell codespell --toml pyproject.toml

if [ ${#failed[@]} -gt 0 ]; then
  echo "lint.sh: failed: ${failed[*]}" >&2
  exit 1
fi
echo "lint.sh: all clean"
