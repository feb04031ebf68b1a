"""Data movement, instruction counts and a cost ESTIMATE of the simulated DCNv3 kernels on
InternImage's layer shapes.

    python -m dcnv3_ascend.sim.report [--models T,B] [--dtype float32|float16|bfloat16]
                                      [--offsets randn|uniform] [--offset-px 2.0]
                                      [--soc Ascend910B3] [--rows N]

For every DCNv3 layer of the chosen InternImage variants (224x224 input, batch 1; layers from
dcnv3_ascend.shapes) it runs the forward and backward kernels in the simulator and prints one row
per direction:
  GM MB, x min  bytes moved between GM and UB, and their ratio to the op's minimum (every input
                read once, every output written once; the fp32 workspace of the half-type
                backward is extra traffic, not part of the minimum)
  DMA/pt        DMA commands per sampled point (one output pixel x one group x one tap);
                atom/pt: the atomic ones among them
  barV/pt       explicit PipeBarrier<PIPE_V> per point (those CANN's --cce-auto-sync would
                insert are not counted)
  sUB/pt        scalar UB accesses (LocalTensor GetValue/SetValue/operator()) per point
  rep/pt        256-byte vector repeats per point
  UB KiB        largest unified-buffer use of any core
  est us, bound the cost model's estimate (dcnv3_ascend.sim.cost_model) of the kernel: the
                busiest core's time, summed over waves, and the pipe that bounds that core
  imb           busiest core / mean core in the estimate

Offsets: --offsets randn draws them as randn * offset_px pixels (trained InternImage offsets are of
that order, the default with 2 px); --offsets uniform draws them uniform in +-offset_px.

--rows N simulates a slice of every layer taller than N: the input cropped to its first N rows
(full width, all channels), so N output rows; such rows are marked "slice".
"""

import argparse
import dataclasses
import time
import zlib

import torch

from .._cli import finite_float_type, int_type, parse_names
from ..shapes import INTERNIMAGE_MODELS, layer_cases, make_grad_output, make_inputs
from . import SOC_TABLE, cost_model, dcnv3_backward, dcnv3_forward

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
OFFSET_DISTRIBUTIONS = ("randn", "uniform")
MODEL_NAMES = tuple(m.name for m in INTERNIMAGE_MODELS)

HEADER = (
    f"{'layer':10s} {'dir':3s} {'GM MB':>8s} {'x min':>6s} {'DMA/pt':>7s} {'atom/pt':>7s} {'barV/pt':>7s} "
    f"{'sUB/pt':>7s} {'rep/pt':>8s} {'UB KiB':>6s} {'est us':>8s} {'bound':>5s} {'imb':>5s}"
)


def _nbytes(*tensors):
    return sum(t.numel() * t.element_size() for t in tensors)


def _randn_offsets(case, shape, dtype, std_px):
    """Offsets randn * std_px, seeded by the case name (stable across runs, unlike hash())."""
    gen = torch.Generator().manual_seed(zlib.crc32(case.name.encode()) + case.height)
    return (torch.randn(shape, generator=gen, dtype=torch.float64) * std_px).to(dtype)


@dataclasses.dataclass
class Figures:
    """What one row of the report shows for one kernel launch."""

    gm_mb: float
    x_min: float
    dma_per_point: float
    atomic_per_point: float
    barrier_v_per_point: float
    scalar_ub_per_point: float
    repeats_per_point: float
    ub_kib: float
    estimate: cost_model.Estimate

    @property
    def imbalance(self):
        totals = [c["total"] for c in self.estimate.per_core_us]
        return self.estimate.busiest_us / (sum(totals) / len(totals))


def figures(stats, minimum_bytes, points, soc):
    """The report's figures from a launch's statistics dict."""
    moved = stats["gm_read_bytes"] + stats["gm_write_bytes"]
    return Figures(
        moved / 1e6,
        moved / minimum_bytes,
        stats["dma_count"] / points,
        stats["atomic_dma_count"] / points,
        stats["pipe_barrier_v_count"] / points,
        stats["ub_scalar_access_count"] / points,
        stats["vector_repeat_count"] / points,
        stats["ub_peak_bytes"] / 1024,
        cost_model.estimate(stats, soc),
    )


def format_row(layer, direction, f):
    return (
        f"{layer:10s} {direction:3s} {f.gm_mb:8.3f} {f.x_min:6.2f} {f.dma_per_point:7.3f} "
        f"{f.atomic_per_point:7.3f} "
        f"{f.barrier_v_per_point:7.3f} {f.scalar_ub_per_point:7.3f} {f.repeats_per_point:8.3f} {f.ub_kib:6.1f} "
        f"{f.estimate.kernel_us:8.2f} {f.estimate.bound:>5s} {f.imbalance:5.2f}"
    )


def case_inputs(case, dtype, offsets="randn", offset_px=2.0):
    """The report's seeded (input, offset, mask, grad_output) for `case`."""
    if offsets not in OFFSET_DISTRIBUTIONS:
        raise ValueError(f"offsets must be one of {OFFSET_DISTRIBUTIONS}, got {offsets!r}")
    # make_inputs' own offsets only for --offsets uniform: randn replaces them, and drawn with a
    # spread its dtype cannot keep off integer locations (1e7 px in float32), they failed the run.
    inp, off, msk = make_inputs(
        dataclasses.replace(case, offset_range=offset_px) if offsets == "uniform" else case, dtype
    )
    if offsets == "randn":
        off = _randn_offsets(case, off.shape, dtype, offset_px)
    return inp, off, msk, make_grad_output(case, dtype)


