"""The MLP and CNN assignments' pure parts: networks handed over as plain data, and the checks
on canned artifacts made from small networks trained for a few seconds on the real data."""

from __future__ import annotations

import functools
import io

import pytest
import torch
from torch import nn

import d2lhelpers as d2l
from d2lhelpers.assignments import common
from d2lhelpers.assignments import fashion_mnist_cnn as cnn
from d2lhelpers.assignments import fashion_mnist_mlp as mlp
from d2lhelpers.assignments.network import Network, export_network


class Residual(nn.Module):
    """A network of the student's own: parameters made by hand and a skip connection."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.W = nn.Parameter(torch.randn(4 * 14 * 14, 10) * 0.01)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        Y = torch.relu(self.conv(X)) + X  # broadcasts over the 4 channels
        return nn.functional.max_pool2d(Y, 2).reshape(len(X), -1) @ self.W


def small_cnn(width: int = 4) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(1, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
                         nn.MaxPool2d(4), nn.Flatten(), nn.Linear(width * 49, 10))  # fmt: skip


def handed_over(net: nn.Module) -> Network:
    """``net`` exported, saved and loaded as the grader loads it, then rebuilt."""
    buffer = io.BytesIO()
    torch.save(export_network(net), buffer)
    buffer.seek(0)
    return Network(torch.load(buffer, weights_only=True))


@pytest.mark.parametrize("make", [small_cnn, Residual], ids=["sequential", "own_class"])
def test_grader_runs_the_same_function_whatever_code_built_it(make):
    torch.manual_seed(0)
    net = make()
    net.train()(torch.rand(8, 1, 28, 28))  # gives batch normalization running statistics
    rebuilt = handed_over(net)
    images = torch.randint(0, 256, (1200, 28, 28), dtype=torch.uint8)  # 2.4 batches
    with torch.no_grad():
        expected = net.eval()(images.unsqueeze(1).float() / 255)
    torch.testing.assert_close(rebuilt.logits(images), expected)
    # Everything stored counts: batch normalization's running statistics too.
    assert rebuilt.num_values == sum(t.numel() for t in net.state_dict().values())


def test_grader_refuses_operations_outside_the_allow_list():
    class Sorts(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = nn.Linear(784, 10)

        def forward(self, X: torch.Tensor) -> torch.Tensor:
            return self.linear(X.flatten(1)).sort(dim=1).values

    with pytest.raises(ValueError, match=r"uses the operation aten\.sort"):
        handed_over(Sorts())
    exported = export_network(small_cnn())
    exported["operations"][0]["op"] = "aten.from_file.default"  # reads files: never run
    with pytest.raises(ValueError, match="aten.from_file.default"):
        Network(exported)


def test_grader_refuses_forged_descriptions_before_running_them():
    # The export step runs in the student's kernel, so its output may be forged at will.
    exported = export_network(nn.Sequential(nn.Flatten(), nn.Linear(784, 10)))
    exported["operations"].append({"name": "huge", "op": "aten.expand.default",
                                   "args": [{"node": "linear"}, [10**6, 500, 10]],
                                   "kwargs": {}})  # fmt: skip
    exported["operations"].append({"name": "total", "op": "aten.sum.dim_IntList",
                                   "args": [{"node": "huge"}, [0]], "kwargs": {}})  # fmt: skip
    with pytest.raises(ValueError, match="computes a result of 5,000,000,000 numbers"):
        Network(exported)  # refused on the meta device, before 20 GB are allocated
    exported = export_network(nn.Sequential(nn.Flatten(), nn.Linear(784, 10)))
    not_a_format = {"memory_format": {"memory_format": "load"}}  # torch.load, if unchecked
    exported["operations"].append(
        {"name": "cast", "op": "aten.clone.default", "args": [{"node": "linear"}],
         "kwargs": not_a_format})  # fmt: skip
    exported["output"] = "cast"
    with pytest.raises(ValueError, match="'load' is not a memory_format"):
        Network(exported)


def test_grader_refuses_a_description_that_is_not_the_students_net():
    exported = export_network(small_cnn())
    exported["tensors"]["5.weight"] = torch.zeros_like(exported["tensors"]["5.weight"])
    with pytest.raises(ValueError, match="differs from the student's"):
        Network(exported)


def test_export_rejects_what_is_not_a_classifier():
    with pytest.raises(TypeError, match="must be a torch.nn.Module"):
        export_network(lambda X: X)
    with pytest.raises(ValueError, match=r"logits \(B, 10\), got \(500, 5\)"):
        export_network(nn.Sequential(nn.Flatten(), nn.Linear(784, 5)))


# --- the MLP assignment: the validation protocol ------------------------------------------


def loader(images: torch.Tensor, labels: torch.Tensor) -> d2l.TensorLoader:
    return d2l.TensorLoader(images, labels, batch_size=1000,
                            transform=lambda X, y: (X.unsqueeze(1).float() / 255, y))  # fmt: skip


def trained_mlp(images: torch.Tensor, labels: torch.Tensor, dropout: float) -> nn.Module:
    """A small MLP fitted to ``images`` in a few hundred steps."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Dropout(dropout),
                        nn.Linear(32, 10))  # fmt: skip
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    X = images.unsqueeze(1).float() / 255
    for rows in torch.randint(0, len(labels), (300, 64)):
        loss = nn.functional.cross_entropy(net(X[rows]), labels[rows])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return net.eval()


