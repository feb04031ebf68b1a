"""Builds the C++ test drivers under tests/cpp with g++ (no CANN needed): the headers they test
are plain C++, so warnings are errors. DCNV3_TEST_CXX names another compiler and DCNV3_TEST_CXXFLAGS
adds flags (scripts/sanitize.sh passes its compiler and the sanitizers there)."""

import os
import shlex
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build_driver(tmp_path_factory, source, include_dirs, flags=()):
    """Compiles tests/cpp/<source> with the repository folders `include_dirs` on the include path
    and the compiler options `flags`; returns the executable."""
    exe = tmp_path_factory.mktemp(Path(source).stem) / Path(source).stem
    includes = [f"-I{ROOT / d}" for d in include_dirs]
    extra = shlex.split(os.environ.get("DCNV3_TEST_CXXFLAGS", ""))
    warnings = ["-Wall", "-Wextra", "-Werror"]
    compiler = os.environ.get("DCNV3_TEST_CXX", "g++")
    cmd = [compiler, "-std=c++17", "-O1", *warnings, *flags, *extra, *includes, str(ROOT / "tests" / "cpp" / source)]
    subprocess.run([*cmd, "-o", str(exe)], check=True)
    return exe
