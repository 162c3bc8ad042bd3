"""Text preprocessing: read a book, split it into tokens, map tokens to indices (chapter 5).

The pipeline of d2l §9.2 (text sequence data): read the raw text, split it into **tokens**
(characters or words), build a :class:`Vocab` that maps every token to an integer index, and
turn the text into a list of indices (the corpus). The language-model, RNN and
machine-translation notebooks reuse these pieces.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any, overload

from .datasets import get_data_path
from .validation import check_int

TOKEN_KINDS = ("word", "char")
"""What :func:`tokenize` can split into."""

UNK = "<unk>"
"""The unknown token; it always has index 0 in a :class:`Vocab`."""


def read_time_machine() -> str:
    """H. G. Wells' *The Time Machine* as one lower-case string of letters and single spaces.

    Every run of characters that are not ASCII letters (digits, punctuation, line breaks) is
    replaced by one space and the text is lower-cased: the simplification of d2l §9.2, which
    lets the book's language models work with 26 letters and the space.

    Returns:
        The preprocessed text, about 173,000 characters.

    Raises:
        DataSetNotFoundError: if the file cannot be found or downloaded (see
            :func:`~d2lhelpers.datasets.get_data_path`).

    Source: d2l §9.2 (``TimeMachine._preprocess``).
    """
    raw = get_data_path("time-machine").read_text(encoding="utf-8")
    return re.sub("[^A-Za-z]+", " ", raw).lower()


def tokenize(text: str, token: str = "word") -> list[str]:
    """Split ``text`` into word tokens (on white space) or character tokens (spaces included).

    Args:
        text: the text, e.g. from :func:`read_time_machine`.
        token: ``"word"`` or ``"char"``.

    Returns:
        The tokens in order; for ``"char"``, ``"".join(tokens) == text``.

    Raises:
        TypeError: if ``text`` is not a string.
        ValueError: if ``token`` is neither ``"word"`` nor ``"char"``.

    Source: d2l §9.2 (tokenization).
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if token == "word":
        return text.split()
    if token == "char":
        return list(text)
    raise ValueError(f"token must be one of {TOKEN_KINDS}, got {token!r}")


def _flatten(tokens: Iterable[Any]) -> list[str]:
    """A flat list of string tokens from a flat list or a list of lists of strings."""
    flat = []
    for item in tokens:
        if isinstance(item, str):
            flat.append(item)
        elif isinstance(item, list) and all(isinstance(t, str) for t in item):
            flat.extend(item)
        else:
            raise TypeError(
                "tokens must be a list of strings or a list of lists of strings, got an item "
                f"{item!r}; join an n-gram into one string first, e.g. ' '.join(pair)"
            )
    return flat


