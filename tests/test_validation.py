"""The shared argument checks, and that every helper taking a count rejects booleans."""

from __future__ import annotations

import pytest
import torch

import d2lhelpers as d2l
from d2lhelpers.validation import check_dropout, check_int, check_number, is_int


@pytest.mark.parametrize("value", [1, 5, torch.tensor(3).item()])
def test_check_int_accepts_ints(value):
    assert check_int("n", value) == value


@pytest.mark.parametrize(
    ("value", "minimum", "maximum", "message"),
    [
        (True, 1, None, "n must be a positive int, got True"),
        (False, 0, None, "n must be an int >= 0, got False"),
        (0, 1, None, "n must be a positive int, got 0"),
        (2.0, 1, None, "n must be a positive int, got 2.0"),
        ("3", 1, None, "n must be a positive int, got '3'"),
        (5, 0, 4, "n must be an int in 0..4, got 5"),
    ],
)
def test_check_int_names_the_argument_and_the_expectation(value, minimum, maximum, message):
    assert not is_int(value, minimum, maximum)
    with pytest.raises(ValueError, match=message):
        check_int("n", value, minimum, maximum)


@pytest.mark.parametrize("value", [True, "1", None])
def test_check_number_rejects_non_numbers(value):
    with pytest.raises(TypeError, match="x must be a number"):
        check_number("x", value)


def test_check_dropout():
    assert check_dropout(0) == 0.0 and check_dropout(0.5) == 0.5
    for value in (-0.1, 1, 1.5):
        with pytest.raises(ValueError, match=r"dropout must lie in \[0, 1\)"):
            check_dropout(value)
    with pytest.raises(TypeError, match="dropout must be a number"):
        check_dropout("0.1")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: d2l.Accumulator(True), r"Accumulator\(n\): n must be a positive int"),
        (lambda: d2l.TensorLoader(torch.zeros(3), batch_size=True), "batch_size must be"),
        (lambda: d2l.synthetic_data(torch.ones(2), 0.0, True), "num_examples must be"),
        (lambda: d2l.conv_output_size(True, 1), "n must be a positive int"),
        (lambda: d2l.try_gpu(False), r"try_gpu\(i\): i must be an int >= 0"),
        (lambda: d2l.seed_everything(True), r"seed_everything\(seed\): seed must be an int"),
        (lambda: d2l.k_fold_indices(10, True), "k must be an int >= 2"),
        (lambda: d2l.load_data_fashion_mnist(True), "batch_size must be a positive int"),
        (lambda: d2l.load_data_fashion_mnist(8, num_train=True), "num_train must be"),
        (lambda: d2l.load_data_fashion_mnist(8, num_test=0), "num_test must be"),
        (lambda: d2l.train_classifier(None, [], [], True, lr=0.1), "num_epochs must be"),
        (lambda: d2l.train_classifier(None, [], [], 3, lr=0.1, max_epochs=True), "max_epochs"),
    ],
)
def test_helpers_reject_booleans_and_bad_counts(call, message):
    with pytest.raises(ValueError, match=message):
        call()
