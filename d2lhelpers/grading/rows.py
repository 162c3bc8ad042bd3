"""Turning what a graded submission left behind into one row of the report (pure functions)."""

from __future__ import annotations

from dataclasses import dataclass, field

GRADED, TIMEOUT, INVALID, ERROR = "graded", "timeout", "invalid", "error"
"""Values of :attr:`SubmissionResult.status`."""

VIOLATIONS = {
    "timeout": "ran past the time limit of {timeout_s:g} s: a cell runs forever or far too long; "
    "the notebook must run top to bottom within the limit",
    "output": "printed without end (more than {output_mib:g} MiB of output); it was stopped",
    "processes": "started processes without end (the limit is {max_processes}); it was stopped",
}
"""Sandbox violation -> what the row says the submission did."""

_ERROR_SIGNS = (
    (("MemoryError", "can't allocate memory", "Cannot allocate memory"),
     "ran out of its memory limit"),
    (("No space left on device", "File too large", "Disk quota exceeded"),
     "filled its disk space"),
    (("Read-only file system", "Permission denied"),
     "tried to change files outside its own folder (refused; nothing was changed)"),
    (("Network is unreachable", "Temporary failure in name resolution"),
     "tried to use the network (there is none while grading)"),
    (("Resource temporarily unavailable", "can't start new thread"),
     "started more processes than allowed"),
)  # fmt: skip


@dataclass
class TestResult:
    """Score of one question of the assignment for one submission."""

    name: str
    score: float
    possible: float
    message: str
    """Why the check failed, or ``"passed"``."""


@dataclass
class SubmissionResult:
    """One row of the report: what a submission scored, and why."""

    submission: str
    """Path of the notebook, relative to the submissions folder."""
    status: str
    """``graded``, ``timeout`` (or another limit), ``invalid`` (not a notebook) or ``error``."""
    score: float
    possible: float
    reason: str
    """One line for a teacher: why points were lost (empty for full marks)."""
    tests: list[TestResult] = field(default_factory=list)
    notebook_errors: list[str] = field(default_factory=list)
    """Errors raised by the submission's own cells, ``"In [n]: Type: message"``."""
    seconds: float = 0.0


def behaviours(notebook_errors: list[str]) -> list[str]:
    """What the errors of a submission's cells say it did, in a teacher's words (no repeats)."""
    found = []
    for signs, description in _ERROR_SIGNS:
        if any(sign in error for error in notebook_errors for sign in signs):
            found.append(description)
    return found


def failed_row(
    name: str, status: str, reason: str, tests: list[tuple[str, float]], seconds: float
) -> SubmissionResult:
    """The row of a submission that could not be graded: 0 on every question, with ``reason``."""
    return SubmissionResult(
        submission=name,
        status=status,
        score=0.0,
        possible=sum(points for _, points in tests),
        reason=reason,
        tests=[TestResult(test, 0.0, points, reason) for test, points in tests],
        seconds=round(seconds, 1),
    )


def graded_row(
    name: str,
    tests: list[tuple[str, float]],
    failures: dict[str, str],
    notebook_errors: list[str],
    seconds: float,
) -> SubmissionResult:
    """The row of a graded submission.

    Args:
        name: the submission's name in the report.
        tests: ``(question, points)`` of the assignment.
        failures: question -> the message of its failed check; questions not in it passed.
        notebook_errors: errors raised by the submission's cells.
        seconds: wall-clock time of grading it.
    """
    results = [
        TestResult(test, 0.0 if test in failures else points, points, failures.get(test, "passed"))
        for test, points in tests
    ]
    reasons = behaviours(notebook_errors)
    if notebook_errors:
        reasons.append(f"the notebook raised {notebook_errors[0]}")
    reasons += [f"{test}: {message}" for test, message in failures.items()]
    return SubmissionResult(
        submission=name,
        status=GRADED,
        score=sum(t.score for t in results),
        possible=sum(t.possible for t in results),
        reason="; ".join(reasons),
        tests=results,
        notebook_errors=notebook_errors,
        seconds=round(seconds, 1),
    )