@pytest.fixture
def mlp_notebook(fashion_paths) -> dict:
    """A finished notebook's names: 5,000 validation images held out, 3 candidates."""
    return _mlp_notebook()


@functools.cache
def _mlp_notebook() -> dict:
    images, labels = d2l.read_fashion_mnist(train=True)
    test_images, test_labels = d2l.read_fashion_mnist(train=False)
    valid, train = torch.arange(5_000), torch.arange(5_000, 15_000)
    candidates = [(0.0, 0.0), (0.5, 0.0), (0.0, 1e-4)]
    experiments = []
    for dropout, weight_decay in candidates:
        net = trained_mlp(images[train], labels[train], dropout)
        valid_iter = loader(images[valid], labels[valid])
        accuracy = d2l.evaluate_accuracy(net, valid_iter)
        experiments.append({"dropout": dropout, "weight_decay": weight_decay, "net": net,
                            "validation_accuracy": accuracy})  # fmt: skip
    best = max(experiments, key=lambda e: e["validation_accuracy"])
    test_iter = loader(test_images, test_labels)
    return {
        "hparams": {"learning_rate": 0.01, "batch_size": 64, "num_epochs": 1,
                    "optimizer": "Adam", "seed": 0},
        "train_iter": loader(images[train], labels[train]),
        "valid_iter": loader(images[valid], labels[valid]), "test_iter": test_iter,
        "experiments": experiments, "net": best["net"],
        "results": {"test_accuracy": d2l.evaluate_accuracy(best["net"], test_iter)},
        "images": images, "labels": labels,
    }  # fmt: skip


def mlp_failures(namespace: dict) -> dict[str, str]:
    artifacts = mlp.export(namespace)
    measured = mlp.Measurements(artifacts)
    failures = {}
    for question, check in mlp.CHECKS.items():
        try:
            check(artifacts, measured)
        except AssertionError as error:
            failures[question] = str(error)
    return failures


def test_honest_protocol_passes_every_check_but_the_accuracy_threshold(mlp_notebook):
    # 300 steps on 10,000 images reach about 0.8: the protocol is right, the model too small.
    failures = mlp_failures(mlp_notebook)
    assert set(failures) == {"test_accuracy"}, failures


