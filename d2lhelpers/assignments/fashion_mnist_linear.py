"""Homework 1, a linear classifier for Fashion-MNIST: the export step and the grader's checks.

A submission is judged by what it hands over, never by objects living in the student's kernel:
:func:`export` runs once the notebook has finished and turns ``hparams``, ``train_iter``,
``test_iter``, ``net``, ``loss``, ``optimizer``, ``history`` and ``results`` into plain data
and tensors. Whatever code built ``net`` (``nn.Linear`` or ``nn.Parameter`` from scratch,
normalisation inside it or not), it is exported as the function it computes on images in
[0, 1]: the affine map's ``W`` (784 x 10) and ``b`` (10), found by evaluating ``net`` on the
zero image and the 784 one-pixel images, plus its outputs on random probe images, which show
whether ``net`` really is affine.

The grader, in a fresh process that never ran student code, then measures that affine map on
the 10,000 test images itself and trains a model of its own from the recorded hyperparameters
(:func:`reproduce`). :data:`CHECKS` holds one check per question of the assignment; each
raises ``AssertionError`` with a message for the student, and the same checks give the
in-notebook feedback through :func:`feedback`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any

import torch
from torch import Tensor, nn

from ..fashion_mnist import read_fashion_mnist
from . import common
from .common import available, check_history, check_hparams, check_loader, is_number

NAME = "fashion-mnist-linear"
NUM_PIXELS, NUM_CLASSES = 784, 10
MIN_TEST_ACCURACY = 0.80
REPORT_TOLERANCE = 0.01
"""Largest allowed difference between the reported and the grader's test accuracy."""
WEIGHT_NORM_TOLERANCE = 0.15
"""Largest relative difference between the norms of the submitted and the reproduced ``W``.

Runs with the recorded hyperparameters but another seed, initialisation or minibatch order
differ by at most 3% (``nn.Linear``'s and N(0, 0.01²) initialisation included); another
optimizer, learning rate, weight decay or number of epochs changes the norm by 20-100%."""
MIN_GENERALIZATION_GAP = 0.01
"""Least amount by which the test loss must exceed the training loss.

Trained on the training images, softmax regression has a test loss 0.03-0.05 above its training
loss; trained on the test images, the test loss is at or below the training loss."""
MAX_EPOCHS = 20
OPTIONAL_HPARAMS = {"weight_decay": 0.0, "momentum": 0.0, "input_normalization": None}
_NUM_PROBES = 32


def _export_data(train_iter: Any, test_iter: Any) -> dict[str, Any]:
    data = {}
    for name, batches in (("train_iter", train_iter), ("test_iter", test_iter)):
        X, y = next(iter(batches))
        num_examples = sum(len(batch_y) for _, batch_y in batches)
        data[name] = {
            "batch_shape": list(X.shape), "batch_dtype": str(X.dtype),
            "label_shape": list(y.shape), "label_dtype": str(y.dtype),
            "min": float(X.min()), "max": float(X.max()), "num_examples": num_examples,
        }  # fmt: skip
    return data


