"""The grader's pure parts, with canned inputs: the export step, the checks, rows and reports.

The end-to-end tests in ``test_assignment.py`` run real submissions in the sandbox; these run
in a fraction of a second each, except the reproduction, which trains on Fashion-MNIST.
"""

from __future__ import annotations

import csv
import json
import math
import types

import pytest
import torch
from torch import nn

from d2lhelpers.assignments import assignment_module
from d2lhelpers.assignments import fashion_mnist_linear as assignment
from d2lhelpers.grading import rows, run_checks, write_report

HPARAMS = {"learning_rate": 0.05, "batch_size": 4, "num_epochs": 2, "optimizer": "SGD", "seed": 0}


class FromScratch(nn.Module):
    """Softmax regression written with ``nn.Parameter``, as d2l's chapter 3 does."""

    def __init__(self, W: torch.Tensor, b: torch.Tensor) -> None:
        super().__init__()
        self.W, self.b = nn.Parameter(W.clone()), nn.Parameter(b.clone())

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return X.reshape(-1, 784) @ self.W + self.b


def measured(**values: float) -> types.SimpleNamespace:
    """What the grader would have measured, without data."""
    defaults = {"test_accuracy": 0.83, "generalization_gap": 0.03, "reproduced_weight_norm": 6.3}
    return types.SimpleNamespace(**(defaults | values))


def live_namespace(net: nn.Module | None = None) -> dict:
    """A small finished notebook's names: 12 training and 8 test images, trained a little."""
    torch.manual_seed(0)
    net = net or nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    X, y = torch.rand(12, 1, 28, 28), torch.arange(12) % 10
    train_iter = [(X[:4], y[:4]), (X[4:8], y[4:8]), (X[8:], y[8:])]
    test_iter = [(X[:8], y[:8])]
    loss = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=HPARAMS["learning_rate"])
    history = {"train_loss": [2.3, 2.1], "test_accuracy": [0.5, 0.6]}
    results = {"history": history, "final_train_loss": torch.tensor(2.1), "test_accuracy": 0.6}
    return dict(hparams=HPARAMS, train_iter=train_iter, test_iter=test_iter, net=net, loss=loss,
                optimizer=optimizer, history=history, results=results)  # fmt: skip


# --- the export step -------------------------------------------------------------------------


def test_export_finds_the_affine_map_whatever_code_built_it():
    W, b = torch.randn(784, 10), torch.randn(10)
    layered = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    with torch.no_grad():
        layered[1].weight.copy_(W.T)
        layered[1].bias.copy_(b)
    for net in (layered, FromScratch(W, b)):
        model = assignment.export({"net": net})["model"]
        assert torch.allclose(model["W"], W, atol=1e-4) and torch.allclose(model["b"], b, atol=1e-5)
        assert model["num_parameters"] == 7850
        assignment.check_model({"model": model}, measured())


def test_export_makes_plain_data_that_loads_without_pickled_objects(tmp_path):
    artifacts = assignment.export(live_namespace())
    assert artifacts["errors"] == {}
    assert artifacts["results"]["final_train_loss"] == pytest.approx(2.1)  # a 0-d tensor: a number
    assert artifacts["data"]["train_iter"]["num_examples"] == 12
    assert artifacts["optimizer"] == {
        "name": "SGD", "learning_rate": 0.05, "weight_decay": 0.0, "momentum": 0.0,
        "covers_net": True,
    }  # fmt: skip
    path = tmp_path / "artifacts.pt"
    torch.save(artifacts, path)
    loaded = torch.load(path, weights_only=True)
    assert torch.equal(loaded["model"]["W"], artifacts["model"]["W"])


def test_export_records_what_it_cannot_read():
    namespace = live_namespace()
    del namespace["history"]
    namespace["net"] = ...
    namespace["loss"] = lambda logits, labels: "not a tensor"
    errors = assignment.export(namespace)["errors"]
    assert errors["history"] == "`history` is not defined"
    assert errors["model"] == "TypeError: `net` must be a model (a torch.nn.Module), got ellipsis"
    assert errors["loss"].startswith("ValueError: `loss(logits, labels)` must return the mean")


