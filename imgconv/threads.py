"""How many threads imgconv's own parallel work may use: one setting a process.

:func:`imgconv.engine.set_threads` sets it together with every backend's threads (a
``batch`` worker sets 1: the workers already fill the cores); template matching reads it
and runs its blocks with :func:`each`.  Standard library only.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")

_count = 0  # 0: every core this process may run on


def set_count(n: int) -> None:
    """Use ``n`` threads (0 or less: every core this process may run on)."""
    global _count
    _count = max(int(n), 0)


def count() -> int:
    """The threads to use: the count set, else the cores this process may run on."""
    if _count:
        return _count
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # pragma: no cover - no sched_getaffinity (macOS, Windows)
        return os.cpu_count() or 1


def each(work: Callable[[T], object], items: Iterable[T], threads: int) -> None:
    """``work(item)`` for every item: on ``threads`` threads when more than one (work that
    releases the GIL: OpenCV, numpy), else in turn.  An exception in one is raised here."""
    items = list(items)
    if threads > 1 and len(items) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(min(threads, len(items))) as pool:
            for _ in pool.map(work, items):
                pass
    else:
        for item in items:
            work(item)
