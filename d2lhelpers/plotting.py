"""Static plots: figure size, line plots, image grids and heat maps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from typing_extensions import Unpack

DEFAULT_FMTS = ("-", "m--", "g-.", "r:")


def set_figsize(figsize: tuple[float, float] = (3.5, 2.5)) -> None:
    """Set the default matplotlib figure size, in inches (width, height).

    Raises:
        ValueError: if ``figsize`` is not two positive numbers.
    """
    valid = (
        isinstance(figsize, (tuple, list))
        and len(figsize) == 2
        and all(isinstance(s, (int, float)) and not isinstance(s, bool) and s > 0 for s in figsize)
    )
    if not valid:
        raise ValueError(f"set_figsize(figsize): expected (width, height) > 0, got {figsize!r}")
    plt.rcParams["figure.figsize"] = figsize


class AxesOptions(TypedDict, total=False):
    """Keyword options for a plot's axes, shared by :func:`set_axes`, :func:`plot` and
    :class:`~d2lhelpers.animator.Animator`. Every key is optional."""

    xlabel: str | None
    ylabel: str | None
    xlim: tuple[float, float] | None
    """Range of the x axis, in data units; ``None`` fits the data."""
    ylim: tuple[float, float] | None
    xscale: str
    """``"linear"`` (the default) or ``"log"``."""
    yscale: str
    legend: Sequence[str]
    """One label per curve, in the order they are drawn."""


def check_axes_options(options: dict[str, Any]) -> AxesOptions:
    """Return ``options`` if every key is one of :class:`AxesOptions`.

    Raises:
        TypeError: naming the first unknown option.
    """
    for key in options:
        if key not in AxesOptions.__annotations__:
            raise TypeError(
                f"unknown axes option {key!r}; expected one of "
                f"{', '.join(AxesOptions.__annotations__)}"
            )
    return options  # type: ignore[return-value]


def set_axes(axes: Axes, **options: Unpack[AxesOptions]) -> None:
    """Apply labels, limits, scales, a legend (see :class:`AxesOptions`) and a grid to ``axes``.

    Raises:
        TypeError: if an option is not one of :class:`AxesOptions`.
    """
    check_axes_options(options)
    axes.set_xlabel(options.get("xlabel"))
    axes.set_ylabel(options.get("ylabel"))
    axes.set_xscale(options.get("xscale", "linear"))
    axes.set_yscale(options.get("yscale", "linear"))
    if options.get("xlim") is not None:
        axes.set_xlim(options["xlim"])
    if options.get("ylim") is not None:
        axes.set_ylim(options["ylim"])
    if options.get("legend"):
        axes.legend(options["legend"])
    axes.grid(True)


def _as_curves(values: Any) -> list[np.ndarray]:
    """One 1-D array per curve, from a tensor, an array, a list of numbers or a list of lists."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    if isinstance(values, np.ndarray):
        return [values] if values.ndim == 1 else list(values)
    if len(values) and np.ndim(values[0]) == 0:
        return [np.asarray(values)]
    return [np.asarray(v.detach().cpu() if isinstance(v, torch.Tensor) else v) for v in values]


