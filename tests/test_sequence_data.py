"""Minibatches of subsequences: shapes, the shift by one, coverage, reproducibility, errors."""

from __future__ import annotations

import pytest
import torch

from d2lhelpers.sequence_data import (
    SeqDataLoader,
    load_data_time_machine,
    seq_data_iter_random,
    seq_data_iter_sequential,
    split_corpus,
)

ITERATORS = [seq_data_iter_random, seq_data_iter_sequential]
# A corpus whose token at position t is t, so a token's value is its position.
CORPUS = list(range(103))


def epoch(iterator, corpus=CORPUS, batch_size=3, num_steps=5, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return list(iterator(corpus, batch_size, num_steps, generator=generator))


@pytest.mark.parametrize("iterator", ITERATORS)
def test_shapes_dtype_and_shift_by_one(iterator):
    batches = epoch(iterator)
    assert batches
    for X, Y in batches:
        assert X.shape == Y.shape == (3, 5)
        assert X.dtype == Y.dtype == torch.int64
        assert torch.equal(Y, X + 1)  # the label is the next token
        assert torch.equal(X[:, 1:] - X[:, :-1], torch.ones(3, 4, dtype=torch.int64))


def test_sequential_every_position_of_the_used_range_is_a_target_once():
    for seed in range(20):
        batches = epoch(seq_data_iter_sequential, seed=seed)
        targets = torch.cat([Y.flatten() for _, Y in batches]).sort().values
        first = int(targets[0])
        assert 1 <= first <= 5  # the offset is in 0..num_steps-1
        assert torch.equal(targets, torch.arange(first, first + len(targets)))  # no gap, no repeat
        assert len(CORPUS) - len(targets) < 5 + 3 * 5


def test_sequential_rows_continue_across_minibatches():
    batches = epoch(seq_data_iter_sequential)
    for (X0, _), (X1, _) in zip(batches, batches[1:]):
        assert torch.equal(X1[:, 0], X0[:, -1] + 1)


def test_random_every_subsequence_start_at_most_once_and_aligned():
    for seed in range(20):
        batches = epoch(seq_data_iter_random, seed=seed)
        starts = torch.cat([X[:, 0] for X, _ in batches])
        assert len(set(starts.tolist())) == len(starts)
        assert len({s % 5 for s in starts.tolist()}) == 1  # one offset per epoch
        assert len(starts) == ((len(CORPUS) - int(starts.min() % 5) - 1) // 5) // 3 * 3


def test_offsets_change_between_epochs():
    firsts = {int(epoch(seq_data_iter_sequential, seed=s)[0][0][0, 0]) for s in range(30)}
    assert firsts == set(range(5))


@pytest.mark.parametrize("iterator", ITERATORS)
def test_reproducible_with_a_generator(iterator):
    a, b, c = epoch(iterator, seed=1), epoch(iterator, seed=1), epoch(iterator, seed=2)
    assert all(torch.equal(x, y) for (x, _), (y, _) in zip(a, b))
    assert len(a) != len(c) or not all(torch.equal(x, y) for (x, _), (y, _) in zip(a, c))


@pytest.mark.parametrize("iterator", ITERATORS)
def test_accepts_tensors(iterator):
    a = epoch(iterator, corpus=torch.arange(103, dtype=torch.int32))
    b = epoch(iterator)
    assert all(torch.equal(x, y) for (x, _), (y, _) in zip(a, b))


@pytest.mark.parametrize("iterator", ITERATORS)
def test_rejects_bad_arguments_when_called(iterator):
    with pytest.raises(ValueError, match="batch_size"):
        iterator(CORPUS, 0, 5)
    with pytest.raises(ValueError, match="num_steps"):
        iterator(CORPUS, 2, 2.5)
    with pytest.raises(ValueError, match="corpus must be 1-D"):
        iterator(torch.zeros(10, 10, dtype=torch.int64), 2, 3)
    with pytest.raises(TypeError, match="corpus"):
        iterator(torch.zeros(100), 2, 3)
    with pytest.raises(TypeError, match="corpus"):
        iterator(["a"] * 100, 2, 3)


@pytest.mark.parametrize("iterator", ITERATORS)
def test_corpus_too_short(iterator):
    with pytest.raises(ValueError, match=r"too short .* at least \(batch_size \+ 1\) \* num_steps"):
        iterator(list(range(19)), 3, 5)
    for seed in range(20):  # the shortest allowed corpus gives a minibatch at every offset
        assert epoch(iterator, corpus=list(range(20)), seed=seed)


def test_loader_is_reiterable_and_new_each_epoch():
    loader = SeqDataLoader(CORPUS, 3, 5, generator=torch.Generator().manual_seed(0))
    firsts = [int(next(iter(loader))[0][0, 0]) for _ in range(20)]
    assert len(set(firsts)) > 1
    random_loader = SeqDataLoader(CORPUS, 3, 5, use_random_iter=True)
    assert all(X.shape == (3, 5) for X, _ in random_loader)
    assert "random" in repr(random_loader)


def test_split_corpus():
    train, held = split_corpus(list(range(10)))
    assert train == list(range(9)) and held == [9]
    train, held = split_corpus(torch.arange(1000), held_out=0.25)
    assert torch.equal(train, torch.arange(750)) and torch.equal(held, torch.arange(750, 1000))


def test_split_corpus_rejects_bad_fractions():
    for bad in (0, 1, -0.1, 1.5):
        with pytest.raises(ValueError, match="held_out"):
            split_corpus(CORPUS, bad)
    with pytest.raises(TypeError, match="held_out"):
        split_corpus(CORPUS, "0.1")
    with pytest.raises(ValueError, match="empty part"):
        split_corpus([1, 2, 3], 0.1)


def test_load_data_time_machine(from_shared_data):
    train_iter, held, vocab = load_data_time_machine(4, 10, max_tokens=1000)
    assert len(vocab) == 28 and held.dtype == torch.int64 and held.shape == (100,)
    assert train_iter.corpus.shape == (900,)
    X, Y = next(iter(train_iter))
    assert X.shape == Y.shape == (4, 10)
    assert not train_iter.use_random_iter
    assert load_data_time_machine(4, 10, use_random_iter=True)[0].use_random_iter