def _export_model(net: Any) -> dict[str, Tensor]:
    """The function ``net`` computes on images in [0, 1], as ``W``, ``b`` and probe outputs."""
    if not callable(net):
        raise TypeError(f"`net` must be a model (a torch.nn.Module), got {type(net).__name__}")
    params = list(net.parameters()) if isinstance(net, nn.Module) else []
    device = params[0].device if params else torch.device("cpu")
    probes = torch.rand(_NUM_PROBES, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    one_pixel_images = torch.eye(NUM_PIXELS).reshape(NUM_PIXELS, 1, 28, 28)
    inputs = torch.cat([torch.zeros(1, 1, 28, 28), one_pixel_images, probes]).to(device)
    if isinstance(net, nn.Module):
        net.eval()
    with torch.no_grad():
        outputs = net(inputs)
    if not isinstance(outputs, Tensor) or tuple(outputs.shape) != (len(inputs), NUM_CLASSES):
        shape = tuple(outputs.shape) if isinstance(outputs, Tensor) else type(outputs).__name__
        raise ValueError(f"`net` should map images (B, 1, 28, 28) to logits (B, 10), got {shape}")
    outputs = outputs.detach().float().cpu()
    b = outputs[0]
    return {
        "W": outputs[1 : NUM_PIXELS + 1] - b,
        "b": b,
        "probe_inputs": probes,
        "probe_outputs": outputs[NUM_PIXELS + 1 :],
        "num_parameters": sum(p.numel() for p in params),
    }


def _export_optimizer(optimizer: Any, net: Any) -> dict[str, Any]:
    if not isinstance(optimizer, torch.optim.Optimizer):
        kind = type(optimizer).__name__
        raise TypeError(f"`optimizer` must be a torch.optim optimizer, got {kind}")
    group = optimizer.param_groups[0]
    optimized = {id(p) for g in optimizer.param_groups for p in g["params"]}
    return {
        "name": type(optimizer).__name__,
        "learning_rate": common.plain(group.get("lr")),
        "weight_decay": common.plain(group.get("weight_decay", 0.0)),
        "momentum": common.plain(group.get("momentum", 0.0)),
        "covers_net": isinstance(net, nn.Module)
        and optimized == {id(p) for p in net.parameters()},
    }


def _export_loss(loss: Any) -> float:
    if not callable(loss):
        raise TypeError(f"`loss` must be a function of (logits, labels), got {type(loss).__name__}")
    value = loss(torch.zeros(2, NUM_CLASSES), torch.tensor([0, 1]))
    if not isinstance(value, Tensor) or value.numel() != 1:
        raise ValueError("`loss(logits, labels)` must return the mean loss, a single number")
    return float(value)


EXPORTS: common.Exports = {
    "hparams": (("hparams",), common.plain),
    "data": (("train_iter", "test_iter"), _export_data),
    "model": (("net",), _export_model),
    "loss": (("loss",), _export_loss),
    "optimizer": (("optimizer", "net"), _export_optimizer),
    "history": (("history",), common.plain),
    "results": (("results",), common.plain),
}


def export(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The artifacts of a finished submission; see :func:`.common.export`."""
    return common.export(EXPORTS, namespace)


def reproduce(hparams: Mapping[str, Any], seed_offset: int = 0) -> tuple[Tensor, Tensor]:
    """Train softmax regression with the recorded hyperparameters, with the grader's own loop.

    Minibatch training on all 60,000 training images, ``nn.Linear``'s default initialisation,
    the ``torch.optim`` class named in ``hparams`` with its learning rate, weight decay and
    momentum, and the recorded input normalisation. Takes about 1 s per epoch on one core.

    Returns:
        ``W`` of shape (784, 10) and ``b`` of shape (10,), as a map of images in [0, 1].
    """
    images, labels = read_fashion_mnist(train=True)
    X = images.reshape(-1, NUM_PIXELS).float().div_(255)
    mean, std = hparams.get("input_normalization") or (0.0, 1.0)
    generator = torch.Generator().manual_seed(int(hparams["seed"]) + seed_offset)
    layer = nn.Linear(NUM_PIXELS, NUM_CLASSES)
    with torch.no_grad():  # nn.Linear's default initialisation, from the grader's generator
        bound = 1 / math.sqrt(NUM_PIXELS)
        layer.weight.uniform_(-bound, bound, generator=generator)
        layer.bias.uniform_(-bound, bound, generator=generator)
    options = {"lr": hparams["learning_rate"], "weight_decay": hparams.get("weight_decay", 0.0)}
    if hparams.get("momentum"):
        options["momentum"] = hparams["momentum"]
    optimizer = getattr(torch.optim, hparams["optimizer"])(layer.parameters(), **options)
    batch_size = hparams["batch_size"]
    for _ in range(hparams["num_epochs"]):
        for rows in torch.randperm(len(labels), generator=generator).split(batch_size):
            batch_loss = nn.functional.cross_entropy(layer((X[rows] - mean) / std), labels[rows])
            optimizer.zero_grad()
            batch_loss.backward()
            optimizer.step()
    with torch.no_grad():  # fold the normalisation into the map: W x' + b with x' = (x - m) / s
        W = layer.weight.T / std
        b = layer.bias - mean / std * layer.weight.sum(dim=1)
    return W, b


class Measurements(common.Measurements):
    """What the grader measures itself, each computed on first use: accuracy and losses of the
    submitted affine map on the real data, and the reproduced training."""

    def _scores(self, train: bool) -> Tensor:
        images, labels = read_fashion_mnist(train=train)
        model = self.artifacts["model"]
        return images.reshape(-1, NUM_PIXELS).float().div(255) @ model["W"] + model["b"], labels

    @cached_property
    def test_accuracy(self) -> float:
        """Accuracy of the submitted map on the 10,000 test images."""
        scores, labels = self._scores(train=False)
        return float((scores.argmax(dim=1) == labels).float().mean())

    @cached_property
    def generalization_gap(self) -> float:
        """Mean cross-entropy on the test images minus that on the training images."""
        losses = [nn.functional.cross_entropy(*self._scores(train)) for train in (False, True)]
        return float(losses[0] - losses[1])

    @cached_property
    def reproduced_weight_norm(self) -> float:
        """Norm of ``W`` after the grader's own training with the recorded hyperparameters."""
        W, _ = reproduce(self.artifacts["hparams"])
        return float(W.norm())


# --- checks: each raises AssertionError with a message for the student --------------------


def check_hyperparameters(artifacts: Mapping[str, Any], measured: Measurements) -> None:
    available(artifacts, "hparams")
    hparams = artifacts["hparams"]
    check_hparams(hparams, MAX_EPOCHS, min_epochs=2)
    for key in ("weight_decay", "momentum"):
        value = hparams.get(key, 0.0)
        assert is_number(value) and value >= 0, (
            f"hparams['{key}'] must be a number >= 0 if recorded, got {value!r}")
    normalization = hparams.get("input_normalization")
    assert normalization is None or (
        isinstance(normalization, list) and len(normalization) == 2
        and all(is_number(v) for v in normalization) and normalization[1] > 0
    ), f"hparams['input_normalization'] must be None or (mean, std), got {normalization!r}"


def check_data(artifacts: Mapping[str, Any], measured: Measurements) -> None:
    available(artifacts, "data", "hparams")
    expected_examples = {"train_iter": 60_000, "test_iter": 10_000}
    for name, info in artifacts["data"].items():
        check_loader(name, info)
        assert info["num_examples"] == expected_examples[name], (
            f"`{name}` holds {info['num_examples']:,} examples; the Fashion-MNIST "
            f"{'training' if name == 'train_iter' else 'test'} split has "
            f"{expected_examples[name]:,}")
    batch = artifacts["data"]["train_iter"]["batch_shape"][0]
    assert batch == artifacts["hparams"].get("batch_size"), (
        f"minibatches of `train_iter` hold {batch} examples, "
        f"but hparams['batch_size'] is {artifacts['hparams'].get('batch_size')!r}")


def check_model(artifacts: Mapping[str, Any], measured: Measurements) -> None:
    available(artifacts, "model")
    model = artifacts["model"]
    flat = model["probe_inputs"].reshape(-1, NUM_PIXELS)
    predicted = flat @ model["W"] + model["b"]
    error = float((predicted - model["probe_outputs"]).abs().max())
    scale = float(model["probe_outputs"].abs().max()) + 1.0
    assert error <= 1e-3 * scale, (
        "`net` is not one affine map 784 -> 10: on random images its outputs differ from the "
        f"affine map's by up to {error:.3g}; remove hidden layers, activations and softmax")


def check_loss_and_optimizer(artifacts: Mapping[str, Any], measured: Measurements) -> None:
    available(artifacts, "loss")
    value = artifacts["loss"]
    assert abs(value - math.log(NUM_CLASSES)) < 1e-4, (
        "`loss` should be the cross-entropy of softmax(logits): for all-zero logits it is "
        f"log(10) = 2.3026, got {value:.4f}")
    available(artifacts, "optimizer", "hparams")
    optimizer, hparams = artifacts["optimizer"], artifacts["hparams"]
    assert optimizer["name"] == hparams.get("optimizer"), (
        f"`optimizer` is {optimizer['name']} but hparams['optimizer'] says "
        f"{hparams.get('optimizer')!r}")
    for key in ("learning_rate", "weight_decay", "momentum"):
        recorded = hparams.get(key, OPTIONAL_HPARAMS.get(key))
        assert optimizer[key] == recorded, (
            f"`optimizer` has {key} {optimizer[key]} but hparams records {recorded!r}")
    assert optimizer["covers_net"], (
        "`optimizer` must update exactly the parameters of `net`; "
        "create it after `net`, from net.parameters()")


def check_training(artifacts: Mapping[str, Any], measured: Measurements) -> None:
    available(artifacts, "history", "hparams")
    check_history(artifacts["history"], artifacts["hparams"].get("num_epochs"))


def check_test_accuracy(artifacts: Mapping[str, Any], measured: Measurements) -> None:
    available(artifacts, "model")
    common.check_test_accuracy(measured.test_accuracy, MIN_TEST_ACCURACY)


def check_reported_accuracy(artifacts: Mapping[str, Any], measured: Measurements) -> None:
    available(artifacts, "results", "model")
    results = artifacts["results"]
    assert isinstance(results, dict), "`results` must be a dict"
    missing = sorted({"final_train_loss", "test_accuracy"} - set(results))
    assert not missing, f"`results` lacks the keys {missing}"
    loss = results["final_train_loss"]
    assert is_number(loss) and loss > 0, (
        f"results['final_train_loss'] must be a positive number, got {loss!r}")
    reported = results["test_accuracy"]
    assert is_number(reported) and 0 <= reported <= 1, (
        f"results['test_accuracy'] must be a number in [0, 1], got {reported!r}")
    assert abs(reported - measured.test_accuracy) <= REPORT_TOLERANCE, (
        f"results['test_accuracy'] is {reported:.4f} but the grader measured "
        f"{measured.test_accuracy:.4f} for `net` on the 10,000 test images; report the "
        "accuracy your trained model has")


def check_reproduction(artifacts: Mapping[str, Any], measured: Measurements) -> None:
    check_model(artifacts, measured)  # only an affine map can be compared with the grader's
    check_hyperparameters(artifacts, measured)
    gap = measured.generalization_gap
    assert gap >= MIN_GENERALIZATION_GAP, (
        f"the model fits the test images as well as the training images or better (test loss "
        f"minus training loss: {gap:+.3f}; trained on the training split only, it is about "
        "+0.03): the test images must not be used for training")
    norm, reproduced = float(artifacts["model"]["W"].norm()), measured.reproduced_weight_norm
    assert abs(norm - reproduced) <= WEIGHT_NORM_TOLERANCE * reproduced, (
        f"the grader trained softmax regression with your recorded hparams and got weights "
        f"of norm {reproduced:.2f}; yours have norm {norm:.2f}. The record does not describe "
        "how this model was trained (optimizer, learning rate, weight decay, epochs, batch "
        "size or input normalisation)")


CHECKS: dict[str, Callable[[Mapping[str, Any], Measurements], None]] = {
    "hyperparameters": check_hyperparameters,
    "data": check_data,
    "model": check_model,
    "loss_and_optimizer": check_loss_and_optimizer,
    "training": check_training,
    "test_accuracy": check_test_accuracy,
    "reported_accuracy": check_reported_accuracy,
    "reproduction": check_reproduction,
}
"""Question name (as in the instructor notebook) -> its check."""

feedback = common.make_feedback(export, CHECKS, Measurements)
"""``feedback(question, **names)``: the grader's check of ``question`` on the student's live
objects, for ``grader.check`` in the notebook; raises ``AssertionError`` with its message."""
