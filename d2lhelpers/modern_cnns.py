"""The modern convolutional networks of chapter 4, with their size as arguments.

Each constructor builds the published network by default (3-channel ImageNet input, 1,000
classes) and, with smaller knobs, the scaled version that the notebooks train on Fashion-MNIST
on a laptop CPU. The notebooks of chapter 4 derive each block from scratch and check it against
these; later notebooks (and the chapter's closing comparison) import them from here.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .validation import check_int


def _flat_features(features: nn.Module, in_channels: int, image_size: int) -> int:
    """Length of ``features``' flattened output for one image (run where its weights are, so
    that a network built on the ``meta`` device costs no arithmetic)."""
    device = next(features.parameters()).device
    with torch.no_grad():
        return features(torch.zeros(1, in_channels, image_size, image_size, device=device)).numel()


def _classifier_head(in_features: int, hidden: int, num_classes: int, dropout: float) -> list:
    return [
        nn.Flatten(),
        nn.Linear(in_features, hidden), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(hidden, num_classes),
    ]


def lenet(batch_norm: bool = False) -> nn.Sequential:
    """LeNet-5 for 28 x 28 single-channel images (sigmoid, average pooling), 10 logits.

    With ``batch_norm=True`` a batch normalization layer follows every convolution and hidden
    linear layer, before the sigmoid (d2l §8.5's BN LeNet).

    Source: LeCun et al. (1998), Gradient-based learning applied to document recognition;
    d2l §7.6.
    """
    def norm(channels: int, dims: int) -> list[nn.Module]:
        if not batch_norm:
            return []
        return [nn.BatchNorm2d(channels) if dims == 2 else nn.BatchNorm1d(channels)]

    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), *norm(6, 2), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), *norm(16, 2), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2), nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), *norm(120, 1), nn.Sigmoid(),
        nn.Linear(120, 84), *norm(84, 1), nn.Sigmoid(),
        nn.Linear(84, 10),
    )


def alexnet(
    num_classes: int = 1000,
    in_channels: int = 3,
    image_size: int = 227,
    channels: Sequence[int] = (96, 256, 384, 384, 256),
    hidden: int = 4096,
    first_kernel: int = 11,
    first_stride: int = 4,
) -> nn.Sequential:
    """AlexNet: five convolutions (ReLU, overlapping 3 x 3 max pooling) and three linear layers.

    The published network (defaults) takes 227 x 227 RGB images; its first convolution has
    ``first_kernel`` 11 and ``first_stride`` 4. Unlike the paper it is not split over two GPUs
    (the paper's grouped convolutions), so it has 62.4 M parameters rather than 61 M.

    Args:
        num_classes, in_channels: logits out, image channels in.
        image_size: input height = width in pixels (needed to size the first linear layer).
        channels: output channels of the five convolutions.
        hidden: width of the two hidden linear layers (each followed by dropout 0.5).
        first_kernel, first_stride: the first convolution's kernel size and stride.

    Returns:
        A network mapping ``(B, in_channels, image_size, image_size)`` to ``(B, num_classes)``.

    Raises:
        ValueError: if ``channels`` does not have five entries or a size is not a positive int.

    Source: Krizhevsky, Sutskever, Hinton (2012), ImageNet classification with deep
    convolutional neural networks; d2l §8.1.
    """
    if len(channels) != 5:
        raise ValueError(f"channels must have 5 entries, got {tuple(channels)}")
    for name, value in (("image_size", image_size), ("hidden", hidden),
                        ("first_kernel", first_kernel), ("first_stride", first_stride)):
        check_int(name, value)
    c1, c2, c3, c4, c5 = channels
    features = nn.Sequential(
        nn.Conv2d(in_channels, c1, first_kernel, first_stride, (first_kernel - first_stride) // 2),
        nn.ReLU(), nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(c1, c2, kernel_size=5, padding=2), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(c2, c3, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(c3, c4, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(c4, c5, kernel_size=3, padding=1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
    )
    flat = _flat_features(features, in_channels, image_size)
    return nn.Sequential(*features, *_classifier_head(flat, hidden, num_classes, 0.5))


def vgg_block(num_convs: int, in_channels: int, out_channels: int) -> nn.Sequential:
    """``num_convs`` 3 x 3 convolutions (padding 1, ReLU), then 2 x 2 max pooling, stride 2.

    Keeps nothing but the channel count from its input: ``(B, in_channels, H, W)`` becomes
    ``(B, out_channels, H // 2, W // 2)``. Source: Simonyan & Zisserman (2015); d2l §8.2.
    """
    layers: list[nn.Module] = []
    for _ in range(num_convs):
        layers += [nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1), nn.ReLU()]
        in_channels = out_channels
    return nn.Sequential(*layers, nn.MaxPool2d(kernel_size=2, stride=2))


VGG11 = ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512))
"""VGG-11's blocks as ``(number of convolutions, output channels)`` (configuration A)."""


def vgg(
    arch: Sequence[tuple[int, int]] = VGG11,
    num_classes: int = 1000,
    in_channels: int = 3,
    image_size: int = 224,
    hidden: int = 4096,
) -> nn.Sequential:
    """VGG: a stack of VGG blocks (``vgg_block``), then three linear layers as in AlexNet.

    Args:
        arch: one ``(num_convs, out_channels)`` pair per block; the default is VGG-11.
        num_classes, in_channels: logits out, image channels in.
        image_size: input height = width in pixels; each block halves it.
        hidden: width of the two hidden linear layers (each followed by dropout 0.5).

    Returns:
        A network mapping ``(B, in_channels, image_size, image_size)`` to ``(B, num_classes)``.

    Source: Simonyan & Zisserman (2015), Very deep convolutional networks for large-scale
    image recognition; d2l §8.2.
    """
    blocks, channels = [], in_channels
    for num_convs, out_channels in arch:
        blocks.append(vgg_block(num_convs, channels, out_channels))
        channels = out_channels
    features = nn.Sequential(*blocks)
    flat = _flat_features(features, in_channels, image_size)
    return nn.Sequential(*blocks, *_classifier_head(flat, hidden, num_classes, 0.5))


def nin_block(in_channels: int, out_channels: int, kernel_size: int, stride: int,
              padding: int) -> nn.Sequential:
    """A convolution followed by two 1 x 1 convolutions (the "MLP" applied at every pixel).

    Source: Lin, Chen, Yan (2014), Network in network; d2l §8.3.
    """
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU(),
    )


def nin(
    num_classes: int = 1000,
    in_channels: int = 3,
    channels: Sequence[int] = (96, 256, 384),
    first_kernel: int = 11,
    first_stride: int = 4,
) -> nn.Sequential:
    """Network in network: NiN blocks and max pooling, no linear layer at all.

    The last NiN block outputs one channel per class and global average pooling turns each
    channel into a logit, so the network accepts any image size.

    Args:
        num_classes, in_channels: logits out, image channels in.
        channels: output channels of the first three NiN blocks (d2l: 96, 256, 384).
        first_kernel, first_stride: the first convolution's kernel size and stride (11, 4 for
            224 x 224 input).

    Returns:
        A network mapping ``(B, in_channels, H, W)`` to ``(B, num_classes)``.

    Source: Lin, Chen, Yan (2014); d2l §8.3.
    """
    if len(channels) != 3:
        raise ValueError(f"channels must have 3 entries, got {tuple(channels)}")
    c1, c2, c3 = channels
    return nn.Sequential(
        nin_block(in_channels, c1, first_kernel, first_stride, (first_kernel - first_stride) // 2),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nin_block(c1, c2, kernel_size=5, stride=1, padding=2),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nin_block(c2, c3, kernel_size=3, stride=1, padding=1),
        nn.MaxPool2d(kernel_size=3, stride=2), nn.Dropout(0.5),
        nin_block(c3, num_classes, kernel_size=3, stride=1, padding=1),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(),
    )


class Inception(nn.Module):
    """GoogLeNet's Inception block: four parallel branches, concatenated along channels.

    Branches: 1 x 1 convolution (``c1`` channels); 1 x 1 then 3 x 3 (``c2 = (reduce, out)``);
    1 x 1 then 5 x 5 (``c3 = (reduce, out)``); 3 x 3 max pooling then 1 x 1 (``c4``). Every
    branch keeps the height and width, so ``(B, C, H, W)`` becomes
    ``(B, c1 + c2[1] + c3[1] + c4, H, W)``.

    Source: Szegedy et al. (2015), Going deeper with convolutions; d2l §8.4.
    """

    def __init__(self, in_channels: int, c1: int, c2: tuple[int, int], c3: tuple[int, int],
                 c4: int) -> None:
        super().__init__()
        self.branch1 = nn.Sequential(nn.Conv2d(in_channels, c1, kernel_size=1), nn.ReLU())
        self.branch2 = nn.Sequential(
            nn.Conv2d(in_channels, c2[0], kernel_size=1), nn.ReLU(),
            nn.Conv2d(c2[0], c2[1], kernel_size=3, padding=1), nn.ReLU())
        self.branch3 = nn.Sequential(
            nn.Conv2d(in_channels, c3[0], kernel_size=1), nn.ReLU(),
            nn.Conv2d(c3[0], c3[1], kernel_size=5, padding=2), nn.ReLU())
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1),
            nn.Conv2d(in_channels, c4, kernel_size=1), nn.ReLU())

    def forward(self, X: Tensor) -> Tensor:
        branches = (self.branch1, self.branch2, self.branch3, self.branch4)
        return torch.cat([branch(X) for branch in branches], dim=1)


# GoogLeNet's nine Inception blocks: (c1, (c2 reduce, c2), (c3 reduce, c3), c4), in the
# paper's order 3a, 3b | 4a-4e | 5a, 5b (a max pooling sits at each "|").
GOOGLENET_INCEPTIONS = (
    (64, (96, 128), (16, 32), 32), (128, (128, 192), (32, 96), 64),
    (192, (96, 208), (16, 48), 64), (160, (112, 224), (24, 64), 64),
    (128, (128, 256), (24, 64), 64), (112, (144, 288), (32, 64), 64),
    (256, (160, 320), (32, 128), 128),
    (256, (160, 320), (32, 128), 128), (384, (192, 384), (48, 128), 128),
)


def _stem(in_channels: int, out_channels: int, kernel_size: int, stride: int,
          batch_norm: bool) -> list[nn.Module]:
    """A first convolution and 3 x 3 max pooling with stride 2: together they divide the
    image side by ``2 * stride``."""
    conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, kernel_size // 2,
                     bias=not batch_norm)
    norm = [nn.BatchNorm2d(out_channels)] if batch_norm else []
    return [conv, *norm, nn.ReLU(), nn.MaxPool2d(kernel_size=3, stride=2, padding=1)]


