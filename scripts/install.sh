#!/usr/bin/env bash
# Installer of the DCNv3 custom operator package: the script a custom_opp_<os>_<arch>.run runs
# after extracting itself (scripts/pack_run.sh puts it there). It also works when run directly
# from an extracted package directory.
#
# It installs into <root>/vendors/<vendor>/ only, where <root> is --install-path, else the OPP
# root of $ASCEND_CUSTOM_OPP_PATH, else $ASCEND_OPP_PATH. Files are staged beside the target and
# swapped in with renames, so a failed install leaves the previous one intact. A manifest in the
# vendor directory lets --uninstall remove exactly what was installed. Installs and uninstalls
# into one vendors/ directory hold a lock on it (flock), so they run one at a time, and each
# first repairs what an interrupted one (killed, power loss) left behind. Silent unless it fails
# or --verbose is given.
set -euo pipefail
unset CDPATH  # a cd through it prints the directory, which $(cd ...) would capture
# Whatever the caller's umask (077 is common on hardened hosts, and makeself-built packages
# impose it), the operators must be readable by every user, as CANN's own packages are.
umask 022

MANIFEST=.dcnv3_install_manifest

usage() {
  cat <<'EOF'
Usage: install.sh [--] [--install-path=DIR] [--uninstall] [--verbose]
  (from the package: ./custom_opp_<os>_<arch>.run [--] [--install-path=DIR] [--uninstall] [--verbose])

  --install-path=DIR  absolute OPP root to install into; the operators go to DIR/vendors/<vendor>/
                      (default: the OPP root of $ASCEND_CUSTOM_OPP_PATH, else $ASCEND_OPP_PATH)
  --uninstall         remove what a previous install of this vendor put there
  --verbose           say what is done
After installing, `source DIR/vendors/<vendor>/bin/set_env.bash` makes CANN and torch_npu find
the operators. Installing into $ASCEND_OPP_PATH also puts the vendor first in
vendors/config.ini (load_priority).
EOF
}

die() {
  echo "install.sh: error: $*" >&2
  exit 1
}

say() {
  if [ "$verbose" = 1 ]; then echo "install.sh: $*"; fi
}

install_root=""
uninstall=0
verbose=0
for arg in "$@"; do
  case "$arg" in
    --install-path=*)
      install_root=${arg#--install-path=}
      # Empty, it would fall through to CANN's own OPP directory below.
      [ -n "$install_root" ] || die "--install-path= needs a directory"
      ;;
    --uninstall) uninstall=1 ;;
    --verbose) verbose=1 ;;
    --quiet) ;;  # makeself-style packages take --quiet; we are quiet anyway
    --) ;;       # makeself-style packages need `--` before installer options; ours takes both
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option '$arg'" ;;
  esac
done

