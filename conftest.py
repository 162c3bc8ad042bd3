"""pytest set-up shared by the unit tests and nbval's re-execution of the notebooks."""

import os

from nbval.kernel import RunningKernel
from nbval.plugin import IPyNbFile

# Notebooks (and the kernels nbval starts, which inherit this environment) run in reduced mode.
os.environ.setdefault("D2L_REDUCED", "1")
# pytest-xdist already runs one worker per core; PyTorch's default of one thread per core in
# every worker oversubscribes the CPU (chapter 4's notebooks took 2.6 times as long).
if "PYTEST_XDIST_WORKER" in os.environ:
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def pytest_collectstart(collector):
    # stderr carries progress bars and the reduced-mode notice, which differ from the stored
    # full-run outputs by design; errors still fail the cell.
    if isinstance(collector, IPyNbFile):
        collector.skip_compare += ("stderr",)


def _execute_with_history(self, cell_input, allow_stdin=None):
    # nbval executes with store_history=False, which hides a cell's trailing ';' from IPython,
    # so values that JupyterLab suppresses would be displayed. Execute as JupyterLab does.
    return self.kc.execute(
        cell_input, store_history=True, allow_stdin=allow_stdin, stop_on_error=False
    )


RunningKernel.execute_cell_input = _execute_with_history