def run_case(case, dtype, soc, offsets="randn", offset_px=2.0):
    """Runs one case forward and backward; returns (forward Figures, backward Figures, points)."""
    inp, off, msk, gout = case_inputs(case, dtype, offsets, offset_px)
    attrs = case.attrs
    points = off.shape[0] * off.shape[1] * off.shape[2] * attrs.group * attrs.points
    out, fstats = dcnv3_forward(inp, off, msk, attrs, soc=soc)
    (gi, go, gm), bstats = dcnv3_backward(inp, off, msk, gout, attrs, soc=soc)
    fwd = figures(fstats, _nbytes(inp, off, msk, out), points, soc)
    bwd = figures(bstats, _nbytes(inp, off, msk, gout, gi, go, gm), points, soc)
    return fwd, bwd, points


def report(
    dtype=torch.float32,
    soc="Ascend910B3",
    offsets="randn",
    offset_px=2.0,
    rows=None,
    models=("T", "B"),
    cases=None,
    out=print,
):
    """Prints the report. `cases` (a list of shapes.Case) replaces the InternImage layers of `models`."""
    if soc not in SOC_TABLE:
        raise ValueError(f"soc must be one of {sorted(SOC_TABLE)}, got {soc!r}")
    unknown = [m for m in models if m not in MODEL_NAMES]
    if unknown:
        raise ValueError(f"models must be among {MODEL_NAMES}, got {unknown}")
    if cases is None:
        cases = layer_cases(models=[m for m in INTERNIMAGE_MODELS if m.name in models])
    if not cases:  # the per-point totals below would divide by zero
        raise ValueError("nothing to simulate: no model and no case given")
    row = SOC_TABLE[soc]
    spread = f"randn * {offset_px} px" if offsets == "randn" else f"uniform in +-{offset_px} px"
    out(
        f"DCNv3 kernels in the AscendC simulator: {soc} ({row['vector_core_num']} vector cores, "
        f"{row['ub_bytes']} B UB), "
        f"dtype {str(dtype).replace('torch.', '')}, offsets {spread}, batch 1"
    )
    out(cost_model.constants_text(soc))
    out(HEADER)
    totals = {"fwd": [0, 0], "bwd": [0, 0]}
    start = time.perf_counter()
    for case in cases:
        full_height = case.height
        case = dataclasses.replace(case, height=min(full_height, rows or full_height))
        fwd, bwd, points = run_case(case, dtype, soc, offsets, offset_px)
        label = case.name if case.height == full_height else f"{case.name} (slice: {case.height} of {full_height} rows)"
        for direction, f in (("fwd", fwd), ("bwd", bwd)):
            out(format_row(case.name, direction, f))
            totals[direction][0] += f.dma_per_point * points
            totals[direction][1] += points
        if case.height != full_height:
            out(f"  ^ {label}")
    for direction, (dmas, points) in totals.items():
        out(f"all layers {direction}: {dmas / points:.3f} DMAs per sampled point")
    out(f"(simulated in {time.perf_counter() - start:.1f} s; 'est us' is an estimate from the cost model above)")


def main(argv=None):
    # The docstring's first sentence spans two lines; its first line alone ended the --help
    # description at "kernels on".
    parser = argparse.ArgumentParser(prog="python -m dcnv3_ascend.sim.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="T,B", help=f"comma-separated InternImage variants of {MODEL_NAMES}")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="float32")
    parser.add_argument(
        "--offsets",
        choices=OFFSET_DISTRIBUTIONS,
        default="randn",
        help="offset distribution: randn * offset-px (default) or uniform in +-offset-px",
    )
    parser.add_argument(
        "--offset-px", type=finite_float_type(0), default=2.0, help="offset spread in pixels, >= 0 (default 2)"
    )
    parser.add_argument("--soc", choices=sorted(SOC_TABLE), default="Ascend910B3")
    parser.add_argument(
        "--rows",
        type=int_type(1),
        default=None,
        help="simulate only this many output rows per layer, >= 1 (default: every row)",
    )
    args = parser.parse_args(argv)
    # Uniform offsets are kept off integer sampling locations on the dtype's grid, whose spacing
    # from 1 / eps px on is whole pixels (from 0.5 / eps on with L's and XL's offset_scale 2):
    # make_inputs then failed with a traceback. 0.25 / eps leaves room for its rounding and nudges.
    limit = 0.25 / torch.finfo(DTYPES[args.dtype]).eps
    if args.offsets == "uniform" and args.offset_px >= limit:
        parser.error(
            f"--offset-px must be below {limit:g} with --offsets uniform and --dtype {args.dtype} (beyond, its "
            f"offsets are too coarse to keep sampling locations off integers), got {args.offset_px:g}"
        )
    try:
        models = tuple(parse_names(args.models, MODEL_NAMES, "--models"))
        report(DTYPES[args.dtype], args.soc, args.offsets, args.offset_px, args.rows, models)
    except ValueError as e:
        parser.error(str(e))


if __name__ == "__main__":
    main()
