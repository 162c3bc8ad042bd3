"""Homework 2, an MLP with dropout and weight decay chosen on validation data: export and checks.

The student splits the 60,000 training images into a training part and a held-out validation
part of their choice, trains several candidate MLPs with different dropout and weight-decay
settings on the training part, picks the candidate with the best validation accuracy, and only
then measures that one on the test images. :func:`export` hands over which images each loader
yields (as fingerprints, :func:`~.common.export_loader`), every candidate network as plain data
(:mod:`.network`) with the validation accuracy the student recorded for it, and the results.

The grader then checks the protocol from what it measures itself: the validation images are
training images the training part does not contain, each candidate's validation accuracy is
what the student reported, the chosen ``net`` is the candidate that validation accuracy picks
(not the one the test set would pick), ``net`` fits neither the validation nor the test images
as well as its training images (it was not trained on them), and it reaches
:data:`MIN_TEST_ACCURACY` on the 10,000 test images.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any

import torch
from torch import Tensor

from . import common
from .common import available, check_hparams, check_loader, is_number, locate, real_split
from .network import Network, export_network

NAME = "fashion-mnist-mlp"
MIN_TEST_ACCURACY = 0.87
MAX_EPOCHS = 30
VALIDATION_SIZE = (5_000, 20_000)
"""Fewest and most validation images: fewer make the comparison of candidates noisy (the
standard error of an accuracy near 0.88 on 5,000 images is 0.005), more waste training data."""
SELECTION_TOLERANCE = 0.002
"""How far below the best candidate's validation accuracy the chosen one may be (ties)."""
MIN_CANDIDATES = 3
MATRIX_PRODUCTS = ("linear", "addmm", "mm", "matmul", "bmm")


def _export_data(train_iter: Any, valid_iter: Any, test_iter: Any) -> dict[str, Any]:
    loaders = {"train_iter": train_iter, "valid_iter": valid_iter, "test_iter": test_iter}
    return {name: common.export_loader(loader) for name, loader in loaders.items()}


def _export_experiments(experiments: Any, net: Any) -> list[dict[str, Any]]:
    if not isinstance(experiments, list) or not experiments:
        raise TypeError("`experiments` must be a list with one dict per candidate you trained")
    exported = []
    for i, experiment in enumerate(experiments):
        if not isinstance(experiment, Mapping) or "net" not in experiment:
            raise ValueError(f"experiments[{i}] must be a dict with the key 'net'")
        record = common.plain({k: v for k, v in experiment.items() if k != "net"})
        record["network"] = export_network(experiment["net"])
        record["is_net"] = experiment["net"] is net
        exported.append(record)
    return exported


EXPORTS: common.Exports = {
    "hparams": (("hparams",), common.plain),
    "data": (("train_iter", "valid_iter", "test_iter"), _export_data),
    "model": (("net",), export_network),
    "experiments": (("experiments", "net"), _export_experiments),
    "results": (("results",), common.plain),
}


