"""RNNModel, detach_state, perplexity_on, predict and train_language_model."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from d2lhelpers import (
    LanguageModelHistory,
    RNNModel,
    SeqDataLoader,
    Vocab,
    detach_state,
    perplexity_on,
    predict,
    train_language_model,
)

V = 5


def small_model(seed: int = 0, layer: type[nn.RNNBase] = nn.RNN) -> RNNModel:
    torch.manual_seed(seed)
    return RNNModel(layer(V, 16, batch_first=True), V)


class Uniform(nn.Module):
    """A language model that gives every token the same probability."""

    def __init__(self) -> None:
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, X, state):
        return torch.zeros(*X.shape, V) + 0 * self.dummy, state

    def begin_state(self, batch_size, device="cpu"):
        return torch.zeros(batch_size, 1, device=device)


def toy_corpus(length: int = 600) -> torch.Tensor:
    """0 1 2 3 4 0 1 2 ...: the next token is always determined."""
    return torch.arange(length) % V


# --- RNNModel -------------------------------------------------------------------------------


def test_rnn_model_shapes_and_state():
    net = small_model()
    X = torch.randint(V, (3, 7))
    logits, state = net(X, net.begin_state(3))
    assert logits.shape == (3, 7, V) and state.shape == (1, 3, 16)


def test_rnn_model_lstm_state_is_a_pair():
    net = small_model(layer=nn.LSTM)
    state = net.begin_state(2)
    assert isinstance(state, tuple) and len(state) == 2
    logits, (h, c) = net(torch.randint(V, (2, 4)), state)
    assert logits.shape == (2, 4, V) and h.shape == c.shape == (1, 2, 16)


def test_rnn_model_bad_arguments():
    with pytest.raises(TypeError, match="rnn_layer"):
        RNNModel(nn.Linear(V, V), V)
    with pytest.raises(ValueError, match="input_size"):
        RNNModel(nn.RNN(V + 1, 4, batch_first=True), V)
    with pytest.raises(ValueError, match="batch_first"):
        RNNModel(nn.RNN(V, 4), V)


# --- detach_state ---------------------------------------------------------------------------


def test_detach_state_keeps_values_and_cuts_graph():
    w = torch.ones(2, requires_grad=True)
    h = w * 3
    for state in (h, (h, 2 * h)):
        detached = detach_state(state)
        parts = detached if isinstance(detached, tuple) else (detached,)
        originals = state if isinstance(state, tuple) else (state,)
        assert all(not p.requires_grad and torch.equal(p, o) for p, o in zip(parts, originals))
    with pytest.raises(TypeError, match="state"):
        detach_state([h])


# --- perplexity_on --------------------------------------------------------------------------


def test_uniform_model_has_perplexity_vocab_size():
    assert perplexity_on(Uniform(), toy_corpus(50), num_steps=7) == pytest.approx(V)


def test_perplexity_does_not_depend_on_chunk_size():
    net, tokens = small_model(), torch.randint(V, (101,))
    values = [perplexity_on(net, tokens, num_steps=n) for n in (1, 7, 35, 500)]
    assert max(values) - min(values) < 1e-4


def test_perplexity_scores_tokens_from_start():
    net, tokens = small_model(), torch.randint(V, (40,))
    state = net.begin_state(1)
    with torch.no_grad():
        logits, _ = net(tokens[None, :-1], state)
    nll = nn.functional.cross_entropy(logits[0], tokens[1:], reduction="none")
    for start in (1, 4, 10):
        expected = math.exp(float(nll[start - 1 :].mean()))
        assert perplexity_on(net, tokens, start=start, num_steps=6) == pytest.approx(expected)


def test_perplexity_leaves_training_mode():
    net = small_model()
    net.train()
    perplexity_on(net, toy_corpus(20))
    assert net.training


def test_perplexity_bad_arguments():
    net = small_model()
    with pytest.raises(ValueError, match="start"):
        perplexity_on(net, toy_corpus(10), start=10)
    with pytest.raises(ValueError, match="start"):
        perplexity_on(net, toy_corpus(10), start=0)
    with pytest.raises(ValueError, match="1-D"):
        perplexity_on(net, toy_corpus(10).reshape(2, 5))
    with pytest.raises(TypeError, match="integer"):
        perplexity_on(net, torch.zeros(10))
    with pytest.raises(ValueError, match="num_steps"):
        perplexity_on(net, toy_corpus(10), num_steps=0)
    with pytest.raises(TypeError, match="begin_state"):
        perplexity_on(nn.Linear(2, 2), toy_corpus(10))


# --- predict --------------------------------------------------------------------------------


def test_predict_length_and_prefix():
    vocab = Vocab(list("abcd"))  # <unk>, a, b, c, d: 5 entries
    assert len(vocab) == V
    text = predict("ab", 6, small_model(), vocab)
    generated = text[2:].replace("<unk>", "?")  # "<unk>" is one token of five characters
    assert text.startswith("ab") and len(generated) == 6
    assert predict("abc", 0, small_model(), vocab) == "abc"


def test_predict_bad_arguments():
    vocab = Vocab(list("abcd"))
    with pytest.raises(ValueError, match="prefix"):
        predict("", 3, small_model(), vocab)
    with pytest.raises(ValueError, match="num_preds"):
        predict("a", -1, small_model(), vocab)


# --- train_language_model -------------------------------------------------------------------


@pytest.mark.parametrize("random_iter", [False, True])
def test_training_learns_a_repeating_sequence(random_iter, capsys):
    net = small_model()
    before = perplexity_on(net, toy_corpus(60))
    loader = SeqDataLoader(toy_corpus(), 4, 10, use_random_iter=random_iter)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.05)
    history = train_language_model(
        net,
        loader,
        num_epochs=5,
        optimizer=optimizer,
        scheduler=torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5),
        device=torch.device("cpu"),
        held_out=toy_corpus(60),
        plot=False,
    )
    assert isinstance(history, LanguageModelHistory)
    assert len(history.train_ppl) == len(history.held_out_ppl) == 5
    assert before > 3 and history.train_ppl[-1] < 1.2
    assert history.held_out_ppl[-1] < 1.2
    assert history.tokens_trained > 0 and history.tokens_per_sec > 0
    assert "characters/s" in capsys.readouterr().out
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.05 / 2**5)  # stepped per epoch
    vocab = Vocab(list("abcd"))
    assert predict("abcd", 4, net, vocab) == "abcd<unk>abc"  # the corpus: 0 1 2 3 4 0 1 ...


class StateRecorder(nn.Module):
    """Records the state it is given; its own state is the sum of its inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.ones(()))
        self.seen: list[torch.Tensor] = []

    def forward(self, X, state):
        self.seen.append(state)
        new_state = state + self.w * X.sum(dim=1, keepdim=True).float()
        return torch.zeros(*X.shape, V) + new_state[..., None] * 0 + self.w, new_state

    def begin_state(self, batch_size, device="cpu"):
        return torch.zeros(batch_size, 1, device=device)


