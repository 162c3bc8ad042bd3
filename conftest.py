"""pytest set-up shared by the unit tests and nbval's re-execution of the notebooks."""

import os

from nbval.plugin import IPyNbFile

# Notebooks (and the kernels nbval starts, which inherit this environment) run in reduced mode.
os.environ.setdefault("D2L_REDUCED", "1")
# Never pop up windows from a test.
os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_collectstart(collector):
    # stderr carries progress bars and the reduced-mode notice, which differ from the stored
    # full-run outputs by design; errors still fail the cell.
    if isinstance(collector, IPyNbFile):
        collector.skip_compare += ("stderr",)
