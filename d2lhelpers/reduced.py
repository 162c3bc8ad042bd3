"""Reduced mode, and the thresholds that notebooks assert their headline claims against.

Reduced mode (``D2L_REDUCED=1``) uses smaller data subsets and fewer epochs, so the test suite
can re-execute every notebook quickly on two CPU cores. The helpers that shrink work take it
as explicit parameters (``num_train``, ``num_test``, ``max_epochs``) whose defaults come from
the environment, and print a notice when they do; notebooks never mention it.
"""

from __future__ import annotations

import os
import sys

from .validation import check_number

REDUCED_ENV = "D2L_REDUCED"
"""Environment variable that switches reduced mode on when set to ``1``."""

TRAIN_EXAMPLES = 3000
"""Default training-subset size in reduced mode."""
TEST_EXAMPLES = 1000
"""Default test-subset size in reduced mode."""
MAX_EPOCHS = 2
"""Default epoch cap in reduced mode."""

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


def env_flag(name: str) -> bool:
    """The boolean value of environment variable ``name``; unset counts as false.

    Every flag of the package (``D2L_REDUCED``, ``D2L_OFFLINE``) is read through this function.

    Raises:
        ValueError: if the variable holds anything but ``1/true/yes/on`` or ``0/false/no/off``
            (any case) or the empty string.
    """
    value = os.environ.get(name, "").strip().lower()
    if value not in _TRUE + _FALSE:
        raise ValueError(
            f"environment variable {name}={os.environ[name]!r}: expected 1 or 0 "
            "(or true/false, yes/no, on/off)"
        )
    return value in _TRUE


def reduced_mode() -> bool:
    """Whether reduced mode is on (``D2L_REDUCED=1``)."""
    return env_flag(REDUCED_ENV)


def reduced_default(value: int | None, reduced_value: int) -> int | None:
    """``value`` if it is given; otherwise ``reduced_value`` in reduced mode and ``None`` (no
    limit) outside it. This is how a helper's size parameter gets its default."""
    if value is not None:
        return value
    return reduced_value if reduced_mode() else None


def target(full: float, reduced: float) -> float:
    """The threshold a notebook's headline claim is asserted against.

    A notebook states what its full-size run achieves and checks it where it is computed::

        assert history.test_acc[-1] >= d2l.target(full=0.82, reduced=0.5)

    The full-size threshold holds for the stored run with margin; ``make notebooks`` fails if
    it stops holding. The test suite runs the same cell in reduced mode, on a fraction of the
    data, where only the looser ``reduced`` threshold can be met.

    Args:
        full: the threshold in default (full-size) mode.
        reduced: the threshold in reduced mode (``D2L_REDUCED=1``).

    Returns:
        ``reduced`` in reduced mode, else ``full``.

    Raises:
        TypeError: if either is not a real number.
    """
    check_number("full", full)
    check_number("reduced", reduced)
    return reduced if reduced_mode() else full


def notify(what: str) -> None:
    """Print a one-line notice that reduced mode changed ``what``.

    It goes to stderr so a reader of a test log sees it, while nbval ignores it.
    """
    print(f"[d2lhelpers] reduced mode ({REDUCED_ENV}=1): {what}", file=sys.stderr)
