"""Temporary files beside an output (docs/semantics.md §5): recognisable, locked while
written, removed when a killed run left them.

A :class:`Temporary` is ``.<output name>.<random>.part`` (the atomic write of
:mod:`imgconv.outputs`) or ``.<output name>.<random>.stepN.npy`` (a pass of a banded
chain, :mod:`imgconv.bands.run`), holding an exclusive advisory lock (``flock``) for as
long as it is used.  :func:`remove_stale` removes only files named so that no process
holds: a live run's temporary is never taken, whoever started first.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
import time
from collections.abc import Collection, Iterable
from pathlib import Path
from types import TracebackType

import imgconv.interrupts as interrupts
from imgconv.formats import FORMATS

__all__ = ["Temporary", "folder_of", "name_max", "remove_stale"]


def folder_of(target: Path) -> Path:
    """The folder ``target`` is written in."""
    return target.parent if str(target.parent) else Path(".")


def name_max(path: Path) -> int:
    """NAME_MAX of the file system of ``path`` (its nearest existing folder), else 255."""
    folder = path.absolute()
    while True:
        with contextlib.suppress(OSError, ValueError):
            if folder.is_dir():
                return min(255, os.pathconf(folder, "PC_NAME_MAX"))
        if folder.parent == folder:
            return 255
        folder = folder.parent


#: the extensions of what imgconv writes (images, and the YAML/JSON/HTML of compose and
#: reports): a hidden ``.NAME.RANDOM.part`` whose NAME ends otherwise is not imgconv's
WRITTEN = frozenset(FORMATS) | {".yaml", ".yml", ".json", ".html"}
_TEMP = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}\.(?:part|step\d+\.npy)", re.DOTALL)
_STARTED = time.time()


def _temp_stem(target: Path) -> str:
    """The output name as it appears in its temporaries, cut to fit within NAME_MAX; a cut
    keeps the extension, which tells :func:`remove_stale` it is a kind imgconv writes."""
    raw = os.fsencode(target.name)
    budget = max(16, min(200, name_max(folder_of(target)) - 24))
    if len(raw) <= budget:
        return target.name
    suffix = os.fsencode(target.suffix)[:12]
    return os.fsdecode(raw[:budget - len(suffix)] + suffix)


class Temporary:
    """A hidden temporary beside ``target``: ``.<output name>.<random>.<kind>`` (``part``,
    or ``stepN.npy`` for a pass of a banded chain), holding an exclusive advisory lock
    (``flock``) until :meth:`close`, so that :func:`remove_stale` never removes a file a
    live run is writing.  An interruption that must end the process at once removes it
    too (:func:`imgconv.interrupts.track`)."""

    def __init__(self, target: Path, kind: str = "part") -> None:
        while True:
            self.fd, self.path = tempfile.mkstemp(prefix=f".{_temp_stem(target)}.",
                                                  suffix=f".{kind}", dir=folder_of(target))
            interrupts.track(self.path)
            _lock(self.fd, wait=True)
            if _same(self.path, os.fstat(self.fd)):
                return
            interrupts.untrack(self.path)  # a cleaner took it before it was locked
            os.close(self.fd)


    def close(self) -> None:
        """Remove the file (if still there), then release its lock."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        interrupts.untrack(self.path)
        with contextlib.suppress(OSError):
            os.close(self.fd)

    def __enter__(self) -> Temporary:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _lock(fd: int, *, wait: bool) -> bool:
    try:
        import fcntl
    except ImportError:  # no advisory locks (Windows): nothing is ever taken for stale
        return not wait
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except OSError:
        return False
    return True


def _same(path: str, st: os.stat_result) -> bool:
    """Does ``path`` still name the file of ``st``?"""
    try:
        now = os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    return (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino)


def remove_stale(folders: Iterable[Path], *, names: Collection[str] | None = None,
                 before: float | None = _STARTED) -> list[Path]:
    """Remove the temporaries an interrupted or killed run left in ``folders``; return them.

    Only files named like a :class:`Temporary` that no live run holds (their lock can be
    taken) are removed, and of those only the ones last written ``before`` (default: the
    start of this process) or, with ``names``, those of these output names (this run's
    own, after its workers have stopped).
    """
    stems = None if names is None else {_temp_stem(Path(n)) for n in names}
    removed: list[Path] = []
    for folder in sorted(set(folders)):
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            m = _TEMP.fullmatch(entry.name)
            if m is None or (stems is not None and m["name"] not in stems):
                continue
            if Path(m["name"]).suffix.lower() not in WRITTEN:
                continue  # not a name imgconv writes: someone else's file
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            if stems is None and before is not None and st.st_mtime >= before:
                continue
            if _remove_unheld(entry.path, st):
                removed.append(Path(entry.path))
    return removed


def _remove_unheld(path: str, st: os.stat_result) -> bool:
    """Remove ``path`` if no process holds its lock (and it is still the file seen)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        if not _lock(fd, wait=False):
            return False  # a live run is writing it
        if not _same(path, os.fstat(fd)) or not _same(path, st):
            return False
        os.unlink(path)  # before the lock is released: its writer sees it gone
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
