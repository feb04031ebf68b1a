#!/usr/bin/env bash
# Wraps a staged operator package (packages/vendors/<vendor>/...) into a self-extracting .run:
# scripts/run_header.sh followed by a gzip'ed tar holding the package and scripts/install.sh.
# Called by CPack (cmake/pack_run.cmake) and by the tests. Needs only bash, tar, gzip and
# sha256sum, so the package is the same whichever machine builds it (no makeself, whose
# header versions differ in how they pass options on to the installer).
#
# Usage: pack_run.sh STAGING_DIR OUTPUT_RUN
set -euo pipefail
unset CDPATH  # a cd through it prints the directory, which $(cd ...) would capture

if [ $# -ne 2 ]; then
  sed -n 8p "$0" >&2
  exit 2
fi
staging=$1
output=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

[ -d "$staging/packages/vendors" ] || { echo "pack_run.sh: $staging has no packages/vendors/" >&2; exit 1; }

install -m 755 "$here/install.sh" "$staging/install.sh"
install -m 644 "$here/install.help" "$staging/install.help"
payload=$(mktemp)
trap 'rm -f "$payload"' EXIT
tar -C "$staging" --owner=0 --group=0 --numeric-owner --sort=name -czf "$payload" .
header_lines=$(wc -l <"$here/run_header.sh")
sha=$(sha256sum "$payload")
{
  sed -e "s/@PAYLOAD_LINE@/$((header_lines + 1))/" -e "s/@PAYLOAD_SHA256@/${sha%% *}/" "$here/run_header.sh"
  cat "$payload"
} >"$output"
chmod 755 "$output"
