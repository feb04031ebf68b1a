"""The verification tool: real backends pass its quick suite, broken ones fail it.

Runs a small subset of the quick suite in-process (a few cases, float32 and float64, which share
one float64 golden) so the file stays fast.
"""

import json
import math
import os

import pytest
import torch

from dcnv3_ascend import verify
from dcnv3_ascend.backends import BACKENDS, Backend, FallbackBackend

SUBSET = "T-stage1,XL-stage4,remove_center,nonfinite_offsets,group_channels_3,kernel3x5_mixed"
SUBSET_SIZE = len(SUBSET.split(","))


class NoisyBackend(FallbackBackend):
    """The fallback with 1e-2 of seeded noise on every result: a kernel with a small bug."""

    name = "noisy"

    def _noisy(self, t):
        gen = torch.Generator().manual_seed(t.numel())
        return t + 1e-2 * torch.randn(t.shape, generator=gen, dtype=torch.float64).to(t.dtype)

    def forward(self, *args):
        return self._noisy(super().forward(*args))

    def backward(self, *args):
        return tuple(self._noisy(g) for g in super().backward(*args))


class CrashingBackend(Backend):
    name = "crashing"

    def forward(self, *args):
        raise RuntimeError("kernel launch failed")


class WrongDtypeBackend(FallbackBackend):
    """Right numbers, wrong dtype (computes in float64 and forgets to cast back)."""

    name = "wrong_dtype"

    def forward(self, input, offset, mask, attrs):
        return super().forward(input.double(), offset.double(), mask.double(), attrs)

    def backward(self, input, offset, mask, grad_output, attrs):
        return super().backward(input.double(), offset.double(), mask.double(), grad_output.double(), attrs)


def _subset_cases():
    return [c for c in verify.suite_cases("quick") if c.name in SUBSET.split(",")]


@pytest.mark.parametrize("backend", ["fallback", "cpu"])
def test_real_backend_passes_quick_subset(backend, tmp_path):
    ok, reason = BACKENDS[backend].available()
    assert ok, f"backend {backend} must be available in the test environment: {reason}"
    path = tmp_path / "verify.json"
    status = verify.main(["--backend", backend, "--dtype", "float32,float64", "--case", SUBSET, "--json", str(path)])
    report = json.loads(path.read_text())

    assert status == 0 and report["passed"] is True
    assert report["summary"] == {"pass": 2 * SUBSET_SIZE, "fail": 0, "error": 0, "skip": 0}
    assert report["tolerances"] == {"float32": 1e-5, "float64": 1e-10}
    assert sorted(c["name"] for c in report["cases"]) == sorted(SUBSET.split(","))
    assert len(report["results"]) == 2 * SUBSET_SIZE
    for row in report["results"]:
        assert row["backend"] == backend and row["status"] == "pass"
        assert set(row["tensors"]) == {"output", "grad_input", "grad_offset", "grad_mask"}
        for name, t in row["tensors"].items():
            assert isinstance(t["max_abs_err"], float) and isinstance(t["max_rel_err"], float), (row["case"], name)
            assert 0.0 <= t["max_rel_err"] <= row["tolerance"], (row["case"], row["dtype"], name, t)
    # Real arithmetic leaves a trace: float32 results are not bit-equal to the float64 golden.
    assert all(r["tensors"]["output"]["max_abs_err"] > 0 for r in report["results"] if r["dtype"] == "float32")


def test_noisy_backend_fails(monkeypatch, capsys):
    monkeypatch.setitem(BACKENDS, "noisy", NoisyBackend())
    status = verify.main(["--backend", "noisy", "--dtype", "float32", "--case", "T-stage1,remove_center"])
    printed = capsys.readouterr().out

    assert status != 0
    assert "FAILED: 0 passed, 2 failed" in printed
    assert "FAIL: output, grad_input, grad_offset, grad_mask" in printed


def test_noisy_backend_errors_exceed_tolerance():
    report = verify.run_suite([NoisyBackend()], [torch.float32], _subset_cases()[:2], progress=False)
    assert report["passed"] is False
    for row in report["results"]:
        assert row["status"] == "fail"
        for t in row["tensors"].values():
            assert t["passed"] is False
            assert t["max_rel_err"] > 100 * verify.TOLERANCES[torch.float32]


def test_crashing_backend_is_an_error_not_a_crash():
    report = verify.run_suite([CrashingBackend()], [torch.float32], _subset_cases()[:1], progress=False)
    (row,) = report["results"]
    assert row["status"] == "error" and "kernel launch failed" in row["reason"]
    assert report["passed"] is False and report["summary"]["error"] == 1


def test_wrong_output_dtype_fails():
    report = verify.run_suite([WrongDtypeBackend()], [torch.float32], _subset_cases()[:1], progress=False)
    (row,) = report["results"]
    assert row["status"] == "fail"
    assert "expected float32" in row["tensors"]["output"]["problem"]


def test_nothing_verified_is_not_a_pass(monkeypatch):
    fp64_only = FallbackBackend()
    fp64_only.name, fp64_only.dtypes = "fp64_only", (torch.float64,)
    monkeypatch.setitem(BACKENDS, "fp64_only", fp64_only)
    assert verify.main(["--backend", "fp64_only", "--dtype", "float32", "--case", "T-stage1"]) != 0


