"""A filter file on disk: only regular files are opened.

A pipe, a device, a socket or a folder named as a filter is refused before anything
could block on it or read without end.  The check and the open are one step: the file
is opened without waiting for a writer, then the open descriptor says what it is, so
nothing can be swapped in between.  A text filter file is read up to
:data:`MAX_TEXT_BYTES` (a kernel of :data:`~imgconv.kernels.kernel.MAX_SIDE` squared
values needs far less).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from imgconv.errors import FilterError
from imgconv.kernels.kernel import MAX_SIDE
from imgconv.regular import file_kind, kind

MAX_TEXT_BYTES = 64 * 2**20
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


def not_regular(what: str, source: str) -> FilterError:
    """The error for a filter named by something that is not a regular file."""
    if what == "a folder":
        return FilterError("is a folder, not a filter file", source)
    return FilterError(f"not a regular file ({what}): save the filter to a file first", source)


@contextmanager
def open_filter(path: Path, source: str) -> Iterator[BinaryIO]:
    """``path`` open for reading, once its open descriptor says it is a regular file.

    Raises
    ------
    FilterError
        Naming ``source``: missing, unreadable, a folder, a pipe, a device or a socket.
    """
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        raise FilterError("no such file", source) from None
    except (OSError, ValueError) as exc:  # a socket cannot be opened at all (ENXIO)
        what = kind(path)
        if what is not None:
            raise not_regular(what, source) from None
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise FilterError(f"cannot read the file: {reason}", source) from None
    try:
        what = file_kind(os.fstat(fd).st_mode)
        if what is not None:
            raise not_regular(what, source)
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as fh:
        yield fh


def read_text(path: Path, source: str) -> str:
    """The UTF-8 text of a filter file (a BOM is dropped).

    Raises
    ------
    FilterError
        Naming ``source``: not a readable regular file, over :data:`MAX_TEXT_BYTES`, or
        not UTF-8.
    """
    with open_filter(path, source) as fh:
        try:
            data = fh.read(MAX_TEXT_BYTES + 1)
        except OSError as exc:
            raise FilterError(f"cannot read the file: {exc.strerror or exc}", source) from None
    if len(data) > MAX_TEXT_BYTES:
        raise FilterError(f"the file is over {MAX_TEXT_BYTES // 2**20} MiB: a filter file "
                          f"holds a kernel of at most {MAX_SIDE}x{MAX_SIDE} values", source)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FilterError(f"not a UTF-8 text file (byte {exc.start}): is it really a filter "
                          "file?", source) from None
