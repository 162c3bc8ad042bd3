"""Grading a folder of assignment notebooks with otter-grader, one sandboxed run each.

Otter-grader (``pip install "d2lhelpers[grading]"``) does the grading: ``otter assign`` builds
the student notebook and the autograder zip from the instructor notebook, and ``otter run``
executes one submission and runs the autograder's tests on it. ``otter grade`` would do a whole
folder, but only inside Docker containers; this module is the container-free equivalent. For
each submission it

* checks that the file is a readable notebook at all (a corrupt file is scored, not run);
* copies it into a fresh temporary directory and runs ``otter run`` there in a subprocess, with
  the data sets in full size (``D2L_REDUCED`` removed: the student's real training is graded)
  and a wall-clock limit, killing the whole process tree (kernel included) when it is exceeded;
* collects otter's per-test scores and messages, plus the errors raised by the notebook's cells,
  into one row of a CSV or JSON report.

Whatever a submission does (raise, loop forever, delete otter's files), it gets a row with a
score and a reason; grading goes on with the next one. This is isolation by temporary directory
and time limit only, not a security sandbox: grade untrusted code on a machine (or in a
container) you can afford to lose.

Command line: ``python -m d2lhelpers grade SUBMISSIONS --autograder ZIP --report report.csv``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .reduced import REDUCED_ENV
from .validation import check_int

DEFAULT_TIMEOUT_S = 600.0
"""Wall-clock limit per submission: generous for a laptop-sized assignment."""

GRADED, TIMEOUT, INVALID, ERROR = "graded", "timeout", "invalid", "error"
"""Values of :attr:`SubmissionResult.status`."""

_LOG_TAIL_CHARS = 2000


@dataclass
class TestResult:
    """Score of one otter test (one question of the assignment) for one submission."""

    name: str
    score: float
    possible: float
    message: str
    """Otter's message: why the test failed, or that it passed."""


@dataclass
class SubmissionResult:
    """One row of the report: what a submission scored, and why."""

    submission: str
    """Path of the notebook, relative to the submissions folder."""
    status: str
    """``graded``, ``timeout``, ``invalid`` (not a notebook) or ``error`` (otter failed)."""
    score: float
    possible: float
    reason: str
    """One line for a teacher: why points were lost (empty for full marks)."""
    tests: list[TestResult] = field(default_factory=list)
    notebook_errors: list[str] = field(default_factory=list)
    """Errors raised by the submission's own cells, ``"In [n]: Type: message"``."""
    seconds: float = 0.0


def find_autograder(path: str | Path) -> Path:
    """The autograder zip at ``path``, or the only ``*.zip`` inside the folder ``path``.

    ``otter assign`` names the zip after the assignment and a timestamp, so a folder is
    accepted too (e.g. ``dist/autograder``).

    Raises:
        FileNotFoundError: if ``path`` is neither a zip file nor a folder with exactly one.
    """
    path = Path(path)
    if path.is_file():
        return path
    zips = sorted(path.glob("*.zip")) if path.is_dir() else []
    if len(zips) != 1:
        raise FileNotFoundError(
            f"autograder: expected a zip file or a folder holding exactly one, got {path} "
            f"({len(zips)} zip files); run `otter assign` first (see README.md)"
        )
    return zips[0]


def expected_tests(autograder: str | Path) -> list[tuple[str, float]]:
    """``(name, points)`` of every test in the autograder zip, in name order.

    Raises:
        ValueError: if the zip holds no tests.
    """
    from otter.test_files import create_test_file

    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(autograder) as zf:
            names = [n for n in zf.namelist() if n.startswith("tests/") and n.endswith(".py")]
            zf.extractall(tmp, members=names)
        # For a .py test file otter does not need the notebook-metadata config.
        tests = [create_test_file(str(Path(tmp, n)), None) for n in sorted(names)]
    if not tests:
        raise ValueError(f"autograder: {autograder} holds no tests/*.py")
    return [(t.name, float(t.possible)) for t in tests]


