"""corr2d, corr2d_multi_in, corr2d_multi_in_out, pool2d and conv_output_size."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from d2lhelpers import (
    conv_output_size,
    corr2d,
    corr2d_multi_in,
    corr2d_multi_in_out,
    pool2d,
)


def test_corr2d_textbook_example():
    X = torch.arange(9.0).reshape(3, 3)
    K = torch.arange(4.0).reshape(2, 2)
    assert torch.equal(corr2d(X, K), torch.tensor([[19.0, 25.0], [37.0, 43.0]]))


def test_corr2d_matches_conv2d():
    torch.manual_seed(0)
    X, K = torch.randn(6, 7), torch.randn(3, 2)
    expected = F.conv2d(X[None, None], K[None, None])[0, 0]
    assert torch.allclose(corr2d(X, K), expected, atol=1e-6)


def test_corr2d_passes_gradients_to_kernel():
    X, K = torch.ones(4, 4), torch.zeros(2, 2, requires_grad=True)
    corr2d(X, K).sum().backward()
    assert torch.equal(K.grad, torch.full((2, 2), 9.0))


@pytest.mark.parametrize(
    ("X", "K"),
    [
        (torch.ones(3), torch.ones(2, 2)),
        (torch.ones(3, 3), torch.ones(1, 2, 2)),
        (torch.ones(2, 2), torch.ones(3, 1)),
    ],
)
def test_corr2d_rejects_bad_shapes(X, K):
    with pytest.raises(ValueError, match=r"must be a 2-D tensor|is larger than input"):
        corr2d(X, K)


def test_multi_in_sums_over_channels():
    X = torch.stack([torch.arange(9.0).reshape(3, 3), torch.arange(1.0, 10.0).reshape(3, 3)])
    K = torch.stack([torch.arange(4.0).reshape(2, 2), torch.arange(1.0, 5.0).reshape(2, 2)])
    assert torch.equal(corr2d_multi_in(X, K), torch.tensor([[56.0, 72.0], [104.0, 120.0]]))


def test_multi_in_out_matches_conv2d():
    torch.manual_seed(0)
    X, K = torch.randn(3, 5, 5), torch.randn(4, 3, 2, 2)
    expected = F.conv2d(X[None], K)[0]
    Y = corr2d_multi_in_out(X, K)
    assert Y.shape == (4, 4, 4)
    assert torch.allclose(Y, expected, atol=1e-5)


def test_multi_channel_bad_input():
    with pytest.raises(ValueError, match="channels"):
        corr2d_multi_in(torch.ones(2, 3, 3), torch.ones(3, 2, 2))
    with pytest.raises(ValueError, match="3-D"):
        corr2d_multi_in(torch.ones(3, 3), torch.ones(2, 2))
    with pytest.raises(ValueError, match="4-D"):
        corr2d_multi_in_out(torch.ones(2, 3, 3), torch.ones(2, 2, 2))


def test_pool2d_max_and_avg():
    X = torch.arange(9.0).reshape(3, 3)
    assert torch.equal(pool2d(X, (2, 2)), torch.tensor([[4.0, 5.0], [7.0, 8.0]]))
    assert torch.equal(pool2d(X, (2, 2), "avg"), torch.tensor([[2.0, 3.0], [5.0, 6.0]]))


def test_pool2d_matches_torch():
    torch.manual_seed(0)
    X = torch.randn(5, 6)
    assert torch.equal(pool2d(X, (2, 3)), F.max_pool2d(X[None], (2, 3), stride=1)[0])


def test_pool2d_bad_input():
    with pytest.raises(ValueError, match="mode"):
        pool2d(torch.ones(3, 3), (2, 2), mode="min")
    with pytest.raises(ValueError, match="does not fit"):
        pool2d(torch.ones(3, 3), (4, 1))
    with pytest.raises(ValueError, match="2-D"):
        pool2d(torch.ones(1, 3, 3), (2, 2))


@pytest.mark.parametrize(
    ("n", "k", "p", "s", "expected"),
    [
        (8, 3, 2, 1, 8),
        (8, 3, 0, 1, 6),
        (8, 3, 2, 2, 4),
        (8, 5, 2, 2, 3),
        (28, 5, 4, 1, 28),
        (224, 11, 4, 4, 55),
        (227, 11, 0, 4, 55),
        (7, 7, 0, 1, 1),
    ],
)
def test_conv_output_size_matches_conv2d(n, k, p, s, expected):
    assert conv_output_size(n, k, p, s) == expected
    if p % 2 == 0:  # nn.Conv2d pads p // 2 on each side
        out = F.conv2d(torch.ones(1, 1, n, n), torch.ones(1, 1, k, k), padding=p // 2, stride=s)
        assert out.shape[-1] == expected


@pytest.mark.parametrize(
    ("n", "k", "p", "s", "message"),
    [
        (0, 1, 0, 1, "n must be a positive int"),
        (5, 0, 0, 1, "k must be a positive int"),
        (5, 3, -1, 1, "total_padding must be an int >= 0"),
        (5, 3, 0, 0, "stride must be a positive int"),
        (3, 5, 1, 1, "window k=5 is larger than the padded input"),
        (5.0, 3, 0, 1, "n must be a positive int"),
    ],
)
def test_conv_output_size_bad_input(n, k, p, s, message):
    with pytest.raises(ValueError, match=message):
        conv_output_size(n, k, p, s)
