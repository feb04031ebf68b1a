"""scripts/sanitize.sh: its arguments, that tests/cpp_driver.py takes DCNV3_TEST_CXX and passes
DCNV3_TEST_CXXFLAGS to the compiler, and the drivers' run itself (--drivers-only, ~15 s): the planted
bugs are caught and the C++ drivers run clean under ASan + UBSan. The simulator stage and
--extension (the torch module's op tests) take minutes: COMPILE_GUIDE.md §2."""

import os
import subprocess
from pathlib import Path

import pytest
from cpp_driver import build_driver

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "sanitize.sh"


def run(*args, timeout=60):
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout)


def test_help():
    result = run("--help")
    assert result.returncode == 0 and "Exit status" in result.stdout
    assert "--drivers-only" in result.stdout and "--extension" in result.stdout


def test_help_by_a_relative_path():
    # The script cd's to the repository; before reading its arguments, "$0" then named no file.
    result = subprocess.run(["bash", "sanitize.sh", "--help"], capture_output=True, text=True, cwd=SCRIPT.parent)
    assert result.returncode == 0 and "Exit status" in result.stdout, result.stderr


@pytest.mark.parametrize("name", ["dcnv3_rel_build", "-"])
def test_a_relative_build_dir_is_the_callers(tmp_path, name):
    # It went below the repository, which the script cd's to; '-' was cd's previous directory,
    # $OLDPWD, whose pkg/ the sanitized build would have replaced.
    result = subprocess.run(
        ["bash", str(SCRIPT), "--build-dir", name, "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "OLDPWD": str(tmp_path / "elsewhere")},
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / name).is_dir() and not (ROOT / name).exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--bogus"], "unknown argument '--bogus'"),
        (["--build-dir"], "--build-dir needs a value"),
        (["--build-dir", ""], "--build-dir needs a value"),
        # Without set -e, the failed mkdir had left the build directory empty: builds went to /pkg.
        (["--build-dir", "/proc/no/such/dir"], "cannot create --build-dir '/proc/no/such/dir'"),
        (["--extension", "--drivers-only"], "--drivers-only and --extension exclude each other"),
    ],
)
def test_bad_arguments(args, message):
    result = run(*args)
    assert result.returncode == 2 and message in result.stderr


def test_driver_flags_reach_the_compiler(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("DCNV3_TEST_CXXFLAGS", "-Wl,--no-such-linker-option")
    with pytest.raises(subprocess.CalledProcessError):
        build_driver(tmp_path_factory, "contract_shapes_main.cc", ["op_host"])


def test_driver_compiler_is_the_one_named(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("DCNV3_TEST_CXX", "no-such-compiler-dcnv3")
    with pytest.raises(FileNotFoundError, match="no-such-compiler-dcnv3"):
        build_driver(tmp_path_factory, "contract_shapes_main.cc", ["op_host"])


def test_drivers_are_clean_under_the_sanitizers():
    result = run("--drivers-only", timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "sanitize.sh: self-check 'oob' caught (AddressSanitizer)" in result.stdout
    assert "sanitize.sh: self-check 'overflow' caught (runtime error: signed integer overflow)" in result.stdout
    assert "sanitize.sh: no sanitizer reports, all tests passed" in result.stdout
