"""Did-you-mean: the one rule that picks the known name closest to a misspelt one.

Standard library only (:func:`difflib.get_close_matches`, ratio at least 0.6), so the
boundary table (layer 2) and the kernel parsers alike can word their hints with it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["CUTOFF", "closest", "did_you_mean"]

#: How alike a name must be to be suggested (difflib's ratio: 2·matches / total length).
CUTOFF = 0.6


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to ``word``, if any is close enough."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=CUTOFF)
    return close[0] if close else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the candidate closest to ``word`` (lower-cased),
    else the empty string."""
    close = closest(word.lower(), candidates)
    return f" (did you mean {close!r}?)" if close else ""
