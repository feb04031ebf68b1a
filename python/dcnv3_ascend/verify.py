"""Accuracy report: every backend against the float64 golden, on InternImage shapes and edge cases.

    python -m dcnv3_ascend.verify [--backend cpu|sim|npu|fallback|all] [--dtype float32|...|all]
                                  [--suite quick|full] [--json FILE] [--batch N] [--case NAMES]
                                  [--seed N] [--plot PNG]

For each case, backend and dtype it runs the forward and backward pass on the same seeded inputs
(shapes.make_inputs) and compares the output and the three gradients with
reference.dcnv3_reference / dcnv3_reference_backward. It prints markdown tables (backends, cases,
tolerances, results) and exits with 1 when any comparison fails or errors, or when nothing
could be compared (2 on a usage error, such as naming a backend this machine lacks). Backends
are listed with a comma (--backend cpu,sim); `all` takes every backend available here,
including the NPU when torch_npu sees one.
"""

import argparse
import dataclasses
import fnmatch
import json
import math
import sys
import time

import torch

try:
    from tqdm import tqdm
except ModuleNotFoundError:  # only the progress bar needs it; tqdm is not a runtime dependency
    tqdm = None

from ._cli import check_batch_fits, int_type, output_file_type, parse_names
from .backends import BACKENDS
from .reference import dcnv3_reference, dcnv3_reference_backward
from .shapes import SEED_RANGE, data_dtype, edge_cases, layer_cases, make_grad_output, make_inputs

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16, "float64": torch.float64}
DTYPE_NAMES = {v: k for k, v in DTYPES.items()}

# The largest max_rel_err (see relative_error) each dtype may reach, for the output and each
# gradient. Half types are accumulated in float32, so their error is mostly the final rounding
# (half an ulp: 4.9e-4 fp16, 3.9e-3 bf16); the bounds leave room for a few roundings more and
# for accumulation orders that differ (atomic adds). float32 allows ~80 ulps of the largest value.
TOLERANCES = {torch.float64: 1e-10, torch.float32: 1e-5, torch.float16: 2e-3, torch.bfloat16: 1.6e-2}

RELATIVE_ERROR = (
    "max_rel_err = max|actual - ref| / max|ref| over the whole tensor (the error relative to the "
    "tensor's scale, so reference entries near zero cannot inflate it; max|actual - ref| when ref "
    "is all zero); NaN or Inf in actual counts as infinite error"
)

TENSORS = ("output", "grad_input", "grad_offset", "grad_mask")

# The quick suite's InternImage layers: all of T, one stage of every other model, covering every
# group_channels (16, 32), offset_scale (1, 2) and the group counts 4 to 96.
QUICK_LAYERS = (
    "T-stage1",
    "T-stage2",
    "T-stage3",
    "T-stage4",
    "S-stage2",
    "B-stage3",
    "L-stage2",
    "XL-stage4",
    "H-stage1",
)
# Layers run on a crop of at most this many input pixels a side (the golden is a Python loop).
SUITE_CROP = {"quick": 8, "full": 14}


def suite_cases(suite, batch=1):
    """The cases of `suite` ('quick' or 'full'): cropped InternImage layers, then edge cases."""
    layers = layer_cases(batch=batch)
    if suite == "quick":
        layers = [c for c in layers if c.name in QUICK_LAYERS]
    return [c.cropped(SUITE_CROP[suite]) for c in layers] + edge_cases()


def relative_error(actual, expected):
    """(max_abs_err, max_rel_err) of `actual` against the float64 tensor `expected`."""
    if actual.numel() == 0:
        return 0.0, 0.0
    if not torch.isfinite(actual).all():
        return math.inf, math.inf
    max_abs = (actual.to(torch.float64) - expected).abs().max().item()
    scale = expected.abs().max().item()
    return max_abs, (max_abs / scale if scale > 0 else max_abs)


