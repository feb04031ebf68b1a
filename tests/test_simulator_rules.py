"""Every hardware rule the AscendC simulator enforces fires, with a message naming the rule, the core
and the offending values, and does not fire on the corrected kernel.

The deliberately bad kernels live in simulator/selftest/rules_*.cpp and run through
_sim.run_selftest(name, buffers, params, block_dim=...). A SimulatorError reads
"[rule] core N: what happened".
"""

import threading

import numpy as np
import pytest

from dcnv3_ascend import sim  # built by setup.py; a missing build must fail, not skip

_sim = sim._sim


def _run(name, params=(), block_dim=1, soc="Ascend910B3", check_pipe_hazards=True):
    buffers = [np.zeros(64, np.float32), np.zeros(64, np.float32)]
    return _sim.run_selftest(
        name, buffers, list(params), block_dim=block_dim, soc=soc, check_pipe_hazards=check_pipe_hazards
    )


def _expect(rule, name, params=(), block_dim=1, **kwargs):
    """Runs a bad kernel; returns the SimulatorError message after checking its rule prefix."""
    with pytest.raises(sim.SimulatorError) as info:
        _run(name, params, block_dim, **kwargs)
    message = str(info.value)
    assert message.startswith(f"[{rule}] core "), message
    return message


# (test id, kernel, params, block_dim, rule, fragments the message must contain)
BAD_KERNELS = [
    (
        "misaligned-ub-copy",
        "rule_misaligned_copy",
        (),
        1,
        "ub-address-unaligned",
        ["DataCopy(GM->UB)", "UB address 4", "32 bytes"],
    ),
    (
        "unaligned-copy-length",
        "rule_unaligned_length",
        (),
        1,
        "datacopy-length-unaligned",
        ["count=7", "28 B", "DataCopyPad"],
    ),
    (
        "ub-over-capacity",
        "rule_ub_capacity",
        (150000, 30000),
        1,
        "ub-capacity",
        ["2 x 30016 B", "needs 60032 B", "46592", "196608", "TBuf #1 (150016 B)"],
    ),
    ("queue-overflow", "rule_queue_overflow", (), 1, "queue-overflow", ["AllocTensor", "all 1 of its buffers"]),
    ("deque-empty", "rule_deque_empty", (), 1, "queue-empty", ["DeQue", "VECOUT", "wait"]),
    ("enque-beyond-depth", "rule_enque_depth", (), 1, "queue-depth", ["EnQue", "depth 1"]),
    ("free-foreign-tensor", "rule_free_foreign", (), 1, "queue-misuse", ["FreeTensor", "did not hand out"]),
    (
        "gm-dma-out-of-bounds",
        "rule_gm_oob_dma",
        (),
        1,
        "gm-out-of-bounds",
        ["DataCopy(GM->UB)", "bytes [128, 384) of 'arg0' (256 bytes), 128 past its end"],
    ),
    (
        "gm-beyond-tensor-size",
        "rule_gm_oob_sized",
        (),
        1,
        "gm-beyond-global-buffer",
        ["GetValue", "[64, 68)", "GlobalTensor of 16 elements"],
    ),
    ("ub-view-out-of-bounds", "rule_ub_oob", (64, 0), 1, "ub-out-of-bounds", ["operator[](64)", "64 elements"]),
    ("ub-op-out-of-bounds", "rule_ub_oob", (0, 1), 1, "ub-write-beyond-view", ["Add", "needs 260 B", "holds 256 B"]),
    ("partial-overlap", "rule_partial_overlap", (), 1, "ub-partial-overlap", ["Add", "[32, 288)", "[0, 256)"]),
    (
        "repeat-reads-earlier-iteration",
        "rule_repeat_overlap",
        (0,),
        1,
        "ub-iteration-overlap",
        ["Add: src0 lane 0 of iteration 1", "UB address 32", "dst wrote in iteration 0"],
    ),
    (
        "repeat-partial-overlap",
        "rule_repeat_overlap",
        (1,),
        1,
        "ub-partial-overlap",
        ["Add: src0 lane 0 of iteration 0", "UB address 32", "100% or not at all"],
    ),
    (
        "repeat-accumulates-through-src0",
        "rule_repeat_overlap",
        (3,),
        1,
        "ub-iteration-overlap",
        ["Add: src0 lane 0 of iteration 1", "UB address 0"],
    ),
    (
        "ub-to-ub-copy-overlapping",
        "rule_api_overlap",
        (0,),
        1,
        "ub-overlap-unsupported",
        [
            "DataCopy(UB->UB)",
            "src block 0",
            "[0, 256)",
            "dst block 0",
            "[32, 288)",
            "DataCopy（UBToUB连续数据搬运）.md",
        ],
    ),
    (
        "ub-to-ub-copy-in-place",
        "rule_api_overlap",
        (1,),
        1,
        "ub-overlap-unsupported",
        ["DataCopy(UB->UB, DataCopyParams)"],
    ),
    ("gather-in-place", "rule_api_overlap", (3,), 1, "ub-overlap-unsupported", ["Gather", "离散与聚合/Gather.md:115"]),
    (
        "compare-mask-over-source",
        "rule_api_overlap",
        (4,),
        1,
        "ub-overlap-unsupported",
        ["CompareScalar", "src0 UB [0, 256)", "Compares.md:180 (silent)"],
    ),
    (
        "cast-widening-over-source",
        "rule_api_overlap",
        (5,),
        1,
        "ub-overlap-unsupported",
        ["Cast (widening)", "Cast.md:358"],
    ),
    (
        "gather-mask-reads-earlier-iteration",
        "rule_api_overlap",
        (8,),
        1,
        "ub-iteration-overlap",
        ["GatherMask: src0 lane 0 of iteration 1", "UB address 256", "dst wrote in iteration 0"],
    ),
    ("datacopypad-blockcount-0", "rule_datacopypad_params", (0,), 1, "datacopy-params", ["blockCount=0"]),
    ("datacopypad-blockcount-4096", "rule_datacopypad_params", (1,), 1, "datacopy-params", ["blockCount=4096"]),
    ("datacopypad-padding", "rule_datacopypad_params", (2,), 1, "datacopy-params", ["leftPadding=9", "at most 32 B"]),
    (
        "datacopypad-blocklen-multiple",
        "rule_datacopypad_params",
        (3,),
        1,
        "datacopy-params",
        ["blockLen=6 B", "sizeof(float) = 4"],
    ),
    ("datacopypad-blocklen-max", "rule_datacopypad_params", (4,), 1, "datacopy-params", ["blockLen=2097152"]),
    ("gather-unaligned-offset", "rule_gather_offset", (0,), 1, "gather-offset", ["element 3", "= 6", "bytes"]),
    ("gather-beyond-src", "rule_gather_offset", (1,), 1, "gather-offset", ["reads byte 256", "256 B"]),
    ("gather-unaligned-base", "rule_gather_offset", (2,), 1, "gather-offset", ["srcBaseAddr=2 B", "sizeof(T) = 4"]),
    (
        "waitflag-without-setflag",
        "rule_waitflag_unset",
        (),
        1,
        "waitflag-unset",
        ["WaitFlag<HardEvent::MTE2_V>(0)", "wait forever"],
    ),
    # SetFlag and WaitFlag must pair (asc-devkit SetFlag-WaitFlag(ISASI).md, 约束说明).
    (
        "setflag-twice-before-waitflag",
        "rule_event_set_twice",
        (0,),
        1,
        "event-set-twice",
        ["SetFlag<HardEvent::MTE2_V>(0) while the previous SetFlag", "WaitFlag<HardEvent::MTE2_V>(0) in between"],
    ),
    (
        "raw-set-flag-twice",
        "rule_event_set_twice",
        (1,),
        1,
        "event-set-twice",
        ["SetFlag<HardEvent::MTE2_V>(0) while the previous SetFlag", "WaitFlag<HardEvent::MTE2_V>(0) in between"],
    ),
    (
        "setflag-left-pending-at-return",
        "rule_event_left_set",
        (0,),
        1,
        "event-left-set",
        ["returned with SetFlag<HardEvent::MTE3_V>(1) never consumed", "must come in pairs"],
    ),
    (
        "missing-mte2-to-v-sync",
        "rule_pipe_hazard",
        (0,),
        1,
        "ub-pipe-hazard",
        ["V instruction Muls reads", "MTE2 instruction DataCopy(GM->UB)", "SetFlag<HardEvent::MTE2_V>"],
    ),
    (
        "missing-v-to-mte3-sync",
        "rule_pipe_hazard",
        (1,),
        1,
        "ub-pipe-hazard",
        ["MTE3 instruction DataCopy(UB->GM) reads", "V instruction Muls", "SetFlag<HardEvent::V_MTE3>"],
    ),
    (
        "gm-written-by-two-cores",
        "rule_gm_race",
        (0,),
        2,
        "gm-race",
        ["DataCopy(UB->GM) writes GM at byte 0 of 'arg0'", "wrote (DataCopy(UB->GM))", "SyncAll"],
    ),
    ("gm-read-while-another-core-writes", "rule_gm_race", (2,), 2, "gm-race", ["at byte 0 of 'arg0'", "SyncAll"]),
    (
        "gm-reload-without-mte3-to-mte2-sync",
        "rule_gm_pipe_hazard",
        (0,),
        1,
        "gm-pipe-hazard",
        [
            "MTE2 instruction DataCopy(GM->UB) reads GM",
            "MTE3 instruction DataCopy(UB->GM) wrote",
            "SetFlag/WaitFlag<HardEvent::MTE3_MTE2>",
        ],
    ),
    (
        "syncall-skipped-by-a-core",
        "rule_syncall_skipped",
        (),
        4,
        "syncall-deadlock",
        ["core 0 returned from the kernel without reaching SyncAll (barrier #1)", "wait forever"],
    ),
    (
        "syncall-more-cores-than-soc",
        "rule_syncall_oversubscribed",
        (),
        41,
        "syncall-oversubscribed",
        ["block_dim=41", "40 vector cores"],
    ),
    ("atomic-left-on", "rule_atomic_left_on", (), 1, "atomic-left-on", ["SetAtomicAdd<float>", "SetAtomicNone"]),
    (
        "atomic-type-mismatch",
        "rule_atomic_type_mismatch",
        (),
        1,
        "atomic-type-mismatch",
        ["half data", "SetAtomicAdd<float>"],
    ),
    (
        "compare-count-not-256-bytes",
        "rule_compare_count",
        (40,),
        1,
        "compare-count",
        ["count=40", "160 B", "multiple of 256 B", "count=64"],
    ),
    ("select-in-reserved-ub", "rule_select_reserved", (), 1, "ub-reserved-area", ["188416", "195072"]),
    ("cast-nan-to-int", "rule_cast_to_int", (0,), 1, "nan-undefined", ["Cast of nan to int32_t"]),
    ("cast-out-of-int-range", "rule_cast_to_int", (1,), 1, "cast-out-of-range", ["3e+09", "int32_t"]),
    ("cast-unsupported-mode", "rule_cast_mode", (), 1, "cast-mode", ["float -> bfloat16_t", "CAST_NONE"]),
    ("max-with-nan", "rule_max_nan", (), 1, "nan-undefined", ["Maxs", "NaN"]),
    (
        "reduce-sum-count-0",
        "api_reduce_sum",
        (0, 0, 64, 8),
        1,
        "vector-count",
        ["ReduceSum: count=0", "inner_kernel_operator_vec_reduce_intf.cppm"],
    ),
    # Kernel types as CANN 8.1's compile scripts decide them (simulator/include/sim/kernel_type.h).
    (
        "syncall-in-aiv-only-kernel",
        "rule_syncall_aiv_only",
        (),
        2,
        "syncall-kernel-type",
        [
            "KERNEL_TYPE_AIV_ONLY",
            "ascendc_compile_v220.py get_v220_kernel_type_mix_flag",
            "compile_op.py",
            "impl/dav_c220/kernel_operator_sync_impl.h",
            "KERNEL_TYPE_MIX_AIV_1_0",
        ],
    ),
    (
        "cube-only-kernel-type",
        "rule_kernel_type_aic_only",
        (),
        1,
        "kernel-type",
        ["KERNEL_TYPE_AIC_ONLY", "cube cores only"],
    ),
    (
        "mix-aic-kernel-type",
        "rule_kernel_type_mix_aic",
        (),
        1,
        "sim-unsupported",
        ["KERNEL_TYPE_MIX_AIC_1_2", "no cube"],
    ),
    # The scalar unit reading or writing UB (simulator/include/sim/pipe_hazards.h).
    (
        "scalar-read-after-mte2",
        "rule_scalar_pipe",
        (0, 0),
        1,
        "ub-scalar-hazard",
        ["S instruction GetValue reads", "MTE2 instruction DataCopy(GM->UB)", "SetFlag<HardEvent::MTE2_S>"],
    ),
    (
        "scalar-read-after-vector",
        "rule_scalar_pipe",
        (1, 0),
        1,
        "ub-scalar-hazard",
        ["S instruction GetValue reads", "V instruction Muls", "SetFlag<HardEvent::V_S>"],
    ),
    (
        "vector-read-after-scalar-write",
        "rule_scalar_pipe",
        (2, 0),
        1,
        "ub-scalar-hazard",
        ["V instruction Muls reads", "S instruction SetValue", "SetFlag<HardEvent::S_V>"],
    ),
    (
        "mte3-read-after-scalar-write",
        "rule_scalar_pipe",
        (3, 0),
        1,
        "ub-scalar-hazard",
        ["MTE3 instruction DataCopy(UB->GM) reads", "S instruction SetValue", "SetFlag<HardEvent::S_MTE3>"],
    ),
    (
        "create-vec-index-after-vector",
        "rule_create_vec_index_after_vector",
        (0,),
        1,
        "ub-scalar-hazard",
        [
            "S instruction CreateVecIndex (SetValue of its first block) writes",
            "V instruction Duplicate",
            "SetFlag<HardEvent::V_S>",
        ],
    ),
    # Counts and strides the real API narrows (simulator/README.md lists every API checked).
    (
        "gather-count-over-255-repeats",
        "rule_gather_count",
        (16448,),
        1,
        "count-narrowing",
        [
            "Gather: count=16448",
            "257 full repeats",
            "uint8_t",
            "inner_kernel_operator_vec_gather_intf.cppm",
            "would run 1 of them",
            "at most 16320",
        ],
    ),
    (
        "datacopy-count-over-65535-blocks",
        "rule_datacopy_count",
        (),
        1,
        "count-narrowing",
        [
            "DataCopy(GM->UB): count=524288",
            "65536 blocks",
            "uint16_t DataCopyParams::blockLen",
            "inner_kernel_operator_data_copy_intf.cppm",
            "copy 0 blocks",
        ],
    ),
    (
        "adds-repeat-times-300",
        "rule_param_narrowing",
        (0, 300),
        1,
        "count-narrowing",
        ["Adds: repeatTimes=300", "8-bit", "kernel_operator_vec_binary_scalar_intf.h", "would use 44"],
    ),
    (
        "duplicate-repeat-stride-300",
        "rule_param_narrowing",
        (1, 300),
        1,
        "count-narrowing",
        ["Duplicate: dstRepeatStride=300", "kernel_operator_vec_duplicate_intf.h", "would use 44"],
    ),
    (
        "brcb-repeat-times-256",
        "rule_param_narrowing",
        (2, 256),
        1,
        "count-narrowing",
        ["Brcb: repeatTimes=256", "kernel_operator_vec_brcb_intf.h", "would use 0"],
    ),
    (
        "gatherb-negative-repeat-times",
        "rule_param_narrowing",
        (3, -1),
        1,
        "count-narrowing",
        ["Gatherb: repeatTimes=-1", "kernel_operator_vec_gather_intf.h", "would use 255"],
    ),
]


