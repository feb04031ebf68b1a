"""bench's timer: backends timed in turn within each repetition, medians per backend."""

import mmap

import pytest

from dcnv3_ascend import bench


class FakeClock:
    """perf_counter for bench: time moves only when a timed call advances it."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_calls_alternate_and_medians_are_per_name(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(bench.time, "perf_counter", clock)
    calls = []
    # One warm-up, then per repetition one untimed settling call and one timed call of each:
    # a's timed calls take 1, 5, 2, 9, 3 ms (median 3), b's 4 ms; the untimed ones 100 ms.
    timed_ms = {"a": [1.0, 5.0, 2.0, 9.0, 3.0], "b": [4.0] * 5}

    def fake(name):
        def call():
            calls.append(name)
            index = sum(c == name for c in calls) - 1
            clock.now += (timed_ms[name][index // 2 - 1] if index % 2 == 0 and index > 0 else 100.0) / 1e3

        return call

    medians = bench.interleaved_medians_ms({"a": fake("a"), "b": fake("b")}, repeats=5, warmup=1, settle=1)
    assert calls == ["a", "b"] + ["a", "a", "b", "b"] * 5
    assert medians == pytest.approx({"a": 3.0, "b": 4.0})


def test_median_ms_of_one_call(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(bench.time, "perf_counter", clock)
    steps = iter([0.0, 0.0, 0.002, 0.007, 0.001])

    def call():
        clock.now += next(steps)

    assert bench.median_ms(call, repeats=3) == pytest.approx(2.0)


def test_timings_count_the_page_faults_of_timed_calls_only(monkeypatch):
    # A fault counter that only the calls advance: each settling call takes 100 faults, a's timed
    # calls 3, 9, 5 (median 5), b's none.
    counter = [0]
    monkeypatch.setattr(bench, "page_faults", lambda: counter[0])
    timed_faults = {"a": iter([3, 9, 5]), "b": iter([0, 0, 0])}
    turns = {"a": 0, "b": 0}

    def fake(name):
        def call():
            turns[name] += 1
            # Call 1 is the warm-up; then settling (even) and timed (odd) calls alternate.
            counter[0] += next(timed_faults[name]) if turns[name] > 1 and turns[name] % 2 == 1 else 100

        return call

    timings = bench.interleaved_timings({"a": fake("a"), "b": fake("b")}, repeats=3, warmup=1, settle=1)
    assert timings["a"].faults == 5 and timings["b"].faults == 0


def test_page_faults_counts_fresh_pages():
    """Each first touch of a page of fresh anonymous memory is one fault (huge pages refused, so
    that 2 MB is not one fault)."""
    pages = 256
    region = mmap.mmap(-1, pages * mmap.PAGESIZE)
    if hasattr(mmap, "MADV_NOHUGEPAGE"):
        region.madvise(mmap.MADV_NOHUGEPAGE)
    before = bench.page_faults()
    for page in range(pages):
        region[page * mmap.PAGESIZE] = 1
    assert pages <= bench.page_faults() - before < 2 * pages
    region.close()


def test_table_shows_page_faults_per_call():
    row = dict(shape_name="64x64-C128-G8", size=4096, fwd_ms=40.0, fwdbwd_ms=90.0, fwd_speedup=1.0)
    rows = [
        dict(row, backend="fallback", fwd_faults=9184, fwdbwd_faults=18400.5, fwdbwd_speedup=1.0),
        dict(row, backend="cpu", fwd_faults=0, fwdbwd_faults=0, fwdbwd_speedup=18.0),
        dict(row, backend="npu", fwd_faults=None, fwdbwd_faults=None, fwdbwd_speedup=None),
    ]
    lines = bench.format_table(rows).splitlines()
    assert lines[0].split()[-2:] == ["faults", "fwd/f+b"]
    assert [line.split()[-1] for line in lines[2:]] == ["9184/18400.5", "0/0", "-"]


@pytest.fixture
def no_timing(monkeypatch):
    """bench.measure and torch.set_num_threads replaced by recorders: option checks run, no timing."""
    calls = {}

    def measure(cases, backends, repeats, dtype):
        calls["measure"] = ([c.name for c in cases], [b.name for b in backends], repeats, dtype)
        return []

    monkeypatch.setattr(bench, "measure", measure)
    monkeypatch.setattr(bench.torch, "set_num_threads", lambda n: calls.setdefault("threads", n))
    return calls


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--repeats", "0"], "argument --repeats: must be an integer >= 1, got '0'"),
        (["--repeats", "-3"], "argument --repeats: must be an integer >= 1, got '-3'"),
        (["--net-repeats", "0"], "argument --net-repeats: must be an integer >= 1, got '0'"),
        (["--batch", "-1"], "argument --batch: must be an integer >= 1, got '-1'"),
        (["--batch", "0"], "argument --batch: must be an integer >= 1, got '0'"),
        (["--threads", "-1"], "argument --threads: must be an integer from 1 to"),
        (["--threads", "0"], "argument --threads: must be an integer from 1 to"),
        (["--threads", "100000"], "(the CPU count), got '100000'"),
        (["--backend", "bogus"], "--backend must be a comma list of cpu, fallback, sim, npu, got 'bogus'"),
        (["--backend", ""], "--backend must be a comma list of cpu, fallback, sim, npu, got ''"),
        (["--model", "bogus"], "--model must be a comma list of T, S, B, L, XL, H, got 'bogus'"),
        (["--model", ""], "--model must be a comma list of T, S, B, L, XL, H, got ''"),
        (["--net", "bogus"], "--net must be one of T, S, B (or empty), got 'bogus'"),
        (["--plot", "/nonexistent/dir/x.png"], "argument --plot: cannot write '/nonexistent/dir/x.png'"),
        (["--net-only", "--net", ""], "--net-only needs --net (T, S or B)"),
        (["--net-only", "--plot", "x.png"], "--plot draws the layer table, which --net-only skips"),
        (["--net", "", "--net-repeats", "3"], "--net-repeats times the whole-model table, which --net '' skips"),
        # Ignored, silently, before: the layer table's options with --net-only.
        (["--net-only", "--repeats", "3"], "--net-only skips the layer table, so it refuses that table's --repeats"),
        (
            ["--net-only", "--backend", "cpu", "--dtype", "float64", "--model", "T", "--shapes", "64x64"],
            "--net-only skips the layer table, so it refuses that table's --backend, --model, --shapes, --dtype",
        ),
        # More memory than any machine has: an allocator traceback after setup, or an integer
        # overflow past int64, before the batch was checked against the memory.
        (["--batch", "100000000000"], "--batch 100000000000 is too large: case "),
        (["--batch", "99999999999999999999"], "--batch 99999999999999999999 is too large: case "),
    ],
)
def test_bad_options_are_usage_errors_before_any_timing(argv, message, no_timing, capsys):
    with pytest.raises(SystemExit) as exit_info:
        bench.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert no_timing == {}


def test_a_batch_the_model_table_cannot_hold_is_refused(no_timing, monkeypatch, capsys):
    """On 16 GiB, batch 300 fits every layer alone (22 MiB per image at most) but not the model
    table's captured layer inputs (68 MiB per image for InternImage-T's three backbones)."""
    from dcnv3_ascend import _cli, bench_model

    monkeypatch.setattr(_cli, "physical_memory_bytes", lambda: 16 * 2**30)
    monkeypatch.setattr(bench_model, "measure_model", lambda *args, **kwargs: pytest.fail("the model table ran"))
    with pytest.raises(SystemExit) as exit_info:
        bench.main(["--net-only", "--net", "T", "--batch", "300"])
    assert exit_info.value.code == 2
    assert "--batch 300 is too large for --net T: keeping its backbones' layer inputs needs 19.9 GiB" in (
        capsys.readouterr().err
    )
    assert max(c.float64_bytes for c in bench.layer_cases()) * 300 < 16 * 2**30


def test_plot_into_a_directory_is_refused(tmp_path, no_timing, capsys):
    with pytest.raises(SystemExit) as exit_info:
        bench.main(["--plot", str(tmp_path)])
    assert exit_info.value.code == 2
    assert f"argument --plot: '{tmp_path}' is a directory" in capsys.readouterr().err
    assert no_timing == {}


def test_a_dtype_the_backend_does_not_take_is_refused(no_timing, capsys):
    ok, reason = bench.BACKENDS["sim"].available()
    if not ok:
        pytest.skip(reason)
    with pytest.raises(SystemExit) as exit_info:
        bench.main(["--backend", "sim", "--dtype", "float64"])
    assert exit_info.value.code == 2
    assert "backend sim does not take --dtype float64 (it takes float32, float16, bfloat16)" in capsys.readouterr().err
    assert no_timing == {}


def test_good_options_reach_the_timing(no_timing):
    bench.main(
        [
            "--threads",
            "1",
            "--repeats",
            "3",
            "--backend",
            "fallback",
            "--model",
            "T",
            "--shapes",
            "T-stage1",
            "--net",
            "",
        ]
    )
    assert no_timing["threads"] == 1
    assert no_timing["measure"] == (["T-stage1"], ["fallback"], 3, bench.torch.float32)


def test_net_only_times_the_model_table_alone(no_timing, monkeypatch, capsys):
    from dcnv3_ascend import bench_model

    monkeypatch.setattr(bench_model, "measure_model", lambda net, batch, repeats: [(net, batch, repeats)])
    monkeypatch.setattr(bench_model, "format_model_table", lambda rows: f"model table {rows}")
    bench.main(["--net-only", "--net", "S", "--net-repeats", "2"])
    out = capsys.readouterr().out
    assert "measure" not in no_timing
    assert "DCNv3 benchmark" not in out
    assert "model table [('S', 1, 2)]" in out
