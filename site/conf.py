"""Sphinx configuration of the book's website: ``make site`` builds it into ``build/site``.

The source folder Sphinx reads is a copy the Makefile assembles in ``build/site-src``: this
folder's ``index.md`` and ``api.md`` beside a copy of ``notebooks/``, so page paths match the
repository's and the Binder and download links of every page point at the right notebook.

The pages are the committed notebooks with their stored outputs (nothing is re-executed), laid
out by MyST-NB in the sphinx-book-theme, the engine of Jupyter Book 1. Every script and font a
page loads is served by the site itself (MathJax, the ipywidgets embed manager, RequireJS, from
``site/node_modules``), so the site builds and reads offline.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

SITE = Path(__file__).resolve().parent
NODE_MODULES = SITE / "node_modules"


def _github_repository() -> str:
    """``owner/repo`` of the GitHub repository the Binder and source links point to:
    ``$GITHUB_REPOSITORY`` (set on GitHub Actions), else the ``origin`` remote."""
    if os.environ.get("GITHUB_REPOSITORY"):
        return os.environ["GITHUB_REPOSITORY"]
    remote = subprocess.run(
        ["git", "remote", "get-url", "origin"], cwd=SITE, capture_output=True, text=True
    ).stdout
    match = re.search(r"github\.com[:/]([^/]+/[^/]+?)(?:\.git)?\s*$", remote)
    # A clone that is not on GitHub still builds; its Binder links name a placeholder.
    return match.group(1) if match else "OWNER/REPO"


project = "Dive into Deep Learning, on your laptop"
author = "the book's authors"
copyright = "the book's authors, Apache-2.0"
language = "en"

extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.napoleon"]
# The instructor notebooks hold the assignments' solutions: they stay out of the website.
exclude_patterns = [
    "notebooks/assignments",
    "notebooks/index.md",  # included into index.md
    "**/.ipynb_checkpoints",
]

nb_execution_mode = "off"  # the stored outputs are the book's, from a full run
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
autodoc_member_order = "bysource"
autodoc_typehints = "description"

# Scripts served from _static/ (copied there after the build, see setup), never from a CDN.
mathjax_path = "mathjax/tex-chtml.js"
nb_ipywidgets_js = {
    "widgets/setup.js": {},
    "widgets/require.js": {},
    "widgets/@jupyter-widgets/html-manager/dist/embed-amd.js": {},
}

html_theme = "sphinx_book_theme"
html_static_path = ["_static"]
html_context = {"default_mode": "auto"}  # the theme logs an error when none is set
html_title = project
html_favicon = "_static/favicon.svg"
html_copy_source = True
html_sourcelink_suffix = ""  # "download .ipynb" serves the notebook itself
html_theme_options = {
    "repository_url": f"https://github.com/{_github_repository()}",
    "repository_branch": "HEAD",
    "path_to_docs": "",  # the site's notebooks/ is the repository's notebooks/
    "use_repository_button": True,
    "use_download_button": True,
    "use_source_button": True,
    "launch_buttons": {"binderhub_url": "https://mybinder.org", "notebook_interface": "jupyterlab"},
    "show_toc_level": 2,
}

# What the pages load from _static/, copied from the npm packages in package.json.
_ASSETS = {
    "mathjax": NODE_MODULES / "mathjax" / "es5",
    "widgets/require.js": NODE_MODULES / "requirejs" / "require.js",
    # The whole dist folder: the embed manager loads its fonts from beside itself.
    "widgets/@jupyter-widgets/html-manager/dist": NODE_MODULES / "@jupyter-widgets"
    / "html-manager" / "dist",
}


def _copy_assets(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    static = Path(app.outdir) / "_static"
    for name, source in _ASSETS.items():
        target = static / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            shutil.copy2(source, target)


def setup(app) -> None:
    missing = [str(path) for path in _ASSETS.values() if not path.exists()]
    if missing:
        raise FileNotFoundError(
            f"site assets missing: {missing}; run `npm ci --prefix site` (make site does)"
        )
    app.connect("build-finished", _copy_assets)
