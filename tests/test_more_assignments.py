"""The MLP and CNN assignments end to end: generate each with ``otter assign``, grade the
solution and a few submissions in sandboxes, in full size on the real data (a few minutes).

Their checks are tested on canned artifacts in ``test_assignment_checks.py``; the linear
assignment's end-to-end tests (``test_assignment.py``) try every kind of misbehaviour.
"""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest

from d2lhelpers import grading

from .assignment_submissions import MORE_SUBMISSIONS, Submission, build
from .test_assignment import _otter, check_row, env  # noqa: F401 (env is a fixture)

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 600  # per submission; the solutions take 1-4 minutes on one core of a CI machine
SOLUTION_CODE = {
    "fashion-mnist-mlp": "nn.Linear(784, 512)",
    "fashion-mnist-cnn": "conv_block(1, 16)",
}
"""A line of each solution that the student notebook must not contain."""


@pytest.fixture(scope="module")
def generate(tmp_path_factory, env) -> Callable[[str], Path]:  # noqa: F811
    """``otter assign`` of an assignment, as the README says; its ``dist`` folder."""

    @functools.cache
    def run(name: str) -> Path:
        out = tmp_path_factory.mktemp(name) / "dist"
        source = ROOT / "notebooks" / "assignments" / f"{name}.ipynb"
        subprocess.run([*_otter(), "assign", str(source), str(out)], check=True, env=env,
                       cwd=ROOT)  # fmt: skip
        return out

    return run


@pytest.fixture(scope="module")
def graded(generate, tmp_path_factory, env) -> Callable[[str], dict]:  # noqa: F811
    """The rows of an assignment's ``MORE_SUBMISSIONS``, graded together, two at a time."""

    @functools.cache
    def grade(name: str) -> dict[str, grading.SubmissionResult]:
        dist = generate(name)
        folder = tmp_path_factory.mktemp(f"{name}-submissions")
        for submission in MORE_SUBMISSIONS:
            if submission.assignment == name:
                build(submission, dist, folder)
        with pytest.MonkeyPatch.context() as mp:
            for key, value in env.items():
                mp.setenv(key, value)
            mp.delenv("D2L_REDUCED", raising=False)
            results = grading.grade_folder(folder, dist / "autograder", timeout=TIMEOUT_S, jobs=2)
        return {Path(r.submission).stem: r for r in results}

    return grade


@pytest.mark.parametrize("name", sorted(SOLUTION_CODE))
def test_generates_student_notebook_and_autograder(generate, name):
    dist = generate(name)
    student = nbformat.read(dist / "student" / f"{name}.ipynb", as_version=4)
    code = "\n".join(c.source for c in student.cells if c.cell_type == "code")
    assert SOLUTION_CODE[name] not in code, "solution leaked"
    autograder = grading.find_autograder(dist / "autograder")
    questions = next(s.questions for s in MORE_SUBMISSIONS if s.assignment == name)
    assert grading.expected_tests(autograder) == sorted(
        (question, float(points)) for question, points in questions.items()
    )
    assert grading.notebook_name(autograder) == name


@pytest.mark.parametrize("submission", MORE_SUBMISSIONS, ids=lambda s: s.name)
def test_submission_scores_as_expected(graded, submission: Submission):
    check_row(graded(submission.assignment)[submission.name], submission)
