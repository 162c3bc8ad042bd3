"""Evaluating and training classifiers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from . import reduced
from .animator import Animator
from .devices import try_gpu
from .timing import Accumulator, Timer
from .validation import check_int

Batches = Iterable[tuple[Tensor, Tensor]]


def accuracy(y_hat: Tensor, y: Tensor) -> int:
    """Number of correct predictions.

    Args:
        y_hat: logits or probabilities of shape ``(B, num_classes)``, or predicted labels
            of shape ``(B,)``.
        y: true labels, shape ``(B,)``.

    Source: d2l §3.6 (softmax regression from scratch).
    """
    if y_hat.ndim > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(dim=1)
    if y_hat.numel() != y.numel():
        raise ValueError(
            f"accuracy(y_hat, y): y_hat of shape {tuple(y_hat.shape)} does not match "
            f"y of shape {tuple(y.shape)}"
        )
    # reshape: predictions of shape (B, 1) must compare element-wise, not broadcast to (B, B).
    return int((y_hat.reshape(y.shape).type(y.dtype) == y).sum())


def _device_of(net: nn.Module) -> torch.device:
    param = next(net.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def evaluate_accuracy(
    net: nn.Module, data_iter: Batches, device: torch.device | None = None
) -> float:
    """Fraction of examples in ``data_iter`` that ``net`` classifies correctly.

    The network is put in evaluation mode (``net.eval()``) and left there.

    Args:
        net: maps ``X`` of shape ``(B, ...)`` to logits of shape ``(B, num_classes)``.
        data_iter: yields ``(X, y)`` with ``y`` of shape ``(B,)``, dtype int64.
        device: where to evaluate; defaults to the device of ``net``'s parameters.

    Returns:
        Accuracy in [0, 1].

    Raises:
        ValueError: if ``data_iter`` yields no examples.

    Source: the accuracy metric of d2l §3.6 (softmax regression from scratch).
    """
    device = device or _device_of(net)
    net.eval()
    correct, total = 0, 0
    with torch.no_grad():
        for X, y in data_iter:
            X, y = X.to(device), y.to(device)
            correct += accuracy(net(X), y)
            total += y.numel()
    if total == 0:
        raise ValueError("evaluate_accuracy(data_iter): data_iter yielded no examples")
    return correct / total


@dataclass
class TrainingHistory:
    """Per-epoch results of :func:`train_classifier` (one list entry per epoch)."""

    train_loss: list[float] = field(default_factory=list)
    """Mean training loss over the epoch's minibatches, weighted by batch size."""
    train_acc: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    examples_trained: int = 0
    """Training examples processed, summed over all epochs."""
    seconds: float = 0.0
    """Wall-clock time of the whole training call, evaluation and plotting included."""

    @property
    def examples_per_sec(self) -> float:
        """Training examples per second of the whole call (evaluation included)."""
        return self.examples_trained / self.seconds


def train_classifier(
    net: nn.Module,
    train_iter: Batches,
    test_iter: Batches,
    num_epochs: int,
    lr: float | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    loss: Callable[[Tensor, Tensor], Tensor] | None = None,
    device: torch.device | None = None,
    plot: bool = True,
    max_epochs: int | None = None,
) -> TrainingHistory:
    """Train a classifier with minibatch SGD (or ``optimizer``), plotting progress live.

    The plot shows one point per epoch: the epoch's mean training loss and accuracy, and the
    test accuracy after it. The printed throughput is training examples per second of the
    whole call, so it matches the cell's wall time (evaluation and plotting included).

    Args:
        net: maps ``X`` of shape ``(B, ...)`` to logits of shape ``(B, num_classes)``.
        train_iter, test_iter: yield ``(X, y)``, ``y`` int64 of shape ``(B,)``.
        num_epochs: passes over ``train_iter``.
        lr: learning rate of ``torch.optim.SGD``, when ``optimizer`` is not given.
        optimizer: an optimizer over ``net``'s parameters.
        scheduler: a learning-rate schedule of ``optimizer``, stepped once after each epoch
            (e.g. ``CosineAnnealingLR(optimizer, T_max=num_epochs)``).
        loss: mean loss over a minibatch; default ``nn.CrossEntropyLoss()`` on logits.
        device: where to train; default :func:`try_gpu`. ``net`` is moved there.
        plot: draw the live :class:`Animator` of loss and accuracies.
        max_epochs: train at most this many epochs. Default ``None``: no cap, except in
            reduced mode (``D2L_REDUCED=1``), where it is ``reduced.MAX_EPOCHS`` (2).

    Returns:
        The per-epoch :class:`TrainingHistory`.

    Raises:
        ValueError: unless exactly one of ``lr`` and ``optimizer`` is given, if ``scheduler``
            schedules another optimizer, or if ``num_epochs`` or ``max_epochs`` is not a
            positive int.

    Source: ``train_ch3`` / ``train_ch6`` of d2l §3.6 and §6.6, merged.
    """
    if (lr is None) == (optimizer is None):
        raise ValueError("train_classifier: give exactly one of lr and optimizer")
    if scheduler is not None and scheduler.optimizer is not optimizer:
        raise ValueError("train_classifier(scheduler): scheduler must schedule optimizer")
    check_int("num_epochs", num_epochs)
    if max_epochs is not None:
        check_int("max_epochs", max_epochs)
    cap = reduced.reduced_default(max_epochs, reduced.MAX_EPOCHS)
    if cap is not None and num_epochs > cap:
        if max_epochs is None:
            reduced.notify(f"training {cap} of {num_epochs} epochs")
        num_epochs = cap
    device = device or try_gpu()
    net.to(device)
    optimizer = optimizer or torch.optim.SGD(net.parameters(), lr=lr)
    loss = loss or nn.CrossEntropyLoss()
    legend = ("train loss", "train acc", "test acc")
    animator = Animator(xlabel="epoch", xlim=(0, num_epochs), legend=legend) if plot else None
    history, timer = TrainingHistory(), Timer()
    for epoch in range(num_epochs):
        metric = Accumulator(3)  # summed loss, number correct, number of examples
        net.train()
        for X, y in train_iter:
            X, y = X.to(device), y.to(device)
            y_hat = net(X)
            batch_loss = loss(y_hat, y)
            optimizer.zero_grad()
            batch_loss.backward()
            optimizer.step()
            with torch.no_grad():
                metric.add(float(batch_loss) * len(y), accuracy(y_hat, y), len(y))
        if metric[2] == 0:
            raise ValueError("train_classifier(train_iter): train_iter yielded no examples")
        history.train_loss.append(metric[0] / metric[2])
        history.train_acc.append(metric[1] / metric[2])
        history.examples_trained += int(metric[2])
        if scheduler:
            scheduler.step()
        history.test_acc.append(evaluate_accuracy(net, test_iter, device))
        # Epoch means, not running averages within an epoch: those restart at every epoch
        # and would make the curves jump at epoch boundaries.
        if animator:
            animator.add(
                epoch + 1, (history.train_loss[-1], history.train_acc[-1], history.test_acc[-1])
            )
    if animator:
        animator.finish()
    history.seconds = timer.stop()
    print(
        f"loss {history.train_loss[-1]:.3f}, train acc {history.train_acc[-1]:.3f}, "
        f"test acc {history.test_acc[-1]:.3f}\n"
        f"{history.examples_per_sec:,.0f} examples/s on {device} "
        f"({history.examples_trained:,} training examples in {history.seconds:.1f} s, "
        f"{history.seconds / num_epochs:.1f} s per epoch, evaluation included)"
    )
    return history
