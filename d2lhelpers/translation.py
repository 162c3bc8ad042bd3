"""Machine-translation data: English–Chinese sentence pairs as padded index tensors (chapter 5).

The pipeline of d2l §10.5 (machine translation and the dataset), for the Tatoeba
English–Chinese pairs instead of English–French: read the pairs, preprocess the English side,
tokenize English by word and Chinese by character, hold out a fixed set of pairs, build one
vocabulary per language from the training pairs only, and truncate or pad every sentence to
``num_steps`` tokens, keeping its valid length. The encoder–decoder, seq2seq, BLEU and
beam-search notebooks reuse these pieces.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

import torch
from torch import Tensor

from .arrays import TensorLoader
from .datasets import get_data_path
from .text import Vocab
from .validation import check_int

PAD, BOS, EOS = "<pad>", "<bos>", "<eos>"
"""Padding, beginning-of-sequence and end-of-sequence tokens."""

RESERVED_TOKENS = (PAD, BOS, EOS)
"""The reserved tokens of both vocabularies: after ``<unk>`` (0) they get indices 1, 2, 3."""

_SPACE_BEFORE_PUNCTUATION = re.compile(r"(?<=\S)(?=[,.!?](?!\d))")
"""The empty positions where :func:`preprocess_eng` inserts a space."""

HELD_OUT = 2000
"""Default number of distinct English sentences held out (2,098 pairs, 7% of the file)."""


def _read_columns() -> list[list[str]]:
    """The file's lines split at tabs: ``[english, chinese, attribution]`` per pair."""
    # The file starts with a byte-order mark, which "utf-8-sig" removes, and ends with an
    # empty line.
    text = get_data_path("cmn-eng").read_text(encoding="utf-8-sig")
    return [line.split("\t") for line in text.split("\n") if line.strip()]


def read_cmn_eng() -> list[tuple[str, str]]:
    """The Tatoeba English–Chinese pairs, exactly as stored (29,155 for the book's file).

    Returns:
        ``(english, chinese)`` pairs in file order, from short to long sentences.

    Raises:
        DataSetNotFoundError: if the file cannot be found (see
            :func:`~d2lhelpers.datasets.get_data_path`).

    Source: d2l §10.5 (``MTFraEng._download``), with the Chinese file of manythings.org/anki.
    """
    return [(cols[0], cols[1]) for cols in _read_columns()]


def read_cmn_eng_attributions() -> list[str]:
    """The attribution of each pair (column 3 of the file), in the order of :func:`read_cmn_eng`.

    The pairs are licensed CC BY 2.0 FR: whoever redistributes them, or a model's output that
    copies them, must credit their authors, e.g. ``"CC-BY 2.0 (France) Attribution:
    tatoeba.org #538123 (CM) & #891077 (Martha)"``.
    """
    return [cols[2] for cols in _read_columns()]


def preprocess_eng(text: str) -> str:
    """Normalise one English sentence: ``"Hi."`` becomes ``"hi ."``.

    Non-breaking spaces become spaces, letters are lower-cased, and a space is inserted before
    each ``, . ! ?`` that follows a non-space character and is not followed by a digit (so that
    ``"10,000"`` and ``"3.5"`` stay one token). Applying it twice changes nothing more.

    Raises:
        TypeError: if ``text`` is not a string.

    Source: d2l §10.5 (``_preprocess``), with the digit exception added.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    text = text.replace("\u202f", " ").replace("\xa0", " ").lower()
    return _SPACE_BEFORE_PUNCTUATION.sub(" ", text)


def tokenize_eng(text: str) -> list[str]:
    """Word tokens of one English sentence: :func:`preprocess_eng`, then split at white space.

    Raises:
        TypeError: if ``text`` is not a string.
    """
    return preprocess_eng(text).split()


def tokenize_zh(text: str) -> list[str]:
    """Character tokens of one Chinese sentence; white space and zero-width spaces are dropped.

    Punctuation (``。``, ``？``) and any Latin letters or digits become tokens of their own.

    Raises:
        TypeError: if ``text`` is not a string.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return [ch for ch in text if not ch.isspace() and ch != "\u200b"]


