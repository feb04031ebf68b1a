"""Builds the dcnv3_ascend distribution.

Two native modules:
  dcnv3_ascend._C      torch extension: op schemas, CPU kernels and, when torch_npu is
                       importable, the NPU (PrivateUse1) adapter that calls the aclnn API.
  dcnv3_ascend.sim._sim  AscendC CPU simulator running op_kernel/*.cpp unchanged, built by
                       CMake (simulator/CMakeLists.txt) with pybind11.

DCNV3_EXTENSION_FLAGS, when set, holds extra compiler and linker flags for dcnv3_ascend._C only,
split as a shell would: scripts/sanitize.sh --extension builds it with the sanitizers that way.
"""

import glob
import importlib.util
import os
import shlex
import subprocess
import sys

import torch
from setuptools import Extension, find_packages, setup
from torch.utils.cpp_extension import BuildExtension, CppExtension

ROOT = os.path.dirname(os.path.abspath(__file__))


def torch_npu_available():
    return importlib.util.find_spec("torch_npu") is not None


def torch_extension():
    sources = sorted(glob.glob("python/csrc/*.cpp") + glob.glob("python/csrc/cpu/*.cpp"))
    include_dirs = [os.path.join(ROOT, "op_host"), os.path.join(ROOT, "python", "csrc")]
    define_macros = []
    libraries = []
    library_dirs = []
    if torch_npu_available():
        import torch_npu

        npu_root = os.path.dirname(torch_npu.__file__)
        sources += sorted(glob.glob("python/csrc/npu/*.cpp"))
        include_dirs += [
            os.path.join(npu_root, "include"),
            os.path.join(npu_root, "include", "third_party", "acl", "inc"),
            os.path.join(npu_root, "include", "third_party", "op-plugin"),
        ]
        library_dirs += [os.path.join(npu_root, "lib")]
        libraries += ["torch_npu"]
        define_macros += [("DCNV3_WITH_NPU", "1")]
    else:
        print("dcnv3_ascend: torch_npu not importable, building the CPU-only extension", file=sys.stderr)
    extra_flags = shlex.split(os.environ.get("DCNV3_EXTENSION_FLAGS", ""))
    return CppExtension(
        "dcnv3_ascend._C",
        sources,
        include_dirs=include_dirs,
        define_macros=define_macros,
        libraries=libraries,
        library_dirs=library_dirs,
        # The extra flags come last, so they may override -O3.
        extra_compile_args=["-O3", "-fopenmp", *extra_flags],
        extra_link_args=["-fopenmp", *extra_flags],
    )


class CMakeExtension(Extension):
    def __init__(self, name, source_dir):
        super().__init__(name, sources=[])
        self.source_dir = os.path.join(ROOT, source_dir)


class Build(BuildExtension):
    """torch's BuildExtension for the torch module, CMake for CMakeExtension modules."""

    def build_extension(self, ext):
        if not isinstance(ext, CMakeExtension):
            return super().build_extension(ext)
        import pybind11

        out_dir = os.path.dirname(os.path.abspath(self.get_ext_fullpath(ext.name)))
        build_dir = os.path.join(os.path.abspath(self.build_temp), ext.name)
        os.makedirs(build_dir, exist_ok=True)
        subprocess.check_call(
            [
                "cmake",
                "-S",
                ext.source_dir,
                "-B",
                build_dir,
                "-DCMAKE_BUILD_TYPE=Release",
                f"-DPython_EXECUTABLE={sys.executable}",
                f"-Dpybind11_DIR={pybind11.get_cmake_dir()}",
                f"-DCMAKE_LIBRARY_OUTPUT_DIRECTORY={out_dir}",
            ]
        )
        # MAX_JOBS, torch's limit on its extensions' build jobs (scripts/build.sh --jobs sets it),
        # holds here too: a machine short of memory must be able to build the simulator on fewer
        # jobs. A limit only: never more jobs than CPUs (make's jobserver hangs past 65536), and
        # 0, which torch reads as no limit, or text is none.
        cpus = os.cpu_count() or 2
        limit = os.environ.get("MAX_JOBS", "")
        jobs = min(int(limit), cpus) if limit.isdigit() and int(limit) > 0 else cpus
        subprocess.check_call(["cmake", "--build", build_dir, "-j", str(jobs)])


def torch_requirement():
    """torch==<the release this build compiles against>: the extension uses torch's C++ API, whose
    ABI changes between releases, so the wheel must not be installed next to another torch (as
    torchvision pins its torch). No local label: a CPU or CUDA build of that release both fit."""
    return "torch==" + torch.__version__.split("+")[0]


setup(
    install_requires=[torch_requirement(), "numpy"],
    packages=find_packages("python"),
    package_dir={"": "python"},
    ext_modules=[torch_extension(), CMakeExtension("dcnv3_ascend.sim._sim", "simulator")],
    cmdclass={"build_ext": Build},
)
