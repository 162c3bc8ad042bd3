"""The Fashion-MNIST assignment: generate it as the README says, then grade submissions.

``otter assign`` builds the student notebook and the autograder from
``notebooks/assignments/fashion-mnist-linear.ipynb``; ``python -m d2lhelpers grade`` grades a
folder of submissions in sandboxes (see ``tests/assignment_submissions.py`` for the hand-made
ones and the scores they must get). Grading runs every notebook in full mode on the real data,
so this module needs Fashion-MNIST on the machine and takes a few minutes.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import psutil
import pytest

from d2lhelpers import grading
from d2lhelpers.datasets import DataSetNotFoundError, resolve_dataset
from d2lhelpers.sandbox import isolation_available, run_sandboxed

from .assignment_submissions import LIMITS, NOTEBOOK, SUBMISSIONS, TESTS, Submission, build

pytest.importorskip("otter", reason="otter-grader is not installed (pip install -e '.[grading]')")

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "notebooks" / "assignments" / NOTEBOOK
TIMEOUT_S = 300  # per submission; generous for a loaded 2-core CI machine
FULL_SANDBOX = isolation_available() == "bubblewrap"
"""Whether submissions run isolated here (as root with bubblewrap); see ``Submission.hostile``."""
SHORT_LIMITS = grading.Limits(timeout_s=40, output_bytes=64 * 2**10, max_processes=32)
"""For the submissions that run into a limit: stopped within seconds."""


def _otter() -> list[str]:
    script = Path(sys.executable).with_name("otter")
    return [str(script)] if script.exists() else [sys.executable, "-m", "otter"]


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    """The environment of the commands: a cache of our own, the real data, no downloads."""
    environ = dict(os.environ)
    environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))
    environ["D2L_OFFLINE"] = "1"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", environ["XDG_CACHE_HOME"])
        try:
            resolve_dataset("fashion-mnist", download=False)
        except DataSetNotFoundError:
            pytest.skip(
                "Fashion-MNIST is not on this machine (apt-get install dataset-fashion-mnist)"
            )
    # As root without bubblewrap, the sandbox user may not reach this Python: probe the way the
    # grader runs a submission.
    with tempfile.TemporaryDirectory(prefix="d2l-grade-") as work:
        try:
            run_sandboxed([sys.executable, "-c", "pass"], Path(work),
                          readonly=grading._python_paths())  # fmt: skip
        except PermissionError as error:
            pytest.skip(f"submissions cannot run in a sandbox here: {error}")
    return environ


@pytest.fixture(scope="module")
def dist(tmp_path_factory, env) -> Path:
    """What the README's generate command writes: ``otter assign SOURCE DIST``."""
    out = tmp_path_factory.mktemp("assignment") / "dist"
    subprocess.run([*_otter(), "assign", str(SOURCE), str(out)], check=True, env=env, cwd=ROOT)
    return out


@pytest.fixture(scope="module")
def submissions(tmp_path_factory, dist) -> dict[Path, bytes]:
    """The hand-made submissions in ``SUBMISSIONS`` that this machine can take, in one folder:
    path -> content."""
    folder = tmp_path_factory.mktemp("submissions")
    paths = [build(s, dist, folder) for s in SUBMISSIONS if FULL_SANDBOX or not s.hostile]
    return {path: path.read_bytes() for path in paths}


def skip_unless_isolated(submission: Submission) -> None:
    if submission.hostile and not FULL_SANDBOX:
        pytest.skip(
            f"{submission.name} would harm this machine without the full sandbox "
            "(run the tests as root with bubblewrap installed, as CI does)"
        )


@pytest.fixture(scope="module")
def report(submissions, dist, env) -> dict[str, dict[str, str]]:
    """The README's grade command on :func:`submissions`: the CSV's rows by submission name."""
    folder = next(iter(submissions)).parent
    report_path = folder.parent / "grades.csv"
    command = [
        sys.executable, "-m", "d2lhelpers", "grade", str(folder),
        "--autograder", str(dist / "autograder"), "--report", str(report_path),
        "--timeout", str(TIMEOUT_S), "--jobs", "2",
    ]  # fmt: skip
    # The test suite runs in reduced mode; the grader itself must switch it off for submissions.
    subprocess.run(command, check=True, env={**env, "D2L_REDUCED": "1"}, cwd=folder.parent)
    with open(report_path, newline="", encoding="utf-8") as f:
        return {Path(row["submission"]).stem: row for row in csv.DictReader(f)}


