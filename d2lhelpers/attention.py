"""Attention pooling: masked softmax, scaled dot-product attention and additive attention.

Shapes: ``B`` batch, ``Q`` queries, ``K`` key–value pairs, ``d`` query/key size, ``v`` value
size. Every tensor is batch first.

- :func:`masked_softmax`: a softmax over the keys in which padded keys get weight exactly 0;
- :func:`valid_lens_to_mask`: the same valid lengths as a boolean ``(B, Q, K)`` mask (``True``
  means "attend"), the convention of ``torch.nn.functional.scaled_dot_product_attention``;
- :class:`DotProductAttention` and :class:`AdditiveAttention`: attention pooling with the two
  classic scoring functions; each keeps the weights of its last call in ``.attention_weights``;
- :class:`Seq2SeqAttentionDecoder`: the GRU decoder of :mod:`~d2lhelpers.seq2seq` with
  Bahdanau (additive) attention over the encoder's outputs at every step.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from .seq2seq import Decoder, _check_sizes, _check_tokens
from .validation import check_dropout, check_int


def _check_3d(name: str, X: Any, expected: str) -> Tensor:
    if not isinstance(X, Tensor):
        raise TypeError(f"{name} must be a tensor of shape {expected}, got {type(X).__name__}")
    if X.ndim != 3:
        raise ValueError(f"{name} must have shape {expected}, got {tuple(X.shape)}")
    return X


def valid_lens_to_mask(valid_lens: Tensor, num_queries: int, num_keys: int) -> Tensor:
    """A boolean mask that is ``True`` where a query may attend to a key.

    Args:
        valid_lens: integer tensor of shape ``(B,)`` (one length per example, shared by all its
            queries) or ``(B, Q)`` (one length per query); values in ``0..K``. Key ``k`` is
            valid for query ``q`` of example ``b`` when ``k < valid_lens[b]`` (or
            ``k < valid_lens[b, q]``).
        num_queries: ``Q``.
        num_keys: ``K``.

    Returns:
        Bool tensor of shape ``(B, Q, K)`` on ``valid_lens``'s device. It is the ``attn_mask``
        that ``torch.nn.functional.scaled_dot_product_attention`` expects (``True`` = attend).

    Raises:
        TypeError: if ``valid_lens`` is not an integer tensor.
        ValueError: if ``valid_lens`` is neither 1-D nor 2-D with ``Q`` columns, or holds a
            value outside ``0..K``; if ``num_queries`` or ``num_keys`` is not a positive int.

    Source: the masking of d2l §11.3 (attention scoring functions), as a mask.
    """
    check_int("num_queries", num_queries)
    check_int("num_keys", num_keys)
    if (
        not isinstance(valid_lens, Tensor)
        or valid_lens.dtype.is_floating_point
        or valid_lens.dtype.is_complex
        or valid_lens.dtype == torch.bool
    ):
        raise TypeError(
            f"valid_lens must be an integer tensor of shape (B,) or (B, Q), got {valid_lens!r:.60}"
        )
    if valid_lens.ndim == 1:
        valid_lens = valid_lens[:, None].expand(-1, num_queries)
    elif valid_lens.ndim != 2 or valid_lens.shape[1] != num_queries:
        raise ValueError(
            f"valid_lens must have shape (B,) or (B, {num_queries}), got {tuple(valid_lens.shape)}"
        )
    if bool(((valid_lens < 0) | (valid_lens > num_keys)).any()):
        raise ValueError(f"valid_lens must lie in 0..{num_keys}, got {valid_lens.tolist()}")
    keys = torch.arange(num_keys, device=valid_lens.device)
    return keys[None, None, :] < valid_lens[:, :, None]


def masked_softmax(X: Tensor, valid_lens: Tensor | None = None) -> Tensor:
    """Softmax over the last axis of ``X``, with the keys past each valid length weighted 0.

    Args:
        X: attention scores of shape ``(B, Q, K)``.
        valid_lens: ``None`` (every key is valid), or an integer tensor of shape ``(B,)`` (one
            length per example, applied to all its queries) or ``(B, Q)`` (one length per query),
            values in ``0..K``; it may live on another device than ``X``.

    Returns:
        Weights of shape ``(B, Q, K)``, dtype of ``X``. Each row's valid entries are
        non-negative and sum to 1; every entry at ``k >= valid_len`` is exactly 0. A row with
        valid length 0 is all zeros (it attends to nothing), not ``nan``.

    Raises:
        TypeError: if ``X`` is not a tensor or ``valid_lens`` not an integer tensor.
        ValueError: if ``X`` is not 3-D, or ``valid_lens`` has the wrong shape or a value
            outside ``0..K``.

    Source: ``masked_softmax`` of d2l §11.3 (attention scoring functions). d2l replaces masked
    scores by ``-1e6``, which leaves tiny nonzero weights and makes a length-0 row uniform; here
    masked weights are exactly 0.
    """
    _check_3d("X", X, "(B, Q, K)")
    if valid_lens is None:
        return torch.softmax(X, dim=-1)
    mask = valid_lens_to_mask(valid_lens, X.shape[1], X.shape[2])
    if mask.shape[0] != X.shape[0]:
        raise ValueError(
            f"valid_lens must have {X.shape[0]} rows, one per example of X, "
            f"got {tuple(valid_lens.shape)}"
        )
    mask = mask.to(X.device)
    # The most negative finite number: exp(...) underflows to exactly 0 next to any valid
    # score, and a fully masked row stays finite (no nan in the forward or backward pass).
    scores = X.masked_fill(~mask, torch.finfo(X.dtype).min)
    return torch.softmax(scores, dim=-1) * mask


def _check_qkv(queries: Any, keys: Any, values: Any) -> None:
    _check_3d("queries", queries, "(B, Q, d)")
    _check_3d("keys", keys, "(B, K, d)")
    _check_3d("values", values, "(B, K, v)")
    if keys.shape[0] != queries.shape[0] or values.shape[0] != queries.shape[0]:
        raise ValueError(
            "queries, keys and values must have the same batch size B, got "
            f"{queries.shape[0]}, {keys.shape[0]} and {values.shape[0]}"
        )
    if values.shape[1] != keys.shape[1]:
        raise ValueError(
            f"values must have one row per key: keys has K={keys.shape[1]}, "
            f"values has {values.shape[1]}"
        )


class DotProductAttention(nn.Module):
    """Scaled dot-product attention: score ``q·k / sqrt(d)``, masked softmax, weighted values.

    Args:
        dropout: dropout probability applied to the attention weights in training mode.

    ``forward(queries, keys, values, valid_lens=None)``:

    - queries: ``(B, Q, d)``; keys: ``(B, K, d)``; values: ``(B, K, v)``;
    - valid_lens: ``None``, ``(B,)`` or ``(B, Q)`` integer tensor, see :func:`masked_softmax`.

    Returns ``(B, Q, v)``. The weights of the last call, shape ``(B, Q, K)`` (before dropout),
    are kept in ``.attention_weights``. With ``dropout=0`` (or in eval mode) it equals
    ``torch.nn.functional.scaled_dot_product_attention`` with
    ``attn_mask=valid_lens_to_mask(valid_lens, Q, K)``. A query with valid length 0 gets a
    zero vector (older PyTorch versions give ``nan`` there).

    Raises:
        TypeError: if an input is not a tensor.
        ValueError: if ``dropout`` is not in ``[0, 1)``; if the shapes do not agree (the
            message names the argument).

    Source: d2l §11.3.2; Vaswani et al., "Attention Is All You Need" (2017), eq. 1.
    """

    def __init__(self, dropout: float = 0.0) -> None:
        super().__init__()
        check_dropout(dropout)
        self.dropout = nn.Dropout(dropout)
        self.attention_weights: Tensor | None = None

    def forward(
        self, queries: Tensor, keys: Tensor, values: Tensor, valid_lens: Tensor | None = None
    ) -> Tensor:
        _check_qkv(queries, keys, values)
        d = queries.shape[-1]
        if keys.shape[-1] != d:
            raise ValueError(
                f"keys must have the queries' size d={d} in their last axis, got {keys.shape[-1]}"
            )
        scores = queries @ keys.transpose(1, 2) / math.sqrt(d)  # (B, Q, K)
        self.attention_weights = masked_softmax(scores, valid_lens)
        return self.dropout(self.attention_weights) @ values


class AdditiveAttention(nn.Module):
    """Additive attention: score ``w_v · tanh(W_q q + W_k k)``, masked softmax, weighted values.

    Queries and keys may have different sizes; both are projected to ``num_hiddens``.

    Args:
        query_size: size of each query, ``d_q``.
        key_size: size of each key, ``d_k``.
        num_hiddens: size of the hidden layer, ``h``.
        dropout: dropout probability applied to the attention weights in training mode.

    ``forward(queries (B, Q, d_q), keys (B, K, d_k), values (B, K, v), valid_lens=None)``
    returns ``(B, Q, v)``; the weights of the last call, ``(B, Q, K)``, are kept in
    ``.attention_weights``. ``valid_lens`` as in :func:`masked_softmax`.

    Raises:
        TypeError: if an input is not a tensor.
        ValueError: if a size is not a positive int, ``dropout`` not in ``[0, 1)``, or the
            shapes do not agree (the message names the argument).

    Source: d2l §11.3.1; Bahdanau, Cho and Bengio, "Neural Machine Translation by Jointly
    Learning to Align and Translate" (2015).
    """

    def __init__(
        self, query_size: int, key_size: int, num_hiddens: int, dropout: float = 0.0
    ) -> None:
        super().__init__()
        check_int("query_size", query_size)
        check_int("key_size", key_size)
        check_int("num_hiddens", num_hiddens)
        check_dropout(dropout)
        self.W_q = nn.Linear(query_size, num_hiddens, bias=False)
        self.W_k = nn.Linear(key_size, num_hiddens, bias=False)
        self.w_v = nn.Linear(num_hiddens, 1, bias=False)
        self.dropout = nn.Dropout(dropout)
        self.attention_weights: Tensor | None = None

    def forward(
        self, queries: Tensor, keys: Tensor, values: Tensor, valid_lens: Tensor | None = None
    ) -> Tensor:
        _check_qkv(queries, keys, values)
        if queries.shape[-1] != self.W_q.in_features:
            raise ValueError(
                f"queries must have size query_size={self.W_q.in_features} in their last "
                f"axis, got {queries.shape[-1]}"
            )
        if keys.shape[-1] != self.W_k.in_features:
            raise ValueError(
                f"keys must have size key_size={self.W_k.in_features} in their last axis, "
                f"got {keys.shape[-1]}"
            )
        # (B, Q, 1, h) + (B, 1, K, h) -> (B, Q, K, h): every query meets every key.
        features = torch.tanh(self.W_q(queries)[:, :, None, :] + self.W_k(keys)[:, None, :, :])
        scores = self.w_v(features).squeeze(-1)  # (B, Q, K)
        self.attention_weights = masked_softmax(scores, valid_lens)
        return self.dropout(self.attention_weights) @ values


class Seq2SeqAttentionDecoder(Decoder):
    """A GRU decoder that attends to all encoder outputs at every step (Bahdanau attention).

    At decoding step ``t`` the query is the decoder's previous top-layer hidden state
    ``s_{t-1}`` (at the first step, the encoder's final top-layer state); the keys and values
    are the encoder's top-layer outputs ``h_1..h_T``. :class:`AdditiveAttention` with ``H``
    hidden units, masked by the source valid lengths, gives the context
    ``c_t = sum_j alpha(s_{t-1}, h_j) h_j``; the GRU reads ``[embedding(y_{t-1}); c_t]`` and a
    linear layer maps its top-layer output to logits. The parameter names are those of
    :class:`~d2lhelpers.seq2seq.Seq2SeqDecoder` plus ``attention.*``.

    Args:
        vocab_size: ``V``, target token indices.
        embed_size: ``E``.
        num_hiddens: ``H``; must equal the encoder's.
        num_layers: ``L``; must equal the encoder's.
        dropout: dropout between GRU layers and on the attention weights (training mode).

    Shapes:
        ``init_state((outputs (T, B, H), hidden (L, B, H)), enc_valid_len (B,) or None)`` takes
        the output of :class:`~d2lhelpers.seq2seq.Seq2SeqEncoder` and returns
        ``(enc_outputs (B, T, H) batch first, hidden (L, B, H), enc_valid_len)``.
        ``forward(X, state)``: ``X`` int64 ``(B, T')``; returns ``(logits (B, T', V),
        new_state)``. Feeding the steps one at a time with the returned state gives the same
        logits as one call on the whole ``X``.

    Attributes:
        attention_weights: tensor ``(B, T', T)`` of the last ``forward`` call: row ``t`` holds
            the weights over the ``T`` source positions used at step ``t`` (0 at padded
            positions). During step-by-step decoding (``T' = 1``) it is ``(B, 1, T)``, so collect
            it after each step. ``None`` before the first call.

    Raises:
        ValueError: for sizes that are not positive ints or ``dropout`` outside ``[0, 1)``; in
            ``init_state``, if the encoder's outputs or hidden state do not have shapes
            ``(T, B, H)`` and ``(L, B, H)``.
        TypeError: if ``X`` is not an int64 tensor.

    Source: ``Seq2SeqAttentionDecoder`` of d2l §11.4 (the Bahdanau attention mechanism);
    Bahdanau, Cho and Bengio, "Neural Machine Translation by Jointly Learning to Align and
    Translate" (2015), with a GRU decoder and the previous state as the query.
    """

    def __init__(
        self,
        vocab_size: int,
        embed_size: int,
        num_hiddens: int,
        num_layers: int,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        _check_sizes(vocab_size, embed_size, num_hiddens, num_layers, dropout)
        self.embedding = nn.Embedding(vocab_size, embed_size)
        self.attention = AdditiveAttention(num_hiddens, num_hiddens, num_hiddens, dropout)
        self.rnn = nn.GRU(embed_size + num_hiddens, num_hiddens, num_layers, dropout=dropout)
        self.dense = nn.Linear(num_hiddens, vocab_size)
        self.attention_weights: Tensor | None = None

    def init_state(
        self, enc_outputs: tuple[Tensor, Tensor], enc_valid_len: Tensor | None = None
    ) -> tuple[Tensor, Tensor, Tensor | None]:
        """``(enc_outputs (B, T, H), hidden (L, B, H), enc_valid_len)`` from the encoder."""
        outputs, hidden = enc_outputs
        L, H = self.rnn.num_layers, self.rnn.hidden_size
        if hidden.ndim != 3 or (hidden.shape[0], hidden.shape[2]) != (L, H):
            raise ValueError(
                f"the encoder's hidden state must have shape (L={L}, B, H={H}), "
                f"got {tuple(hidden.shape)}"
            )
        if outputs.ndim != 3 or outputs.shape[1:] != hidden.shape[1:]:
            raise ValueError(
                f"the encoder's outputs must have shape (T, B={hidden.shape[1]}, H={H}), "
                f"got {tuple(outputs.shape)}"
            )
        return outputs.transpose(0, 1), hidden, enc_valid_len

    def forward(
        self, X: Tensor, state: tuple[Tensor, Tensor, Tensor | None]
    ) -> tuple[Tensor, tuple[Tensor, Tensor, Tensor | None]]:
        """Logits ``(B, T', V)`` for the inputs ``X`` (B, T'), and the new state."""
        _check_tokens("X", X)
        enc_outputs, hidden, enc_valid_len = state
        outputs, weights = [], []
        for emb in self.embedding(X.t()):  # one step at a time: emb is (B, E)
            query = hidden[-1].unsqueeze(1)  # (B, 1, H): the previous top-layer state
            context = self.attention(query, enc_outputs, enc_outputs, enc_valid_len)  # (B, 1, H)
            step_input = torch.cat([emb, context.squeeze(1)], dim=-1).unsqueeze(0)  # (1, B, E+H)
            output, hidden = self.rnn(step_input, hidden)
            outputs.append(output)
            weights.append(self.attention.attention_weights)
        self.attention_weights = torch.cat(weights, dim=1)  # (B, T', T)
        logits = self.dense(torch.cat(outputs, dim=0)).transpose(0, 1)  # (B, T', V)
        return logits, (enc_outputs, hidden, enc_valid_len)
