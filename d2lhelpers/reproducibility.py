"""Seeding every random number generator the book uses."""

from __future__ import annotations

import random

import numpy as np
import torch

from .validation import check_int


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy and PyTorch (CPU and every GPU) with ``seed``.

    Results then repeat run to run on the same machine and library versions; different
    hardware or thread counts can still change the last digits of floating-point sums.

    Raises:
        ValueError: if ``seed`` is not an int in ``[0, 2**32)``.
    """
    check_int("seed_everything(seed): seed", seed, minimum=0, maximum=2**32 - 1)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