def _check_tensor(actual, expected, dtype):
    """Comparison of one output: errors, pass flag and, when it cannot be compared, why."""
    if not isinstance(actual, torch.Tensor) or actual.shape != expected.shape or actual.dtype != dtype:
        got = f"{actual.dtype} {list(actual.shape)}" if isinstance(actual, torch.Tensor) else type(actual).__name__
        return {
            "max_abs_err": math.inf,
            "max_rel_err": math.inf,
            "passed": False,
            "problem": f"expected {DTYPE_NAMES[dtype]} {list(expected.shape)}, got {got}",
        }
    max_abs, max_rel = relative_error(actual, expected)
    return {"max_abs_err": max_abs, "max_rel_err": max_rel, "passed": max_rel <= TOLERANCES[dtype]}


class _Golden:
    """float64 reference results, computed once per (case, data grid, seed) and shared by backends."""

    def __init__(self):
        self._cache = {}

    def get(self, case, dtype, seed):
        key = (case, data_dtype(dtype), seed)
        if key not in self._cache:
            # Callers go case by case: keep only the current case's goldens.
            self._cache = {k: v for k, v in self._cache.items() if k[0] == case}
            inputs = make_inputs(case, dtype, seed)
            grad_output = make_grad_output(case, dtype, seed)
            self._cache[key] = (
                dcnv3_reference(*inputs, case.attrs),
                *dcnv3_reference_backward(*inputs, grad_output, case.attrs),
            )
        return self._cache[key]


def run_case(backend, case, dtype, golden, seed=0):
    """One result row: backend vs. golden for `case` in `dtype`."""
    row = {"case": case.name, "backend": backend.name, "dtype": DTYPE_NAMES[dtype], "tolerance": TOLERANCES[dtype]}
    expected = golden.get(case, dtype, seed)
    input, offset, mask, grad_output = (
        t.to(backend.device) for t in (*make_inputs(case, dtype, seed), make_grad_output(case, dtype, seed))
    )
    start = time.perf_counter()
    try:
        actual = (
            backend.forward(input, offset, mask, case.attrs),
            *backend.backward(input, offset, mask, grad_output, case.attrs),
        )
        actual = [a.cpu() if isinstance(a, torch.Tensor) else a for a in actual]
    except Exception as e:  # a crashing backend is a result to report, not a reason to stop
        row.update(status="error", reason=f"{type(e).__name__}: {e}".splitlines()[0], seconds=None, tensors={})
        return row
    row["seconds"] = time.perf_counter() - start
    row["tensors"] = {name: _check_tensor(a, e, dtype) for name, a, e in zip(TENSORS, actual, expected)}
    row["status"] = "pass" if all(t["passed"] for t in row["tensors"].values()) else "fail"
    return row


def _case_record(case):
    h_out, w_out = case.output_size
    return {
        "name": case.name,
        "batch": case.batch,
        "height": case.height,
        "width": case.width,
        "height_out": h_out,
        "width_out": w_out,
        "attrs": dataclasses.asdict(case.attrs),
        "offset_range": case.offset_range,
        "nonfinite_offsets": case.nonfinite_offsets,
        "note": case.note,
    }


def run_suite(backends, dtypes, cases, seed=0, progress=None):
    """Runs every (case, dtype, backend) and returns the report dict that --json writes.

    progress: show a tqdm bar on stderr (None: only when stderr is a terminal); without tqdm
    installed there is no bar.
    """
    skipped = [
        {"backend": b.name, "dtype": DTYPE_NAMES[d], "reason": f"{b.name} does not take {DTYPE_NAMES[d]}"}
        for b in backends
        for d in dtypes
        if d not in b.dtypes
    ]
    jobs = [(c, d, b) for c in cases for d in dtypes for b in backends if d in b.dtypes]
    golden = _Golden()
    results = []
    show_bar = (sys.stderr.isatty() if progress is None else progress) and tqdm is not None
    bar = tqdm(total=len(jobs), file=sys.stderr, unit="run", desc="verify") if show_bar else None
    for case, dtype, backend in jobs:
        if bar:
            bar.set_postfix_str(f"{case.name} {backend.name} {DTYPE_NAMES[dtype]}")
        results.append(run_case(backend, case, dtype, golden, seed))
        if bar:
            bar.update()
    if bar:
        bar.close()
    summary = {s: sum(r["status"] == s for r in results) for s in ("pass", "fail", "error")}
    summary["skip"] = len(skipped) * len(cases)
    return {
        "seed": seed,
        "relative_error": RELATIVE_ERROR,
        "tolerances": {DTYPE_NAMES[d]: TOLERANCES[d] for d in dtypes},
        "backends": {b.name: b.description for b in backends},
        "cases": [_case_record(c) for c in cases],
        "results": results,
        "skipped": skipped,
        "summary": summary,
        "passed": summary["pass"] > 0 and summary["fail"] == 0 and summary["error"] == 0,
    }


