"""Minibatches of subsequences cut from one long token sequence, for language models (chapter 5).

A language model reads a corpus of ``T`` token indices. To train on minibatches, the corpus is
cut into subsequences of ``num_steps`` tokens; the label of each position is the token that
follows it. Two ways to choose the subsequences (d2l §9.3 and §9.5):

- **random sampling**: subsequences from anywhere in the corpus, in a random order, so two
  neighbouring minibatches are unrelated;
- **sequential partitioning**: row ``i`` of minibatch ``k + 1`` continues row ``i`` of
  minibatch ``k`` in the corpus, so a recurrent network may carry its hidden state over.

Both start every epoch at a random offset in ``0 .. num_steps - 1``, so the cut points move.
The language-model notebook teaches these functions; the RNN notebooks train with
:func:`load_data_time_machine`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch import Tensor

from .text import Vocab, load_corpus_time_machine
from .validation import check_int

Batch = tuple[Tensor, Tensor]


def _as_corpus(corpus: Sequence[int] | Tensor) -> Tensor:
    """``corpus`` as a 1-D int64 tensor."""
    if isinstance(corpus, Tensor):
        if corpus.dtype.is_floating_point or corpus.dtype.is_complex or corpus.dtype == torch.bool:
            raise TypeError(f"corpus must hold integer token indices, got dtype {corpus.dtype}")
        tensor = corpus.to(torch.int64)
    else:
        try:
            tensor = torch.as_tensor(corpus, dtype=torch.int64)
        except (TypeError, ValueError, RuntimeError) as err:
            raise TypeError(
                f"corpus must be a list or 1-D tensor of integer token indices ({err})"
            ) from None
    if tensor.ndim != 1:
        raise ValueError(f"corpus must be 1-D, got shape {tuple(tensor.shape)}")
    return tensor


def _check(corpus: Sequence[int] | Tensor, batch_size: int, num_steps: int) -> Tensor:
    """Validate the arguments shared by both iterators; return the corpus as a tensor."""
    check_int("batch_size", batch_size)
    check_int("num_steps", num_steps)
    tensor = _as_corpus(corpus)
    needed = (batch_size + 1) * num_steps
    if len(tensor) < needed:
        raise ValueError(
            f"corpus has {len(tensor)} tokens, too short for one minibatch of batch_size="
            f"{batch_size} subsequences of num_steps={num_steps} at every start offset: "
            f"it needs at least (batch_size + 1) * num_steps = {needed}"
        )
    return tensor


def _offset(num_steps: int, generator: torch.Generator | None) -> int:
    """A random start offset in ``0 .. num_steps - 1``."""
    return int(torch.randint(num_steps, (1,), generator=generator))


def seq_data_iter_random(
    corpus: Sequence[int] | Tensor,
    batch_size: int,
    num_steps: int,
    generator: torch.Generator | None = None,
) -> Iterator[Batch]:
    """One epoch of minibatches of non-overlapping subsequences drawn in random order.

    The corpus is cut, after a random offset in ``0 .. num_steps - 1``, into consecutive
    subsequences of ``num_steps`` tokens; they are shuffled and grouped ``batch_size`` at a
    time. Each subsequence is used at most once per epoch (the leftover ones, fewer than
    ``batch_size``, are dropped).

    Args:
        corpus: ``T`` token indices, a list of ints or a 1-D integer tensor.
        batch_size: subsequences per minibatch, ``B``.
        num_steps: tokens per subsequence, ``S``.
        generator: the source of the offset and the order; ``None`` uses torch's global one.

    Returns:
        An iterator over ``(X, Y)``, both int64 of shape ``(B, S)``, with ``Y[:, j]`` the token
        that follows ``X[:, j]`` in the corpus.

    Raises:
        ValueError: if ``batch_size`` or ``num_steps`` is not a positive int, ``corpus`` is not
            1-D, or it has fewer than ``(B + 1) * S`` tokens (then some offset would give no
            minibatch).
        TypeError: if ``corpus`` does not hold integers.

    Source: d2l §9.3 (``seq_data_iter_random``), with a ``torch.Generator`` and tensor indexing.
    """
    tokens = _check(corpus, batch_size, num_steps)
    return _random_batches(tokens, batch_size, num_steps, generator)


def _random_batches(
    tokens: Tensor, batch_size: int, num_steps: int, generator: torch.Generator | None
) -> Iterator[Batch]:
    offset = _offset(num_steps, generator)
    num_subseqs = (len(tokens) - offset - 1) // num_steps
    starts = offset + num_steps * torch.randperm(num_subseqs, generator=generator)
    steps = torch.arange(num_steps)
    for i in range(num_subseqs // batch_size):
        positions = starts[i * batch_size : (i + 1) * batch_size, None] + steps  # (B, S)
        yield tokens[positions], tokens[positions + 1]


def seq_data_iter_sequential(
    corpus: Sequence[int] | Tensor,
    batch_size: int,
    num_steps: int,
    generator: torch.Generator | None = None,
) -> Iterator[Batch]:
    """One epoch of minibatches in which row ``i`` of each minibatch continues the previous one.

    After a random offset in ``0 .. num_steps - 1``, the longest stretch of the corpus that
    fills whole minibatches is split into ``B`` equal contiguous parts, one per row, and each
    part is read ``S`` tokens at a time. Every token of that stretch is a target exactly once
    per epoch; fewer than ``S + B * S`` tokens (the offset and the tail) are left out.

    Args:
        corpus: ``T`` token indices, a list of ints or a 1-D integer tensor.
        batch_size: rows per minibatch, ``B``.
        num_steps: tokens per row, ``S``.
        generator: the source of the offset; ``None`` uses torch's global one.

    Returns:
        An iterator over ``(X, Y)``, both int64 of shape ``(B, S)``, with ``Y[:, j]`` the token
        that follows ``X[:, j]``; ``X[i]`` of minibatch ``k + 1`` starts right after ``X[i]`` of
        minibatch ``k`` ends.

    Raises:
        ValueError: as :func:`seq_data_iter_random`.
        TypeError: if ``corpus`` does not hold integers.

    Source: d2l §9.3 (``seq_data_iter_sequential``), with a ``torch.Generator``, and the
    stretch cut to whole minibatches so that the targets cover it without gaps.
    """
    tokens = _check(corpus, batch_size, num_steps)
    return _sequential_batches(tokens, batch_size, num_steps, generator)


def _sequential_batches(
    tokens: Tensor, batch_size: int, num_steps: int, generator: torch.Generator | None
) -> Iterator[Batch]:
    offset = _offset(num_steps, generator)
    num_batches = (len(tokens) - offset - 1) // (batch_size * num_steps)
    num_tokens = num_batches * batch_size * num_steps
    Xs = tokens[offset : offset + num_tokens].reshape(batch_size, -1)
    Ys = tokens[offset + 1 : offset + 1 + num_tokens].reshape(batch_size, -1)
    for i in range(num_batches):
        cols = slice(i * num_steps, (i + 1) * num_steps)
        yield Xs[:, cols], Ys[:, cols]


class SeqDataLoader:
    """Minibatches of subsequences of a corpus; every ``for`` loop over it is a new epoch.

    Args:
        corpus: ``T`` token indices, a list of ints or a 1-D integer tensor.
        batch_size: ``B``.
        num_steps: ``S``.
        use_random_iter: random sampling (:func:`seq_data_iter_random`) if true, else
            sequential partitioning (:func:`seq_data_iter_sequential`).
        generator: the source of randomness; ``None`` uses torch's global one.

    Raises:
        ValueError, TypeError: as :func:`seq_data_iter_random`.

    Source: d2l §9.3 (``SeqDataLoader``).
    """

    def __init__(
        self,
        corpus: Sequence[int] | Tensor,
        batch_size: int,
        num_steps: int,
        use_random_iter: bool = False,
        generator: torch.Generator | None = None,
    ) -> None:
        self.corpus = _check(corpus, batch_size, num_steps)
        self.batch_size = batch_size
        self.num_steps = num_steps
        self.use_random_iter = use_random_iter
        self.generator = generator

    def __iter__(self) -> Iterator[Batch]:
        batches = _random_batches if self.use_random_iter else _sequential_batches
        return batches(self.corpus, self.batch_size, self.num_steps, self.generator)

    def __repr__(self) -> str:
        mode = "random" if self.use_random_iter else "sequential"
        return (
            f"SeqDataLoader({mode}, tokens={len(self.corpus)}, batch_size={self.batch_size}, "
            f"num_steps={self.num_steps})"
        )


def split_corpus(
    corpus: Sequence[int] | Tensor, held_out: float = 0.1
) -> tuple[Sequence[int] | Tensor, Sequence[int] | Tensor]:
    """Split a corpus into its first part, for training, and its last part, held out.

    The held-out part is the end of the text, not a random sample of positions: a model scored
    on it has never seen any of its sentences.

    Args:
        corpus: token indices, a list or a 1-D tensor of length ``T``.
        held_out: the held-out fraction, ``0 < held_out < 1``; it gets
            ``round(held_out * T)`` tokens.

    Returns:
        ``(train, held)``, slices of ``corpus`` (lists for a list, tensors for a tensor) of
        ``T - round(held_out * T)`` and ``round(held_out * T)`` tokens.

    Raises:
        TypeError: if ``held_out`` is not a number.
        ValueError: if ``held_out`` is not strictly between 0 and 1, or either part would be
            empty.

    Source: the honest evaluation of this book's issue #13 (d2l reports training perplexity).
    """
    if isinstance(held_out, bool) or not isinstance(held_out, (int, float)):
        raise TypeError(f"held_out must be a number, got {held_out!r}")
    if not 0 < held_out < 1:
        raise ValueError(f"held_out must be strictly between 0 and 1, got {held_out!r}")
    num_held = round(held_out * len(corpus))
    if num_held == 0 or num_held == len(corpus):
        raise ValueError(
            f"held_out={held_out} of a corpus of {len(corpus)} tokens leaves an empty part"
        )
    split = len(corpus) - num_held
    return corpus[:split], corpus[split:]


def load_data_time_machine(
    batch_size: int,
    num_steps: int,
    use_random_iter: bool = False,
    max_tokens: int = -1,
    held_out: float = 0.1,
) -> tuple[SeqDataLoader, Tensor, Vocab]:
    """The Time Machine, as character tokens, ready for a language model.

    Args:
        batch_size: ``B``, subsequences per minibatch.
        num_steps: ``S``, tokens per subsequence.
        use_random_iter: random sampling if true, else sequential partitioning.
        max_tokens: use only the first ``max_tokens`` characters of the book; ``-1``: all.
        held_out: the fraction at the end of the (truncated) book that is held out.

    Returns:
        ``(train_iter, held_out_tokens, vocab)``: a :class:`SeqDataLoader` over the first part
        that yields ``(X, Y)`` int64 of shape ``(B, S)`` (each ``for`` loop is a new epoch,
        drawn from torch's global generator), the held-out part as an int64 tensor of shape
        ``(T_held,)``, and the character vocabulary (28 entries).

    Raises:
        ValueError: as :func:`~d2lhelpers.text.load_corpus_time_machine`, :func:`split_corpus`
            and :func:`seq_data_iter_random`.
        DataSetNotFoundError: if the book cannot be found or downloaded.

    Source: d2l §9.3 (``load_data_time_machine``), with a held-out part.
    """
    corpus, vocab = load_corpus_time_machine(max_tokens, token="char")
    train, held = split_corpus(torch.tensor(corpus, dtype=torch.int64), held_out)
    train_iter = SeqDataLoader(train, batch_size, num_steps, use_random_iter)
    return train_iter, held, vocab