def plot(
    X: Any,
    Y: Any = None,
    fmts: Sequence[str] = DEFAULT_FMTS,
    figsize: tuple[float, float] | None = None,
    axes: Axes | None = None,
    **options: Unpack[AxesOptions],
) -> Axes:
    """Plot one or several curves.

    Args:
        X: x values, shape ``(n,)``, or one sequence per curve.
        Y: y values, shape ``(n,)`` or ``(k, n)`` for ``k`` curves; if ``None``, ``X`` is
            plotted against ``0, 1, ..., n-1``.
        fmts: matplotlib format strings, used in turn.
        figsize: size of a new figure, in inches (width, height).
        axes: draw into these axes instead of a new figure.
        options: labels, limits, scales and legend; see :class:`AxesOptions`.

    Returns:
        The axes drawn into.

    Raises:
        ValueError: if the number of x sequences is neither 1 nor the number of curves, or an
            x sequence and its curve differ in length.
        TypeError: if an option is not one of :class:`AxesOptions`.
    """
    check_axes_options(options)
    if Y is None:
        Y = X
        X = [np.arange(len(y)) for y in _as_curves(Y)]
    xs, ys = _as_curves(X), _as_curves(Y)
    if len(xs) == 1:
        xs = xs * len(ys)
    if len(xs) != len(ys):
        raise ValueError(f"plot(X, Y): got {len(xs)} x sequences for {len(ys)} curves")
    if axes is None:
        axes = plt.figure(figsize=figsize).gca()
    for i, (x, y) in enumerate(zip(xs, ys)):
        if len(x) != len(y):
            raise ValueError(f"plot(X, Y): x has {len(x)} values but its curve has {len(y)}")
        axes.plot(x, y, fmts[i % len(fmts)])
    set_axes(axes, **options)
    return axes


def show_images(
    images: torch.Tensor | Sequence[Any],
    num_rows: int,
    num_cols: int,
    titles: Sequence[str] | None = None,
    scale: float = 1.5,
) -> np.ndarray:
    """Show images in a grid of ``num_rows`` by ``num_cols``, each with an optional title.

    Args:
        images: tensor of shape ``(N, H, W)``, ``(N, 1, H, W)`` or ``(N, 3, H, W)``, or a
            sequence of such images or PIL images; at most ``num_rows * num_cols`` are shown.
        titles: one title per image.
        scale: size of each image in inches.

    Returns:
        The array of axes, shape ``(num_rows, num_cols)``.

    Raises:
        ValueError: if the grid is empty, or ``titles`` is shorter than the images shown.

    Source: ``show_images`` of d2l §3.5 (the image classification data set).
    """
    if num_rows < 1 or num_cols < 1:
        raise ValueError(
            f"show_images(num_rows, num_cols): grid must be at least 1x1, got {num_rows}x{num_cols}"
        )
    shown = list(images)[: num_rows * num_cols]
    if titles is not None and len(titles) < len(shown):
        raise ValueError(f"show_images(titles): {len(shown)} images but only {len(titles)} titles")
    _, axes = plt.subplots(
        num_rows, num_cols, figsize=(num_cols * scale, num_rows * scale), squeeze=False
    )
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= len(shown):
            continue
        img = shown[i]
        if isinstance(img, torch.Tensor):
            img = img.detach().cpu()
            img = img.squeeze(0) if img.ndim == 3 and img.shape[0] == 1 else img
            img = img.permute(1, 2, 0) if img.ndim == 3 else img
            img = img.numpy()
        ax.imshow(img, cmap="gray" if np.ndim(img) == 2 else None)
        if titles is not None:
            ax.set_title(titles[i])
    return axes