@pytest.mark.parametrize("carry", [True, False])
def test_state_carried_detached_or_reset(carry):
    net = StateRecorder()
    loader = SeqDataLoader(toy_corpus(), 4, 10)
    train_language_model(
        net, loader, 1, lr=0.0, device=torch.device("cpu"), carry_state=carry, plot=False
    )
    assert len(net.seen) > 2
    assert all(not s.requires_grad for s in net.seen)  # detached (or fresh)
    later_nonzero = [bool(s.abs().sum() > 0) for s in net.seen[1:]]
    assert all(later_nonzero) if carry else not any(later_nonzero)


def test_train_bad_arguments():
    net, loader = small_model(), SeqDataLoader(toy_corpus(), 4, 10)
    with pytest.raises(ValueError, match="exactly one"):
        train_language_model(net, loader, 1, plot=False)
    with pytest.raises(ValueError, match="num_epochs"):
        train_language_model(net, loader, 0, lr=1.0, plot=False)
    other = torch.optim.SGD(net.parameters(), lr=1.0)
    scheduler = torch.optim.lr_scheduler.StepLR(other, step_size=1)
    with pytest.raises(ValueError, match="scheduler"):
        train_language_model(
            net,
            loader,
            1,
            optimizer=torch.optim.SGD(net.parameters(), lr=1.0),
            scheduler=scheduler,
            plot=False,
        )
    with pytest.raises(ValueError, match="clip"):
        train_language_model(net, loader, 1, lr=1.0, clip=0.0, plot=False)
    with pytest.raises(TypeError, match="carry_state"):
        train_language_model(net, list(loader), 1, lr=1.0, plot=False)
    with pytest.raises(ValueError, match="no batches"):
        train_language_model(net, [], 1, lr=1.0, carry_state=True, plot=False)