def _sci(value):
    return "inf" if value is None or math.isinf(value) else f"{value:.1e}"


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _result_cells(row):
    if row["status"] == "error":
        return ["-"] * (2 * len(TENSORS)) + [f"ERROR: {row['reason']}"]
    cells = []
    for name in TENSORS:
        t = row["tensors"][name]
        cells += [_sci(t["max_abs_err"]), _sci(t["max_rel_err"])]
    failed = [f"{n} ({t['problem']})" if "problem" in t else n for n, t in row["tensors"].items() if not t["passed"]]
    return cells + ["pass" if not failed else "FAIL: " + ", ".join(failed)]


def _worst_rows(results):
    """Per (backend, dtype): runs, failures and the largest relative error of each tensor."""
    groups = {}
    for r in results:
        groups.setdefault((r["backend"], r["dtype"]), []).append(r)
    rows = []
    for (backend, dtype), runs in groups.items():
        row = [backend, dtype, len(runs), sum(r["status"] != "pass" for r in runs)]
        for name in TENSORS:
            measured = [(r["tensors"][name]["max_rel_err"], r["case"]) for r in runs if r["tensors"]]
            row.append(f"{_sci(max(measured)[0])} ({max(measured)[1]})" if measured else "-")
        rows.append(row)
    return rows


def format_report(report, suite_note=""):
    """The report as markdown: backends, cases, tolerances, results and a summary line."""
    parts = []
    if suite_note:
        parts.append(suite_note)
    parts.append(_table(["backend", "what runs"], sorted(report["backends"].items())))
    case_rows = []
    for c in report["cases"]:
        a = c["attrs"]
        case_rows.append(
            [
                c["name"],
                f"{c['batch']}x{c['height']}x{c['width']}",
                f"{c['height_out']}x{c['width_out']}",
                a["group"],
                a["group_channels"],
                f"{a['kernel_h']}x{a['kernel_w']}",
                f"{a['stride_h']},{a['stride_w']}",
                f"{a['pad_h']},{a['pad_w']}",
                f"{a['dilation_h']},{a['dilation_w']}",
                a["offset_scale"],
                a["remove_center"],
                f"±{c['offset_range']:g}" + (" +NaN/Inf" if c["nonfinite_offsets"] else ""),
                c["note"],
            ]
        )
    parts.append(
        _table(
            [
                "case",
                "N x H x W",
                "out",
                "group",
                "group_ch",
                "kernel",
                "stride",
                "pad",
                "dilation",
                "offset_scale",
                "remove_center",
                "offsets (px)",
                "note",
            ],
            case_rows,
        )
    )
    parts.append(
        "Tolerance: " + report["relative_error"] + ". A run passes when max_rel_err <= tolerance for "
        "the output and all three gradients."
    )
    parts.append(_table(["dtype", "max_rel_err allowed"], [[d, f"{t:g}"] for d, t in report["tolerances"].items()]))
    header = ["case", "backend", "dtype"]
    for name in TENSORS:
        header += [f"{name} abs", f"{name} rel"]
    parts.append(
        _table(
            header + ["result"], [[r["case"], r["backend"], r["dtype"]] + _result_cells(r) for r in report["results"]]
        )
    )
    parts.append(
        _table(
            ["backend", "dtype", "runs", "failed"] + [f"worst {n} rel (case)" for n in TENSORS],
            _worst_rows(report["results"]),
        )
    )
    for s in report["skipped"]:
        parts.append(f"Skipped: {s['backend']} {s['dtype']} ({s['reason']}).")
    summary = report["summary"]
    verdict = "PASSED" if report["passed"] else "FAILED"
    parts.append(
        f"{verdict}: {summary['pass']} passed, {summary['fail']} failed, {summary['error']} errors, "
        f"{summary['skip']} skipped (case x backend x dtype)."
    )
    return "\n\n".join(parts)


