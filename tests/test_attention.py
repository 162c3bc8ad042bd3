"""masked_softmax, valid_lens_to_mask, DotProductAttention and AdditiveAttention."""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F

from d2lhelpers import (
    AdditiveAttention,
    DotProductAttention,
    masked_softmax,
    valid_lens_to_mask,
)


def test_masked_softmax_without_lengths_is_softmax():
    X = torch.randn(2, 3, 4)
    torch.testing.assert_close(masked_softmax(X), torch.softmax(X, dim=-1))


def test_masked_softmax_1d_lengths_give_exact_zeros_and_rows_summing_to_one():
    X = torch.randn(2, 3, 5) * 10
    W = masked_softmax(X, torch.tensor([2, 4]))
    assert W.shape == (2, 3, 5)
    assert torch.all(W[0, :, 2:] == 0) and torch.all(W[1, :, 4:] == 0)
    assert torch.all(W[0, :, :2] > 0) and torch.all(W[1, :, :4] > 0)
    torch.testing.assert_close(W.sum(-1), torch.ones(2, 3))
    # The valid part is the plain softmax of the valid scores.
    torch.testing.assert_close(W[0, :, :2], torch.softmax(X[0, :, :2], dim=-1))


def test_masked_softmax_2d_lengths_one_per_query():
    X = torch.randn(2, 3, 4)
    lens = torch.tensor([[1, 3, 4], [2, 2, 1]])
    W = masked_softmax(X, lens)
    for b in range(2):
        for q in range(3):
            n = int(lens[b, q])
            assert torch.all(W[b, q, n:] == 0)
            torch.testing.assert_close(W[b, q, :n], torch.softmax(X[b, q, :n], dim=-1))
    assert W[0, 0, 0] == 1


def test_masked_softmax_zero_length_row_is_zero_and_gradients_finite():
    X = torch.randn(2, 2, 3, requires_grad=True)
    W = masked_softmax(X, torch.tensor([0, 3]))
    assert torch.all(W[0] == 0)
    torch.testing.assert_close(W[1].sum(-1), torch.ones(2))
    (W * torch.randn_like(W)).sum().backward()
    assert torch.isfinite(X.grad).all() and torch.all(X.grad[0] == 0)


def test_masked_softmax_lengths_on_another_dtype_and_huge_scores():
    X = torch.tensor([[[1e30, -1e30, 5.0]]])
    W = masked_softmax(X, torch.tensor([2], dtype=torch.int32))
    assert W.tolist() == [[[1.0, 0.0, 0.0]]]


@pytest.mark.parametrize(
    ("lens", "error", "match"),
    [
        ([2, 3], TypeError, "valid_lens must be an integer tensor"),
        (torch.tensor([2.0, 3.0]), TypeError, "valid_lens must be an integer tensor"),
        (torch.tensor([2, 3, 1]), ValueError, r"valid_lens must have 2 rows"),
        (torch.tensor([[2, 3], [1, 1]]), ValueError, r"valid_lens must have shape \(B,\) or"),
        (torch.ones(2, 3, 1, dtype=torch.long), ValueError, "valid_lens must have shape"),
        (torch.tensor([2, 5]), ValueError, r"valid_lens must lie in 0\.\.4"),
        (torch.tensor([-1, 2]), ValueError, r"valid_lens must lie in 0\.\.4"),
    ],
)
def test_masked_softmax_bad_lengths_raise(lens, error, match):
    with pytest.raises(error, match=match):
        masked_softmax(torch.randn(2, 3, 4), lens)


def test_masked_softmax_bad_scores_raise():
    with pytest.raises(ValueError, match=r"X must have shape \(B, Q, K\), got \(3, 4\)"):
        masked_softmax(torch.randn(3, 4))
    with pytest.raises(TypeError, match="X must be a tensor"):
        masked_softmax([[[1.0]]])


def test_valid_lens_to_mask():
    mask = valid_lens_to_mask(torch.tensor([1, 3]), 2, 3)
    assert mask.dtype == torch.bool and mask.shape == (2, 2, 3)
    assert mask.tolist() == [[[True, False, False]] * 2, [[True, True, True]] * 2]
    mask = valid_lens_to_mask(torch.tensor([[0, 2]]), 2, 3)
    assert mask.tolist() == [[[False, False, False], [True, True, False]]]
    with pytest.raises(ValueError, match="num_keys"):
        valid_lens_to_mask(torch.tensor([1]), 2, 0)


