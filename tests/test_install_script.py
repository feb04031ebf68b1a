"""scripts/install.sh inside a real .run package (scripts/pack_run.sh with makeself from PATH): install,
idempotent re-install, uninstall removing exactly what was installed, other vendors untouched, a
failed install leaving the previous one intact, set_env.bash, and vendors/config.ini priority.

Needs makeself (Debian/Ubuntu package `makeself`); missing, the tests are skipped, or fail in CI.
A system makeself passes installer options after `--`; CANN's own makeself header takes them
directly (install.sh also accepts the extra arguments that header adds, tested below).
"""
import os
import shutil
import stat
import subprocess
import tempfile
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
    if shutil.which("makeself") is None and shutil.which("makeself.sh") is None:
        message = "makeself is not installed (apt-get install -y makeself)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    out = Path(tempfile.mkdtemp(prefix="dcnv3_pkg_"))
    out.chmod(0o755)
    runs = {}
    for version in ("1", "2"):
        staging = tmp_path_factory.mktemp(f"staging{version}")
        stage_payload(staging, version)
        run = out / f"custom_opp_v{version}.run"
        subprocess.run(["bash", str(ROOT / "scripts" / "pack_run.sh"), str(staging), str(run)], check=True,
                       capture_output=True)
        runs[version] = run
    yield runs
    shutil.rmtree(out)


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("ASCEND_CUSTOM_OPP_PATH", "ASCEND_OPP_PATH")}
    env.update(extra)
    return env


def run_package(run, *args, env=None, user=None):
    command = ["bash", str(run), "--quiet", "--", *args]
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
    assert snapshot(opp) == {**before, f"vendors/{VENDOR}/": "", f"vendors/{VENDOR}/notes/": "",
                             f"vendors/{VENDOR}/notes/mine.txt": "kept"}
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
        ["bash", "-c", f'source "{script}"; source "{script}"; echo "$ASCEND_CUSTOM_OPP_PATH"; echo "$LD_LIBRARY_PATH"'],
        capture_output=True, text=True, check=True,
        env=clean_env(ASCEND_CUSTOM_OPP_PATH="/elsewhere/vendors/x", LD_LIBRARY_PATH="/usr/lib/x")).stdout.splitlines()
    assert shown == [f"{vendor}:/elsewhere/vendors/x", f"{vendor}/op_api/lib:/usr/lib/x"]
    shown = subprocess.run(["bash", "-uc", f'source "{script}"; echo "$ASCEND_CUSTOM_OPP_PATH|$LD_LIBRARY_PATH"'],
                           capture_output=True, text=True, check=True,
                           env={k: v for k, v in clean_env().items() if k != "LD_LIBRARY_PATH"}).stdout.strip()
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


@pytest.mark.parametrize("args, env, message", [
    (["--install-path=relative/dir"], {}, "--install-path must be an absolute path, got 'relative/dir'"),
    (["--bogus"], {}, "unknown option '--bogus'"),
    ([], {}, "no install location: pass --install-path=DIR"),
])
def test_argument_errors(packages, args, env, message):
    result = run_package(packages["1"], *args, env=clean_env(**env))
    assert result.returncode == 1
    assert message in result.stderr


def test_accepts_the_arguments_canns_makeself_header_adds(tmp_path, opp):
    """CANN's header runs `install.sh --<archive> --<caller dir> [--quiet] <user options>`."""
    staging = tmp_path / "staging"
    stage_payload(staging)
    shutil.copy(ROOT / "scripts" / "install.sh", staging / "install.sh")
    result = subprocess.run(["bash", str(staging / "install.sh"), "--./custom_opp_ubuntu_aarch64.run", "--/home/me",
                             "--quiet", f"--install-path={opp}", "--verbose"], capture_output=True, text=True,
                            env=clean_env())
    assert result.returncode == 0, result.stderr
    assert f"installed vendor '{VENDOR}' into {opp}/vendors/{VENDOR}" in result.stdout
    assert vendor_files(opp) == INSTALLED