def notebook_name(autograder: str | Path) -> str | None:
    """The file name students' notebooks had when handed out: ``ASSIGNMENT_NAME.ipynb``.

    The init cell that otter assign writes, ``otter.Notebook("NAME.ipynb")``, reads the
    notebook under that name, so a renamed submission is graded under it again. ``None`` if the
    autograder's ``otter_config.json`` names no assignment.
    """
    with zipfile.ZipFile(autograder) as zf:
        try:
            config = json.loads(zf.read("otter_config.json"))
        except (KeyError, ValueError):
            return None
    name = config.get("assignment_name")
    return f"{name}.ipynb" if isinstance(name, str) and name else None


def find_submissions(folder: str | Path) -> list[Path]:
    """Every ``*.ipynb`` under ``folder`` (sub-folders too, e.g. one per student), sorted.

    Raises:
        NotADirectoryError: if ``folder`` is not a directory.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise NotADirectoryError(f"submissions: {folder} is not a directory")
    return sorted(
        p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts and p.is_file()
    )


def _notebook_problem(path: Path) -> str | None:
    """Why ``path`` is not a notebook otter can run, or ``None`` if it is one."""
    import nbformat

    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as e:  # JSON, schema and encoding errors all mean the same to a teacher
        first_line = (str(e).strip().splitlines() or [""])[0]
        return f"not a valid notebook: {type(e).__name__}: {first_line}"[:300]
    return None


def _kill_tree(pid: int) -> None:
    """Kill process ``pid`` and every descendant (the kernel runs in its own session)."""
    import psutil

    try:
        parent = psutil.Process(pid)
        procs = [*parent.children(recursive=True), parent]
    except psutil.NoSuchProcess:
        return
    for proc in procs:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(procs, timeout=10)


def _submission_env(tmp: Path, jobs: int = 1) -> dict[str, str]:
    env = dict(os.environ)
    if jobs > 1 and "OMP_NUM_THREADS" not in env:
        # Parallel kernels share the cores; PyTorch's default (all cores each) oversubscribes.
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // jobs))
    env.pop(REDUCED_ENV, None)  # the student's real training is graded, not the test suite's
    env["TMPDIR"] = str(tmp)  # otter's own scratch folders land in the sandbox too
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _tail(path: Path) -> str:
    """The end of a log that a submission may have flooded with output."""
    with open(path, "rb") as f:
        f.seek(max(0, f.seek(0, os.SEEK_END) - _LOG_TAIL_CHARS))
        return f.read().decode(errors="replace")


def _short(message: str) -> str:
    """The last line of an otter message: ``AssertionError: ...`` for a failed test."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _failed_row(
    name: str, status: str, reason: str, tests: list[tuple[str, float]], seconds: float
) -> SubmissionResult:
    return SubmissionResult(
        submission=name,
        status=status,
        score=0.0,
        possible=sum(points for _, points in tests),
        reason=reason,
        tests=[TestResult(test, 0.0, points, reason) for test, points in tests],
        seconds=round(seconds, 1),
    )


