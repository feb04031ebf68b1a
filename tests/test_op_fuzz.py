"""The seeded op fuzz (tests/op_fuzz.py) in a subprocess: a segfault, abort or hang in the CPU
kernel fails this test (with the call that caused it) instead of killing the test run."""

import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.mark.parametrize("seed", [0, 1])
def test_cpu_kernel_and_fake_kernel_agree_on_random_calls(seed):
    try:  # the child imports dcnv3_ascend as this process does (PYTHONPATH or the installed package)
        proc = subprocess.run(
            [sys.executable, str(HERE / "op_fuzz.py"), "--seed", str(seed), "--calls", "1500"],
            capture_output=True,
            text=True,
            timeout=120,
        )
    except subprocess.TimeoutExpired as e:
        out = e.stdout or b""  # bytes even with text=True
        last = (out.decode(errors="replace") if isinstance(out, bytes) else out).strip().splitlines()[-1:]
        pytest.fail(f"the fuzz hung; last call started: {last}")
    lines = proc.stdout.strip().splitlines()
    if proc.returncode < 0:
        pytest.fail(f"the fuzz died of signal {-proc.returncode} in: {lines[-1:]}\n{proc.stderr[-2000:]}")
    disagreement = "\n".join(line for line in lines if not line.startswith("call "))
    assert proc.returncode == 0, disagreement + proc.stderr[-2000:]
    assert lines[-1].startswith("fuzz: 1500 calls agree"), lines[-1]