def googlenet(
    num_classes: int = 1000,
    in_channels: int = 3,
    width: float = 1.0,
    stem_kernel: int = 7,
    stem_stride: int = 2,
) -> nn.Sequential:
    """GoogLeNet (Inception v1, without the auxiliary classifiers), in five stages.

    Stage 1 is the stem (a ``stem_kernel`` convolution with ``stem_stride``, max pooling);
    stage 2 a 1 x 1 and a 3 x 3 convolution; stages 3-5 hold 2, 5 and 2 Inception blocks; max
    poolings with stride 2 separate the stages, and global average pooling ends the last.

    Args:
        num_classes, in_channels: logits out, image channels in.
        width: multiplies every channel count (rounded, at least 1); 1.0 is the published net.
        stem_kernel, stem_stride: the first convolution (7, 2 for 224 x 224 input).

    Returns:
        A network mapping ``(B, in_channels, H, W)`` to ``(B, num_classes)``.

    Source: Szegedy et al. (2015); d2l §8.4.
    """
    if not width > 0:
        raise ValueError(f"width must be positive, got {width!r}")

    def w(c: int) -> int:
        return max(1, round(c * width))

    pool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
    stages = [nn.Sequential(*_stem(in_channels, w(64), stem_kernel, stem_stride, False)),
              nn.Sequential(nn.Conv2d(w(64), w(64), kernel_size=1), nn.ReLU(),
                            nn.Conv2d(w(64), w(192), kernel_size=3, padding=1), nn.ReLU(), pool)]
    channels = w(192)
    for start, stop, end in ((0, 2, pool), (2, 7, pool),
                             (7, 9, nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()))):
        blocks = []
        for c1, c2, c3, c4 in GOOGLENET_INCEPTIONS[start:stop]:
            blocks.append(Inception(channels, w(c1), (w(c2[0]), w(c2[1])),
                                    (w(c3[0]), w(c3[1])), w(c4)))
            channels = w(c1) + w(c2[1]) + w(c3[1]) + w(c4)
        stages.append(nn.Sequential(*blocks, end))
    return nn.Sequential(*stages, nn.Linear(channels, num_classes))


