"""The book's assignments: what a finished submission hands over, and how the grader checks it.

Each assignment module defines ``NAME`` (the otter assignment name), ``export(namespace)``
(runs in the student's kernel after the notebook; returns plain data and tensors only),
``CHECKS`` (question name -> check function) and ``Measurements(artifacts, run)`` (what the
grader measures itself, in its own process; ``run`` is its measurement of the notebook's run
time). :mod:`.common` holds what they share, :mod:`.network` hands a trained network over as
plain data. See :mod:`d2lhelpers.grading` for how they are used.
"""

from __future__ import annotations

import importlib
from types import ModuleType

ASSIGNMENTS = {
    "fashion-mnist-linear": "fashion_mnist_linear",
    "fashion-mnist-mlp": "fashion_mnist_mlp",
    "fashion-mnist-cnn": "fashion_mnist_cnn",
}
"""Otter assignment name -> module of this package."""


def assignment_module(name: str) -> ModuleType:
    """The module that grades assignment ``name``.

    Raises:
        ValueError: if no module grades an assignment of that name.
    """
    if name not in ASSIGNMENTS:
        raise ValueError(
            f"no grader for assignment {name!r}; known: {', '.join(sorted(ASSIGNMENTS))}"
        )
    return importlib.import_module(f"{__name__}.{ASSIGNMENTS[name]}")
