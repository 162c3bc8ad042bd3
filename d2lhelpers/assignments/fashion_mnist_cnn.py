"""Homework 3, a small CNN under a parameter budget and a time budget: export and checks.

The student designs a convolutional network that stores at most :data:`MAX_VALUES` numbers
and trains it on the 60,000 training images, with the whole notebook running within
:data:`TIME_BUDGET_S` seconds on a 2-core CPU. :func:`export` hands over the trained ``net``
as plain data (:mod:`.network`), which images the loaders yield (as fingerprints), the
training history and the results. The grader counts the stored numbers itself (parameters,
buffers such as batch-norm statistics, and constants: hiding weights in a buffer does not
help), measures the test accuracy, checks that ``net`` was not trained on the test images,
and compares the notebook's run time, which it measured, with the budget.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any

from . import common
from .common import available, check_hparams, real_split
from .network import export_network

NAME = "fashion-mnist-cnn"
MAX_VALUES = 100_000
MIN_TEST_ACCURACY = 0.89
TIME_BUDGET_S = 240.0
"""Wall-clock seconds for the whole notebook, run top to bottom on 2 CPU cores."""
BUDGET_CORES = 2
MAX_EPOCHS = 30


EXPORTS: common.Exports = {
    "hparams": (("hparams",), common.plain),
    "data": (("train_iter", "test_iter"),
             lambda train, test: {"train_iter": common.export_loader(train),
                                  "test_iter": common.export_loader(test)}),
    "model": (("net",), export_network),
    "history": (("history",), common.plain),
    "results": (("results",), common.plain),
}  # fmt: skip


def export(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The artifacts of a finished submission; see :func:`.common.export`."""
    return common.export(EXPORTS, namespace)


def allowed_seconds(threads: int) -> float:
    """The time budget for a run given ``threads`` CPU threads: :data:`TIME_BUDGET_S` on
    :data:`BUDGET_CORES` or more, proportionally more on fewer (e.g. two submissions graded at
    once on a 2-core machine get one thread and twice the time each)."""
    return TIME_BUDGET_S * max(1.0, BUDGET_CORES / threads)


class Measurements(common.NetworkMeasurements):
    """What the grader measures itself, each computed on first use."""

    def _loss_and_accuracy(self, train: bool) -> tuple[float, float]:
        images, labels, _ = real_split(train)
        return common.mean_loss_and_accuracy(self.net.logits(images), labels)

    @cached_property
    def train(self) -> tuple[float, float]:
        """Loss and accuracy of ``net`` on the 60,000 training images."""
        return self._loss_and_accuracy(True)

    @cached_property
    def test(self) -> tuple[float, float]:
        """Loss and accuracy of ``net`` on the 10,000 test images."""
        return self._loss_and_accuracy(False)


# --- checks: each raises AssertionError with a message for the student --------------------


def check_hyperparameters(artifacts: Mapping[str, Any], measured: Measurements) -> None:
    available(artifacts, "hparams")
    check_hparams(artifacts["hparams"], MAX_EPOCHS)


def check_data(artifacts: Mapping[str, Any], measured: Measurements) -> None:
    available(artifacts, "data")
    common.check_whole_split("train_iter", artifacts["data"]["train_iter"], train=True)
    common.check_whole_split("test_iter", artifacts["data"]["test_iter"], train=False)


def check_model(artifacts: Mapping[str, Any], measured: Measurements) -> None:
    available(artifacts, "model")
    net = measured.net
    assert any(op.startswith("conv") for op in net.operation_names), (
        "`net` has no convolution; this homework asks for a convolutional network")
    assert net.num_values <= MAX_VALUES, (
        f"`net` stores {net.num_values:,} numbers (parameters, buffers and constants); the "
        f"budget is {MAX_VALUES:,}")


def check_training(artifacts: Mapping[str, Any], measured: Measurements) -> None:
    available(artifacts, "history", "hparams")
    common.check_history(artifacts["history"], artifacts["hparams"].get("num_epochs"))


def check_test_accuracy(artifacts: Mapping[str, Any], measured: Measurements) -> None:
    available(artifacts, "model")
    common.check_test_accuracy(measured.test[1], MIN_TEST_ACCURACY)


def check_reported_accuracy(artifacts: Mapping[str, Any], measured: Measurements) -> None:
    available(artifacts, "results", "model")
    common.check_reported(artifacts["results"], "test_accuracy", measured.test[1],
                          "`net` on the 10,000 test images")  # fmt: skip


def check_held_out(artifacts: Mapping[str, Any], measured: Measurements) -> None:
    available(artifacts, "model")
    common.check_held_out(measured.test[0] - measured.train[0], "test images")


def check_time_budget(artifacts: Mapping[str, Any], measured: Measurements) -> None:
    available(artifacts, "model", "history")  # only a notebook that trains has a budget to keep
    run = measured.run or common.kernel_run()  # in the student's kernel: the time so far
    seconds, threads = run["seconds"], int(run["threads"])
    allowed = allowed_seconds(threads)
    assert seconds <= allowed, (
        f"the notebook ran for {seconds:.0f} s with {threads} CPU thread(s); the budget is "
        f"{allowed:.0f} s ({TIME_BUDGET_S:.0f} s on {BUDGET_CORES} cores): train a smaller "
        "network or fewer epochs")


CHECKS: dict[str, Callable[[Mapping[str, Any], Measurements], None]] = {
    "hyperparameters": check_hyperparameters,
    "data": check_data,
    "model": check_model,
    "training": check_training,
    "test_accuracy": check_test_accuracy,
    "reported_accuracy": check_reported_accuracy,
    "held_out": check_held_out,
    "time_budget": check_time_budget,
}
"""Question name (as in the instructor notebook) -> its check."""

feedback = common.make_feedback(export, CHECKS, Measurements)
"""``feedback(question, **names)``: the grader's check of ``question`` on the student's live
objects, for ``grader.check`` in the notebook; raises ``AssertionError`` with its message."""
