"""Measuring time and accumulating running sums."""

from __future__ import annotations

import time

import numpy as np

from .validation import check_int


class Timer:
    """Record the duration of several runs, in seconds.

    ``Timer()`` starts at once; call :meth:`stop` to record a run and :meth:`start` to begin the
    next one.

    Source: the ``Timer`` of d2l §2.1 (data manipulation), with the same methods.
    """

    def __init__(self) -> None:
        self.times: list[float] = []
        self.start()

    def start(self) -> None:
        """Start (or restart) the clock."""
        self._tik = time.perf_counter()

    def stop(self) -> float:
        """Record the time since :meth:`start` and return it in seconds."""
        self.times.append(time.perf_counter() - self._tik)
        return self.times[-1]

    def avg(self) -> float:
        """Mean recorded duration in seconds.

        Raises:
            ValueError: if no run has been recorded yet.
        """
        if not self.times:
            raise ValueError("Timer.avg(): no run recorded yet; call stop() first")
        return self.sum() / len(self.times)

    def sum(self) -> float:
        """Total recorded duration in seconds."""
        return float(sum(self.times))

    def cumsum(self) -> list[float]:
        """Running totals of the recorded durations, in seconds."""
        return np.cumsum(self.times).tolist()


class Accumulator:
    """Sums over ``n`` quantities, e.g. (summed loss, number correct, number of examples)."""

    def __init__(self, n: int) -> None:
        check_int("Accumulator(n): n", n)
        self.data = [0.0] * n

    def add(self, *args: float) -> None:
        """Add one value to each of the ``n`` sums.

        Raises:
            ValueError: if the number of values is not ``n``.
        """
        if len(args) != len(self.data):
            raise ValueError(
                f"Accumulator.add(): expected {len(self.data)} values, got {len(args)}"
            )
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def reset(self) -> None:
        """Set every sum back to zero."""
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx: int) -> float:
        return self.data[idx]