@pytest.mark.parametrize(
    "name,params,block_dim,rule,fragments", [case[1:] for case in BAD_KERNELS], ids=[case[0] for case in BAD_KERNELS]
)
def test_bad_kernel_is_refused(name, params, block_dim, rule, fragments):
    message = _expect(rule, name, params, block_dim)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} missing from: {message}"


# The corrected variants of some bad kernels run cleanly, so the rules are not trigger-happy.
GOOD_VARIANTS = [
    ("ub-within-capacity", "rule_ub_capacity", (150000, 20000)),
    ("all-syncs-present", "rule_pipe_hazard", (2,)),
    ("compare-count-of-256-bytes", "rule_compare_count", (64,)),
    ("view-inside-tensor", "rule_ub_oob", (63, 0)),
    ("repeat-accumulates-through-src1", "rule_repeat_overlap", (2,)),
    ("repeat-disjoint-enabled-lanes", "rule_repeat_overlap", (4,)),
    ("gm-reload-after-sync", "rule_gm_pipe_hazard", (1,)),
    ("setflag-again-after-waitflag", "rule_event_set_twice", (2,)),
    ("ub-to-ub-copy-interleaved-blocks", "rule_api_overlap", (2,)),
    ("cast-same-width-in-place", "rule_api_overlap", (6,)),
    ("gather-mask-in-place", "rule_api_overlap", (7,)),
    ("gather-mask-into-disjoint-dst", "rule_api_overlap", (9,)),
]


