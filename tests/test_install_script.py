"""scripts/install.sh inside a real .run package (scripts/pack_run.sh): install, idempotent
re-install, uninstall removing exactly what was installed, other vendors untouched, a failed
install leaving the previous one intact, set_env.bash, vendors/config.ini priority, and what a
hostile or unlucky user can do: shell syntax in the install path, a tampered manifest, a
restrictive umask, a kill at every step of an install or uninstall, concurrent installs.
"""

import os
import shutil
import stat
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENDOR = "dcnv3test"
# The package payload: what CPack stages under packages/vendors/<vendor>/ (contents are fakes).
PAYLOAD = {
    "op_api/lib/libcust_opapi.so": "opapi",
    "op_api/include/aclnn_dcnv3.h": "header",
    "op_impl/ai_core/tbe/op_tiling/lib/linux/x86_64/libcust_opmaster_rt2.0.so": "tiling",
    "op_proto/lib/linux/x86_64/libcust_opsproto_rt2.0.so": "proto",
    "framework/onnx/libcust_onnx_parsers.so": "plugin",
    "version.info": "custom_opp_compiler_version=8.1.RC1\n",
}
LINK = ("op_impl/ai_core/tbe/op_tiling/liboptiling.so", "lib/linux/x86_64/libcust_opmaster_rt2.0.so")
INSTALLED = sorted(list(PAYLOAD) + [LINK[0], "bin/set_env.bash", ".dcnv3_install_manifest"])


def stage_payload(staging, version="1"):
    vendor_dir = staging / "packages" / "vendors" / VENDOR
    for rel, content in PAYLOAD.items():
        path = vendor_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content + version)
    os.symlink(LINK[1], vendor_dir / LINK[0])


@pytest.fixture(scope="module")
def packages(tmp_path_factory):
    """Two .run packages of the same vendor (versions 1 and 2), world-readable."""
    out = Path(tempfile.mkdtemp(prefix="dcnv3_pkg_"))
    out.chmod(0o755)
    runs = {}
    for version in ("1", "2"):
        staging = tmp_path_factory.mktemp(f"staging{version}")
        stage_payload(staging, version)
        run = out / f"custom_opp_v{version}.run"
        subprocess.run(
            ["bash", str(ROOT / "scripts" / "pack_run.sh"), str(staging), str(run)], check=True, capture_output=True
        )
        runs[version] = run
    yield runs
    shutil.rmtree(out)


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("ASCEND_CUSTOM_OPP_PATH", "ASCEND_OPP_PATH")}
    env.update(extra)
    return env


def run_package(run, *args, env=None, user=None):
    command = ["bash", str(run), *args]
    if user is not None:
        command = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *command]
    return subprocess.run(command, capture_output=True, text=True, env=env or clean_env(), cwd="/")


