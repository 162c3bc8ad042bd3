"""Text preprocessing: tokenize, Vocab, and The Time Machine's corpus."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from d2lhelpers.text import Vocab, load_corpus_time_machine, read_time_machine, tokenize

# "b" and "a" both occur twice, "c" once: the tie between "a" and "b" is broken alphabetically.
TOKENS = ["b", "c", "a", "b", "a"]


def test_tokenize_words_and_chars():
    assert tokenize("the time  machine\n") == ["the", "time", "machine"]
    assert tokenize("ab c", token="char") == ["a", "b", " ", "c"]
    assert "".join(tokenize("the time machine", "char")) == "the time machine"


def test_tokenize_rejects_bad_arguments():
    with pytest.raises(ValueError, match="token must be one of"):
        tokenize("abc", token="subword")
    with pytest.raises(TypeError, match="text must be a str"):
        tokenize(["a", "b"])


def test_vocab_order_unk_first_then_by_frequency_ties_alphabetical():
    vocab = Vocab(TOKENS)
    assert vocab.idx_to_token == ["<unk>", "a", "b", "c"]
    assert vocab.token_freqs == [("a", 2), ("b", 2), ("c", 1)]
    assert len(vocab) == 4 and vocab.unk == 0


def test_vocab_order_does_not_depend_on_input_order():
    assert Vocab(TOKENS).idx_to_token == Vocab(TOKENS[::-1]).idx_to_token


def test_vocab_round_trip_and_unknown_tokens():
    vocab = Vocab(TOKENS)
    indices = vocab[TOKENS]
    assert indices == [2, 3, 1, 2, 1]
    assert vocab.to_tokens(indices) == TOKENS
    assert vocab["zebra"] == 0 and vocab.to_tokens(0) == "<unk>"
    assert vocab[("a", "zebra")] == [1, 0]
    assert vocab[[["a"], ["b", "c"]]] == [[1], [2, 3]]


def test_vocab_to_tokens_accepts_tensors_and_arrays():
    vocab = Vocab(TOKENS)
    assert vocab.to_tokens(torch.tensor([1, 3])) == ["a", "c"]
    assert vocab.to_tokens(np.array([2])) == ["b"]
    assert vocab.to_tokens(torch.tensor(2)) == "b"


def test_vocab_to_tokens_rejects_bad_indices():
    vocab = Vocab(TOKENS)
    with pytest.raises(IndexError, match="outside the vocabulary"):
        vocab.to_tokens(4)
    with pytest.raises(IndexError, match="outside the vocabulary"):
        vocab.to_tokens([-1])
    with pytest.raises(TypeError, match="indices must be ints"):
        vocab.to_tokens(1.0)
    with pytest.raises(TypeError, match="indices must be ints"):
        vocab.to_tokens(True)


def test_vocab_getitem_rejects_other_types():
    with pytest.raises(TypeError, match="tokens must be a str, list or tuple"):
        Vocab(TOKENS)[3]


def test_vocab_from_list_of_lists():
    vocab = Vocab([["b", "c"], ["a", "b", "a"]])
    assert vocab.idx_to_token == Vocab(TOKENS).idx_to_token


def test_reserved_tokens_follow_unk():
    vocab = Vocab(TOKENS, reserved_tokens=["<pad>", "<bos>", "<eos>"])
    assert vocab.idx_to_token == ["<unk>", "<pad>", "<bos>", "<eos>", "a", "b", "c"]
    assert vocab[["<eos>", "a"]] == [3, 4]


def test_reserved_token_that_also_occurs_is_listed_once():
    vocab = Vocab(["<eos>", "a", "<eos>"], reserved_tokens=["<eos>"])
    assert vocab.idx_to_token == ["<unk>", "<eos>", "a"]
    assert vocab.token_freqs == [("<eos>", 2), ("a", 1)]


def test_min_freq_drops_rare_tokens_but_keeps_their_counts():
    vocab = Vocab(TOKENS, min_freq=2)
    assert vocab.idx_to_token == ["<unk>", "a", "b"]
    assert vocab["c"] == 0
    assert ("c", 1) in vocab.token_freqs
    assert Vocab(TOKENS, min_freq=3).idx_to_token == ["<unk>"]
    assert Vocab(["a"], min_freq=5, reserved_tokens=["<pad>"]).idx_to_token == ["<unk>", "<pad>"]


def test_empty_vocab_has_only_unk():
    vocab = Vocab()
    assert len(vocab) == 1 and vocab["anything"] == 0


@pytest.mark.parametrize("min_freq", [-1, 1.5, True, "2"])
def test_vocab_rejects_bad_min_freq(min_freq):
    with pytest.raises(ValueError, match="min_freq"):
        Vocab(TOKENS, min_freq=min_freq)


@pytest.mark.parametrize("reserved", [["<unk>"], ["<pad>", "<pad>"]])
def test_vocab_rejects_bad_reserved_tokens(reserved):
    with pytest.raises(ValueError, match="reserved_tokens"):
        Vocab(TOKENS, reserved_tokens=reserved)


@pytest.mark.parametrize("reserved", ["<pad>", [1]])
def test_vocab_rejects_reserved_tokens_that_are_not_strings(reserved):
    with pytest.raises(TypeError, match="reserved_tokens"):
        Vocab(TOKENS, reserved_tokens=reserved)


@pytest.mark.parametrize("tokens", ["abc", [("of", "the")], [1, 2], [["a", 1]]])
def test_vocab_rejects_tokens_that_are_not_strings(tokens):
    with pytest.raises(TypeError, match="tokens must be"):
        Vocab(tokens)


@pytest.mark.parametrize(("max_tokens", "error"), [(0, ValueError), (-2, ValueError)])
def test_load_corpus_rejects_bad_max_tokens(max_tokens, error):
    with pytest.raises(error, match="max_tokens"):
        load_corpus_time_machine(max_tokens=max_tokens)


def test_load_corpus_rejects_bad_token():
    with pytest.raises(ValueError, match="token must be one of"):
        load_corpus_time_machine(token="byte")


# --- the real book, from the shared data folder ---------------------------------------------


def test_read_time_machine(from_shared_data):
    text = read_time_machine()
    assert text.startswith("the time machine by h g wells ")
    assert set(text) == set("abcdefghijklmnopqrstuvwxyz ")
    assert "  " not in text
    assert len(text) == 173_428


def test_load_corpus_time_machine_chars_and_words(from_shared_data):
    corpus, vocab = load_corpus_time_machine()
    assert len(corpus) == 173_428 and len(vocab) == 28
    assert vocab.idx_to_token[:4] == ["<unk>", " ", "e", "t"]
    assert "".join(vocab.to_tokens(corpus)) == read_time_machine()

    words, word_vocab = load_corpus_time_machine(max_tokens=5, token="word")
    assert len(word_vocab) == 4_580 and word_vocab.token_freqs[0] == ("the", 2261)
    assert word_vocab.to_tokens(words) == ["the", "time", "machine", "by", "h"]