@pytest.mark.parametrize("name,params", [case[1:] for case in GOOD_VARIANTS], ids=[case[0] for case in GOOD_VARIANTS])
def test_corrected_kernel_runs(name, params):
    stats = _run(name, params)
    assert stats["block_dim"] == 1


def test_gather_mask_tail_past_its_source_view_is_not_an_overlap():
    """Lanes of GatherMask's last iteration past src0's view are a class (b) read, not operands:
    reading there what an earlier iteration wrote to dst only warns in lenient mode."""
    buffers = [np.zeros(64, np.float32), np.zeros(64, np.float32)]
    stats = _sim.run_selftest("rule_api_overlap", buffers, [10], block_dim=1, soc="Ascend910B3", strict=False)
    assert [w.split("]")[0] for w in stats["warnings"]] == ["[ub-read-beyond-view"], stats["warnings"]


def test_tile_loop_drained_of_its_flag_runs():
    """The ping-pong flag of rule_event_left_set, waited for once more after the loop: no flag is
    left set, and the last tile's 4s reach GM."""
    out = np.zeros(64, np.float32)
    _sim.run_selftest("rule_event_left_set", [np.zeros(64, np.float32), out], [1], block_dim=1, soc="Ascend910B3")
    np.testing.assert_array_equal(out, np.full(64, 4, np.float32))


