"""Model selection: K-fold cross-validation and the log-RMSE error measure.

The notebooks of chapter 3 (multilayer perceptrons and regularization) teach these functions;
later chapters reuse them instead of redefining them.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .validation import check_int


def k_fold_indices(
    num_examples: int, k: int, generator: torch.Generator | None = None
) -> list[tuple[Tensor, Tensor]]:
    """Split ``range(num_examples)`` into ``k`` folds for K-fold cross-validation.

    Every example lands in exactly one validation fold. When ``num_examples`` is not a
    multiple of ``k``, the first ``num_examples % k`` folds get one example more (unlike d2l's
    ``get_k_fold_data``, no example is left out).

    Args:
        num_examples: number ``n`` of examples, at least ``k``.
        k: number of folds, at least 2.
        generator: if given, the examples are shuffled with it before splitting; otherwise the
            folds are contiguous blocks ``0..``, in order.

    Returns:
        ``k`` pairs ``(train_idx, valid_idx)`` of int64 index tensors; ``valid_idx`` has
        ``n // k`` or ``n // k + 1`` entries and ``train_idx`` holds all the others, sorted.

    Raises:
        ValueError: if ``k`` is not an int >= 2 or ``num_examples`` is not an int >= ``k``.

    Source: d2l §4.10 (predicting house prices), ``get_k_fold_data``, generalised.
    """
    check_int("k", k, minimum=2)
    check_int("num_examples", num_examples, minimum=k)
    order = (
        torch.randperm(num_examples, generator=generator)
        if generator is not None
        else torch.arange(num_examples)
    )
    folds = torch.tensor_split(order, k)
    splits = []
    for i, valid_idx in enumerate(folds):
        train_idx = torch.cat([fold for j, fold in enumerate(folds) if j != i])
        splits.append((train_idx.sort().values, valid_idx))
    return splits


def get_k_fold_data(k: int, i: int, X: Tensor, y: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The ``i``-th of ``k`` contiguous folds of ``(X, y)``: training and validation parts.

    Args:
        k: number of folds, at least 2.
        i: which fold is the validation part, ``0 <= i < k``.
        X: features, shape ``(n, ...)``.
        y: labels, shape ``(n, ...)``, the same ``n``.

    Returns:
        ``(X_train, y_train, X_valid, y_valid)``; the validation part has ``n // k`` or
        ``n // k + 1`` rows, the training part the remaining rows in their original order.

    Raises:
        ValueError: if ``X`` and ``y`` differ in length, ``k`` is invalid (see
            :func:`k_fold_indices`), or ``i`` is not in ``0..k-1``.

    Source: ``get_k_fold_data`` of d2l §4.10 (predicting house prices).
    """
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same length, got {len(X)} and {len(y)}")
    splits = k_fold_indices(len(X), k)
    check_int("i", i, minimum=0, maximum=k - 1)
    train_idx, valid_idx = splits[i]
    return X[train_idx], y[train_idx], X[valid_idx], y[valid_idx]


def log_rmse(preds: Tensor, labels: Tensor) -> float:
    """Root-mean-square error between the logarithms of predictions and labels.

    ``sqrt(mean((log(max(preds, 1)) - log(labels))**2))``. Predictions below 1 are clipped to
    1 so that the logarithm stays finite. The measure treats relative errors alike: predicting
    110 for 100 costs as much as 1,100,000 for 1,000,000 (about 0.095).

    Args:
        preds: predicted positive quantities (e.g. prices in dollars), any shape with ``n``
            elements.
        labels: true values, ``n`` elements, all > 0; reshaped to ``preds``'s shape.

    Returns:
        The log-RMSE, a float >= 0 (unitless).

    Raises:
        ValueError: if the numbers of elements differ, are zero, or a label is not > 0.

    Source: ``log_rmse`` of d2l §4.10 (predicting house prices).
    """
    if preds.numel() != labels.numel():
        raise ValueError(
            f"preds and labels must have the same number of elements, "
            f"got {preds.numel()} and {labels.numel()}"
        )
    if preds.numel() == 0:
        raise ValueError("log_rmse: preds and labels are empty")
    labels = labels.reshape(preds.shape)
    if not bool((labels > 0).all()):
        raise ValueError("log_rmse: labels must all be > 0")
    clipped = torch.clamp(preds.detach(), min=1.0)
    return torch.sqrt(torch.mean((torch.log(clipped) - torch.log(labels)) ** 2)).item()
