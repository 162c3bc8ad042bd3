"""MultiHeadAttention, PositionalEncoding and the Transformer encoder and decoder."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from d2lhelpers import (
    EncoderDecoder,
    MultiHeadAttention,
    PositionalEncoding,
    TransformerDecoder,
    TransformerEncoder,
    TransformerEncoderBlock,
    sinusoid_table,
    translate,
)
from d2lhelpers.text import Vocab
from d2lhelpers.translation import RESERVED_TOKENS, tokenize_cmn_eng

WIDTH, FFN, HEADS = 16, 32, 4


def _copy_attention(ours: MultiHeadAttention, theirs: nn.MultiheadAttention) -> None:
    with torch.no_grad():
        theirs.in_proj_weight.copy_(torch.cat([ours.W_q.weight, ours.W_k.weight, ours.W_v.weight]))
        theirs.in_proj_bias.copy_(torch.cat([ours.W_q.bias, ours.W_k.bias, ours.W_v.bias]))
        theirs.out_proj.weight.copy_(ours.W_o.weight)
        theirs.out_proj.bias.copy_(ours.W_o.bias)


def test_multi_head_attention_equals_torch_with_padding_mask():
    torch.manual_seed(0)
    ours = MultiHeadAttention(WIDTH, HEADS).eval()
    theirs = nn.MultiheadAttention(WIDTH, HEADS, batch_first=True).eval()
    _copy_attention(ours, theirs)
    queries, keys = torch.randn(2, 3, WIDTH), torch.randn(2, 5, WIDTH)
    valid_lens = torch.tensor([2, 5])
    Y = ours(queries, keys, keys, valid_lens)
    padding = torch.arange(5)[None, :] >= valid_lens[:, None]
    Y_torch, weights = theirs(
        queries, keys, keys, key_padding_mask=padding, average_attn_weights=False
    )
    torch.testing.assert_close(Y, Y_torch, atol=1e-5, rtol=0)
    assert ours.attention_weights.shape == (2, HEADS, 3, 5)
    torch.testing.assert_close(ours.attention_weights, weights, atol=1e-6, rtol=0)
    assert torch.all(ours.attention_weights[0, :, :, 2:] == 0)


def test_multi_head_attention_bad_arguments():
    with pytest.raises(ValueError, match="divisible"):
        MultiHeadAttention(10, 4)
    with pytest.raises(ValueError, match="keys"):
        MultiHeadAttention(8, 2)(torch.randn(1, 2, 8), torch.randn(1, 2, 6), torch.randn(1, 2, 8))


def test_positional_encoding_table_and_offset():
    P = sinusoid_table(50, 8)
    assert P.shape == (50, 8)
    torch.testing.assert_close(P[:, 0], torch.sin(torch.arange(50.0)))
    torch.testing.assert_close(P[:, 1], torch.cos(torch.arange(50.0)))
    torch.testing.assert_close(P[7, 6], torch.sin(torch.tensor(7 / 10000 ** (6 / 8))))
    torch.testing.assert_close(P[7, 7], torch.cos(torch.tensor(7 / 10000 ** (6 / 8))))
    encoding = PositionalEncoding(8, max_len=50)
    X = torch.zeros(1, 3, 8)
    torch.testing.assert_close(encoding(X, offset=4)[0], P[4:7])
    with pytest.raises(ValueError, match="max_len"):
        encoding(X, offset=48)
    with pytest.raises(ValueError, match="even"):
        sinusoid_table(10, 7)


def test_encoder_block_equals_torch_encoder_layer():
    torch.manual_seed(0)
    ours = TransformerEncoderBlock(WIDTH, FFN, HEADS).eval()
    theirs = nn.TransformerEncoderLayer(WIDTH, HEADS, FFN, batch_first=True).eval()
    _copy_attention(ours.attention, theirs.self_attn)
    theirs.linear1.load_state_dict(ours.ffn.dense1.state_dict())
    theirs.linear2.load_state_dict(ours.ffn.dense2.state_dict())
    theirs.norm1.load_state_dict(ours.addnorm1.norm.state_dict())
    theirs.norm2.load_state_dict(ours.addnorm2.norm.state_dict())
    X, valid_lens = torch.randn(3, 6, WIDTH), torch.tensor([6, 2, 4])
    padding = torch.arange(6)[None, :] >= valid_lens[:, None]
    with torch.no_grad():
        torch.testing.assert_close(
            ours(X, valid_lens), theirs(X, src_key_padding_mask=padding), atol=1e-5, rtol=0
        )


def _model(src_vocab=30, tgt_vocab=40, dropout=0.0):
    torch.manual_seed(0)
    return EncoderDecoder(
        TransformerEncoder(src_vocab, WIDTH, FFN, HEADS, 2, dropout),
        TransformerDecoder(tgt_vocab, WIDTH, FFN, HEADS, 2, dropout),
    ).eval()


def test_encoder_ignores_padding():
    net = _model()
    X = torch.randint(4, 30, (2, 7))
    valid_len = torch.tensor([7, 3])
    X_other = X.clone()
    X_other[1, 3:] = 5  # different tokens in the padding only
    with torch.no_grad():
        out, out_other = net.encoder(X, valid_len), net.encoder(X_other, valid_len)
    assert out.shape == (2, 7, WIDTH)
    torch.testing.assert_close(out[1, :3], out_other[1, :3], atol=0, rtol=0)
    assert len(net.encoder.attention_weights) == 2
    assert torch.all(net.encoder.attention_weights[0][1, :, :, 3:] == 0)


def test_decoder_is_causal_and_step_by_step_equals_one_call():
    net = _model()
    X, valid_len = torch.randint(4, 30, (2, 5)), torch.tensor([5, 4])
    Y = torch.randint(4, 40, (2, 6))
    with torch.no_grad():
        state = net.decoder.init_state(net.encoder(X, valid_len), valid_len)
        logits, _ = net.decoder(Y, state)
        self_weights = net.decoder.attention_weights[0][0]  # (B, h, T', T')
        assert torch.all(self_weights.triu(diagonal=1) == 0)  # nothing from the future
        Y_changed = Y.clone()
        Y_changed[:, 3] = (Y[:, 3] + 1) % 40
        changed, _ = net.decoder(Y_changed, state)
        torch.testing.assert_close(changed[:, :3], logits[:, :3], atol=0, rtol=0)
        assert (changed[:, 3:] - logits[:, 3:]).abs().max() > 1e-3
        steps = []
        for t in range(6):
            step_logits, state = net.decoder(Y[:, t : t + 1], state)
            steps.append(step_logits)
    assert logits.shape == (2, 6, 40)
    torch.testing.assert_close(torch.cat(steps, dim=1), logits, atol=1e-5, rtol=0)
    assert state[2][0].shape == (2, 6, WIDTH)  # every block cached the six inputs


def test_translate_runs_with_a_transformer():
    pairs = [("Go.", "走。"), ("Hi.", "你好。"), ("Run!", "跑！")]
    source, target = tokenize_cmn_eng(pairs)
    src_vocab = Vocab(source, reserved_tokens=RESERVED_TOKENS)
    tgt_vocab = Vocab(target, reserved_tokens=RESERVED_TOKENS)
    net = _model(len(src_vocab), len(tgt_vocab))
    outputs = translate(net, ["Go.", "Hi."], src_vocab, tgt_vocab, num_steps=4)
    assert len(outputs) == 2 and all(len(tokens) <= 4 for tokens in outputs)


@pytest.mark.parametrize(
    "args, name",
    [((0, 8, 16, 2, 1), "vocab_size"), ((10, 8, 0, 2, 1), "ffn_num_hiddens"),
     ((10, 8, 16, 2, 0), "num_layers"), ((10, 8, 16, 3, 1), "divisible")],
)
def test_bad_sizes(args, name):
    for cls in (TransformerEncoder, TransformerDecoder):
        with pytest.raises(ValueError, match=name):
            cls(*args)


def test_decoder_rejects_encoder_outputs_of_another_width():
    decoder = TransformerDecoder(10, 8, 16, 2, 1)
    with pytest.raises(ValueError, match="enc_outputs"):
        decoder.init_state(torch.zeros(2, 3, 6))