def grade_submission(
    path: str | Path,
    autograder: str | Path,
    tests: list[tuple[str, float]],
    timeout: float = DEFAULT_TIMEOUT_S,
    name: str | None = None,
    run_as: str | None = None,
    jobs: int = 1,
) -> SubmissionResult:
    """Grade one notebook with ``otter run`` in a fresh temporary directory; never raises.

    Args:
        path: the submitted notebook.
        autograder: the zip that ``otter assign`` wrote.
        tests: ``(name, points)`` of the autograder's tests, see :func:`expected_tests`; a
            submission that could not be graded scores 0 on each.
        timeout: wall-clock seconds for the whole run (kernel start, every cell, the tests).
        name: how the report names the submission; default the file name.
        run_as: the file name to grade it under, see :func:`notebook_name`; default its own.
        jobs: how many submissions are graded at the same time (they share the CPU cores).

    Returns:
        The report row: ``status`` says whether otter graded the notebook, and ``reason`` why
        points were lost.
    """
    path, autograder = Path(path), Path(autograder).resolve()
    name = name or path.name
    start = time.monotonic()
    try:
        problem = _notebook_problem(path)
        if problem:
            return _failed_row(name, INVALID, problem, tests, time.monotonic() - start)
        # A submission may leave files it made read-only; they must not stop the grader.
        with tempfile.TemporaryDirectory(
            prefix="d2l-grade-", ignore_cleanup_errors=True
        ) as tmp_dir:
            tmp = Path(tmp_dir)
            (tmp / "submission").mkdir()
            submission = tmp / "submission" / (run_as or path.name)
            shutil.copyfile(path, submission)
            result_file, log_file = tmp / "result.json", tmp / "otter.log"
            command = [
                sys.executable, "-m", "d2lhelpers.grading", "_worker",
                str(submission), str(autograder), str(result_file),
            ]  # fmt: skip
            with open(log_file, "wb") as log:
                proc = subprocess.Popen(
                    command,
                    cwd=tmp,
                    env=_submission_env(tmp, jobs),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                try:
                    proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    _kill_tree(proc.pid)
                    proc.wait()
                    reason = (
                        f"timed out after {timeout:g} s: a cell runs forever or far too long; "
                        "the notebook must run top to bottom within the limit"
                    )
                    return _failed_row(name, TIMEOUT, reason, tests, time.monotonic() - start)
                finally:
                    _kill_tree(proc.pid)
            log_tail = _tail(log_file)
            try:
                data = json.loads(result_file.read_text())
            except (OSError, ValueError):
                reason = f"otter produced no results (exit code {proc.returncode}): {log_tail}"
                return _failed_row(name, ERROR, reason, tests, time.monotonic() - start)
        return _row_from_worker(name, data, tests, time.monotonic() - start)
    except Exception as e:  # the grader must never stop on one submission
        reason = f"the grader failed on this submission: {type(e).__name__}: {e}"
        return _failed_row(name, ERROR, reason, tests, time.monotonic() - start)


def _row_from_worker(
    name: str, data: dict[str, Any], tests: list[tuple[str, float]], seconds: float
) -> SubmissionResult:
    errors = list(data.get("notebook_errors", []))
    if data.get("error"):
        reason = f"otter could not grade it: {data['error']}"
        if errors:
            reason += f" (the notebook raised {errors[0]})"
        row = _failed_row(name, ERROR, reason, tests, seconds)
        row.notebook_errors = errors
        return row
    by_name = {t["name"]: t for t in data.get("tests", [])}
    results = []
    for test, points in tests:
        got = by_name.get(test)
        if got is None:  # e.g. the submission deleted the test file before it ran
            results.append(TestResult(test, 0.0, points, "this test did not run"))
        else:
            results.append(
                TestResult(test, float(got["score"]), float(got["possible"]), got["message"])
            )
    failed = [t for t in results if t.score < t.possible]
    reasons = [f"the notebook raised {errors[0]}"] if errors else []
    reasons += [f"{t.name}: {_short(t.message)}" for t in failed]
    return SubmissionResult(
        submission=name,
        status=GRADED,
        score=sum(t.score for t in results),
        possible=sum(t.possible for t in results),
        reason="; ".join(reasons),
        tests=results,
        notebook_errors=errors,
        seconds=round(seconds, 1),
    )


def grade_folder(
    submissions: str | Path,
    autograder: str | Path,
    timeout: float = DEFAULT_TIMEOUT_S,
    jobs: int = 1,
) -> list[SubmissionResult]:
    """Grade every notebook under ``submissions``, each in its own sandbox; see the module doc.

    Args:
        submissions: folder of submitted ``.ipynb`` files (sub-folders are searched too).
        autograder: the autograder zip of ``otter assign``, or the folder that holds it.
        timeout: wall-clock seconds allowed per submission.
        jobs: submissions graded at the same time (each runs its own kernel).

    Returns:
        One result per notebook, in path order.

    Raises:
        ValueError: if ``timeout`` or ``jobs`` is not positive.
        FileNotFoundError, NotADirectoryError: if ``autograder`` or ``submissions`` is missing.
    """
    if not timeout > 0:
        raise ValueError(f"timeout must be positive, got {timeout!r}")
    check_int("jobs", jobs)
    autograder = find_autograder(autograder)
    tests, run_as = expected_tests(autograder), notebook_name(autograder)
    root = Path(submissions)
    paths = find_submissions(root)

    def grade(path: Path) -> SubmissionResult:
        name = path.relative_to(root).as_posix()
        return grade_submission(
            path, autograder, tests, timeout, name=name, run_as=run_as, jobs=jobs
        )

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(grade, paths))


