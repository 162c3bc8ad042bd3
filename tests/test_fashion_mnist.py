"""Fashion-MNIST, from the real IDX files on this machine (skipped where they are absent)."""

from __future__ import annotations

import dataclasses
import re

import pytest
import torch

from d2lhelpers import (
    FASHION_MNIST_LABELS,
    DataSetNotFoundError,
    TensorLoader,
    get_fashion_mnist_labels,
    load_data_fashion_mnist,
    read_fashion_mnist,
)
from d2lhelpers import datasets as datasets_module

# --- labels (no data needed) ---------------------------------------------------------------


def test_label_names():
    assert len(FASHION_MNIST_LABELS) == 10
    assert FASHION_MNIST_LABELS[0] == "T-shirt/top"
    assert FASHION_MNIST_LABELS[9] == "Ankle boot"
    assert get_fashion_mnist_labels([0, 9, 3]) == ["T-shirt/top", "Ankle boot", "Dress"]
    assert get_fashion_mnist_labels(torch.tensor([1, 2, 8])) == ["Trouser", "Pullover", "Bag"]
    assert get_fashion_mnist_labels([]) == []


@pytest.mark.parametrize("bad", [10, -1])
def test_bad_label_raises(bad):
    with pytest.raises(ValueError, match=rf"Fashion-MNIST labels are 0..9, got {bad}"):
        get_fashion_mnist_labels([0, bad])


@pytest.mark.parametrize("resize", [0, -28, (28,), (28, 0), (28, 28, 1), 2.5, (28.0, 28), "28"])
def test_bad_resize_raises_before_reading_data(resize):
    with pytest.raises(ValueError, match=r"resize must be a positive int or \(height, width\)"):
        load_data_fashion_mnist(32, resize=resize)


def test_missing_files_say_how_to_get_them(monkeypatch):
    real = datasets_module.DATASETS["fashion-mnist"]
    monkeypatch.setitem(
        datasets_module.DATASETS, "fashion-mnist", dataclasses.replace(real, system_dirs=())
    )
    monkeypatch.setenv("D2L_OFFLINE", "1")
    with pytest.raises(DataSetNotFoundError) as error:
        read_fashion_mnist(train=True)
    message = str(error.value)
    assert message.startswith("Data set 'fashion-mnist'")
    assert "sudo apt-get install dataset-fashion-mnist" in message
    assert "python -m d2lhelpers download fashion-mnist" in message


# --- the real data -------------------------------------------------------------------------


