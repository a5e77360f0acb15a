"""Suggestions for a mistyped name: the closest known names, for one-line errors."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

#: How alike (0..1, difflib's ratio) a known name must be to be suggested.
CUTOFF = 0.6


def did_you_mean(name: str, known: Iterable[str], count: int = 3) -> str:
    """``"; did you mean 'a' or 'b'?"`` for the known names closest to ``name``, or ``""``.

    >>> did_you_mean("bais", ["bias", "dark", "flat"])
    "; did you mean 'bias'?"
    >>> did_you_mean("ptc", ["bias", "dark"])
    ''
    """
    close = difflib.get_close_matches(name, list(known), n=count, cutoff=CUTOFF)
    if not close:
        return ""
    return "; did you mean " + " or ".join(repr(c) for c in close) + "?"
