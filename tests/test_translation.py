"""Tests of d2lhelpers.translation: English–Chinese machine-translation data."""

from __future__ import annotations

import pytest
import torch

from d2lhelpers.text import Vocab
from d2lhelpers.translation import (
    RESERVED_TOKENS,
    build_array_nmt,
    load_data_cmn_eng,
    preprocess_eng,
    read_cmn_eng,
    read_cmn_eng_attributions,
    split_pairs,
    tokenize_cmn_eng,
    tokenize_eng,
    tokenize_zh,
    truncate_pad,
)

PAIRS = [
    ("Hi.", "嗨。"),
    ("Hi.", "你好。"),
    ("Run!", "跑！"),
    ("I won!", "我赢了！"),
    ("Who are you?", "你是谁？"),
    ("Tom is here.", "汤姆在这里。"),
    ("I owe him 1,000 dollars.", "我欠他1000美元。"),
    ("I like tea.", "我喜欢茶。"),
    ("I like you.", "我喜欢你。"),
    ("Are you Tom?", "你是汤姆吗？"),
]


def test_preprocess_eng():
    assert preprocess_eng("Hi.") == "hi ."
    assert preprocess_eng("Who are you?") == "who are you ?"
    assert preprocess_eng("Wait,\xa0what!") == "wait , what !"
    assert preprocess_eng("Go\u202fon.") == "go on ."
    assert preprocess_eng("I owe him 1,000 dollars.") == "i owe him 1,000 dollars ."
    assert preprocess_eng("It costs $3.50!") == "it costs $3.50 !"
    assert preprocess_eng("Hi .") == "hi ."  # no space added after a space
    assert preprocess_eng(preprocess_eng("Well... no?")) == preprocess_eng("Well... no?")


def test_tokenizers():
    assert tokenize_eng("Don't go, Tom!") == ["don't", "go", ",", "tom", "!"]
    assert tokenize_zh("我 喜欢\u200b茶。") == ["我", "喜", "欢", "茶", "。"]
    assert tokenize_zh("Tom来了") == ["T", "o", "m", "来", "了"]
    source, target = tokenize_cmn_eng(PAIRS[:3])
    assert source == [["hi", "."], ["hi", "."], ["run", "!"]]
    assert target == [["嗨", "。"], ["你", "好", "。"], ["跑", "！"]]


def test_tokenizers_reject_non_strings():
    with pytest.raises(TypeError, match="text"):
        preprocess_eng(None)
    with pytest.raises(TypeError, match="text"):
        tokenize_zh(["我"])
    with pytest.raises(TypeError, match="pairs"):
        tokenize_cmn_eng([("hi", "嗨", "attribution")])


def test_truncate_pad():
    assert truncate_pad([5, 6, 7], 5, 1) == [5, 6, 7, 1, 1]
    assert truncate_pad([5, 6, 7], 2, 1) == [5, 6]
    assert truncate_pad([5, 6], 2, 1) == [5, 6]
    assert truncate_pad([], 3, 0) == [0, 0, 0]
    with pytest.raises(ValueError, match="num_steps"):
        truncate_pad([1], 0, 1)
    with pytest.raises(ValueError, match="pad_index"):
        truncate_pad([1], 3, -1)


def test_build_array_nmt_valid_lengths():
    vocab = Vocab([["a", "b"], ["a"]], reserved_tokens=RESERVED_TOKENS)
    pad, eos = vocab["<pad>"], vocab["<eos>"]
    array, valid_len = build_array_nmt([["a", "b"], ["b"], ["a", "b", "a", "b"]], vocab, 4)
    assert array.shape == (3, 4) and array.dtype == torch.int64
    assert array.tolist() == [
        [vocab["a"], vocab["b"], eos, pad],
        [vocab["b"], eos, pad, pad],
        [vocab["a"], vocab["b"], vocab["a"], vocab["b"]],  # cut: no <eos> left
    ]
    assert valid_len.tolist() == [3, 2, 4]
    assert torch.equal(valid_len, (array != pad).sum(dim=1))
    with pytest.raises(ValueError, match="<pad>"):
        build_array_nmt([["a"]], Vocab([["a"]]), 4)


