"""Spread over seeds: how much a notebook's headline accuracy depends on the random seed.

Trains softmax regression as ``notebooks/02-linear-networks/08-softmax-regression-concise``
does (one ``nn.Linear(784, 10)``, weights from N(0, 0.01^2), SGD with learning rate 0.1,
batch size 256, 10 epochs, full Fashion-MNIST) once per seed, and prints a Markdown table of
the final test accuracies with their minimum, mean and maximum. Seed 0 is the notebook's own
run. The notebooks cite this table instead of typing numbers from several runs.

Run: ``python benchmarks/seed_spread.py [--seeds 0 1 2]`` (about 10-30 s per seed on 2 CPU cores).
"""

import argparse
import os
import statistics

os.environ.pop("D2L_REDUCED", None)  # the full-size run, whatever the shell says

import torch  # noqa: E402
from torch import nn  # noqa: E402

import d2lhelpers as d2l  # noqa: E402


def softmax_regression_test_accuracy(seed: int) -> float:
    """Final test accuracy of the concise softmax regression notebook's training, seeded."""
    d2l.seed_everything(seed)
    train_iter, test_iter = d2l.load_data_fashion_mnist(batch_size=256)
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    torch.manual_seed(seed)
    nn.init.normal_(net[1].weight, std=0.01)
    nn.init.zeros_(net[1].bias)
    history = d2l.train_classifier(
        net, train_iter, test_iter, num_epochs=10, lr=0.1, device=d2l.cpu(), plot=False
    )
    return history.test_acc[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    accuracies = [softmax_regression_test_accuracy(seed) for seed in args.seeds]
    print("\n| model | " + " | ".join(f"seed {s}" for s in args.seeds) + " | min | mean | max |")
    print("|---" * (len(args.seeds) + 4) + "|")
    cells = [f"{a:.4f}" for a in accuracies]
    summary = [f"{f(accuracies):.4f}" for f in (min, statistics.mean, max)]
    print("| softmax regression (concise), test accuracy | " + " | ".join(cells + summary) + " |")


if __name__ == "__main__":
    main()
