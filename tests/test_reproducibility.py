"""seed_everything."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from d2lhelpers import seed_everything


def draws() -> tuple[float, list[float], list[float]]:
    return random.random(), np.random.rand(3).tolist(), torch.rand(3).tolist()


def test_same_seed_same_draws_from_every_generator():
    seed_everything(1234)
    first = draws()
    random.random(), np.random.rand(), torch.rand(1)  # move every generator on
    seed_everything(1234)
    assert draws() == first


def test_different_seeds_different_draws():
    seed_everything(1)
    first = draws()
    seed_everything(2)
    second = draws()
    assert all(a != b for a, b in zip(first, second))


@pytest.mark.parametrize("seed", [0, 2**32 - 1])
def test_extreme_seeds_are_accepted(seed):
    seed_everything(seed)
    assert torch.initial_seed() == seed


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, "42", None, True])
def test_bad_seed_raises(seed):
    with pytest.raises(ValueError, match=r"seed_everything\(seed\): seed must be an int"):
        seed_everything(seed)
