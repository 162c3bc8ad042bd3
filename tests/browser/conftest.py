"""A headless Chromium for the browser tests: Debian's ``chromium``, driven by Playwright.

Playwright's own browser download is never used (it needs the internet). The tests skip, with
the reason, where Chromium or Playwright is missing, or fail instead where
``D2L_REQUIRE_BROWSER=1`` says they must run (``.ci/run`` sets it, after installing both).
"""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "build" / "screenshots"

# Without the networking flags Chromium keeps trying to reach Google's services, which a
# machine without internet refuses, and the refusals show up as console errors.
CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def unavailable(reason: str) -> None:
    """Skip the test for ``reason``, or fail it where ``D2L_REQUIRE_BROWSER=1``."""
    if os.environ.get("D2L_REQUIRE_BROWSER") == "1":
        pytest.fail(f"D2L_REQUIRE_BROWSER=1, but {reason}")
    pytest.skip(reason)


def chromium_path() -> str | None:
    """The Chromium executable: ``$D2L_CHROMIUM``, else ``chromium`` on the PATH."""
    return os.environ.get("D2L_CHROMIUM") or shutil.which("chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator["object"]:
    path = chromium_path()
    if path is None:
        unavailable(
            "Chromium not found: install Debian's package (`apt-get install chromium`) or set "
            "D2L_CHROMIUM to a Chromium executable"
        )
    try:
        from playwright import sync_api
    except ImportError:
        unavailable("Playwright missing: pip install -e '.[test]'")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def screenshot_dir() -> Path:
    """Where the tests save their screenshots (git-ignored; ``make screenshots`` copies the
    README's pictures from here)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
