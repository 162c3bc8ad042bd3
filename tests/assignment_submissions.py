"""Hand-made submissions of the Fashion-MNIST assignment and the scores they must get.

Each faulty submission is the instructor solution, as ``otter assign`` writes it to
``dist/autograder/fashion-mnist-linear.ipynb``, with one small edit a learner could make (or,
for the last ones, something a grader must survive). They are built when the tests run, so they
follow the instructor notebook whenever it changes; an edit that no longer applies fails loudly.

| submission | edit | expected |
|---|---|---|
| ``solution`` | none | full marks |
| ``template`` | the untouched student notebook | 0, every test with its reason |
| ``hidden_layer`` | ``nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10)`` | loses ``model`` |
| ``never_trained`` | ``optimizer.step()`` deleted | loses ``training``, ``test_accuracy`` |
| ``misreported`` | ``results["test_accuracy"] = 0.95`` | loses ``reported_accuracy`` |
| ``raises`` | ``nn.Linaer`` (a typo: ``AttributeError``) | only ``hyperparameters``, ``data`` |
| ``tampers`` | deletes otter's ``tests/`` folder, writes files | 0, otter could not grade |
| ``corrupt`` | the file cut in half (not JSON) | 0, invalid |
| ``infinite_loop`` | ``while True: pass`` after the imports | 0, timed out |

``never_trained`` and ``tampers`` run 2 epochs instead of 4 to keep the test suite quick; their
expected outcomes do not depend on it.

Run ``python tests/assignment_submissions.py DIST OUT`` to write them into ``OUT`` for a look.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

NOTEBOOK = "fashion-mnist-linear.ipynb"
TESTS = {
    "hyperparameters": 1,
    "data": 1,
    "model": 2,
    "loss_and_optimizer": 1,
    "training": 2,
    "test_accuracy": 2,
    "reported_accuracy": 1,
}
"""The autograder's tests and their points."""

TWO_EPOCHS = ('hparams["num_epochs"] = 4', 'hparams["num_epochs"] = 2')


@dataclass(frozen=True)
class Submission:
    """A submission, how to build it, and what the grader must report for it."""

    name: str
    base: str = "solution"
    """``solution`` or ``template`` (the student notebook), or ``corrupt``."""
    edits: tuple[tuple[str, str], ...] = ()
    """``(old, new)`` replacements, each applied to the one code cell that contains ``old``."""
    status: str = "graded"
    failing: dict[str, str] = field(default_factory=dict)
    """Tests that must fail, each with a phrase its message must contain; the rest pass."""
    reason: str = ""
    """A phrase the row's reason must contain."""

    @property
    def score(self) -> float:
        return float(sum(p for t, p in TESTS.items() if t not in self.failing))


SUBMISSIONS = [
    Submission("solution"),
    Submission(
        "template",
        base="template",
        failing={
            "hyperparameters": "hparams['learning_rate'] must be a number",
            "data": "`train_iter` is not defined",
            "model": "`net` must be a torch.nn.Module",
            "loss_and_optimizer": "`loss` must be a function",
            "training": "history['train_loss'] has 0 entries",
            "test_accuracy": "`net` is not a trained torch.nn.Module",
            "reported_accuracy": "results['final_train_loss'] must be a positive float",
        },
    ),
    Submission(
        "hidden_layer",
        edits=(("nn.Linear(784, 10))", "nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))"),),
        failing={"model": "exactly one nn.Linear layer and no hidden layers; `net` has 2"},
    ),
    Submission(
        "never_trained",
        edits=(TWO_EPOCHS, ("        optimizer.step()\n", "")),
        failing={
            "training": "the training loss did not decrease",
            "test_accuracy": "at least 0.80 is required",
        },
    ),
    Submission(
        "misreported",
        edits=(
            (
                'results["test_accuracy"] = d2l.evaluate_accuracy(net, test_iter)',
                'results["test_accuracy"] = 0.95',
            ),
        ),
        failing={"reported_accuracy": "results['test_accuracy'] is 0.9500 but the grader measured"},
    ),
    Submission(
        "raises",
        edits=(("nn.Linear(784, 10))", "nn.Linaer(784, 10))"),),
        failing={
            "model": "`net` must be a torch.nn.Module, got NoneType",
            "loss_and_optimizer": "",
            "training": "",
            "test_accuracy": "",
            "reported_accuracy": "",
        },
        reason="AttributeError: module 'torch.nn' has no attribute 'Linaer'",
    ),
    Submission(
        "tampers",
        edits=(
            TWO_EPOCHS,
            (
                "import d2lhelpers as d2l",
                "import d2lhelpers as d2l\n\nimport pathlib\nimport shutil\n\n"
                'shutil.rmtree("tests", ignore_errors=True)\n'
                'pathlib.Path("../results/results.json").write_text(\'{"score": 10}\')\n'
                'pathlib.Path("grade.txt").write_text("10/10")',
            ),
        ),
        status="error",
        failing={test: "otter could not grade it" for test in TESTS},
        reason="otter could not grade it",
    ),
    Submission(
        "corrupt",
        base="corrupt",
        status="invalid",
        failing={test: "not a valid notebook" for test in TESTS},
        reason="not a valid notebook",
    ),
]

INFINITE_LOOP = Submission(
    "infinite_loop",
    edits=(("import d2lhelpers as d2l", "import d2lhelpers as d2l\n\nwhile True:\n    pass"),),
    status="timeout",
    failing={test: "timed out" for test in TESTS},
    reason="timed out after",
)


def build(submission: Submission, dist: Path, folder: Path) -> Path:
    """Write ``submission`` as ``folder/NAME.ipynb``, built from ``otter assign``'s ``dist``.

    Raises:
        ValueError: if an edit's ``old`` text is not in exactly one code cell.
    """
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{submission.name}.ipynb"
    if submission.base == "corrupt":
        text = (dist / "autograder" / NOTEBOOK).read_text(encoding="utf-8")
        target.write_text(text[: len(text) // 2], encoding="utf-8")
        return target
    source = dist / ("student" if submission.base == "template" else "autograder") / NOTEBOOK
    nb = nbformat.read(source, as_version=4)
    for old, new in submission.edits:
        cells = [c for c in nb.cells if c.cell_type == "code" and old in c.source]
        if len(cells) != 1:
            raise ValueError(f"{submission.name}: {old!r} is in {len(cells)} code cells, not 1")
        cells[0].source = cells[0].source.replace(old, new)
    nbformat.write(nb, target)
    return target


if __name__ == "__main__":
    dist_dir, out_dir = (Path(a) for a in sys.argv[1:3])
    for s in [*SUBMISSIONS, INFINITE_LOOP]:
        print(build(s, dist_dir, out_dir))
