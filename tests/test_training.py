"""accuracy, evaluate_accuracy and train_classifier."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from d2lhelpers import TensorLoader, TrainingHistory, accuracy, evaluate_accuracy, training
from d2lhelpers import train_classifier as train


def separable(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Two classes split by the line x0 + x1 = 0, with a margin."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(3 * n, 2, generator=g)
    score = X.sum(dim=1)
    X = X[score.abs() > 0.3][:n]
    return X, (X.sum(dim=1) > 0).long()


@pytest.fixture
def problem():
    torch.manual_seed(0)
    train_iter = TensorLoader(*separable(400, 1), batch_size=32, shuffle=True)
    test_iter = TensorLoader(*separable(200, 2), batch_size=64)
    return nn.Linear(2, 2), train_iter, test_iter


# --- accuracy -------------------------------------------------------------------------------


def test_accuracy_of_logits():
    y_hat = torch.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [2.0, -1.0]])
    y = torch.tensor([1, 1, 1, 0])
    assert accuracy(y_hat, y) == 3
    assert isinstance(accuracy(y_hat, y), int)


def test_accuracy_of_three_classes():
    y_hat = torch.tensor([[0.1, 0.3, 0.6], [0.5, 0.2, 0.3], [0.2, 0.5, 0.3]])
    assert accuracy(y_hat, torch.tensor([2, 2, 1])) == 2
    assert accuracy(y_hat, torch.tensor([0, 0, 0])) == 1


def test_accuracy_of_predicted_labels():
    assert accuracy(torch.tensor([0, 2, 1, 1]), torch.tensor([0, 1, 1, 1])) == 3
    assert accuracy(torch.tensor([0.0, 2.0]), torch.tensor([0, 2])) == 2  # float predictions
    assert accuracy(torch.tensor([], dtype=torch.long), torch.tensor([], dtype=torch.long)) == 0


# --- evaluate_accuracy ----------------------------------------------------------------------


def fixed_net() -> nn.Module:
    """Predicts class 1 exactly when the first feature is positive."""
    net = nn.Linear(2, 2)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[-1.0, 0.0], [1.0, 0.0]]))
        net.bias.zero_()
    return net


def test_evaluate_accuracy_over_several_batches():
    X = torch.tensor([[1.0, 5], [2, 5], [-1, 5], [-3, 5], [4, 5]])
    y = torch.tensor([1, 0, 0, 1, 1])  # predictions: 1, 1, 0, 0, 1 -> 3 of 5 right
    net = fixed_net()
    net.train()
    batches = [(X[:2], y[:2]), (X[2:], y[2:])]
    assert evaluate_accuracy(net, batches) == pytest.approx(3 / 5)
    assert not net.training  # left in evaluation mode
    assert evaluate_accuracy(net, TensorLoader(X, y, batch_size=4), torch.device("cpu")) == 0.6


def test_evaluate_accuracy_uses_eval_mode_and_no_grad():
    seen = []

    class Probe(nn.Module):
        def forward(self, X):
            seen.append((self.training, torch.is_grad_enabled()))
            return torch.zeros(len(X), 2)

    assert evaluate_accuracy(Probe(), [(torch.zeros(3, 1), torch.tensor([0, 1, 0]))]) == 2 / 3
    assert seen == [(False, False)]


def test_evaluate_accuracy_empty_iterator_raises():
    with pytest.raises(ValueError, match=r"evaluate_accuracy\(data_iter\): data_iter yielded no"):
        evaluate_accuracy(fixed_net(), [])
    with pytest.raises(ValueError, match="data_iter"):
        evaluate_accuracy(fixed_net(), iter(()))


# --- train_classifier ----------------------------------------------------------------------


def test_training_learns_a_separable_problem(problem, default_mode, capsys):
    net, train_iter, test_iter = problem
    history = train(net, train_iter, test_iter, num_epochs=5, lr=0.5, plot=False)
    assert isinstance(history, TrainingHistory)
    for values in (history.train_loss, history.train_acc, history.test_acc):
        assert len(values) == 5
    assert history.examples_trained == 5 * sum(len(y) for _, y in train_iter)
    assert history.seconds > 0
    assert history.examples_per_sec == history.examples_trained / history.seconds
    assert history.train_loss[-1] < history.train_loss[0] / 2
    assert history.train_acc[-1] > 0.95
    assert history.test_acc[-1] > 0.95
    assert history.test_acc[-1] == evaluate_accuracy(net, test_iter)
    out = capsys.readouterr().out
    assert f"test acc {history.test_acc[-1]:.3f}" in out
    assert f"{history.examples_per_sec:,.0f} examples/s on cpu" in out
    assert f"{history.examples_trained:,} training examples in" in out
    assert f"{history.seconds / 5:.1f} s per epoch" in out


def test_training_with_an_optimizer_and_a_custom_loss(problem, default_mode):
    net, train_iter, test_iter = problem
    calls = []

    def loss(y_hat, y):
        calls.append(len(y))
        return nn.functional.cross_entropy(y_hat, y)

    optimizer = torch.optim.Adam(net.parameters(), lr=0.05)
    history = train(
        net,
        train_iter,
        test_iter,
        3,
        optimizer=optimizer,
        loss=loss,
        plot=False,
        device=torch.device("cpu"),
    )
    assert sum(calls) == 3 * train_iter.num_examples
    assert history.test_acc[-1] > 0.95
    assert next(net.parameters()).device == torch.device("cpu")


def test_train_loss_is_the_example_weighted_mean(default_mode):
    X, y = torch.zeros(5, 2), torch.tensor([0, 1, 0, 1, 1])
    net = nn.Linear(2, 2)
    net.weight.data.zero_()
    net.bias.data.zero_()
    # lr = 0 keeps the logits at zero: every example has loss log(2), accuracy of class 0 = 2/5.
    history = train(net, TensorLoader(X, y, batch_size=2), [(X, y)], 1, lr=0.0, plot=False)
    assert history.train_loss == [pytest.approx(torch.log(torch.tensor(2.0)).item())]
    assert history.train_acc == [pytest.approx(2 / 5)]
    assert history.test_acc == [pytest.approx(2 / 5)]


def test_reduced_mode_caps_the_epochs(problem, monkeypatch, capsys):
    monkeypatch.setenv("D2L_REDUCED", "1")
    net, train_iter, test_iter = problem
    history = train(net, train_iter, test_iter, num_epochs=7, lr=0.5, plot=False)
    assert len(history.train_loss) == len(history.test_acc) == 2
    assert "reduced mode (D2L_REDUCED=1): training 2 of 7 epochs" in capsys.readouterr().err


def test_max_epochs_overrides_the_environment(problem, monkeypatch, capsys):
    monkeypatch.setenv("D2L_REDUCED", "1")
    net, train_iter, test_iter = problem
    history = train(net, train_iter, test_iter, num_epochs=4, lr=0.5, plot=False, max_epochs=3)
    assert len(history.train_loss) == 3
    assert "reduced mode" not in capsys.readouterr().err  # the caller asked for it


def test_max_epochs_caps_in_default_mode_too(problem, default_mode):
    net, train_iter, test_iter = problem
    history = train(net, train_iter, test_iter, num_epochs=4, lr=0.5, plot=False, max_epochs=1)
    assert len(history.test_acc) == 1


def test_reduced_mode_leaves_short_trainings_alone(problem, monkeypatch, capsys):
    monkeypatch.setenv("D2L_REDUCED", "1")
    net, train_iter, test_iter = problem
    assert len(train(net, train_iter, test_iter, 1, lr=0.5, plot=False).train_loss) == 1
    assert "reduced mode" not in capsys.readouterr().err


def test_plot_feeds_the_animator(problem, default_mode, monkeypatch):
    made = []

    class Recording(training.Animator):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.finished = False
            made.append(self)

        def finish(self):
            self.finished = True
            super().finish()

    monkeypatch.setattr(training, "Animator", Recording)
    net, train_iter, test_iter = problem
    history = train(net, train_iter, test_iter, num_epochs=3, lr=0.5)
    (anim,) = made
    assert anim.finished
    # One point per epoch: epoch means, which do not jump at epoch boundaries as running
    # averages restarted every epoch would.
    assert anim.X == [[1.0, 2.0, 3.0]] * 3
    assert anim.Y == [history.train_loss, history.train_acc, history.test_acc]


def test_plot_false_makes_no_animator(problem, default_mode, monkeypatch):
    def fail(**kwargs):
        raise AssertionError("no Animator expected")

    monkeypatch.setattr(training, "Animator", fail)
    net, train_iter, test_iter = problem
    train(net, train_iter, test_iter, 1, lr=0.1, plot=False)


@pytest.mark.parametrize("both", [True, False])
def test_exactly_one_of_lr_and_optimizer(problem, both):
    net, train_iter, test_iter = problem
    kwargs = {"lr": 0.1, "optimizer": torch.optim.SGD(net.parameters(), lr=0.1)} if both else {}
    with pytest.raises(ValueError, match="exactly one of lr and optimizer"):
        train(net, train_iter, test_iter, 1, plot=False, **kwargs)


@pytest.mark.parametrize("num_epochs", [0, -1, 2.0, None])
def test_bad_num_epochs_raises(problem, num_epochs):
    net, train_iter, test_iter = problem
    with pytest.raises(ValueError, match="num_epochs must be a positive int"):
        train(net, train_iter, test_iter, num_epochs, lr=0.1, plot=False)


def test_empty_train_iter_raises(problem):
    net, _, test_iter = problem
    with pytest.raises(ValueError, match=r"train_classifier\(train_iter\).*no examples"):
        train(net, [], test_iter, 1, lr=0.1, plot=False)


def test_accuracy_of_column_predictions_compares_element_wise():
    y = torch.tensor([0, 1, 1, 0])
    assert accuracy(torch.tensor([[0], [1], [0], [0]]), y) == 3


def test_accuracy_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="y_hat"):
        accuracy(torch.tensor([0, 1, 1]), torch.tensor([0, 1]))


def test_scheduler_steps_once_per_epoch(problem, default_mode):
    net, train_iter, test_iter = problem
    optimizer = torch.optim.SGD(net.parameters(), lr=0.4)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    train(net, train_iter, test_iter, 3, optimizer=optimizer, scheduler=scheduler, plot=False)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.4 * 0.5**3)


def test_scheduler_of_another_optimizer_raises(problem):
    net, train_iter, test_iter = problem
    other = torch.optim.SGD(net.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(other, step_size=1)
    with pytest.raises(ValueError, match=r"train_classifier\(scheduler\)"):
        train(net, train_iter, test_iter, 1, lr=0.1, scheduler=scheduler)
