"""The sandboxed side of grading: run a submission top to bottom, then its export step.

``python -m d2lhelpers.grading.execute NOTEBOOK ASSIGNMENT ARTIFACTS ERRORS`` runs in the
sandbox, as the sandbox's user, next to the student's code. It executes the notebook with
nbclient (errors do not stop it, as in *Run All*), appends the assignment's export step, which
saves the artifacts with ``torch.save``, and writes the errors of the notebook's cells as JSON.
Nothing here is trusted by the grader: it only reads the two files, as plain data.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

OUTPUT_LIMIT_BYTES = 2 * 2**20
"""Most text a notebook may print; the run stops beyond it."""
OUTPUT_LIMIT_EXIT = 3
"""Exit status of a run stopped by :data:`OUTPUT_LIMIT_BYTES`."""

EXPORT_STEP = """\
import torch as __torch
from d2lhelpers.assignments import assignment_module as __assignment
__torch.save(__assignment({assignment!r}).export(globals()), {artifacts!r})
"""


class CappedClient(NotebookClient):
    """A notebook client that exits once the notebook has printed more than the limit."""

    printed = 0

    def output(self, outs: list, msg: dict, display_id: Any, cell_index: int) -> Any:
        self.printed += len(json.dumps(msg.get("content", {})))
        if self.printed > OUTPUT_LIMIT_BYTES:
            print(f"output limit: more than {OUTPUT_LIMIT_BYTES} bytes printed", flush=True)
            os._exit(OUTPUT_LIMIT_EXIT)  # the sandbox then ends the kernel too
        return super().output(outs, msg, display_id, cell_index)


def cell_errors(nb: nbformat.NotebookNode) -> list[str]:
    """``"In [n]: Type: message"`` for every cell whose output is an error, in order."""
    errors = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                where = f"In [{cell.get('execution_count')}]"
                errors.append(f"{where}: {output['ename']}: {output['evalue']}"[:300])
    return errors


def main(notebook: str, assignment: str, artifacts: str, errors: str) -> int:
    nb = nbformat.read(notebook, as_version=4)
    nb.cells.append(
        nbformat.v4.new_code_cell(EXPORT_STEP.format(assignment=assignment, artifacts=artifacts))
    )
    client = CappedClient(
        nb,
        timeout=None,  # the sandbox enforces the time limit for the whole run
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(Path(notebook).parent)}},
    )
    client.execute()
    Path(errors).write_text(json.dumps(cell_errors(nb)))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