def test_export_of_an_unknown_object_is_its_repr_not_the_object():
    class Sneaky:
        def __reduce__(self):  # what torch.load must never run
            raise AssertionError("unpickled")

    plain = assignment.export({"hparams": {"seed": Sneaky()}})["hparams"]
    assert plain["seed"].startswith("<Sneaky: ")


# --- the checks ------------------------------------------------------------------------------


def test_hidden_layer_is_not_affine():
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
    artifacts = assignment.export({"net": net})
    with pytest.raises(AssertionError, match="`net` is not one affine map 784 -> 10"):
        assignment.check_model(artifacts, measured())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"learning_rate": True}, r"hparams\['learning_rate'\] must be a number in \(0, 10\]"),
        ({"num_epochs": 50}, r"hparams\['num_epochs'\] must be an int in \[2, 20\], got 50"),
        ({"optimizer": "Adamm"}, r"must name a torch.optim class such as 'SGD', got 'Adamm'"),
        ({"weight_decay": -1.0}, r"hparams\['weight_decay'\] must be a number >= 0"),
        ({"input_normalization": [0.3]}, r"must be None or \(mean, std\), got \[0.3\]"),
    ],
)
def test_hyperparameter_record_is_checked(change, message):
    with pytest.raises(AssertionError, match=message):
        assignment.check_hyperparameters({"hparams": HPARAMS | change}, measured())


def test_lying_optimizer_record_is_caught():
    namespace = live_namespace()
    namespace["optimizer"] = torch.optim.Adam(namespace["net"].parameters(), lr=0.05)
    with pytest.raises(AssertionError, match="`optimizer` is Adam but hparams"):
        assignment.check_loss_and_optimizer(assignment.export(namespace), measured())


def test_training_on_the_test_split_is_caught_by_the_data_check():
    namespace = live_namespace()
    artifacts = assignment.export(namespace)
    artifacts["data"]["train_iter"]["num_examples"] = 10_000
    artifacts["data"]["test_iter"]["num_examples"] = 10_000
    with pytest.raises(AssertionError, match="`train_iter` holds 10,000 examples; .* has 60,000"):
        assignment.check_data(artifacts, measured())


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"generalization_gap": -0.02}, "the test images must not be used for training"),
        ({"reproduced_weight_norm": 10.0}, "got weights of norm 10.00; yours have norm"),
    ],
)
def test_reproduction_check(values, message):
    artifacts = assignment.export(live_namespace())
    norm = float(artifacts["model"]["W"].norm())
    assignment.check_reproduction(artifacts, measured(reproduced_weight_norm=norm))  # passes
    with pytest.raises(AssertionError, match=message):
        assignment.check_reproduction(
            artifacts, measured(**{"reproduced_weight_norm": norm} | values)
        )


def test_reported_accuracy_may_be_a_tensor_but_must_match():
    artifacts = assignment.export(live_namespace())
    artifacts["results"]["test_accuracy"] = 0.835  # what a 0-d tensor exports to
    assignment.check_reported_accuracy(artifacts, measured(test_accuracy=0.83))
    with pytest.raises(AssertionError, match="is 0.8350 but the grader measured 0.8000"):
        assignment.check_reported_accuracy(artifacts, measured(test_accuracy=0.80))


def test_every_question_of_the_notebook_has_a_check():
    assert set(assignment.CHECKS) == {
        "hyperparameters", "data", "model", "loss_and_optimizer", "training", "test_accuracy",
        "reported_accuracy", "reproduction",
    }  # fmt: skip
    assert assignment_module("fashion-mnist-linear") is assignment
    with pytest.raises(ValueError, match="no grader for assignment 'homework-9'"):
        assignment_module("homework-9")


