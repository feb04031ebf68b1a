"""Compile an AscendC kernel source that is not part of this project unchanged against the
simulator's kernel_operator.h, and run it on simulated cores with given GM buffers, tiling bytes
and block_dim.

    kernel = build_kernel("add_relu.cpp", entry="add_relu", tiling_struct="AddReluTilingData",
                          tiling_headers=["add_relu_tiling.h"], defines={"DTYPE_X": "float"})
    result = kernel.run([x, y, x, None, tiling], block_dim=8, strict=False)

The buffers are numpy arrays (modified in place) in the kernel's argument order; None passes a
null pointer (an unused workspace). `pack_tiling` lays out tiling fields the way the device
compiler lays out the struct that BEGIN_TILING_DATA_DEF declares (natural alignment, size a
multiple of 8). Building needs a C++17 compiler (`c++`, or $CXX); the shared library is cached in
`build_dir` by a hash of the sources and options.

A rule the kernel breaks raises SimulatorError ("[rule] core N: ..."); bad arguments ValueError.
See simulator/README.md ("External kernels", "Rule classes").
"""

import ctypes
import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._sim import SimulatorError

__all__ = ["ExternalKernel", "RunResult", "build_kernel", "pack_tiling", "simulator_root"]

_CTYPES = {
    "int8_t": "b",
    "uint8_t": "B",
    "bool": "?",
    "int16_t": "h",
    "uint16_t": "H",
    "int32_t": "i",
    "uint32_t": "I",
    "int64_t": "q",
    "uint64_t": "Q",
    "float": "f",
    "double": "d",
}


def simulator_root():
    """The simulator/ directory of the source tree this package was built from (or $DCNV3_SIM_ROOT)."""
    env = os.environ.get("DCNV3_SIM_ROOT")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve()
    candidates += [p / "simulator" for p in here.parents] + [Path.cwd() / "simulator"]
    for c in candidates:
        if (c / "include" / "kernel_operator.h").is_file():
            return c
    raise FileNotFoundError(
        "simulator/include/kernel_operator.h not found; run from the source tree or set "
        "DCNV3_SIM_ROOT to its simulator/ directory"
    )


def pack_tiling(fields):
    """Bytes of a tiling struct from [(c_type, value), ...] in declaration order: each field at a
    multiple of its size, the total padded to a multiple of 8 (CANN's tiling data is 8-aligned)."""
    out = bytearray()
    for ctype, value in fields:
        if ctype not in _CTYPES:
            raise ValueError(f"tiling field type must be one of {sorted(_CTYPES)}, got {ctype!r}")
        arr = np.array([value], dtype=np.dtype(_CTYPES[ctype]))
        size = arr.itemsize
        out += bytes(-len(out) % size)
        out += arr.tobytes()
    out += bytes(-len(out) % 8)
    return np.frombuffer(bytes(out), dtype=np.uint8).copy()


class _Launch(ctypes.Structure):
    _fields_ = [
        ("arg_count", ctypes.c_int64),
        ("args", ctypes.POINTER(ctypes.c_void_p)),
        ("arg_bytes", ctypes.POINTER(ctypes.c_uint64)),
        ("arg_names", ctypes.POINTER(ctypes.c_char_p)),
        ("block_dim", ctypes.c_int64),
        ("soc", ctypes.c_char_p),
        ("strict", ctypes.c_int32),
        ("check_pipe_hazards", ctypes.c_int32),
        ("tiling_key", ctypes.c_uint64),
    ]


@dataclass
class RunResult:
    warnings: list = field(default_factory=list)  # "[rule] Nx, first: core C: message"


