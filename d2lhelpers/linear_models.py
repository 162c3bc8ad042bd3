"""Building blocks of linear regression and softmax regression, written from scratch.

The notebooks of chapter 2 (linear neural networks) teach these functions; later chapters
reuse them instead of redefining them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import torch
from torch import Tensor

from .validation import check_int

LAST_BATCH_MODES = ("keep", "drop", "pad")


def data_iter(
    batch_size: int, features: Tensor, labels: Tensor, last_batch: str = "keep"
) -> Iterator[tuple[Tensor, Tensor]]:
    """Yield shuffled minibatches ``(X, y)`` of ``features`` and ``labels``.

    Args:
        batch_size: examples per minibatch.
        features: shape ``(n, ...)``.
        labels: shape ``(n, ...)``, same ``n`` as ``features``.
        last_batch: what to do when ``n`` is not a multiple of ``batch_size``:
            ``"keep"`` yields a smaller last batch, ``"drop"`` leaves it out, and ``"pad"``
            fills it up with examples from the start of this epoch's order.

    Yields:
        ``X`` of shape ``(b, ...)`` and ``y`` of shape ``(b, ...)``, ``b <= batch_size``.

    Raises:
        ValueError: if ``batch_size`` is not a positive int, the first dimensions differ, or
            ``last_batch`` is not one of ``"keep"``, ``"drop"``, ``"pad"``.

    Source: ``data_iter`` of d2l §3.2 (linear regression from scratch), plus ``last_batch``.
    """
    check_int("batch_size", batch_size)
    if len(features) != len(labels):
        raise ValueError(
            f"features and labels must have the same length, got {len(features)} and {len(labels)}"
        )
    if last_batch not in LAST_BATCH_MODES:
        raise ValueError(f"last_batch must be one of {LAST_BATCH_MODES}, got {last_batch!r}")
    num_examples = len(features)
    indices = torch.randperm(num_examples)
    for start in range(0, num_examples, batch_size):
        batch_indices = indices[start : start + batch_size]
        if len(batch_indices) < batch_size:
            if last_batch == "drop":
                return
            if last_batch == "pad":
                missing = batch_size - len(batch_indices)
                batch_indices = torch.cat([batch_indices, indices[:missing]])
        yield features[batch_indices], labels[batch_indices]


def linreg(X: Tensor, w: Tensor, b: Tensor) -> Tensor:
    """The linear regression model ``X w + b``.

    Args:
        X: features, shape ``(n, d)``.
        w: weights, shape ``(d, 1)``.
        b: bias, a scalar or shape ``(1,)``.

    Returns:
        Predictions, shape ``(n, 1)``.

    Raises:
        ValueError: if ``X`` is not 2-D or ``w`` is not of shape ``(d, 1)``.

    Source: ``linreg`` of d2l §3.2 (linear regression from scratch).
    """
    if X.ndim != 2:
        raise ValueError(f"X must have shape (n, d), got {tuple(X.shape)}")
    if w.shape != (X.shape[1], 1):
        raise ValueError(f"w must have shape ({X.shape[1]}, 1) to match X, got {tuple(w.shape)}")
    return torch.matmul(X, w) + b


def squared_loss(y_hat: Tensor, y: Tensor) -> Tensor:
    """Half the squared error of each example, ``(y_hat - y)**2 / 2``, not averaged.

    Args:
        y_hat: predictions, shape ``(n, 1)`` (or any shape with ``n`` elements).
        y: targets with ``n`` elements; reshaped to ``y_hat``'s shape.

    Returns:
        Per-example losses, shape of ``y_hat``.

    Raises:
        ValueError: if ``y_hat`` and ``y`` have different numbers of elements.

    Source: ``squared_loss`` of d2l §3.2 (linear regression from scratch).
    """
    if y_hat.numel() != y.numel():
        raise ValueError(
            "y_hat and y must have the same number of elements, "
            f"got {y_hat.numel()} and {y.numel()}"
        )
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def sgd(params: Iterable[Tensor], lr: float, batch_size: int) -> None:
    """One step of minibatch SGD on ``params``, in place, then zero their gradients.

    Each parameter moves by ``-lr * grad / batch_size``: the gradient is that of a loss
    *summed* over the minibatch, and dividing by ``batch_size`` turns it into the mean.

    Args:
        params: leaf tensors with ``requires_grad=True`` and a computed ``.grad``.
        lr: learning rate, > 0.
        batch_size: number of examples the summed loss covered.

    Raises:
        ValueError: if ``lr`` is not positive, ``batch_size`` is not a positive int, or a
            parameter has no gradient (``backward()`` was not called).

    Source: ``sgd`` of d2l §3.2 (linear regression from scratch).
    """
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr!r}")
    check_int("batch_size", batch_size)
    params = list(params)
    for i, param in enumerate(params):
        if param.grad is None:
            raise ValueError(f"sgd: params[{i}] has no gradient; call backward() first")
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


def softmax(X: Tensor) -> Tensor:
    """Row-wise softmax, computed stably by subtracting each row's maximum first.

    Args:
        X: logits, shape ``(n, q)``.

    Returns:
        Probabilities, shape ``(n, q)``; each row is non-negative and sums to 1.

    Raises:
        ValueError: if ``X`` is not 2-D.

    Source: ``softmax`` of d2l §3.6 (softmax regression from scratch), made stable.
    """
    if X.ndim != 2:
        raise ValueError(f"X must have shape (n, q), got {tuple(X.shape)}")
    X_exp = torch.exp(X - X.max(dim=1, keepdim=True).values)
    return X_exp / X_exp.sum(dim=1, keepdim=True)


def cross_entropy(y_hat: Tensor, y: Tensor) -> Tensor:
    """Per-example cross-entropy ``-log y_hat[i, y[i]]`` of predicted probabilities.

    Args:
        y_hat: predicted probabilities, shape ``(n, q)``.
        y: true class indices, int64, shape ``(n,)``, values in ``0..q-1``.

    Returns:
        Losses, shape ``(n,)``, not averaged.

    Raises:
        ValueError: if the shapes do not match or a label is outside ``0..q-1``.

    Source: ``cross_entropy`` of d2l §3.6 (softmax regression from scratch).
    """
    if y_hat.ndim != 2 or y.ndim != 1 or len(y_hat) != len(y):
        raise ValueError(
            f"y_hat must be (n, q) and y (n,), got {tuple(y_hat.shape)} and {tuple(y.shape)}"
        )
    if len(y) and (int(y.min()) < 0 or int(y.max()) >= y_hat.shape[1]):
        raise ValueError(f"labels must lie in 0..{y_hat.shape[1] - 1}")
    return -torch.log(y_hat[torch.arange(len(y_hat)), y])
