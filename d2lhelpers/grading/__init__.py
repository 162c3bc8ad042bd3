"""Grading a folder of assignment notebooks: each run in a sandbox, graded from what it hands over.

Otter-grader (``pip install "d2lhelpers[grading]"``) builds the student notebook and the
autograder from the instructor notebook (``otter assign``), and its ``grader.check`` cells give
students feedback while they work. The grade itself never trusts the student's kernel. For
each submission this package

1. checks that the file is a readable notebook at all (a corrupt file is scored, not run);
2. runs it top to bottom in a sandbox (:mod:`d2lhelpers.sandbox`: an unprivileged user, its own
   size-limited folder, read-only data, no network, limits on time, memory, file size,
   processes and output), in full size on the real data, and then the assignment's fixed
   export step, which hands over plain data and tensors (:mod:`d2lhelpers.grading.execute`);
3. loads those artifacts in this process, which never ran student code, as plain data
   (``torch.load(weights_only=True)``), and runs the assignment's checks on them
   (:mod:`d2lhelpers.assignments`): the grader measures the model on the test images itself
   (a network other than an affine map runs as the allow-listed ATen operations it was
   traced to, :mod:`d2lhelpers.assignments.network`), and the linear homework's grader also
   reproduces the training from the recorded hyperparameters;
4. turns the outcome into one row of the report (:mod:`d2lhelpers.grading.rows`), written as
   CSV or JSON (:mod:`d2lhelpers.grading.report`).

Whatever a submission does (raise, loop, fork, print or allocate without end, delete files),
it gets a row with a score and a reason that names what it did; grading goes on.

Command line: ``python -m d2lhelpers grade SUBMISSIONS --autograder ZIP --report report.csv``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import queue
import shutil
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from ..assignments import assignment_module
from ..datasets import resolve_dataset
from ..sandbox import Limits, run_sandboxed
from ..validation import check_int
from .report import write_report
from .rows import (
    ERROR,
    GRADED,
    INVALID,
    TIMEOUT,
    VIOLATIONS,
    SubmissionResult,
    TestResult,
    failed_row,
    graded_row,
)

__all__ = [
    "ERROR", "GRADED", "INVALID", "STOPPED", "TIMEOUT", "Limits", "SubmissionResult",
    "TestResult", "expected_tests", "find_autograder", "find_submissions", "grade_folder",
    "grade_submission", "notebook_name", "run_checks", "write_report",
]  # fmt: skip

STOPPED = "stopped"
"""Status of a submission stopped for printing or forking without end."""
DEFAULT_TIMEOUT_S = 600.0
"""Wall-clock limit per submission: generous for a laptop-sized assignment."""
ARTIFACTS, ERRORS = "artifacts.pt", "errors.json"


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
    """``(question, points)`` of every autograded question in the autograder zip, by name.

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


def notebook_name(autograder: str | Path) -> str:
    """The assignment's name in the autograder's ``otter_config.json``, e.g.
    ``fashion-mnist-linear``; students' notebooks were handed out as ``NAME.ipynb``.

    Raises:
        ValueError: if the autograder names no assignment.
    """
    with zipfile.ZipFile(autograder) as zf:
        try:
            name = json.loads(zf.read("otter_config.json")).get("assignment_name")
        except (KeyError, ValueError):
            name = None
    if not isinstance(name, str) or not name:
        raise ValueError(f"autograder: {autograder} names no assignment in otter_config.json")
    return name


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


@dataclass(frozen=True)
class Assignment:
    """What grading one assignment needs: its checks, questions, and the shared data folder."""

    name: str
    module: ModuleType
    tests: list[tuple[str, float]]
    data_dir: Path
    """A folder every sandbox can read, holding the verified Fashion-MNIST files."""


