"""Sequence-to-sequence models: encoder–decoder interface, GRU seq2seq, masked loss, BLEU.

Shapes: ``B`` batch, ``T`` steps, ``V`` target vocabulary size, ``E`` embedding size, ``H``
hidden units, ``L`` layers. Token tensors are batch first, ``(B, T)`` int64, as
:func:`~d2lhelpers.translation.load_data_cmn_eng` yields them.

- :class:`Encoder`, :class:`Decoder`, :class:`EncoderDecoder`: the interface that every model
  of this chapter and of the attention chapter follows;
- :class:`Seq2SeqEncoder`, :class:`Seq2SeqDecoder`: the GRU encoder and decoder of d2l §10.7;
- :func:`sequence_mask`, :func:`masked_cross_entropy`: the loss that ignores ``<pad>``;
- :func:`train_seq2seq` (teacher forcing), :func:`translate` (greedy decoding) and
  :func:`evaluate_bleu` (corpus BLEU with ``sacrebleu``, the number compared across chapters).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from .animator import Animator
from .devices import try_gpu
from .text import Vocab
from .timing import Timer
from .translation import BOS, EOS, build_array_nmt, preprocess_eng, tokenize_eng
from .validation import check_dropout, check_int, check_number

Batches = Iterable[tuple[Tensor, Tensor, Tensor, Tensor]]


def _check_tokens(name: str, X: Any) -> None:
    if not isinstance(X, Tensor) or X.dtype != torch.int64:
        raise TypeError(f"{name} must be an int64 tensor of token indices, got {X!r:.60}")
    if X.ndim != 2:
        raise ValueError(f"{name} must have shape (B, T), got {tuple(X.shape)}")


def _check_valid_len(valid_len: Any, batch_size: int, num_steps: int | None = None) -> None:
    if not isinstance(valid_len, Tensor) or valid_len.dtype.is_floating_point:
        raise TypeError(f"valid_len must be an integer tensor of shape (B,), got {valid_len!r:.60}")
    if valid_len.shape != (batch_size,):
        raise ValueError(f"valid_len must have shape ({batch_size},), got {tuple(valid_len.shape)}")
    if num_steps is not None and bool(((valid_len < 0) | (valid_len > num_steps)).any()):
        raise ValueError(f"valid_len must lie in 0..{num_steps}, got {valid_len.tolist()}")


def _check_sizes(
    vocab_size: int, embed_size: int, num_hiddens: int, num_layers: int, dropout: float
) -> None:
    """The constructor arguments of the GRU encoders and decoders, each named in its error."""
    for name, value in [
        ("vocab_size", vocab_size),
        ("embed_size", embed_size),
        ("num_hiddens", num_hiddens),
        ("num_layers", num_layers),
    ]:
        check_int(name, value)
    check_dropout(dropout)


class Encoder(nn.Module):
    """The encoder interface: a variable-length source sequence to encoder outputs.

    ``forward(X, *args)`` returns whatever the matching :class:`Decoder` needs in
    ``init_state`` (for :class:`Seq2SeqEncoder`: all outputs and the final hidden state).

    Source: d2l §10.6 (the encoder–decoder architecture).
    """

    def forward(self, X: Tensor, *args: Any) -> Any:
        raise NotImplementedError


class Decoder(nn.Module):
    """The decoder interface: a state from the encoder, then target tokens to logits.

    ``init_state(enc_outputs, *args) -> state``; ``forward(X, state) -> (logits, new_state)``
    with ``X`` of shape ``(B, T)`` and logits of shape ``(B, T, V)``.

    Source: d2l §10.6 (the encoder–decoder architecture).
    """

    def init_state(self, enc_outputs: Any, *args: Any) -> Any:
        raise NotImplementedError

    def forward(self, X: Tensor, state: Any) -> tuple[Tensor, Any]:
        raise NotImplementedError


class EncoderDecoder(nn.Module):
    """An encoder and a decoder joined: the source is encoded, the decoder reads the target.

    Args:
        encoder: an :class:`Encoder` (any ``nn.Module`` with the same call signature).
        decoder: a :class:`Decoder` (any ``nn.Module`` with ``init_state``).

    Shapes:
        ``forward(enc_X, dec_X, enc_valid_len)``: ``enc_X`` ``(B, T)``, ``dec_X`` ``(B, T')``,
        ``enc_valid_len`` ``(B,)``; returns ``(logits (B, T', V), state)``.

    Raises:
        TypeError: if ``encoder`` is not an ``nn.Module`` or ``decoder`` has no ``init_state``.

    Source: ``EncoderDecoder`` of d2l §10.6.
    """

    def __init__(self, encoder: nn.Module, decoder: nn.Module) -> None:
        super().__init__()
        if not isinstance(encoder, nn.Module):
            raise TypeError(f"encoder must be an nn.Module, got {type(encoder).__name__}")
        if not isinstance(decoder, nn.Module) or not callable(getattr(decoder, "init_state", None)):
            raise TypeError(
                f"decoder must be an nn.Module with init_state, got {type(decoder).__name__}"
            )
        self.encoder = encoder
        self.decoder = decoder

    def forward(
        self, enc_X: Tensor, dec_X: Tensor, enc_valid_len: Tensor | None
    ) -> tuple[Tensor, Any]:
        """Logits ``(B, T', V)`` of the decoder reading ``dec_X``, and its final state."""
        enc_outputs = self.encoder(enc_X, enc_valid_len)
        state = self.decoder.init_state(enc_outputs, enc_valid_len)
        return self.decoder(dec_X, state)


class Seq2SeqEncoder(Encoder):
    """Embedding and a multi-layer GRU that reads the source sequence.

    With ``valid_len`` the GRU reads only the first ``valid_len[b]`` tokens of row ``b``
    (``pack_padded_sequence``): the final hidden state is the one after the last real token
    (``<eos>``), so padding cannot change it, and the outputs at padded steps are zeros.
    Without it every step is read, padding included, as in d2l.

    Args:
        vocab_size: ``V_src``, source token indices.
        embed_size: ``E``.
        num_hiddens: ``H``.
        num_layers: ``L`` stacked GRU layers.
        dropout: dropout between GRU layers (none after the last one).

    Shapes:
        ``forward(X, valid_len)``: ``X`` int64 ``(B, T)``, ``valid_len`` ``(B,)`` or ``None``;
        returns ``(outputs (T, B, H), hidden (L, B, H))``: the top layer's output at every step
        and every layer's final hidden state.

    Raises:
        ValueError: for sizes that are not positive ints, ``dropout`` outside ``[0, 1)``, or
            (in ``forward``) a ``valid_len`` of the wrong shape or outside ``1..T``.
        TypeError: if ``X`` is not an int64 tensor.

    Source: ``Seq2SeqEncoder`` of d2l §10.7 (Sutskever et al., 2014; Cho et al., 2014), with
        padding skipped.
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
        self.rnn = nn.GRU(embed_size, num_hiddens, num_layers, dropout=dropout)

    def forward(self, X: Tensor, valid_len: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``(outputs (T, B, H), hidden (L, B, H))`` of the GRU reading ``X`` (B, T)."""
        _check_tokens("X", X)
        embs = self.embedding(X.t())  # (T, B, E): time first for nn.GRU
        if valid_len is None:
            return self.rnn(embs)
        _check_valid_len(valid_len, X.shape[0], X.shape[1])
        if bool((valid_len < 1).any()):
            raise ValueError("valid_len must be >= 1: every source has at least <eos>")
        packed = nn.utils.rnn.pack_padded_sequence(embs, valid_len.cpu(), enforce_sorted=False)
        outputs, hidden = self.rnn(packed)
        outputs, _ = nn.utils.rnn.pad_packed_sequence(outputs, total_length=X.shape[1])
        return outputs, hidden


class Seq2SeqDecoder(Decoder):
    """A GRU decoder that starts from the encoder's final state and reads a context at every step.

    The context is the encoder's top-layer final hidden state, ``hidden[-1]`` (its output
    after the last real source token). At every step the decoder's GRU reads the embedding
    of the input token concatenated with the context; a linear layer maps its top-layer
    output to logits.

    Args:
        vocab_size: ``V``, target token indices.
        embed_size: ``E``.
        num_hiddens: ``H``; must equal the encoder's.
        num_layers: ``L``; must equal the encoder's.
        dropout: dropout between GRU layers.

    Shapes:
        ``init_state((outputs, hidden), valid_len)`` returns ``(context (B, H), hidden
        (L, B, H))``. ``forward(X, state)``: ``X`` int64 ``(B, T)``; returns ``(logits (B, T, V),
        (context, new_hidden))``. Feeding the steps one at a time, ``X`` of shape ``(B, 1)``,
        with the returned state, gives the same logits as one call on the whole ``X``.

    Raises:
        ValueError: as :class:`Seq2SeqEncoder`; in ``init_state``, if the encoder's hidden
            state does not have shape ``(L, B, H)``.
        TypeError: if ``X`` is not an int64 tensor.

    Source: ``Seq2SeqDecoder`` of d2l §10.7 (Cho et al., 2014, for the context at every step).
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
        self.rnn = nn.GRU(embed_size + num_hiddens, num_hiddens, num_layers, dropout=dropout)
        self.dense = nn.Linear(num_hiddens, vocab_size)

    def init_state(
        self, enc_outputs: tuple[Tensor, Tensor], valid_len: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """``(context (B, H), hidden (L, B, H))`` from the encoder's ``(outputs, hidden)``."""
        _, hidden = enc_outputs
        expected = (self.rnn.num_layers, self.rnn.hidden_size)
        if hidden.ndim != 3 or (hidden.shape[0], hidden.shape[2]) != expected:
            raise ValueError(
                f"the encoder's hidden state must have shape (L={expected[0]}, B, "
                f"H={expected[1]}), got {tuple(hidden.shape)}"
            )
        return hidden[-1], hidden

    def forward(
        self, X: Tensor, state: tuple[Tensor, Tensor]
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """Logits ``(B, T, V)`` for the inputs ``X`` (B, T), and ``(context, new_hidden)``."""
        _check_tokens("X", X)
        context, hidden = state
        embs = self.embedding(X.t())  # (T, B, E)
        context_steps = context.unsqueeze(0).expand(embs.shape[0], -1, -1)  # (T, B, H)
        outputs, hidden = self.rnn(torch.cat([embs, context_steps], dim=-1), hidden)
        return self.dense(outputs).transpose(0, 1), (context, hidden)


def sequence_mask(X: Tensor, valid_len: Tensor, value: float = 0.0) -> Tensor:
    """A copy of ``X`` with ``X[b, t]`` set to ``value`` wherever ``t >= valid_len[b]``.

    Args:
        X: shape ``(B, T, ...)``.
        valid_len: integer tensor of shape ``(B,)``, values in ``0..T``.
        value: what the positions past the valid length become.

    Returns:
        A tensor of ``X``'s shape and dtype (``X`` is not changed).

    Raises:
        TypeError: if ``X`` is not a tensor or ``valid_len`` not an integer tensor.
        ValueError: if ``X`` has fewer than 2 dimensions, or ``valid_len`` the wrong shape.

    Source: ``sequence_mask`` of d2l §10.7.
    """
    if not isinstance(X, Tensor):
        raise TypeError(f"X must be a tensor, got {type(X).__name__}")
    if X.ndim < 2:
        raise ValueError(f"X must have shape (B, T, ...), got {tuple(X.shape)}")
    _check_valid_len(valid_len, X.shape[0])
    steps = torch.arange(X.shape[1], device=X.device)
    mask = steps[None, :] < valid_len.to(X.device)[:, None]  # (B, T)
    mask = mask.reshape(mask.shape + (1,) * (X.ndim - 2))
    return torch.where(mask, X, torch.as_tensor(value, dtype=X.dtype, device=X.device))


def masked_cross_entropy(logits: Tensor, Y: Tensor, valid_len: Tensor) -> Tensor:
    """Cross-entropy of each sequence, averaged over its valid (non-padding) targets only.

    Args:
        logits: shape ``(B, T, V)``.
        Y: int64 targets of shape ``(B, T)``.
        valid_len: integer tensor of shape ``(B,)``: ``Y[b, :valid_len[b]]`` are scored.

    Returns:
        Shape ``(B,)``: the mean over ``t < valid_len[b]`` of ``-log softmax(logits[b, t])[Y[b,
        t]]`` in nats; 0 for a sequence with ``valid_len[b] == 0``. The mean over all valid
        tokens of a batch is ``(loss * valid_len).sum() / valid_len.sum()``, which is what
        :func:`train_seq2seq` minimises. (d2l divides by ``T`` instead, which makes the loss
        depend on how much padding there is.)

    Raises:
        TypeError: if ``Y`` is not int64 or ``valid_len`` not an integer tensor.
        ValueError: if the shapes do not fit together.

    Source: ``MaskedSoftmaxCELoss`` of d2l §10.7, averaged over valid tokens.
    """
    if not isinstance(logits, Tensor) or logits.ndim != 3:
        raise ValueError(
            f"logits must have shape (B, T, V), got {getattr(logits, 'shape', logits)}"
        )
    _check_tokens("Y", Y)
    if Y.shape != logits.shape[:2]:
        raise ValueError(f"Y must have shape {tuple(logits.shape[:2])}, got {tuple(Y.shape)}")
    _check_valid_len(valid_len, Y.shape[0], Y.shape[1])
    unmasked = F.cross_entropy(logits.transpose(1, 2), Y, reduction="none")  # (B, T)
    masked = sequence_mask(unmasked, valid_len)
    return masked.sum(dim=1) / valid_len.to(masked.device).clamp(min=1)


def _device_of(net: nn.Module) -> torch.device:
    param = next(net.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def _check_encoder_decoder(net: Any) -> None:
    if not isinstance(net, nn.Module) or not all(hasattr(net, a) for a in ("encoder", "decoder")):
        raise TypeError(
            f"net must be an EncoderDecoder (with .encoder and .decoder), got {type(net).__name__}"
        )


@dataclass
class Seq2SeqHistory:
    """Results of :func:`train_seq2seq`."""

    loss: list[float] = field(default_factory=list)
    """Mean cross-entropy (nats) per valid target token of each epoch, ``<pad>`` excluded."""
    seconds: float = 0.0
    """Wall-clock time of the whole training."""
    tokens_trained: int = 0
    """Valid target tokens (``<eos>`` included, ``<pad>`` not) processed over all epochs."""

    @property
    def tokens_per_sec(self) -> float:
        """Valid target tokens per second of training."""
        return self.tokens_trained / self.seconds if self.seconds > 0 else float("nan")


def train_seq2seq(
    net: nn.Module,
    train_iter: Batches,
    num_epochs: int,
    lr: float,
    tgt_vocab: Vocab,
    device: torch.device | None = None,
    clip: float | None = 1.0,
    plot: bool = True,
) -> Seq2SeqHistory:
    """Train an encoder–decoder with teacher forcing, Adam and the masked cross-entropy.

    Teacher forcing: the decoder reads ``<bos>`` followed by ``Y[:, :-1]``, the *true*
    previous target tokens, and is scored on predicting ``Y``. Each minibatch minimises the
    mean of :func:`masked_cross_entropy` over its valid target tokens; the gradient is clipped
    to norm ``clip`` before each Adam step.

    Args:
        net: an :class:`EncoderDecoder`; moved to ``device`` and left in training mode.
        train_iter: yields ``(X, X_valid_len, Y, Y_valid_len)`` as from
            :func:`~d2lhelpers.translation.load_data_cmn_eng`; each ``for`` loop is an epoch.
        num_epochs: passes over ``train_iter``.
        lr: learning rate of ``torch.optim.Adam``.
        tgt_vocab: the target vocabulary (for the index of ``<bos>``).
        device: where to train; default :func:`try_gpu`.
        clip: the largest gradient norm; ``None`` turns clipping off.
        plot: draw the live :class:`Animator` of the loss per epoch.

    Returns:
        The :class:`Seq2SeqHistory`; it also prints the last loss and the throughput.

    Raises:
        TypeError: if ``net`` has no ``encoder``/``decoder`` or ``lr`` is not a number.
        ValueError: if ``num_epochs`` is not a positive int, ``lr`` or ``clip`` not positive,
            ``tgt_vocab`` has no ``<bos>``, or ``train_iter`` yields no batches.

    Source: ``train_seq2seq`` of d2l §10.7 (first edition), loss per valid token.
    """
    _check_encoder_decoder(net)
    check_int("num_epochs", num_epochs)
    if check_number("lr", lr) <= 0:
        raise ValueError(f"lr must be positive, got {lr!r}")
    if clip is not None and check_number("clip", clip) <= 0:
        raise ValueError(f"clip must be positive (or None), got {clip!r}")
    if BOS not in tgt_vocab.token_to_idx:
        raise ValueError(f"tgt_vocab must contain the reserved token {BOS!r}")
    device = device or try_gpu()
    net.to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    animator = (
        Animator(xlabel="epoch", ylabel="loss per token", xlim=(0, num_epochs)) if plot else None
    )
    history, timer = Seq2SeqHistory(), Timer()
    bos = tgt_vocab[BOS]
    net.train()
    for epoch in range(num_epochs):
        total, num_tokens = 0.0, 0
        for X, X_valid_len, Y, Y_valid_len in train_iter:
            X, X_valid_len = X.to(device), X_valid_len.to(device)
            Y, Y_valid_len = Y.to(device), Y_valid_len.to(device)
            bos_column = torch.full((Y.shape[0], 1), bos, dtype=Y.dtype, device=device)
            dec_input = torch.cat([bos_column, Y[:, :-1]], dim=1)  # teacher forcing
            logits, _ = net(X, dec_input, X_valid_len)
            per_sequence = masked_cross_entropy(logits, Y, Y_valid_len)
            tokens = Y_valid_len.sum()
            loss = (per_sequence * Y_valid_len).sum() / tokens
            optimizer.zero_grad()
            loss.backward()
            if clip is not None:
                nn.utils.clip_grad_norm_(net.parameters(), clip)
            optimizer.step()
            total += float(loss.detach()) * int(tokens)
            num_tokens += int(tokens)
        if num_tokens == 0:
            raise ValueError("train_seq2seq(train_iter): train_iter yielded no batches")
        history.loss.append(total / num_tokens)
        history.tokens_trained += num_tokens
        if animator:
            animator.add(epoch + 1, history.loss[-1])
    if animator:
        animator.finish()
    history.seconds = timer.stop()
    print(
        f"loss {history.loss[-1]:.3f} per token, {history.tokens_per_sec:,.0f} target tokens/s "
        f"on {device} ({history.seconds:.1f} s)"
    )
    return history


def translate(
    net: nn.Module,
    sentences: Sequence[str],
    src_vocab: Vocab,
    tgt_vocab: Vocab,
    num_steps: int,
    device: torch.device | None = None,
) -> list[list[str]]:
    """Greedy translations of English sentences: each step emits the most likely next token.

    The sentences are preprocessed and tokenized with
    :func:`~d2lhelpers.translation.tokenize_eng`, given ``<eos>`` and truncated or padded to
    ``num_steps`` exactly as in :func:`~d2lhelpers.translation.load_data_cmn_eng`, and encoded
    in one batch. The decoder starts from ``<bos>`` and is fed its own previous prediction.

    Args:
        net: an :class:`EncoderDecoder`; put in evaluation mode for the call, then back.
        sentences: raw English sentences.
        src_vocab: the source vocabulary the model was trained with.
        tgt_vocab: the target vocabulary (``<bos>``, ``<eos>``).
        num_steps: the source length ``T`` and the most target tokens generated.
        device: where to compute; default the device of ``net``'s parameters.

    Returns:
        One token list per sentence, ending before its first ``<eos>`` (not included); at most
        ``num_steps`` tokens.

    Raises:
        TypeError: if ``net`` is not an encoder–decoder or a sentence not a string.
        ValueError: if ``num_steps`` is not a positive int or a vocabulary lacks a reserved
            token.

    Source: ``predict_seq2seq`` of d2l §10.7, batched.
    """
    _check_encoder_decoder(net)
    check_int("num_steps", num_steps)
    if isinstance(sentences, str):
        raise TypeError("sentences must be a list of strings, not one string")
    if BOS not in tgt_vocab.token_to_idx or EOS not in tgt_vocab.token_to_idx:
        raise ValueError("tgt_vocab must contain the reserved tokens '<bos>' and '<eos>'")
    if not sentences:
        return []
    device = device or _device_of(net)
    X, X_valid_len = build_array_nmt([tokenize_eng(s) for s in sentences], src_vocab, num_steps)
    X, X_valid_len = X.to(device), X_valid_len.to(device)
    bos, eos = tgt_vocab[BOS], tgt_vocab[EOS]
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            state = net.decoder.init_state(net.encoder(X, X_valid_len), X_valid_len)
            dec_X = torch.full((X.shape[0], 1), bos, dtype=torch.int64, device=device)
            done = torch.zeros(X.shape[0], dtype=torch.bool, device=device)
            steps = []
            for _ in range(num_steps):
                logits, state = net.decoder(dec_X, state)
                dec_X = logits.argmax(dim=2)  # (B, 1)
                steps.append(dec_X[:, 0])
                done |= dec_X[:, 0] == eos
                if bool(done.all()):
                    break
    finally:
        net.train(was_training)
    predictions = torch.stack(steps, dim=1).tolist()  # (B, steps)
    outputs = []
    for row in predictions:
        row = row[: row.index(eos)] if eos in row else row
        outputs.append(tgt_vocab.to_tokens(row))
    return outputs


def group_references(pairs: Sequence[tuple[str, str]]) -> tuple[list[str], list[list[str]]]:
    """Distinct English sentences and, for each, all its Chinese translations in ``pairs``.

    Sentences are grouped by :func:`~d2lhelpers.translation.preprocess_eng`, as
    :func:`~d2lhelpers.translation.split_pairs` groups them.

    Returns:
        ``(sources, references)``: ``sources[i]`` the first raw English sentence of group
        ``i`` (in order of first appearance), ``references[i]`` its Chinese sentences.

    Raises:
        TypeError: if an item of ``pairs`` is not a pair of strings.
    """
    groups: dict[str, tuple[str, list[str]]] = {}
    for pair in pairs:
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise TypeError(f"pairs must hold (english, chinese) pairs of strings, got {pair!r}")
        english, chinese = pair
        if not isinstance(english, str) or not isinstance(chinese, str):
            raise TypeError(f"pairs must hold (english, chinese) pairs of strings, got {pair!r}")
        groups.setdefault(preprocess_eng(english), (english, []))[1].append(chinese)
    sources = [english for english, _ in groups.values()]
    references = [refs for _, refs in groups.values()]
    return sources, references


def corpus_bleu_zh(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """Corpus BLEU (0–100) of Chinese hypotheses, by ``sacrebleu`` with ``tokenize="zh"``.

    Args:
        hypotheses: one string per segment.
        references: ``references[i]`` holds one or more reference strings of segment ``i``.

    Raises:
        ValueError: if the lengths differ, a segment has no reference, or there is none.

    Source: BLEU of Papineni et al. (2002) as computed by sacrebleu (Post, 2018).
    """
    import sacrebleu

    if len(hypotheses) != len(references) or not hypotheses:
        raise ValueError(
            f"hypotheses and references must be non-empty and of equal length, got "
            f"{len(hypotheses)} and {len(references)}"
        )
    if any(len(refs) == 0 for refs in references):
        raise ValueError("every segment needs at least one reference")
    width = max(len(refs) for refs in references)
    # sacrebleu wants one stream per reference slot; None marks a missing reference
    streams = [[refs[k] if k < len(refs) else None for refs in references] for k in range(width)]
    return float(sacrebleu.corpus_bleu(list(hypotheses), streams, tokenize="zh").score)


def evaluate_bleu(
    net: nn.Module,
    pairs: Sequence[tuple[str, str]],
    src_vocab: Vocab,
    tgt_vocab: Vocab,
    num_steps: int,
    device: torch.device | None = None,
) -> float:
    """Corpus BLEU (0–100) of ``net``'s greedy translations of the English side of ``pairs``.

    Pairs with the same English sentence (after preprocessing) are one segment, translated
    once, with all their Chinese sentences as references: Tatoeba often has several correct
    translations, and scoring one output against each of them separately would count the
    sentence several times and punish every output that matches only one of them. On the
    2,098 held-out pairs of :func:`~d2lhelpers.translation.split_pairs` this gives 2,000
    segments. Hypotheses are the generated characters joined without spaces (``<unk>`` kept);
    the score is ``sacrebleu.corpus_bleu(..., tokenize="zh")`` (:func:`corpus_bleu_zh`), so
    numbers are comparable across models that use the same pairs.

    Args:
        net: an :class:`EncoderDecoder`, decoded with :func:`translate`.
        pairs: ``(english, chinese)`` pairs, e.g. the held-out pairs of
            :func:`~d2lhelpers.translation.load_data_cmn_eng`.
        src_vocab, tgt_vocab: the vocabularies the model was trained with.
        num_steps: passed to :func:`translate`.
        device: where to compute; default the device of ``net``'s parameters.

    Raises:
        ValueError: if ``pairs`` is empty or ``num_steps`` is not a positive int.
        TypeError: as :func:`translate`, or if an item of ``pairs`` is not a pair of strings.

    Source: BLEU (Papineni et al., 2002) via sacrebleu, as in d2l §10.7's evaluation.
    """
    if not pairs:
        raise ValueError("pairs must not be empty")
    sources, references = group_references(pairs)
    outputs = []
    for i in range(0, len(sources), 500):  # bounded memory per batch
        outputs += translate(net, sources[i : i + 500], src_vocab, tgt_vocab, num_steps, device)
    hypotheses = ["".join(tokens) for tokens in outputs]
    return corpus_bleu_zh(hypotheses, references)


__all__ = [
    "Decoder",
    "Encoder",
    "EncoderDecoder",
    "Seq2SeqDecoder",
    "Seq2SeqEncoder",
    "Seq2SeqHistory",
    "corpus_bleu_zh",
    "evaluate_bleu",
    "group_references",
    "masked_cross_entropy",
    "sequence_mask",
    "train_seq2seq",
    "translate",
]
