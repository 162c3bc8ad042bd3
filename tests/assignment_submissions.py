"""Hand-made submissions of the assignments and the scores they must get.

Each submission is the instructor solution, as ``otter assign`` writes it to
``dist/autograder/ASSIGNMENT.ipynb`` (or the untouched student notebook), with a few edits a
learner could make: honest, careless, dishonest, or hostile to the grader. They are built when
the tests run, so they follow the instructor notebook whenever it changes; an edit that no
longer applies fails loudly. ``SUBMISSIONS`` (the linear assignment, where every kind of
misbehaviour is tried) are graded together in one folder; the ones in ``LIMITS`` each need a
short limit of their own. ``MORE_SUBMISSIONS`` are the other assignments' few end-to-end
cases, each run in full size (their checks are tested on canned data in
``test_assignment_checks.py``).

Run ``python tests/assignment_submissions.py DIST OUT`` to write them into ``OUT`` for a look.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

LINEAR = "fashion-mnist-linear"
NOTEBOOK = f"{LINEAR}.ipynb"
TESTS = {
    "hyperparameters": 1,
    "data": 1,
    "model": 2,
    "loss_and_optimizer": 1,
    "training": 2,
    "test_accuracy": 2,
    "reported_accuracy": 1,
    "reproduction": 2,
}
"""The autograder's questions and their points."""
QUESTIONS = {
    LINEAR: TESTS,
    "fashion-mnist-mlp": {
        "hyperparameters": 1, "validation_split": 2, "model": 1, "experiments": 2,
        "selection": 2, "held_out": 1, "test_accuracy": 2, "reported_accuracy": 1,
    },
    "fashion-mnist-cnn": {
        "hyperparameters": 1, "data": 1, "model": 2, "training": 1, "test_accuracy": 3,
        "reported_accuracy": 1, "held_out": 1, "time_budget": 2,
    },
}  # fmt: skip
"""Each assignment's autograded questions and their points."""

MODEL_CELL = "net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))"
TRAIN_CALL = 'history["train_loss"].append(train_epoch(net, train_iter, loss, optimizer))'
RESULTS_CELL = 'results["test_accuracy"] = d2l.evaluate_accuracy(net, test_iter)'
IMPORTS = "import d2lhelpers as d2l"
MLP = "net = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))"


def after_imports(code: str) -> tuple[str, str]:
    """An edit that runs ``code`` right after the notebook's imports."""
    return (IMPORTS, f"{IMPORTS}\n\n{code}")


@dataclass(frozen=True)
class Submission:
    """A submission, how to build it, and what the grader must report for it."""

    name: str
    assignment: str = LINEAR
    base: str = "solution"
    """``solution`` or ``template`` (the student notebook), or ``corrupt``."""
    edits: tuple[tuple[str, str], ...] = ()
    """``(old, new)`` replacements, each applied to the one code cell that contains ``old``."""
    status: str = "graded"
    failing: dict[str, str] = field(default_factory=dict)
    """Questions that must fail, each with a phrase its message must contain; the rest pass."""
    reason: str = ""
    """A phrase the row's reason must contain."""
    hostile: bool = False
    """Harms the machine unless bubblewrap isolates it (deletes the grader's data, fills the
    disk, forks): graded only where the full sandbox is available (root and bubblewrap)."""

    @property
    def questions(self) -> dict[str, int]:
        return QUESTIONS[self.assignment]

    @property
    def score(self) -> float:
        return float(sum(p for t, p in self.questions.items() if t not in self.failing))


