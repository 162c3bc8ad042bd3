"""Writing the grading report as CSV (one row per submission) or JSON (everything)."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .rows import SubmissionResult


def write_report(results: Sequence[SubmissionResult], path: str | Path) -> Path:
    """Write ``results`` as JSON (``.json``: everything) or CSV (one row per submission).

    The CSV has ``submission, status, score, possible, reason``, then for each question
    ``NAME`` (its score) and ``NAME message``, then ``notebook errors`` and ``seconds``.

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
