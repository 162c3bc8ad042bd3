"""TensorLoader, load_array and synthetic_data."""

from __future__ import annotations

import pytest
import torch

from d2lhelpers import TensorLoader, load_array, synthetic_data


def data(n: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    X = torch.arange(n * 2, dtype=torch.float32).reshape(n, 2)
    y = torch.arange(n)
    return X, y


@pytest.mark.parametrize(
    ("n", "batch_size", "drop_last", "sizes"),
    [
        (10, 3, False, [3, 3, 3, 1]),
        (10, 3, True, [3, 3, 3]),
        (9, 3, False, [3, 3, 3]),
        (9, 3, True, [3, 3, 3]),
        (2, 5, False, [2]),
        (2, 5, True, []),
        (0, 4, False, []),
    ],
)
def test_batch_count_and_sizes(n, batch_size, drop_last, sizes):
    X, y = data(n)
    loader = TensorLoader(X, y, batch_size=batch_size, drop_last=drop_last)
    assert loader.num_examples == n
    assert len(loader) == len(sizes)
    assert [len(bX) for bX, _ in loader] == sizes
    assert [len(by) for _, by in loader] == sizes


def test_unshuffled_batches_keep_order_and_pair_rows():
    X, y = data(10)
    batches = list(TensorLoader(X, y, batch_size=4))
    assert torch.equal(torch.cat([b for _, b in batches]), y)
    assert torch.equal(batches[-1][0], X[8:])  # the last, partial batch
    for bX, by in batches:
        assert torch.equal(bX, X[by])


def test_shuffled_epochs_cover_every_example_once_in_fresh_orders():
    torch.manual_seed(0)
    X, y = data(50)
    loader = TensorLoader(X, y, batch_size=7, shuffle=True)
    orders = []
    for _ in range(3):
        batches = list(loader)
        assert [len(b) for _, b in batches] == [7] * 7 + [1]
        order = torch.cat([b for _, b in batches])
        assert sorted(order.tolist()) == list(range(50))  # each example exactly once
        for bX, by in batches:
            assert torch.equal(bX, X[by])  # features stay with their labels
        orders.append(order.tolist())
    assert orders[0] != list(range(50))
    assert orders[0] != orders[1] and orders[1] != orders[2]


def test_shuffle_with_drop_last_drops_only_the_remainder():
    torch.manual_seed(0)
    X, y = data(10)
    seen = torch.cat([b for _, b in TensorLoader(X, y, batch_size=3, shuffle=True, drop_last=True)])
    assert len(seen) == 9 and len(set(seen.tolist())) == 9


def test_transform_is_applied_to_every_batch():
    X, y = data(5)
    calls = []

    def transform(bX, by):
        calls.append(len(by))
        return bX * 10, by + 100

    batches = list(TensorLoader(X, y, batch_size=2, transform=transform))
    assert calls == [2, 2, 1]
    assert torch.equal(torch.cat([b for b, _ in batches]), X * 10)
    assert torch.equal(torch.cat([b for _, b in batches]), y + 100)


def test_single_and_three_tensors():
    X, y = data(4)
    (batch,) = list(TensorLoader(X, batch_size=4))
    assert isinstance(batch, tuple) and len(batch) == 1 and torch.equal(batch[0], X)
    w = torch.ones(4)
    assert all(len(b) == 3 for b in TensorLoader(X, y, w, batch_size=3))


def test_mismatched_lengths_raise():
    shapes = r"tensors must have the same first dimension.*\(5, 2\).*\(4,\)"
    with pytest.raises(ValueError, match=shapes):
        TensorLoader(torch.zeros(5, 2), torch.zeros(4), batch_size=2)


def test_no_tensor_raises():
    with pytest.raises(ValueError, match="at least one tensor"):
        TensorLoader(batch_size=2)


@pytest.mark.parametrize("batch_size", [0, -3, 2.0, True, None])
def test_bad_batch_size_raises(batch_size):
    X, y = data(4)
    with pytest.raises(ValueError, match=r"batch_size must be a positive int"):
        TensorLoader(X, y, batch_size=batch_size)


def test_load_array_shuffles_only_for_training():
    X, y = data(20)
    torch.manual_seed(0)
    train = load_array((X, y), batch_size=5)
    assert isinstance(train, TensorLoader) and train.shuffle and train.batch_size == 5
    assert torch.cat([b for _, b in train]).tolist() != list(range(20))
    test = load_array((X, y), batch_size=5, is_train=False)
    assert not test.shuffle
    assert torch.cat([b for _, b in test]).tolist() == list(range(20))


def test_synthetic_data_shapes_and_dtypes():
    X, y = synthetic_data(torch.tensor([2.0, -3.4]), 4.2, 100)
    assert X.shape == (100, 2) and y.shape == (100, 1)
    assert X.dtype == y.dtype == torch.float32


def test_synthetic_data_follows_the_linear_model():
    torch.manual_seed(0)
    w, b = torch.tensor([2.0, -3.4, 0.5], dtype=torch.float64), 4.2
    X, y = synthetic_data(w, b, 2000, noise_std=0.01)
    residual = y.squeeze(1) - (X @ w.float() + b)
    assert residual.std() == pytest.approx(0.01, rel=0.1)
    assert abs(float(residual.mean())) < 0.002
    # Least squares recovers w and b.
    design = torch.cat([X, torch.ones(len(X), 1)], dim=1).double()
    solution = torch.linalg.lstsq(design, y.double()).solution.squeeze(1)
    assert torch.allclose(solution[:3], w, atol=2e-3)
    assert solution[3].item() == pytest.approx(b, abs=2e-3)


def test_synthetic_data_noise_std():
    torch.manual_seed(0)
    w = torch.tensor([1.0])
    X, y = synthetic_data(w, 0.0, 5000, noise_std=0.0)
    assert torch.allclose(y.squeeze(1), X[:, 0])
    X, y = synthetic_data(w, 0.0, 5000, noise_std=0.5)
    assert (y.squeeze(1) - X[:, 0]).std() == pytest.approx(0.5, rel=0.05)


@pytest.mark.parametrize("w", [torch.ones(2, 1), torch.tensor(1.0)])
def test_synthetic_data_bad_w_raises(w):
    with pytest.raises(ValueError, match=r"w must be a 1-D tensor"):
        synthetic_data(w, 0.0, 10)


@pytest.mark.parametrize("n", [0, -5, 10.0])
def test_synthetic_data_bad_num_examples_raises(n):
    with pytest.raises(ValueError, match=r"num_examples must be a positive int"):
        synthetic_data(torch.ones(2), 0.0, n)
