"""The website in a real browser: every page of ``build/site`` (``make site``) loads without
console errors, shows its images and maths, links to Binder and to its notebook, and passes an
axe-core accessibility scan with no critical violations."""

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from .conftest import unavailable

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "build" / "site"
AXE = REPO / "site" / "node_modules" / "axe-core" / "axe.min.js"
NOTEBOOKS = sorted(
    path.relative_to(REPO).with_suffix(".html")
    for path in (REPO / "notebooks").glob("*/*.ipynb")
    if path.parent.name != "assignments"  # the instructor notebooks hold solutions
)
PAGES = [Path("index.html"), Path("api.html"), *NOTEBOOKS]


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site_url() -> Iterator[str]:
    if not (SITE / "index.html").exists():
        unavailable(f"the site is not built: run `make site` (expected {SITE / 'index.html'})")
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def open_page(browser, site_url):
    """Opens a page of the site and returns it with the console errors, failed requests and
    HTTP errors seen while it loaded, its MathJax typeset and its widgets drawn."""
    pages = []

    def open_page(path: Path):
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        pages.append(page)
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
        page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
        page.on(
            "response",
            lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None,
        )
        page.goto(f"{site_url}/{path.as_posix()}", wait_until="load")
        page.evaluate("() => window.MathJax?.startup?.promise")
        if page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count():
            page.locator(".widget-interact").first.wait_for()
        return page, problems

    yield open_page
    for page in pages:
        page.close()


@pytest.mark.parametrize("path", PAGES, ids=str)
def test_page(open_page, site_url, path: Path) -> None:
    """One visit per page, as page loads dominate the time: no console error, failed request or
    HTTP error; every image loaded, with alt text; no critical axe-core violation; and on a
    notebook's page, working Binder and download links to that notebook."""
    page, problems = open_page(path)
    assert problems == [], f"{path}: {problems}"
    images = page.evaluate(
        "() => [...document.images].map(i => ({src: i.src.slice(0, 80), alt: i.alt,"
        " loaded: i.complete && i.naturalWidth > 0}))"
    )
    assert [i for i in images if not i["loaded"]] == [], f"{path}: images that did not load"
    # Alt text describes the figure; MyST-NB's fallback is the image's own file name.
    missing_alt = [i for i in images if not i["alt"] or i["alt"].endswith((".png", ".svg"))]
    assert missing_alt == [], f"{path}: images without alt text"

    page.add_script_tag(path=str(AXE))
    # Colour contrast, the slowest rule by far, is never rated critical.
    violations = page.evaluate(
        "async () => (await axe.run({resultTypes: ['violations'],"
        " rules: {'color-contrast': {enabled: false}}})).violations"
    )
    critical = [
        (v["id"], v["nodes"][0]["html"][:120]) for v in violations if v["impact"] == "critical"
    ]
    assert critical == [], f"{path}: critical accessibility violations"

    if path in NOTEBOOKS:
        notebook = path.with_suffix(".ipynb").as_posix()
        binder = f'a[href*="mybinder.org/v2/gh/"][href$="urlpath=lab/tree/{notebook}"]'
        assert page.locator(binder).count() == 1, f"{path}: no Binder link to {notebook}"
        download = page.locator(f'a[href$="_sources/{notebook}"]')
        assert download.count() == 1, f"{path}: no download link to {notebook}"
        response = page.request.get(f"{site_url}/_sources/{notebook}")
        assert response.body() == (REPO / notebook).read_bytes()


def test_navigation_reaches_every_chapter_and_notebook(open_page) -> None:
    page, _ = open_page(Path("index.html"))
    captions = page.locator("nav.bd-docs-nav p.caption").all_inner_texts()
    chapters = sorted({path.parent.name for path in NOTEBOOKS})
    assert len(captions) == len(chapters) + 1, captions  # + the API reference
    hrefs = page.locator("nav.bd-docs-nav a.reference.internal").evaluate_all(
        "links => links.map(a => new URL(a.href).pathname.slice(1))"
    )
    assert sorted(hrefs) == sorted([*(p.as_posix() for p in NOTEBOOKS), "api.html"])


def test_maths_is_typeset(open_page) -> None:
    page, _ = open_page(Path("notebooks/01-preliminaries/05-calculus.html"))
    assert page.locator("mjx-container").count() > 20
    assert page.locator(".math").count() == page.locator(".math mjx-container").count()


def test_screenshot_for_the_readme(open_page, screenshot_dir: Path) -> None:
    page, _ = open_page(Path("notebooks/00-introduction/01-quick-tour.html"))
    page.screenshot(path=screenshot_dir / "site-quick-tour.png")
    assert (screenshot_dir / "site-quick-tour.png").stat().st_size > 10_000
