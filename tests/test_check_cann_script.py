"""scripts/check_cann.sh without CANN (CI has none): its argument errors and the message when no
toolkit is given, and, with a stand-in toolkit tree and a stand-in compiler that logs its calls,
which files it checks in which modes and how it reports a failure. The real check needs an
installed CANN: `scripts/check_cann.sh --cann <toolkit root>` (COMPILE_GUIDE.md, section 2)."""

import os
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "check_cann.sh"


def run(*args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if k != "ASCEND_HOME_PATH"}
    env.update(env_extra or {})
    return subprocess.run(
        ["bash", str(SCRIPT), *map(str, args)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )


@pytest.fixture
def toolkit(tmp_path):
    """An empty tree with the layout of an installed toolkit (x86_64 only)."""
    root = tmp_path / "toolkit"
    for sub in ("x86_64-linux/include", "x86_64-linux/ascendc/include", "tools/tikicpulib/lib/include"):
        (root / sub).mkdir(parents=True)
        (root / sub / "stub.h").write_text("")  # the script wants headers in each
    return root


def test_a_toolkit_without_headers_is_no_toolkit(toolkit, compiler):
    for header in toolkit.rglob("*.h"):
        header.unlink()
    result = run("--cann", toolkit, "op_host/dcnv3.cpp", env_extra={"CXX": str(compiler[0])})
    assert result.returncode == 2
    assert "is not an installed CANN toolkit" in result.stderr and "has no headers" in result.stderr


def test_files_through_a_symlinked_checkout(toolkit, compiler, tmp_path):
    link = tmp_path / "checkout"
    link.symlink_to(ROOT)
    result = subprocess.run(
        ["bash", str(link / "scripts" / "check_cann.sh"), "--cann", str(toolkit), str(ROOT / "op_host" / "dcnv3.cpp")],
        capture_output=True,
        text=True,
        env={**os.environ, "CXX": str(compiler[0])},
        cwd=link,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


@pytest.fixture
def compiler(tmp_path):
    """A stand-in g++ that logs 'file mode-defines' per call and fails for files named in FAIL_ON."""
    log = tmp_path / "calls.log"
    exe = tmp_path / "fake-g++"
    exe.write_text(f"""#!/usr/bin/env bash
file="${{@: -1}}"
modes='^-D(OP_PROTO_LIB|OP_TILING_LIB|ASCENDC_CPU_DEBUG=1|google=ascend_private)$'
defines=$(printf '%s\\n' "$@" | grep -E "$modes" | tr '\\n' ' ')
echo "$file $defines" >> {log}
case " $FAIL_ON " in *" $(basename "$file") "*) echo "$file:1:1: error: made-up error" >&2; exit 1;; esac
""")
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return exe, log


def test_help():
    result = run("--help")
    assert result.returncode == 0
    assert "Usage: scripts/check_cann.sh [--cann DIR]" in result.stdout and "ASCEND_HOME_PATH" in result.stdout


def test_no_cann_says_how_to_give_one():
    result = run()
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "check_cann.sh: no CANN toolkit given: set ASCEND_HOME_PATH (source <CANN>/set_env.sh) or pass --cann DIR"
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["--cann"], "--cann needs a directory"),
        (["--frobnicate"], "unknown option '--frobnicate' (see --help)"),
        (["--cann", "/nonexistent/cann"], "--cann / ASCEND_HOME_PATH '/nonexistent/cann' is not a directory"),
        (["--cann", "/tmp", "--arch", "riscv"], "--arch must be aarch64 or x86_64, got 'riscv'"),
    ],
)
def test_argument_errors(args, message):
    result = run(*args)
    assert result.returncode == 2
    assert result.stderr.strip() == f"check_cann.sh: {message}"


def test_a_directory_that_is_no_toolkit(tmp_path):
    result = run("--cann", tmp_path)
    assert result.returncode == 2
    assert (
        f"'{tmp_path}' is not an installed CANN toolkit: {tmp_path}/aarch64-linux/include is missing" in result.stderr
    )


def test_ascend_home_path_is_the_default(toolkit, compiler):
    exe, _ = compiler
    result = run(
        "framework/onnx_plugin/dcnv3_onnx_plugin.cc",
        env_extra={"ASCEND_HOME_PATH": str(toolkit), "CXX": str(exe), "FAIL_ON": ""},
    )
    assert result.returncode == 0, result.stderr
    assert f"check_cann.sh: 1 passed, 0 failed (CANN at {toolkit}, x86_64-linux)" in result.stdout


def test_every_cann_facing_file_in_its_modes(toolkit, compiler):
    exe, log = compiler
    result = run("--cann", toolkit, env_extra={"CXX": str(exe), "FAIL_ON": ""})
    assert result.returncode == 0, result.stdout + result.stderr
    calls = [line.split(" ", 1) for line in log.read_text().splitlines()]
    modes = {}
    for file, defines in calls:
        modes.setdefault(str(Path(file).relative_to(ROOT)), []).append(defines.strip())
    host = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "op_host").glob("*.cpp"))
    kernels = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "op_kernel").glob("*.cpp"))
    plugin = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "framework" / "onnx_plugin").glob("*.cc"))
    selftest = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "simulator" / "selftest").glob("*.cpp"))
    assert host and kernels and plugin and selftest
    assert sorted(modes) == sorted(host + kernels + plugin + selftest)
    for file in host:
        assert sorted(modes[file]) == ["", "-DOP_PROTO_LIB", "-DOP_TILING_LIB"]
    for file in kernels + selftest:
        assert modes[file] == ["-DASCENDC_CPU_DEBUG=1"]
    for file in plugin:
        assert modes[file] == ["-Dgoogle=ascend_private"]
    assert f"check_cann.sh: {len(calls)} passed, 0 failed" in result.stdout


def test_a_failure_is_reported_with_the_compiler_error(toolkit, compiler):
    exe, _ = compiler
    result = run(
        "--cann",
        toolkit,
        "op_kernel/dcnv3.cpp",
        "framework/onnx_plugin/dcnv3_onnx_plugin.cc",
        env_extra={"CXX": str(exe), "FAIL_ON": "dcnv3.cpp"},
    )
    assert result.returncode == 1
    assert "FAIL op_kernel/dcnv3.cpp (kernel)" in result.stdout
    assert "error: made-up error" in result.stdout
    assert "check_cann.sh: 1 passed, 1 failed" in result.stdout


def test_files_outside_the_checked_folders_are_refused(toolkit, compiler):
    exe, _ = compiler
    result = run("--cann", toolkit, "setup.py", env_extra={"CXX": str(exe)})
    assert result.returncode == 2
    assert "setup.py is not in op_host/, op_kernel/, framework/onnx_plugin/ or simulator/selftest/" in result.stderr
