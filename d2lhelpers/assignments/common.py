"""What every assignment's export step and checks share: plain data, data fingerprints, the
hyperparameter record and the comparison of reported with measured figures."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping
from functools import cache, cached_property
from typing import Any

import torch
from torch import Tensor, nn

from ..fashion_mnist import read_fashion_mnist
from .network import Network

REPORT_TOLERANCE = 0.01
"""Largest allowed difference between a reported accuracy and the grader's measurement."""
MIN_GENERALIZATION_GAP = 0.01
"""Least amount by which the loss on held-out images must exceed the loss on the training
images. Trained on the training images only, the book's models show gaps of 0.03 or more;
trained on the held-out images too, the gap is at or below zero."""
HPARAM_KEYS = ("learning_rate", "batch_size", "num_epochs", "optimizer", "seed")
Exports = dict[str, tuple[tuple[str, ...], Callable[..., Any]]]
"""Artifact name -> (the notebook's names it is made of, how it is made)."""


def plain(value: Any) -> Any:
    """``value`` as plain data: numbers (a one-element tensor is a number), strings, lists,
    dicts and tensors; anything else as its ``repr``, so the grader never unpickles objects."""
    if isinstance(value, Tensor):
        value = value.detach().cpu()
        return value.item() if value.numel() == 1 else value.clone()
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if hasattr(value, "item") and getattr(value, "size", None) == 1:  # a numpy scalar
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return f"<{type(value).__name__}: {repr(value)[:100]}>"


