"""The external-kernel harness (dcnv3_ascend.sim.external, simulator/include/sim/external_kernel.h):
a kernel source written like a third-party one (op_host tiling header with BEGIN_TILING_DATA_DEF,
GET_TILING_DATA, DTYPE_X from the build, raw set_flag / wait_flag) is compiled unchanged against
the simulator and run on several cores with packed tiling bytes. The developer-side
scripts/check_simulator_fidelity.sh runs Huawei's DrivingSDK kernels through the same path.
"""

import struct
from pathlib import Path

import numpy as np
import pytest

from dcnv3_ascend.sim import SimulatorError
from dcnv3_ascend.sim.external import build_kernel, pack_tiling

HERE = Path(__file__).parent / "external_kernels"
ARGS = ["x", "y", "z", "workspace", "tiling"]


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("external_kernels")


def scaled_add(build_dir, **defines):
    return build_kernel(
        HERE / "scaled_add.cpp",
        "scaled_add",
        ARGS,
        build_dir,
        tiling_struct="ScaledAddTilingData",
        tiling_headers=[HERE / "scaled_add_tiling.h"],
        defines={"DTYPE_X": "float", **defines},
    )


def tiling(per_core, total, scale, tile):
    return pack_tiling([("uint32_t", per_core), ("uint64_t", total), ("float", scale), ("uint32_t", tile)])


def test_pack_tiling_uses_the_device_struct_layout():
    raw = tiling(5, 7, 0.5, 8).tobytes()
    assert len(raw) == 24  # uint32 at 0, (pad), uint64 at 8, float at 16, uint32 at 20
    assert struct.unpack("<IxxxxQfI", raw) == (5, 7, 0.5, 8)
    with pytest.raises(ValueError, match="tiling field type"):
        pack_tiling([("long", 1)])


@pytest.mark.parametrize("total,per_core,tile,block_dim", [(1024, 256, 64, 4), (600, 152, 40, 4), (64, 64, 64, 1)])
def test_external_kernel_runs_on_all_cores(build_dir, total, per_core, tile, block_dim):
    kernel = scaled_add(build_dir)
    rng = np.random.default_rng(total)
    x = rng.standard_normal(total).astype(np.float32)
    y = rng.standard_normal(total).astype(np.float32)
    z = np.full(total, np.nan, np.float32)
    result = kernel.run([x, y, z, None, tiling(per_core, total, 0.25, tile)], block_dim=block_dim, strict=True)
    np.testing.assert_allclose(z, x + np.float32(0.25) * y, rtol=1e-6, atol=1e-6)
    # DMAs into VECCALC buffers are outside the documented A2 data path: a warning, not an error.
    assert any(w.startswith("[buffer-position]") for w in result.warnings), result.warnings


def test_pipe_hazard_check_stays_on_in_lenient_mode(build_dir):
    kernel = scaled_add(build_dir, SKIP_WAIT=1)
    x = np.ones(64, np.float32)
    args = [x, x.copy(), np.zeros(64, np.float32), None, tiling(64, 64, 1.0, 64)]
    with pytest.raises(SimulatorError, match=r"\[ub-pipe-hazard\] core 0: .*Axpy"):
        kernel.run(args, block_dim=1, strict=False)


def test_failed_assert_and_bad_requests(build_dir):
    kernel = scaled_add(build_dir)
    x = np.ones(64, np.float32)
    with pytest.raises(SimulatorError, match=r"\[kernel-assert\] core 0: ASSERT\(t.tile % 8 == 0\)"):
        kernel.run([x, x.copy(), x.copy(), None, tiling(64, 64, 1.0, 12)], block_dim=1)
    with pytest.raises(ValueError, match="the kernel takes 5 GM arguments"):
        kernel.run([x, x], block_dim=1)
    with pytest.raises(ValueError, match="soc must be one of"):
        kernel.run([x, x.copy(), x.copy(), None, tiling(64, 64, 1.0, 8)], block_dim=1, soc="Ascend310P")


def test_compile_error_is_reported(build_dir, tmp_path):
    bad = tmp_path / "bad.cpp"
    bad.write_text('#include "kernel_operator.h"\nextern "C" __global__ __aicore__ void bad(GM_ADDR x) { Nope(x); }\n')
    with pytest.raises(RuntimeError, match=r"compiling bad\.cpp against the simulator failed"):
        build_kernel(bad, "bad", ["x"], build_dir)
