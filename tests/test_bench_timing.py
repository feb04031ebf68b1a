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