def test_split_pairs_is_a_fixed_partition_grouped_by_english():
    train, held = split_pairs(PAIRS, held_out=3, seed=0)
    assert sorted(train + held) == sorted(PAIRS)
    assert not set(train) & set(held)
    held_english = {preprocess_eng(e) for e, _ in held}
    assert len(held_english) == 3
    assert not held_english & {preprocess_eng(e) for e, _ in train}  # "Hi." never split
    assert [p for p in PAIRS if p in held] == held  # file order kept
    assert split_pairs(PAIRS, held_out=3, seed=0) == (train, held)
    others = {tuple(split_pairs(PAIRS, held_out=3, seed=s)[1]) for s in range(1, 6)}
    assert others - {tuple(held)}  # another seed gives another split


def test_split_pairs_errors():
    with pytest.raises(ValueError, match="held_out"):
        split_pairs(PAIRS, held_out=0)
    with pytest.raises(ValueError, match="held_out"):
        split_pairs(PAIRS, held_out=9)  # 9 distinct English sentences: at most 8
    with pytest.raises(TypeError, match="seed"):
        split_pairs(PAIRS, held_out=2, seed=1.5)
    with pytest.raises(ValueError, match="distinct"):
        split_pairs(PAIRS[:2], held_out=1)


def test_load_data_cmn_eng_vocab_from_training_pairs_only():
    torch.manual_seed(0)
    train_iter, held, src_vocab, tgt_vocab = load_data_cmn_eng(
        batch_size=4, num_steps=6, min_freq=1, held_out=3, pairs=PAIRS
    )
    train, _ = split_pairs(PAIRS, held_out=3)
    assert len(held) == len(PAIRS) - len(train)
    for vocab in (src_vocab, tgt_vocab):
        assert vocab.idx_to_token[:4] == ["<unk>", "<pad>", "<bos>", "<eos>"]
    source, target = tokenize_cmn_eng(train)
    assert set(src_vocab.idx_to_token[4:]) == {t for s in source for t in s}
    assert set(tgt_vocab.idx_to_token[4:]) == {t for s in target for t in s}
    batches = list(train_iter)
    assert sum(len(b[0]) for b in batches) == len(train)
    X, X_valid_len, Y, Y_valid_len = batches[0]
    assert X.shape == (4, 6) and Y.shape == (4, 6) and X_valid_len.shape == (4,)
    assert torch.equal(Y_valid_len, (Y != tgt_vocab["<pad>"]).sum(dim=1))
    eos_rows, eos_cols = (Y == tgt_vocab["<eos>"]).nonzero(as_tuple=True)
    assert torch.equal(eos_cols, Y_valid_len[eos_rows] - 1)  # <eos> ends each sentence


def test_load_data_cmn_eng_errors():
    for name, kwargs in [
        ("batch_size", {"batch_size": 0, "num_steps": 5}),
        ("num_steps", {"batch_size": 2, "num_steps": -1}),
        ("min_freq", {"batch_size": 2, "num_steps": 5, "min_freq": -1}),
    ]:
        with pytest.raises(ValueError, match=name):
            load_data_cmn_eng(**kwargs, pairs=PAIRS)


def test_real_file(from_shared_data):
    pairs = read_cmn_eng()
    assert len(pairs) == 29_155
    assert pairs[0] == ("Hi.", "嗨。")  # the byte-order mark is gone
    attributions = read_cmn_eng_attributions()
    assert len(attributions) == len(pairs)
    assert all(a.startswith("CC-BY 2.0 (France) Attribution: tatoeba.org #") for a in attributions)
    train, held = split_pairs(pairs)
    assert len(train) + len(held) == len(pairs)
    assert len({preprocess_eng(e) for e, _ in held}) == 2000
    assert (len(train), len(held)) == (27_057, 2_098)
    train_iter, held2, src_vocab, tgt_vocab = load_data_cmn_eng(batch_size=64, num_steps=10)
    assert held2 == held
    X, X_valid_len, Y, Y_valid_len = next(iter(train_iter))
    assert X.shape == Y.shape == (64, 10)
    assert 4_000 < len(src_vocab) < 5_000 and 2_000 < len(tgt_vocab) < 3_000