def export(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The artifacts of a finished submission; see :func:`.common.export`."""
    return common.export(EXPORTS, namespace)


class Measurements(common.NetworkMeasurements):
    """What the grader measures itself, each computed on first use."""

    @cached_property
    def candidates(self) -> list[Network]:
        return [Network(e["network"]) for e in self.artifacts["experiments"]]

    @cached_property
    def train_rows(self) -> Tensor:
        """Indices of the training images ``train_iter`` yields."""
        return locate(self.artifacts["data"]["train_iter"], train=True)

    @cached_property
    def validation_rows(self) -> Tensor:
        """Indices of the training images ``valid_iter`` yields; fails the check if none."""
        rows = locate(self.artifacts["data"]["valid_iter"], train=True)
        assert len(rows), (
            "`valid_iter` yields no training images: the validation images must be held out "
            "from the 60,000 training images, never taken from the test images")
        return rows

    def _loss_and_accuracy(self, network: Network, train: bool, rows: Tensor | None = None):
        images, labels, _ = real_split(train)
        if rows is not None:
            images, labels = images[rows], labels[rows]
        return common.mean_loss_and_accuracy(network.logits(images), labels)

    @cached_property
    def validation_accuracies(self) -> list[float]:
        """Each candidate's accuracy on the student's validation images."""
        return [self._loss_and_accuracy(c, True, self.validation_rows)[1] for c in self.candidates]

    @cached_property
    def train(self) -> tuple[float, float]:
        """Loss and accuracy of ``net`` on the student's training images."""
        return self._loss_and_accuracy(self.net, True, self.train_rows)

    @cached_property
    def validation(self) -> tuple[float, float]:
        return self._loss_and_accuracy(self.net, True, self.validation_rows)

    @cached_property
    def test(self) -> tuple[float, float]:
        """Loss and accuracy of ``net`` on the 10,000 test images."""
        return self._loss_and_accuracy(self.net, False)


# --- checks: each raises AssertionError with a message for the student --------------------


def check_hyperparameters(artifacts: Mapping[str, Any], measured: Measurements) -> None:
    available(artifacts, "hparams")
    check_hparams(artifacts["hparams"], MAX_EPOCHS)


def check_validation_split(artifacts: Mapping[str, Any], measured: Measurements) -> None:
    available(artifacts, "data")
    data = artifacts["data"]
    for name, info in data.items():
        check_loader(name, info)
    common.check_whole_split("test_iter", data["test_iter"], train=False)
    low, high = VALIDATION_SIZE
    for name in ("train_iter", "valid_iter"):
        info = data[name]
        found = len(locate(info, train=True))
        distinct = len(set(info["fingerprints"].tolist()))
        assert found == distinct == info["num_examples"], (
            f"`{name}` must yield training images, each once; of its {info['num_examples']:,} "
            f"images {distinct:,} are distinct and {found:,} are from the training split")
    num_validation = data["valid_iter"]["num_examples"]
    assert low <= num_validation <= high, (
        f"`valid_iter` holds {num_validation:,} images; hold out between {low:,} and {high:,}")
    overlap = int(torch.isin(measured.train_rows, measured.validation_rows).sum())
    assert overlap == 0, (
        f"{overlap:,} images are in both `train_iter` and `valid_iter`: the validation images "
        "must be held out from training")


def check_model(artifacts: Mapping[str, Any], measured: Measurements) -> None:
    available(artifacts, "model")
    ops = measured.net.operation_names
    assert not any(op.startswith("conv") for op in ops), (
        "`net` has a convolution; this homework is about multilayer perceptrons")
    products = sum(op in MATRIX_PRODUCTS for op in ops)
    assert products >= 2, (
        f"`net` has {products} affine layer(s); an MLP has at least one hidden layer, "
        "i.e. two or more (with an activation between them)")


def check_experiments(artifacts: Mapping[str, Any], measured: Measurements) -> None:
    available(artifacts, "experiments", "data")
    experiments = artifacts["experiments"]
    assert len(experiments) >= MIN_CANDIDATES, (
        f"`experiments` holds {len(experiments)} candidates; train at least {MIN_CANDIDATES}")
    for i, e in enumerate(experiments):
        for key in ("dropout", "weight_decay"):
            value = e.get(key)
            assert is_number(value) and 0 <= value < 1, (
                f"experiments[{i}][{key!r}] must be a number in [0, 1), got {value!r}")
    for key in ("dropout", "weight_decay"):
        values = sorted({e[key] for e in experiments})
        assert len(values) >= 2, (
            f"every candidate has {key} {values[0]}; compare at least two {key} settings")
    try:
        accuracies = measured.validation_accuracies
    except ValueError as error:
        raise AssertionError(f"the grader cannot run a candidate: {error}") from None
    for i, (e, accuracy) in enumerate(zip(experiments, accuracies)):
        common.check_reported(e, "validation_accuracy", accuracy,
                              f"experiments[{i}]['net'] on your validation images")  # fmt: skip


def check_selection(artifacts: Mapping[str, Any], measured: Measurements) -> None:
    available(artifacts, "experiments", "data")
    chosen = [i for i, e in enumerate(artifacts["experiments"]) if e["is_net"]]
    assert chosen, "`net` must be the model of one of your `experiments` (the one you chose)"
    accuracies = measured.validation_accuracies
    best = max(range(len(accuracies)), key=accuracies.__getitem__)
    assert accuracies[chosen[0]] >= accuracies[best] - SELECTION_TOLERANCE, (
        f"`net` is experiments[{chosen[0]}], with a validation accuracy of "
        f"{accuracies[chosen[0]]:.4f}, but experiments[{best}] has {accuracies[best]:.4f}: "
        "choose the candidate by its validation accuracy, never by test accuracy")


def check_held_out(artifacts: Mapping[str, Any], measured: Measurements) -> None:
    available(artifacts, "model", "data")
    train_loss = measured.train[0]
    common.check_held_out(measured.validation[0] - train_loss, "validation images")
    common.check_held_out(measured.test[0] - train_loss, "test images")


def check_test_accuracy(artifacts: Mapping[str, Any], measured: Measurements) -> None:
    available(artifacts, "model")
    common.check_test_accuracy(measured.test[1], MIN_TEST_ACCURACY)


def check_reported_accuracy(artifacts: Mapping[str, Any], measured: Measurements) -> None:
    available(artifacts, "results", "model")
    common.check_reported(artifacts["results"], "test_accuracy", measured.test[1],
                          "`net` on the 10,000 test images")  # fmt: skip


CHECKS: dict[str, Callable[[Mapping[str, Any], Measurements], None]] = {
    "hyperparameters": check_hyperparameters,
    "validation_split": check_validation_split,
    "model": check_model,
    "experiments": check_experiments,
    "selection": check_selection,
    "held_out": check_held_out,
    "test_accuracy": check_test_accuracy,
    "reported_accuracy": check_reported_accuracy,
}
"""Question name (as in the instructor notebook) -> its check."""

feedback = common.make_feedback(export, CHECKS, Measurements)
"""``feedback(question, **names)``: the grader's check of ``question`` on the student's live
objects, for ``grader.check`` in the notebook; raises ``AssertionError`` with its message."""
