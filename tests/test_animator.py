"""Animator: recording points, and redrawing at a bounded rate inside a (faked) kernel."""

from __future__ import annotations

import numpy as np
import pytest

from d2lhelpers import Animator, animator


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def perf_counter(self) -> float:
        return self.now


class FakeDisplay:
    """Stands in for IPython's display(); each drawing costs ``draw_cost`` fake seconds."""

    def __init__(self, clock: FakeClock | None = None, draw_cost: float = 0.0) -> None:
        self.clock, self.draw_cost = clock, draw_cost
        self.shown: list[object] = []
        self.updates: list[list[int]] = []  # number of points per line at each update

    def __call__(self, fig, display_id=False):
        assert display_id is True
        self._spend()
        self.shown.append(fig)
        return self

    def update(self, fig) -> None:
        self._spend()
        self.updates.append([len(line.get_xdata()) for line in fig.axes[0].lines])

    def _spend(self) -> None:
        if self.clock is not None:
            self.clock.now += self.draw_cost


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(animator, "time", fake)
    return fake


@pytest.fixture
def kernel(monkeypatch, clock) -> FakeDisplay:
    """Pretend to run in a notebook kernel in default mode; record what is displayed."""
    monkeypatch.delenv("D2L_REDUCED", raising=False)
    monkeypatch.setattr(animator, "_in_notebook_kernel", lambda: True)
    fake = FakeDisplay(clock)
    monkeypatch.setattr(animator, "display", fake)
    return fake


def test_outside_a_kernel_nothing_is_live(monkeypatch):
    monkeypatch.delenv("D2L_REDUCED", raising=False)
    assert not animator._in_notebook_kernel()  # pytest is not a Jupyter kernel
    assert Animator().live is False


def test_add_records_points_and_none_skips_a_curve():
    anim = Animator(legend=("a", "b", "c"))
    anim.add(1, (0.5, None, 0.25))
    anim.add(2, [0.4, 0.9, None])
    anim.add(3.5, (np.float32(0.3), 0.8, 0.2))
    assert anim.X == [[1.0, 2.0, 3.5], [2.0, 3.5], [1.0, 3.5]]
    assert anim.Y[0] == pytest.approx([0.5, 0.4, 0.3])
    assert anim.Y[1:] == [[0.9, 0.8], [0.25, 0.2]]
    assert all(isinstance(v, float) for ys in anim.X + anim.Y for v in ys)


def test_add_a_single_number_makes_one_curve():
    anim = Animator()
    anim.add(0, 1.0)
    anim.add(1, 0.5)
    assert (anim.X, anim.Y) == ([[0.0, 1.0]], [[1.0, 0.5]])


def test_add_wrong_number_of_values_raises():
    anim = Animator()
    anim.add(0, (1.0, 2.0))
    with pytest.raises(ValueError, match=r"Animator.add\(\): expected 2 y values, got 3"):
        anim.add(1, (1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match="expected 2 y values, got 1"):
        anim.add(1, 1.0)
    assert anim.X == [[0.0], [0.0]]


def test_finish_outside_a_kernel_draws_nothing_and_does_not_crash():
    anim = Animator(legend=("loss",))
    anim.add(1, 0.5)
    anim.finish()
    assert len(anim.axes.lines) == 0 and anim.draw_seconds == 0.0
    Animator().finish()  # nothing added at all


@pytest.mark.parametrize(
    ("min_interval", "max_overhead", "named"),
    [(-1, 0.02, "min_interval"), (0.5, 0, "max_overhead"), (0.5, 1, "max_overhead")],
)
def test_bad_rate_settings_raise(min_interval, max_overhead, named):
    with pytest.raises(ValueError, match=named):
        Animator(min_interval=min_interval, max_overhead=max_overhead)


def test_in_a_kernel_a_short_run_is_drawn_once_by_finish(kernel, clock):
    anim = Animator(xlabel="epoch", legend=("a", "b"), xlim=(0, 3), min_interval=1.0)
    assert anim.live is True
    for x in range(1, 20):
        anim.add(x, (0.5, None if x > 1 else 0.1))
        clock.now += 0.01
    assert kernel.shown == []  # the first draw also waits min_interval
    anim.finish()
    assert kernel.shown == [anim.fig] and kernel.updates == []
    assert [len(line.get_xdata()) for line in anim.axes.lines] == [19, 1]
    assert anim.axes.get_xlabel() == "epoch" and anim.axes.get_xlim() == (0, 3)
    assert [t.get_text() for t in anim.axes.get_legend().get_texts()] == ["a", "b"]


def test_in_a_kernel_it_redraws_in_place(kernel, clock):
    anim = Animator(min_interval=1.0)
    anim.add(0, (1.0, 2.0))
    clock.now += 1.0
    anim.add(1, (1.0, 2.0))
    assert kernel.shown == [anim.fig]
    clock.now += 100
    anim.add(2, (1.0, 2.0))
    anim.finish()
    assert len(kernel.shown) == 1  # one output, updated in place
    assert kernel.updates == [[3, 3], [3, 3]]


def test_redraw_rate_is_bounded_by_the_drawing_cost(kernel, clock):
    kernel.draw_cost = 0.05
    # A drawing costs 0.05 s; at most 2 % of the time may go to drawing: wait 2.5 s in between.
    anim = Animator(min_interval=0.5, max_overhead=0.02)
    anim.add(0, 1.0)
    clock.now += 0.45
    anim.add(1, 1.0)
    assert kernel.shown == []
    clock.now += 0.1
    anim.add(2, 1.0)
    assert len(kernel.shown) == 1
    assert anim.draw_seconds == pytest.approx(0.05)
    clock.now += 2.4
    anim.add(3, 1.0)
    assert kernel.updates == []
    clock.now += 0.2
    anim.add(4, 1.0)
    assert kernel.updates == [[5]]
    assert anim.draw_seconds == pytest.approx(0.1)
    # A cheap drawing is limited by min_interval instead.
    kernel.draw_cost = 0.001
    clock.now += 10
    anim.add(5, 1.0)
    assert len(kernel.updates) == 2
    clock.now += 0.4
    anim.add(6, 1.0)
    assert len(kernel.updates) == 2
    clock.now += 0.2
    anim.add(7, 1.0)
    assert len(kernel.updates) == 3


def test_the_real_clock_drives_drawing(monkeypatch):
    monkeypatch.delenv("D2L_REDUCED", raising=False)
    monkeypatch.setattr(animator, "_in_notebook_kernel", lambda: True)
    fake = FakeDisplay()
    monkeypatch.setattr(animator, "display", fake)
    anim = Animator(min_interval=0)
    anim.add(0, 1.0)
    assert len(fake.shown) == 1
    assert anim.draw_seconds > 0


def test_reduced_mode_in_a_kernel_draws_only_at_finish(kernel, monkeypatch):
    monkeypatch.setenv("D2L_REDUCED", "1")
    anim = Animator(min_interval=0)
    assert anim.live is False
    for x in range(5):
        anim.add(x, (x, x * 2))
    assert kernel.shown == []
    anim.finish()
    assert len(kernel.shown) == 1
    assert [len(line.get_xdata()) for line in anim.axes.lines] == [5, 5]


def test_the_figure_is_not_a_pyplot_figure():
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    Animator()
    assert plt.get_fignums() == before  # the inline backend would otherwise show it twice
