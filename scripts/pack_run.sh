#!/usr/bin/env bash
# Wraps a staged operator package (packages/vendors/<vendor>/...) into a self-extracting .run
# that runs scripts/install.sh. Called by CPack (cmake/makeself.cmake) and by the tests.
#
# Usage: pack_run.sh STAGING_DIR OUTPUT_RUN [CANN_ROOT]
# makeself comes from the CANN toolkit at CANN_ROOT when given (its header forwards installer
# options such as --install-path=DIR directly), else from PATH (`makeself` or `makeself.sh`, e.g.
# the Debian/Ubuntu package makeself; then installer options follow `--`).
set -euo pipefail

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
  sed -n 5,9p "$0" >&2
  exit 2
fi
staging=$1
output=$2
cann=${3:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

[ -d "$staging/packages/vendors" ] || { echo "pack_run.sh: $staging has no packages/vendors/" >&2; exit 1; }

makeself=()
cann_makeself="$cann/tools/op_project_templates/ascendc/customize/cmake/util/makeself"
if [ -n "$cann" ] && [ -f "$cann_makeself/makeself.sh" ]; then
  makeself=(bash "$cann_makeself/makeself.sh" --header "$cann_makeself/makeself-header.sh")
elif command -v makeself >/dev/null; then
  makeself=(makeself)
elif command -v makeself.sh >/dev/null; then
  makeself=(makeself.sh)
else
  echo "pack_run.sh: makeself not found: neither in a CANN toolkit (${cann:-none given}) nor on PATH;" \
       "install it (apt-get install makeself, or yum install makeself) or pass the CANN root" >&2
  exit 1
fi

install -m 755 "$here/install.sh" "$staging/install.sh"
install -m 644 "$here/install.help" "$staging/install.help"
vendor=$(basename "$(find "$staging/packages/vendors" -mindepth 1 -maxdepth 1 -type d | head -n 1)")
"${makeself[@]}" --gzip --complevel 4 --nomd5 --sha256 --nox11 --quiet \
  --help-header "$staging/install.help" \
  "$staging" "$output" "DCNv3 custom operator package (vendor $vendor)" ./install.sh
