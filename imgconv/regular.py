"""Only regular files are opened: what a path is when it is not one.

A pipe, a device, a socket or a folder named as an image or a filter is refused before
anything could block on it or read without end.  Images (:mod:`imgconv.formats`) and
filter files (:mod:`imgconv.kernels.paths`) ask the same question here.
"""

from __future__ import annotations

import os
import stat


def file_kind(mode: int) -> str | None:
    """What a file of this ``st_mode`` is when it is not a regular file: ``"a folder"``,
    ``"a pipe"``, ``"a socket"`` or ``"a device"``; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a pipe"
    return "a socket" if stat.S_ISSOCK(mode) else "a device"


def kind(path: str | os.PathLike[str]) -> str | None:
    """:func:`file_kind` of ``path``; None for a regular file or for nothing there (a stat
    never blocks)."""
    try:
        return file_kind(os.stat(path).st_mode)
    except (OSError, ValueError):
        return None
