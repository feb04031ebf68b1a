"""Python code run in a child process, for what a process fixes once: the kernel build that
DCNV3_CPU_ISA selects, the op registrations that DCNV3_ASCEND_FORCE_FALLBACK chooses."""

import os
import subprocess
import sys

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))


def run_python(code, timeout, **env):
    """`python -c code` with `env` added to the environment and the tests' helpers importable;
    returns the subprocess.CompletedProcess (stdout and stderr as text)."""
    path = os.pathsep.join(p for p in (TESTS_DIR, os.environ.get("PYTHONPATH", "")) if p)
    return subprocess.run(
        [sys.executable, "-c", code],
        env=dict(os.environ, PYTHONPATH=path, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
