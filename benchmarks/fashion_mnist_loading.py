"""One pass over the Fashion-MNIST training set, batch 256: d2lhelpers vs. the d2l way.

The d2l way is a torchvision ``DataLoader`` over ``FashionMNIST(transform=ToTensor())`` with
4 worker processes, which converts every image separately. Both read the same verified files.
Run: ``python benchmarks/fashion_mnist_loading.py`` (target: ours >= 20x faster).
"""

import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

os.environ.pop("D2L_REDUCED", None)  # benchmark the full data set

import d2lhelpers as d2l  # noqa: E402

BATCH_SIZE, REPEATS = 256, 5


def one_pass(batches) -> tuple[float, int]:
    start = time.perf_counter()
    n = sum(len(y) for _, y in batches)
    return time.perf_counter() - start, n


def torchvision_loader(root: Path) -> DataLoader:
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for name, path in d2l.resolve_dataset("fashion-mnist").items():
        (raw / name).symlink_to(path)
    train = datasets.FashionMNIST(str(root), train=True, transform=transforms.ToTensor())
    return DataLoader(train, BATCH_SIZE, shuffle=True, num_workers=4)


def main() -> None:
    print(
        f"torch {torch.__version__}, {os.cpu_count()} CPU cores, {torch.get_num_threads()} threads"
    )
    start = time.perf_counter()
    ours, _ = d2l.load_data_fashion_mnist(BATCH_SIZE)
    seconds = time.perf_counter() - start
    print(f"d2lhelpers: decoding the files into memory (once per process): {seconds:.2f} s")
    with tempfile.TemporaryDirectory() as root:
        theirs = torchvision_loader(Path(root))
        timings = {"d2lhelpers": [], "torchvision DataLoader, 4 workers": []}
        for _ in range(REPEATS):  # interleaved, so both see the same machine load
            for name, loader in zip(timings, (ours, theirs)):
                seconds, n = one_pass(loader)
                assert n == 60_000, n
                timings[name].append(seconds)
    medians = {name: statistics.median(t) for name, t in timings.items()}
    for name, t in timings.items():
        print(
            f"{name:<36} median {medians[name]:.3f} s  (runs: {', '.join(f'{s:.3f}' for s in t)})"
        )
    ours_s, theirs_s = medians.values()
    print(f"speed-up: {theirs_s / ours_s:.1f}x (target >= 20x)")


if __name__ == "__main__":
    main()