def write_report(results: Sequence[SubmissionResult], path: str | Path) -> Path:
    """Write ``results`` as JSON (``.json``: everything) or CSV (one row per submission).

    The CSV has ``submission, status, score, possible, reason``, then for each test ``NAME``
    (its score) and ``NAME message``, then ``notebook errors`` and ``seconds``.

    Raises:
        ValueError: if ``path`` ends in neither ``.csv`` nor ``.json``.
    """
    path = Path(path)
    if path.suffix not in (".csv", ".json"):
        raise ValueError(f"report: the file name must end in .csv or .json, got {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".json":
        path.write_text(json.dumps([asdict(r) for r in results], indent=2, ensure_ascii=False))
        return path
    test_names = list(dict.fromkeys(t.name for r in results for t in r.tests))
    columns = ["submission", "status", "score", "possible", "reason"]
    columns += [c for name in test_names for c in (name, f"{name} message")]
    columns += ["notebook errors", "seconds"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for r in results:
            row: dict[str, Any] = {
                "submission": r.submission, "status": r.status, "score": r.score,
                "possible": r.possible, "reason": r.reason,
                "notebook errors": " | ".join(r.notebook_errors), "seconds": r.seconds,
            }  # fmt: skip
            for t in r.tests:
                row[t.name], row[f"{t.name} message"] = t.score, t.message
            writer.writerow(row)
    return path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``python -m d2lhelpers grade``."""
    parser.add_argument("submissions", type=Path, help="folder of submitted .ipynb files")
    parser.add_argument(
        "--autograder", type=Path, required=True,
        help="the autograder zip from `otter assign`, or the folder holding it",
    )  # fmt: skip
    parser.add_argument(
        "--report", type=Path, default=Path("grades.csv"),
        help="where to write the report, .csv or .json (default: grades.csv)",
    )  # fmt: skip
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT_S,
        help=f"seconds allowed per submission (default: {DEFAULT_TIMEOUT_S:g})",
    )  # fmt: skip
    parser.add_argument("--jobs", type=int, default=1, help="submissions graded in parallel")


def main(args: argparse.Namespace) -> int:
    """Run ``python -m d2lhelpers grade``: grade, write the report, print a summary."""
    results = grade_folder(args.submissions, args.autograder, args.timeout, args.jobs)
    if not results:
        print(f"no .ipynb files under {args.submissions}", file=sys.stderr)
        return 1
    report = write_report(results, args.report)
    width = max(len(r.submission) for r in results)
    for r in results:
        print(f"{r.submission:<{width}}  {r.score:g}/{r.possible:g}  {r.status:<7}  {r.reason}")
    print(f"report: {report}")
    return 0


def _worker(submission: str, autograder: str, result_file: str) -> int:
    """Run ``otter run`` on one submission and save per-test results as JSON (subprocess side)."""
    import otter.run

    data: dict[str, Any] = {"tests": [], "notebook_errors": [], "error": None}
    try:
        results = otter.run.main(submission, autograder=autograder, output_dir=None, no_logo=True)
    except Exception as e:  # e.g. a notebook of another assignment: report it, don't crash
        data["error"] = f"{type(e).__name__}: {e}"
    else:
        catastrophe = getattr(results, "_catastrophic_error", None)
        if catastrophe is not None:  # the tests could not be run, e.g. their files are gone
            data["error"] = f"{type(catastrophe).__name__}: {catastrophe}"
        for name, test_file in results.results.items():
            messages = [r.message for r in test_file.test_case_results]
            data["tests"].append(
                {
                    "name": name,
                    "score": float(test_file.score),
                    "possible": float(test_file.possible),
                    "message": "\n".join(messages),
                }
            )
        notebook = getattr(results, "notebook", None)
        for cell in notebook.cells if notebook is not None else []:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    where = f"In [{cell.get('execution_count')}]"
                    data["notebook_errors"].append(
                        f"{where}: {output['ename']}: {output['evalue']}"[:300]
                    )
    Path(result_file).write_text(json.dumps(data))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "_worker":
        sys.exit(_worker(*sys.argv[2:]))
    sys.exit("usage: python -m d2lhelpers grade --help")