def test_gather_of_255_full_repeats_runs():
    """16320 floats (255 repeats of 64) is the largest count-form Gather CANN's uint8_t repeat
    count holds; every element reads src[0] = 7."""
    out = np.zeros(64, np.float32)
    _sim.run_selftest("rule_gather_count", [np.zeros(64, np.float32), out], [16320], block_dim=1, soc="Ascend910B3")
    np.testing.assert_array_equal(out, np.full(64, 7, np.float32))


def test_repeat_accumulation_through_src1_adds_every_iteration():
    """The documented exception to the repeat form's overlap rule: Add with dst and src1 repeat
    stride 0 reads back what the previous iteration wrote, so 4 iterations add 4 ones to t[0..7]."""
    out = np.zeros(64, np.float32)
    _sim.run_selftest("rule_repeat_overlap", [np.zeros(64, np.float32), out], [2], block_dim=1, soc="Ascend910B3")
    np.testing.assert_array_equal(out[:8], np.full(8, 5, np.float32))
    np.testing.assert_array_equal(out[8:], np.ones(56, np.float32))


@pytest.mark.parametrize("api,value", [(0, 1), (1, 255)], ids=["adds-repeat-1", "duplicate-repeat-stride-255"])
def test_parameters_that_fit_run(api, value):
    _run("rule_param_narrowing", (api, value))


