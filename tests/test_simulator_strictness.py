"""Strict and lenient mode (simulator/include/sim/strictness.h, simulator/README.md "Rule
classes"): class (b) rules, harmless on the hardware but bug risks in our own code, fail in strict
mode (the default, used by this project's kernels and tests) and are warnings in lenient mode
(third-party kernels); class (a) rules fail in both; the buffer-position rule only warns.

Kernel: simulator/selftest/rules_strictness.cpp; api_builtins for the position warning.
"""

import numpy as np
import pytest

from dcnv3_ascend import sim  # built by setup.py; a missing build must fail, not skip

_sim = sim._sim


def run(scenario, strict):
    x = np.arange(64, dtype=np.float32)
    out = np.full(64, -1.0, np.float32)
    stats = _sim.run_selftest("rule_strictness", [x, np.zeros(8, np.float32), out], [scenario], strict=strict)
    return x, out, stats


@pytest.mark.parametrize(
    "scenario,rule,words",
    [
        (0, "ub-read-beyond-view", ["CompareScalar", "needs 256 B", "holds 160 B"]),
        (1, "gm-global-buffer-range", ["SetGlobalBuffer(size=100000", "not inside one GM buffer"]),
        (2, "gm-beyond-global-buffer", ["DataCopy(GM->UB)", "GlobalTensor of 32 elements"]),
    ],
)
def test_bug_risk_rules_fail_in_strict_mode_and_warn_in_lenient_mode(scenario, rule, words):
    with pytest.raises(_sim.SimulatorError) as err:
        run(scenario, strict=True)
    message = str(err.value)
    assert message.startswith(f"[{rule}] core 0:"), message
    assert "strict mode" in message
    for w in words:
        assert w in message, message
    x, out, stats = run(scenario, strict=False)
    warned = [w for w in stats["warnings"] if w.startswith(f"[{rule}]")]
    assert len(warned) == 1, stats["warnings"]
    if scenario == 0:
        bits = np.unpackbits(out.view(np.uint8)[:8], bitorder="little")
        np.testing.assert_array_equal(bits[:40], (x[:40] < 10).astype(np.uint8))
    else:
        np.testing.assert_array_equal(out, 2 * x)


@pytest.mark.parametrize("strict", [True, False])
def test_access_past_the_gm_allocation_fails_in_both_modes(strict):
    with pytest.raises(_sim.SimulatorError, match=r"\[gm-out-of-bounds\] core 0: DataCopy\(GM->UB\).*64 past its end"):
        run(3, strict=strict)


def test_strict_mode_is_the_default():
    with pytest.raises(_sim.SimulatorError, match=r"\[ub-read-beyond-view\]"):
        _sim.run_selftest(
            "rule_strictness", [np.zeros(64, np.float32), np.zeros(8, np.float32), np.zeros(64, np.float32)], [0]
        )


def test_buffer_position_outside_the_documented_data_path_warns_only():
    # DataCopy GM->UB documents GM -> VECIN only (DataCopy（GM与UB连续数据搬运）.md); a VECCALC
    # destination works on the hardware, so it is a warning even in strict mode.
    buffers = [np.zeros(256, np.float32) for _ in range(3)]
    stats = _sim.run_selftest("api_mask_register", buffers, [0], strict=True)
    warned = [w for w in stats["warnings"] if w.startswith("[buffer-position]")]
    assert len(warned) == 1 and "DataCopy(GM->UB): dst is a VECCALC tensor" in warned[0], stats["warnings"]
    # the same kernel's queue-based copies (api_builtins: VECIN in, VECOUT out) draw no warning
    x = np.arange(64, dtype=np.float32)
    stats = _sim.run_selftest(
        "api_builtins", [x, np.zeros(8, np.float32), np.zeros(64, np.float32), np.zeros(8, np.int64)], [0]
    )
    assert stats["warnings"] == [], stats["warnings"]


def test_vector_operand_past_its_view_but_inside_ub_is_class_b():
    # rule_ub_oob (0, 1): Add(t, t, t, 65) on a 64-float tensor, the last buffer of the TPipe.
    stats = _sim.run_selftest("rule_ub_oob", [], [0, 1], strict=False)
    rules = sorted(w.split("]")[0] + "]" for w in stats["warnings"])
    assert rules == ["[ub-read-beyond-view]", "[ub-write-beyond-view]"], stats["warnings"]


@pytest.mark.parametrize(
    "direction", [0, 1, 2, 3], ids=["mte2-to-scalar", "vector-to-scalar", "scalar-to-vector", "scalar-to-mte3"]
)
def test_unfenced_scalar_access_is_class_b(direction):
    # CANN's --cce-auto-sync inserts these fences (pipe_hazards.h): production kernels built with it
    # (DrivingSDK's grid_sampler2d_v2) leave them out, so lenient mode only warns; strict mode, which
    # our kernels use, refuses them (tests/test_simulator_rules.py).
    x, y = np.arange(1, 9, dtype=np.float32), np.zeros(8, np.float32)
    with pytest.raises(_sim.SimulatorError, match=r"^\[ub-scalar-hazard\].*strict mode"):
        _sim.run_selftest("rule_scalar_pipe", [x, y], [direction, 0], block_dim=1, soc="Ascend910B3")
    stats = _sim.run_selftest("rule_scalar_pipe", [x, y], [direction, 0], block_dim=1, soc="Ascend910B3", strict=False)
    warned = [w for w in stats["warnings"] if w.startswith("[ub-scalar-hazard]")]
    assert len(warned) == 1 and "without synchronisation" in warned[0], stats["warnings"]


@pytest.mark.parametrize("scenario", [0, 1, 2], ids=["raw", "war", "waw"])
def test_unseparated_vector_pair_is_class_b(scenario):
    # CANN's --cce-auto-sync inserts PIPE_V barriers between dependent vector instructions
    # (pipe_hazards.h): production kernels built with it leave them out, so lenient mode only warns
    # and computes as the hardware then would; strict mode refuses (tests/test_simulator_rules.py).
    x = np.arange(128, dtype=np.float32)
    with pytest.raises(_sim.SimulatorError, match=r"^\[ub-vector-hazard\].*strict mode"):
        _sim.run_selftest("rule_vector_pipe", [x, np.zeros(128, np.float32)], [scenario, 0])
    d = np.zeros(128, np.float32)
    stats = _sim.run_selftest("rule_vector_pipe", [x, d], [scenario, 0], strict=False)
    warned = [w for w in stats["warnings"] if w.startswith("[ub-vector-hazard]")]
    assert len(warned) == 1 and "without synchronisation" in warned[0], stats["warnings"]
    np.testing.assert_array_equal(d, [2 * (x + 1), 2 * x, np.full_like(x, 3)][scenario])
