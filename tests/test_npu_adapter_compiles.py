"""The NPU adapter (python/csrc/npu/*.cpp) compiles and links against the torch_npu release that
matches the installed torch, with no torch_npu install and no NPU.

The torch-npu wheel is downloaded once (pip download, cached under ~/.cache/dcnv3_ascend or
$DCNV3_ASCEND_CACHE) and only its headers and libtorch_npu.so are unpacked; torch_npu is never
imported. Each NPU source is compiled with the extension's flags, then linked together with the
shared argument checks using -Wl,--no-undefined: every function the adapter calls
(EXEC_NPU_CMD_EXT's helpers, GetOpApiFuncAddr, ...) must be exported by torch_npu or torch.
Without network the test is skipped, except in CI (CI=true), where it fails.
"""

import os
import platform
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
import torch
import torch.utils.cpp_extension as cpp_extension

ROOT = Path(__file__).resolve().parents[1]
TORCH_VERSION = torch.__version__.split("+")[0]
MACHINE = platform.machine()
CACHE = Path(os.environ.get("DCNV3_ASCEND_CACHE", Path.home() / ".cache" / "dcnv3_ascend"))


def unavailable(message):
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


def npu_include_dirs(npu_root):
    """What an extension needs to include op-plugin's npu_cpp_extension.h (keep setup.py in step)."""
    include = npu_root / "include"
    return [include, include / "third_party" / "acl" / "inc", include / "third_party" / "op-plugin"]


@pytest.fixture(scope="module")
def torch_npu_root():
    """torch_npu/ with include/ and lib/libtorch_npu.so of torch-npu==<installed torch version>."""
    root = CACHE / f"torch_npu-{TORCH_VERSION}-{MACHINE}"
    if (root / ".complete").exists():
        return root / "torch_npu"
    downloads = CACHE / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--platform",
        f"manylinux_2_28_{MACHINE}",
        "-d",
        str(downloads),
        f"torch-npu=={TORCH_VERSION}",
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        unavailable(f"downloading torch-npu=={TORCH_VERSION} timed out: {' '.join(command)}")
    wheels = sorted(downloads.glob(f"torch_npu-{TORCH_VERSION}-*{MACHINE}*.whl"))
    if result.returncode != 0 or not wheels:
        unavailable(
            f"could not download torch-npu=={TORCH_VERSION} (network or index unavailable?): "
            f"{' '.join(command)}\n{result.stderr[-2000:]}"
        )
    staging = CACHE / f".staging-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    with zipfile.ZipFile(wheels[-1]) as wheel:
        members = [
            m for m in wheel.namelist() if m.startswith("torch_npu/include/") or m == "torch_npu/lib/libtorch_npu.so"
        ]
        wheel.extractall(staging, members)
    (staging / ".complete").touch()
    shutil.rmtree(root, ignore_errors=True)
    staging.rename(root)
    for wheel_file in wheels:
        wheel_file.unlink()
    return root / "torch_npu"


def setup_py_std():
    """The -std the extension is built with: setup.py's extra_compile_args, else torch's default."""
    match = re.search(r'"-std=(c\+\+\d+)"', (ROOT / "setup.py").read_text())
    return match.group(1) if match else "c++20"


def compile_object(source, out_dir, include_dirs):
    obj = out_dir / (source.stem + ".o")
    command = [
        "g++",
        f"-std={setup_py_std()}",
        "-O0",
        "-fPIC",
        "-c",
        str(source),
        "-o",
        str(obj),
        "-DDCNV3_WITH_NPU=1",
        f"-D_GLIBCXX_USE_CXX11_ABI={int(torch._C._GLIBCXX_USE_CXX11_ABI)}",
    ] + [f"-I{d}" for d in include_dirs]
    result = subprocess.run(command, capture_output=True, text=True)
    errors = "\n".join(line for line in result.stderr.splitlines() if "error" in line)
    assert result.returncode == 0, f"{source.relative_to(ROOT)} does not compile against torch_npu:\n{errors}"
    return obj


def test_npu_adapter_compiles_and_links(torch_npu_root, tmp_path):
    sources = sorted((ROOT / "python" / "csrc" / "npu").glob("*.cpp"))
    assert sources, "no NPU sources in python/csrc/npu"
    include_dirs = (
        [ROOT / "op_host", ROOT / "python" / "csrc", sysconfig.get_paths()["include"]]
        + cpp_extension.include_paths()
        + npu_include_dirs(torch_npu_root)
    )
    objects = [
        compile_object(s, tmp_path, include_dirs) for s in sources + [ROOT / "python" / "csrc" / "dcnv3_args.cpp"]
    ]

    torch_lib = Path(cpp_extension.library_paths()[0])
    result = subprocess.run(
        [
            "g++",
            "-shared",
            *map(str, objects),
            "-o",
            str(tmp_path / "npu_adapter.so"),
            f"-L{torch_npu_root / 'lib'}",
            "-ltorch_npu",
            f"-L{torch_lib}",
            "-ltorch",
            "-ltorch_cpu",
            "-lc10",
            "-Wl,--no-undefined",
        ],
        capture_output=True,
        text=True,
    )
    # libtorch_npu.so's own CANN dependencies are absent here; only our undefined symbols matter.
    errors = [line for line in result.stderr.splitlines() if "needed by" not in line and line.strip()]
    assert result.returncode == 0, "the NPU adapter calls functions torch_npu/torch do not export:\n" + "\n".join(
        errors
    )

    symbols = subprocess.run(["nm", "-C", "--undefined-only", str(objects[0])], capture_output=True, text=True).stdout
    # The adapter checks for the aclnn API itself before EXEC_NPU_CMD_EXT runs.
    assert "GetOpApiFuncAddr(char const*)" in symbols
    # The backward's fp32 atomic adds make grad_input vary by rounding from run to run: the adapter
    # must tell torch.use_deterministic_algorithms, as torch's own atomic-add kernels do.
    assert "at::Context::alertNotDeterministic(" in symbols
