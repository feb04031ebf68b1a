"""python -m dcnv3_ascend.sim.report: the printed figures are the simulator's statistics
normalised by hand here (bytes over the op's minimum, counts per sampled point) and the cost
model's estimate; the options choose the offsets, dtype, models and SoC."""

import re

import pytest
import torch

from dcnv3_ascend import sim
from dcnv3_ascend.attrs import Dcnv3Attrs
from dcnv3_ascend.shapes import Case
from dcnv3_ascend.sim import cost_model, report

SMALL = Case("small", 1, 6, 9, Dcnv3Attrs(group=2, group_channels=16))
BIG = Case("big", 1, 16, 16, Dcnv3Attrs(group=4, group_channels=16))
NUMBER = r"[-+0-9.e]+"


def printed_rows(**kwargs):
    lines = []
    report.report(cases=[SMALL], out=lines.append, **kwargs)
    rows = {}
    for line in lines:
        fields = line.split()
        if fields and fields[0] == "small":
            rows[fields[1]] = fields[2:]
    return lines, rows


def nbytes(*tensors):
    return sum(t.numel() * t.element_size() for t in tensors)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_printed_figures_match_the_statistics(dtype):
    lines, rows = printed_rows(dtype=dtype)
    inp, off, msk, gout = report.case_inputs(SMALL, dtype)
    out, fstats = sim.dcnv3_forward(inp, off, msk, SMALL.attrs)
    (gi, go, gm), bstats = sim.dcnv3_backward(inp, off, msk, gout, SMALL.attrs)
    points = 6 * 9 * 2 * 9  # H_out x W_out x groups x taps
    minimum = {"fwd": nbytes(inp, off, msk, out), "bwd": nbytes(inp, off, msk, gout, gi, go, gm)}
    for direction, stats in (("fwd", fstats), ("bwd", bstats)):
        (gm_mb, x_min, dma, atomic, bar_v, scalar_ub, repeats, ub_kib, est_us, bound, _imb) = rows[direction]
        moved = stats["gm_read_bytes"] + stats["gm_write_bytes"]
        assert float(gm_mb) == pytest.approx(moved / 1e6, abs=5e-4)
        assert float(x_min) == pytest.approx(moved / minimum[direction], abs=5e-3)
        assert float(dma) == pytest.approx(stats["dma_count"] / points, abs=5e-4)
        assert float(atomic) == pytest.approx(stats["atomic_dma_count"] / points, abs=5e-4)
        assert float(bar_v) == pytest.approx(stats["pipe_barrier_v_count"] / points, abs=5e-4)
        assert float(scalar_ub) == pytest.approx(stats["ub_scalar_access_count"] / points, abs=5e-4)
        assert float(repeats) == pytest.approx(stats["vector_repeat_count"] / points, abs=5e-4)
        assert float(ub_kib) == pytest.approx(stats["ub_peak_bytes"] / 1024, abs=0.05)
        est = cost_model.estimate(stats, "Ascend910B3")
        assert float(est_us) == pytest.approx(est.kernel_us, abs=5e-3)
        assert bound == est.bound
        assert stats["dma_count"] > 0 and stats["vector_repeat_count"] > 0
    # The backward scatters grad_input with atomic DMAs; the forward has none.
    assert float(rows["fwd"][3]) == 0 and float(rows["bwd"][3]) > 0
    assert any("ESTIMATE" in line for line in lines[:2])
    assert any("DMA_STARTUP" in line for line in lines)


def test_offset_distributions():
    _, off, _, _ = report.case_inputs(BIG, torch.float32, "randn", 2.0)
    assert off.std().item() == pytest.approx(2.0, rel=0.05) and off.abs().max().item() > 4  # not clipped at 2
    _, off, _, _ = report.case_inputs(BIG, torch.float32, "uniform", 2.0)
    # (make_inputs nudges sampling locations off integers by up to a few 0.05 px steps)
    assert off.abs().max().item() <= 2.2 and off.std().item() == pytest.approx(2.0 / 3**0.5, rel=0.05)
    lines, _ = printed_rows(offsets="uniform", offset_px=3.0)
    assert "offsets uniform in +-3.0 px" in lines[0]
    lines, _ = printed_rows()
    assert "offsets randn * 2.0 px" in lines[0]


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_randn_offsets_of_any_spread(dtype):
    # make_inputs' uniform offsets, which randn replaces, were drawn with the same spread and failed
    # to keep off integers (from 1e7 px in float32, 300 in bfloat16).
    _, off, _, _ = report.case_inputs(BIG, dtype, "randn", 1e7)
    assert off.float().std().item() == pytest.approx(1e7, rel=0.05)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--models", "T,Q"], "--models must be a comma list of T, S, B, L, XL, H, got 'T,Q'"),
        (["--models", ""], "--models must be a comma list of T, S, B, L, XL, H, got ''"),
        (["--rows", "-1"], "argument --rows: must be an integer >= 1, got '-1'"),
        (["--rows", "0"], "argument --rows: must be an integer >= 1, got '0'"),
        (["--offset-px", "nan"], "argument --offset-px: must be a finite number >= 0, got 'nan'"),
        (["--offset-px", "inf"], "argument --offset-px: must be a finite number >= 0, got 'inf'"),
        (["--offset-px", "-5"], "argument --offset-px: must be a finite number >= 0, got '-5'"),
        # make_inputs failed with a traceback: bfloat16 has no fractional pixels from 128 px on.
        (
            ["--offsets", "uniform", "--dtype", "bfloat16", "--offset-px", "300"],
            "--offset-px must be below 32 with --offsets uniform and --dtype bfloat16",
        ),
    ],
)
def test_main_rejects_bad_options_before_simulating(argv, message, monkeypatch, capsys):
    monkeypatch.setattr(report, "run_case", lambda *args: pytest.fail("a case was simulated"))
    with pytest.raises(SystemExit) as exit_info:
        report.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_help_describes_the_report_in_a_whole_sentence(capsys):
    with pytest.raises(SystemExit) as exit_info:
        report.main(["--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    expected = "cost ESTIMATE of the simulated DCNv3 kernels on InternImage's layer shapes. options:"
    assert expected in text


def test_report_rejects_bad_arguments():
    with pytest.raises(ValueError, match="models must be among"):
        report.report(models=("T", "Q"))
    with pytest.raises(ValueError, match="nothing to simulate"):
        report.report(models=())
    with pytest.raises(ValueError, match="offsets must be one of"):
        report.case_inputs(SMALL, torch.float32, "laplace")


def test_main_runs_a_slice_of_internimage_t(capsys):
    report.main(["--models", "T", "--rows", "2", "--dtype", "float16"])
    text = capsys.readouterr().out
    for stage in range(1, 5):
        assert re.search(rf"^T-stage{stage}\s+fwd\s+{NUMBER}", text, re.M)
        assert re.search(rf"^T-stage{stage}\s+bwd\s+{NUMBER}", text, re.M)
    assert "slice: 2 of 56 rows" in text and "dtype float16" in text
