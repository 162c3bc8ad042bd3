"""masked_softmax, valid_lens_to_mask, the attention modules and Seq2SeqAttentionDecoder."""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F

from d2lhelpers import (
    AdditiveAttention,
    DotProductAttention,
    EncoderDecoder,
    Seq2SeqAttentionDecoder,
    Seq2SeqEncoder,
    Vocab,
    masked_softmax,
    tokenize_cmn_eng,
    translate,
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


def _attention_seq2seq(src_vocab_size=11, tgt_vocab_size=13, num_layers=2):
    torch.manual_seed(0)
    encoder = Seq2SeqEncoder(src_vocab_size, 6, 8, num_layers)
    decoder = Seq2SeqAttentionDecoder(tgt_vocab_size, 5, 8, num_layers)
    return EncoderDecoder(encoder, decoder)


def test_seq2seq_attention_decoder_shapes_and_state():
    net = _attention_seq2seq()
    X, X_len = torch.randint(3, 11, (4, 7)), torch.tensor([7, 3, 1, 5])
    Y = torch.randint(0, 13, (4, 6))
    enc_outputs = net.encoder(X, X_len)
    state = net.decoder.init_state(enc_outputs, X_len)
    assert state[0].shape == (4, 7, 8) and state[1].shape == (2, 4, 8)
    torch.testing.assert_close(state[0], enc_outputs[0].transpose(0, 1))
    assert state[2] is X_len
    logits, new_state = net.decoder(Y, state)
    assert logits.shape == (4, 6, 13) and new_state[1].shape == (2, 4, 8)
    assert net.decoder.attention_weights.shape == (4, 6, 7)
    torch.testing.assert_close(net.decoder.attention_weights.sum(-1), torch.ones(4, 6))


def test_seq2seq_attention_decoder_step_by_step_equals_whole_sequence():
    net = _attention_seq2seq()
    X, X_len = torch.randint(3, 11, (3, 5)), torch.tensor([5, 2, 4])
    Y = torch.randint(0, 13, (3, 4))
    with torch.no_grad():
        state = net.decoder.init_state(net.encoder(X, X_len), X_len)
        whole, _ = net.decoder(Y, state)
        whole_weights = net.decoder.attention_weights
        steps, weights = [], []
        for t in range(Y.shape[1]):
            step_logits, state = net.decoder(Y[:, t : t + 1], state)
            steps.append(step_logits)
            weights.append(net.decoder.attention_weights)
    torch.testing.assert_close(torch.cat(steps, dim=1), whole)
    torch.testing.assert_close(torch.cat(weights, dim=1), whole_weights)


def test_seq2seq_attention_decoder_masked_positions_get_zero_weight():
    net = _attention_seq2seq(num_layers=1)
    X, X_len = torch.randint(3, 11, (3, 6)), torch.tensor([2, 6, 4])
    net(X, torch.randint(0, 13, (3, 5)), X_len)
    W = net.decoder.attention_weights  # (3, 5, 6)
    assert torch.all(W[0, :, 2:] == 0) and torch.all(W[2, :, 4:] == 0)
    assert torch.all(W[1] > 0)
    # Changing the padded source tokens changes nothing.
    X2 = X.clone()
    X2[0, 2:] = 3
    torch.testing.assert_close(
        net(X2, torch.zeros(3, 5, dtype=torch.long), X_len)[0],
        net(X, torch.zeros(3, 5, dtype=torch.long), X_len)[0],
    )


def test_seq2seq_attention_decoder_uses_previous_state_as_query():
    net = _attention_seq2seq(num_layers=1)
    decoder = net.decoder
    X, X_len = torch.randint(3, 11, (2, 4)), torch.tensor([4, 3])
    Y = torch.randint(0, 13, (2, 1))
    with torch.no_grad():
        enc_outputs, hidden, _ = decoder.init_state(net.encoder(X, X_len), X_len)
        decoder(Y, (enc_outputs, hidden, X_len))
        expected = decoder.attention.attention_weights.clone()
        decoder.attention(hidden[-1].unsqueeze(1), enc_outputs, enc_outputs, X_len)
    torch.testing.assert_close(decoder.attention.attention_weights, expected)
    torch.testing.assert_close(decoder.attention_weights, expected)


def test_seq2seq_attention_decoder_works_with_translate():
    pairs = [("Go.", "走。"), ("Hi.", "你好。"), ("Run!", "跑！")]
    src, tgt = tokenize_cmn_eng(pairs)
    src_vocab = Vocab(src, reserved_tokens=["<pad>", "<bos>", "<eos>"])
    tgt_vocab = Vocab(tgt, reserved_tokens=["<pad>", "<bos>", "<eos>"])
    net = _attention_seq2seq(len(src_vocab), len(tgt_vocab), num_layers=1)
    out = translate(net, ["Go.", "Hi there."], src_vocab, tgt_vocab, num_steps=4)
    assert len(out) == 2 and all(len(tokens) <= 4 for tokens in out)
    assert all(token in tgt_vocab.token_to_idx for tokens in out for token in tokens)


def test_seq2seq_attention_decoder_bad_arguments_raise():
    with pytest.raises(ValueError, match="num_hiddens"):
        Seq2SeqAttentionDecoder(10, 4, 0, 1)
    with pytest.raises(ValueError, match="dropout"):
        Seq2SeqAttentionDecoder(10, 4, 8, 1, dropout=1.0)
    decoder = Seq2SeqAttentionDecoder(10, 4, 8, 2)
    with pytest.raises(ValueError, match="hidden state must have shape"):
        decoder.init_state((torch.zeros(5, 3, 8), torch.zeros(1, 3, 8)))
    with pytest.raises(ValueError, match="outputs must have shape"):
        decoder.init_state((torch.zeros(5, 2, 8), torch.zeros(2, 3, 8)))
    state = decoder.init_state((torch.zeros(5, 3, 8), torch.zeros(2, 3, 8)))
    with pytest.raises(TypeError, match="X must be an int64"):
        decoder(torch.zeros(3, 2), state)
