"""The per-pipe cost estimate (dcnv3_ascend.sim.cost_model) on the hand-counted self-test kernel
of test_sim_stats.py: the cycles of every pipe, the bounding pipe, the waves."""

import pytest
from test_sim_stats import run_stats_counts

from dcnv3_ascend.sim import cost_model

MHZ = 1800  # Ascend910B3


def test_constants_have_sources():
    for c in cost_model.CONSTANTS:
        assert c.value > 0 and c.unit and c.source, c
    text = cost_model.constants_text("Ascend910B3")
    assert "ESTIMATE" in text and "1800 MHz" in text
    assert all(c.name in text for c in cost_model.CONSTANTS)


def test_pipe_cycles_by_hand():
    # Core i runs r = i + 1 rounds (see test_sim_stats.expected_core). With the model's constants:
    #   MTE2  2 DMAs x 100 + 1064 B / 110            = 209.6727...
    #   MTE3  2 DMAs x 100 + (1088 + 64 atomic) B / 64 = 218
    #   V     13r repeats x 1 + 4r instrs x 10 + 4r PIPE_V x 20 = 133r
    #   S     (4 DMAs + 4r instrs + 4r barriers) x 2 + 4 UB scalar x 10 = 48 + 16r
    #   stall 2 PIPE_ALL x 900 = 1800
    stats, *_ = run_stats_counts(block_dim=3)
    for i in range(3):
        r = i + 1
        core = {k: v[i] for k, v in stats["per_core"].items()}
        cycles = cost_model.pipe_cycles(core)
        assert cycles["MTE2"] == pytest.approx(200 + 1064 / 110)
        assert cycles["MTE3"] == pytest.approx(218)
        assert cycles["V"] == pytest.approx(133 * r)
        assert cycles["S"] == pytest.approx(48 + 16 * r)
        assert cycles["stall"] == pytest.approx(1800)


def test_busiest_core_and_bound():
    stats, *_ = run_stats_counts(block_dim=3)
    est = cost_model.estimate(stats, "Ascend910B3")
    # Core 0 is bound by MTE3 (218 > 133), cores 1 and 2 by V (266, 399): 399 + 1800 cycles.
    assert [max(cost_model.PIPES, key=lambda p: c[p]) for c in est.per_core_us] == ["MTE3", "V", "V"]
    assert est.busiest_core == 2 and est.bound == "V"
    assert est.busiest_us == pytest.approx((399 + 1800) / MHZ)
    assert est.kernel_us == pytest.approx(est.busiest_us)


def test_blocks_beyond_the_cores_run_in_waves():
    # 10 blocks on 8 cores: wave 1 is bounded by block 7 (V = 133 x 8), wave 2 by block 9 (133 x 10).
    stats, *_ = run_stats_counts(block_dim=10)
    est = cost_model.estimate(stats, "Ascend910B3-8core")
    assert est.busiest_core == 9 and est.bound == "V"
    assert est.kernel_us == pytest.approx((133 * 8 + 1800 + 133 * 10 + 1800) / MHZ)


def test_unknown_soc_is_named():
    stats, *_ = run_stats_counts(block_dim=1)
    with pytest.raises(ValueError, match="soc must be one of"):
        cost_model.estimate(stats, "Ascend310P")
