"""The assignments' thresholds against the book's own solutions, over three seeds.

For each assignment whose grade has an accuracy threshold or a time budget, generate the
solution notebook with ``otter assign``, run it top to bottom for seeds 0, 1 and 2 (the solution
with ``hparams["seed"]`` changed) with the grader's export step, and measure what the grader
measures: the test accuracy of ``net`` on the 10,000 test images, the numbers it stores, and
the wall-clock time of the whole run. The runs are not sandboxed (the notebooks are the book's
own) and use all CPU cores, as a student's run does. Takes about 15 minutes on 2 cores.

    python benchmarks/assignment_thresholds.py [ASSIGNMENT ...]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import torch

from d2lhelpers.assignments import assignment_module
from d2lhelpers.grading import execute

ROOT = Path(__file__).resolve().parents[1]
SEEDS = (0, 1, 2)
SEED_LINE = 'hparams["seed"] = 0'


def run_solution(name: str, seed: int, dist: Path) -> dict[str, float]:
    """Run the solution of ``name`` with ``seed``; the grader's measurements of it."""
    work = dist / f"seed{seed}"
    work.mkdir()
    notebook = nbformat.read(dist / "autograder" / f"{name}.ipynb", as_version=4)
    (cell,) = [c for c in notebook.cells if SEED_LINE in c.source]
    cell.source = cell.source.replace(SEED_LINE, f'hparams["seed"] = {seed}')
    nbformat.write(notebook, work / f"{name}.ipynb")
    start = time.monotonic()
    execute.main(str(work / f"{name}.ipynb"), name, str(work / "artifacts.pt"),
                 str(work / "errors.json"))  # fmt: skip
    seconds = time.monotonic() - start
    module = assignment_module(name)
    measured = module.Measurements(torch.load(work / "artifacts.pt", weights_only=True))
    return {"test_accuracy": measured.test[1], "stored": measured.net.num_values,
            "seconds": seconds}  # fmt: skip


def main(names: list[str]) -> None:
    otter = Path(sys.executable).with_name("otter")
    for name in names:
        module = assignment_module(name)
        with tempfile.TemporaryDirectory() as tmp:
            dist = Path(tmp)
            source = ROOT / "notebooks" / "assignments" / f"{name}.ipynb"
            subprocess.run([str(otter), "assign", str(source), str(dist)], check=True,
                           capture_output=True)  # fmt: skip
            print(f"{name}: threshold {module.MIN_TEST_ACCURACY}"
                  + (f", time budget {module.TIME_BUDGET_S:g} s"
                     if hasattr(module, "TIME_BUDGET_S") else ""))  # fmt: skip
            for seed in SEEDS:
                m = run_solution(name, seed, dist)
                print(f"  seed {seed}: test accuracy {m['test_accuracy']:.4f}, "
                      f"{m['stored']:,} numbers stored, notebook ran {m['seconds']:.0f} s",
                      flush=True)  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1:] or ["fashion-mnist-mlp", "fashion-mnist-cnn"])
