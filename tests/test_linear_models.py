"""Unit tests of d2lhelpers.linear_models."""

import pytest
import torch

import d2lhelpers as d2l


def test_data_iter_keep_drop_pad():
    X, y = torch.arange(10.0).reshape(10, 1), torch.arange(10)
    sizes = {
        mode: [len(b[1]) for b in d2l.data_iter(4, X, y, mode)] for mode in ("keep", "drop", "pad")
    }
    assert sizes == {"keep": [4, 4, 2], "drop": [4, 4], "pad": [4, 4, 4]}
    seen = torch.cat([b[1] for b in d2l.data_iter(4, X, y)])
    assert sorted(seen.tolist()) == list(range(10))
    batches = list(d2l.data_iter(4, X, y, "pad"))
    assert torch.equal(batches[0][0].squeeze(1).long(), batches[0][1])  # rows stay paired


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(batch_size=0), "batch_size must be a positive int"),
        (dict(batch_size=2.0), "batch_size must be a positive int"),
        (dict(batch_size=True), "batch_size must be a positive int"),
        (dict(last_batch="wrap"), "last_batch must be one of"),
        (dict(labels=torch.zeros(3)), "features and labels must have the same length"),
    ],
)
def test_data_iter_bad_input(kwargs, message):
    args = dict(batch_size=2, features=torch.zeros(4, 1), labels=torch.zeros(4)) | kwargs
    with pytest.raises(ValueError, match=message):
        next(d2l.data_iter(**args))


def test_linreg_and_squared_loss():
    X, w, b = (
        torch.tensor([[1.0, 2.0], [3.0, 4.0]]),
        torch.tensor([[1.0], [-1.0]]),
        torch.tensor(0.5),
    )
    y_hat = d2l.linreg(X, w, b)
    assert torch.allclose(y_hat, torch.tensor([[-0.5], [-0.5]]))
    loss = d2l.squared_loss(y_hat, torch.tensor([0.5, 1.5]))
    assert loss.shape == (2, 1)
    assert torch.allclose(loss, torch.tensor([[0.5], [2.0]]))


def test_linreg_bad_input():
    with pytest.raises(ValueError, match="X must"):
        d2l.linreg(torch.zeros(3), torch.zeros(3, 1), torch.zeros(1))
    with pytest.raises(ValueError, match="w must"):
        d2l.linreg(torch.zeros(2, 3), torch.zeros(2, 1), torch.zeros(1))
    with pytest.raises(ValueError, match="same number"):
        d2l.squared_loss(torch.zeros(2, 1), torch.zeros(3))


def test_sgd_step_and_zeroes_grad():
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    (w**2).sum().backward()  # grad = 2w
    d2l.sgd([w], lr=0.5, batch_size=2)
    assert torch.allclose(w.detach(), torch.tensor([0.5, 1.0]))
    assert torch.equal(w.grad, torch.zeros(2))


def test_sgd_bad_input():
    w = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="no gradient"):
        d2l.sgd([w], lr=0.1, batch_size=1)
    w.sum().backward()
    with pytest.raises(ValueError, match="lr"):
        d2l.sgd([w], lr=0.0, batch_size=1)
    with pytest.raises(ValueError, match="batch_size"):
        d2l.sgd([w], lr=0.1, batch_size=0)


def test_softmax_stable_and_matches_torch():
    X = torch.tensor([[1.0, 2.0, 3.0], [1000.0, 1000.0, 0.0]])
    P = d2l.softmax(X)
    assert torch.isfinite(P).all()
    assert torch.allclose(P, torch.softmax(X, dim=1))
    assert torch.allclose(P.sum(dim=1), torch.ones(2))
    with pytest.raises(ValueError, match=r"X must have shape \(n, q\)"):
        d2l.softmax(torch.zeros(3))


def test_cross_entropy():
    y_hat = torch.tensor([[0.1, 0.3, 0.6], [0.3, 0.2, 0.5]])
    y = torch.tensor([0, 2])
    loss = d2l.cross_entropy(y_hat, y)
    assert torch.allclose(loss, -torch.log(torch.tensor([0.1, 0.5])))
    logits = torch.randn(5, 4)
    labels = torch.tensor([0, 1, 2, 3, 0])
    expected = torch.nn.functional.cross_entropy(logits, labels, reduction="none")
    assert torch.allclose(d2l.cross_entropy(d2l.softmax(logits), labels), expected, atol=1e-6)


def test_cross_entropy_bad_input():
    with pytest.raises(ValueError, match="y_hat must"):
        d2l.cross_entropy(torch.ones(2, 3) / 3, torch.tensor([0]))
    with pytest.raises(ValueError, match="labels"):
        d2l.cross_entropy(torch.ones(2, 3) / 3, torch.tensor([0, 3]))
