#!/usr/bin/env bash
# Self-extracting DCNv3 custom operator package, written by scripts/pack_run.sh: this header,
# then a gzip'ed tar of the package (install.sh, install.help, packages/vendors/<vendor>/...).
# It checks the payload's SHA-256, extracts it into a temporary directory and runs install.sh
# there with the arguments given. Installer options work with or without a leading `--`.
# Run by another shell (`sh package.run`, dash on Debian and Ubuntu), say so before the first
# bash-only line, which would fail there with a shell's syntax error.
if [ -z "${BASH_VERSION:-}" ]; then
  echo "$0: run this package with bash: bash $0 ..." >&2
  exit 2
fi
set -euo pipefail
payload_line=@PAYLOAD_LINE@
payload_sha256=@PAYLOAD_SHA256@

payload() { tail -n "+$payload_line" "$0"; }

usage() {
  echo "Usage: $0 [--help] [--check] [--extract=DIR] [installer options]"
  echo "  --help         show this help"
  echo "  --check        check the package's SHA-256 and exit"
  echo "  --extract=DIR  extract the package into DIR without installing"
  payload | tar -xzO ./install.help
}

check() {
  local sum
  sum=$(payload | sha256sum)
  if [ "${sum%% *}" != "$payload_sha256" ]; then
    echo "$0: damaged package: the payload's SHA-256 is ${sum%% *}, expected $payload_sha256" >&2
    exit 1
  fi
}

# --check and --extract act instead of the installer: given with its options, one of them would
# be silently dropped.
alone() {  # alone OPTION ARGS...: exits unless ARGS is that option only
  local option=$1
  shift
  if [ "$#" -ne 1 ]; then
    echo "$0: $option takes no other option (got: $*)" >&2
    exit 2
  fi
}
for arg in "$@"; do
  case "$arg" in
    -h | --help) usage; exit 0 ;;
    --check) alone --check "$@"; check; exit 0 ;;
    --extract=*)
      alone --extract=DIR "$@"
      dir=${arg#--extract=}
      if [ -z "$dir" ]; then
        echo "$0: --extract= needs a directory" >&2
        exit 2
      fi
      case "$dir" in -*) dir=./$dir ;; esac  # not an option of mkdir or tar
      check
      mkdir -p -- "$dir"
      payload | tar --no-same-owner -xz -C "$dir"
      exit 0
      ;;
  esac
done
check
work=$(mktemp -d "${TMPDIR:-/tmp}/dcnv3_opp.XXXXXX")
trap 'rm -rf "$work"' EXIT
payload | tar --no-same-owner -xz -C "$work"
status=0
bash "$work/install.sh" "$@" || status=$?
exit "$status"