class Vocab:
    """A vocabulary: maps each token to an index and back.

    Index 0 is ``"<unk>"`` (:data:`UNK`), then come ``reserved_tokens`` in the order given,
    then every token that occurs at least ``min_freq`` times, most frequent first, ties in
    alphabetical order. The order depends only on the tokens, never on hashing or dict
    order, so two runs build the same indices.

    Args:
        tokens: a flat list of tokens, or a list of lists (one per line or sentence).
        min_freq: tokens seen fewer times are left out and map to ``<unk>``.
        reserved_tokens: tokens that get indices whatever their frequency, e.g.
            ``["<pad>", "<bos>", "<eos>"]`` for machine translation.

    Attributes:
        idx_to_token: ``idx_to_token[i]`` is the token with index ``i``.
        token_to_idx: the inverse mapping.
        token_freqs: ``(token, count)`` for every distinct token of ``tokens``, kept or not,
            sorted by count (descending), ties alphabetically.

    Raises:
        TypeError: if ``tokens`` is not a list of strings or of lists of strings (a tuple
            such as an n-gram is not a token: join it into one string), or
            ``reserved_tokens`` holds anything but strings.
        ValueError: if ``min_freq`` is not an int >= 0, or ``reserved_tokens`` contains
            ``"<unk>"`` or a duplicate.

    Source: d2l §9.2 (``Vocab``), with a deterministic tie order.
    """

    def __init__(
        self,
        tokens: Iterable[Any] = (),
        min_freq: int = 0,
        reserved_tokens: Sequence[str] = (),
    ) -> None:
        check_int("min_freq", min_freq, minimum=0)
        if isinstance(tokens, str):
            raise TypeError("tokens must be a list of tokens, not one string (call tokenize)")
        if isinstance(reserved_tokens, str) or not all(isinstance(t, str) for t in reserved_tokens):
            raise TypeError(f"reserved_tokens must be a list of strings, got {reserved_tokens!r}")
        if UNK in reserved_tokens or len(set(reserved_tokens)) != len(reserved_tokens):
            raise ValueError(
                f"reserved_tokens must be distinct and must not contain {UNK!r} "
                f"(it is always index 0), got {list(reserved_tokens)!r}"
            )
        counts = Counter(_flatten(tokens))
        self.token_freqs: list[tuple[str, int]] = sorted(
            counts.items(), key=lambda item: (-item[1], item[0])
        )
        self.idx_to_token: list[str] = [UNK, *reserved_tokens]
        taken = set(self.idx_to_token)
        self.idx_to_token += [
            t for t, freq in self.token_freqs if freq >= min_freq and t not in taken
        ]
        self.token_to_idx: dict[str, int] = {t: i for i, t in enumerate(self.idx_to_token)}

    def __len__(self) -> int:
        """The number of indices, ``<unk>`` and the reserved tokens included."""
        return len(self.idx_to_token)

    @overload
    def __getitem__(self, tokens: str) -> int: ...

    @overload
    def __getitem__(self, tokens: list | tuple) -> list: ...

    def __getitem__(self, tokens: str | list | tuple) -> int | list:
        """The index of a token (0 if unknown), or a list of indices for a list or tuple of
        tokens (nested lists give nested lists).

        Raises:
            TypeError: if ``tokens`` is neither a string nor a list or tuple.
        """
        if isinstance(tokens, str):
            return self.token_to_idx.get(tokens, 0)
        if isinstance(tokens, (list, tuple)):
            return [self[t] for t in tokens]
        raise TypeError(f"tokens must be a str, list or tuple, got {type(tokens).__name__}")

    def to_tokens(self, indices: Any) -> str | list[str]:
        """The token of an index, or the list of tokens of a sequence of indices.

        Args:
            indices: an int, a list or tuple of ints, or a tensor/array of shape ``()`` or
                ``(n,)`` with integer dtype.

        Raises:
            TypeError: if an index is not an integer.
            IndexError: if an index is outside ``0 .. len(self) - 1``.
        """
        if hasattr(indices, "tolist"):  # torch.Tensor, numpy array
            indices = indices.tolist()
        if isinstance(indices, (list, tuple)):
            return [self.to_tokens(i) for i in indices]  # type: ignore[misc]
        if isinstance(indices, bool) or not isinstance(indices, int):
            raise TypeError(f"indices must be ints, got {indices!r}")
        if not 0 <= indices < len(self):
            raise IndexError(f"index {indices} is outside the vocabulary (0..{len(self) - 1})")
        return self.idx_to_token[indices]

    @property
    def unk(self) -> int:
        """The index of ``<unk>``: always 0."""
        return 0

    def __repr__(self) -> str:
        return f"Vocab(size={len(self)}, first={self.idx_to_token[:5]})"


def load_corpus_time_machine(max_tokens: int = -1, token: str = "char") -> tuple[list[int], Vocab]:
    """The Time Machine as a list of token indices, and its vocabulary.

    Args:
        max_tokens: keep only the first ``max_tokens`` indices; ``-1`` keeps all. The
            vocabulary is always built from the whole book.
        token: ``"char"`` (the default: 28 indices, ``<unk>``, space and 26 letters) or
            ``"word"``.

    Returns:
        ``(corpus, vocab)`` with ``vocab.to_tokens(corpus)`` equal to the book's tokens.

    Raises:
        ValueError: if ``max_tokens`` is neither -1 nor a positive int, or ``token`` is
            not ``"word"`` or ``"char"``.
        DataSetNotFoundError: as :func:`read_time_machine`.

    Source: d2l §9.2 (``load_corpus_time_machine``).
    """
    if max_tokens != -1:
        check_int("max_tokens", max_tokens)
    if token not in TOKEN_KINDS:
        raise ValueError(f"token must be one of {TOKEN_KINDS}, got {token!r}")
    tokens = tokenize(read_time_machine(), token)
    vocab = Vocab(tokens)
    corpus = vocab[tokens]
    if max_tokens > 0:
        corpus = corpus[:max_tokens]
    return corpus, vocab