def test_read_whole_splits(fashion_paths):
    for train, n in ((True, 60_000), (False, 10_000)):
        images, labels = read_fashion_mnist(train)
        assert images.shape == (n, 28, 28) and images.dtype == torch.uint8
        assert labels.shape == (n,) and labels.dtype == torch.int64
        # Every class has the same number of examples.
        assert torch.bincount(labels).tolist() == [n // 10] * 10


def test_default_mode_loaders(fashion_paths, default_mode, capsys):
    train_iter, test_iter = load_data_fashion_mnist(batch_size=10_000)
    assert isinstance(train_iter, TensorLoader)
    assert (train_iter.num_examples, test_iter.num_examples) == (60_000, 10_000)
    assert (len(train_iter), len(test_iter)) == (6, 1)
    total, count = 0.0, 0
    for X, y in train_iter:
        assert X.shape == (10_000, 1, 28, 28) and X.dtype == torch.float32
        assert y.shape == (10_000,) and y.dtype == torch.int64
        assert float(X.min()) >= 0.0 and float(X.max()) <= 1.0
        total += float(X.double().sum())
        count += X.numel()
    assert total / count == pytest.approx(0.2860, abs=5e-4)
    (X, y), = list(test_iter)
    assert float(X.max()) == 1.0 and float(X.min()) == 0.0
    assert "reduced mode" not in capsys.readouterr().err


def test_test_loader_is_in_file_order_and_matches_the_raw_pixels(fashion_paths, default_mode):
    images, labels = read_fashion_mnist(train=False)
    _, test_iter = load_data_fashion_mnist(batch_size=256)
    X, y = next(iter(test_iter))
    assert torch.equal(y, labels[:256])
    assert torch.allclose(X[:, 0] * 255, images[:256].float(), atol=1e-3)


def test_train_loader_reshuffles_every_epoch(fashion_paths, reduced_mode):
    torch.manual_seed(0)
    train_iter, test_iter = load_data_fashion_mnist(batch_size=500)
    epochs = [torch.cat([y for _, y in train_iter]) for _ in range(2)]
    assert not torch.equal(epochs[0], epochs[1])
    assert torch.equal(epochs[0].sort().values, epochs[1].sort().values)
    assert torch.equal(torch.cat([y for _, y in test_iter]), torch.cat([y for _, y in test_iter]))


def test_reduced_mode_uses_a_fixed_subset(fashion_paths, reduced_mode, capsys):
    train_iter, test_iter = load_data_fashion_mnist(batch_size=256)
    assert (train_iter.num_examples, test_iter.num_examples) == (3000, 1000)
    err = capsys.readouterr().err
    assert "reduced mode (D2L_REDUCED=1): using 3,000 of 60,000 Fashion-MNIST training" in err
    assert "using 1,000 of 10,000 Fashion-MNIST test examples" in err
    again, _ = load_data_fashion_mnist(batch_size=64)
    for a, b in zip(train_iter.tensors, again.tensors):
        assert torch.equal(a, b)  # the same examples at every call
    assert len(torch.unique(train_iter.tensors[1])) == 10  # drawn from all classes
    images, _ = read_fashion_mnist(train=True)
    assert not torch.equal(train_iter.tensors[0], images[:3000])  # not simply the first ones


def test_explicit_subset_sizes_win_over_the_environment(fashion_paths, reduced_mode, capsys):
    train_iter, test_iter = load_data_fashion_mnist(batch_size=256, num_train=500, num_test=200)
    assert (train_iter.num_examples, test_iter.num_examples) == (500, 200)
    assert "reduced mode" not in capsys.readouterr().err


def test_explicit_subset_sizes_in_default_mode(fashion_paths, default_mode):
    train_iter, test_iter = load_data_fashion_mnist(batch_size=256, num_train=700)
    assert (train_iter.num_examples, test_iter.num_examples) == (700, 10000)


@pytest.mark.parametrize(
    ("resize", "shape"), [(32, (32, 32)), ((20, 24), (20, 24)), ([14, 7], (14, 7))]
)
def test_resize(fashion_paths, reduced_mode, resize, shape):
    train_iter, test_iter = load_data_fashion_mnist(batch_size=16, resize=resize)
    for loader in (train_iter, test_iter):
        X, y = next(iter(loader))
        assert X.shape == (16, 1, *shape) and X.dtype == torch.float32
        assert y.shape == (16,)
        assert float(X.min()) >= -1e-4 and float(X.max()) <= 1 + 1e-4


@pytest.mark.parametrize("batch_size", [0, -1, 2.5])
def test_bad_batch_size_raises(fashion_paths, batch_size):
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        load_data_fashion_mnist(batch_size)


def test_data_dir_is_searched_first(fashion_paths, tmp_path):
    for name, path in fashion_paths.items():
        (tmp_path / name).symlink_to(path)
    images, labels = read_fashion_mnist(train=False, data_dir=tmp_path)
    assert images.shape == (10_000, 28, 28)
    paths = datasets_module.resolve_dataset("fashion-mnist", data_dir=tmp_path, download=False)
    assert all(p.parent == tmp_path for p in paths.values())


def test_files_come_from_the_local_copy(fashion_paths):
    assert set(fashion_paths) == {
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    }
    assert all(re.fullmatch(r"(train|t10k)-(images|labels)-idx[13]-ubyte", p.name)
               for p in fashion_paths.values())
