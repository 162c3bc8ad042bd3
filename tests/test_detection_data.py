"""The Fashion-MNIST detection scenes (d2lhelpers.detection_data)."""

from __future__ import annotations

import time

import pytest
import torch
import torch.nn.functional as F

from d2lhelpers import (
    TensorLoader,
    load_data_fashion_mnist_detection,
    make_fashion_mnist_scenes,
    read_fashion_mnist,
)
from d2lhelpers.detection_data import MAX_COVER, resize_items


def fake_items(n: int = 200, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` 28 x 28 uint8 images, each a random bright blob, and labels 0..9."""
    g = torch.Generator().manual_seed(seed)
    images = torch.zeros(n, 28, 28, dtype=torch.uint8)
    for i in range(n):
        y0, x0 = torch.randint(0, 14, (2,), generator=g).tolist()
        h, w = torch.randint(4, 14, (2,), generator=g).tolist()
        images[i, y0 : y0 + h, x0 : x0 + w] = torch.randint(60, 256, (h, w), generator=g)
    return images, torch.randint(0, 10, (n,), generator=g)


def tight_box(mask: torch.Tensor) -> list[int]:
    """``[x1, y1, x2, y2]`` in pixels (x2/y2 exclusive) of the True pixels of a 2-D mask."""
    ys, xs = torch.nonzero(mask, as_tuple=True)
    return [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]


def test_shapes_dtypes_and_padding():
    images, labels = fake_items()
    scenes, targets = make_fashion_mnist_scenes(
        images, labels, 50, canvas_size=64, max_objects=4, size_range=(16, 32)
    )
    assert scenes.shape == (50, 1, 64, 64) and scenes.dtype == torch.float32
    assert targets.shape == (50, 4, 5) and targets.dtype == torch.float32
    assert float(scenes.min()) >= 0 and float(scenes.max()) <= 1
    used = targets[..., 0] >= 0
    assert used.any(1).all()  # at least one object per scene
    # Used rows first, then padding rows that are all -1.
    assert torch.equal(used.int(), used.int().sort(1, descending=True).values)
    assert (targets[~used] == -1).all()
    assert (targets[used][:, 1:] >= 0).all() and (targets[used][:, 1:] <= 1).all()


def test_boxes_are_tight_labels_right_and_scene_is_the_max_of_its_items():
    images, labels = fake_items()
    canvas = 64
    scenes, targets, places = make_fashion_mnist_scenes(
        images,
        labels,
        20,
        canvas_size=canvas,
        max_objects=3,
        size_range=(16, 40),
        return_placements=True,
    )
    assert places.dtype == torch.int64 and places.shape == (20, 3, 4)
    for s in range(20):
        rebuilt = torch.zeros(canvas, canvas, dtype=torch.uint8)
        for k in range(3):
            if targets[s, k, 0] < 0:
                assert (places[s, k] == -1).all()
                continue
            src, side, x, y = places[s, k].tolist()
            assert 0 <= x and x + side <= canvas and 0 <= y and y + side <= canvas
            alone = torch.zeros(canvas, canvas, dtype=torch.uint8)
            alone[y : y + side, x : x + side] = resize_items(images[src : src + 1], side)[0]
            assert targets[s, k, 0] == labels[src]
            box = (targets[s, k, 1:] * canvas).round().int().tolist()
            assert box == tight_box(alone > 0)
            rebuilt = torch.maximum(rebuilt, alone)
        assert torch.equal((scenes[s, 0] * 255).round().to(torch.uint8), rebuilt)


def test_items_do_not_hide_each_other():
    images, labels = fake_items()
    max_iou = 0.2
    _, targets = make_fashion_mnist_scenes(images, labels, 300, max_iou=max_iou, seed=3)
    counts = (targets[..., 0] >= 0).sum(1)
    assert set(counts.tolist()) == {1, 2, 3}
    boxes, used = targets[..., 1:].double(), targets[..., 0] >= 0
    a, b = boxes[:, :, None], boxes[:, None, :]  # all pairs (i, j) of one scene
    w = (torch.minimum(a[..., 2], b[..., 2]) - torch.maximum(a[..., 0], b[..., 0])).clamp(min=0)
    h = (torch.minimum(a[..., 3], b[..., 3]) - torch.maximum(a[..., 1], b[..., 1])).clamp(min=0)
    area = (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])
    inter, area_i, area_j = w * h, area[:, :, None], area[:, None, :]
    pairs = used[:, :, None] & used[:, None, :] & ~torch.eye(3, dtype=torch.bool)
    assert pairs.sum() > 100
    assert (inter / (area_i + area_j - inter))[pairs].max() <= max_iou + 1e-9
    assert (inter / torch.minimum(area_i, area_j))[pairs].max() <= MAX_COVER + 1e-9


def test_sides_follow_size_range():
    images, labels = fake_items()
    *_, places = make_fashion_mnist_scenes(
        images, labels, 500, size_range=(24, 30), return_placements=True
    )
    sides = places[..., 1][places[..., 1] >= 0]
    assert int(sides.min()) == 24 and int(sides.max()) == 30


def test_deterministic_for_a_seed_and_different_for_another():
    images, labels = fake_items()
    a = make_fashion_mnist_scenes(images, labels, 20, seed=5)
    torch.manual_seed(123)  # the global RNG plays no part
    b = make_fashion_mnist_scenes(images, labels, 20, seed=5)
    c = make_fashion_mnist_scenes(images, labels, 20, seed=6)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(a[0], c[0]) and not torch.equal(a[1], c[1])


def test_float_images_give_the_same_scenes_as_uint8():
    images, labels = fake_items()
    a = make_fashion_mnist_scenes(images, labels, 10)
    b = make_fashion_mnist_scenes(images.float() / 255, labels, 10)
    assert all(torch.equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("side", [8, 20, 28, 37, 48, 96])
def test_resize_is_close_to_torch_bilinear_antialiased(side):
    images, _ = fake_items(50)
    ours = resize_items(images, side).float()
    torchs = (
        F.interpolate(
            images[:, None].float(),
            size=(side, side),
            mode="bilinear",
            antialias=True,
            align_corners=False,
        )[:, 0]
        .round()
        .clamp(0, 255)
    )
    assert ours.shape == (50, side, side)
    assert float((ours - torchs).abs().max()) <= 2  # grey levels of 255
    if side == 28:
        assert torch.equal(ours, images.float())


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"images": [[0]]}, TypeError, "images must be a torch.Tensor"),
        ({"images": torch.zeros(3, 28, 27)}, ValueError, "images must have shape"),
        ({"images": torch.full((200, 28, 28), 2.0)}, ValueError, r"images must lie in \[0, 1\]"),
        ({"images": torch.zeros(200, 28, 28, dtype=torch.int32)}, TypeError, "uint8 or float"),
        ({"labels": torch.zeros(200)}, TypeError, "labels must be an integer"),
        ({"labels": torch.zeros(3, dtype=torch.int64)}, ValueError, "labels must have shape"),
        ({"num_scenes": 0}, ValueError, "num_scenes must be a positive int"),
        ({"canvas_size": 9.5}, ValueError, "canvas_size must be a positive int"),
        ({"max_objects": True}, ValueError, "max_objects must be a positive int"),
        ({"size_range": (4, 20)}, ValueError, "size_range must be"),
        ({"size_range": (30, 20)}, ValueError, "size_range must be"),
        ({"size_range": (24, 100)}, ValueError, "size_range must be"),
        ({"seed": -1}, ValueError, "seed must be an int >= 0"),
        ({"max_iou": "0.3"}, TypeError, "max_iou must be a number"),
        ({"max_iou": 1.0}, ValueError, r"max_iou must lie in \[0, 1\)"),
        ({"images": torch.zeros(200, 28, 28, dtype=torch.uint8)}, ValueError, "all blank"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, error, match):
    images, labels = fake_items()
    args = {"images": images, "labels": labels, "num_scenes": 5, **kwargs}
    with pytest.raises(error, match=match):
        make_fashion_mnist_scenes(**args)


def test_a_thousand_scenes_take_well_under_two_seconds():
    images, labels = fake_items(1000)
    make_fashion_mnist_scenes(images, labels, 10)  # warm up
    times = []
    for _ in range(2):  # the better of two runs, for a loaded test machine
        start = time.perf_counter()
        make_fashion_mnist_scenes(images, labels, 1000)
        times.append(time.perf_counter() - start)
    assert min(times) < 2.0  # about 0.2 s on one core


# --- the real data -------------------------------------------------------------------------


@pytest.mark.parametrize("arg", ["batch_size", "max_objects", "num_train", "num_test"])
def test_loader_rejects_bad_counts(arg):
    kwargs = {"batch_size": 32, arg: 0}
    with pytest.raises(ValueError, match=f"{arg} must be a positive int"):
        load_data_fashion_mnist_detection(**kwargs)


def test_loaders_use_the_right_splits(fashion_paths, default_mode):
    train_iter, test_iter = load_data_fashion_mnist_detection(32, num_train=64, num_test=32)
    assert isinstance(train_iter, TensorLoader) and isinstance(test_iter, TensorLoader)
    assert (train_iter.num_examples, test_iter.num_examples) == (64, 32)
    X, Y = next(iter(test_iter))
    assert X.shape == (32, 1, 96, 96) and Y.shape == (32, 3, 5)
    # The held-out scenes are exactly those composed from the test split (seed + 1).
    for train, loader, seed in ((True, train_iter, 0), (False, test_iter, 1)):
        images, labels = read_fashion_mnist(train)
        want_X, want_Y = make_fashion_mnist_scenes(
            images, labels, loader.num_examples, size_range=(24, 48), seed=seed
        )
        assert torch.equal(loader.tensors[0], want_X) and torch.equal(loader.tensors[1], want_Y)


def test_loader_sizes_by_mode(fashion_paths, reduced_mode, capsys):
    train_iter, test_iter = load_data_fashion_mnist_detection(64, canvas_size=64)
    assert (train_iter.num_examples, test_iter.num_examples) == (800, 200)
    assert train_iter.tensors[0].shape[-1] == 64
    assert "using 800 training detection scenes instead of 8,000" in capsys.readouterr().err
