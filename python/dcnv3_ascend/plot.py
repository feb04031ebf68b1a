"""Figures for the benchmark and the accuracy report, drawn with matplotlib's Agg canvas.

Figures are built on matplotlib.figure.Figure directly (not pyplot), so plotting needs no
display and leaves the caller's pyplot state and backend alone.
"""

import math

from ._optional_deps import require

FigureCanvasAgg = require("matplotlib.backends.backend_agg", "plotting (--plot)").FigureCanvasAgg
Figure = require("matplotlib.figure", "plotting (--plot)").Figure

# Timings of a bench row: (row key, panel title).
_PASSES = (("fwd_ms", "forward"), ("fwdbwd_ms", "forward + backward"))


def _finite_positive(value):
    return value is not None and math.isfinite(value) and value > 0


def _series(rows, key):
    """{backend: {size: [output points per second, one per shape of that size]}} for rows timed
    for `key`."""
    series = {}
    for row in rows:
        ms = row.get(key)
        if _finite_positive(ms) and row["size"] > 0:
            by_size = series.setdefault(row["backend"], {})
            by_size.setdefault(row["size"], []).append(row["size"] / (ms * 1e-3))
    return series


def _geometric_mean(values):
    return math.exp(sum(math.log(v) for v in values) / len(values))


def plot_throughput(rows, path, title="DCNv3 throughput"):
    """Writes a PNG of throughput against problem size, one line per backend, log-log.

    rows: dicts {backend, shape_name, size (output points N*Ho*Wo), fwd_ms, fwdbwd_ms}; a missing,
    None or non-positive time leaves that point out. One panel per pass that has any timing.
    Every row is a marker; where several shapes share a size (InternImage-T and -B stage 1 both
    have 56x56 outputs) the backend's line goes through their geometric mean. Returns path.
    """
    panels = [(key, name, _series(rows, key)) for key, name in _PASSES]
    panels = [p for p in panels if p[2]]
    if not panels:
        raise ValueError("plot_throughput: no row has a positive fwd_ms or fwdbwd_ms to plot")
    fig = Figure(figsize=(6 * len(panels), 4.5), layout="constrained")
    FigureCanvasAgg(fig)
    for i, (_, name, series) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        for backend, by_size in sorted(series.items()):
            sizes = sorted(by_size)
            (line,) = ax.plot(sizes, [_geometric_mean(by_size[s]) for s in sizes], label=backend)
            points = [(s, r) for s in sizes for r in by_size[s]]
            ax.plot(*zip(*points), linestyle="none", marker="o", color=line.get_color())
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("problem size (output points N x H_out x W_out)")
        ax.set_ylabel("output points per second")
        ax.set_title(name)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.savefig(path, format="png", dpi=120)
    return path


# Where an error is drawn when it is 0 (log axes cannot show 0) or not finite.
_ZERO_ERROR = 1e-18
_INFINITE_ERROR = 1.0


def plot_accuracy(report, path):
    """Writes a PNG of verify's worst relative error per case (over the output and the three
    gradients), one panel per dtype, one marker series per backend, the tolerance dashed.

    report: the dict dcnv3_ascend.verify.run_suite returns (or its --json file loaded).
    Returns path.
    """
    dtypes = list(report["tolerances"])
    cases = [c["name"] for c in report["cases"]]
    fig = Figure(figsize=(max(8.0, 0.35 * len(cases)), 3.2 * len(dtypes)), layout="constrained")
    FigureCanvasAgg(fig)
    for i, dtype in enumerate(dtypes):
        ax = fig.add_subplot(len(dtypes), 1, i + 1)
        runs = [r for r in report["results"] if r["dtype"] == dtype]
        for backend in sorted({r["backend"] for r in runs}):
            xs, ys = [], []
            for r in runs:
                if r["backend"] != backend:
                    continue
                errors = [t["max_rel_err"] for t in r["tensors"].values()]
                worst = (
                    max((e if e is not None and math.isfinite(e) else math.inf) for e in errors) if errors else math.inf
                )
                xs.append(cases.index(r["case"]))
                ys.append(_INFINITE_ERROR if math.isinf(worst) else max(worst, _ZERO_ERROR))
            ax.plot(xs, ys, linestyle="none", marker="o", label=backend)
        ax.axhline(report["tolerances"][dtype], linestyle="--", color="k", label="tolerance")
        ax.set_yscale("log")
        ax.set_ylabel("max relative error")
        ax.set_title(dtype)
        ax.set_xticks(range(len(cases)))
        ax.set_xticklabels(cases if i == len(dtypes) - 1 else [], rotation=60, ha="right", fontsize=7)
        ax.grid(True, axis="y", alpha=0.3)
        ax.legend(fontsize=7)
    fig.savefig(path, format="png", dpi=110)
    return path