def test_generates_student_notebook_and_autograder(dist):
    student = nbformat.read(dist / "student" / NOTEBOOK, as_version=4)
    code = "\n".join(c.source for c in student.cells if c.cell_type == "code")
    assert "nn.Linear(784, 10)" not in code and "optimizer.step()" not in code, "solution leaked"
    assert "net = ..." in code and 'hparams["learning_rate"] = ...' in code
    # The tests travel inside the student notebook, so `grader.check(...)` works offline.
    assert set(student.metadata["otter"]["tests"]) == set(TESTS)
    autograder = grading.find_autograder(dist / "autograder")
    assert grading.expected_tests(autograder) == sorted(
        (name, float(points)) for name, points in TESTS.items()
    )
    assert grading.notebook_name(autograder) == NOTEBOOK.removesuffix(".ipynb")


def check_row(row: dict[str, str] | grading.SubmissionResult, submission: Submission) -> None:
    """Assert that a report row (CSV or result object) is what ``submission`` must get."""
    if isinstance(row, grading.SubmissionResult):
        scores = {t.name: (t.score, t.message) for t in row.tests}
        row = {"status": row.status, "possible": row.possible, "score": row.score,
               "reason": row.reason, "notebook errors": " | ".join(row.notebook_errors),
               **{k: v[0] for k, v in scores.items()},
               **{f"{k} message": v[1] for k, v in scores.items()}}  # fmt: skip
    questions = submission.questions
    assert row["status"] == submission.status, row
    assert float(row["possible"]) == sum(questions.values())
    for test, points in questions.items():
        message = row[f"{test} message"]
        if test in submission.failing:
            assert float(row[test]) == 0, f"{test} should fail: {row}"
            assert submission.failing[test] in message, f"{test}: {message!r}"
        else:
            assert float(row[test]) == points, f"{test} should pass: {message}"
    assert float(row["score"]) == submission.score, row["reason"]
    assert submission.reason in row["reason"], row["reason"]
    if submission.score == sum(questions.values()) and not submission.reason:
        assert row["reason"] == "" and row["notebook errors"] == "", row


@pytest.mark.parametrize("submission", SUBMISSIONS, ids=lambda s: s.name)
def test_submission_scores_as_expected(report, submission: Submission):
    skip_unless_isolated(submission)
    check_row(report[submission.name], submission)


@pytest.mark.parametrize("submission", LIMITS, ids=lambda s: s.name)
def test_submission_that_runs_into_a_limit_is_stopped(tmp_path, dist, env, monkeypatch, submission):
    skip_unless_isolated(submission)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    folder = tmp_path / "submissions"
    build(submission, dist, folder)
    (row,) = grading.grade_folder(
        folder, dist / "autograder", timeout=SHORT_LIMITS.timeout_s, limits=SHORT_LIMITS
    )
    check_row(row, submission)
    assert row.seconds < SHORT_LIMITS.timeout_s + 30, "the run was not stopped at the limit"


def test_grading_leaves_the_data_and_other_processes_alone(report, env, monkeypatch):
    # `deletes_files` tried to remove the data folder it was given: the real data is intact.
    monkeypatch.setenv("XDG_CACHE_HOME", env["XDG_CACHE_HOME"])
    resolve_dataset("fashion-mnist", download=False)  # verifies every file's checksum
    leftover = [p for p in psutil.process_iter(["uids"]) if p.info["uids"].real >= 61000]
    assert not leftover, "a sandboxed process outlived its submission"


def test_grade_cli_rejects_bad_arguments(tmp_path, dist):
    with pytest.raises(FileNotFoundError, match="autograder"):
        grading.find_autograder(tmp_path)
    with pytest.raises(NotADirectoryError, match="submissions"):
        grading.grade_folder(tmp_path / "missing", dist / "autograder")
    with pytest.raises(ValueError, match="timeout"):
        grading.grade_folder(tmp_path, dist / "autograder", timeout=0)
    with pytest.raises(ValueError, match="jobs must be a positive int"):
        grading.grade_folder(tmp_path, dist / "autograder", jobs=0)
    with pytest.raises(ValueError, match="report"):
        grading.write_report([], tmp_path / "grades.txt")


def test_submissions_folder_is_left_as_it_was(report, submissions):
    # Each submission ran in a temporary copy; even the one that writes and deletes files
    # changed nothing here.
    folder = next(iter(submissions)).parent
    assert sorted(folder.rglob("*")) == sorted(submissions)
    assert all(path.read_bytes() == content for path, content in submissions.items())