def snapshot(root):
    """{relative path: file contents or '-> link target'} of everything below root."""
    result = {}
    for path in sorted(Path(root).rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            result[rel] = "-> " + os.readlink(path)
        elif path.is_file():
            result[rel] = path.read_text()
        else:
            result[rel + "/"] = ""
    return result


def vendor_files(root):
    vendor = Path(root) / "vendors" / VENDOR
    return sorted(str(p.relative_to(vendor)) for p in vendor.rglob("*") if p.is_file() or p.is_symlink())


@pytest.fixture
def opp(tmp_path):
    """An OPP root holding another vendor's package and a config.ini that lists it."""
    root = tmp_path / "opp"
    (root / "vendors" / "other" / "op_api" / "lib").mkdir(parents=True)
    (root / "vendors" / "other" / "op_api" / "lib" / "libcust_opapi.so").write_text("theirs")
    (root / "vendors" / "config.ini").write_text("load_priority=other\n")
    return root


def test_install_into_install_path(packages, opp):
    before = snapshot(opp)
    result = run_package(packages["1"], f"--install-path={opp}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "" and result.stderr.strip() == ""  # quiet by default
    assert vendor_files(opp) == INSTALLED
    vendor = opp / "vendors" / VENDOR
    assert (vendor / "op_api/lib/libcust_opapi.so").read_text() == "opapi1"
    assert os.readlink(vendor / LINK[0]) == LINK[1]
    # Nothing outside our vendor directory changed: not the other vendor, not config.ini (not the default OPP).
    after = snapshot(opp)
    assert {k: v for k, v in after.items() if not k.startswith(f"vendors/{VENDOR}")} == before


def test_reinstall_is_idempotent_and_upgrades(packages, opp):
    assert run_package(packages["1"], f"--install-path={opp}").returncode == 0
    first = snapshot(opp)
    assert run_package(packages["1"], f"--install-path={opp}").returncode == 0
    assert snapshot(opp) == first
    assert run_package(packages["2"], f"--install-path={opp}").returncode == 0
    assert (opp / "vendors" / VENDOR / "op_api/lib/libcust_opapi.so").read_text() == "opapi2"
    assert vendor_files(opp) == INSTALLED
    assert not [p for p in (opp / "vendors").iterdir() if p.name.startswith(".")]  # no staging left


def test_uninstall_removes_exactly_what_was_installed(packages, opp):
    before = snapshot(opp)
    assert run_package(packages["1"], f"--install-path={opp}").returncode == 0
    user_file = opp / "vendors" / VENDOR / "notes" / "mine.txt"
    user_file.parent.mkdir()
    user_file.write_text("kept")
    assert run_package(packages["2"], f"--install-path={opp}").returncode == 0
    assert user_file.read_text() == "kept"  # a re-install keeps files it did not install
    result = run_package(packages["2"], f"--install-path={opp}", "--uninstall")
    assert result.returncode == 0, result.stderr
    assert snapshot(opp) == {
        **before,
        f"vendors/{VENDOR}/": "",
        f"vendors/{VENDOR}/notes/": "",
        f"vendors/{VENDOR}/notes/mine.txt": "kept",
    }
    user_file.unlink()
    assert run_package(packages["2"], f"--install-path={opp}").returncode == 0
    assert run_package(packages["2"], f"--install-path={opp}", "--uninstall").returncode == 0
    assert snapshot(opp) == before


def test_uninstall_without_install_is_an_error(packages, opp):
    result = run_package(packages["1"], f"--install-path={opp}", "--uninstall")
    assert result.returncode == 1
    assert f"no install of vendor '{VENDOR}' in {opp}" in result.stderr


def test_set_env_bash(packages, opp):
    assert run_package(packages["1"], f"--install-path={opp}").returncode == 0
    vendor = opp / "vendors" / VENDOR
    script = vendor / "bin" / "set_env.bash"
    shown = subprocess.run(
        [
            "bash",
            "-c",
            f'source "{script}"; source "{script}"; echo "$ASCEND_CUSTOM_OPP_PATH"; echo "$LD_LIBRARY_PATH"',
        ],
        capture_output=True,
        text=True,
        check=True,
        env=clean_env(ASCEND_CUSTOM_OPP_PATH="/elsewhere/vendors/x", LD_LIBRARY_PATH="/usr/lib/x"),
    ).stdout.splitlines()
    assert shown == [f"{vendor}:/elsewhere/vendors/x", f"{vendor}/op_api/lib:/usr/lib/x"]
    shown = subprocess.run(
        ["bash", "-uc", f'source "{script}"; echo "$ASCEND_CUSTOM_OPP_PATH|$LD_LIBRARY_PATH"'],
        capture_output=True,
        text=True,
        check=True,
        env={k: v for k, v in clean_env().items() if k != "LD_LIBRARY_PATH"},
    ).stdout.strip()
    assert shown == f"{vendor}|{vendor}/op_api/lib"


def test_default_opp_path_gets_config_ini_priority(packages, opp):
    env = clean_env(ASCEND_OPP_PATH=str(opp))
    config = opp / "vendors" / "config.ini"
    config.write_text("load_priority=other,third\n# kept\n")
    assert run_package(packages["1"], env=env).returncode == 0
    assert vendor_files(opp) == INSTALLED
    assert config.read_text() == f"load_priority={VENDOR},other,third\n# kept\n"
    assert run_package(packages["2"], env=env).returncode == 0
    assert config.read_text() == f"load_priority={VENDOR},other,third\n# kept\n"
    config.write_text(f"load_priority=other,{VENDOR}\n")  # someone moved us back
    assert run_package(packages["2"], env=env).returncode == 0
    assert config.read_text() == f"load_priority={VENDOR},other\n"
    assert run_package(packages["2"], "--uninstall", env=env).returncode == 0
    assert config.read_text() == "load_priority=other\n"


def test_config_ini_created_and_removed_when_absent(packages, tmp_path):
    root = tmp_path / "opp"
    root.mkdir()
    env = clean_env(ASCEND_OPP_PATH=str(root))
    assert run_package(packages["1"], env=env).returncode == 0
    assert (root / "vendors" / "config.ini").read_text() == f"load_priority={VENDOR}\n"
    assert run_package(packages["1"], "--uninstall", env=env).returncode == 0
    assert snapshot(root) == {"vendors/": ""}


def test_custom_opp_path_names_the_install_root(packages, opp, tmp_path):
    """ASCEND_CUSTOM_OPP_PATH lists vendor directories (as set_env.bash writes it): install beside them."""
    custom = tmp_path / "custom"
    env = clean_env(ASCEND_CUSTOM_OPP_PATH=f"{custom}/vendors/someone:/other/vendors/x", ASCEND_OPP_PATH=str(opp))
    assert run_package(packages["1"], env=env).returncode == 0
    assert vendor_files(custom) == INSTALLED
    assert (opp / "vendors" / "config.ini").read_text() == "load_priority=other\n"


def test_failed_install_leaves_previous_install_intact(packages):
    opp = Path(tempfile.mkdtemp(prefix="dcnv3_opp_"))
    opp.chmod(0o755)
    assert run_package(packages["1"], f"--install-path={opp}").returncode == 0
    before = snapshot(opp)
    vendors = opp / "vendors"
    if os.geteuid() == 0:
        # root writes anywhere: install as an unprivileged user into root's 0755 directories instead.
        result = run_package(packages["2"], f"--install-path={opp}", user=65534)
    else:
        vendors.chmod(stat.S_IRUSR | stat.S_IXUSR)
        try:
            result = run_package(packages["2"], f"--install-path={opp}")
        finally:
            vendors.chmod(0o755)
    try:
        assert result.returncode == 1
        assert f"cannot write to {vendors}" in result.stderr and "nothing was changed" in result.stderr
        assert snapshot(opp) == before
    finally:
        shutil.rmtree(opp)


def test_refuses_a_vendor_directory_it_did_not_install(packages, opp):
    foreign = opp / "vendors" / VENDOR / "op_api" / "lib" / "libcust_opapi.so"
    foreign.parent.mkdir(parents=True)
    foreign.write_text("someone else's")
    before = snapshot(opp)
    result = run_package(packages["1"], f"--install-path={opp}")
    assert result.returncode == 1
    assert "was not installed by this package" in result.stderr and "--vendor NAME" in result.stderr
    assert snapshot(opp) == before


@pytest.mark.parametrize(
    "args, env, message",
    [
        (["--install-path=relative/dir"], {}, "--install-path must be an absolute path, got 'relative/dir'"),
        (["--bogus"], {}, "unknown option '--bogus'"),
        ([], {}, "no install location: pass --install-path=DIR"),
        # Empty, it would have installed into ASCEND_OPP_PATH.
        (["--install-path="], {"ASCEND_OPP_PATH": "/nonexistent/opp"}, "--install-path= needs a directory"),
    ],
)
def test_argument_errors(packages, args, env, message):
    result = run_package(packages["1"], *args, env=clean_env(**env))
    assert result.returncode == 1
    assert message in result.stderr


@pytest.mark.parametrize("separator", [[], ["--"], ["--quiet", "--"]])
def test_options_with_or_without_separator(packages, opp, separator):
    result = run_package(packages["1"], *separator, f"--install-path={opp}", "--verbose")
    assert result.returncode == 0, result.stderr
    assert f"installed vendor '{VENDOR}' into {opp}/vendors/{VENDOR}" in result.stdout
    assert vendor_files(opp) == INSTALLED


@pytest.mark.parametrize(
    "args, message",
    [
        (["--check", "--install-path=/x"], "--check takes no other option"),
        (["--uninstall", "--extract=/tmp/x"], "--extract=DIR takes no other option"),
        (["--extract="], "--extract= needs a directory"),
    ],
)
def test_package_options_that_would_be_dropped_are_refused(packages, args, message):
    result = run_package(packages["1"], *args, env=clean_env())
    assert result.returncode == 2 and message in result.stderr


@pytest.mark.skipif(shutil.which("dash") is None, reason="needs dash, a POSIX sh that is not bash")
def test_run_by_a_posix_shell_says_to_use_bash(packages):
    result = subprocess.run(["dash", str(packages["1"]), "--check"], capture_output=True, text=True, env=clean_env())
    assert result.returncode == 2 and "run this package with bash: bash" in result.stderr


def test_extract_into_a_directory_named_like_an_option(packages, tmp_path):
    result = subprocess.run(
        ["bash", str(packages["1"]), "--extract=-out"], capture_output=True, text=True, cwd=tmp_path, env=clean_env()
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "-out" / "install.sh").is_file()


def test_help_shows_the_installer_options(packages):
    result = run_package(packages["1"], "--help")
    assert result.returncode == 0
    for option in ("--install-path=<dir>", "--uninstall", "--verbose", "--check", "--extract=DIR"):
        assert option in result.stdout


def test_damaged_package_is_refused(packages, opp, tmp_path):
    damaged = tmp_path / "damaged.run"
    data = bytearray(packages["1"].read_bytes())
    data[-100] ^= 0xFF
    damaged.write_bytes(bytes(data))
    result = run_package(damaged, f"--install-path={opp}")
    assert result.returncode == 1 and "damaged package: the payload's SHA-256" in result.stderr
    assert not (opp / "vendors" / VENDOR).exists()


@pytest.mark.parametrize("name", ["o$(touch PWNED)dir", "o`touch PWNED`dir", 'q"uote', "s'ingle", "sp ace", "d$HOME"])
def test_install_path_is_quoted_in_set_env(packages, tmp_path, name):
    """The path is data, never code, when set_env.bash is sourced (issue 12: shell injection)."""
    root = tmp_path / name
    assert run_package(packages["1"], f"--install-path={root}").returncode == 0
    vendor = root / "vendors" / VENDOR
    shown = subprocess.run(
        ["bash", "-c", 'source "$1"; echo "$ASCEND_CUSTOM_OPP_PATH"', "-", str(vendor / "bin" / "set_env.bash")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean_env(),
    )
    assert shown.returncode == 0 and shown.stderr == ""
    assert shown.stdout.strip() == str(vendor)
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("name", ["sp ace", "s'ingle", "o$(touch PWNED)dir"])
def test_the_printed_source_command_can_be_pasted(packages, tmp_path, name):
    root = tmp_path / name
    result = run_package(packages["1"], f"--install-path={root}", "--verbose")
    assert result.returncode == 0, result.stderr
    (command,) = [line.split("to use it: ", 1)[1] for line in result.stdout.splitlines() if "to use it: " in line]
    shown = subprocess.run(
        ["bash", "-c", command + '; echo "$ASCEND_CUSTOM_OPP_PATH"'],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean_env(),
    )
    assert shown.returncode == 0 and shown.stderr == ""
    assert shown.stdout.strip() == str(root / "vendors" / VENDOR)
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("name", ["a:b", "new\nline"])
def test_install_path_that_would_split_path_lists_is_refused(packages, tmp_path, name):
    result = run_package(packages["1"], f"--install-path={tmp_path / name}")
    assert result.returncode == 1
    assert "--install-path must not contain ':' or control characters" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "env, message",
    [
        ({"ASCEND_OPP_PATH": "relative/opp"}, "ASCEND_OPP_PATH must be an absolute path, got 'relative/opp'"),
        # A stale environment: the install made this directory tree and reported success.
        ({"ASCEND_OPP_PATH": "{tmp}/gone/opp"}, "ASCEND_OPP_PATH '{tmp}/gone/opp' is not a directory"),
        (
            {"ASCEND_CUSTOM_OPP_PATH": "relative/vendors/x"},
            "the OPP root of ASCEND_CUSTOM_OPP_PATH must be an absolute path, got 'relative'",
        ),
        # Read up to its newline only, this entry had installed into {tmp}/a, silently.
        (
            {"ASCEND_CUSTOM_OPP_PATH": "{tmp}/a\nb/vendors/x"},
            "the OPP root of ASCEND_CUSTOM_OPP_PATH must not contain ':' or control characters",
        ),
    ],
)
def test_a_bad_install_location_from_the_environment_is_named(packages, tmp_path, env, message):
    env = {name: value.format(tmp=tmp_path) for name, value in env.items()}
    result = subprocess.run(
        ["bash", str(packages["1"])], capture_output=True, text=True, env=clean_env(**env), cwd=tmp_path
    )
    assert result.returncode == 1
    assert message.format(tmp=tmp_path) in result.stderr and "--install-path must" not in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("custom", ["", ":", "::/"])
def test_empty_custom_opp_path_counts_as_unset(packages, opp, custom):
    result = run_package(packages["1"], env=clean_env(ASCEND_CUSTOM_OPP_PATH=custom, ASCEND_OPP_PATH=str(opp)))
    assert result.returncode == 0, result.stderr
    assert vendor_files(opp) == INSTALLED


@pytest.mark.parametrize(
    "entry",
    [
        "../outside.txt",  # climbs out of the vendor directory
        "{opp}/vendors/outside.txt",  # absolute
        "escape/outside.txt",  # through a link to a directory outside
        "op_api/./../../outside.txt",
        "op_api",  # a directory, not a file
    ],
)
def test_uninstall_refuses_a_manifest_entry_outside_the_vendor_directory(packages, opp, entry):
    assert run_package(packages["1"], f"--install-path={opp}").returncode == 0
    vendor = opp / "vendors" / VENDOR
    outside = opp / "vendors" / "outside.txt"
    outside.write_text("not ours")
    os.symlink(opp / "vendors", vendor / "escape")
    manifest = vendor / ".dcnv3_install_manifest"
    manifest.write_text(manifest.read_text() + entry.format(opp=opp) + "\n")
    before = snapshot(opp)
    result = run_package(packages["1"], f"--install-path={opp}", "--uninstall")
    assert result.returncode == 1
    assert "which is not a file inside" in result.stderr and "nothing was removed" in result.stderr
    assert snapshot(opp) == before and outside.read_text() == "not ours"


def test_uninstall_skips_empty_manifest_lines(packages, opp):
    before = snapshot(opp)
    assert run_package(packages["1"], f"--install-path={opp}").returncode == 0
    manifest = opp / "vendors" / VENDOR / ".dcnv3_install_manifest"
    lines = manifest.read_text().splitlines()
    manifest.write_text("\n".join(lines[:2] + ["", ""] + lines[2:]))  # and no final newline
    result = run_package(packages["1"], f"--install-path={opp}", "--uninstall")
    assert result.returncode == 0, result.stderr
    assert snapshot(opp) == before


def modes(root):
    return {
        str(p.relative_to(root)): stat.S_IMODE(p.lstat().st_mode) for p in Path(root).rglob("*") if not p.is_symlink()
    }


def test_installed_files_are_readable_by_everyone_under_a_restrictive_umask(tmp_path):
    """makeself-style umask 077, and payload files with odd modes: dirs 0755, files 0644/0755."""
    staging = tmp_path / "staging"
    stage_payload(staging)
    payload = staging / "packages" / "vendors" / VENDOR
    (payload / "version.info").chmod(0o600)
    (payload / "op_api" / "lib" / "libcust_opapi.so").chmod(0o775)
    (payload / "op_api").chmod(0o700)
    run = tmp_path / "pkg.run"
    subprocess.run(["bash", str(ROOT / "scripts" / "pack_run.sh"), str(staging), str(run)], check=True)
    root = tmp_path / "new" / "root"
    result = subprocess.run(
        ["bash", "-c", 'umask 077; exec bash "$0" "$1"', str(run), f"--install-path={root}"],
        capture_output=True,
        text=True,
        env=clean_env(),
    )
    assert result.returncode == 0, result.stderr
    got = modes(tmp_path / "new")
    want = {p: 0o755 for p in got if (tmp_path / "new" / p).is_dir()}
    want.update({p: 0o644 for p in got if (tmp_path / "new" / p).is_file()})
    want[f"root/vendors/{VENDOR}/op_api/lib/libcust_opapi.so"] = 0o755
    assert got == want


def test_config_ini_keeps_its_mode(packages, opp):
    config = opp / "vendors" / "config.ini"
    config.chmod(0o640)
    env = clean_env(ASCEND_OPP_PATH=str(opp))
    assert run_package(packages["1"], env=env).returncode == 0
    assert config.read_text() == f"load_priority={VENDOR},other\n"
    assert stat.S_IMODE(config.stat().st_mode) == 0o640
    assert run_package(packages["1"], "--uninstall", env=env).returncode == 0
    assert stat.S_IMODE(config.stat().st_mode) == 0o640


def test_uninstall_without_write_permission_says_what_is_needed(packages):
    opp = Path(tempfile.mkdtemp(prefix="dcnv3_opp_"))
    opp.chmod(0o755)
    try:
        assert run_package(packages["1"], f"--install-path={opp}").returncode == 0
        before = snapshot(opp)
        vendor = opp / "vendors" / VENDOR
        if os.geteuid() == 0:
            result = run_package(packages["1"], f"--install-path={opp}", "--uninstall", user=65534)
        else:
            (vendor / "op_api" / "lib").chmod(0o555)
            try:
                result = run_package(packages["1"], f"--install-path={opp}", "--uninstall")
            finally:
                (vendor / "op_api" / "lib").chmod(0o755)
        assert result.returncode == 1
        assert "cannot remove files from" in result.stderr and "uninstall as its owner" in result.stderr
        assert "nothing was removed" in result.stderr
        assert snapshot(opp) == before
    finally:
        shutil.rmtree(opp)


def test_unreadable_vendors_directory_is_named(packages):
    opp = Path(tempfile.mkdtemp(prefix="dcnv3_opp_"))
    opp.chmod(0o755)
    vendors = opp / "vendors"
    vendors.mkdir(mode=0o711)
    vendors.chmod(0o711)
    try:
        if os.geteuid() == 0:
            result = run_package(packages["1"], f"--install-path={opp}", user=65534)
        else:
            vendors.chmod(0o311)
            result = run_package(packages["1"], f"--install-path={opp}")
        assert result.returncode == 1
        assert (
            f"cannot read {vendors} (no read permission for" in result.stderr and "nothing was changed" in result.stderr
        )
    finally:
        shutil.rmtree(opp)


@pytest.fixture(scope="module")
def extracted(packages, tmp_path_factory):
    """The two packages extracted: install.sh can then run with a DEBUG trap of its own."""
    dirs = {}
    for version, run in packages.items():
        dirs[version] = tmp_path_factory.mktemp(f"extracted{version}")
        assert run_package(run, f"--extract={dirs[version]}").returncode == 0
    return dirs


def run_killed_at(script, step, *args, env, tmp_path):
    """Runs install.sh with a DEBUG trap (BASH_ENV) that SIGKILLs it before its `step`-th command
    (counted in the main shell and its subshells alike). True when it was killed."""
    hook = tmp_path / "kill_hook.sh"
    hook.write_text(
        "set -o functrace\n_kill_steps=0\n"
        "trap '_kill_steps=$((_kill_steps + 1)); "
        'if [ "$_kill_steps" = "$KILL_AT_STEP" ]; then kill -KILL $$; fi\' DEBUG\n'
    )
    result = run_script(script, *args, env=dict(env, BASH_ENV=str(hook), KILL_AT_STEP=str(step)))
    assert result.returncode in (0, -9), result.stderr
    return result.returncode == -9


def assert_no_leftovers(opp):
    assert [p.name for p in (opp / "vendors").iterdir() if p.name.startswith(".")] == []
    assert not [p for p in (opp / "vendors" / VENDOR).iterdir() if p.name.startswith(f".{VENDOR}")]


def run_script(script, *args, env=None):
    """install.sh of an extracted package, run directly (faster than the .run)."""
    return subprocess.run(
        ["bash", str(script / "install.sh"), *args], capture_output=True, text=True, env=env or clean_env()
    )


def test_rerun_restores_an_install_moved_aside_and_removes_stale_staging(packages, opp):
    """What a kill between the two renames of an install leaves: no vendor directory, the previous
    install under .<vendor>.previous.<pid>, a staging directory. The next run repairs it first."""
    assert run_package(packages["1"], f"--install-path={opp}").returncode == 0
    want = snapshot(opp)
    vendors = opp / "vendors"
    (vendors / VENDOR).rename(vendors / f".{VENDOR}.previous.4242")
    (vendors / f".{VENDOR}.install.abc123" / "op_api").mkdir(parents=True)
    result = run_package(packages["1"], f"--install-path={opp}", "--uninstall", "--verbose")
    assert result.returncode == 0, result.stderr
    assert f"restored the install an interrupted run had moved to {vendors}/.{VENDOR}.previous.4242" in result.stdout
    assert run_package(packages["1"], f"--install-path={opp}").returncode == 0
    assert snapshot(opp) == want


def test_a_kill_at_any_step_of_an_install_is_repaired_by_the_next_run(extracted, opp, tmp_path):
    """SIGKILL before each command of install.sh in turn, upgrading from one version to the other
    in the default OPP (so config.ini is rewritten too): a re-run installs the new version exactly
    as an uninterrupted install does, leaving no staging or moved-away directory behind."""
    env = clean_env(ASCEND_OPP_PATH=str(opp))
    want = {}
    for version in ("1", "2"):
        assert run_script(extracted[version], env=env).returncode == 0
        want[version] = snapshot(opp)
    step = 0
    while True:
        step += 1
        assert step < 400, "install.sh never finished"
        version = "21"[step % 2]  # the other one is installed
        if not run_killed_at(extracted[version], step, env=env, tmp_path=tmp_path):
            break
        result = run_script(extracted[version], env=env)
        assert result.returncode == 0, f"step {step}: {result.stderr}"
        assert snapshot(opp) == want[version], f"re-run after a kill at step {step}"
        assert_no_leftovers(opp)
    assert step > 20  # the hook really walked through the script


def test_a_kill_at_any_step_of_an_uninstall_is_repaired_by_the_next_run(extracted, opp, tmp_path):
    env = clean_env(ASCEND_OPP_PATH=str(opp))
    pristine = snapshot(opp)
    installed = tmp_path / "installed"
    assert run_script(extracted["1"], env=env).returncode == 0
    shutil.copytree(opp, installed, symlinks=True)
    step = 0
    while True:
        step += 1
        assert step < 400, "install.sh --uninstall never finished"
        shutil.rmtree(opp)
        shutil.copytree(installed, opp, symlinks=True)  # as installed, faster than installing
        if not run_killed_at(extracted["1"], step, "--uninstall", env=env, tmp_path=tmp_path):
            break
        result = run_script(extracted["1"], "--uninstall", env=env)
        assert result.returncode == 0 or "no install of vendor" in result.stderr, f"step {step}: {result.stderr}"
        assert snapshot(opp) == pristine, f"uninstall after a kill at step {step}"
    assert snapshot(opp) == pristine and step > 20


def test_concurrent_installs_are_serialised(packages, opp):
    """Rounds of 4 installs of two versions at once: every round ends with one complete version
    installed and nothing left beside or inside the vendor directory."""
    with ThreadPoolExecutor(4) as pool:
        for _ in range(6):
            runs = [packages["1"], packages["2"], packages["1"], packages["2"]]
            results = list(pool.map(lambda run: run_package(run, f"--install-path={opp}"), runs))
            assert [r.returncode for r in results] == [0] * 4, [r.stderr for r in results]
            assert vendor_files(opp) == INSTALLED
            versions = {
                c[-1]
                for rel, c in snapshot(opp / "vendors" / VENDOR).items()
                if c and not c.startswith("->") and rel in PAYLOAD
            }
            assert len(versions) == 1
            assert_no_leftovers(opp)
