"""Convolution and pooling from scratch: the operations of chapter 4 (convolutional networks).

These loop-based versions are for teaching and for checking ``torch.nn`` against; they are far
slower than ``nn.Conv2d`` / ``nn.MaxPool2d`` and not meant for training.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .validation import check_int


def _check_2d(name: str, t: Tensor) -> None:
    if not isinstance(t, Tensor) or t.ndim != 2:
        shape = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
        raise ValueError(f"{name} must be a 2-D tensor (height, width), got {shape}")


def conv_output_size(n: int, k: int, total_padding: int = 0, stride: int = 1) -> int:
    """Output length along one axis of a convolution or pooling window.

    ``floor((n - k + total_padding + stride) / stride)``. Note that ``total_padding`` is the
    padding added on *both* sides together: PyTorch's ``nn.Conv2d(padding=q)`` pads ``q`` on
    each side, which is ``total_padding = 2 * q``.

    Args:
        n: input length (height or width), at least 1.
        k: window (kernel) length, at least 1 and at most ``n + total_padding``.
        total_padding: rows (or columns) of padding added on both sides together, >= 0.
        stride: step between windows, at least 1.

    Returns:
        The number of window positions, at least 1.

    Raises:
        ValueError: if an argument is out of range or the window does not fit.

    Source: d2l §6.3 (padding and stride).
    """
    for name, value, low in (
        ("n", n, 1),
        ("k", k, 1),
        ("total_padding", total_padding, 0),
        ("stride", stride, 1),
    ):
        check_int(name, value, minimum=low)
    if k > n + total_padding:
        raise ValueError(
            f"window k={k} is larger than the padded input n + p = {n + total_padding}"
        )
    return (n - k + total_padding + stride) // stride


def corr2d(X: Tensor, K: Tensor) -> Tensor:
    """Two-dimensional cross-correlation of ``X`` with kernel ``K`` (no padding, stride 1).

    ``Y[i, j] = sum_{a, b} X[i + a, j + b] * K[a, b]``, which is what ``nn.Conv2d`` computes
    (deep-learning "convolution" does not flip the kernel).

    Args:
        X: input of shape ``(n_h, n_w)``.
        K: kernel of shape ``(k_h, k_w)`` with ``k_h <= n_h`` and ``k_w <= n_w``.

    Returns:
        Tensor of shape ``(n_h - k_h + 1, n_w - k_w + 1)``; gradients flow to ``X`` and ``K``.

    Raises:
        ValueError: if ``X`` or ``K`` is not 2-D, or ``K`` is larger than ``X``.

    Source: d2l §6.2 (convolutions for images).
    """
    _check_2d("X", X)
    _check_2d("K", K)
    h, w = K.shape
    if h > X.shape[0] or w > X.shape[1]:
        raise ValueError(f"kernel {tuple(K.shape)} is larger than input {tuple(X.shape)}")
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1), dtype=torch.result_type(X, K))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i : i + h, j : j + w] * K).sum()
    return Y


def corr2d_multi_in(X: Tensor, K: Tensor) -> Tensor:
    """Cross-correlation with several input channels, summed over the channels.

    Args:
        X: input of shape ``(c_i, n_h, n_w)``.
        K: kernel of shape ``(c_i, k_h, k_w)``.

    Returns:
        One output channel, shape ``(n_h - k_h + 1, n_w - k_w + 1)``.

    Raises:
        ValueError: if ``X`` or ``K`` is not 3-D or their channel counts differ.

    Source: d2l §6.4 (multiple input and multiple output channels).
    """
    if X.ndim != 3 or K.ndim != 3:
        raise ValueError(
            f"X and K must be 3-D (channels, height, width), got {tuple(X.shape)} and "
            f"{tuple(K.shape)}"
        )
    if X.shape[0] != K.shape[0]:
        raise ValueError(f"X has {X.shape[0]} input channels but K has {K.shape[0]}")
    return sum(corr2d(x, k) for x, k in zip(X, K))


def corr2d_multi_in_out(X: Tensor, K: Tensor) -> Tensor:
    """Cross-correlation with several input and output channels.

    Args:
        X: input of shape ``(c_i, n_h, n_w)``.
        K: kernel of shape ``(c_o, c_i, k_h, k_w)``.

    Returns:
        Tensor of shape ``(c_o, n_h - k_h + 1, n_w - k_w + 1)``.

    Raises:
        ValueError: if ``K`` is not 4-D, or as :func:`corr2d_multi_in`.

    Source: d2l §6.4 (multiple input and multiple output channels).
    """
    if K.ndim != 4:
        raise ValueError(f"K must be 4-D (c_o, c_i, k_h, k_w), got {tuple(K.shape)}")
    return torch.stack([corr2d_multi_in(X, k) for k in K])


def pool2d(X: Tensor, pool_size: tuple[int, int], mode: str = "max") -> Tensor:
    """Max or average pooling of one channel, stride 1, no padding.

    Args:
        X: input of shape ``(n_h, n_w)``.
        pool_size: window ``(p_h, p_w)``, no larger than ``X``.
        mode: ``"max"`` or ``"avg"``.

    Returns:
        Tensor of shape ``(n_h - p_h + 1, n_w - p_w + 1)``.

    Raises:
        ValueError: if ``X`` is not 2-D, the window does not fit, or ``mode`` is unknown.

    Source: d2l §6.5 (pooling).
    """
    _check_2d("X", X)
    if mode not in ("max", "avg"):
        raise ValueError(f"mode must be 'max' or 'avg', got {mode!r}")
    p_h, p_w = pool_size
    if not (1 <= p_h <= X.shape[0] and 1 <= p_w <= X.shape[1]):
        raise ValueError(f"pool_size {tuple(pool_size)} does not fit input {tuple(X.shape)}")
    Y = torch.zeros((X.shape[0] - p_h + 1, X.shape[1] - p_w + 1), dtype=X.dtype)
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            window = X[i : i + p_h, j : j + p_w]
            Y[i, j] = window.max() if mode == "max" else window.mean()
    return Y
