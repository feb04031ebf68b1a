"""The figures: each writes a PNG that decodes to a non-blank image."""

import matplotlib.image
import numpy as np
import pytest

from dcnv3_ascend.plot import plot_accuracy, plot_throughput

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def bench_rows():
    rows = []
    for backend, us_per_point in (("cpu", 0.1), ("fallback", 0.5), ("sim", 100.0)):
        for shape, size in (("T-stage4", 49), ("T-stage3", 196), ("T-stage2", 784), ("T-stage1", 3136)):
            fwd_ms = size * us_per_point * 1e-3
            # The simulator has no backward timing in this example: it must just be left out.
            rows.append(
                {
                    "backend": backend,
                    "shape_name": shape,
                    "size": size,
                    "fwd_ms": fwd_ms,
                    "fwdbwd_ms": None if backend == "sim" else 3 * fwd_ms,
                }
            )
    return rows


def assert_png(path, min_width):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[1] >= min_width
    assert np.ptp(image[..., :3]) > 0.5  # something was drawn on the white canvas


def test_plot_throughput_writes_png(tmp_path):
    path = tmp_path / "throughput.png"
    assert plot_throughput(bench_rows(), path) == path
    assert_png(path, min_width=1000)  # two panels: forward and forward + backward


def test_plot_throughput_forward_only(tmp_path):
    rows = [dict(r, fwdbwd_ms=None) for r in bench_rows()]
    path = tmp_path / "forward.png"
    plot_throughput(rows, path)
    assert_png(path, min_width=500)


def test_plot_throughput_without_timings_is_an_error(tmp_path):
    rows = [dict(r, fwd_ms=None, fwdbwd_ms=None) for r in bench_rows()]
    with pytest.raises(ValueError, match="no row has a positive fwd_ms"):
        plot_throughput(rows, tmp_path / "empty.png")


def test_plot_accuracy_writes_png(tmp_path):
    def row(case, backend, err):
        tensors = {
            n: {"max_abs_err": err, "max_rel_err": err, "passed": err is not None and err <= 1e-5}
            for n in ("output", "grad_input", "grad_offset", "grad_mask")
        }
        return {"case": case, "backend": backend, "dtype": "float32", "tensors": tensors}

    report = {
        "tolerances": {"float32": 1e-5},
        "cases": [{"name": "T-stage1"}, {"name": "pad0"}],
        # 0 and None (an infinite error in the JSON) must both be drawable on log axes.
        "results": [
            row("T-stage1", "cpu", 3e-7),
            row("pad0", "cpu", 0.0),
            row("T-stage1", "sim", None),
            {"case": "pad0", "backend": "sim", "dtype": "float32", "tensors": {}, "status": "error"},
        ],
    }
    path = tmp_path / "accuracy.png"
    assert plot_accuracy(report, path) == path
    assert_png(path, min_width=500)
