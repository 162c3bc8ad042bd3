"""A small object-detection data set: Fashion-MNIST items pasted onto black canvases.

d2l (§14.6) downloads a synthetic "banana" data set, one banana pasted on each background
photograph. This module builds the same kind of data offline and deterministically: each scene
is a black ``canvas_size x canvas_size`` canvas with 1 to ``max_objects`` real Fashion-MNIST
items, each resized to a random side and placed at a random position, with its class label and
the tight bounding box of its non-zero pixels.

Boxes are in corner format ``(x1, y1, x2, y2)`` (x to the right, y down), normalized by the
canvas size; ``x2``/``y2`` are the right/bottom pixel *edges*, so a box covering pixel columns
10..19 of a 96-pixel canvas has ``x1 = 10/96`` and ``x2 = 20/96``.

Resizing is bilinear with antialiasing, done as two matrix products with integer weights
(``R @ image @ R.T``, weights in 1/256 steps): every intermediate value is an integer below
2**24, which float32 represents exactly, so a scene is the same bit for bit on every CPU,
whatever the order in which a matrix library sums.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import torch
from torch import Tensor

from . import reduced
from .arrays import TensorLoader
from .fashion_mnist import read_fashion_mnist
from .validation import check_int, check_number

MAX_IOU = 0.3
"""Default limit on the IoU of any two boxes in one scene."""
MAX_COVER = 0.5
"""No box may cover more than this fraction of the area of a smaller box in the same scene."""
NUM_TRIES = 64
"""Candidate positions drawn for each item; an item with no valid one is left out."""
NUM_TRAIN_SCENES = 8000
"""Default number of training scenes (``REDUCED_TRAIN_SCENES`` in reduced mode)."""
NUM_TEST_SCENES = 1000
"""Default number of held-out scenes (``REDUCED_TEST_SCENES`` in reduced mode)."""
REDUCED_TRAIN_SCENES = 800
REDUCED_TEST_SCENES = 200
_WEIGHT_ONE = 256  # resize weights are integers in units of 1/256


@lru_cache(maxsize=256)
def _resize_weights(in_size: int, out_size: int) -> tuple[tuple[int, ...], ...]:
    """Integer weights ``(out_size, in_size)`` of a 1-D bilinear (triangle-filter) resize.

    Row ``i`` sums to 256. Downscaling widens the triangle by the scale factor (antialiasing),
    as ``F.interpolate(..., mode="bilinear", antialias=True)`` does. Computed with Python
    floats, which round the same way on every machine.
    """
    scale = in_size / out_size
    radius = max(scale, 1.0)
    rows = []
    for i in range(out_size):
        centre = (i + 0.5) * scale - 0.5  # output pixel centre in input coordinates
        w = [max(0.0, 1.0 - abs(j - centre) / radius) for j in range(in_size)]
        total = sum(w)
        ints = [round(_WEIGHT_ONE * v / total) for v in w]
        ints[max(range(in_size), key=lambda j: w[j])] += _WEIGHT_ONE - sum(ints)
        rows.append(tuple(ints))
    return tuple(rows)


def resize_items(items: Tensor, side: int) -> Tensor:
    """Resize square uint8 images to ``side x side`` pixels, exactly reproducibly.

    Args:
        items: uint8 images of shape ``(n, H, H)``.
        side: the output side in pixels.

    Returns:
        uint8 images of shape ``(n, side, side)``; bilinear with antialiasing, so within a
        couple of grey levels of ``F.interpolate(..., mode="bilinear", antialias=True)``.
    """
    R = torch.tensor(_resize_weights(items.shape[-1], side), dtype=torch.float32)
    # Every product and partial sum is an integer <= 255 * 256 * 256 < 2**24, which float32
    # holds exactly: the result is exact whatever order a matrix library sums in.
    acc = R @ items.float() @ R.T
    return torch.floor((acc + _WEIGHT_ONE**2 // 2) / _WEIGHT_ONE**2).clamp_(0, 255).to(torch.uint8)


def _as_uint8_images(images: Tensor) -> Tensor:
    if not isinstance(images, Tensor):
        raise TypeError(f"images must be a torch.Tensor, got {type(images).__name__}")
    if images.dim() != 3 or images.shape[1] != images.shape[2] or images.shape[0] == 0:
        raise ValueError(f"images must have shape (N, H, H) with N > 0, got {tuple(images.shape)}")
    if images.dtype == torch.uint8:
        return images
    if not images.is_floating_point():
        raise TypeError(f"images must be uint8 or float, got {images.dtype}")
    if images.min() < 0 or images.max() > 1:
        raise ValueError("float images must lie in [0, 1]")
    return (images * 255).round().to(torch.uint8)


def _check_size_range(size_range: Sequence[int], canvas_size: int) -> tuple[int, int]:
    ok = isinstance(size_range, (tuple, list)) and len(size_range) == 2
    if ok:
        lo, hi = size_range
        ok = all(isinstance(v, int) and not isinstance(v, bool) for v in (lo, hi))
        ok = ok and 8 <= lo <= hi <= canvas_size
    if not ok:
        raise ValueError(
            f"size_range must be (low, high) ints with 8 <= low <= high <= canvas_size "
            f"({canvas_size}), got {size_range!r}"
        )
    return int(size_range[0]), int(size_range[1])


def _pairwise_overlap(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """IoU and intersection / smaller area of boxes ``a (..., T, 4)`` and ``b (..., 4)``."""
    b = b.unsqueeze(-2)
    w = (torch.minimum(a[..., 2], b[..., 2]) - torch.maximum(a[..., 0], b[..., 0])).clamp(min=0)
    h = (torch.minimum(a[..., 3], b[..., 3]) - torch.maximum(a[..., 1], b[..., 1])).clamp(min=0)
    inter = w * h
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return inter / (area_a + area_b - inter), inter / torch.minimum(area_a, area_b)


def make_fashion_mnist_scenes(
    images: Tensor,
    labels: Tensor,
    num_scenes: int,
    canvas_size: int = 96,
    max_objects: int = 3,
    size_range: tuple[int, int] = (24, 48),
    seed: int = 0,
    max_iou: float = MAX_IOU,
    *,
    return_placements: bool = False,
) -> tuple[Tensor, Tensor] | tuple[Tensor, Tensor, Tensor]:
    """Compose detection scenes from Fashion-MNIST items.

    Each scene gets a number of items drawn uniformly from ``1..max_objects``. Each item is a
    random image of ``images``, resized to a random side drawn uniformly from ``size_range``
    (inclusive) and placed at a random position fully inside the canvas; items are combined
    with a pixel-wise maximum on a black canvas, so no item's pixels are erased by another.
    An item is placed only where its box has IoU ``<= max_iou`` with every box already in the
    scene and neither box covers more than ``MAX_COVER`` (half) of the smaller one; of
    ``NUM_TRIES`` (64) random positions the first valid one is used, and an item with none is
    left out (rare; the first item of a scene always fits).

    Args:
        images: ``(N, H, H)`` uint8 (0..255) or float in [0, 1]; e.g. Fashion-MNIST's 28 x 28.
        labels: ``(N,)`` integer class labels of ``images``.
        num_scenes: how many scenes to make.
        canvas_size: side of the square canvas in pixels.
        max_objects: most items per scene (rows of ``targets`` per scene).
        size_range: ``(low, high)`` side in pixels of a resized item, ``8 <= low <= high <=
            canvas_size``.
        seed: seeds this function's own ``torch.Generator``; the output depends on nothing
            else (not on the global RNG, the CPU or the number of threads).
        max_iou: the IoU limit between any two boxes of a scene, in [0, 1).
        return_placements: also return how each item was placed.

    Returns:
        ``scenes``: float32 ``(num_scenes, 1, canvas_size, canvas_size)`` in [0, 1], with
        values in steps of 1/255.
        ``targets``: float32 ``(num_scenes, max_objects, 5)``, rows ``[class, x1, y1, x2,
        y2]``: the class label and the tight box of the item's non-zero pixels, normalized by
        ``canvas_size``; used rows come first, unused rows are all -1.
        ``placements`` (only if ``return_placements``): int64 ``(num_scenes, max_objects,
        4)``, rows ``[source index into images, side, x, y]`` (the item's top-left pixel),
        in the same order as ``targets``, -1 for unused rows.

    Raises:
        TypeError: if ``images``/``labels`` are not tensors of a suitable dtype, or
            ``max_iou`` is not a number.
        ValueError: naming the argument: bad shapes, non-positive counts, ``size_range`` out
            of range, float images outside [0, 1], ``max_iou`` outside [0, 1), or ``seed``
            negative.
        RuntimeError: if a scene's first item vanishes when resized (only for images far
            fainter than Fashion-MNIST's, whose every image has a pixel of at least 254).

    Source: the idea of d2l §14.6 (the banana detection data set), with real Fashion-MNIST
    items (Xiao et al., 2017) instead of bananas.
    """
    images = _as_uint8_images(images)
    if not isinstance(labels, Tensor) or labels.is_floating_point() or labels.is_complex():
        raise TypeError("labels must be an integer torch.Tensor")
    if labels.shape != (images.shape[0],):
        raise ValueError(
            f"labels must have shape (N,) = ({images.shape[0]},), got {tuple(labels.shape)}"
        )
    check_int("num_scenes", num_scenes)
    check_int("canvas_size", canvas_size)
    check_int("max_objects", max_objects)
    check_int("seed", seed, minimum=0)
    lo, hi = _check_size_range(size_range, canvas_size)
    if not 0 <= check_number("max_iou", max_iou) < 1:
        raise ValueError(f"max_iou must lie in [0, 1), got {max_iou!r}")

    gen = torch.Generator().manual_seed(seed)
    S, K = num_scenes, max_objects
    pool = torch.nonzero(images.flatten(1).amax(1) > 0).squeeze(1)  # skip blank images
    if len(pool) == 0:
        raise ValueError("images are all blank")
    counts = torch.randint(1, K + 1, (S,), generator=gen)
    source = pool[torch.randint(0, len(pool), (S, K), generator=gen)]
    sides = torch.randint(lo, hi + 1, (S, K), generator=gen)
    unit = torch.rand(S, K, NUM_TRIES, 2, generator=gen, dtype=torch.float64)

    # Resize every chosen item, one batch per side, and find its tight box (pixels, inside it).
    items: dict[int, Tensor] = {}
    slot = torch.empty(S, K, dtype=torch.int64)  # row of each item in items[side]
    local = torch.empty(S, K, 4, dtype=torch.int64)
    for side in sides.unique().tolist():
        where = sides == side
        resized = resize_items(images[source[where]], side)
        items[side] = resized
        slot[where] = torch.arange(len(resized))
        rows, cols = (resized > 0).any(2), (resized > 0).any(1)
        first_row, first_col = rows.int().argmax(1), cols.int().argmax(1)
        last_row = side - rows.flip(1).int().argmax(1)
        last_col = side - cols.flip(1).int().argmax(1)
        local[where] = torch.stack([first_col, first_row, last_col, last_row], 1)
    visible = (local[..., 2] > local[..., 0]) & (local[..., 3] > local[..., 1])

    # Place the items one after another, in all scenes at once.
    xy = (unit * (canvas_size - sides + 1).unsqueeze(-1).unsqueeze(-1)).floor().long()
    placed = torch.zeros(S, K, dtype=torch.bool)
    position = torch.zeros(S, K, 2, dtype=torch.int64)
    boxes = torch.zeros(S, K, 4, dtype=torch.int64)
    for k in range(K):
        trial = local[:, k, None, :] + xy[:, k].repeat(1, 1, 2)  # (S, T, 4)
        ok = torch.ones(S, NUM_TRIES, dtype=torch.bool)
        for j in range(k):
            iou, cover = _pairwise_overlap(trial.double(), boxes[:, j].double())
            fine = (iou <= max_iou) & (cover <= MAX_COVER)
            ok &= fine | ~placed[:, j, None]
        choice = ok.int().argmax(1)
        placed[:, k] = (k < counts) & visible[:, k] & ok.any(1)
        position[:, k] = xy[torch.arange(S), k, choice]
        boxes[:, k] = trial[torch.arange(S), choice]
    if not placed.any(1).all():
        raise RuntimeError("a scene got no visible item: are the images almost black?")

    # Paste with a pixel-wise maximum: one scatter of every pixel of every placed item.
    canvas = torch.zeros(S * canvas_size * canvas_size, dtype=torch.uint8)
    pixels, where_to = [], []
    for side, resized in items.items():
        s_idx, k_idx = torch.nonzero((sides == side) & placed, as_tuple=True)
        offsets = torch.arange(side)
        rows = position[s_idx, k_idx, 1, None] + offsets  # (n, side)
        cols = position[s_idx, k_idx, 0, None] + offsets
        flat = (s_idx[:, None, None] * canvas_size + rows[:, :, None]) * canvas_size
        where_to.append((flat + cols[:, None, :]).flatten())
        pixels.append(resized[slot[s_idx, k_idx]].flatten())
    canvas.scatter_reduce_(0, torch.cat(where_to), torch.cat(pixels), reduce="amax")
    canvas = canvas.view(S, canvas_size, canvas_size)
    scenes = canvas.unsqueeze(1).float().div_(255)

    # Targets and placements, used rows first.
    order = torch.argsort((~placed).int(), dim=1, stable=True)
    placed = placed.gather(1, order)
    targets = torch.cat([labels[source].unsqueeze(-1).float(), boxes.float() / canvas_size], -1)
    targets = targets.gather(1, order.unsqueeze(-1).expand(-1, -1, 5))
    targets[~placed] = -1
    if not return_placements:
        return scenes, targets
    placements = torch.cat([source.unsqueeze(-1), sides.unsqueeze(-1), position], -1)
    placements = placements.gather(1, order.unsqueeze(-1).expand(-1, -1, 4))
    placements[~placed] = -1
    return scenes, targets, placements


def load_data_fashion_mnist_detection(
    batch_size: int,
    canvas_size: int = 96,
    max_objects: int = 3,
    num_train: int | None = None,
    num_test: int | None = None,
    seed: int = 0,
    data_dir: str | Path | None = None,
) -> tuple[TensorLoader, TensorLoader]:
    """Minibatches of Fashion-MNIST detection scenes (see :func:`make_fashion_mnist_scenes`).

    Training scenes are composed only from Fashion-MNIST's training split (with ``seed``),
    held-out scenes only from its test split (with ``seed + 1``), so no item seen in training
    appears in a held-out scene. Items have sides in ``(canvas_size // 4, canvas_size // 2)``
    pixels (24..48 on a 96-pixel canvas).

    Args:
        batch_size: scenes per minibatch.
        canvas_size: side of the square scenes in pixels (at least 32).
        max_objects: most items per scene.
        num_train, num_test: numbers of scenes. Default ``None``: ``NUM_TRAIN_SCENES`` (8,000)
            and ``NUM_TEST_SCENES`` (1,000); in reduced mode (``D2L_REDUCED=1``) 800 and 200.
        seed: makes the scenes; the same seed gives the same scenes.
        data_dir: a directory to search first for the Fashion-MNIST IDX files.

    Returns:
        ``(train_iter, test_iter)``, :class:`~d2lhelpers.arrays.TensorLoader` s (the training
        one reshuffled every epoch) yielding ``X``, float32 ``(B, 1, canvas_size,
        canvas_size)`` in [0, 1], and ``Y``, float32 ``(B, max_objects, 5)`` with rows
        ``[class, x1, y1, x2, y2]`` (normalized corner boxes; unused rows all -1).

    Raises:
        ValueError: naming the argument, if a count is not a positive int, ``canvas_size`` is
            below 32 or ``seed`` is negative.
        DataSetNotFoundError: if the Fashion-MNIST files are missing.

    Source: the role of d2l §14.6's ``load_data_bananas``, built offline from Fashion-MNIST.
    """
    check_int("batch_size", batch_size)
    check_int("canvas_size", canvas_size, minimum=32)
    check_int("max_objects", max_objects)
    check_int("seed", seed, minimum=0)
    for name, value in (("num_train", num_train), ("num_test", num_test)):
        if value is not None:
            check_int(name, value)
    loaders = []
    for train, requested, full, small in (
        (True, num_train, NUM_TRAIN_SCENES, REDUCED_TRAIN_SCENES),
        (False, num_test, NUM_TEST_SCENES, REDUCED_TEST_SCENES),
    ):
        count = reduced.reduced_default(requested, small)
        if count is None:
            count = full
        elif requested is None:
            split = "training" if train else "held-out"
            reduced.notify(f"using {count:,} {split} detection scenes instead of {full:,}")
        images, labels = read_fashion_mnist(train, data_dir)
        size_range = (canvas_size // 4, canvas_size // 2)
        X, Y = make_fashion_mnist_scenes(
            images, labels, count, canvas_size, max_objects, size_range, seed + (0 if train else 1)
        )
        loaders.append(TensorLoader(X, Y, batch_size=batch_size, shuffle=train))
    return loaders[0], loaders[1]


__all__ = [
    "MAX_COVER",
    "MAX_IOU",
    "NUM_TEST_SCENES",
    "NUM_TRAIN_SCENES",
    "load_data_fashion_mnist_detection",
    "make_fashion_mnist_scenes",
    "resize_items",
]