SUBMISSIONS = [
    Submission("solution"),
    Submission(
        "from_scratch",
        edits=((MODEL_CELL, (
            "class SoftmaxRegression(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.W = nn.Parameter(torch.normal(0, 0.01, (784, 10)))\n"
            "        self.b = nn.Parameter(torch.zeros(10))\n\n"
            "    def forward(self, X):\n"
            "        return X.reshape(-1, 784) @ self.W + self.b\n\n\n"
            "net = SoftmaxRegression()"
        )),),
    ),
    Submission(
        "normalised_inputs",
        edits=(
            ('hparams["seed"] = 0',
             'hparams["seed"] = 0\nhparams["input_normalization"] = (0.286, 0.353)'),
            (MODEL_CELL, (
                "from torchvision.transforms import Normalize\n\n"
                "net = nn.Sequential(Normalize(*[[v] for v in hparams['input_normalization']]),\n"
                "                    nn.Flatten(), nn.Linear(784, 10))"
            )),
        ),
    ),
    Submission(
        "tensor_results",
        edits=(
            (RESULTS_CELL, RESULTS_CELL.replace("= d2l", "= torch.tensor(d2l") + ")"),
            ('results["final_train_loss"] = history["train_loss"][-1]',
             'results["final_train_loss"] = torch.tensor(history["train_loss"][-1])'),
        ),
    ),
    Submission(
        "template",
        base="template",
        failing={
            "hyperparameters": "hparams['learning_rate'] must be a number",
            "data": "could not read the submission's data",
            "model": "`net` must be a model",
            "loss_and_optimizer": "`loss` must be a function",
            "training": "history['train_loss'] has 0 entries",
            "test_accuracy": "could not read the submission's model",
            "reported_accuracy": "could not read the submission's model",
            "reproduction": "could not read the submission's model",
        },
    ),
    Submission(
        "hidden_layer",
        edits=((MODEL_CELL, MLP),),
        failing={"model": "`net` is not one affine map 784 -> 10", "test_accuracy": "",
                 "reported_accuracy": "", "reproduction": ""},
    ),
    Submission(
        "never_trained",
        edits=(("        optimizer.step()\n", ""),),
        failing={
            "training": "the training loss did not decrease",
            "test_accuracy": "at least 0.80 is required",
            "reproduction": "",
        },
    ),
    Submission(
        "misreported",
        edits=((RESULTS_CELL, 'results["test_accuracy"] = 0.95'),),
        failing={"reported_accuracy": "results['test_accuracy'] is 0.9500 but the grader measured"},
    ),
    Submission(
        "raises",
        edits=((MODEL_CELL, MODEL_CELL.replace("Linear", "Linaer")),),
        failing={
            "model": "could not read the submission's model",
            "loss_and_optimizer": "",
            "training": "",
            "test_accuracy": "",
            "reported_accuracy": "",
            "reproduction": "",
        },
        reason="AttributeError: module 'torch.nn' has no attribute 'Linaer'",
    ),
    Submission(
        "patches_the_checker",
        base="template",
        edits=(after_imports(
            "import otter\n"
            "from d2lhelpers.assignments import fashion_mnist_linear\n"
            "otter.Notebook.check = lambda self, *args, **kwargs: None\n"
            "fashion_mnist_linear.feedback = lambda *args, **kwargs: None"
        ),),
        failing={test: "" for test in TESTS},
    ),
    Submission(
        "patches_evaluation",
        edits=(
            ('hparams["num_epochs"] = 4', 'hparams["num_epochs"] = 2'),
            after_imports(
                "import torch\n"
                "d2l.evaluate_accuracy = lambda net, data_iter, device=None: 0.9\n"
                "torch.Tensor.argmax = lambda self, dim=None, keepdim=False: torch.zeros(\n"
                "    self.shape[0], dtype=torch.long)"
            ),
            ("    for X, y in train_iter:\n", "    for X, y in list(train_iter)[:2]:\n"),
        ),
        failing={"test_accuracy": "at least 0.80 is required",
                 "reported_accuracy": "but the grader measured", "reproduction": ""},
    ),
    Submission(
        "swaps_model_after_check",
        edits=((RESULTS_CELL, RESULTS_CELL + (
            f"\n{MLP}"
        )),),
        failing={"model": "`net` is not one affine map", "test_accuracy": "",
                 "reported_accuracy": "", "reproduction": "", "loss_and_optimizer": ""},
    ),
    Submission(
        "trains_on_test_set",
        edits=(
            ('hparams["num_epochs"] = 4', 'hparams["num_epochs"] = 20'),
            (TRAIN_CALL, TRAIN_CALL.replace("train_iter", "test_iter")),
        ),
        failing={"reproduction": "the test images must not be used for training"},
    ),
    Submission(
        "lies_in_record",
        edits=(
            ('hparams["learning_rate"] = 0.05', 'hparams["learning_rate"] = 0.1'),
            (TRAIN_CALL, TRAIN_CALL.replace("optimizer", "hidden_optimizer")),
            ('optimizer = torch.optim.SGD(net.parameters(), lr=hparams["learning_rate"])',
             'optimizer = torch.optim.SGD(net.parameters(), lr=hparams["learning_rate"])\n'
             "hidden_optimizer = torch.optim.Adam(net.parameters(), lr=0.01, weight_decay=1e-3)"),
        ),
        failing={"reproduction": "The record does not describe how this model was trained"},
    ),
    Submission(
        "deletes_files",
        edits=(after_imports(
            "import os, shutil\n"
            "for folder in os.environ['D2L_DATA_PATH'].split(os.pathsep):\n"
            "    shutil.rmtree(folder)"
        ),),
        reason="tried to change files outside its own folder",
        hostile=True,
    ),
    Submission(
        "exhausts_memory",
        edits=(after_imports("hog = torch.ones(2**31, dtype=torch.float32)  # 8 GiB"),),
        reason="ran out of its memory limit",
    ),
    Submission(
        "fills_disk",
        edits=(after_imports(
            "for i in range(100_000):\n"
            "    with open(f'junk{i}', 'wb') as f:\n"
            "        f.write(b'0' * 2**24)"
        ),),
        reason="filled its disk space",
        hostile=True,
    ),
    Submission(
        "corrupt",
        base="corrupt",
        status="invalid",
        failing={test: "not a valid notebook" for test in TESTS},
        reason="not a valid notebook",
    ),
]