def run_checks(
    module: ModuleType,
    artifacts: dict[str, Any],
    tests: list[tuple[str, float]],
    run: dict[str, float] | None = None,
) -> dict[str, str]:
    """Question -> the message of its failed check, for every question that failed.

    Runs each of the assignment's checks on the artifacts in this process. A check that
    cannot even read the artifacts (a submission that saved something else) fails too.
    ``run`` is the grader's measurement of the notebook's run, ``{"seconds", "threads"}``.
    """
    measured = module.Measurements(artifacts, run)
    failures = {}
    for question, _ in tests:
        try:
            module.CHECKS[question](artifacts, measured)
        except AssertionError as error:
            failures[question] = str(error)
        except Exception as error:  # malformed artifacts: the check's reading of them failed
            failures[question] = f"the grader could not check it: {type(error).__name__}: {error}"
    return failures


def _threads(jobs: int) -> int:
    """CPU threads each of ``jobs`` parallel submissions gets (``OMP_NUM_THREADS``)."""
    default = str(max(1, (os.cpu_count() or 1) // jobs))
    return int(os.environ.get("OMP_NUM_THREADS", default))


def _sandbox_env(data_dir: Path, jobs: int) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    env["D2L_DATA_PATH"] = str(data_dir)
    env["D2L_OFFLINE"] = "1"  # there is no network in the sandbox anyway
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    # Parallel submissions share the cores; PyTorch's default (all cores each) oversubscribes.
    env["OMP_NUM_THREADS"] = str(_threads(jobs))
    return env  # D2L_REDUCED is not passed on: the student's real training is graded


def _python_paths() -> list[Path]:
    """What the sandbox must read to run this Python: the interpreter's installation, the
    virtual environment, and this package's source (an editable install lives outside both)."""
    paths = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}
    paths.add(Path(__file__).resolve().parents[2])
    # A folder inside another one is readable through it already.
    return sorted(p for p in paths if not any(q != p and q in p.parents for q in paths))


def _notebook_problem(path: Path) -> str | None:
    """Why ``path`` is not a notebook that can be run, or ``None`` if it is one."""
    import nbformat

    try:
        nbformat.validate(nbformat.read(path, as_version=4))
    except Exception as e:  # JSON, schema and encoding errors all mean the same to a teacher
        first_line = (str(e).strip().splitlines() or [""])[0]
        return f"not a valid notebook: {type(e).__name__}: {first_line}"[:300]
    return None


def grade_submission(
    path: Path, assignment: Assignment, limits: Limits, name: str, slot: int = 0, jobs: int = 1
) -> SubmissionResult:
    """Grade one notebook: run it in a sandbox, then check what it handed over; never raises.

    Args:
        path: the submitted notebook.
        assignment: see :func:`grade_folder`.
        limits: the sandbox's limits (time, memory, disk, processes, output).
        name: how the report names the submission.
        slot: which of the parallel sandboxes runs it (each has its own user).
        jobs: how many submissions are graded at the same time (they share the CPU cores).
    """
    import torch

    from . import execute  # not at the top: the sandbox runs it as a script

    start = time.monotonic()
    tests = assignment.tests

    def elapsed() -> float:
        return time.monotonic() - start

    try:
        problem = _notebook_problem(path)
        if problem:
            return failed_row(name, INVALID, problem, tests, elapsed())
        with tempfile.TemporaryDirectory(prefix="d2l-grade-") as tmp:
            work = Path(tmp)
            # The notebook reads its own tests under the name it was handed out with.
            shutil.copyfile(path, work / f"{assignment.name}.ipynb")
            command = [
                sys.executable, "-m", execute.__name__, f"{assignment.name}.ipynb",
                assignment.name, ARTIFACTS, ERRORS,
            ]  # fmt: skip
            run = run_sandboxed(
                command,
                work,
                readonly=[assignment.data_dir, *_python_paths()],
                outputs=[work / ARTIFACTS, work / ERRORS],
                env=_sandbox_env(assignment.data_dir, jobs),
                limits=limits,
                slot=slot,
            )
            if run.returncode == execute.OUTPUT_LIMIT_EXIT and run.violation is None:
                run.violation = "output"
            if run.violation:
                status = TIMEOUT if run.violation == "timeout" else STOPPED
                reason = VIOLATIONS[run.violation].format(
                    timeout_s=limits.timeout_s,
                    output_mib=execute.OUTPUT_LIMIT_BYTES / 2**20,
                    max_processes=limits.max_processes,
                )
                return failed_row(name, status, reason, tests, elapsed())
            try:
                errors = [str(e) for e in json.loads((work / ERRORS).read_text())]
                artifacts = torch.load(work / ARTIFACTS, weights_only=True)
            except Exception as error:
                reason = (
                    f"the notebook handed nothing over: its run ended with exit code "
                    f"{run.returncode} ({type(error).__name__}); {run.output[-500:]}"
                )
                return failed_row(name, ERROR, reason, tests, elapsed())
        if not isinstance(artifacts, dict):
            artifacts = {"errors": {"all": f"the export step saved a {type(artifacts).__name__}"}}
        measured_run = {"seconds": run.seconds, "threads": _threads(jobs)}
        failures = run_checks(assignment.module, artifacts, tests, measured_run)
        return graded_row(name, tests, failures, errors, elapsed())
    except Exception as e:  # the grader must never stop on one submission
        reason = f"the grader failed on this submission: {type(e).__name__}: {e}"
        return failed_row(name, ERROR, reason, tests, elapsed())


def _shared_data_dir(folder: Path) -> Path:
    """A folder readable by every sandbox user, with the verified Fashion-MNIST files."""
    folder.mkdir(mode=0o755)
    for file_name, path in resolve_dataset("fashion-mnist").items():
        shutil.copyfile(path, folder / file_name)
        (folder / file_name).chmod(0o444)
    return folder


def grade_folder(
    submissions: str | Path,
    autograder: str | Path,
    timeout: float = DEFAULT_TIMEOUT_S,
    jobs: int = 1,
    limits: Limits | None = None,
) -> list[SubmissionResult]:
    """Grade every notebook under ``submissions``, each in its own sandbox; see the module doc.

    Args:
        submissions: folder of submitted ``.ipynb`` files (sub-folders are searched too).
        autograder: the autograder zip of ``otter assign``, or the folder that holds it.
        timeout: wall-clock seconds allowed per submission.
        jobs: submissions graded at the same time (each in its own sandbox).
        limits: the sandbox's other limits; default :class:`~d2lhelpers.sandbox.Limits`.

    Returns:
        One result per notebook, in path order.

    Raises:
        ValueError: if ``timeout`` or ``jobs`` is not positive, or no grader knows the
            assignment.
        FileNotFoundError, NotADirectoryError: if ``autograder`` or ``submissions`` is missing.
        DataSetNotFoundError: if Fashion-MNIST is not on this machine.
    """
    if not timeout > 0:
        raise ValueError(f"timeout must be positive, got {timeout!r}")
    check_int("jobs", jobs)
    autograder = find_autograder(autograder)
    name = notebook_name(autograder)
    module, tests = assignment_module(name), expected_tests(autograder)
    unchecked = sorted({test for test, _ in tests} - set(module.CHECKS))
    if unchecked:
        raise ValueError(f"autograder: {module.__name__} has no check for {unchecked}")
    limits = dataclasses.replace(limits or Limits(), timeout_s=timeout)
    root = Path(submissions)
    paths = find_submissions(root)
    with tempfile.TemporaryDirectory(prefix="d2l-grade-data-") as tmp:
        tmp_path = Path(tmp)
        tmp_path.chmod(0o755)
        assignment = Assignment(name, module, tests, _shared_data_dir(tmp_path / "data"))
        slots: queue.Queue[int] = queue.Queue()  # each parallel job has its own sandbox user
        for slot in range(jobs):
            slots.put(slot)

        def grade(path: Path) -> SubmissionResult:
            slot = slots.get()
            try:
                return grade_submission(
                    path, assignment, limits, path.relative_to(root).as_posix(), slot, jobs
                )
            finally:
                slots.put(slot)

        with ThreadPoolExecutor(max_workers=jobs) as pool:
            return list(pool.map(grade, paths))


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
