"""Training-time overhead of the live ``Animator``: the same short training with and without it.

The Animator only redraws inside a notebook kernel, so the trainings run in a real IPython kernel
(through nbclient, with matplotlib's inline backend rendering PNGs as in JupyterLab).
Drawing has a fixed cost (the final draw, tens of milliseconds) on top of the bounded live
redraws, so the overhead is reported for a very short training (3 epochs, about a second here)
and for the book's usual length (10 epochs).
Run: ``python benchmarks/animator_overhead.py`` (target: overhead < 5%).
"""

import json
import os
import statistics

import nbformat
from nbclient import NotebookClient

REPEATS, EPOCHS = 3, (3, 10)

SETUP = """
import json, os, time
import torch
from torch import nn
import d2lhelpers as d2l
os.environ.pop("D2L_REDUCED", None)
train_iter, test_iter = d2l.load_data_fashion_mnist(256)

def timed_training(plot, epochs):
    d2l.seed_everything(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    start = time.perf_counter()
    d2l.train_classifier(net, train_iter, test_iter, epochs, lr=0.1, plot=plot)
    return time.perf_counter() - start
"""


def main() -> None:
    env_reduced = os.environ.pop("D2L_REDUCED", None)  # the kernel inherits this environment
    cells = [nbformat.v4.new_code_cell(SETUP)]
    # Alternate the two variants so both see the same machine load.
    for epochs in EPOCHS:
        for _ in range(REPEATS):
            for plot in (False, True):
                code = f"print(json.dumps([{epochs}, {plot}, timed_training({plot}, {epochs})]))"
                cells.append(nbformat.v4.new_code_cell(code))
    nb = nbformat.v4.new_notebook(cells=cells)
    NotebookClient(nb, timeout=1800, kernel_name="python3").execute()
    if env_reduced is not None:
        os.environ["D2L_REDUCED"] = env_reduced
    seconds = {(epochs, plot): [] for epochs in EPOCHS for plot in (False, True)}
    for cell in nb.cells[1:]:
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        epochs, plot, t = json.loads(text.strip().splitlines()[-1])
        seconds[epochs, plot].append(t)
    print(f"MLP training on Fashion-MNIST in a Jupyter kernel, {REPEATS} runs each, medians")
    for epochs in EPOCHS:
        print(f"{epochs} epochs:")
        for label, plot in (("without Animator", False), ("with Animator", True)):
            runs = ", ".join(f"{s:.2f}" for s in seconds[epochs, plot])
            median = statistics.median(seconds[epochs, plot])
            print(f"  {label:<16}  median {median:.2f} s  (runs: {runs})")
        without = statistics.median(seconds[epochs, False])
        with_ = statistics.median(seconds[epochs, True])
        print(f"  overhead: {100 * (with_ / without - 1):+.1f}% (target < 5%)")


if __name__ == "__main__":
    main()