def test_unavailable_backend_is_refused(monkeypatch, capsys):
    class Missing(Backend):
        name = "missing"

        def available(self):
            return False, "no such device"

    monkeypatch.setitem(BACKENDS, "missing", Missing())
    with pytest.raises(SystemExit) as exit_info:
        verify.main(["--backend", "missing"])
    assert exit_info.value.code == 2
    assert "backend missing is not available here: no such device" in capsys.readouterr().err


def test_relative_error_definition():
    expected = torch.tensor([0.0, -4.0, 2.0], dtype=torch.float64)
    assert verify.relative_error(torch.tensor([0.0, -4.0, 2.5]), expected) == (0.5, 0.125)
    assert verify.relative_error(torch.tensor([0.25, 0.0, 0.0]), torch.zeros(3, dtype=torch.float64)) == (0.25, 0.25)
    assert verify.relative_error(torch.tensor([math.nan, -4.0, 2.0]), expected) == (math.inf, math.inf)
    assert verify.relative_error(torch.tensor([0.0, -math.inf, 2.0]), expected) == (math.inf, math.inf)


def test_npu_backend_reports_instead_of_crashing():
    ok, reason = BACKENDS["npu"].available()
    assert isinstance(ok, bool) and isinstance(reason, str)
    assert ok or reason  # unavailable always says why


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--json", "/nonexistent/dir/report.json"], "argument --json: cannot write '/nonexistent/dir/report.json'"),
        (["--json", ""], "argument --json: the file name is empty"),
        (["--plot", "/nonexistent/dir/errors.png"], "argument --plot: cannot write '/nonexistent/dir/errors.png'"),
        (["--seed", "99999999999999999999"], "argument --seed: must be an integer from -9223372036854775808 to"),
        (["--seed", str(-(2**63) - 1)], "18446744073709551615 (torch.Generator's seed range)"),
        (["--batch", "0"], "argument --batch: must be an integer >= 1, got '0'"),
        # More memory than any machine has: an allocator traceback after setup, or an integer
        # overflow past int64, before the batch was checked against the memory.
        (["--batch", "100000000000"], "--batch 100000000000 is too large: case "),
        (["--batch", "99999999999999999999"], "--batch 99999999999999999999 is too large: case "),
        (["--backend", ""], "--backend must be 'all' or a comma list of cpu, fallback, sim, npu, got ''"),
    ],
)
def test_bad_options_are_usage_errors_before_the_run(argv, message, monkeypatch, capsys):
    monkeypatch.setattr(verify, "run_suite", lambda *args, **kwargs: pytest.fail("the suite ran"))
    with pytest.raises(SystemExit) as exit_info:
        verify.main(argv)
    assert exit_info.value.code == 2  # not 1, which says that verification failed
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("option", ["--json", "--plot"])
def test_output_path_that_is_a_directory_is_refused(option, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(verify, "run_suite", lambda *args, **kwargs: pytest.fail("the suite ran"))
    with pytest.raises(SystemExit) as exit_info:
        verify.main([option, str(tmp_path)])
    assert exit_info.value.code == 2
    assert f"argument {option}: '{tmp_path}' is a directory, not a file name" in capsys.readouterr().err


def test_repeated_backend_and_dtype_run_once(tmp_path):
    path = tmp_path / "report.json"
    argv = ["--backend", "fallback,fallback", "--dtype", "float32,float32", "--case", "remove_center,remove_center"]
    assert verify.main([*argv, "--json", str(path)]) == 0
    report = json.loads(path.read_text())
    assert report["summary"] == {"pass": 1, "fail": 0, "error": 0, "skip": 0}
    rows = [(r["backend"], r["dtype"], r["case"]) for r in report["results"]]
    assert rows == [("fallback", "float32", "remove_center")]


@pytest.mark.parametrize("seed", [-(2**63), 2**64 - 1])
def test_seeds_at_the_ends_of_torchs_range_run(seed, tmp_path):
    path = tmp_path / "report.json"
    argv = ["--backend", "fallback", "--dtype", "float32", "--case", "remove_center", "--seed", str(seed)]
    assert verify.main([*argv, "--json", str(path)]) == 0
    assert json.loads(path.read_text())["seed"] == seed


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
@pytest.mark.parametrize("path", ["/proc/dcnv3_report.json", "/proc/version"], ids=["new", "existing"])
@pytest.mark.parametrize("option", ["--json", "--plot"])
def test_output_path_that_cannot_be_written_is_refused(option, path, monkeypatch, capsys):
    """os.access says yes to root for /proc (and read-only file systems): the file failed to open
    only after the whole run, with a traceback."""
    monkeypatch.setattr(verify, "run_suite", lambda *args, **kwargs: pytest.fail("the suite ran"))
    with pytest.raises(SystemExit) as exit_info:
        verify.main([option, path])
    assert exit_info.value.code == 2
    assert f"argument {option}: cannot write '{path}': " in capsys.readouterr().err
