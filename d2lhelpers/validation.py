"""Argument checks shared by the helpers, so that bad input fails with one clear message."""

from __future__ import annotations

import numbers
from typing import Any


def is_int(value: Any, minimum: int = 1, maximum: int | None = None) -> bool:
    """Whether ``value`` is an int (a bool is not) in ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        return False
    return minimum <= value and (maximum is None or value <= maximum)


def check_int(name: str, value: Any, minimum: int = 1, maximum: int | None = None) -> int:
    """Return ``value`` if it is an int (a bool is not) in ``[minimum, maximum]``.

    Raises:
        ValueError: naming the argument ``name`` and what was expected.
    """
    if not is_int(value, minimum, maximum):
        if maximum is not None:
            expected = f"an int in {minimum}..{maximum}"
        else:
            expected = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return int(value)


def check_number(name: str, value: Any) -> float:
    """Return ``value`` as a float if it is a real number (not a bool).

    Raises:
        TypeError: naming the argument ``name``.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    return float(value)


def check_dropout(value: Any) -> float:
    """Return the dropout probability ``value`` as a float if it lies in ``[0, 1)``.

    Raises:
        TypeError: if it is not a number; ValueError: if it is outside ``[0, 1)``.
    """
    if not 0 <= check_number("dropout", value) < 1:
        raise ValueError(f"dropout must lie in [0, 1), got {value!r}")
    return float(value)