def _json_safe(value):
    """JSON has no Infinity/NaN: non-finite errors are written as null (and fail)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def _select_backends(text):
    """The backends named by --backend; `all` keeps the available ones, a name must be available."""
    if text == "all":
        status = {b.name: b.available() for b in BACKENDS.values()}
        chosen = [b for b in BACKENDS.values() if status[b.name][0]]
        return chosen, {name: why for name, (ok, why) in status.items() if not ok}
    chosen = [BACKENDS[n] for n in parse_names(text, BACKENDS, "--backend", allow_all=True)]
    for b in chosen:
        ok, reason = b.available()
        if not ok:
            raise ValueError(f"backend {b.name} is not available here: {reason}")
    return chosen, {}


def _select_cases(cases, patterns):
    if not patterns:
        return cases
    wanted = [p.strip() for p in patterns.split(",") if p.strip()]
    chosen = [c for c in cases if any(fnmatch.fnmatchcase(c.name, p) for p in wanted)]
    if not chosen:
        raise ValueError(f"--case {patterns!r} matches none of: {', '.join(c.name for c in cases)}")
    return chosen


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m dcnv3_ascend.verify", description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default="all", help="all, or a comma list of: " + ", ".join(BACKENDS))
    parser.add_argument("--dtype", default="all", help="all, or a comma list of: " + ", ".join(DTYPES))
    parser.add_argument("--suite", choices=tuple(SUITE_CROP), default="quick")
    # Output paths are checked before the run: a typo must not cost its results, nor read as a
    # failed verification (exit status 1).
    parser.add_argument("--json", metavar="FILE", type=output_file_type, help="also write the results as JSON")
    parser.add_argument("--batch", type=int_type(1), default=1, help="batch size of the InternImage layer cases")
    parser.add_argument("--case", metavar="NAMES", help="only these cases (comma list, shell wildcards)")
    parser.add_argument(
        "--seed",
        type=int_type(*SEED_RANGE, "torch.Generator's seed range"),
        default=0,
        help=f"seed of the inputs, {SEED_RANGE[0]} to {SEED_RANGE[1]} (default 0)",
    )
    parser.add_argument(
        "--plot", metavar="PNG", type=output_file_type, help="also draw the worst error per case (plot.plot_accuracy)"
    )
    args = parser.parse_args(argv)
    if args.plot:
        try:  # before the run, not after it
            from .plot import plot_accuracy
        except ModuleNotFoundError as error:
            parser.error(str(error))

    try:
        backends, unavailable = _select_backends(args.backend)
        dtypes = [DTYPES[n] for n in parse_names(args.dtype, DTYPES, "--dtype", allow_all=True)]
        cases = _select_cases(suite_cases(args.suite, args.batch), args.case)
        check_batch_fits(args.batch, cases)
    except ValueError as e:
        parser.error(str(e))  # exits with status 2: a usage error, not a failed verification
    report = run_suite(backends, dtypes, cases, seed=args.seed)
    report["suite"] = args.suite
    report["unavailable_backends"] = unavailable

    crop = SUITE_CROP[args.suite]
    note = (
        f"DCNv3 verification, suite `{args.suite}`, seed {args.seed}, torch {torch.__version__} with "
        f"{torch.get_num_threads()} CPU threads: each backend against the float64 golden "
        f"(dcnv3_ascend.reference). InternImage layer cases keep the real layer's channels, groups "
        f"and kernel (224x224 image, batch {args.batch}) on a {crop}x{crop} spatial crop, because the golden "
        f"is a Python loop. Inputs are drawn in each dtype and fed unchanged to the golden, so the errors "
        f"are the backend's arithmetic only."
    )
    if unavailable:
        note += "\n\n" + "\n".join(f"Not run: {name} ({why})." for name, why in unavailable.items())
    print(format_report(report, note))
    if args.json is not None:
        with open(args.json, "w") as f:
            json.dump(_json_safe(report), f, indent=1, allow_nan=False)
    if args.plot is not None:
        plot_accuracy(report, args.plot)
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
