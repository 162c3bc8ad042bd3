"""Choosing where tensors live: a CUDA GPU, Apple's MPS, or the CPU."""

from __future__ import annotations

import torch

from .validation import check_int


def cpu() -> torch.device:
    """The CPU device."""
    return torch.device("cpu")


def num_gpus() -> int:
    """Number of CUDA GPUs PyTorch can use (0 on a laptop without one)."""
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _mps_available() -> bool:
    return hasattr(torch.backends, "mps") and torch.backends.mps.is_available()


def try_gpu(i: int = 0) -> torch.device:
    """GPU number ``i`` if it exists, else the CPU.

    On a Mac without CUDA, ``try_gpu(0)`` returns Apple's ``mps`` device when PyTorch supports it.

    Raises:
        ValueError: if ``i`` is not a non-negative int.

    Source: d2l §6.7 (GPUs).
    """
    check_int("try_gpu(i): i", i, minimum=0)
    if i < num_gpus():
        return torch.device(f"cuda:{i}")
    if i == 0 and num_gpus() == 0 and _mps_available():
        return torch.device("mps")
    return cpu()


def try_all_gpus() -> list[torch.device]:
    """Every CUDA GPU, else ``[mps]`` on a Mac that has it, else ``[cpu]``."""
    if num_gpus():
        return [torch.device(f"cuda:{i}") for i in range(num_gpus())]
    return [try_gpu(0)]
