"""Benchmark of DCNv3 implementations on InternImage layer shapes.

    python -m dcnv3_ascend.bench [--repeats 7] [--threads 2] [--backend cpu,fallback] [--model T,B]
                                 [--shapes 64x64] [--dtype float32] [--batch 1] [--plot PNG]
                                 [--net T] [--net-repeats 5] [--net-only]

Times forward and forward+backward (one training step for a fixed grad_output) of every backend
on every shape and prints the median over the repeats, the speed-up over the baseline (the
grid_sample fallback) measured in the same run and the page faults a call took (the fallback's
time follows them), the backends timed in turn within each repeat so that a load change on a
shared machine hits them alike. Then (--net, on CPU) the whole InternImage backbone, inference
and training step, with DCNv3 against InternImage's own DCNv3_pytorch and against this
package's faster DCNv3_pytorch (bench_model.py); --net-only prints that table alone. Speed
targets are read from these tables, never asserted in unit tests.

Backends come from backends.py (the registry verify uses), shapes from shapes.py (InternImage's
layers); `measure` returns one dict per (shape, backend), which `format_table` prints and
plot.plot_throughput draws (--plot).
"""

import argparse
import os
import statistics
import time
from typing import NamedTuple, Optional

import torch

from ._cli import check_batch_fits, check_fits, int_type, output_file_type, parse_names
from .attrs import Dcnv3Attrs
from .backends import BACKENDS
from .shapes import INTERNIMAGE_MODELS, Case, layer_cases, make_grad_output, make_inputs

BASELINE = "fallback"

# InternImage-T and -B layers at a 224x224 image (shapes.py); bench --model picks others.
DEFAULT_MODELS = ("T", "B")
MODEL_NAMES = tuple(m.name for m in INTERNIMAGE_MODELS)
# The layer table's options and their defaults (main).
LAYER_TABLE_DEFAULTS = {
    "repeats": 7,
    "backend": f"cpu,{BASELINE}",
    "model": ",".join(DEFAULT_MODELS),
    "shapes": "",
    "dtype": "float32",
}

# The shape the CPU kernel's speed target is stated for: >= 20x the fallback, forward and
# forward+backward, on 2 cores.
TARGET_CASE = Case("64x64-C128-G8", 1, 64, 64, Dcnv3Attrs(group=8, group_channels=16))


class Timing(NamedTuple):
    ms: float  # median wall time of a timed call
    faults: Optional[float]  # median page faults a timed call took (None where unknown)


def page_faults():
    """Minor page faults this process (all its threads) has taken so far: each is a page the
    kernel had to map and zero, a few microseconds each. None without the resource module
    (Windows)."""
    try:
        import resource
    except ImportError:
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def faults_since(before):
    """Page faults taken since page_faults() returned `before`; None where unknown."""
    return None if before is None else page_faults() - before


def median_faults(counts):
    """Median of per-call fault counts; None where any is unknown."""
    return None if not counts or None in counts else statistics.median(counts)


def format_faults(*counts):
    """Fault counts as "a/b/..." for a table cell; "-" where any is unknown."""
    return "-" if None in counts else "/".join(f"{c:g}" for c in counts)


