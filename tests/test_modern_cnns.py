import pytest
import torch
import torchvision
from torch import nn

import d2lhelpers as d2l

PUBLISHED = {  # network -> (input size, torchvision equivalent with the same layers)
    "vgg": (224, torchvision.models.vgg11),
    "resnet": (224, torchvision.models.resnet18),
    "densenet": (224, torchvision.models.densenet121),
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_networks_match_torchvision(name):
    size, reference = PUBLISHED[name]
    with torch.device("meta"):
        net, ref = getattr(d2l, name)(), reference()
    assert d2l.count_parameters(net) == d2l.count_parameters(ref)
    shape = (1, 3, size, size)
    assert d2l.multiply_adds(net, shape) == d2l.multiply_adds(ref, shape)


def test_published_alexnet_and_googlenet_sizes():
    with torch.device("meta"):
        alexnet, googlenet = d2l.alexnet(), d2l.googlenet()
    assert d2l.count_parameters(alexnet) == 62_378_344  # ~61 M in the paper, with 2-GPU groups
    assert alexnet(torch.empty(1, 3, 227, 227, device="meta")).shape == (1, 1000)
    assert 6.6e6 <= d2l.count_parameters(googlenet) <= 7.0e6


SCALED = [
    lambda: d2l.lenet(batch_norm=True),
    lambda: d2l.alexnet(10, 1, 28, (24, 64, 96, 96, 64), 512, 5, 1),
    lambda: d2l.vgg(((1, 16), (1, 32), (2, 64), (2, 128)), 10, 1, 28, 512),
    lambda: d2l.nin(10, 1, (16, 48, 64), 5, 1),
    lambda: d2l.googlenet(10, 1, width=0.125, stem_kernel=3, stem_stride=1),
    lambda: d2l.resnet(((1, 32), (1, 64), (1, 128)), 10, 1, stem_kernel=3, stem_stride=1),
    lambda: d2l.densenet((4, 4, 4), 12, 24, 10, 1, stem_kernel=3, stem_stride=1),
]


@pytest.mark.parametrize("build", SCALED)
def test_scaled_networks_map_fashion_mnist_images_to_ten_logits(build):
    net = build()
    logits = net(torch.rand(2, 1, 28, 28))
    assert logits.shape == (2, 10)
    logits.sum().backward()
    assert all(p.grad is not None for p in net.parameters())


def test_residual_uses_a_1x1_shortcut_only_when_the_shape_changes():
    assert isinstance(d2l.Residual(8, 8).shortcut, nn.Identity)
    for block in (d2l.Residual(8, 16), d2l.Residual(8, 8, stride=2)):
        assert isinstance(block.shortcut[0], nn.Conv2d)
        assert block.shortcut[0].kernel_size == (1, 1)
    assert d2l.Residual(8, 16, stride=2)(torch.rand(1, 8, 6, 6)).shape == (1, 16, 3, 3)


def test_blocks_change_the_channels_as_documented():
    X = torch.rand(2, 3, 8, 8)
    assert d2l.DenseBlock(2, 3, 10)(X).shape == (2, 23, 8, 8)
    assert d2l.transition_block(3, 2)(X).shape == (2, 2, 4, 4)
    assert d2l.Inception(3, 4, (2, 5), (1, 6), 7)(X).shape == (2, 22, 8, 8)
    assert d2l.vgg_block(2, 3, 5)(X).shape == (2, 5, 4, 4)
    assert d2l.nin_block(3, 5, 3, 1, 1)(X).shape == (2, 5, 8, 8)


def test_bad_sizes_raise():
    with pytest.raises(ValueError, match="channels"):
        d2l.alexnet(channels=(1, 2, 3))
    with pytest.raises(ValueError, match="width"):
        d2l.googlenet(width=0)