def test_reproduction_tells_honest_runs_from_a_lying_record(fashion_paths):
    hparams = HPARAMS | {"batch_size": 128}
    norms = [float(assignment.reproduce(hparams, seed_offset=s)[0].norm()) for s in (0, 1)]
    assert abs(norms[0] - norms[1]) <= 0.03 * norms[0]  # another seed: within 3%
    faster = float(assignment.reproduce(hparams | {"learning_rate": 0.2})[0].norm())
    assert abs(faster - norms[0]) > assignment.WEIGHT_NORM_TOLERANCE * norms[0]


# --- running the checks, rows and reports ------------------------------------------------------


def test_run_checks_turns_failures_and_crashes_into_messages():
    def fails(artifacts, measured):
        raise AssertionError("wrong shape")

    def crashes(artifacts, measured):
        return artifacts["missing"]

    module = types.SimpleNamespace(
        CHECKS={"a": lambda artifacts, measured: None, "b": fails, "c": crashes},
        Measurements=lambda artifacts, run: None,
    )
    failures = run_checks(module, {}, [("a", 1.0), ("b", 2.0), ("c", 1.0)])
    assert failures == {
        "b": "wrong shape",
        "c": "the grader could not check it: KeyError: 'missing'",
    }


def test_graded_row_scores_and_explains():
    tests = [("model", 2.0), ("training", 2.0), ("reproduction", 2.0)]
    errors = ["In [3]: OSError: [Errno 30] Read-only file system: '/data'"]
    row = rows.graded_row("alice/hw1.ipynb", tests, {"training": "did not decrease"}, errors, 12.34)
    assert (row.status, row.score, row.possible, row.seconds) == ("graded", 4.0, 6.0, 12.3)
    assert [t.score for t in row.tests] == [2.0, 0.0, 2.0]
    assert row.reason == (
        "tried to change files outside its own folder (refused; nothing was changed); "
        "the notebook raised In [3]: OSError: [Errno 30] Read-only file system: '/data'; "
        "training: did not decrease"
    )


@pytest.mark.parametrize(
    ("error", "behaviour"),
    [
        ("RuntimeError: DefaultCPUAllocator: can't allocate memory", "ran out of its memory"),
        ("OSError: [Errno 28] No space left on device", "filled its disk space"),
        ("OSError: [Errno 27] File too large", "filled its disk space"),
        ("OSError: [Errno 101] Network is unreachable", "tried to use the network"),
        ("BlockingIOError: [Errno 11] Resource temporarily unavailable", "more processes"),
    ],
)
def test_behaviours_name_what_a_submission_did(error, behaviour):
    (found,) = rows.behaviours([error, error])
    assert behaviour in found


def test_failed_row_gives_every_question_the_reason():
    row = rows.failed_row("x.ipynb", "timeout", "ran past the time limit", [("a", 1.0)], 3.0)
    assert (row.score, row.possible, row.tests[0].message) == (0.0, 1.0, "ran past the time limit")


def test_reports_in_csv_and_json(tmp_path):
    tests = [("model", 2.0), ("training", 2.0)]
    results = [
        rows.graded_row("a.ipynb", tests, {}, [], 1.0),
        rows.graded_row("b.ipynb", tests, {"model": "not affine"}, ["In [2]: E: x"], 2.0),
    ]
    with open(write_report(results, tmp_path / "grades.csv"), newline="") as f:
        table = list(csv.DictReader(f))
    assert [r["score"] for r in table] == ["4.0", "2.0"]
    assert table[1]["model message"] == "not affine"
    assert table[1]["notebook errors"] == "In [2]: E: x"
    saved = json.loads(write_report(results, tmp_path / "grades.json").read_text())
    assert saved[1]["tests"][0] == {"name": "model", "score": 0.0, "possible": 2.0,
                                   "message": "not affine"}  # fmt: skip
    with pytest.raises(ValueError, match=r"report: the file name must end in \.csv or \.json"):
        write_report(results, tmp_path / "grades.txt")
    assert math.isclose(sum(r.score for r in results), 6.0)
