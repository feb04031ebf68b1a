"""The distribution's metadata: the wheel requires exactly the torch release its C++ extension
was compiled against (issue 12: a fresh install pulled a newer torch beside an extension built
for an older one)."""

import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_pins_the_torch_it_was_built_with(tmp_path):
    subprocess.run(
        [sys.executable, "setup.py", "-q", "egg_info", "--egg-base", str(tmp_path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (requires,) = tmp_path.glob("*.egg-info/requires.txt")
    release = torch.__version__.split("+")[0]
    install_requires = requires.read_text().split("\n[")[0].split()  # before the extras' sections
    assert install_requires == [f"torch=={release}", "numpy"]
