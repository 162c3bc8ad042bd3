"""What a network costs: parameters and multiply-adds, layer by layer.

Multiply-adds are counted by PyTorch's own ``torch.utils.flop_counter.FlopCounterMode`` (which
counts two floating-point operations per multiply-add of a convolution or matrix product, and
nothing for activations, pooling or normalization). Pass a network built on the ``meta`` device
to summarise full-size networks without allocating their weights.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from .validation import check_int


def count_parameters(net: nn.Module) -> int:
    """Number of learnable parameters (elements of all ``net.parameters()``)."""
    return sum(p.numel() for p in net.parameters())


def _example_input(net: nn.Module, input_shape: Sequence[int]) -> torch.Tensor:
    if len(input_shape) < 2:
        raise ValueError(f"input_shape must be (batch, channels, ...), got {tuple(input_shape)}")
    for size in input_shape:
        check_int("input_shape", size)
    device = next(net.parameters(), torch.empty(0)).device
    return torch.zeros(tuple(input_shape), device=device)


def multiply_adds(net: nn.Module, input_shape: Sequence[int]) -> int:
    """Multiply-adds of one forward pass of ``net`` on a zero tensor of ``input_shape``.

    Args:
        net: any module; it is evaluated in eval mode, on the device of its parameters (use
            ``meta`` for large networks: nothing is computed, only counted).
        input_shape: e.g. ``(1, 1, 28, 28)`` for one Fashion-MNIST image. With a batch of
            ``B`` images the count is ``B`` times that of one.

    Returns:
        Multiply-adds of the convolutions and matrix products (FLOPs / 2).

    Raises:
        ValueError: if ``input_shape`` has fewer than two entries or a non-positive size.
    """
    X = _example_input(net, input_shape)
    was_training = net.training
    net.eval()
    try:
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            net(X)
    finally:
        net.train(was_training)
    return counter.get_total_flops() // 2


def layer_summary(net: nn.Sequential, input_shape: Sequence[int]) -> pd.DataFrame:
    """One row per top-level layer of ``net``: output shape, parameters and multiply-adds.

    Like the layer tables of the AlexNet, VGG and ResNet papers, counted rather than typed.

    Args:
        net: an ``nn.Sequential`` (its direct children are the rows; a block such as a VGG
            block or a residual stage is one row).
        input_shape: shape of the input, batch included, e.g. ``(1, 3, 224, 224)``.

    Returns:
        A DataFrame with columns ``layer`` (class name), ``output shape`` (without the batch
        axis), ``parameters`` and ``multiply-adds`` (per input of the given shape), and a last
        row ``total``.

    Raises:
        TypeError: if ``net`` is not an ``nn.Sequential``.
        ValueError: if ``input_shape`` is invalid (see ``multiply_adds``).
    """
    if not isinstance(net, nn.Sequential):
        raise TypeError(f"net must be an nn.Sequential, got {type(net).__name__}")
    X = _example_input(net, input_shape)
    was_training = net.training
    net.eval()
    rows = []
    try:
        with torch.no_grad():
            for layer in net:
                with FlopCounterMode(display=False) as counter:
                    X = layer(X)
                rows.append(
                    {
                        "layer": type(layer).__name__,
                        "output shape": tuple(X.shape[1:]),
                        "parameters": count_parameters(layer),
                        "multiply-adds": counter.get_total_flops() // 2,
                    }
                )
    finally:
        net.train(was_training)
    table = pd.DataFrame(rows)
    total = {"layer": "total", "output shape": "", "parameters": table["parameters"].sum(),
             "multiply-adds": table["multiply-adds"].sum()}
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)