def test_choosing_another_candidate_than_validation_picks_fails(mlp_notebook):
    accuracies = [e["validation_accuracy"] for e in mlp_notebook["experiments"]]
    worst = min(range(3), key=accuracies.__getitem__)
    assert max(accuracies) - accuracies[worst] > mlp.SELECTION_TOLERANCE
    failures = mlp_failures(mlp_notebook | {"net": mlp_notebook["experiments"][worst]["net"]})
    assert "choose the candidate by its validation accuracy" in failures["selection"]


def test_misreported_validation_accuracy_fails(mlp_notebook):
    experiments = [dict(e) for e in mlp_notebook["experiments"]]
    experiments[1]["validation_accuracy"] += 0.05
    failures = mlp_failures(mlp_notebook | {"experiments": experiments})
    assert "results['validation_accuracy'] is" in failures["experiments"]


def test_validating_on_test_images_or_overlapping_parts_fails(mlp_notebook):
    failures = mlp_failures(mlp_notebook | {"valid_iter": mlp_notebook["test_iter"]})
    assert "must yield training images" in failures["validation_split"]
    assert "yields no training images" in failures["experiments"]
    images, labels = mlp_notebook["images"], mlp_notebook["labels"]
    overlapping = loader(images[:15_000], labels[:15_000])  # includes the validation images
    failures = mlp_failures(mlp_notebook | {"train_iter": overlapping})
    assert "5,000 images are in both" in failures["validation_split"]


def test_network_trained_on_validation_images_fails_held_out(mlp_notebook):
    images, labels = mlp_notebook["images"], mlp_notebook["labels"]
    net = trained_mlp(images[:5_000], labels[:5_000], dropout=0.0)  # the validation images
    failures = mlp_failures(mlp_notebook | {"net": net})
    assert "the validation images must not be used for training" in failures["held_out"]


def test_too_few_candidates_or_settings_fail(mlp_notebook):
    experiments = mlp_notebook["experiments"]
    failures = mlp_failures(mlp_notebook | {"experiments": experiments[:2]})
    assert "holds 2 candidates; train at least 3" in failures["experiments"]
    same = [e | {"weight_decay": 0.0} for e in experiments]
    assert "compare at least two weight_decay" in mlp_failures(
        mlp_notebook | {"experiments": same})["experiments"]  # fmt: skip


def test_a_linear_model_is_not_an_mlp():
    artifacts = mlp.export({"net": nn.Sequential(nn.Flatten(), nn.Linear(784, 10))})
    with pytest.raises(AssertionError, match="1 affine layer"):
        mlp.check_model(artifacts, mlp.Measurements(artifacts))


# --- the CNN assignment: the budgets --------------------------------------------------------


def test_parameter_budget_counts_every_stored_number():
    artifacts = cnn.export({"net": small_cnn(width=4)})
    cnn.check_model(artifacts, cnn.Measurements(artifacts))
    # 100,410 parameters, and batch normalization's 401 running statistics (mean, variance, count)
    wide = cnn.export({"net": small_cnn(width=200)})
    with pytest.raises(AssertionError, match="stores 100,811 numbers"):
        cnn.check_model(wide, cnn.Measurements(wide))
    flat = cnn.export({"net": nn.Sequential(nn.Flatten(), nn.Linear(784, 10))})
    with pytest.raises(AssertionError, match="no convolution"):
        cnn.check_model(flat, cnn.Measurements(flat))


@pytest.mark.parametrize(("seconds", "threads", "passes"), [
    (230, 2, True), (250, 2, False), (250, 16, False), (470, 1, True), (490, 1, False),
])  # fmt: skip
def test_time_budget_scales_with_the_threads_the_grader_gave(seconds, threads, passes):
    measured = cnn.Measurements({}, {"seconds": seconds, "threads": threads})
    if passes:
        cnn.check_time_budget({}, measured)
    else:
        with pytest.raises(AssertionError, match=f"ran for {seconds} s with {threads}"):
            cnn.check_time_budget({}, measured)


def test_in_notebook_time_budget_uses_the_kernel_age():
    run = common.kernel_run()
    assert 0 < run["seconds"] < 24 * 3600 and run["threads"] == torch.get_num_threads()

