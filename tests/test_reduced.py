"""Environment flags, reduced mode's defaults, and the thresholds notebooks assert against."""

from __future__ import annotations

import pytest

import d2lhelpers as d2l
from d2lhelpers import reduced


@pytest.mark.parametrize(
    ("value", "on"),
    [(None, False), ("", False), ("0", False), ("false", False), ("No", False), (" 0 ", False),
     ("off", False), ("1", True), ("yes", True), ("TRUE", True), (" on ", True)],
)
@pytest.mark.parametrize("name", ["D2L_REDUCED", "D2L_OFFLINE"])
def test_env_flag_parses_every_boolean_spelling(monkeypatch, name, value, on):
    monkeypatch.delenv(name, raising=False)
    if value is not None:
        monkeypatch.setenv(name, value)
    assert d2l.env_flag(name) is on


@pytest.mark.parametrize("value", ["2", "enabled", "y e s"])
def test_env_flag_rejects_other_values_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv("D2L_REDUCED", value)
    with pytest.raises(ValueError, match=f"D2L_REDUCED={value!r}: expected 1 or 0"):
        d2l.reduced_mode()


def test_offline_flag_goes_through_env_flag(monkeypatch):
    monkeypatch.setenv("D2L_OFFLINE", "maybe")
    with pytest.raises(ValueError, match="D2L_OFFLINE='maybe'"):
        d2l.resolve_dataset("time-machine")


@pytest.mark.parametrize(("value", "expected"), [("1", 0.6), ("0", 0.84)])
def test_target_follows_the_mode(monkeypatch, value, expected):
    monkeypatch.setenv("D2L_REDUCED", value)
    assert d2l.target(full=0.84, reduced=0.6) == expected


@pytest.mark.parametrize("bad", [True, "0.8", None])
def test_target_rejects_non_numbers(bad):
    with pytest.raises(TypeError, match="full must be a number"):
        d2l.target(full=bad, reduced=0.5)
    with pytest.raises(TypeError, match="reduced must be a number"):
        d2l.target(full=0.5, reduced=bad)


@pytest.mark.parametrize(
    ("mode", "given", "expected"), [("1", None, 7), ("0", None, None), ("1", 3, 3), ("0", 3, 3)]
)
def test_reduced_default_applies_only_when_nothing_is_given(monkeypatch, mode, given, expected):
    monkeypatch.setenv("D2L_REDUCED", mode)
    assert reduced.reduced_default(given, 7) == expected


def test_notify_writes_one_line_to_stderr(capsys):
    reduced.notify("using less")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "[d2lhelpers] reduced mode (D2L_REDUCED=1): using less\n"
