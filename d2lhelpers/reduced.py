"""Reduced mode: smaller data subsets and fewer epochs, so the test suite can re-execute every
notebook quickly on two CPU cores. The helpers honour it; notebooks never mention it."""

from __future__ import annotations

import os
import sys

REDUCED_ENV = "D2L_REDUCED"
"""Environment variable that switches reduced mode on when set to ``1``."""

REDUCED_TRAIN_EXAMPLES = 3000
REDUCED_TEST_EXAMPLES = 1000
REDUCED_MAX_EPOCHS = 2


def reduced_mode() -> bool:
    """Whether reduced mode is on (``D2L_REDUCED`` set to anything but ``""``, ``0``, ``false``)."""
    return os.environ.get(REDUCED_ENV, "").strip().lower() not in ("", "0", "false", "no")


def notify(what: str) -> None:
    """Print a one-line notice that reduced mode changed ``what``.

    It goes to stderr so a reader of a test log sees it, while nbval ignores it.
    """
    print(f"[d2lhelpers] reduced mode ({REDUCED_ENV}=1): {what}", file=sys.stderr)