payload_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
shopt -s nullglob
vendor_dirs=("$payload_dir"/packages/vendors/*/)
shopt -u nullglob
if [ ${#vendor_dirs[@]} -ne 1 ]; then
  die "damaged package: expected one vendor directory in $payload_dir/packages/vendors, found ${#vendor_dirs[@]}"
fi
vendor=$(basename "${vendor_dirs[0]}")
# The name is written into set_env.bash and file names: letters, digits, '_', '-' and '.' only.
if [[ ! "$vendor" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]*$ ]]; then
  die "damaged package: vendor name '$vendor' may only hold letters, digits, '_', '-' and '.'"
fi
payload="$payload_dir/packages/vendors/$vendor"

# ASCEND_CUSTOM_OPP_PATH lists vendor directories (<root>/vendors/<name>), as set_env.bash writes
# it; its first non-empty entry's OPP root is where custom operators already live. Prints nothing
# when the variable has no entry.
custom_opp_root() {
  local entry
  local entries=()
  # -d '': the whole value. A here-string was read up to its first newline only, so an entry
  # '/a<newline>b/vendors/x' installed into /a, silently; now the newline reaches the check below.
  IFS=: read -r -d '' -a entries < <(printf '%s' "${ASCEND_CUSTOM_OPP_PATH:-}") || true
  for entry in "${entries[@]}"; do
    entry=${entry%/}
    if [ -z "$entry" ]; then continue; fi
    case "$entry" in
      */vendors/*) echo "${entry%/vendors/*}" ;;
      *) echo "$entry" ;;
    esac
    return
  done
}

# Where install_root came from, for the messages: a bad environment variable must not be blamed
# on an --install-path the user never gave.
install_from=--install-path
if [ -z "$install_root" ]; then
  install_root=$(custom_opp_root)
  install_from="the OPP root of ASCEND_CUSTOM_OPP_PATH"
fi
if [ -z "$install_root" ]; then
  if [ -n "${ASCEND_OPP_PATH:-}" ]; then
    install_root=$ASCEND_OPP_PATH
    install_from=ASCEND_OPP_PATH
  else
    die "no install location: pass --install-path=DIR, or load CANN's environment (source <CANN>/ascend-toolkit/set_env.sh sets ASCEND_OPP_PATH)"
  fi
fi
case "$install_root" in
  /*) ;;
  *) die "$install_from must be an absolute path, got '$install_root'" ;;
esac
# ':' would split the entry in ASCEND_CUSTOM_OPP_PATH and LD_LIBRARY_PATH; control characters
# (a newline) have no place in a path that set_env.bash and messages print.
if [[ "$install_root" == *:* || "$install_root" == *[[:cntrl:]]* ]]; then
  die "$install_from must not contain ':' or control characters (they break ASCEND_CUSTOM_OPP_PATH), got '$install_root'"
fi
# CANN's own OPP directory exists wherever CANN is installed: a missing one is a stale environment,
# where an install made a directory tree of its own and reported success.
if [ "$install_from" = ASCEND_OPP_PATH ] && [ ! -d "$install_root" ]; then
  die "ASCEND_OPP_PATH '$install_root' is not a directory: load CANN's environment again (source <CANN>/ascend-toolkit/set_env.sh), or pass --install-path=DIR"
fi
install_root=${install_root%/}
vendors_dir="$install_root/vendors"
dest="$vendors_dir/$vendor"

# True when installing into CANN's own OPP directory, whose vendors/config.ini decides which
# vendors load and in which order.
is_default_opp() {
  [ -n "${ASCEND_OPP_PATH:-}" ] && [ -d "$ASCEND_OPP_PATH" ] &&
    [ "$(cd "$ASCEND_OPP_PATH" && pwd -P)" = "$(cd "$install_root" && pwd -P)" ]
}

# Rewrites load_priority in vendors/config.ini with our vendor first (add) or absent (remove);
# other vendors keep their order and other lines are kept. A file left without content is removed.
update_load_priority() {
  local mode=$1 ini="$vendors_dir/config.ini" current="" entry joined tmp
  local others=() order=()
  if [ -f "$ini" ]; then
    current=$(sed -n 's/^load_priority=//p' "$ini" | head -n 1)
  fi
  IFS=',' read -r -a order <<<"$current"
  for entry in "${order[@]}"; do
    if [ -n "$entry" ] && [ "$entry" != "$vendor" ]; then others+=("$entry"); fi
  done
  if [ "$mode" = add ]; then others=("$vendor" "${others[@]}"); fi
  joined=$(IFS=,; echo "${others[*]}")
  tmp=$(mktemp "$vendors_dir/.config.ini.XXXXXX")
  {
    if [ -n "$joined" ]; then echo "load_priority=$joined"; fi
    if [ -f "$ini" ]; then grep -v '^load_priority=' "$ini" || true; fi
  } >"$tmp"
  if [ -s "$tmp" ]; then
    if [ -f "$ini" ]; then chmod --reference="$ini" "$tmp"; else chmod 644 "$tmp"; fi
    mv -f "$tmp" "$ini"
  else
    rm -f "$tmp" "$ini"
  fi
}

# $1 as one shell word in single quotes: nothing in it is expanded when the word is read back.
shell_quote() {
  local s=$1
  printf "'%s'" "${s//\'/\'\\\'\'}"
}

write_set_env() {
  local vendor_dir=$1 file=$2
  cat >"$file" <<EOF
# Makes CANN and torch_npu find the DCNv3 operators of vendor '$vendor' (written by install.sh).
# Prepends, so the last package sourced has the highest priority; sourcing twice changes nothing.
_dcnv3_vendor_dir=$(shell_quote "$vendor_dir")
case ":\${ASCEND_CUSTOM_OPP_PATH:-}:" in
  *":\$_dcnv3_vendor_dir:"*) ;;
  *) export ASCEND_CUSTOM_OPP_PATH="\$_dcnv3_vendor_dir\${ASCEND_CUSTOM_OPP_PATH:+:\$ASCEND_CUSTOM_OPP_PATH}" ;;
esac
case ":\${LD_LIBRARY_PATH:-}:" in
  *":\$_dcnv3_vendor_dir/op_api/lib:"*) ;;
  *) export LD_LIBRARY_PATH="\$_dcnv3_vendor_dir/op_api/lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" ;;
esac
unset _dcnv3_vendor_dir
EOF
}

# Files (and links) below a directory, relative to it, sorted, without the manifest.
list_files() {
  (cd "$1" && find . \( -type f -o -type l \) ! -name "$MANIFEST" | sed 's#^\./##' | LC_ALL=C sort)
}

# Waits until no other install or uninstall works in vendors/ (a lock on the directory itself,
# so nothing is left behind), then repairs what an interrupted one left: with the lock held, no
# staging directory or moved-away install belongs to a running installer.
lock_and_recover() {
  command -v flock >/dev/null || die "flock (util-linux) is needed to serialise installs; install util-linux"
  { exec 9<"$vendors_dir"; } 2>/dev/null || die "cannot read $vendors_dir (no read permission for $(id -un)); nothing was changed"
  flock -w 600 9 || die "another install or uninstall in $vendors_dir has held its lock for 10 minutes; try again later"
  local old_dir
  for old_dir in "$vendors_dir/.$vendor.previous."*; do
    if [ ! -d "$old_dir" ]; then continue; fi
    if [ -e "$dest" ]; then
      rm -rf "$old_dir"
    else
      mv -T "$old_dir" "$dest"
      say "restored the install an interrupted run had moved to $old_dir"
    fi
  done
  rm -rf "$vendors_dir/.$vendor.install."* "$vendors_dir/.config.ini."*
  # An uninstall killed between removing the manifest and the directory leaves it empty.
  if [ -d "$dest" ] && [ ! -L "$dest" ]; then rmdir "$dest" 2>/dev/null || true; fi
}

do_install() {
  mkdir -p "$vendors_dir" 2>/dev/null ||
    die "cannot create $vendors_dir (not writable? choose another --install-path=DIR); nothing was changed"
  lock_and_recover
  # A vendor directory holding files but no manifest belongs to some other package.
  if [ -e "$dest" ] && [ ! -f "$dest/$MANIFEST" ] && [ -n "$(find "$dest" ! -type d -print -quit)" ]; then
    die "$dest exists but was not installed by this package; refusing to replace another package's vendor directory (build with another vendor name: scripts/build.sh --vendor NAME)"
  fi
  stage=$(mktemp -d "$vendors_dir/.$vendor.install.XXXXXX" 2>/dev/null) ||
    die "cannot write to $vendors_dir (not writable? choose another --install-path=DIR); nothing was changed"
  old=""
  trap 'rm -rf "$stage"; if [ -n "$old" ] && [ -d "$old" ] && [ ! -e "$dest" ]; then mv "$old" "$dest"; fi' EXIT
  cp -R "$payload/." "$stage/"
  mkdir -p "$stage/bin"
  write_set_env "$dest" "$stage/bin/set_env.bash"
  list_files "$stage" >"$stage/$MANIFEST"
  if [ -f "$dest/$MANIFEST" ]; then
    # Files someone else put into our vendor directory survive a re-install.
    list_files "$dest" | LC_ALL=C comm -23 - "$dest/$MANIFEST" | while IFS= read -r f; do
      if [ ! -e "$stage/$f" ]; then
        mkdir -p "$stage/$(dirname "$f")"
        cp -P "$dest/$f" "$stage/$f"
      fi
    done
  fi
  # Directories and executables 0755, other files 0644, whatever modes the payload came with.
  chmod -R u=rwX,go=rX "$stage"
  if [ -d "$dest" ]; then
    old="$vendors_dir/.$vendor.previous.$$"
    mv -T "$dest" "$old"
  fi
  mv -T "$stage" "$dest"
  if [ -n "$old" ]; then rm -rf "$old"; fi
  old=""
  trap - EXIT
  say "installed vendor '$vendor' into $dest"
  if is_default_opp; then
    update_load_priority add
    say "vendor '$vendor' is first in $vendors_dir/config.ini"
  fi
  # Quoted, so that the command can be pasted as it is printed, whatever the path holds.
  say "to use it: source $(shell_quote "$dest/bin/set_env.bash")"
}

do_uninstall() {
  [ -d "$vendors_dir" ] || die "no install of vendor '$vendor' in $install_root (no $vendors_dir)"
  lock_and_recover
  [ -f "$dest/$MANIFEST" ] || die "no install of vendor '$vendor' in $install_root (no $dest/$MANIFEST)"
  # The manifest is data, not a list of commands: remove only what it names that is a file or a
  # link below $dest, reached through real directories (find does not follow links). An entry
  # that exists as anything else ('../x', a directory, a path through a link) is refused.
  local entry doomed unknown locked
  doomed=$(grep -v '^$' "$dest/$MANIFEST" | LC_ALL=C sort -u || true)
  unknown=$(LC_ALL=C comm -23 <(echo "$doomed") <(list_files "$dest"))
  while IFS= read -r entry; do
    if [ -z "$entry" ]; then continue; fi
    case "/$entry/" in
      //* | */../*) ;;
      *) if [ ! -e "$dest/$entry" ] && [ ! -L "$dest/$entry" ]; then continue; fi ;;  # already gone
    esac
    die "$dest/$MANIFEST lists '$entry', which is not a file inside $dest; refusing to uninstall (nothing was removed)"
  done <<<"$unknown"
  locked=$(find "$dest" -type d ! -writable -print -quit)
  if [ -n "$locked" ]; then
    die "cannot remove files from $locked: $(id -un) may not write it; uninstall as its owner ($(stat -c %U "$locked")) or as root (nothing was removed)"
  fi
  # config.ini first: an uninstall killed later still has its manifest and can be run again.
  if [ -f "$vendors_dir/config.ini" ] &&
    sed -n 's/^load_priority=//p' "$vendors_dir/config.ini" | tr ',' '\n' | grep -qx "$vendor"; then
    update_load_priority remove
  fi
  LC_ALL=C comm -12 <(echo "$doomed") <(list_files "$dest") | (cd "$dest" && xargs -r -d '\n' rm -f --)
  find "$dest" -mindepth 1 -depth -type d -empty -delete
  # The manifest goes last, so that an uninstall killed before this line can be run again.
  rm -f "$dest/$MANIFEST"
  rmdir "$dest" 2>/dev/null || true
  say "removed vendor '$vendor' from $install_root"
}

if [ "$uninstall" = 1 ]; then
  do_uninstall
else
  do_install
fi