@pytest.mark.parametrize("name", ["good_syncall_mix_aiv", "good_syncall_undeclared", "good_syncall_m200_type"])
def test_syncall_in_a_kernel_type_cann_builds_with_ffts(name):
    """MIX_AIV_1_0 (what the SyncAll page prescribes), no declaration (CANN detects the SyncAll) and
    a dav-m200 type (dropped on dav-c220) all get the FFTS address: SyncAll works, and each core
    reads the value its neighbour stored before the barrier."""
    slots, out = np.zeros(32, np.float32), np.zeros(32, np.float32)
    _sim.run_selftest(name, [slots, out], [], block_dim=4, soc="Ascend910B3")
    np.testing.assert_array_equal(slots, np.repeat([1, 2, 3, 4], 8).astype(np.float32))
    np.testing.assert_array_equal(out, np.repeat([2, 3, 4, 1], 8).astype(np.float32))


@pytest.mark.parametrize(
    "direction,expected",
    [(0, 4.0), (1, 8.0), (2, [2, 4, 6, 8, 10, 12, 14, 16]), (3, [1, 2, 3, 4, 5, 6, 7, 8])],
    ids=["mte2-to-scalar", "vector-to-scalar", "scalar-to-vector", "scalar-to-mte3"],
)
def test_fenced_scalar_access_runs_and_computes(direction, expected):
    """With the matching MTE2_S / V_S / S_V / S_MTE3 fence each direction runs and moves the right
    values: x[3] = 4 read by the scalar unit, 2 * x[3] after Muls, 2 * (i + 1) and i + 1 written
    by SetValue."""
    x, y = np.arange(1, 9, dtype=np.float32), np.zeros(8, np.float32)
    _sim.run_selftest("rule_scalar_pipe", [x, y], [direction, 1], block_dim=1, soc="Ascend910B3")
    np.testing.assert_array_equal(y, np.broadcast_to(np.asarray(expected, np.float32), (8,)))


