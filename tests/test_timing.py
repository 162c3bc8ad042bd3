"""Timer and Accumulator."""

from __future__ import annotations

import time

import pytest

from d2lhelpers import timing
from d2lhelpers.timing import Accumulator, Timer


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def perf_counter(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(timing, "time", fake)
    return fake


def test_timer_records_runs_with_a_controlled_clock(clock):
    timer = Timer()  # starts at once
    clock.now += 2.0
    assert timer.stop() == pytest.approx(2.0)
    timer.start()
    clock.now += 0.5
    assert timer.stop() == pytest.approx(0.5)
    clock.now += 10.0  # not started again: the next stop counts from the last start
    assert timer.stop() == pytest.approx(10.5)
    assert timer.times == pytest.approx([2.0, 0.5, 10.5])
    assert timer.sum() == pytest.approx(13.0)
    assert timer.avg() == pytest.approx(13.0 / 3)
    assert timer.cumsum() == pytest.approx([2.0, 2.5, 13.0])
    assert isinstance(timer.sum(), float) and isinstance(timer.cumsum(), list)


def test_timer_measures_real_time():
    timer = Timer()
    time.sleep(0.02)
    seconds = timer.stop()
    assert 0.015 < seconds < 5


def test_timer_avg_without_runs_raises():
    timer = Timer()
    with pytest.raises(ValueError, match=r"avg\(\).*stop\(\)"):
        timer.avg()
    assert timer.sum() == 0.0 and timer.cumsum() == []


def test_accumulator_sums_resets_and_indexes():
    acc = Accumulator(3)
    assert acc.data == [0.0, 0.0, 0.0]
    acc.add(1, 2.5, 3)
    acc.add(0.5, -2.5, 7)
    assert (acc[0], acc[1], acc[2]) == (1.5, 0.0, 10.0)
    assert all(isinstance(v, float) for v in acc.data)
    acc.reset()
    assert acc.data == [0.0, 0.0, 0.0]


def test_accumulator_accepts_tensors():
    torch = pytest.importorskip("torch")
    acc = Accumulator(1)
    acc.add(torch.tensor(2.5))
    assert acc[0] == 2.5 and isinstance(acc[0], float)


@pytest.mark.parametrize("n", [0, -1, 2.0, "3", None])
def test_accumulator_bad_n_raises(n):
    with pytest.raises(ValueError, match=r"Accumulator\(n\): n must be a positive int"):
        Accumulator(n)


@pytest.mark.parametrize("values", [(1, 2), (1, 2, 3, 4), ()])
def test_accumulator_add_wrong_count_raises(values):
    acc = Accumulator(3)
    with pytest.raises(ValueError, match=rf"expected 3 values, got {len(values)}"):
        acc.add(*values)
    assert acc.data == [0.0, 0.0, 0.0]