def tokenize_cmn_eng(
    pairs: Sequence[tuple[str, str]],
) -> tuple[list[list[str]], list[list[str]]]:
    """Tokenize pairs: English by word (after :func:`preprocess_eng`), Chinese by character.

    Args:
        pairs: ``(english, chinese)`` pairs, e.g. from :func:`read_cmn_eng`.

    Returns:
        ``(source, target)``: ``source[i]`` are the word tokens of pair ``i``'s English
        sentence, ``target[i]`` the character tokens of its Chinese sentence.

    Raises:
        TypeError: if an item of ``pairs`` is not a pair of strings.

    Source: d2l §10.5 (``_tokenize``), with character tokens for Chinese.
    """
    source, target = [], []
    for pair in pairs:
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise TypeError(f"pairs must hold (english, chinese) pairs of strings, got {pair!r}")
        source.append(tokenize_eng(pair[0]))
        target.append(tokenize_zh(pair[1]))
    return source, target


def truncate_pad(indices: Sequence[int], num_steps: int, pad_index: int) -> list[int]:
    """Cut ``indices`` to ``num_steps`` items, or fill it up with ``pad_index`` to that length.

    Args:
        indices: token indices of one sentence.
        num_steps: the fixed length of every sequence in a minibatch.
        pad_index: the index of ``<pad>`` in the vocabulary.

    Returns:
        A list of exactly ``num_steps`` indices.

    Raises:
        ValueError: if ``num_steps`` is not a positive int or ``pad_index`` not an int >= 0.

    Source: d2l §10.5 (``truncate_pad``).
    """
    check_int("num_steps", num_steps)
    check_int("pad_index", pad_index, minimum=0)
    indices = list(indices)
    if len(indices) > num_steps:
        return indices[:num_steps]
    return indices + [pad_index] * (num_steps - len(indices))


def build_array_nmt(
    sentences: Sequence[list[str]], vocab: Vocab, num_steps: int
) -> tuple[Tensor, Tensor]:
    """Token lists to one index tensor: append ``<eos>``, then truncate or pad to ``num_steps``.

    Args:
        sentences: ``N`` token lists, e.g. the ``source`` of :func:`tokenize_cmn_eng`.
        vocab: a vocabulary with the reserved tokens ``<pad>`` and ``<eos>``.
        num_steps: the length ``T`` of every row.

    Returns:
        ``(array, valid_len)``: ``array`` of shape ``(N, T)`` and ``valid_len`` of shape
        ``(N,)``, both int64; ``valid_len[i]`` counts the tokens of row ``i`` that are not
        padding, ``<eos>`` included (a sentence cut at ``T`` has no ``<eos>``).

    Raises:
        ValueError: if ``vocab`` lacks ``<pad>`` or ``<eos>``, or ``num_steps`` is not a
            positive int.

    Source: d2l §10.5 (``build_array_nmt`` of the first edition).
    """
    check_int("num_steps", num_steps)
    for token in (PAD, EOS):
        if token not in vocab.token_to_idx:
            raise ValueError(f"vocab must contain the reserved token {token!r}")
    rows = [
        truncate_pad(vocab[tokens] + [vocab[EOS]], num_steps, vocab[PAD]) for tokens in sentences
    ]
    valid_len = [min(len(tokens) + 1, num_steps) for tokens in sentences]
    array = torch.tensor(rows, dtype=torch.int64).reshape(len(rows), num_steps)
    return array, torch.tensor(valid_len, dtype=torch.int64)