def test_create_vec_index_after_a_fenced_vector_write():
    """With V_S before it, CreateVecIndex's scalar first block and its vector rest give 0..15."""
    y = np.zeros(16, np.float32)
    _sim.run_selftest(
        "rule_create_vec_index_after_vector", [np.zeros(16, np.float32), y], [1], block_dim=1, soc="Ascend910B3"
    )
    np.testing.assert_array_equal(y, np.arange(16, dtype=np.float32))


def _vector_pair(scenario, fence):
    x, d = np.arange(128, dtype=np.float32), np.zeros(128, np.float32)
    stats = _sim.run_selftest("rule_vector_pipe", [x, d], [scenario, fence], block_dim=1, soc="Ascend910B3")
    return x, d, stats


def _brcb_alternate(x):
    d = np.empty((16, 8), np.float32)
    d[0::2] = 2 * x[:8, None]
    d[1::2] = 2 * x[8:16, None]
    return d.ravel()


# rule_vector_pipe (simulator/selftest/rules_sync.cpp): scenario, the start of the refusal when
# nothing separates its vector instructions, and d once they are separated.
VECTOR_PAIRS = [
    ("raw", 0, "V instruction Muls reads UB bytes [512, 544) written by V instruction Adds", lambda x: 2 * (x + 1)),
    ("war", 1, "V instruction Duplicate writes UB bytes [0, 32) read by V instruction Muls", lambda x: 2 * x),
    (
        "waw",
        2,
        "V instruction Duplicate writes UB bytes [1024, 1056) written by V instruction Duplicate",
        lambda x: np.full_like(x, 3),
    ),
    (
        "in-place-then-read",
        3,
        "V instruction Muls reads UB bytes [0, 32) written by V instruction Adds",
        lambda x: 2 * (x + 1),
    ),
    (
        "alternate-blocks-by-stride",
        4,
        "V instruction Muls reads UB bytes [512, 544) written by V instruction Adds",
        lambda x: 2 * (x + 1),
    ),
    (
        "alternate-blocks-by-mask",
        5,
        "V instruction Muls reads UB bytes [512, 544) written by V instruction Adds",
        lambda x: 2 * (x + 1),
    ),
    (
        "brcb-alternate-blocks",
        6,
        "V instruction Muls reads UB bytes [512, 544) written by V instruction Brcb",
        _brcb_alternate,
    ),
]


