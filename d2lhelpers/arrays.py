"""Minibatches from in-memory tensors, and synthetic regression data."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import torch
from torch import Tensor

from .validation import check_int

Batch = tuple[Tensor, ...]


class TensorLoader:
    """Iterate over minibatches of in-memory tensors, reshuffled at every epoch.

    It does what ``DataLoader(TensorDataset(*tensors), batch_size, shuffle)`` does, but indexes
    whole batches at once instead of collating one example at a time, which is many times faster
    for data that fits in memory.

    Args:
        tensors: tensors with the same first dimension ``N`` (examples).
        batch_size: examples per minibatch; the last one is smaller unless ``drop_last``.
        shuffle: draw a fresh random order (from torch's global generator) at every epoch.
        drop_last: drop the last minibatch if it has fewer than ``batch_size`` examples.
        transform: applied to each minibatch, ``transform(*batch) -> batch``.

    Raises:
        ValueError: if no tensor is given, their first dimensions differ, or ``batch_size`` is
            not a positive int.
    """

    def __init__(
        self,
        *tensors: Tensor,
        batch_size: int,
        shuffle: bool = False,
        drop_last: bool = False,
        transform: Callable[..., Batch] | None = None,
    ) -> None:
        if not tensors:
            raise ValueError("TensorLoader: give at least one tensor")
        if len({len(t) for t in tensors}) != 1:
            raise ValueError(
                f"TensorLoader: tensors must have the same first dimension, got "
                f"{[tuple(t.shape) for t in tensors]}"
            )
        check_int("batch_size", batch_size)
        self.tensors = tensors
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.transform = transform

    @property
    def num_examples(self) -> int:
        """Number of examples ``N``."""
        return len(self.tensors[0])

    def __len__(self) -> int:
        """Number of minibatches per epoch."""
        full, rest = divmod(self.num_examples, self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def __iter__(self) -> Iterator[Batch]:
        order = torch.randperm(self.num_examples) if self.shuffle else None
        for i in range(len(self)):
            start = i * self.batch_size
            rows = slice(start, start + self.batch_size)
            index = order[rows] if order is not None else rows
            batch = tuple(t[index] for t in self.tensors)
            yield self.transform(*batch) if self.transform else batch


def load_array(
    data_arrays: Sequence[Tensor], batch_size: int, is_train: bool = True
) -> TensorLoader:
    """Minibatches of ``data_arrays`` (e.g. ``(X, y)``), shuffled when ``is_train``.

    Source: ``load_array`` of d2l §3.3 (concise linear regression).
    """
    return TensorLoader(*data_arrays, batch_size=batch_size, shuffle=is_train)


def synthetic_data(
    w: Tensor, b: float, num_examples: int, noise_std: float = 0.01
) -> tuple[Tensor, Tensor]:
    """Examples of ``y = X w + b + noise`` with ``X`` and the noise drawn from normals.

    Args:
        w: weights, shape ``(d,)``.
        b: bias.
        num_examples: number ``n`` of rows to generate.
        noise_std: standard deviation of the Gaussian noise added to ``y``.

    Returns:
        ``X`` of shape ``(n, d)`` and ``y`` of shape ``(n, 1)``, both float32.

    Raises:
        ValueError: if ``w`` is not 1-D or ``num_examples`` is not a positive int.

    Source: d2l §3.2 (linear regression from scratch).
    """
    if w.ndim != 1:
        raise ValueError(f"w must be a 1-D tensor of weights, got shape {tuple(w.shape)}")
    check_int("num_examples", num_examples)
    X = torch.normal(0.0, 1.0, (num_examples, len(w)))
    y = X @ w.float() + b
    y += torch.normal(0.0, noise_std, y.shape)
    return X, y.reshape(-1, 1)
