"""Choosing the modern CNNs' sizes and schedules on a validation split, never on the test set.

Holds out 5,000 of the 60,000 Fashion-MNIST training images (a fixed random choice), trains
one scaled network of chapter 4 on the other 55,000 with the chapter's recipe (standardized
inputs, SGD with momentum 0.9 and weight decay, cosine schedule, batch size 128,
channels-last memory format) and prints the validation accuracy after every epoch, the
training accuracy and the minutes taken, as one JSON line. ``benchmarks/README.md`` lists
what was tried; the notebooks then train the chosen setting once on all 60,000 images and
report test accuracy.

Run: ``python benchmarks/modern_cnn_selection.py --model resnet --epochs 12 --lr 0.1``
(add ``--knobs '{"arch": [[1, 16], [1, 32], [1, 64]]}'`` to override the scaled network's
arguments, ``--flip`` for random horizontal flips of the training images, ``--init kaiming``
for Kaiming-normal weights and zero biases in every convolution and linear layer).
"""

import argparse
import json
import os
import time

os.environ.pop("D2L_REDUCED", None)  # the full-size run, whatever the shell says

import torch  # noqa: E402
import torchvision  # noqa: E402
from torch import nn  # noqa: E402

import d2lhelpers as d2l  # noqa: E402

# The scaled networks the notebooks train: 28 x 28 single-channel input, 10 classes.
SCALED = {
    "alexnet": (d2l.alexnet, dict(image_size=28, channels=(24, 64, 96, 96, 64), hidden=512,
                                  first_kernel=5, first_stride=1)),
    "vgg": (d2l.vgg, dict(arch=((1, 16), (1, 32), (2, 64), (2, 128)), image_size=28,
                          hidden=512)),
    "nin": (d2l.nin, dict(channels=(16, 48, 64), first_kernel=5, first_stride=1)),
    "googlenet": (d2l.googlenet, dict(width=0.125, stem_kernel=3, stem_stride=1)),
    "resnet": (d2l.resnet, dict(arch=((1, 32), (1, 64), (1, 128)), stem_kernel=3,
                                stem_stride=1)),
    "densenet": (d2l.densenet, dict(arch=(4, 4, 4), growth_rate=12, init_channels=24,
                                    stem_kernel=3, stem_stride=1)),
}
VALIDATION_EXAMPLES = 5_000


def split_loaders(batch_size: int, flip: bool) -> tuple[d2l.TensorLoader, d2l.TensorLoader]:
    """Training (55,000) and validation (5,000) minibatches carved from the training set."""
    images, labels = d2l.read_fashion_mnist(train=True)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))
    valid, train = order[:VALIDATION_EXAMPLES], order[VALIDATION_EXAMPLES:]

    def to_float(X: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return X.unsqueeze(1).float().div_(255), y

    def augment(X: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        X, y = to_float(X, y)
        if flip:  # mirror a random half of the minibatch
            X = torch.where(torch.rand(len(X), 1, 1, 1) < 0.5, X.flip(-1), X)
        return X, y

    return (d2l.TensorLoader(images[train], labels[train], batch_size=batch_size, shuffle=True,
                             transform=augment),
            d2l.TensorLoader(images[valid], labels[valid], batch_size=512, transform=to_float))


def init_kaiming(module: nn.Module) -> None:
    """Kaiming-normal weights (He et al., 2015) and zero biases for ReLU networks without batch
    norm, whose default initialization can leave them at chance (notebooks 9 and 10)."""
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        nn.init.zeros_(module.bias)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=sorted(SCALED), required=True)
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--lr", type=float, required=True)
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--knobs", type=json.loads, default={})
    parser.add_argument("--flip", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--init", choices=("default", "kaiming"), default="default")
    args = parser.parse_args()

    train_iter, valid_iter = split_loaders(args.batch_size, args.flip)
    X_train, _ = train_iter.transform(*train_iter.tensors)
    standardize = torchvision.transforms.Normalize([X_train.mean().item()],
                                                   [X_train.std().item()])
    build, knobs = SCALED[args.model]
    knobs = {**knobs, **args.knobs}
    d2l.seed_everything(args.seed)
    body = build(num_classes=10, in_channels=1, **knobs)
    if args.init == "kaiming":
        body.apply(init_kaiming)
    net = nn.Sequential(standardize, body)
    net.to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(net.parameters(), lr=args.lr, momentum=0.9,
                                weight_decay=args.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    start = time.perf_counter()
    history = d2l.train_classifier(net, train_iter, valid_iter, args.epochs, optimizer=optimizer,
                                   scheduler=scheduler, device=d2l.cpu(), plot=False)
    print(json.dumps({
        "model": args.model, "knobs": knobs, "epochs": args.epochs, "lr": args.lr,
        "weight_decay": args.weight_decay, "flip": args.flip, "seed": args.seed,
        "init": args.init,
        "multiply_adds": d2l.multiply_adds(net, (1, 1, 28, 28)),
        "valid_acc": [round(a, 4) for a in history.test_acc],
        "train_acc": [round(a, 4) for a in history.train_acc],
        "minutes": round((time.perf_counter() - start) / 60, 2),
    }))


if __name__ == "__main__":
    main()