class Residual(nn.Module):
    """ResNet's basic block: two 3 x 3 convolutions with batch norm, plus the input.

    ``(B, in_channels, H, W)`` becomes ``(B, out_channels, H / stride, W / stride)``. When that
    changes the shape (``stride > 1`` or a different channel count), the shortcut is a 1 x 1
    convolution with the same stride (plus batch norm), so that the two can be added.

    Source: He et al. (2016), Deep residual learning for image recognition; d2l §8.6.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels))

    def forward(self, X: Tensor) -> Tensor:
        Y = torch.relu(self.bn1(self.conv1(X)))
        return torch.relu(self.bn2(self.conv2(Y)) + self.shortcut(X))


RESNET18 = ((2, 64), (2, 128), (2, 256), (2, 512))
"""ResNet-18's stages as ``(residual blocks, channels)``."""


def resnet(
    arch: Sequence[tuple[int, int]] = RESNET18,
    num_classes: int = 1000,
    in_channels: int = 3,
    stem_kernel: int = 7,
    stem_stride: int = 2,
) -> nn.Sequential:
    """ResNet with basic blocks: a stem, stages of ``Residual`` blocks, global average pooling.

    Every stage but the first starts with a block of stride 2 that doubles the channels (in
    ResNet-18) and therefore needs the 1 x 1 shortcut.

    Args:
        arch: one ``(num_blocks, channels)`` pair per stage; the default is ResNet-18.
        num_classes, in_channels: logits out, image channels in.
        stem_kernel, stem_stride: the first convolution (7, 2 for 224 x 224 input); max
            pooling with stride 2 follows it.

    Returns:
        A network mapping ``(B, in_channels, H, W)`` to ``(B, num_classes)``: the stem, one
        ``nn.Sequential`` per stage, then pooling, flattening and the linear layer.

    Source: He et al. (2016); d2l §8.6.
    """
    channels = arch[0][1]
    layers: list[nn.Module] = [nn.Sequential(*_stem(in_channels, channels, stem_kernel,
                                                    stem_stride, True))]
    for i, (num_blocks, out_channels) in enumerate(arch):
        blocks = []
        for j in range(num_blocks):
            stride = 2 if i > 0 and j == 0 else 1
            blocks.append(Residual(channels, out_channels, stride))
            channels = out_channels
        layers.append(nn.Sequential(*blocks))
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(channels, num_classes))


