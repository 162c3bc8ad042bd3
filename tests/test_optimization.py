"""load_data_airfoil, train_linear_regression, trace_2d and show_trace_2d."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
import torch

from d2lhelpers import (
    OptimizationHistory,
    TensorLoader,
    load_data_airfoil,
    show_trace_2d,
    trace_2d,
    train_linear_regression,
)


def test_airfoil_is_standardized_over_all_rows(from_shared_data):
    data_iter, num_inputs = load_data_airfoil(batch_size=10, n=1503, dtype=torch.float64)
    X, y = data_iter.tensors
    assert num_inputs == 5 and X.shape == (1503, 5) and y.shape == (1503, 1)
    assert X.dtype == torch.float64
    data = torch.cat([X, y], dim=1)
    torch.testing.assert_close(data.mean(dim=0), torch.zeros(6, dtype=torch.float64))
    torch.testing.assert_close(data.std(dim=0, correction=0), torch.ones(6, dtype=torch.float64))
    X_batch, y_batch = next(iter(data_iter))
    assert X_batch.shape == (10, 5) and y_batch.shape == (10, 1)


def test_airfoil_first_n_rows_keep_the_full_standardization(from_shared_data):
    full, _ = load_data_airfoil(n=1503)
    first, _ = load_data_airfoil(n=1500)
    assert len(first.tensors[0]) == 1500
    torch.testing.assert_close(first.tensors[0], full.tensors[0][:1500])


@pytest.mark.parametrize("kwargs", [{"batch_size": 0}, {"n": 0}, {"n": 1504}])
def test_airfoil_bad_arguments(from_shared_data, kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        load_data_airfoil(**kwargs)


def _toy_loader(batch_size=10):
    X = torch.randn(100, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    y = X @ torch.tensor([[1.0], [-2.0], [0.5]], dtype=torch.float64) + 0.3
    return TensorLoader(X, y, batch_size=batch_size, shuffle=True)


def test_train_linear_regression_records_loss_over_all_examples():
    data_iter = _toy_loader()
    history = train_linear_regression(
        lambda params: torch.optim.SGD(params, lr=0.1), data_iter, num_epochs=3,
        record_every=50, plot=False,
    )
    assert isinstance(history, OptimizationHistory)
    assert history.epochs == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    assert len(history.seconds) == len(history.loss) == 7
    assert history.seconds[0] == 0 and history.seconds == sorted(history.seconds)
    # the first record is the loss of the initial weights (~0) on all examples
    X, y = data_iter.tensors
    assert history.loss[0] == pytest.approx(float((y**2 / 2).mean()), rel=0.05)
    assert history.loss[-1] < history.loss[0] / 100


def test_train_linear_regression_prints_only_when_verbose(capsys):
    make = lambda params: torch.optim.SGD(params, lr=0.1)  # noqa: E731
    train_linear_regression(make, _toy_loader(), plot=False)
    assert capsys.readouterr().out.startswith("loss ")
    train_linear_regression(make, _toy_loader(), plot=False, verbose=False)
    assert capsys.readouterr().out == ""


def test_train_linear_regression_same_seed_same_run_and_custom_optimizer():
    class PlainSGD(torch.optim.Optimizer):
        def __init__(self, params, lr):
            super().__init__(params, {"lr": lr})

        @torch.no_grad()
        def step(self):
            for group in self.param_groups:
                for p in group["params"]:
                    p -= group["lr"] * p.grad

    data_iter = _toy_loader()
    ours = train_linear_regression(lambda p: PlainSGD(p, 0.05), data_iter, 2, plot=False)
    torch_sgd = train_linear_regression(
        lambda p: torch.optim.SGD(p, lr=0.05), data_iter, 2, plot=False
    )
    assert ours.loss == pytest.approx(torch_sgd.loss, rel=1e-12)


def test_train_linear_regression_bad_arguments():
    data_iter = _toy_loader()
    with pytest.raises(TypeError, match="data_iter"):
        train_linear_regression(lambda p: torch.optim.SGD(p, lr=0.1), [(1, 2)], plot=False)
    with pytest.raises(TypeError, match="make_optimizer"):
        train_linear_regression(lambda p: None, data_iter, plot=False)
    with pytest.raises(ValueError, match="num_epochs"):
        train_linear_regression(lambda p: torch.optim.SGD(p, lr=0.1), data_iter, 0, plot=False)
    with pytest.raises(ValueError, match="record_every"):
        train_linear_regression(
            lambda p: torch.optim.SGD(p, lr=0.1), data_iter, record_every=0, plot=False
        )


def test_trace_2d_gradient_descent_on_a_quadratic():
    eta = 0.1
    trace = trace_2d(lambda x: x - eta * torch.stack([2 * x[0], 4 * x[1]]), num_steps=20)
    assert trace.shape == (21, 2) and trace.dtype == torch.float64
    assert trace[0].tolist() == [-5.0, -2.0]
    # each coordinate shrinks by its own factor per step: (1 - 2 eta) and (1 - 4 eta)
    torch.testing.assert_close(
        trace[-1], torch.tensor([-5 * 0.8**20, -2 * 0.6**20], dtype=torch.float64)
    )


def test_trace_2d_bad_arguments():
    with pytest.raises(ValueError, match="start"):
        trace_2d(lambda x: x, start=(1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match="num_steps"):
        trace_2d(lambda x: x, num_steps=0)
    with pytest.raises(ValueError, match="step"):
        trace_2d(lambda x: x[:1])


def test_show_trace_2d_draws_contours_and_the_path():
    trace = trace_2d(lambda x: 0.5 * x, num_steps=5)
    axes = show_trace_2d(lambda a, b: a**2 + 2 * b**2, trace)
    (line,) = axes.get_lines()
    assert line.get_xdata().tolist() == trace[:, 0].tolist()
    assert axes.collections  # the contour lines
    assert axes.get_xlabel() == "x1" and axes.get_ylabel() == "x2"
    plt.close(axes.figure)
    with pytest.raises(ValueError, match="trace"):
        show_trace_2d(lambda a, b: a, torch.zeros(3, 3))
