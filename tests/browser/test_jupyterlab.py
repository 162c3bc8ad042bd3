"""JupyterLab as ``make book`` starts it, driven in headless Chromium.

The server (``tests/jupyterlab_server.py``) binds 127.0.0.1 on a free port behind a random
token, with fresh configuration, settings and workspace folders. Autosave is off and nothing is
saved: the notebooks on disk must be unchanged after the run. Screenshots go
to build/screenshots/ (the README shows the quick tour's).
"""

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ..jupyterlab_server import Lab, jupyterlab

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
QUICK_TOUR = "00-introduction/01-quick-tour.ipynb"
CALCULUS = "01-preliminaries/05-calculus.ipynb"
VIEWPORT = {"width": 1280, "height": 800}  # a typical laptop screen
KERNEL_IDLE_MS = 60_000
RUN_ALL_MS = 180_000
WIDGET_UPDATE_MS = 20_000

# JupyterLab settings that differ from the defaults: no autosave (the test must not write the
# notebooks), and no question about fetching news, whose toast would cover the screenshots.
SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    home = tmp_path_factory.mktemp("jupyterlab")
    for plugin, values in SETTINGS.items():
        path = home / "settings" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    # Full mode, as `make book` runs, not the suite's reduced mode: the quick tour takes seconds
    # either way, its screenshot is the learner's view (all epochs, no reduced-mode notice), and
    # only full mode draws the training plot live. The kernels inherit this environment.
    with jupyterlab(
        NOTEBOOKS,
        home,
        # window.jupyterapp: the tests run JupyterLab's own commands instead of clicking menus
        "--LabApp.expose_app_in_browser=True",
        env={"D2L_REDUCED": "0"},
    ) as lab:
        yield lab


def test_token_is_required(lab: Lab) -> None:
    assert lab.get("/api/status")[0] == 403
    assert lab.get(f"/lab/tree/{QUICK_TOUR}")[0] == 302  # to the login page


# In-page helpers, defined once per page. A notebook is found by its path; images are told apart
# by their data URL (each redraw of a plot is a new PNG).
PAGE_HELPERS = """() => {
  const app = window.jupyterapp;
  const panel = (path) =>
    Array.from(app.shell.widgets('main')).find((w) => w.context && w.context.path === path);
  window.d2l = {
    panel,
    ready: (path) => {
      const p = panel(path);
      return Boolean(p && p.context.isReady && p.sessionContext.session?.kernel?.status === 'idle');
    },
    // Clear the outputs, then (optionally) watch one cell's images, then run every cell.
    runAll: (path, watchIndex) => {
      window.d2l.run = {done: false};
      app.shell.activateById(panel(path).id);
      app.commands.execute('notebook:clear-all-cell-outputs')
        .then(() => {
          if (watchIndex !== null) window.d2l.watchImages(path, watchIndex);
          return app.commands.execute('notebook:run-all-cells');
        })
        .then((ok) => { window.d2l.run = {done: true, ok}; },
              (error) => { window.d2l.run = {done: true, ok: false, error: String(error)}; });
    },
    // Execution counts, and the errors and tracebacks among the outputs, of every code cell.
    cells: (path) => panel(path).content.widgets.filter((c) => c.model.type === 'code').map((c) => {
      const outputs = c.model.outputs.toJSON();
      return {
        source: c.model.sharedModel.getSource().slice(0, 60),
        count: c.model.executionCount,
        errors: outputs.filter((o) => o.output_type === 'error'
          || (o.output_type === 'stream' && String(o.text).includes('Traceback')))
          .map((o) => o.ename ? `${o.ename}: ${o.evalue}` : String(o.text)),
      };
    }),
    cellIndex: (path, snippet) => panel(path).content.widgets.findIndex(
      (c) => c.model.sharedModel.getSource().includes(snippet)),
    cellNode: (path, index) => panel(path).content.widgets[index].node,
    // The image that a cell's output widget shows once the kernel is idle; null while busy.
    widgetImage: (path, index) => {
      const img = window.d2l.cellNode(path, index).querySelector('.widget-output img');
      return panel(path).sessionContext.session?.kernel?.status === 'idle' && img ? img.src : null;
    },
    scrollTo: (path, index) => panel(path).content.scrollToItem(index, 'start'),
    // Record every distinct image shown in a cell's outputs from now on.
    watchImages: (path, index) => {
      const node = window.d2l.cellNode(path, index);
      const seen = new Set();
      const record = () => node.querySelectorAll('.jp-OutputArea-output img')
        .forEach((img) => img.src && seen.add(img.src));
      new MutationObserver(record).observe(
        node, {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
      // distinct: images seen; shown: image outputs now (1 if the plot is redrawn in place)
      window.d2l.images = () => ({
        distinct: seen.size, shown: node.querySelectorAll('.jp-OutputArea-output img').length});
    },
    // Append a cell to the (unsaved) notebook and run it.
    runNewCell: (path, source) => {
      const notebook = panel(path).content;
      notebook.activeCellIndex = notebook.widgets.length - 1;
      return app.commands.execute('notebook:insert-cell-below').then(() => {
        notebook.activeCell.model.sharedModel.setSource(source);
        window.d2l.watchImages(path, notebook.activeCellIndex);
        return app.commands.execute('notebook:run-cell');
      });
    },
  };
}"""


