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


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.parent.name + "/" + p.name)
def test_every_figure_has_alt_text(path):
    """The website shows each stored figure with the alt text in the cell's MyST-NB metadata
    (``metadata.mystnb.image.alt``); without it, a screen reader reads out a file name."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    missing = [
        c.get("id", index)
        for index, c in enumerate(cells)
        if c["cell_type"] == "code"
        and any("image/png" in output.get("data", {}) for output in c.get("outputs", []))
        and len(c["metadata"].get("mystnb", {}).get("image", {}).get("alt", "").split()) < 5
    ]
    assert missing == [], f"{path.name}: cells whose figures lack alt text: {missing}"