class ExternalKernel:
    """A compiled external kernel; `run` launches it."""

    def __init__(self, library, arg_names):
        self.library = Path(library)
        self.arg_names = list(arg_names)
        self._lib = ctypes.CDLL(str(self.library))
        self._run = self._lib.sim_external_run
        self._run.restype = ctypes.c_int
        self._run.argtypes = [
            ctypes.POINTER(_Launch),
            ctypes.c_char_p,
            ctypes.c_uint64,
            ctypes.c_char_p,
            ctypes.c_uint64,
        ]

    def run(self, buffers, block_dim, soc="Ascend910B3", strict=True, check_pipe_hazards=True, tiling_key=0):
        if len(buffers) != len(self.arg_names):
            raise ValueError(
                f"buffers: the kernel takes {len(self.arg_names)} GM arguments "
                f"({', '.join(self.arg_names)}), got {len(buffers)}"
            )
        for name, b in zip(self.arg_names, buffers):
            if b is not None and not (isinstance(b, np.ndarray) and b.flags.c_contiguous and b.flags.writeable):
                raise ValueError(f"buffer {name} must be a writeable C-contiguous numpy array or None")
        n = len(buffers)
        ptrs = (ctypes.c_void_p * n)(*[None if b is None else b.ctypes.data for b in buffers])
        sizes = (ctypes.c_uint64 * n)(*[0 if b is None else b.nbytes for b in buffers])
        names = (ctypes.c_char_p * n)(*[s.encode() for s in self.arg_names])
        req = _Launch(
            n,
            ptrs,
            sizes,
            names,
            int(block_dim),
            soc.encode(),
            int(bool(strict)),
            int(bool(check_pipe_hazards)),
            int(tiling_key),
        )
        error = ctypes.create_string_buffer(4096)
        warnings = ctypes.create_string_buffer(65536)
        code = self._run(ctypes.byref(req), error, len(error), warnings, len(warnings))
        if code == 1:
            raise SimulatorError(error.value.decode())
        if code != 0:
            raise ValueError(error.value.decode())
        return RunResult([w for w in warnings.value.decode().splitlines() if w])


def build_kernel(
    source,
    entry,
    arg_names,
    build_dir,
    tiling_struct=None,
    tiling_headers=(),
    include_dirs=(),
    defines=None,
    compiler=None,
    opt="-O1",
):
    """Compiles `source` (an AscendC kernel .cpp) with entry function `entry` taking the GM
    arguments `arg_names` into a shared library under `build_dir` and returns an ExternalKernel.
    Compiler errors raise RuntimeError with the compiler's output."""
    root = simulator_root()
    source = Path(source).resolve()
    if not source.is_file():
        raise ValueError(f"source: no such kernel file {source}")
    headers = [Path(h).resolve() for h in tiling_headers]
    defines = dict(defines or {})
    compiler = compiler or os.environ.get("CXX") or shutil.which("c++") or "g++"
    lines = ['#include "sim/external_kernel.h"']
    if tiling_struct:
        lines.append(f"#define SIM_TILING_STRUCT {tiling_struct}")
    lines += [f'#include "{h}"' for h in headers]
    # The entry is renamed while the kernel is compiled: an extern "C" name like DrivingSDK's
    # `hypot` would otherwise clash with the C library function the simulator's headers declare.
    lines += [
        f"#define {entry} sim_external_entry_{entry}",
        f'#include "{source}"',
        f"#undef {entry}",
        f"SIM_EXTERNAL_KERNEL_ENTRY(&sim_external_entry_{entry})",
        "",
    ]
    unit = "\n".join(lines)
    flags = [
        "-std=c++17",
        opt,
        "-shared",
        "-fPIC",
        "-pthread",
        "-fno-strict-aliasing",
        "-w",
        # The CANN CPU-debug build defines __CCE_KT_TEST__: kernels hide their <<<>>> launch
        # stubs behind it.
        "-D__CCE_KT_TEST__=1",
    ]
    flags += [f"-D{k}={v}" for k, v in sorted(defines.items())]
    # op_host/ holds the SoC table the simulator's soc_table.h reads.
    incs = [root / "include", root / "src", root / "external_include", root.parent / "op_host", source.parent]
    incs += [Path(d).resolve() for d in include_dirs] + sorted({h.parent for h in headers})
    flags += [f"-I{d}" for d in incs]
    digest = hashlib.sha256()
    for part in [unit, compiler, *flags]:
        digest.update(part.encode())
    for f in sorted(
        {
            source,
            *headers,
            *root.glob("include/**/*.h"),
            *root.glob("src/*.h"),
            root.parent / "op_host" / "dcnv3_soc_table.h",
            *source.parent.glob("*.h"),
        }
    ):
        digest.update(f.read_bytes())
    build_dir = Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    tag = digest.hexdigest()[:16]
    library = build_dir / f"{entry}_{tag}.so"
    if not library.exists():
        unit_path = build_dir / f"{entry}_{tag}.cpp"
        unit_path.write_text(unit)
        tmp = build_dir / f"{entry}_{tag}.so.tmp"
        proc = subprocess.run([compiler, *flags, str(unit_path), "-o", str(tmp)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"compiling {source.name} against the simulator failed:\n{proc.stderr[-6000:]}")
        tmp.replace(library)
    return ExternalKernel(library, arg_names)
