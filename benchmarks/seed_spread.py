"""Spread over seeds: how much the notebooks' headline accuracies depend on the random seed.

Trains each model the way its notebook does, once per seed (``d2l.seed_everything(seed)`` just
before the network is built), on the full Fashion-MNIST data, and prints a Markdown table of
the final test accuracies with their minimum, mean and maximum:

- softmax regression, ``notebooks/02-linear-networks/08-softmax-regression-concise``: the first
  training (raw pixels, SGD with learning rate 0.1, 10 epochs) and the better one (standardized
  inputs, cosine schedule from 0.1 over 30 epochs);
- the MLP of ``notebooks/03-multilayer-perceptrons/03-mlp-concise`` (784-256-10, standardized
  inputs, cosine schedule from 0.2 over 30 epochs);
- the modern LeNet of ``notebooks/04-convolutional-networks/06-lenet`` (batch norm, ReLU, max
  pooling, Xavier initialization, cosine schedule from 0.3 over 15 epochs).

Batch size 256 throughout. The notebooks cite this table instead of typing numbers from
several runs.

Run: ``python benchmarks/seed_spread.py [--seeds 0 1 2] [--models softmax mlp lenet]``
(on 2 idle CPU cores about 15 s per seed for softmax regression, 30 s for the MLP and 2 min
for LeNet).
"""

import argparse
import os
import statistics
from collections.abc import Callable

os.environ.pop("D2L_REDUCED", None)  # the full-size run, whatever the shell says

import torch  # noqa: E402
import torchvision  # noqa: E402
from torch import nn  # noqa: E402

import d2lhelpers as d2l  # noqa: E402

TRAIN_ITER, TEST_ITER = d2l.load_data_fashion_mnist(batch_size=256)
X_TRAIN, _ = TRAIN_ITER.transform(*TRAIN_ITER.tensors)
STANDARDIZE = torchvision.transforms.Normalize([X_TRAIN.mean().item()], [X_TRAIN.std().item()])


def normal_init(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, std=0.01)
        nn.init.zeros_(module.bias)


def xavier_init(module: nn.Module) -> None:
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        nn.init.xavier_uniform_(module.weight)
        nn.init.zeros_(module.bias)


def test_accuracy(net: nn.Module, lr: float, num_epochs: int, cosine: bool) -> float:
    """Final test accuracy after training ``net`` with SGD (and a cosine schedule)."""
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    scheduler = (
        torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=num_epochs) if cosine else None
    )
    history = d2l.train_classifier(
        net,
        TRAIN_ITER,
        TEST_ITER,
        num_epochs,
        optimizer=optimizer,
        scheduler=scheduler,
        device=d2l.cpu(),
        plot=False,
    )
    return history.test_acc[-1]


def softmax_raw() -> float:
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    net.apply(normal_init)
    return test_accuracy(net, lr=0.1, num_epochs=10, cosine=False)


def softmax_better() -> float:
    net = nn.Sequential(STANDARDIZE, nn.Flatten(), nn.Linear(784, 10))
    net.apply(normal_init)
    return test_accuracy(net, lr=0.1, num_epochs=30, cosine=True)


def mlp() -> float:
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    net.apply(normal_init)
    return test_accuracy(nn.Sequential(STANDARDIZE, net), lr=0.2, num_epochs=30, cosine=True)


def lenet_modern() -> float:
    net = nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.BatchNorm2d(6), nn.ReLU(),
        nn.MaxPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.BatchNorm2d(16), nn.ReLU(),
        nn.MaxPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.BatchNorm1d(120), nn.ReLU(),
        nn.Linear(120, 84), nn.BatchNorm1d(84), nn.ReLU(),
        nn.Linear(84, 10),
    )  # fmt: skip
    net.apply(xavier_init)
    return test_accuracy(net, lr=0.3, num_epochs=15, cosine=True)


MODELS: dict[str, list[tuple[str, Callable[[], float]]]] = {
    "softmax": [
        ("softmax regression (concise, first training: raw pixels, 10 epochs)", softmax_raw),
        ("softmax regression (concise, standardized, cosine, 30 epochs)", softmax_better),
    ],
    "mlp": [("MLP (concise)", mlp)],
    "lenet": [("modern LeNet", lenet_modern)],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    args = parser.parse_args()
    rows = []
    for name, train in (entry for key in args.models for entry in MODELS[key]):
        accuracies = []
        for seed in args.seeds:
            d2l.seed_everything(seed)
            accuracies.append(train())
        cells = [f"{a:.4f}" for a in accuracies]
        cells += [f"{f(accuracies):.4f}" for f in (min, statistics.mean, max)]
        rows.append(f"| {name}, test accuracy | " + " | ".join(cells) + " |")
    print("\n| model | " + " | ".join(f"seed {s}" for s in args.seeds) + " | min | mean | max |")
    print("|---" * (len(args.seeds) + 4) + "|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
