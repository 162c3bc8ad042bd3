"""LeNet training throughput: ``d2lhelpers.train_classifier`` vs. d2l's ``train_ch6``.

Same classic LeNet (sigmoid, average pooling, Xavier init), learning rate, batch size, epochs and
device. d2l's side is fed the way d2l feeds it: a torch ``DataLoader`` (4 workers) over
torchvision's ``FashionMNIST(transform=ToTensor())``, here reading our verified local files
instead of downloading them. Ours uses ``d2l.load_data_fashion_mnist``. Both trainings run in a
real IPython kernel (through nbclient, with matplotlib's inline backend), so each live Animator
renders its figure as it would in JupyterLab; that drawing is part of what is compared.
Throughput = training examples / wall-clock seconds of the whole training call (evaluation and
plotting included). Runs alternate, and we report medians.

The d2l package is needed for this comparison only (it is not a dependency of the book):
    .venv/bin/pip install --no-deps d2l==1.0.3
Run: ``python benchmarks/lenet_training.py`` (target: ours >= 1.5x d2l).
"""

import argparse
import importlib.util
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPEATS, EPOCHS, BATCH_SIZE, LR = 3, 1, 256, 0.9

SETUP = """
import json, os, sys, time, types
os.environ.pop("D2L_REDUCED", None)
import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms
import d2lhelpers

# d2l 1.0.3 imports scipy at module level (only for distance_matrix, which train_ch6 never
# calls). If scipy is not installed, an empty placeholder lets d2l's own code import unchanged.
try:
    import scipy.spatial  # noqa: F401
    SCIPY = "installed"
except ModuleNotFoundError:
    scipy, spatial = types.ModuleType("scipy"), types.ModuleType("scipy.spatial")
    spatial.distance_matrix, scipy.spatial = None, spatial
    sys.modules.update({"scipy": scipy, "scipy.spatial": spatial})
    SCIPY = "missing: replaced by an empty placeholder module"
from d2l import torch as d2l

def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(), nn.AvgPool2d(2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(), nn.AvgPool2d(2, stride=2), nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(),
        nn.Linear(84, 10))

def xavier(m):  # what train_ch6 does to the network; we do the same before train_classifier
    if type(m) in (nn.Linear, nn.Conv2d):
        nn.init.xavier_uniform_(m.weight)

def d2l_iters(root):
    make = lambda train: datasets.FashionMNIST(root, train=train, transform=transforms.ToTensor())
    workers = d2l.get_dataloader_workers()
    return (DataLoader(make(True), BATCH_SIZE, shuffle=True, num_workers=workers),
            DataLoader(make(False), BATCH_SIZE, shuffle=False, num_workers=workers))

ours_iters = d2lhelpers.load_data_fashion_mnist(BATCH_SIZE)
theirs_iters = d2l_iters(ROOT)
device = d2lhelpers.try_gpu()
assert str(device) == str(d2l.try_gpu())

def timed(which):
    d2lhelpers.seed_everything(0)
    net = lenet()
    start = time.perf_counter()
    if which == "d2l":
        d2l.train_ch6(net, *theirs_iters, EPOCHS, LR, device)
    else:
        net.apply(xavier)
        d2lhelpers.train_classifier(net, *ours_iters, EPOCHS, lr=LR, device=device)
    seconds = time.perf_counter() - start
    acc = d2lhelpers.evaluate_accuracy(net, ours_iters[1])
    return json.dumps([which, seconds, acc])
"""


def link_files(root: Path) -> None:
    """Lay our verified Fashion-MNIST files out where torchvision looks for them."""
    import d2lhelpers

    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for name, path in d2lhelpers.resolve_dataset("fashion-mnist").items():
        (raw / name).symlink_to(path)


def main() -> None:
    if importlib.util.find_spec("d2l") is None:
        sys.exit(
            "This benchmark compares against the d2l package, which the book does not depend on."
            "\nInstall it for this comparison only:  .venv/bin/pip install --no-deps d2l==1.0.3"
        )
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--repeats", type=int, default=REPEATS)
    args = parser.parse_args()
    epochs, repeats = args.epochs, args.repeats
    env_reduced = os.environ.pop("D2L_REDUCED", None)  # the kernel inherits this environment
    with tempfile.TemporaryDirectory() as root:
        link_files(Path(root))
        consts = f"EPOCHS, BATCH_SIZE, LR, ROOT = {epochs}, {BATCH_SIZE}, "
        cells = [nbformat.v4.new_code_cell(consts + f"{LR}, {root!r}\n" + SETUP)]
        cells.append(nbformat.v4.new_code_cell("print(SCIPY, torch.__version__, device)"))
        for _ in range(repeats):  # interleaved, so both see the same machine load
            for which in ("d2l", "ours"):
                cells.append(nbformat.v4.new_code_cell(f"print(timed({which!r}))"))
        nb = nbformat.v4.new_notebook(cells=cells)
        NotebookClient(nb, timeout=3600, kernel_name="python3").execute()
    if env_reduced is not None:
        os.environ["D2L_REDUCED"] = env_reduced
    info = "".join(o.get("text", "") for o in nb.cells[1].outputs).strip()
    seconds: dict[str, list[float]] = {"d2l": [], "ours": []}
    accs: dict[str, list[float]] = {"d2l": [], "ours": []}
    for cell in nb.cells[2:]:
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        which, t, acc = json.loads(text.strip().splitlines()[-1])
        seconds[which].append(t)
        accs[which].append(acc)
    scipy_note, torch_version, device = info.rsplit(" ", 2)
    print(f"torch {torch_version}, device {device}, {os.cpu_count()} CPU cores; scipy {scipy_note}")
    print(f"classic LeNet, lr {LR}, batch {BATCH_SIZE}, {epochs} epochs x 60,000 examples")
    per_sec = {}
    for which, label in (("d2l", "d2l 1.0.3 train_ch6"), ("ours", "d2lhelpers")):
        per_sec[which] = epochs * 60_000 / statistics.median(seconds[which])
        runs = ", ".join(f"{s:.1f}" for s in seconds[which])
        acc = statistics.median(accs[which])
        print(
            f"{label:<20} median {statistics.median(seconds[which]):6.1f} s "
            f"= {per_sec[which]:7,.0f} examples/s  (runs: {runs} s; test acc {acc:.3f})"
        )
    print(f"speed-up: {per_sec['ours'] / per_sec['d2l']:.2f}x (target >= 1.5x)")


if __name__ == "__main__":
    main()
