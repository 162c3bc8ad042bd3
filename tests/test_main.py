"""The command line: ``python -m d2lhelpers doctor`` and ``python -m d2lhelpers download``."""

from __future__ import annotations

import re
import runpy
import sys

import pytest

import d2lhelpers.__main__ as cli
from d2lhelpers import cache_dir, doctor
from d2lhelpers.datasets import DataFile, DataSet

from .conftest import GOOD, sha256

NAME = "fake-cli-set"


@pytest.fixture
def fake_set(server, register) -> DataSet:
    url = server.serve("/cli/good.txt", GOOD)
    return register(
        DataSet(NAME, "fake data for the CLI", "CC0", (DataFile("good.txt", sha256(GOOD), (url,)),))
    )


def test_download_named_data_set(fake_set, server, capsys):
    assert cli.main(["download", NAME]) == 0
    target = cache_dir() / NAME / "good.txt"
    assert capsys.readouterr().out == f"{NAME}: {target}\n"
    assert target.read_bytes() == GOOD
    assert cli.main(["download", NAME]) == 0  # already there
    assert server.total_requests == 1


def test_download_without_names_fetches_every_data_set(fake_set, server, monkeypatch, capsys):
    monkeypatch.setattr(cli, "DATASETS", {NAME: fake_set})
    assert cli.main(["download"]) == 0
    assert capsys.readouterr().out.startswith(f"{NAME}: ")
    assert server.requests["/cli/good.txt"] == 1


def test_download_failure_prints_the_resolvers_clear_error(server, register, capsys):
    url = server.url("/cli/missing.txt")
    register(DataSet(NAME, "gone", "CC0", (DataFile("good.txt", sha256(GOOD), (url,)),)))
    assert cli.main(["download", NAME]) == 1
    assert f"download from {url} failed" in capsys.readouterr().err


def test_download_unknown_name_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["download", "no-such-set"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'no-such-set'" in capsys.readouterr().err


def test_a_command_is_required(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([])
    assert exit_info.value.code == 2
    assert "doctor" in capsys.readouterr().err


def test_doctor_command_runs_the_doctor(monkeypatch, capsys):
    monkeypatch.setattr(doctor, "report", lambda: (["all good"], 0))
    assert cli.main(["doctor"]) == 0
    assert capsys.readouterr().out == "all good\n\n0 problem(s) found\n"


def test_doctor_command_reports_missing_data(fashion_cache, capsys, monkeypatch):
    monkeypatch.setenv("D2L_OFFLINE", "1")
    status = cli.main(["doctor"])
    out = capsys.readouterr().out
    # The user cache is empty, D2L_DATA_PATH unset and downloads are off: data sets are missing.
    assert status == 1
    assert "time-machine" in out and "MISSING" in out
    assert re.search(r"\n[1-9]\d* problem\(s\) found; see the 'Troubleshooting'", out)


@pytest.mark.filterwarnings("ignore:.*found in sys.modules:RuntimeWarning")
def test_python_dash_m_entry_point(monkeypatch, capsys):
    # What `python -m d2lhelpers download no-such-set` runs, without starting a new Python.
    monkeypatch.setattr(sys, "argv", ["python -m d2lhelpers", "download", "no-such-set"])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_module("d2lhelpers", run_name="__main__")
    assert exit_info.value.code == 2
    assert "usage: python -m d2lhelpers download" in capsys.readouterr().err
