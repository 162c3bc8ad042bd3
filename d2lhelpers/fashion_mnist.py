"""Fashion-MNIST served from in-memory tensors."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import torch
from torch import Tensor
from torchvision.datasets import FashionMNIST
from torchvision.datasets.mnist import read_image_file, read_label_file
from torchvision.transforms.v2.functional import resize as resize_images

from . import reduced
from .arrays import TensorLoader
from .datasets import resolve_dataset
from .validation import check_int, is_int

FASHION_MNIST_LABELS: tuple[str, ...] = tuple(FashionMNIST.classes)
"""The ten class names, indexed by label (0 = ``T-shirt/top`` ... 9 = ``Ankle boot``)."""


def get_fashion_mnist_labels(labels: Iterable[int] | Tensor) -> list[str]:
    """Class names of integer ``labels`` in 0..9.

    Raises:
        ValueError: if a label is outside 0..9.
    """
    names = []
    for label in labels:
        label = int(label)
        if not 0 <= label < len(FASHION_MNIST_LABELS):
            raise ValueError(f"Fashion-MNIST labels are 0..9, got {label}")
        names.append(FASHION_MNIST_LABELS[label])
    return names


@lru_cache(maxsize=2)
def _read_split(images: Path, labels: Path) -> tuple[Tensor, Tensor]:
    """Decode one split's IDX files: uint8 images ``(N, 28, 28)``, int64 labels ``(N,)``."""
    return read_image_file(str(images)), read_label_file(str(labels))


def read_fashion_mnist(train: bool, data_dir: str | Path | None = None) -> tuple[Tensor, Tensor]:
    """The whole training (60,000) or test (10,000) split as tensors.

    Returns:
        Images, uint8 of shape ``(N, 28, 28)`` with values 0..255, and labels, int64 ``(N,)``.

    Raises:
        DataSetNotFoundError: if the files are missing (the message says how to get them).
    """
    return _split(resolve_dataset("fashion-mnist", data_dir), train)


def _split(paths: dict[str, Path], train: bool) -> tuple[Tensor, Tensor]:
    prefix = "train" if train else "t10k"
    return _read_split(paths[f"{prefix}-images-idx3-ubyte"], paths[f"{prefix}-labels-idx1-ubyte"])


def _subset(images: Tensor, labels: Tensor, limit: int | None) -> tuple[Tensor, Tensor]:
    """A fixed random subset of ``limit`` examples (all of them if ``limit`` is ``None``)."""
    if limit is None or limit >= len(labels):
        return images, labels
    # The same examples every run, drawn from all classes.
    keep = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))[:limit]
    return images[keep], labels[keep]


def load_data_fashion_mnist(
    batch_size: int,
    resize: int | tuple[int, int] | None = None,
    data_dir: str | Path | None = None,
    num_train: int | None = None,
    num_test: int | None = None,
) -> tuple[TensorLoader, TensorLoader]:
    """Training and test minibatches of Fashion-MNIST.

    The IDX files are decoded once into memory; each minibatch is converted to float (and
    resized, if asked) as it is served, and the training order is reshuffled every epoch.

    Args:
        batch_size: examples per minibatch.
        resize: output size in pixels, ``s`` for ``s x s`` or ``(height, width)``; ``None``
            keeps 28 x 28. Resizing is bilinear with antialiasing.
        data_dir: a directory to search first for the four IDX files.
        num_train, num_test: use a fixed random subset of this many training or test
            examples (the same one every run). Default ``None``: all 60,000 and 10,000, except
            in reduced mode (``D2L_REDUCED=1``), where they are ``reduced.TRAIN_EXAMPLES``
            (3,000) and ``reduced.TEST_EXAMPLES`` (1,000).

    Returns:
        ``(train_iter, test_iter)``, each yielding ``X`` of shape ``(B, 1, H, W)``, float32
        in [0, 1], and ``y`` of shape ``(B,)``, int64 class indices.

    Raises:
        ValueError: if ``batch_size``, ``resize``, ``num_train`` or ``num_test`` is not a
            positive int.
        DataSetNotFoundError: if the files are missing (the message says how to get them).

    Source: d2l §3.5 (the image classification data set).
    """
    check_int("batch_size", batch_size)
    if resize is not None:
        size = list(resize) if isinstance(resize, (tuple, list)) else [resize, resize]
        if len(size) != 2 or not all(is_int(s) for s in size):
            raise ValueError(f"resize must be a positive int or (height, width), got {resize!r}")
    for name, value in (("num_train", num_train), ("num_test", num_test)):
        if value is not None:
            check_int(name, value)

    def to_float_images(X: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        X = X.unsqueeze(1).float().div_(255)
        return (X if resize is None else resize_images(X, size, antialias=True)), y

    paths = resolve_dataset("fashion-mnist", data_dir)  # verifies the checksums once
    splits = []
    for train, requested, reduced_size in (
        (True, num_train, reduced.TRAIN_EXAMPLES),
        (False, num_test, reduced.TEST_EXAMPLES),
    ):
        images, labels = _split(paths, train)
        limit = reduced.reduced_default(requested, reduced_size)
        if requested is None and limit is not None:
            split = "training" if train else "test"
            reduced.notify(f"using {limit:,} of {len(labels):,} Fashion-MNIST {split} examples")
        images, labels = _subset(images, labels, limit)
        splits.append(
            TensorLoader(
                images, labels, batch_size=batch_size, shuffle=train, transform=to_float_images
            )
        )
    return splits[0], splits[1]