def stopped(name: str, code: str, status: str, phrase: str, hostile: bool = False) -> Submission:
    """A submission that runs ``code`` right after its imports and must be stopped by a limit:
    every question fails with ``phrase``."""
    return Submission(name, edits=(after_imports(code),), status=status,
                      failing={test: phrase for test in TESTS}, reason=phrase,
                      hostile=hostile)  # fmt: skip


LIMITS = [
    stopped("infinite_loop", "while True:\n    pass", "timeout", "ran past the time limit"),
    stopped("prints_without_end", "while True:\n    print('spam ' * 1000)", "stopped",
            "printed without end"),
    stopped("forks", "import os\nwhile True:\n    os.fork()", "stopped",
            "started processes without end", hostile=True),
]  # fmt: skip

MLP, CNN = "fashion-mnist-mlp", "fashion-mnist-cnn"
MORE_SUBMISSIONS = [
    Submission("mlp_solution", MLP),
    Submission("mlp_template", MLP, base="template", failing={
        "hyperparameters": "hparams['learning_rate'] must be a number",
        "validation_split": "could not read the submission's data",
        "model": "could not read the submission's model: `net` is not defined",
        "experiments": "could not read the submission's experiments",
        "selection": "could not read the submission's experiments",
        "held_out": "could not read the submission's model",
        "test_accuracy": "could not read the submission's model",
        "reported_accuracy": "could not read the submission's model",
    }),
    Submission(
        "mlp_validates_on_test_set",
        MLP,
        edits=(
            ('hparams["num_epochs"] = 20', 'hparams["num_epochs"] = 1'),
            ("_, test_iter = d2l.load_data_fashion_mnist(batch_size=1000)",
             "_, test_iter = d2l.load_data_fashion_mnist(batch_size=1000)\n"
             "valid_iter = test_iter  # held out from training, but the test set"),
        ),
        failing={
            "validation_split": "`valid_iter` must yield training images",
            "experiments": "`valid_iter` yields no training images",
            "selection": "`valid_iter` yields no training images",
            "held_out": "`valid_iter` yields no training images",
            "test_accuracy": "at least 0.87 is required",
        },
    ),
    Submission("cnn_solution", CNN),
    Submission("cnn_template", CNN, base="template", failing={
        "hyperparameters": "hparams['learning_rate'] must be a number",
        "data": "could not read the submission's data",
        "model": "could not read the submission's model: `net` is not defined",
        "training": "could not read the submission's history",
        "test_accuracy": "could not read the submission's model",
        "reported_accuracy": "could not read the submission's model",
        "held_out": "could not read the submission's model",
        "time_budget": "could not read the submission's model",
    }),
]  # fmt: skip


def build(submission: Submission, dist: Path, folder: Path) -> Path:
    """Write ``submission`` as ``folder/NAME.ipynb``, built from ``otter assign``'s ``dist``.

    Raises:
        ValueError: if an edit's ``old`` text is not in exactly one code cell.
    """
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{submission.name}.ipynb"
    notebook = f"{submission.assignment}.ipynb"
    if submission.base == "corrupt":
        text = (dist / "autograder" / notebook).read_text(encoding="utf-8")
        target.write_text(text[: len(text) // 2], encoding="utf-8")
        return target
    source = dist / ("student" if submission.base == "template" else "autograder") / notebook
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
    for s in [*SUBMISSIONS, *LIMITS, *MORE_SUBMISSIONS]:
        if (dist_dir / "autograder" / f"{s.assignment}.ipynb").exists():
            print(build(s, dist_dir, out_dir))
