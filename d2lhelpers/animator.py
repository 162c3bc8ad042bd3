"""A live training plot that costs little training time."""

from __future__ import annotations

import time
from collections.abc import Sequence

import matplotlib.pyplot as plt
from IPython import get_ipython
from IPython.display import DisplayHandle, display
from matplotlib.lines import Line2D
from typing_extensions import Unpack

from .plotting import DEFAULT_FMTS, AxesOptions, check_axes_options, set_axes
from .reduced import reduced_mode


def _in_notebook_kernel() -> bool:
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


class Animator:
    """Plot curves that grow while a model trains, redrawing in place in JupyterLab.

    Points are recorded by :meth:`add` as often as you like; the figure is redrawn only when
    enough time has passed: at least ``min_interval`` seconds (also before the first draw),
    and long enough that drawing
    takes at most ``max_overhead`` of the wall-clock time (drawing one PNG costs tens of
    milliseconds, so redrawing every minibatch would slow training several-fold). Call
    :meth:`finish` at the end to draw the last points.

    Outside a notebook kernel (a script), and in reduced mode (the test suite), nothing is
    drawn live: the figure is drawn once by :meth:`finish`.

    Args:
        fmts: matplotlib format strings, one per curve, used in turn.
        figsize: figure size in inches.
        min_interval: least time between two draws, in seconds.
        max_overhead: largest fraction of wall-clock time spent drawing, in (0, 1).
        options: labels, limits, scales and legend; see :class:`~d2lhelpers.plotting.AxesOptions`.

    Raises:
        ValueError: if ``min_interval`` < 0 or ``max_overhead`` is outside (0, 1).
        TypeError: if an option is not one of ``AxesOptions``.

    Source: the ``Animator`` of d2l §3.6, rebuilt to redraw at a bounded rate.
    """

    def __init__(
        self,
        fmts: Sequence[str] = DEFAULT_FMTS,
        figsize: tuple[float, float] = (3.5, 2.5),
        min_interval: float = 1.0,
        max_overhead: float = 0.02,
        **options: Unpack[AxesOptions],
    ) -> None:
        if min_interval < 0 or not 0 < max_overhead < 1:
            raise ValueError(
                "Animator: min_interval must be >= 0 seconds and max_overhead in (0, 1), "
                f"got {min_interval!r} and {max_overhead!r}"
            )
        # Made through pyplot so that a notebook's inline backend is loaded (and can render it),
        # then closed so that the backend does not show it a second time at the end of the cell.
        self.fig = plt.figure(figsize=figsize)
        plt.close(self.fig)
        self.axes = self.fig.add_subplot()
        self._axes_options = check_axes_options(options)
        self.fmts = fmts
        self.X: list[list[float]] = []
        self.Y: list[list[float]] = []
        self.min_interval = min_interval
        self.max_overhead = max_overhead
        self.live = _in_notebook_kernel() and not reduced_mode()
        self.draw_seconds = 0.0
        """Total wall-clock time spent drawing, in seconds."""
        self._handle: DisplayHandle | None = None
        self._lines: list[Line2D] = []
        # The first draw also waits: a training shorter than that is drawn once, by finish().
        self._next_draw = time.perf_counter() + min_interval

    def add(self, x: float, ys: float | None | Sequence[float | None]) -> None:
        """Append the point ``(x, y)`` to each curve; ``None`` skips a curve at this ``x``."""
        ys = list(ys) if isinstance(ys, Sequence) else [ys]
        if not self.X:
            self.X = [[] for _ in ys]
            self.Y = [[] for _ in ys]
        if len(ys) != len(self.Y):
            raise ValueError(f"Animator.add(): expected {len(self.Y)} y values, got {len(ys)}")
        for i, y in enumerate(ys):
            if y is not None:
                self.X[i].append(float(x))
                self.Y[i].append(float(y))
        if self.live and time.perf_counter() >= self._next_draw:
            self._draw()

    def finish(self) -> None:
        """Draw the figure with every point recorded so far."""
        if _in_notebook_kernel():
            self._draw()

    def _draw(self) -> None:
        start = time.perf_counter()
        if not self._lines:
            self._lines = [
                self.axes.plot(x, y, self.fmts[i % len(self.fmts)])[0]
                for i, (x, y) in enumerate(zip(self.X, self.Y))
            ]
            set_axes(self.axes, **self._axes_options)
        else:  # moving existing lines is much cheaper than rebuilding the axes
            for line, x, y in zip(self._lines, self.X, self.Y):
                line.set_data(x, y)
            self.axes.relim()
            self.axes.autoscale_view()
        if self._handle is None:
            self._handle = display(self.fig, display_id=True)
        else:
            self._handle.update(self.fig)
        cost = time.perf_counter() - start
        self.draw_seconds += cost
        self._next_draw = time.perf_counter() + max(self.min_interval, cost / self.max_overhead)