def split_pairs(
    pairs: Sequence[tuple[str, str]], held_out: int = HELD_OUT, seed: int = 0
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """A fixed random split into training and held-out pairs, grouped by English sentence.

    Many English sentences have several Chinese translations. All pairs whose English side is
    the same (after :func:`preprocess_eng`) go to the same side of the split, so a held-out
    English sentence was never seen in training. ``held_out`` distinct English sentences,
    drawn with ``random.Random(seed)``, are held out.

    Args:
        pairs: ``(english, chinese)`` pairs.
        held_out: how many distinct English sentences to hold out; on the book's file the
            default 2,000 gives 2,098 held-out pairs (7%) and leaves 27,057 (93%) for training,
            which matters on a data set this small.
        seed: the seed of the split; the same seed always gives the same split.

    Returns:
        ``(train_pairs, held_out_pairs)``, each in the order of ``pairs``; together they are
        ``pairs``.

    Raises:
        ValueError: if ``pairs`` has fewer than 2 distinct English sentences, or ``held_out``
            is not an int between 1 and their number minus 1.
        TypeError: if ``seed`` is not an int.
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {seed!r}")
    keys = [preprocess_eng(english) for english, _ in pairs]
    distinct = list(dict.fromkeys(keys))  # first-appearance order: independent of hashing
    if len(distinct) < 2:
        raise ValueError("pairs must hold at least 2 distinct English sentences to split")
    check_int("held_out", held_out, minimum=1, maximum=len(distinct) - 1)
    random.Random(seed).shuffle(distinct)
    held = set(distinct[:held_out])
    train = [pair for pair, key in zip(pairs, keys, strict=True) if key not in held]
    test = [pair for pair, key in zip(pairs, keys, strict=True) if key in held]
    return train, test


def load_data_cmn_eng(
    batch_size: int,
    num_steps: int,
    min_freq: int = 2,
    held_out: int = HELD_OUT,
    seed: int = 0,
    pairs: Sequence[tuple[str, str]] | None = None,
) -> tuple[TensorLoader, list[tuple[str, str]], Vocab, Vocab]:
    """Minibatches of English–Chinese training pairs, the held-out pairs and both vocabularies.

    Args:
        batch_size: pairs per minibatch ``B``.
        num_steps: the length ``T`` every sentence is truncated or padded to.
        min_freq: tokens seen fewer times in the training pairs map to ``<unk>``.
        held_out: distinct English sentences held out (see :func:`split_pairs`).
        seed: the seed of the split (the minibatch order follows torch's global generator).
        pairs: the pairs to use; defaults to :func:`read_cmn_eng`.

    Returns:
        ``(train_iter, held_out_pairs, src_vocab, tgt_vocab)``. ``train_iter`` yields
        ``(X, X_valid_len, Y, Y_valid_len)``, reshuffled every epoch: ``X`` English indices of
        shape ``(B, T)``, ``Y`` Chinese indices of shape ``(B, T)``, both ending in ``<eos>``
        then ``<pad>``, and valid lengths of shape ``(B,)``, all int64. ``held_out_pairs`` are
        raw ``(english, chinese)`` strings, never used for the vocabularies. Both vocabularies
        have ``<unk>``, ``<pad>``, ``<bos>``, ``<eos>`` at indices 0 to 3.

    Raises:
        ValueError: if ``batch_size`` or ``num_steps`` is not a positive int, ``min_freq`` not
            an int >= 0, or ``held_out`` out of range.
        DataSetNotFoundError: if ``pairs`` is not given and the file cannot be found.

    Source: d2l §10.5 (``load_data_nmt``), with a held-out split.
    """
    check_int("batch_size", batch_size)
    check_int("num_steps", num_steps)
    check_int("min_freq", min_freq, minimum=0)
    if pairs is None:
        pairs = read_cmn_eng()
    train_pairs, held_out_pairs = split_pairs(pairs, held_out, seed)
    source, target = tokenize_cmn_eng(train_pairs)
    src_vocab = Vocab(source, min_freq=min_freq, reserved_tokens=RESERVED_TOKENS)
    tgt_vocab = Vocab(target, min_freq=min_freq, reserved_tokens=RESERVED_TOKENS)
    X, X_valid_len = build_array_nmt(source, src_vocab, num_steps)
    Y, Y_valid_len = build_array_nmt(target, tgt_vocab, num_steps)
    train_iter = TensorLoader(X, X_valid_len, Y, Y_valid_len, batch_size=batch_size, shuffle=True)
    return train_iter, held_out_pairs, src_vocab, tgt_vocab
