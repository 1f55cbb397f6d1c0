"""Wording shared by the kernel parsers: did-you-mean hints (the rule is in
imgconv.spelling), counts, names from files."""

from __future__ import annotations

from pathlib import Path

from imgconv.spelling import closest, did_you_mean

__all__ = ["closest", "did_you_mean", "stem", "values"]


def values(n: int) -> str:
    """``1 value``, ``2 values``."""
    return f"{n} value" if n == 1 else f"{n} values"


def stem(source: str | None, default: str = "kernel") -> str:
    """A kernel's default name: the file stem of ``source``, else ``default``."""
    if not source:
        return default
    return Path(source).stem or default
