"""The package's own commands work with only the runtime dependencies installed (what the
README's first command installs: requirements.txt, then the package), and name the package to
install where a feature needs more.

Each command runs in a fresh interpreter in which the test-only packages cannot be imported: a
meta-path finder placed first answers every import of them with ModuleNotFoundError, exactly
what Python raises when a package is not installed. (A venv without them would have to rebuild
torch and the extension; the finder reaches the same state in a second.)"""

import subprocess
import sys

import pytest

TEST_ONLY = ("tqdm", "onnx", "onnxruntime", "onnxruntime_extensions", "onnxscript", "matplotlib", "pytest")

RUNNER = f"""
import importlib.abc, runpy, sys

class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {TEST_ONLY!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
module = sys.argv.pop(1)
sys.argv[0] = module
runpy.run_module(module, run_name="__main__", alter_sys=True)
"""


def run_without_test_packages(module, *args):
    return subprocess.run([sys.executable, "-c", RUNNER, module, *args], capture_output=True, text=True, timeout=300)


def test_the_blocker_blocks():
    result = subprocess.run([sys.executable, "-c", RUNNER, "tqdm"], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "No module named 'tqdm'" in result.stderr


@pytest.mark.parametrize(
    "module, option",
    [
        ("dcnv3_ascend.verify", "--backend"),
        ("dcnv3_ascend.bench", "--backend"),
        ("dcnv3_ascend.sim.report", "--soc"),
        ("dcnv3_ascend.demo", "--help"),
    ],
)
def test_help(module, option):
    result = run_without_test_packages(module, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage:") and option in result.stdout


def test_verify_runs_without_tqdm():
    result = run_without_test_packages(
        "dcnv3_ascend.verify", "--backend", "cpu", "--dtype", "float32", "--case", "remove_center"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASSED: 1 passed, 0 failed, 0 errors" in result.stdout


@pytest.mark.parametrize("module", ["dcnv3_ascend.verify", "dcnv3_ascend.bench"])
def test_plot_without_matplotlib_says_what_to_install_before_the_run(module, tmp_path):
    result = run_without_test_packages(module, "--backend", "cpu", "--plot", str(tmp_path / "a.png"))
    assert result.returncode == 2
    assert result.stdout == ""  # nothing ran
    assert (
        "plotting (--plot) needs the 'matplotlib' package, which is not installed: pip install matplotlib"
        in result.stderr
    )


def test_onnx_tool_without_onnx_says_what_to_install(tmp_path):
    result = run_without_test_packages("dcnv3_ascend.onnx", "--help")
    assert result.returncode == 1
    assert "dcnv3_ascend.onnx needs the 'onnx' package, which is not installed: pip install onnx" in result.stderr
