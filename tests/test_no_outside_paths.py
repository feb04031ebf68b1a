"""Nothing in the repository points at a file outside it (a developer's checkout layout, a
scratch directory), so every documented command and script works from a fresh clone."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# A sibling checkout (dot-dot-slash shared) or the development machine's work directory.
# (Split so that this file does not match itself.)
OUTSIDE = re.compile(r"\.\./shared\b|(?<![\w.])/" + "work/")


def test_no_file_refers_to_a_path_outside_the_repository():
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    offenders = []
    for name in filter(None, tracked.decode().split("\0")):
        path = ROOT / name
        if not path.is_file() or path.suffix in {".png", ".run"}:
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if OUTSIDE.search(line):
                offenders.append(f"{name}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
