"""scripts/lint.sh's own arguments (the lint itself runs in scripts/test.sh)."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_help_by_a_relative_path():
    # The script cd's to the repository; before reading its arguments, "$0" then named no file.
    result = subprocess.run(["bash", "lint.sh", "--help"], capture_output=True, text=True, cwd=ROOT / "scripts")
    assert result.returncode == 0 and "Exit status" in result.stdout, result.stderr
