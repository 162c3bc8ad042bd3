"""Stored notebook outputs must come from one top-to-bottom run (``make notebooks``)."""

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted(
    p
    for p in (Path(__file__).resolve().parents[1] / "notebooks").rglob("*.ipynb")
    # Assignment templates are handed out unexecuted, on purpose.
    if ".ipynb_checkpoints" not in p.parts and "assignments" not in p.parts
)


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebook found under notebooks/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.parent.name + "/" + p.name)
def test_executed_top_to_bottom(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    counts = [
        c["execution_count"]
        for c in cells
        if c["cell_type"] == "code" and "".join(c["source"]).strip()
    ]
    assert counts == list(range(1, len(counts) + 1)), (
        f"{path.name}: execution counts {counts} are not 1..{len(counts)}; "
        f"re-run it top to bottom with `make notebooks NOTEBOOKS={path}`"
    )
