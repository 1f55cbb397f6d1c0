"""Wording shared by the kernel parsers: counts, names from files (did-you-mean hints are
:mod:`imgconv.spelling`'s)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["stem", "values"]


def values(n: int) -> str:
    """``1 value``, ``2 values``."""
    return f"{n} value" if n == 1 else f"{n} values"


def stem(source: str | None, default: str = "kernel") -> str:
    """A kernel's default name: the file stem of ``source``, else ``default``."""
    if not source:
        return default
    return Path(source).stem or default
