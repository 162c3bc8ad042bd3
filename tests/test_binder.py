"""Binder's set-up (``binder/``, read by repo2docker), checked as far as this machine allows.

No container runtime is needed: the tests parse the files repo2docker reads, resolve postBuild's
install command in a fresh virtual environment, run postBuild itself with the install stubbed
and the downloads replaced by the local data, and start JupyterLab with binder's settings.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml
from jupyterlab.commands import get_app_dir
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from d2lhelpers.datasets import DATASETS

from .jupyterlab_server import jupyterlab

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest depends on tomli before Python 3.11
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
BINDER = REPO / "binder"
POST_BUILD = BINDER / "postBuild"
OVERRIDES = BINDER / "overrides.json"

# `pip install -e ".[book,grading]"` and the like: the local package with its extras.
LOCAL_INSTALL = re.compile(r"""(?:^|\s)-e\s+["']?\.\[([^\]]*)\]""")


def _project() -> dict:
    """The ``[project]`` table of pyproject.toml."""
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def _local_extras(text: str, where: str) -> set[str]:
    """The extras of every editable install of this repository named in ``text``."""
    found = LOCAL_INSTALL.findall(text)
    assert found, f"{where} does not install this repository (pip install -e '.[...]')"
    return {extra.strip() for group in found for extra in group.split(",")}


def _conda_env(path: Path) -> tuple[str, list[str], list[str]]:
    """(python version, other conda packages, pip requirements) of a conda environment file."""
    dependencies = yaml.safe_load(path.read_text())["dependencies"]
    conda = [d for d in dependencies if isinstance(d, str)]
    pip = [r for d in dependencies if isinstance(d, dict) for r in d.get("pip", [])]
    pythons = [d.split("=", 1)[1] for d in conda if d.startswith("python=")]
    assert len(pythons) == 1, f"{path}: expected one 'python=X.Y' dependency, got {conda}"
    return pythons[0], [d for d in conda if not d.startswith("python=")], pip


def _pip_install_args() -> list[str]:
    """The arguments after ``pip install`` on postBuild's one pip line."""
    lines = POST_BUILD.read_text().replace("\\\n", " ").splitlines()
    installs = [line for line in lines if re.match(r"\s*pip\s+install\s", line)]
    assert len(installs) == 1, f"expected one 'pip install' line in {POST_BUILD}, got {installs}"
    return shlex.split(installs[0], comments=True)[2:]


def test_binder_installs_the_book_like_make_book_and_environment_yml() -> None:
    extras = set(_project()["optional-dependencies"])
    binder = _local_extras(" ".join(_pip_install_args()), "postBuild")
    assert binder <= extras, f"postBuild names extras unknown to pyproject.toml: {binder - extras}"
    assert "book" in binder, "postBuild must install the 'book' extra (JupyterLab and kernel)"
    for where, text in [
        ("Makefile", (REPO / "Makefile").read_text()),
        ("environment.yml", (REPO / "environment.yml").read_text()),
    ]:
        assert "book" in _local_extras(text, where), f"{where} no longer installs the book"

    # Everything else comes from pyproject.toml: neither conda file adds packages of its own.
    _, root_conda, root_pip = _conda_env(REPO / "environment.yml")
    _, binder_conda, binder_pip = _conda_env(BINDER / "environment.yml")
    assert root_conda == binder_conda == ["pip"], (root_conda, binder_conda)
    assert not binder_pip, f"binder/environment.yml installs pip packages itself: {binder_pip}"
    own = [r for r in root_pip if not LOCAL_INSTALL.search(" " + r)]
    assert not own, f"environment.yml lists pip packages beside pyproject.toml's: {own}"


def test_binder_python_matches_environment_yml_and_requires_python() -> None:
    binder_python, _, _ = _conda_env(BINDER / "environment.yml")
    root_python, _, _ = _conda_env(REPO / "environment.yml")
    assert binder_python == root_python
    requires = _project()["requires-python"]
    assert Version(binder_python) in SpecifierSet(requires), (binder_python, requires)


