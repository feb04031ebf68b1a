"""scripts/check_simulator_fidelity.sh is developer-side (it needs a fetched DrivingSDK, so CI cannot
run the comparison); CI checks that it refuses to run without a usable DrivingSDK path and that its
tiling re-derivations produce the documented struct layouts."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "check_simulator_fidelity.sh"
sys.path.insert(0, str(ROOT / "scripts" / "fidelity"))

import drivingsdk_kernels as dsdk  # noqa: E402


def test_usage_without_drivingsdk_path():
    proc = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "usage:" in proc.stderr and "--drivingsdk" in proc.stderr


@pytest.mark.parametrize("form", ["separate", "joined"])
def test_refuses_a_path_that_is_not_drivingsdk(tmp_path, form):
    option = ["--drivingsdk", str(tmp_path)] if form == "separate" else [f"--drivingsdk={tmp_path}"]
    proc = subprocess.run(
        ["bash", str(SCRIPT), *option],
        capture_output=True,
        text=True,
        # The package this test imports: the installed one in CI, an in-place build under PYTHONPATH.
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": os.environ.get("PYTHONPATH", ""), "PYTHON": sys.executable},
    )
    assert proc.returncode != 0
    assert "neither a DrivingSDK checkout" in proc.stderr + proc.stdout


def test_an_unknown_kernel_is_refused(tmp_path):
    # It ran nothing and reported "all kernels match".
    proc = subprocess.run(
        ["bash", str(SCRIPT), "--drivingsdk", str(tmp_path), "--only", "add_relu", "--only", "bogus"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": os.environ.get("PYTHONPATH", ""), "PYTHON": sys.executable},
    )
    assert proc.returncode == 2
    assert "argument --only: invalid choice: 'bogus'" in proc.stderr and "add_relu" in proc.stderr


def test_add_relu_tiling_for_a_looping_shape():
    # 800000 floats on 40 cores: 20000 per core rounded up to 64 -> 20032; the last core 18752; the
    # UB tile (196608 - 20480) / 12 = 14677 rounded up to 32 -> 14688: one whole tile and a tail.
    raw, used, core_data, tile = dsdk.add_relu_tiling(800_000)
    assert (used, core_data, tile) == (40, 20032, 14688)
    assert list(raw.view(np.uint32)) == [40, 20032, 1, 20032 - 14688, 1, 18752 - 14688, 800_000, 14688]


def test_grid_sampler_tiling_layout():
    raw, used, c_aligned = dsdk.grid_sampler_tiling(2, 16, 24, 30, 12, 20, 1, True)
    assert (used, c_aligned) == (40, 32)
    assert raw.size == 8 + 8 + 4 + 4 * 16 + 4  # int64, int64, bool (+3 pad), 16 int32, padded to 8
    head = raw[:16].view(np.int64)
    assert list(head) == [0, 1] and raw[16] == 1
    ints = raw[20 : 20 + 64].view(np.int32)
    assert list(ints[:4]) == [2, 30, 16, 24]