@pytest.mark.parametrize(
    "scenario,refusal,expected", [case[1:] for case in VECTOR_PAIRS], ids=[case[0] for case in VECTOR_PAIRS]
)
def test_dependent_vector_instructions_need_a_pipe_v_barrier(scenario, refusal, expected):
    """A vector instruction reading what an earlier one wrote, or overwriting what it read or wrote,
    with nothing between them is refused (ub-vector-hazard); PipeBarrier<PIPE_V> or PIPE_ALL
    between them orders it, and the kernel computes. The refusal names the dependent pair only:
    an in-place Adds(x, x, 1) (scenario 3) and two instructions writing alternate blocks of one
    buffer, by block stride, by lane mask or by Brcb (4-6), need nothing between them."""
    with pytest.raises(sim.SimulatorError) as info:
        _vector_pair(scenario, 0)
    message = str(info.value)
    assert message.startswith(f"[ub-vector-hazard] core 0: {refusal} without synchronisation"), message
    assert "insert PipeBarrier<PIPE_V>() between the two instructions" in message, message
    for fence in (1, 2):  # PipeBarrier<PIPE_V>, PipeBarrier<PIPE_ALL>
        x, d, stats = _vector_pair(scenario, fence)
        np.testing.assert_array_equal(d, expected(x))
        assert stats["warnings"] == [], stats["warnings"]


def test_gm_handed_over_through_syncall():
    stats = _run("rule_gm_race", (1,), block_dim=2)
    assert stats["per_core"]["dma_count"] == [1, 1]


def test_hazard_check_can_be_switched_off():
    # The same kernel with the checker off: only the synchronisation rule was in the way.
    stats = _run("rule_pipe_hazard", (0,), check_pipe_hazards=False)
    assert stats["dma_count"] == 2


def test_core_failing_before_syncall_releases_the_others():
    """Core 1 breaks a rule while cores 0, 2, 3 wait in SyncAll: the launch must end with core 1's
    error instead of hanging."""
    outcome = {}

    def launch():
        try:
            _run("rule_throw_before_syncall", block_dim=4)
        except sim.SimulatorError as e:
            outcome["error"] = str(e)

    worker = threading.Thread(target=launch, daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "the launch hung in SyncAll"
    message = outcome["error"]
    assert message.startswith("[gm-out-of-bounds] core 1:"), message
    assert "GlobalTensor of 8 elements" in message


def test_unknown_selftest_and_soc_are_value_errors():
    with pytest.raises(ValueError, match="no self-test kernel named 'nope'"):
        _run("nope")
    with pytest.raises(ValueError, match="soc must be one of"):
        _run("rule_ub_oob", (0, 0), soc="Ascend999")
