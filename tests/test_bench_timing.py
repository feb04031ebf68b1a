"""bench's timer: backends timed in turn within each repetition, medians per backend."""

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