@dataclass
class Notebook:
    """A notebook open in JupyterLab, with the browser console errors seen on its page."""

    page: "Page"
    path: str
    console_errors: list[str]

    def evaluate(self, expression: str, *args: object) -> object:
        return self.page.evaluate(expression, [self.path, *args])

    def run_all(self, watch_images_of: int | None = None) -> None:
        """Clear the outputs and run every cell, recording the images shown by the cell at
        index ``watch_images_of``; fails unless every code cell ran without an error."""
        self.evaluate("([path, index]) => d2l.runAll(path, index)", watch_images_of)
        self.page.wait_for_function("() => d2l.run.done", timeout=RUN_ALL_MS)
        cells = self.evaluate("([path]) => d2l.cells(path)")
        failed = [cell for cell in cells if cell["count"] is None or cell["errors"]]
        assert not failed, f"{self.path}: cells not run or with errors: {failed}"
        assert self.evaluate("() => d2l.run")["ok"], f"{self.path}: Run All reported a failure"

    def cell_index(self, snippet: str) -> int:
        index = self.evaluate("([path, snippet]) => d2l.cellIndex(path, snippet)", snippet)
        assert index >= 0, f"{self.path}: no cell contains {snippet!r}"
        return index

    def widget_plot(self, index: int) -> str:
        """The image shown by the output widget of the cell at ``index`` once it is settled: the
        kernel idle and the image unchanged for a second (moving a slider by several steps
        redraws it once per step)."""
        deadline = time.monotonic() + WIDGET_UPDATE_MS / 1000
        last, since = None, time.monotonic()
        while time.monotonic() < deadline:
            src = self.evaluate("([path, index]) => d2l.widgetImage(path, index)", index)
            if src != last:
                last, since = src, time.monotonic()
            elif src is not None and time.monotonic() - since >= 1:
                return src
            time.sleep(0.2)
        raise AssertionError(f"{self.path}: the widget's plot in cell {index} did not settle")

    def scroll_to(self, index: int) -> None:
        # Twice: cells that come into view are laid out (and grow) only after the first scroll.
        for _ in range(2):
            self.evaluate("([path, index]) => d2l.scrollTo(path, index)", index)
            self.page.wait_for_timeout(300)


@pytest.fixture
def open_notebook(lab: Lab, browser: "Browser") -> Iterator[Callable[[str], Notebook]]:
    """Opens a notebook in a new page (1280x800) and waits for its kernel to be idle; on
    teardown, checks that the file on disk is unchanged."""
    pages = []
    originals: dict[Path, bytes] = {}

    from playwright.sync_api import TimeoutError as PlaywrightTimeout  # the browser has it

    def open_(path: str) -> Notebook:
        originals[NOTEBOOKS / path] = (NOTEBOOKS / path).read_bytes()
        page = browser.new_page(viewport=VIEWPORT)
        pages.append(page)
        notebook = Notebook(page, path, [])
        page.on("console", lambda m: m.type == "error" and notebook.console_errors.append(m.text))
        page.on("pageerror", lambda e: notebook.console_errors.append(f"uncaught: {e}"))
        # A workspace of its own, or JupyterLab would reopen the notebooks of earlier pages too.
        page.goto(lab.url(f"/lab/workspaces/{Path(path).stem}/tree/{path}"))
        page.wait_for_function("() => window.jupyterapp && window.jupyterapp.started")
        page.evaluate(f"() => window.jupyterapp.started.then({PAGE_HELPERS})")
        try:
            page.wait_for_function(
                "([path]) => d2l.ready(path)", arg=[path], timeout=KERNEL_IDLE_MS
            )
        except PlaywrightTimeout as error:
            raise AssertionError(
                f"{path}: no idle kernel after {KERNEL_IDLE_MS / 1000:.0f} s; server log:\n"
                f"{lab.log_tail()}"
            ) from error
        return notebook

    yield open_
    for page in pages:
        page.close()  # without running beforeunload: the unsaved notebook is discarded
    for path, content in originals.items():
        assert path.read_bytes() == content, f"{path} changed on disk: JupyterLab saved it"


