"""The Transformer: multi-head attention, sinusoidal positional encoding, encoder and decoder.

Shapes: ``B`` batch, ``T`` source length, ``T'`` target tokens fed in one call, ``d`` the model
width ``num_hiddens``, ``h`` heads, ``V`` vocabulary size. Every tensor is batch first.

- :class:`MultiHeadAttention`: ``h`` scaled dot-product attentions on their own projections;
- :class:`PositionalEncoding`: the sine/cosine table added to the embeddings;
- :class:`TransformerEncoderBlock` / :class:`TransformerEncoder`: self-attention and a
  position-wise feed-forward network, each followed by add & norm (post-norm, as in the paper
  and ``nn.TransformerEncoderLayer``);
- :class:`TransformerDecoderBlock` / :class:`TransformerDecoder`: causal self-attention, attention
  to the encoder's outputs, feed-forward network. The decoder keeps the inputs it has seen in its
  state, so it can be fed a whole target sequence (training) or one token at a time (decoding
  with :func:`~d2lhelpers.seq2seq.translate`), with the same result.

The classes plug into :class:`~d2lhelpers.seq2seq.EncoderDecoder`, so
:func:`~d2lhelpers.seq2seq.train_seq2seq` and :func:`~d2lhelpers.seq2seq.evaluate_bleu` train and
score them like the recurrent models.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from .attention import DotProductAttention, _check_3d
from .seq2seq import Decoder, Encoder, _check_tokens
from .validation import check_dropout, check_int

# (enc_outputs (B, T, d), enc_valid_len (B,) or None, one cache (B, t, d) or None per block)
DecoderState = tuple[Tensor, "Tensor | None", list["Tensor | None"]]


class MultiHeadAttention(nn.Module):
    """Multi-head attention: ``h`` scaled dot-product attentions, each on ``d/h`` dimensions.

    The queries, keys and values go through ``W_q``, ``W_k``, ``W_v`` (each ``nn.Linear(d, d)``);
    the ``d`` output columns are split into ``h`` heads of ``d/h``, each head runs
    :class:`~d2lhelpers.attention.DotProductAttention`, and ``W_o`` mixes the concatenated heads.
    With the weights copied into ``nn.MultiheadAttention(d, h, batch_first=True)``
    (``in_proj_weight`` = ``W_q``, ``W_k``, ``W_v`` stacked) both compute the same function.

    Args:
        num_hiddens: the model width ``d``; divisible by ``num_heads``.
        num_heads: ``h``.
        dropout: dropout on the attention weights (training mode).
        bias: whether the four projections have biases.

    ``forward(queries (B, Q, d), keys (B, K, d), values (B, K, d), valid_lens=None)`` returns
    ``(B, Q, d)``; ``valid_lens`` is ``None``, ``(B,)`` or ``(B, Q)`` as in
    :func:`~d2lhelpers.attention.masked_softmax`.

    Attributes:
        attention_weights: ``(B, h, Q, K)`` weights of the last call (before dropout).

    Raises:
        ValueError: if a size is not a positive int, ``num_hiddens`` is not divisible by
            ``num_heads``, ``dropout`` is outside ``[0, 1)``, or the inputs' shapes disagree.

    Source: d2l §11.5; Vaswani et al., "Attention Is All You Need" (2017), §3.2.2.
    """

    def __init__(
        self, num_hiddens: int, num_heads: int, dropout: float = 0.0, bias: bool = True
    ) -> None:
        super().__init__()
        check_int("num_hiddens", num_hiddens)
        check_int("num_heads", num_heads)
        if num_hiddens % num_heads:
            raise ValueError(
                f"num_hiddens={num_hiddens} must be divisible by num_heads={num_heads}"
            )
        self.num_heads = num_heads
        self.W_q = nn.Linear(num_hiddens, num_hiddens, bias=bias)
        self.W_k = nn.Linear(num_hiddens, num_hiddens, bias=bias)
        self.W_v = nn.Linear(num_hiddens, num_hiddens, bias=bias)
        self.W_o = nn.Linear(num_hiddens, num_hiddens, bias=bias)
        self.attention = DotProductAttention(dropout)
        self.attention_weights: Tensor | None = None

    def _split_heads(self, X: Tensor) -> Tensor:  # (B, n, d) -> (B * h, n, d/h)
        B, n, d = X.shape
        X = X.reshape(B, n, self.num_heads, d // self.num_heads).transpose(1, 2)
        return X.reshape(B * self.num_heads, n, -1)

    def forward(
        self, queries: Tensor, keys: Tensor, values: Tensor, valid_lens: Tensor | None = None
    ) -> Tensor:
        d = self.W_q.in_features
        for name, X in (("queries", queries), ("keys", keys), ("values", values)):
            if _check_3d(name, X, f"(B, n, {d})").shape[-1] != d:
                raise ValueError(f"{name} must have width {d} in the last axis, got {X.shape[-1]}")
        B, Q = queries.shape[:2]
        if valid_lens is not None:  # every head of an example gets the example's lengths
            valid_lens = torch.repeat_interleave(valid_lens, self.num_heads, dim=0)
        heads = self.attention(
            self._split_heads(self.W_q(queries)),
            self._split_heads(self.W_k(keys)),
            self._split_heads(self.W_v(values)),
            valid_lens,
        )  # (B * h, Q, d/h)
        weights = self.attention.attention_weights
        self.attention_weights = weights.reshape(B, self.num_heads, Q, weights.shape[-1])
        heads = heads.reshape(B, self.num_heads, Q, -1).transpose(1, 2)  # (B, Q, h, d/h)
        return self.W_o(heads.reshape(B, Q, d))


def sinusoid_table(max_len: int, num_hiddens: int) -> Tensor:
    """The positional-encoding table ``P`` of shape ``(max_len, num_hiddens)``, float32.

    ``P[i, 2j] = sin(i / 10000^(2j/d))`` and ``P[i, 2j+1] = cos(i / 10000^(2j/d))``.

    Raises:
        ValueError: if a size is not a positive int or ``num_hiddens`` is odd.

    Source: Vaswani et al. (2017), §3.5; d2l §11.6.3.
    """
    check_int("max_len", max_len)
    if check_int("num_hiddens", num_hiddens) % 2:
        raise ValueError(f"num_hiddens must be even (sine/cosine pairs), got {num_hiddens}")
    freqs = 10000 ** (-torch.arange(0, num_hiddens, 2, dtype=torch.float32) / num_hiddens)
    angles = torch.arange(max_len, dtype=torch.float32)[:, None] * freqs  # (max_len, d/2)
    P = torch.zeros(max_len, num_hiddens)
    P[:, 0::2], P[:, 1::2] = torch.sin(angles), torch.cos(angles)
    return P


class PositionalEncoding(nn.Module):
    """Adds the sinusoid table to its input, then applies dropout.

    Args:
        num_hiddens: the width ``d`` (even).
        dropout: dropout probability after the addition (training mode).
        max_len: the most positions that can be encoded.

    ``forward(X (B, n, d), offset=0)`` returns ``X + P[offset : offset + n]``: ``offset`` is the
    position of ``X``'s first row, for a decoder that is fed one token at a time.

    Raises:
        ValueError: for bad sizes, or if ``offset + n`` exceeds ``max_len``.

    Source: Vaswani et al. (2017), §3.5; d2l §11.6.3.
    """

    def __init__(self, num_hiddens: int, dropout: float = 0.0, max_len: int = 1000) -> None:
        super().__init__()
        check_dropout(dropout)
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("P", sinusoid_table(max_len, num_hiddens), persistent=False)

    def forward(self, X: Tensor, offset: int = 0) -> Tensor:
        end = offset + X.shape[1]
        if end > self.P.shape[0]:
            raise ValueError(f"positions up to {end} asked for, but max_len={self.P.shape[0]}")
        return self.dropout(X + self.P[offset:end])


class PositionWiseFFN(nn.Module):
    """Two dense layers with a ReLU between, applied to every position alone: ``(B, n, d)`` in
    and out, ``ffn_num_hiddens`` units inside, dropout after the ReLU (training mode).

    Source: Vaswani et al. (2017), §3.3; d2l §11.7.2.
    """

    def __init__(self, num_hiddens: int, ffn_num_hiddens: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.dense1 = nn.Linear(num_hiddens, ffn_num_hiddens)
        self.dropout = nn.Dropout(dropout)
        self.dense2 = nn.Linear(ffn_num_hiddens, num_hiddens)

    def forward(self, X: Tensor) -> Tensor:
        return self.dense2(self.dropout(torch.relu(self.dense1(X))))


class AddNorm(nn.Module):
    """Residual connection and layer normalization: ``LayerNorm(X + dropout(Y))``, ``(B, n, d)``.

    Source: Vaswani et al. (2017), §3.1 (post-norm); d2l §11.7.3.
    """

    def __init__(self, num_hiddens: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(num_hiddens)

    def forward(self, X: Tensor, Y: Tensor) -> Tensor:
        return self.norm(X + self.dropout(Y))


def _check_block_sizes(
    num_hiddens: Any, ffn_num_hiddens: Any, num_heads: Any, dropout: Any
) -> None:
    check_int("num_hiddens", num_hiddens)
    check_int("ffn_num_hiddens", ffn_num_hiddens)
    check_int("num_heads", num_heads)
    check_dropout(dropout)


class TransformerEncoderBlock(nn.Module):
    """Self-attention, add & norm, position-wise FFN, add & norm.

    Args:
        num_hiddens: the width ``d``; divisible by ``num_heads``.
        ffn_num_hiddens: the FFN's inner width.
        num_heads: ``h``.
        dropout: on the attention weights, inside the FFN and on each sublayer's output.

    ``forward(X (B, n, d), valid_lens (B,) or None)`` returns ``(B, n, d)``; keys at positions
    ``>= valid_lens`` (padding) get no attention. In evaluation mode it computes the same function
    as ``nn.TransformerEncoderLayer(d, h, ffn_num_hiddens, batch_first=True)`` with the weights
    copied across and ``src_key_padding_mask`` built from ``valid_lens``.

    Raises:
        ValueError: for sizes that are not positive ints or a bad ``dropout``.

    Source: Vaswani et al. (2017), §3.1; d2l §11.7.4.
    """

    def __init__(
        self, num_hiddens: int, ffn_num_hiddens: int, num_heads: int, dropout: float = 0.0
    ) -> None:
        super().__init__()
        _check_block_sizes(num_hiddens, ffn_num_hiddens, num_heads, dropout)
        self.attention = MultiHeadAttention(num_hiddens, num_heads, dropout)
        self.addnorm1 = AddNorm(num_hiddens, dropout)
        self.ffn = PositionWiseFFN(num_hiddens, ffn_num_hiddens, dropout)
        self.addnorm2 = AddNorm(num_hiddens, dropout)

    def forward(self, X: Tensor, valid_lens: Tensor | None = None) -> Tensor:
        Y = self.addnorm1(X, self.attention(X, X, X, valid_lens))
        return self.addnorm2(Y, self.ffn(Y))


def _build_stack(
    module: nn.Module,
    block_type: type[nn.Module],
    vocab_size: int,
    num_hiddens: int,
    ffn_num_hiddens: int,
    num_heads: int,
    num_layers: int,
    dropout: float,
    max_len: int,
) -> None:
    # What the encoder and the decoder share: embedding, positional encoding, a stack of blocks.
    check_int("vocab_size", vocab_size)
    check_int("num_layers", num_layers)
    module.embedding = nn.Embedding(vocab_size, num_hiddens)
    module.pos_encoding = PositionalEncoding(num_hiddens, dropout, max_len)
    module.blocks = nn.ModuleList(
        block_type(num_hiddens, ffn_num_hiddens, num_heads, dropout) for _ in range(num_layers)
    )


def _embed(embedding: nn.Embedding, pos_encoding: PositionalEncoding, X: Tensor,
           offset: int = 0) -> Tensor:
    # The embeddings are scaled by sqrt(d) so that they are not drowned by the encoding's ±1.
    return pos_encoding(embedding(X) * math.sqrt(embedding.embedding_dim), offset)


class TransformerEncoder(Encoder):
    """Embedding (scaled by ``sqrt(d)``), positional encoding and ``num_layers`` encoder blocks.

    Args:
        vocab_size: ``V``, source token indices.
        num_hiddens, ffn_num_hiddens, num_heads, dropout: as in
            :class:`TransformerEncoderBlock`.
        num_layers: how many blocks.
        max_len: the longest source it can encode.

    ``forward(X (B, T) int64, valid_len (B,) or None)`` returns the outputs ``(B, T, d)``; the
    padding after ``valid_len`` cannot change the outputs at the valid positions.

    Attributes:
        attention_weights: one ``(B, h, T, T)`` tensor per block, from the last call.

    Raises:
        ValueError: for bad sizes; TypeError: if ``X`` is not an int64 tensor.

    Source: Vaswani et al. (2017), §3.1; d2l §11.7.4.
    """

    def __init__(
        self,
        vocab_size: int,
        num_hiddens: int,
        ffn_num_hiddens: int,
        num_heads: int,
        num_layers: int,
        dropout: float = 0.0,
        max_len: int = 1000,
    ) -> None:
        super().__init__()
        _build_stack(self, TransformerEncoderBlock, vocab_size, num_hiddens, ffn_num_hiddens,
                     num_heads, num_layers, dropout, max_len)
        self.attention_weights: list[Tensor] = []

    def forward(self, X: Tensor, valid_len: Tensor | None = None) -> Tensor:
        _check_tokens("X", X)
        X = _embed(self.embedding, self.pos_encoding, X)
        for block in self.blocks:
            X = block(X, valid_len)
        self.attention_weights = [block.attention.attention_weights for block in self.blocks]
        return X


class TransformerDecoderBlock(nn.Module):
    """Causal self-attention, attention to the encoder's outputs and a FFN, each with add & norm.

    Args:
        num_hiddens, ffn_num_hiddens, num_heads, dropout: as in :class:`TransformerEncoderBlock`.

    ``forward(X (B, T', d), enc_outputs (B, T, d), enc_valid_len (B,) or None, cache)``:
    ``cache`` is ``None`` or the ``(B, t, d)`` inputs of the earlier positions; the block
    attends over ``cat(cache, X)``, and the query at position ``t + i`` sees only positions
    ``0..t+i`` (the causal mask). Returns ``(output (B, T', d), new_cache (B, t + T', d))``.

    Source: Vaswani et al. (2017), §3.1–3.2.3; d2l §11.7.5.
    """

    def __init__(
        self, num_hiddens: int, ffn_num_hiddens: int, num_heads: int, dropout: float = 0.0
    ) -> None:
        super().__init__()
        _check_block_sizes(num_hiddens, ffn_num_hiddens, num_heads, dropout)
        self.self_attention = MultiHeadAttention(num_hiddens, num_heads, dropout)
        self.addnorm1 = AddNorm(num_hiddens, dropout)
        self.cross_attention = MultiHeadAttention(num_hiddens, num_heads, dropout)
        self.addnorm2 = AddNorm(num_hiddens, dropout)
        self.ffn = PositionWiseFFN(num_hiddens, ffn_num_hiddens, dropout)
        self.addnorm3 = AddNorm(num_hiddens, dropout)

    def forward(
        self,
        X: Tensor,
        enc_outputs: Tensor,
        enc_valid_len: Tensor | None,
        cache: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        past = 0 if cache is None else cache.shape[1]
        keys = X if cache is None else torch.cat([cache, X], dim=1)  # (B, t + T', d)
        # query i (at position past + i) may see keys 0..past + i: one length per query
        causal_lens = torch.arange(past + 1, past + X.shape[1] + 1, device=X.device)
        causal_lens = causal_lens.expand(X.shape[0], -1)  # (B, T')
        Y = self.addnorm1(X, self.self_attention(X, keys, keys, causal_lens))
        Z = self.addnorm2(Y, self.cross_attention(Y, enc_outputs, enc_outputs, enc_valid_len))
        return self.addnorm3(Z, self.ffn(Z)), keys


class TransformerDecoder(Decoder):
    """Embedding, positional encoding, ``num_layers`` decoder blocks and a dense output layer.

    Args:
        vocab_size: ``V``, target token indices.
        num_hiddens, ffn_num_hiddens, num_heads, num_layers, dropout, max_len: as in
            :class:`TransformerEncoder`; ``num_hiddens`` must equal the encoder's.

    Shapes:
        ``init_state(enc_outputs (B, T, d), enc_valid_len (B,) or None)`` returns the state
        ``(enc_outputs, enc_valid_len, caches)`` with an empty cache per block.
        ``forward(X (B, T') int64, state)`` returns ``(logits (B, T', V), new_state)``; the
        positions of ``X`` continue after those in the caches, so feeding the tokens one at a
        time with the returned state gives the same logits as one call on the whole ``X``.

    Attributes:
        attention_weights: ``(self_weights, cross_weights)`` of the last call, each a list with
            one ``(B, h, T', keys)`` tensor per block (``keys`` = positions seen so far, or ``T``).

    Raises:
        ValueError: for bad sizes, or in ``init_state`` if ``enc_outputs`` is not
            ``(B, T, d)``; TypeError: if ``X`` is not an int64 tensor.

    Source: Vaswani et al. (2017), §3.1; d2l §11.7.5. Unlike d2l's decoder, the positional
    encoding of a token fed alone continues from the cached positions, instead of restarting at 0.
    """

    def __init__(
        self,
        vocab_size: int,
        num_hiddens: int,
        ffn_num_hiddens: int,
        num_heads: int,
        num_layers: int,
        dropout: float = 0.0,
        max_len: int = 1000,
    ) -> None:
        super().__init__()
        _build_stack(self, TransformerDecoderBlock, vocab_size, num_hiddens, ffn_num_hiddens,
                     num_heads, num_layers, dropout, max_len)
        self.dense = nn.Linear(num_hiddens, vocab_size)
        self.attention_weights: tuple[list[Tensor], list[Tensor]] = ([], [])

    def init_state(self, enc_outputs: Tensor, enc_valid_len: Tensor | None = None) -> DecoderState:
        """``(enc_outputs (B, T, d), enc_valid_len, [None] * num_layers)``."""
        d = self.embedding.embedding_dim
        _check_3d("enc_outputs", enc_outputs, f"(B, T, {d})")
        if enc_outputs.shape[-1] != d:
            raise ValueError(f"enc_outputs must have width {d}, got {enc_outputs.shape[-1]}")
        return enc_outputs, enc_valid_len, [None] * len(self.blocks)

    def forward(self, X: Tensor, state: DecoderState) -> tuple[Tensor, DecoderState]:
        """Logits ``(B, T', V)`` for the inputs ``X`` (B, T'), and the new state."""
        _check_tokens("X", X)
        enc_outputs, enc_valid_len, caches = state
        past = 0 if caches[0] is None else caches[0].shape[1]
        X = _embed(self.embedding, self.pos_encoding, X, offset=past)
        new_caches = []
        for block, cache in zip(self.blocks, caches):
            X, new_cache = block(X, enc_outputs, enc_valid_len, cache)
            new_caches.append(new_cache)
        self.attention_weights = (
            [block.self_attention.attention_weights for block in self.blocks],
            [block.cross_attention.attention_weights for block in self.blocks],
        )
        return self.dense(X), (enc_outputs, enc_valid_len, new_caches)


__all__ = [
    "AddNorm",
    "MultiHeadAttention",
    "PositionWiseFFN",
    "PositionalEncoding",
    "TransformerDecoder",
    "TransformerDecoderBlock",
    "TransformerEncoder",
    "TransformerEncoderBlock",
    "sinusoid_table",
]
