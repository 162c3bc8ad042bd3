"""Helpers of the optimization chapter: the airfoil data, one training loop for any optimizer,
and 2-D optimization traces.

- :func:`load_data_airfoil`: the NASA airfoil self-noise measurements, standardized, as
  minibatches;
- :func:`train_linear_regression`: linear regression on those minibatches with any
  ``torch.optim.Optimizer`` (a from-scratch subclass or a library one), recording the loss on
  the whole data set against epochs and seconds;
- :func:`trace_2d` and :func:`show_trace_2d`: iterate an update rule from a start point of a 2-D
  objective and draw the path over the objective's contour lines.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from torch import Tensor

from .animator import Animator
from .arrays import TensorLoader
from .datasets import get_data_path
from .validation import check_int


def load_data_airfoil(
    batch_size: int = 10, n: int = 1500, dtype: torch.dtype = torch.float32
) -> tuple[TensorLoader, int]:
    """Minibatches of the first ``n`` airfoil measurements, every column standardized.

    The file has 1,503 rows: five inputs (frequency in Hz, angle of attack in degrees, chord
    length in m, free-stream velocity in m/s, suction-side displacement thickness in m) and the
    scaled sound pressure level (dB). Each of the six columns is shifted and scaled to mean 0 and
    standard deviation 1 over all 1,503 rows, as d2l does.

    Args:
        batch_size: examples per minibatch.
        n: how many rows to use, from the top of the file (1 to 1,503).
        dtype: dtype of the tensors (``torch.float64`` to compare optimizers to 1e-10).

    Returns:
        ``(data_iter, 5)``: a :class:`~d2lhelpers.arrays.TensorLoader` that reshuffles at every
        epoch and yields ``X`` of shape ``(B, 5)`` and ``y`` of shape ``(B, 1)``; its full tensors
        are ``data_iter.tensors``. The second item is the number of inputs.

    Raises:
        ValueError: if ``batch_size`` or ``n`` is not a positive int, or ``n`` > 1,503.
        DataSetNotFoundError: if the data file cannot be found (the message says how to get it).

    Source: ``get_data_ch11`` of d2l §12.5; data: Brooks, Pope and Marcolini (1989), UCI
    Machine Learning Repository (CC BY 4.0).
    """
    check_int("batch_size", batch_size)
    data = np.loadtxt(get_data_path("airfoil"), delimiter="\t")
    check_int("n", n, maximum=len(data))
    data = (data - data.mean(axis=0)) / data.std(axis=0)
    data = torch.tensor(data[:n], dtype=dtype)
    X, y = data[:, :-1], data[:, -1:]
    return TensorLoader(X, y, batch_size=batch_size, shuffle=True), X.shape[1]


@dataclass
class OptimizationHistory:
    """Results of :func:`train_linear_regression`, one entry per recording."""

    epochs: list[float] = field(default_factory=list)
    """Epochs completed at the recording (fractional: 0.4 = 40% of the examples of epoch 1)."""
    seconds: list[float] = field(default_factory=list)
    """Training time (s) up to the recording, the loss evaluations excluded."""
    loss: list[float] = field(default_factory=list)
    """Mean squared loss ``(y_hat - y)^2 / 2`` over all examples of the data set."""


def _squared_loss(X: Tensor, y: Tensor, w: Tensor, b: Tensor) -> Tensor:
    return ((X @ w + b - y) ** 2 / 2).mean()


def train_linear_regression(
    make_optimizer: Callable[[list[Tensor]], torch.optim.Optimizer],
    data_iter: TensorLoader,
    num_epochs: int = 2,
    record_every: int = 200,
    seed: int | None = 0,
    plot: bool = True,
    verbose: bool = True,
) -> OptimizationHistory:
    """Fit a linear regression with minibatches and the optimizer ``make_optimizer`` builds.

    The weights ``w`` of shape ``(d, 1)`` start from a normal with standard deviation 0.01 and the
    bias ``b`` at 0. Each minibatch's mean squared loss is minimised by one optimizer step. The
    loss on all examples is recorded at the start and after every ``record_every`` examples, so
    that runs with different batch sizes can be compared per example seen and per second.

    Args:
        make_optimizer: called once with ``[w, b]``; returns an optimizer over them, e.g.
            ``lambda params: torch.optim.SGD(params, lr=0.05)`` or a from-scratch subclass of
            ``torch.optim.Optimizer``.
        data_iter: minibatches ``(X (B, d), y (B, 1))`` as from :func:`load_data_airfoil`.
        num_epochs: passes over ``data_iter``.
        record_every: examples between two recordings of the full-data loss.
        seed: seeds torch's generator before the initialisation and shuffling, so that every
            optimizer starts from the same weights and sees the same minibatches; ``None`` leaves
            the generator alone.
        plot: draw the loss against epochs live.
        verbose: print the last loss and the training seconds per epoch.

    Returns:
        The :class:`OptimizationHistory`.

    Raises:
        TypeError: if ``data_iter`` is not a :class:`~d2lhelpers.arrays.TensorLoader` of
            ``(X, y)``, or ``make_optimizer`` does not return an optimizer.
        ValueError: if ``num_epochs`` or ``record_every`` is not a positive int.

    Source: ``train_ch11`` and ``train_concise_ch11`` of d2l §12.5, as one function.
    """
    if not isinstance(data_iter, TensorLoader) or len(data_iter.tensors) != 2:
        raise TypeError(f"data_iter must be a TensorLoader of (X, y), got {data_iter!r:.60}")
    check_int("num_epochs", num_epochs)
    check_int("record_every", record_every)
    X_all, y_all = data_iter.tensors
    if seed is not None:
        torch.manual_seed(seed)
    w = torch.normal(0.0, 0.01, size=(X_all.shape[1], 1), dtype=X_all.dtype, requires_grad=True)
    b = torch.zeros(1, dtype=X_all.dtype, requires_grad=True)
    optimizer = make_optimizer([w, b])
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            f"make_optimizer must return a torch.optim.Optimizer, got {type(optimizer).__name__}"
        )
    animator = (
        Animator(xlabel="epoch", ylabel="loss", xlim=(0, num_epochs)) if plot else None
    )
    history = OptimizationHistory()

    def record(examples: int, seconds: float) -> None:
        with torch.no_grad():
            loss = float(_squared_loss(X_all, y_all, w, b))
        history.epochs.append(examples / data_iter.num_examples)
        history.seconds.append(seconds)
        history.loss.append(loss)
        if animator:
            animator.add(history.epochs[-1], loss)

    seconds, examples, next_record = 0.0, 0, record_every
    record(0, 0.0)
    for _ in range(num_epochs):
        for X, y in data_iter:
            start = time.perf_counter()
            optimizer.zero_grad()
            _squared_loss(X, y, w, b).backward()
            optimizer.step()
            seconds += time.perf_counter() - start
            examples += len(X)
            if examples >= next_record:
                record(examples, seconds)
                next_record += record_every
    if animator:
        animator.finish()
    if verbose:
        print(f"loss {history.loss[-1]:.3f}, {seconds / num_epochs:.3f} s/epoch")
    return history


def trace_2d(
    step: Callable[[Tensor], Tensor],
    start: Sequence[float] = (-5.0, -2.0),
    num_steps: int = 20,
) -> Tensor:
    """The points ``x_0 = start, x_{t+1} = step(x_t)`` of an optimizer on a 2-D objective.

    Args:
        step: maps the current point, a float64 tensor of shape ``(2,)``, to the next one; an
            optimizer with state (momentum, running averages) keeps it in a closure or object.
        start: the initial point ``(x1, x2)``.
        num_steps: how many updates.

    Returns:
        Float64 tensor of shape ``(num_steps + 1, 2)``, the start point first.

    Raises:
        ValueError: if ``start`` is not two numbers, ``num_steps`` not a positive int, or
            ``step`` does not return a tensor of shape ``(2,)``.

    Source: ``train_2d`` of d2l §12.3.
    """
    check_int("num_steps", num_steps)
    x = torch.as_tensor(start, dtype=torch.float64)
    if x.shape != (2,):
        raise ValueError(f"start must be two numbers (x1, x2), got {start!r}")
    points = [x]
    for _ in range(num_steps):
        x = step(x.clone())
        if not isinstance(x, Tensor) or x.shape != (2,):
            raise ValueError(f"step must return a tensor of shape (2,), got {x!r:.60}")
        points.append(x.to(torch.float64))
    return torch.stack(points)


def show_trace_2d(
    f: Callable[[Tensor, Tensor], Tensor],
    trace: Tensor,
    figsize: tuple[float, float] = (3.5, 2.5),
    axes: Axes | None = None,
) -> Axes:
    """Draw ``trace`` (points of shape ``(n, 2)``) over the contour lines of ``f(x1, x2)``.

    ``f`` is evaluated on a grid that covers the trace with a margin; it takes two float64
    tensors of the same shape (the grid's ``x1`` and ``x2``) and returns the objective there.

    Raises:
        ValueError: if ``trace`` does not have shape ``(n, 2)``.

    Source: ``show_trace_2d`` of d2l §12.3.
    """
    trace = torch.as_tensor(trace, dtype=torch.float64)
    if trace.ndim != 2 or trace.shape[1] != 2:
        raise ValueError(f"trace must have shape (n, 2), got {tuple(trace.shape)}")
    low, high = trace.min(dim=0).values, trace.max(dim=0).values
    margin = torch.clamp((high - low) * 0.2, min=1.0)
    x1, x2 = torch.meshgrid(
        torch.linspace(float(low[0] - margin[0]), float(high[0] + margin[0]), 200,
                       dtype=torch.float64),
        torch.linspace(float(low[1] - margin[1]), float(high[1] + margin[1]), 200,
                       dtype=torch.float64),
        indexing="ij",
    )
    if axes is None:
        axes = plt.figure(figsize=figsize).gca()
    axes.contour(x1.numpy(), x2.numpy(), f(x1, x2).numpy(), colors="#1f77b4")
    axes.plot(trace[:, 0].numpy(), trace[:, 1].numpy(), "-o", color="#ff7f0e", markersize=3)
    axes.set_xlabel("x1")
    axes.set_ylabel("x2")
    return axes


__all__ = [
    "OptimizationHistory",
    "load_data_airfoil",
    "show_trace_2d",
    "trace_2d",
    "train_linear_regression",
]
