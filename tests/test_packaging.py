"""The distribution's metadata: the wheel requires exactly the torch release its C++ extension
was compiled against (issue 12: a fresh install pulled a newer torch beside an extension built
for an older one). The simulator's CMake build keeps to MAX_JOBS."""

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import setuptools
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


@pytest.mark.parametrize("max_jobs, jobs", [("1", "1"), ("0", "cpus"), ("100000", "cpus"), ("many", "cpus")])
def test_simulator_build_keeps_to_max_jobs(tmp_path, monkeypatch, max_jobs, jobs):
    """scripts/build.sh --no-opp --jobs N sets MAX_JOBS, which the simulator's build ignored: it
    ran on every CPU. A limit, it never asks for more jobs than CPUs."""
    declared = {}
    monkeypatch.setattr(setuptools, "setup", lambda **kwargs: declared.update(kwargs))
    monkeypatch.chdir(ROOT)
    runpy.run_path(str(ROOT / "setup.py"))
    build = declared["cmdclass"]["build_ext"](setuptools.Distribution())
    build.initialize_options()
    build.build_lib = build.build_temp = str(tmp_path)
    (simulator,) = [m for m in declared["ext_modules"] if m.name == "dcnv3_ascend.sim._sim"]
    commands = []
    monkeypatch.setattr(subprocess, "check_call", commands.append)
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    monkeypatch.setenv("MAX_JOBS", max_jobs)
    build.build_extension(simulator)
    assert commands[-1][:2] == ["cmake", "--build"] and commands[-1][-2:] == ["-j", "4" if jobs == "cpus" else jobs]
