"""scripts/sanitize.sh: its planted bugs are reported (the sanitizers are live) and the C++ drivers
run clean under ASan + UBSan."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_drivers_are_clean_under_the_sanitizers():
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "sanitize.sh"), "-x"], capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "== planted heap-overflow: reported (AddressSanitizer: heap-buffer-overflow)" in result.stdout
    assert "== planted signed-overflow: reported (runtime error: signed integer overflow)" in result.stdout
    assert " passed" in result.stdout and "failed" not in result.stdout
