"""Tests of d2lhelpers.model_selection (K-fold splits and log-RMSE)."""

import math

import pytest
import torch

import d2lhelpers as d2l


@pytest.mark.parametrize("n, k", [(10, 2), (10, 3), (7, 7), (1460, 5)])
def test_k_fold_indices_partition(n, k):
    splits = d2l.k_fold_indices(n, k)
    assert len(splits) == k
    valid = torch.cat([v for _, v in splits])
    assert sorted(valid.tolist()) == list(range(n))  # each example validated exactly once
    for train_idx, valid_idx in splits:
        assert len(valid_idx) in (n // k, n // k + 1)
        assert set(train_idx.tolist()) | set(valid_idx.tolist()) == set(range(n))
        assert not set(train_idx.tolist()) & set(valid_idx.tolist())
        assert train_idx.dtype == valid_idx.dtype == torch.int64


def test_k_fold_indices_contiguous_without_generator():
    splits = d2l.k_fold_indices(6, 3)
    assert [v.tolist() for _, v in splits] == [[0, 1], [2, 3], [4, 5]]
    assert splits[1][0].tolist() == [0, 1, 4, 5]


def test_k_fold_indices_shuffled_with_generator_is_reproducible():
    a = d2l.k_fold_indices(20, 4, generator=torch.Generator().manual_seed(1))
    b = d2l.k_fold_indices(20, 4, generator=torch.Generator().manual_seed(1))
    assert all(torch.equal(x[1], y[1]) for x, y in zip(a, b))
    assert [v.tolist() for _, v in a] != [v.tolist() for _, v in d2l.k_fold_indices(20, 4)]


@pytest.mark.parametrize("n, k", [(10, 1), (10, 0), (3, 4), (10, 2.0), (10, True), (2.5, 2)])
def test_k_fold_indices_bad_input(n, k):
    with pytest.raises(ValueError, match=r"(k|num_examples) must be an int >= "):
        d2l.k_fold_indices(n, k)


def test_get_k_fold_data():
    X = torch.arange(20.0).reshape(10, 2)
    y = torch.arange(10)
    X_train, y_train, X_valid, y_valid = d2l.get_k_fold_data(5, 1, X, y)
    assert y_valid.tolist() == [2, 3]
    assert y_train.tolist() == [0, 1, 4, 5, 6, 7, 8, 9]
    assert torch.equal(X_valid, X[2:4]) and X_train.shape == (8, 2)


@pytest.mark.parametrize("i", [-1, 5, 1.0])
def test_get_k_fold_data_bad_fold(i):
    with pytest.raises(ValueError, match="i must be"):
        d2l.get_k_fold_data(5, i, torch.zeros(10, 2), torch.zeros(10))


def test_get_k_fold_data_length_mismatch():
    with pytest.raises(ValueError, match="same length"):
        d2l.get_k_fold_data(2, 0, torch.zeros(10, 2), torch.zeros(9))


def test_log_rmse_values():
    labels = torch.tensor([100.0, 1_000_000.0])
    assert d2l.log_rmse(labels.clone(), labels) == pytest.approx(0.0)
    assert d2l.log_rmse(labels * 1.1, labels) == pytest.approx(math.log(1.1), rel=1e-5)
    # predictions below 1 are clipped to 1: log(1) - log(e) = -1
    assert d2l.log_rmse(torch.tensor([-5.0]), torch.tensor([math.e])) == pytest.approx(1.0)
    # shapes (n, 1) and (n,) are both accepted
    assert d2l.log_rmse(torch.ones(3, 1) * 2, torch.ones(3) * 2) == pytest.approx(0.0)


def test_log_rmse_does_not_track_gradients():
    preds = torch.tensor([2.0, 3.0], requires_grad=True)
    assert isinstance(d2l.log_rmse(preds, torch.tensor([2.0, 3.0])), float)


@pytest.mark.parametrize(
    "preds, labels, message",
    [
        (torch.ones(3), torch.ones(2), "same number"),
        (torch.ones(0), torch.ones(0), "empty"),
        (torch.ones(2), torch.tensor([1.0, 0.0]), "> 0"),
        (torch.ones(2), torch.tensor([1.0, -3.0]), "> 0"),
    ],
)
def test_log_rmse_bad_input(preds, labels, message):
    with pytest.raises(ValueError, match=message):
        d2l.log_rmse(preds, labels)