def test_post_build_is_an_executable_bash_script_and_binder_is_committed() -> None:
    listing = subprocess.run(
        ["git", "ls-files", "-s", "--", "binder"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    modes = {Path(line.split("\t")[1]).name: line.split()[0] for line in listing.splitlines()}
    # Binder builds from the commit, not from this working tree.
    untracked = {path.name for path in BINDER.iterdir()} - modes.keys()
    assert not untracked, f"binder/ files not in git, so Binder would not see them: {untracked}"
    # repo2docker runs postBuild as a program: git must record it as executable.
    mode = modes["postBuild"]
    assert mode == "100755", f"git mode of postBuild is {mode}: git update-index --chmod=+x"
    assert os.access(POST_BUILD, os.X_OK), f"{POST_BUILD} is not executable in this checkout"
    syntax = subprocess.run(["bash", "-n", str(POST_BUILD)], capture_output=True, text=True)
    assert syntax.returncode == 0, syntax.stderr


def test_binder_runs_notebooks_in_full_mode() -> None:
    for path in BINDER.iterdir():
        assert "D2L_REDUCED" not in path.read_text(), f"{path} sets reduced mode"


def _unreachable(urls: list[str]) -> list[str]:
    """The URLs among ``urls`` whose host accepts no connection within 5 s (file: URLs: a
    missing folder). A subprocess connects, as the unit tests block sockets in-process."""
    probe = (
        "import socket, sys, urllib.parse\n"
        "for url in sys.argv[1:]:\n"
        "    u = urllib.parse.urlsplit(url)\n"
        "    port = u.port or {'http': 80}.get(u.scheme, 443)\n"
        "    try:\n"
        "        socket.create_connection((u.hostname, port), timeout=5).close()\n"
        "    except OSError:\n"
        "        print(url)\n"
    )
    remote = [u for u in urls if not u.startswith("file:")]
    down = subprocess.run(
        [sys.executable, "-c", probe, *remote], capture_output=True, text=True, check=True
    ).stdout.split()
    missing = [u for u in urls if u.startswith("file:") and not Path(urlsplit(u).path).exists()]
    return down + missing


def _configured_index() -> str:
    """pip's index URL from its configuration files and environment (default: PyPI)."""
    listing = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, check=True
    ).stdout
    settings = [
        (key, value.strip("'\""))
        for key, _, value in (line.partition("=") for line in listing.splitlines())
        if key.endswith(".index-url")
    ]
    # PIP_INDEX_URL (listed as ":env:.index-url") wins over the configuration files.
    urls = [v for k, v in settings if k.startswith(":env:")] or [v for _, v in settings]
    return urls[-1] if urls else "https://pypi.org/simple"


def _drop_extra_indexes(args: list[str], urls: list[str]) -> list[str]:
    """``args`` without the ``--extra-index-url URL`` options naming one of ``urls``."""
    kept: list[str] = []
    for arg in args:
        if arg in urls and kept[-1:] == ["--extra-index-url"]:
            kept.pop()
        elif arg.removeprefix("--extra-index-url=") not in urls:
            kept.append(arg)
    return kept


def test_post_build_install_resolves_in_a_fresh_venv(tmp_path: Path) -> None:
    index = _configured_index()
    if _unreachable([index]):
        pytest.skip(f"package index {index} unreachable (offline?): cannot resolve the install")
    args = _pip_install_args()
    extra_indexes = [
        a.removeprefix("--extra-index-url=") for a in args if a.startswith("--extra-index-url=")
    ]
    extra_indexes += [b for a, b in zip(args, args[1:]) if a == "--extra-index-url"]
    # pip only warns about an index it cannot reach, but retries every project page on it
    # (about 15 minutes for this install), so leave out the extra indexes that are down here.
    down = _unreachable(extra_indexes)
    if down:
        warnings.warn(f"resolving without {down}, unreachable from here", stacklevel=1)
    args = _drop_extra_indexes(args, down)

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    pip_version = subprocess.run(
        [python, "-c", "import pip; print(pip.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if Version(pip_version) < Version("23"):  # --report appeared in pip 23
        subprocess.run([python, "-m", "pip", "install", "--quiet", "pip>=23"], check=True)

    report = tmp_path / "report.json"
    resolve = subprocess.run(
        [python, "-m", "pip", "install", *args, "--dry-run", "--quiet", "--report", str(report)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    # The errors, without the warnings about indexes that lack a project.
    errors = [line for line in resolve.stderr.splitlines() if not line.startswith("WARNING")]
    assert resolve.returncode == 0, f"pip could not resolve {args}:\n" + "\n".join(errors[-40:])
    installs = {
        canonicalize_name(item["metadata"]["name"]): item["metadata"]["version"]
        for item in json.loads(report.read_text())["install"]
    }
    missing = {"torch", "jupyterlab", "otter-grader"} - installs.keys()
    assert not missing, f"the Binder install lacks {missing}; it resolved {sorted(installs)}"
    if extra_indexes and not down:  # PyTorch's CPU index reached: its wheels must win
        assert Version(installs["torch"]).local == "cpu", installs["torch"]


def test_data_step_is_a_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "d2lhelpers", "download", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert all(name in result.stdout for name in DATASETS), result.stdout


def _purelib(python: str) -> str:
    """The site-packages folder of the interpreter ``python``."""
    return subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_post_build_installs_settings_and_data(
    tmp_path: Path, shared_data: Path, fashion_paths: dict[str, Path]
) -> None:
    """postBuild, with pip stubbed, in a stand-in environment whose prefix is a fresh folder:
    only the data sets that have a download URL are there, as on Binder's build machine."""
    prefix = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(prefix)], check=True)
    # The stand-in sees this project's packages, while sys.prefix (the settings' home) is new.
    project_site = _purelib(sys.executable)
    Path(_purelib(str(prefix / "bin" / "python")), "project.pth").write_text(
        f"import site; site.addsitedir({project_site!r})\n"
    )
    (tmp_path / "bin").mkdir()
    stub = tmp_path / "bin" / "pip"
    # test_post_build_install_resolves_in_a_fresh_venv checks the install.
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)

    downloadable = {n for n, d in DATASETS.items() if all(file.urls for file in d.files)}
    # Without a URL, the notebooks' error must say how to get the file.
    assert all(DATASETS[n].manual_download for n in DATASETS.keys() - downloadable)
    data = tmp_path / "downloadable"
    data.mkdir()
    for name in downloadable:
        for file in DATASETS[name].files:
            for copy in (shared_data / file.name, shared_data / name / file.name):
                if copy.exists():
                    (data / file.name).symlink_to(copy)
    fashion_dir = next(iter(fashion_paths.values())).parent
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(tmp_path / "bin"), str(prefix / "bin"), os.environ["PATH"]]),
        "D2L_DATA_PATH": os.pathsep.join([str(data), str(fashion_dir)]),
        "D2L_OFFLINE": "1",
    }
    run = subprocess.run([str(POST_BUILD)], cwd=REPO, env=env, capture_output=True, text=True)
    assert run.returncode == 0, f"postBuild failed:\n{run.stdout}\n{run.stderr}"
    fetched = {line.split(":")[0] for line in run.stdout.splitlines()}
    assert fetched == downloadable, run.stdout
    assert "fashion-mnist" in fetched

    app_dir = subprocess.run(
        [
            str(prefix / "bin" / "python"),
            "-c",
            "from jupyterlab.commands import get_app_dir; print(get_app_dir())",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    installed = Path(app_dir, "settings", "overrides.json")
    assert installed.is_file(), f"postBuild left no {installed}, where JupyterLab reads it"
    assert installed.read_text() == OVERRIDES.read_text()


def test_overrides_make_markdown_open_rendered(tmp_path: Path) -> None:
    overrides = json.loads(OVERRIDES.read_text())
    schemas = Path(get_app_dir(), "schemas")
    for plugin, settings in overrides.items():  # unknown ids and keys are ignored silently
        package, _, name = plugin.rpartition(":")
        path = schemas / package / f"{name}.json"
        assert path.is_file(), f"overrides.json names plugin {plugin!r}, which has no {path}"
        schema = json.loads(path.read_text())
        assert settings.keys() <= schema["properties"].keys(), (plugin, schema["properties"])
        for key, value in settings.items():
            jsonschema.validate(value, schema["properties"][key])

    app_settings = tmp_path / "app-settings"
    app_settings.mkdir()
    (app_settings / "overrides.json").write_text(OVERRIDES.read_text())
    served = {}
    with jupyterlab(tmp_path, tmp_path, f"--LabApp.app_settings_dir={app_settings}") as lab:
        for plugin in overrides:
            status, body = lab.get(f"/lab/api/settings/{plugin}?token={lab.token}")
            assert status == 200, (plugin, status)
            properties = json.loads(body)["schema"]["properties"]
            served[plugin] = {key: properties[key]["default"] for key in overrides[plugin]}
    # The defaults that every user's settings start from.
    assert served == overrides
    viewers = served["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]
    assert viewers.get("markdown") == "Markdown Preview", viewers
