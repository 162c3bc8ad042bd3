"""Seeding every random number generator the book uses."""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy and PyTorch (CPU and every GPU) with ``seed``.

    Results then repeat run to run on the same machine and library versions; different
    hardware or thread counts can still change the last digits of floating-point sums.

    Raises:
        ValueError: if ``seed`` is not an int in ``[0, 2**32)``.
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
        raise ValueError(f"seed_everything(seed): seed must be an int in [0, 2**32), got {seed!r}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
