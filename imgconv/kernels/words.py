"""Wording shared by the kernel parsers: did-you-mean hints, counts, names from files."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path


def closest(word: str, candidates: Sequence[str]) -> str | None:
    """The candidate closest to ``word``, if any is close enough."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(word: str, candidates: Sequence[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, else the empty string."""
    close = closest(word.lower(), candidates)
    return f" (did you mean {close!r}?)" if close else ""


def values(n: int) -> str:
    """``1 value``, ``2 values``."""
    return f"{n} value" if n == 1 else f"{n} values"


def stem(source: str | None, default: str = "kernel") -> str:
    """A kernel's default name: the file stem of ``source``, else ``default``."""
    if not source:
        return default
    return Path(source).stem or default
