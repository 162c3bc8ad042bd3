"""Tests of d2lhelpers.ngram: counting n-gram models with add-alpha smoothing."""

import math

import pytest
import torch

from d2lhelpers import NGramModel, load_corpus_time_machine, split_corpus

TOKENS = [0, 1, 2, 0, 1, 2, 0, 1, 3]


def test_smoothed_probabilities_count_the_context():
    bigram = NGramModel(TOKENS, n=2, vocab_size=4, alpha=1.0)
    # "0" is followed by "1" three times: (3 + 1) / (3 + 4)
    assert bigram.prob([2, 0], 1) == pytest.approx(4 / 7)
    assert bigram.prob([0], 3) == pytest.approx(1 / 7)
    assert bigram.prob([3], 0) == 1 / 4  # "3" never starts a bigram: the uniform row
    for context in ([0], [1], [3]):
        assert sum(bigram.prob(context, x) for x in range(4)) == pytest.approx(1)


def test_unigram_ignores_the_context():
    unigram = NGramModel(TOKENS, n=1, vocab_size=4, alpha=0.5)
    assert unigram.prob([], 3) == unigram.prob([0, 1, 2], 3) == pytest.approx(1.5 / 11)


def test_an_untrained_model_has_perplexity_vocab_size():
    uniform = NGramModel([], n=1, vocab_size=28)
    assert math.exp(uniform.cross_entropy(TOKENS, start=0)) == pytest.approx(28)


def test_cross_entropy_scores_from_start():
    trigram = NGramModel(TOKENS, n=3, vocab_size=4, alpha=0.1)
    expected = -sum(math.log(trigram.prob(TOKENS[t - 2 : t], TOKENS[t])) for t in range(4, 9)) / 5
    assert trigram.cross_entropy(TOKENS) == pytest.approx(expected)
    assert trigram.cross_entropy(torch.tensor(TOKENS)) == pytest.approx(expected)
    assert NGramModel(torch.tensor(TOKENS), 3, 4, 0.1).counts == trigram.counts


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n": 0}, ValueError, "n must be a positive int"),
        ({"vocab_size": 2.5}, ValueError, "vocab_size must be a positive int"),
        ({"alpha": 0}, ValueError, "alpha must be > 0"),
        ({"alpha": "1"}, TypeError, "alpha must be a number"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, message):
    with pytest.raises(error, match=message):
        NGramModel(TOKENS, **{"n": 2, "vocab_size": 4, **kwargs})


def test_start_must_leave_context_and_targets():
    trigram = NGramModel(TOKENS, n=3, vocab_size=4)
    with pytest.raises(ValueError, match="start must be an int in 2..8"):
        trigram.cross_entropy(TOKENS, start=1)
    with pytest.raises(ValueError, match="start must be an int in 2..8"):
        trigram.cross_entropy(TOKENS, start=9)


def test_the_book_baseline(from_shared_data):
    # the number notebook 03 chose on validation data and the RNN notebooks must beat
    corpus, vocab = load_corpus_time_machine()
    train, held_out = split_corpus(corpus)
    model = NGramModel(train, n=5, vocab_size=len(vocab), alpha=0.03)
    assert 4.45 < math.exp(model.cross_entropy(held_out)) < 4.55