def _assert_no_console_errors(notebook: Notebook) -> None:
    assert not notebook.console_errors, (
        f"browser console errors on {notebook.path}:\n" + "\n".join(notebook.console_errors)
    )


# A curve drawn by d2l.Animator point by point, as train_classifier draws it, but slowly enough
# to be redrawn live. The quick tour's own training takes about a second on two cores: whether
# it lasts past the Animator's first live redraw (due after 1 s) depends on the machine.
LIVE_PLOT = """\
import time
animator = d2l.Animator(xlabel="epoch", xlim=(0, 4), min_interval=0, max_overhead=0.5)
for epoch in range(1, 5):
    animator.add(epoch, [1 / epoch])
    time.sleep(0.2)
animator.finish()
"""


def test_quick_tour(open_notebook, screenshot_dir: Path) -> None:
    notebook = open_notebook(QUICK_TOUR)
    training = notebook.cell_index("train_classifier(")
    notebook.run_all(watch_images_of=training)
    assert notebook.evaluate("() => d2l.images().shown") == 1, "no training plot, or several"
    notebook.scroll_to(training)
    notebook.page.screenshot(path=screenshot_dir / "jupyterlab-quick-tour.png")

    notebook.evaluate("([path, source]) => d2l.runNewCell(path, source)", LIVE_PLOT)
    notebook.page.wait_for_function(
        "([path]) => d2l.cells(path).at(-1).count !== null", arg=[notebook.path],
        timeout=WIDGET_UPDATE_MS,
    )
    assert notebook.evaluate("([path]) => d2l.cells(path).at(-1).errors") == []
    images = notebook.evaluate("() => d2l.images()")
    assert images["distinct"] >= 2 and images["shown"] == 1, f"not redrawn in place: {images}"
    _assert_no_console_errors(notebook)


def test_calculus_slider(open_notebook, screenshot_dir: Path) -> None:
    notebook = open_notebook(CALCULUS)
    notebook.run_all()
    index = notebook.cell_index("interact(show_tangent")
    notebook.scroll_to(index)
    panel_id = notebook.evaluate("([path]) => d2l.panel(path).id")
    slider = notebook.page.locator(f"#{panel_id} .jp-Cell").nth(index).locator(".widget-slider")
    handle, readout = slider.locator(".noUi-handle"), slider.locator(".widget-readout")
    handle.wait_for(timeout=WIDGET_UPDATE_MS)
    first = notebook.widget_plot(index)
    assert readout.inner_text() == "1.00"

    handle.focus()
    for _ in range(4):  # four steps of 0.05: x0 from 1.00 to 1.20
        handle.press("ArrowRight")
    moved = notebook.widget_plot(index)
    assert readout.inner_text() == "1.20"
    if moved == first:  # compared, not asserted: pytest would print both images' data URLs
        pytest.fail("the plot did not change when the slider moved")
    notebook.page.screenshot(path=screenshot_dir / "jupyterlab-calculus-slider.png")

    for _ in range(4):
        handle.press("ArrowLeft")
    back = notebook.widget_plot(index)
    assert readout.inner_text() == "1.00"
    if back != first:
        pytest.fail(
            "the slider back at x0 = 1.00 draws another plot than at first: the widget's "
            "function depends on more than the slider (a global that cells below it change?)"
        )
    _assert_no_console_errors(notebook)