def show_heatmaps(
    matrices: torch.Tensor | np.ndarray,
    xlabel: str,
    ylabel: str,
    titles: Sequence[str] | None = None,
    figsize: tuple[float, float] = (2.5, 2.5),
    cmap: str = "Reds",
) -> Figure:
    """Show a grid of heat maps (e.g. attention weights) that share one colour scale and bar.

    Args:
        matrices: tensor or array of shape ``(R, C, Q, K)``: ``R`` rows by ``C`` columns of
            ``Q x K`` matrices; for attention weights, row ``q`` of a matrix is the weights one
            query puts on the ``K`` keys.
        xlabel: label of the x axis (the ``K`` columns of each matrix), on the bottom row.
        ylabel: label of the y axis (the ``Q`` rows of each matrix), on the left column.
        titles: one title per column of the grid (``C`` titles), shown above the top row.
        figsize: size of the whole figure, in inches (width, height).
        cmap: a matplotlib colour map name.

    Returns:
        The figure; its first ``R * C`` axes hold the heat maps, the last one the colour bar.

    Raises:
        TypeError: if ``matrices`` is not a tensor or an array.
        ValueError: if ``matrices`` is not 4-D or is empty, or ``titles`` does not have ``C``
            entries.

    Source: ``show_heatmaps`` of d2l §11.1 (queries, keys and values).
    """
    if isinstance(matrices, torch.Tensor):
        matrices = matrices.detach().cpu().numpy()
    if not isinstance(matrices, np.ndarray):
        raise TypeError(
            f"show_heatmaps(matrices): expected a tensor or array, got {type(matrices).__name__}"
        )
    if matrices.ndim != 4 or matrices.size == 0:
        raise ValueError(
            f"show_heatmaps(matrices): expected a non-empty shape (R, C, Q, K), "
            f"got {matrices.shape}"
        )
    num_rows, num_cols = matrices.shape[:2]
    if titles is not None and len(titles) != num_cols:
        raise ValueError(
            f"show_heatmaps(titles): expected {num_cols} titles, one per column, got {len(titles)}"
        )
    fig, axes = plt.subplots(
        num_rows, num_cols, figsize=figsize, sharex=True, sharey=True, squeeze=False
    )
    vmin, vmax = float(matrices.min()), float(matrices.max())
    for i in range(num_rows):
        for j in range(num_cols):
            ax = axes[i, j]
            image = ax.imshow(matrices[i, j], cmap=cmap, vmin=vmin, vmax=vmax)
            if i == num_rows - 1:
                ax.set_xlabel(xlabel)
            if j == 0:
                ax.set_ylabel(ylabel)
            if titles is not None and i == 0:
                ax.set_title(titles[j])
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # rows and columns are
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # indices: no 2.5 ticks
    fig.colorbar(image, ax=axes, shrink=0.6)
    return fig


def show_bboxes(
    axes: Axes,
    bboxes: torch.Tensor | np.ndarray | Sequence[Sequence[float]],
    labels: Sequence[str] | str | None = None,
    colors: Sequence[str] | str | None = None,
) -> None:
    """Draw bounding boxes as unfilled rectangles on ``axes``, each with an optional label.

    Args:
        axes: matplotlib axes, typically showing an image with ``imshow``.
        bboxes: shape ``(N, 4)``: corner boxes ``(x1, y1, x2, y2)`` in the axes' data units
            (pixels for an image), x to the right and y down.
        labels: one text label per box (or a single string for one box), drawn at the box's
            top-left corner; ``None`` for no labels.
        colors: colours cycled over the boxes (a single colour for all); by default blue, green,
            red, magenta and cyan.

    Raises:
        ValueError: if ``bboxes`` is not of shape ``(N, 4)``, or ``labels`` does not have one
            entry per box.

    Source: ``show_bboxes`` of d2l §14.4 (anchor boxes).
    """
    if isinstance(bboxes, torch.Tensor):
        bboxes = bboxes.detach().cpu().numpy()
    boxes = np.asarray(bboxes, dtype=float)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"show_bboxes(bboxes): expected shape (N, 4), got {boxes.shape}")
    if isinstance(labels, str):
        labels = [labels]
    if labels is not None and len(labels) != len(boxes):
        raise ValueError(
            f"show_bboxes(labels): expected {len(boxes)} labels, one per box, got {len(labels)}"
        )
    if colors is None:
        colors = ["b", "g", "r", "m", "c"]
    elif isinstance(colors, str):
        colors = [colors]
    for i, (x1, y1, x2, y2) in enumerate(boxes):
        color = colors[i % len(colors)]
        rect = plt.Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor=color, linewidth=2)
        axes.add_patch(rect)
        if labels is not None:
            text_color = "k" if color in ("w", "white") else "w"
            style = {"va": "center", "ha": "center", "fontsize": 9, "color": text_color}
            axes.text(x1, y1, labels[i], bbox={"facecolor": color, "lw": 0}, **style)