def _bn_relu_conv(in_channels: int, out_channels: int, kernel_size: int) -> list[nn.Module]:
    return [nn.BatchNorm2d(in_channels), nn.ReLU(),
            nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2,
                      bias=False)]


class DenseBlock(nn.Module):
    """DenseNet's dense block: each layer sees the concatenation of all earlier outputs.

    Each of the ``num_layers`` layers is batch norm, ReLU, a 1 x 1 convolution to
    ``4 * growth_rate`` channels (the "bottleneck"), batch norm, ReLU and a 3 x 3 convolution
    to ``growth_rate`` channels; its output is concatenated to its input. So
    ``(B, in_channels, H, W)`` becomes ``(B, in_channels + num_layers * growth_rate, H, W)``.

    Source: Huang et al. (2017), Densely connected convolutional networks (DenseNet-BC);
    d2l §8.7.
    """

    def __init__(self, num_layers: int, in_channels: int, growth_rate: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            nn.Sequential(*_bn_relu_conv(in_channels + i * growth_rate, 4 * growth_rate, 1),
                          *_bn_relu_conv(4 * growth_rate, growth_rate, 3))
            for i in range(num_layers))
        self.out_channels = in_channels + num_layers * growth_rate

    def forward(self, X: Tensor) -> Tensor:
        for layer in self.layers:
            X = torch.cat([X, layer(X)], dim=1)
        return X


def transition_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """Between dense blocks: batch norm, ReLU, 1 x 1 convolution to ``out_channels``, 2 x 2
    average pooling with stride 2 (halves height and width). Source: Huang et al. (2017)."""
    return nn.Sequential(*_bn_relu_conv(in_channels, out_channels, 1),
                         nn.AvgPool2d(kernel_size=2, stride=2))


DENSENET121 = (6, 12, 24, 16)
"""DenseNet-121's dense blocks, as numbers of layers."""


def densenet(
    arch: Sequence[int] = DENSENET121,
    growth_rate: int = 32,
    init_channels: int = 64,
    num_classes: int = 1000,
    in_channels: int = 3,
    stem_kernel: int = 7,
    stem_stride: int = 2,
) -> nn.Sequential:
    """DenseNet-BC: a stem, dense blocks with transition blocks halving the channels between
    them, then batch norm, ReLU, global average pooling and a linear layer.

    Args:
        arch: layers per dense block; the default is DenseNet-121.
        growth_rate: channels each dense layer adds (32 in DenseNet-121).
        init_channels: channels of the stem convolution (64).
        num_classes, in_channels: logits out, image channels in.
        stem_kernel, stem_stride: the first convolution (7, 2 for 224 x 224 input); max
            pooling with stride 2 follows it.

    Returns:
        A network mapping ``(B, in_channels, H, W)`` to ``(B, num_classes)``.

    Source: Huang et al. (2017); d2l §8.7.
    """
    check_int("growth_rate", growth_rate)
    layers: list[nn.Module] = [nn.Sequential(*_stem(in_channels, init_channels, stem_kernel,
                                                    stem_stride, True))]
    channels = init_channels
    for i, num_layers in enumerate(arch):
        block = DenseBlock(num_layers, channels, growth_rate)
        layers.append(block)
        channels = block.out_channels
        if i != len(arch) - 1:
            layers.append(transition_block(channels, channels // 2))
            channels //= 2
    return nn.Sequential(*layers, nn.BatchNorm2d(channels), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes))