@pytest.mark.parametrize("lens", [None, torch.tensor([2, 6]), torch.tensor([[1, 2, 3], [6, 5, 4]])])
def test_dot_product_attention_matches_torch(lens):
    torch.manual_seed(0)
    q, k, v = torch.randn(2, 3, 8), torch.randn(2, 6, 8), torch.randn(2, 6, 5)
    attention = DotProductAttention()
    out = attention(q, k, v, lens)
    assert out.shape == (2, 3, 5) and attention.attention_weights.shape == (2, 3, 6)
    mask = None if lens is None else valid_lens_to_mask(lens, 3, 6)
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    scores = q @ k.transpose(1, 2) / math.sqrt(8)
    torch.testing.assert_close(attention.attention_weights, masked_softmax(scores, lens))


def test_dot_product_attention_dropout_only_in_training():
    q, k, v = torch.randn(1, 2, 4), torch.randn(1, 3, 4), torch.randn(1, 3, 2)
    attention = DotProductAttention(dropout=0.5).eval()
    torch.testing.assert_close(attention(q, k, v), F.scaled_dot_product_attention(q, k, v))
    with pytest.raises(ValueError, match="dropout"):
        DotProductAttention(dropout=1.0)


@pytest.mark.parametrize(
    ("shapes", "match"),
    [
        (((2, 3, 4), (2, 5, 3), (2, 5, 2)), "keys must have the queries' size d=4"),
        (((2, 3, 4), (2, 5, 4), (2, 4, 2)), "values must have one row per key"),
        (((2, 3, 4), (1, 5, 4), (1, 5, 2)), "same batch size"),
        (((3, 4), (2, 5, 4), (2, 5, 2)), r"queries must have shape \(B, Q, d\)"),
        (((2, 3, 4), (5, 4), (2, 5, 2)), r"keys must have shape \(B, K, d\)"),
        (((2, 3, 4), (2, 5, 4), (5, 2)), r"values must have shape \(B, K, v\)"),
    ],
)
def test_dot_product_attention_bad_shapes_name_the_argument(shapes, match):
    with pytest.raises(ValueError, match=match):
        DotProductAttention()(*(torch.randn(s) for s in shapes))


def test_additive_attention_shapes_masking_and_formula():
    torch.manual_seed(0)
    attention = AdditiveAttention(query_size=4, key_size=3, num_hiddens=5)
    q, k, v = torch.randn(2, 2, 4), torch.randn(2, 6, 3), torch.randn(2, 6, 7)
    out = attention(q, k, v, torch.tensor([2, 6]))
    W = attention.attention_weights
    assert out.shape == (2, 2, 7) and W.shape == (2, 2, 6)
    assert torch.all(W[0, :, 2:] == 0)
    torch.testing.assert_close(W.sum(-1), torch.ones(2, 2))
    # The scores by hand: w_v . tanh(W_q q + W_k k_j) for each key j.
    Wq, Wk, wv = attention.W_q.weight, attention.W_k.weight, attention.w_v.weight
    scores = torch.cat([wv @ torch.tanh(Wq @ q[1, 0] + Wk @ k[1, j]) for j in range(6)])
    torch.testing.assert_close(W[1, 0], torch.softmax(scores, 0))
    torch.testing.assert_close(out, W @ v)


def test_additive_attention_bad_arguments_raise():
    with pytest.raises(ValueError, match="num_hiddens"):
        AdditiveAttention(2, 2, 0)
    attention = AdditiveAttention(query_size=4, key_size=3, num_hiddens=5)
    with pytest.raises(ValueError, match="queries must have size query_size=4"):
        attention(torch.randn(1, 2, 3), torch.randn(1, 2, 3), torch.randn(1, 2, 1))
    with pytest.raises(ValueError, match="keys must have size key_size=3"):
        attention(torch.randn(1, 2, 4), torch.randn(1, 2, 4), torch.randn(1, 2, 1))