def interleaved_timings(fns, repeats, warmup=2, settle=1):
    """{name: Timing} of each callable of the dict fns, run in turn within each repetition, so
    that load changes on a shared machine hit all of them alike. In each turn a callable first
    runs `settle` times untimed: the timed call then finds caches, allocator and threads as its
    own previous call left them, not as the other callable did (which made a 1 ms op take 3-5 ms
    after a 30 ms one on a 2-core machine). The page faults are counted because they decide much
    of a call's time when glibc has returned its freed memory to the system: the fallback's
    64x64 forward+backward took 4,000-23,000 of them a call in some runs and none in others."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times = {name: [] for name in fns}
    faults = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            for _ in range(settle):
                fn()
            faults_before = page_faults()
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
            faults[name].append(faults_since(faults_before))
    return {name: Timing(statistics.median(times[name]) * 1e3, median_faults(faults[name])) for name in fns}


def interleaved_medians_ms(fns, repeats, warmup=2, settle=1):
    """{name: median ms} of interleaved_timings."""
    return {name: t.ms for name, t in interleaved_timings(fns, repeats, warmup, settle).items()}


def median_ms(fn, repeats, warmup=2):
    return interleaved_medians_ms({None: fn}, repeats, warmup, settle=0)[None]


def _timed_calls(backend, tensors, attrs):
    """The backend's forward and forward+backward on (input, offset, mask, grad_output), each
    returning once its device work is done."""
    input, offset, mask, grad_output = tensors

    def forward():
        backend.forward(input, offset, mask, attrs)
        backend.synchronize()

    def forward_backward():
        backend.forward_backward(input, offset, mask, grad_output, attrs)
        backend.synchronize()

    return forward, forward_backward


def measure(cases, backends, repeats=7, dtype=torch.float32):
    """One row per (case, backend) that takes dtype: times in ms (device work included, host
    copies excluded) and speed-ups over BASELINE (None where it is not among the backends).
    Rows carry the keys plot.plot_throughput reads."""
    rows = []
    for case in cases:
        host = (*make_inputs(case, dtype), make_grad_output(case, dtype))
        forwards, forward_backwards = {}, {}
        for backend in backends:
            if dtype in backend.dtypes:
                tensors = [t.to(backend.device) for t in host]
                forwards[backend.name], forward_backwards[backend.name] = _timed_calls(backend, tensors, case.attrs)
        # The backends in turn: a speed-up compares times taken under the same load.
        fwd = interleaved_timings(forwards, repeats)
        fwdbwd = interleaved_timings(forward_backwards, repeats)
        base = (fwd[BASELINE].ms, fwdbwd[BASELINE].ms) if BASELINE in fwd else None
        for name in forwards:
            rows.append(
                dict(
                    backend=name,
                    shape_name=case.name,
                    size=case.output_points,
                    dtype=str(dtype).removeprefix("torch."),
                    threads=torch.get_num_threads(),
                    fwd_ms=fwd[name].ms,
                    fwdbwd_ms=fwdbwd[name].ms,
                    fwd_faults=fwd[name].faults,
                    fwdbwd_faults=fwdbwd[name].faults,
                    fwd_speedup=base[0] / fwd[name].ms if base else None,
                    fwdbwd_speedup=base[1] / fwdbwd[name].ms if base else None,
                )
            )
    return rows


def format_table(rows):
    def ratio(x):
        return "-" if x is None else f"{x:.1f}x"

    header = (
        f"{'shape':14} {'points':>7} {'backend':9} {'fwd ms':>9} {'fwd+bwd ms':>11} {'fwd vs base':>11} "
        f"{'f+b vs base':>11} {'faults fwd/f+b':>15}"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        faults = format_faults(r["fwd_faults"], r["fwdbwd_faults"])
        lines.append(
            f"{r['shape_name']:14} {r['size']:7d} {r['backend']:9} {r['fwd_ms']:9.3f} {r['fwdbwd_ms']:11.3f} "
            f"{ratio(r['fwd_speedup']):>11} {ratio(r['fwdbwd_speedup']):>11} {faults:>15}"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m dcnv3_ascend.bench", description=__doc__.splitlines()[0])
    # The layer table's options default to None, so that --net-only, which skips that table, can
    # refuse them when given (they were ignored, silently); LAYER_TABLE_DEFAULTS fills them in.
    parser.add_argument(
        "--repeats", type=int_type(1), help="timed repetitions per measurement (median), >= 1 (default 7)"
    )
    # More threads than CPUs only slows the kernels down, and torch crashes on absurd counts.
    parser.add_argument(
        "--threads",
        type=int_type(1, os.cpu_count() or 1, "the CPU count"),
        default=None,
        help=f"torch.set_num_threads, 1 to the CPU count ({os.cpu_count()} here; default: as set)",
    )
    parser.add_argument(
        "--backend",
        help="comma list of "
        + ", ".join(BACKENDS)
        + f" (npu needs torch_npu and a device; default {LAYER_TABLE_DEFAULTS['backend']})",
    )
    parser.add_argument(
        "--model",
        help="comma list of InternImage variants: "
        + ",".join(MODEL_NAMES)
        + f" (default {LAYER_TABLE_DEFAULTS['model']})",
    )
    parser.add_argument("--batch", type=int_type(1), default=1, help="batch size, >= 1")
    parser.add_argument("--shapes", help="only shapes whose name contains this text (e.g. 64x64, T-stage1)")
    parser.add_argument(
        "--dtype", choices=["float32", "float64", "float16", "bfloat16"], help="of the layer table (default float32)"
    )
    parser.add_argument(
        "--plot", metavar="PNG", type=output_file_type, help="also draw throughput against size (plot.plot_throughput)"
    )
    parser.add_argument(
        "--net",
        default="T",
        help="InternImage backbone for the whole-model table (T, S or B; 224x224, --batch); empty to skip it",
    )
    parser.add_argument(
        "--net-repeats",
        type=int_type(1),
        default=None,
        help="timed repetitions of the whole-model table, >= 1 (default 5)",
    )
    parser.add_argument("--net-only", action="store_true", help="print the whole-model table alone (no layer table)")
    args = parser.parse_args(argv)
    # Every option is checked before the first timing: a bad one must not cost a whole run.
    if args.net_only and not args.net:
        parser.error("--net-only needs --net (T, S or B)")
    if args.net_only and args.plot:
        parser.error("--plot draws the layer table, which --net-only skips")
    given = [f"--{name}" for name in LAYER_TABLE_DEFAULTS if getattr(args, name) is not None]
    if args.net_only and given:
        parser.error(f"--net-only skips the layer table, so it refuses that table's {', '.join(given)}")
    for name, default in LAYER_TABLE_DEFAULTS.items():
        if getattr(args, name) is None:
            setattr(args, name, default)
    # None when not given: with --net '' it was ignored, silently.
    if args.net_repeats is not None and not args.net:
        parser.error("--net-repeats times the whole-model table, which --net '' skips")
    args.net_repeats = args.net_repeats or 5
    if args.net:
        # Imported here: bench_model imports this module.
        from .bench_model import VARIANTS, captured_bytes, format_model_table, measure_model

        if args.net not in VARIANTS:
            parser.error(f"--net must be one of {', '.join(VARIANTS)} (or empty), got {args.net!r}")
    if args.plot:
        try:
            from .plot import plot_throughput
        except ModuleNotFoundError as error:
            parser.error(str(error))
    dtype = getattr(torch, args.dtype)
    try:
        backends = [BACKENDS[n] for n in parse_names(args.backend, BACKENDS, "--backend")]
        models = parse_names(args.model, MODEL_NAMES, "--model")
    except ValueError as error:
        parser.error(str(error))
    for backend in backends:
        ok, reason = backend.available()
        if not ok:
            parser.error(f"backend {backend.name} is not available here: {reason}")
        if dtype not in backend.dtypes:
            takes = ", ".join(str(d).removeprefix("torch.") for d in backend.dtypes)
            parser.error(f"backend {backend.name} does not take --dtype {args.dtype} (it takes {takes})")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    layers = [c for c in layer_cases(batch=args.batch) if c.name.split("-")[0] in models]
    cases = [c for c in [TARGET_CASE.with_batch(args.batch), *layers] if args.shapes in c.name]
    if not cases:
        parser.error(f"no shape of models {models} contains {args.shapes!r}")
    try:
        check_batch_fits(args.batch, cases)
        # The whole-model table takes far more than one layer: a batch that passes the check above
        # (1000 with InternImage-T: 66 GiB of captured layer inputs alone) ran out of memory only
        # when the model table started, after the layer table's timings.
        if args.net:
            check_fits(
                captured_bytes(args.net, args.batch),
                f"--batch {args.batch} is too large for --net {args.net}: keeping its backbones' layer inputs",
            )
    except ValueError as error:
        parser.error(str(error))
    rows = []
    if not args.net_only:
        rows = measure(cases, backends, args.repeats, dtype)
        print(
            f"DCNv3 benchmark: torch {torch.__version__}, {torch.get_num_threads()} threads, {args.dtype}, "
            f"median of {args.repeats}; speed-ups against {BASELINE} measured in this run"
        )
        print(format_table(rows))
    if args.plot:
        plot_throughput(rows, args.plot, title=f"DCNv3 throughput ({args.dtype}, {torch.get_num_threads()} threads)")
    if args.net:
        net_rows = measure_model(args.net, batch=args.batch, repeats=args.net_repeats)
        print(
            f"\nInternImage-{args.net} backbone, 224x224, batch {args.batch}, float32, CPU, median of "
            f"{args.net_repeats}: DCNv3 against InternImage's DCNv3_pytorch and this package's DCNv3_pytorch "
            "(same weights, this run); the DCNv3 core is mask softmax + sampling (+ their backward), timed alone "
            "on every layer's inputs; DCNv3 also runs each dw_conv branch as one op (part of its rest)"
        )
        print(format_model_table(net_rows))
    return rows


if __name__ == "__main__":
    main()
