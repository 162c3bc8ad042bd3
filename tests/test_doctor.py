"""The doctor's report (``python -m d2lhelpers doctor``)."""

from __future__ import annotations

import dataclasses
import sys
import types
from importlib.metadata import PackageNotFoundError, version

import IPython
import pytest
from jupyter_client.kernelspec import KernelSpecManager

from d2lhelpers import DATASETS, doctor, try_all_gpus
from d2lhelpers.datasets import DataFile, DataSet

from .conftest import GOOD, sha256


@pytest.fixture
def nothing_on_disk(monkeypatch, tmp_path):
    """No data set is on this machine, whatever it has installed: the system paths (Debian's
    Fashion-MNIST package) point to an empty folder, and the user cache is empty."""
    for name, dataset in DATASETS.items():
        empty = dataclasses.replace(dataset, system_dirs=(str(tmp_path / "no-system-data"),))
        monkeypatch.setitem(DATASETS, name, empty)


def data_set_line(lines: list[str], name: str) -> str:
    (line,) = [line for line in lines if line.startswith(f"  {name} ")]
    return line


def fake_specs(monkeypatch, specs: dict[str, list[str]]) -> None:
    monkeypatch.setattr(
        KernelSpecManager,
        "get_all_specs",
        lambda self: {name: {"spec": {"argv": argv}} for name, argv in specs.items()},
    )


def test_report_lists_versions_devices_and_every_data_set(nothing_on_disk):
    lines, problems = doctor.report()
    text = "\n".join(lines)
    assert lines[0].startswith("Python       ") and sys.executable in lines[0]
    assert f"torch        {version('torch')}" in lines
    assert f"torchvision  {version('torchvision')}" in lines
    assert f"devices      {', '.join(str(d) for d in try_all_gpus())}" in lines
    assert "Jupyter:" in lines and "data sets:" in lines
    # Nothing is on disk, but downloads are allowed: not a problem, except for a data set that
    # no URL serves, which the user must fetch by hand.
    for name, dataset in DATASETS.items():
        line = data_set_line(lines, name)
        if dataset.manual_download:
            assert "MISSING; to get it, do one of:" in line and "download https://" in line
        else:
            assert line.endswith("not downloaded yet: fetched on first use")
    assert problems == text.count(" MISSING; ") + text.count("NOT INSTALLED")


def test_report_offline_names_missing_data_sets_and_remedies(nothing_on_disk, monkeypatch):
    monkeypatch.setenv("D2L_OFFLINE", "1")
    lines, problems = doctor.report()
    text = "\n".join(lines)
    line = data_set_line(lines, "time-machine")
    assert "MISSING; to get it, do one of:" in line
    assert "      - python -m d2lhelpers download time-machine" in line
    assert "timemachine.txt yourself" in line
    fashion = data_set_line(lines, "fashion-mnist")
    assert "      - sudo apt-get install dataset-fashion-mnist" in fashion
    assert problems == text.count(" MISSING; ") + text.count("NOT INSTALLED")
    assert text.count(" MISSING; ") == len(DATASETS)


def test_report_finds_data_on_the_data_path(shared_data, monkeypatch):
    monkeypatch.setenv("D2L_DATA_PATH", str(shared_data))
    lines, _ = doctor.report()
    for name in ("time-machine", "airfoil", "kaggle-house-train", "kaggle-house-test"):
        assert data_set_line(lines, name).endswith(f" found in {shared_data}")
    assert data_set_line(lines, "cmn-eng").endswith(f" found in {shared_data / 'cmn-eng'}")


def test_report_never_downloads(server, register, tmp_path, monkeypatch):
    url = server.serve("/good.txt", GOOD)
    remote_file = DataFile("good.txt", sha256(GOOD), (url,))
    register(DataSet("fake-remote", "remote only", "CC0", (remote_file,)))
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / "good.txt").write_bytes(GOOD)
    register(
        DataSet(
            "fake-local",
            "on disk",
            "CC0",
            (DataFile("good.txt", sha256(GOOD)),),
            system_dirs=(str(tmp_path / "local"),),
        )
    )
    lines, _ = doctor.report()
    assert data_set_line(lines, "fake-remote").endswith("not downloaded yet: fetched on first use")
    assert data_set_line(lines, "fake-local").endswith(f"found in {tmp_path / 'local'}")
    monkeypatch.setenv("D2L_OFFLINE", "1")
    lines, _ = doctor.report()
    remote = data_set_line(lines, "fake-remote")
    assert "MISSING" in remote and f"download {url} yourself" in remote
    assert server.total_requests == 0


def test_missing_package_is_a_problem(monkeypatch):
    _, baseline = doctor.report()

    def fake_version(package):
        if package == "ipywidgets":
            raise PackageNotFoundError(package)
        return version(package)

    monkeypatch.setattr(doctor, "version", fake_version)
    lines, problems = doctor.report()
    assert "ipywidgets   NOT INSTALLED" in lines
    assert problems == baseline + 1


def test_kernels_that_run_this_python(monkeypatch):
    fake_specs(monkeypatch, {"d2l": [sys.executable, "-m", "ipykernel_launcher"]})
    lines = doctor._jupyter_kernels()
    assert lines == [f"kernel 'd2l' runs {sys.executable}"]


def test_no_kernel_runs_this_python(monkeypatch):
    fake_specs(monkeypatch, {"python3": ["python", "-m", "ipykernel"], "julia": ["/opt/julia"]})
    lines = doctor._jupyter_kernels()
    assert lines[:2] == [
        "kernel 'julia' runs /opt/julia",
        "kernel 'python3' runs the Python running JupyterLab",
    ]
    assert "register it as a kernel" in lines[2]
    assert f"{sys.executable} -m ipykernel install --user --name d2l" in lines[2]


def test_inside_a_kernel_the_doctor_says_so(monkeypatch):
    fake_specs(monkeypatch, {})
    monkeypatch.setattr(IPython, "get_ipython", lambda: types.SimpleNamespace(kernel=object()))
    lines = doctor._jupyter_kernels()
    assert lines[0] == f"kernel in use: this notebook's kernel runs {sys.executable}"


def test_without_jupyter_client(monkeypatch):
    monkeypatch.setitem(sys.modules, "jupyter_client.kernelspec", None)  # import fails
    assert doctor._jupyter_kernels() == [
        "jupyter_client not installed: JupyterLab cannot run notebooks here"
    ]


@pytest.mark.parametrize(("problems", "status"), [(0, 0), (2, 1)])
def test_main_prints_the_report_and_exit_status(monkeypatch, capsys, problems, status):
    monkeypatch.setattr(doctor, "report", lambda: (["line one", "line two"], problems))
    assert doctor.main() == status
    out = capsys.readouterr().out
    assert out.startswith("line one\nline two\n")
    assert f"{problems} problem(s) found" in out
    assert ("Troubleshooting" in out) == bool(problems)
