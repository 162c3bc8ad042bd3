"""Reduced mode: the switch and its notice."""

from __future__ import annotations

import pytest

from d2lhelpers import reduced
from d2lhelpers.reduced import reduced_mode


@pytest.mark.parametrize(
    ("value", "on"),
    [(None, False), ("", False), ("0", False), ("false", False), ("No", False), (" 0 ", False),
     ("1", True), ("yes", True), ("true", True)],
)
def test_reduced_mode_reads_the_environment(monkeypatch, value, on):
    monkeypatch.delenv("D2L_REDUCED", raising=False)
    if value is not None:
        monkeypatch.setenv("D2L_REDUCED", value)
    assert reduced_mode() is on


def test_notify_writes_one_line_to_stderr(capsys):
    reduced.notify("using less")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "[d2lhelpers] reduced mode (D2L_REDUCED=1): using less\n"


def test_limits():
    assert (reduced.REDUCED_TRAIN_EXAMPLES, reduced.REDUCED_TEST_EXAMPLES) == (3000, 1000)
    assert reduced.REDUCED_MAX_EPOCHS == 2