def export(exports: Exports, namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The artifacts of a finished submission, made from the names its notebook defined.

    Runs in the student's kernel. Never raises: what cannot be exported is recorded in
    ``artifacts["errors"]`` (artifact name -> message) and checked as missing.
    """
    artifacts: dict[str, Any] = {"errors": {}}
    for key, (names, make) in exports.items():
        missing = [name for name in names if name not in namespace]
        if missing:
            artifacts["errors"][key] = f"`{missing[0]}` is not defined"
            continue
        try:
            artifacts[key] = make(*(namespace[name] for name in names))
        except Exception as error:  # a broken model or loader: the check says what failed
            artifacts["errors"][key] = f"{type(error).__name__}: {error}"
    return artifacts


def fingerprints(images: Tensor) -> Tensor:
    """One int64 hash per image of uint8 images ``(N, 28, 28)``: which images a loader yields."""
    rows = images.reshape(len(images), -1).contiguous().numpy()
    return torch.tensor(
        [int.from_bytes(hashlib.blake2b(row.tobytes(), digest_size=8).digest(), "little",
                        signed=True) for row in rows], dtype=torch.int64
    )  # fmt: skip


def export_loader(loader: Any) -> dict[str, Any]:
    """What a loader of Fashion-MNIST minibatches yields in one pass: the first minibatch's
    shapes and types, the range of pixel values, and a fingerprint of every image (images are
    assumed to be in [0, 1], as ``d2l.load_data_fashion_mnist`` serves them)."""
    shapes, prints, low, high = None, [], math.inf, -math.inf
    for X, y in loader:
        if shapes is None:
            shapes = {"batch_shape": list(X.shape), "batch_dtype": str(X.dtype),
                      "label_shape": list(y.shape), "label_dtype": str(y.dtype)}  # fmt: skip
        X = X.detach().cpu()
        low, high = min(low, float(X.min())), max(high, float(X.max()))
        prints.append(fingerprints(X.reshape(len(X), 28, 28).mul(255).round().to(torch.uint8)))
    if shapes is None:
        raise ValueError("it yields no minibatches")
    prints = torch.cat(prints)
    return {**shapes, "min": low, "max": high, "num_examples": len(prints),
            "fingerprints": prints}  # fmt: skip


@cache
def real_split(train: bool) -> tuple[Tensor, Tensor, Tensor]:
    """The grader's copy of a Fashion-MNIST split: uint8 images, labels, fingerprints."""
    images, labels = read_fashion_mnist(train=train)
    return images, labels, fingerprints(images)


def locate(data: Mapping[str, Any], train: bool) -> Tensor:
    """Indices into the real split of the images a loader yielded (see :func:`export_loader`),
    for those found there; each image is counted once."""
    prints = real_split(train)[2]
    return torch.nonzero(torch.isin(prints, data["fingerprints"])).flatten()


class Measurements:
    """What the grader measures itself; each assignment adds properties computed on first use.

    Args:
        artifacts: what the assignment's export step handed over.
        run: the grader's measurement of the notebook's run, ``{"seconds": wall-clock
            seconds, "threads": CPU threads it was given}``; ``None`` in the student's kernel.
    """

    def __init__(self, artifacts: Mapping[str, Any], run: Mapping[str, float] | None = None):
        self.artifacts = artifacts
        self.run = run


class NetworkMeasurements(Measurements):
    """Measurements of an assignment whose ``net`` is handed over by
    :func:`.network.export_network` as the artifact ``model``."""

    @cached_property
    def net(self) -> Network:
        """The submitted ``net``; fails the check, saying why, if the grader cannot run it."""
        try:
            return Network(self.artifacts["model"])
        except ValueError as error:
            raise AssertionError(f"the grader cannot run `net`: {error}") from None


def make_feedback(
    export: Callable[[Mapping[str, Any]], dict[str, Any]],
    checks: Mapping[str, Callable[[Mapping[str, Any], Any], None]],
    measurements: Callable[[Mapping[str, Any]], Any],
) -> Callable[..., None]:
    """An assignment's ``feedback(question, **names)`` for its in-notebook checks."""

    def feedback(question: str, **names: Any) -> None:
        """Run the grader's check of ``question`` on the student's live objects (in-notebook
        feedback through ``grader.check``); raises ``AssertionError`` with the grader's
        message."""
        artifacts = export(names)
        checks[question](artifacts, measurements(artifacts))

    return feedback


def kernel_run() -> dict[str, float]:
    """The student's kernel as a run so far: seconds since it started, and its threads."""
    import time

    import psutil

    seconds = time.time() - psutil.Process().create_time()
    return {"seconds": seconds, "threads": torch.get_num_threads()}


def mean_loss_and_accuracy(logits: Tensor, labels: Tensor) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of logits ``(N, 10)`` for labels ``(N,)``."""
    loss = float(nn.functional.cross_entropy(logits, labels))
    return loss, float((logits.argmax(dim=1) == labels).float().mean())


# --- checks: each raises AssertionError with a message for the student --------------------


def available(artifacts: Mapping[str, Any], *keys: str) -> None:
    """Fail if any of the artifacts ``keys`` could not be exported, saying why."""
    for key in keys:
        error = artifacts.get("errors", {}).get(key)
        assert error is None, f"could not read the submission's {key}: {error}"


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_hparams(hparams: Any, max_epochs: int, min_epochs: int = 1) -> None:
    """The record of :data:`HPARAM_KEYS`, each of the type and range the task asks for."""
    assert isinstance(hparams, dict), f"`hparams` must be a dict, got {hparams!r}"
    missing = sorted(set(HPARAM_KEYS) - set(hparams))
    assert not missing, f"`hparams` lacks the keys {missing}"
    lr = hparams["learning_rate"]
    assert is_number(lr) and 0 < lr <= 10, (
        f"hparams['learning_rate'] must be a number in (0, 10], got {lr!r}")
    batch_size = hparams["batch_size"]
    assert is_int(batch_size) and 1 <= batch_size <= 60_000, (
        f"hparams['batch_size'] must be an int in [1, 60000], got {batch_size!r}")
    num_epochs = hparams["num_epochs"]
    assert is_int(num_epochs) and min_epochs <= num_epochs <= max_epochs, (
        f"hparams['num_epochs'] must be an int in [{min_epochs}, {max_epochs}], "
        f"got {num_epochs!r}")
    name = hparams["optimizer"]
    assert isinstance(name, str) and isinstance(getattr(torch.optim, name, None), type), (
        f"hparams['optimizer'] must name a torch.optim class such as 'SGD', got {name!r}")
    seed = hparams["seed"]
    assert is_int(seed) and 0 <= seed < 2**32, (
        f"hparams['seed'] must be an int in [0, 2**32), got {seed!r}")


def check_loader(name: str, info: Mapping[str, Any]) -> None:
    """A loader yields Fashion-MNIST minibatches: images (B, 1, 28, 28) in [0, 1], labels."""
    assert info["batch_shape"][1:] == [1, 28, 28] and info["batch_dtype"] == "torch.float32", (
        f"`{name}` should yield images of shape (B, 1, 28, 28), float32; "
        f"got {tuple(info['batch_shape'])}, {info['batch_dtype']}")
    assert info["label_shape"] == info["batch_shape"][:1], (
        f"`{name}` should yield labels of shape (B,); got {tuple(info['label_shape'])}")
    assert info["label_dtype"] == "torch.int64", (
        f"`{name}` should yield int64 labels, got {info['label_dtype']}")
    assert 0 <= info["min"] and info["max"] <= 1, f"`{name}` should yield pixel values in [0, 1]"


def check_whole_split(name: str, info: Mapping[str, Any], train: bool) -> None:
    """A loader yields every image of the real training or test split, once."""
    check_loader(name, info)
    split = "training" if train else "test"
    size = len(real_split(train)[1])
    assert info["num_examples"] == size and len(locate(info, train)) == len(
        set(info["fingerprints"].tolist())), (
        f"`{name}` should yield the {size:,} images of the Fashion-MNIST {split} split; it "
        f"yields {info['num_examples']:,} images, of which {len(locate(info, train)):,} are "
        f"{split} images")  # fmt: skip


def check_history(history: Any, num_epochs: Any) -> None:
    """``history["train_loss"]`` holds one finite mean loss per epoch, and it decreased."""
    assert isinstance(history, dict) and isinstance(history.get("train_loss"), list), (
        "`history` must be a dict whose 'train_loss' is a list with one mean loss per epoch")
    losses = history["train_loss"]
    assert len(losses) == num_epochs, (
        f"history['train_loss'] has {len(losses)} entries, one per epoch is {num_epochs!r}")
    assert all(is_number(v) for v in losses), (
        f"every training loss must be a finite number, got {losses}")
    assert len(losses) < 2 or losses[-1] < 0.99 * losses[0], (
        f"the training loss did not decrease over the run: {losses[0]:.4f} after the first "
        f"epoch, {losses[-1]:.4f} after the last; is the optimizer stepping?")


def check_test_accuracy(accuracy: float, threshold: float) -> None:
    """The grader's measurement of ``net`` on the test images reaches ``threshold``."""
    assert accuracy >= threshold, (
        f"the grader measured a test accuracy of {accuracy:.4f} for `net` on the 10,000 test "
        f"images; at least {threshold:.2f} is required")


def check_reported(results: Any, key: str, measured: float, what: str) -> None:
    """``results[key]`` is a number within :data:`REPORT_TOLERANCE` of the grader's
    ``measured`` value of ``what``."""
    assert isinstance(results, dict), "`results` must be a dict"
    assert key in results, f"`results` lacks the key {key!r}"
    reported = results[key]
    assert is_number(reported) and 0 <= reported <= 1, (
        f"results[{key!r}] must be a number in [0, 1], got {reported!r}")
    assert abs(reported - measured) <= REPORT_TOLERANCE, (
        f"results[{key!r}] is {reported:.4f} but the grader measured {measured:.4f} for {what}; "
        "report the accuracy your trained model has")


def check_held_out(gap: float, held_out: str) -> None:
    """The model fits its training images better than the held-out ones by at least
    :data:`MIN_GENERALIZATION_GAP` (mean cross-entropy)."""
    assert gap >= MIN_GENERALIZATION_GAP, (
        f"`net` fits the {held_out} as well as its training images or better (loss on them "
        f"minus training loss: {gap:+.3f}; trained on the training images only, it is "
        f"+{3 * MIN_GENERALIZATION_GAP:.2f} or more): the {held_out} must not be used for "
        "training")
