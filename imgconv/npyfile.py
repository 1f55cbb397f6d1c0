"""The header of a ``.npy`` file: one reader for images, bands and kernels.

numpy's own :mod:`numpy.lib.format` reads it (the magic string and version, then the
version's header: shape, dtype, memory order); nothing here reads a value, so a caller
can judge the array (never a pickle, the shape, the size, every promised byte in the
file) before anything is allocated, and word its own refusal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

__all__ = ["MAX_HEADER", "NpyHeader", "read_header"]

#: The longest header read (numpy's own default: a longer one is refused, not parsed).
MAX_HEADER = 10_000


@dataclass(frozen=True)
class NpyHeader:
    """What a ``.npy`` header says: ``offset`` is where the values start in the file."""

    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    fortran: bool
    offset: int

    @property
    def end(self) -> int:
        """The file size the header promises: the offset plus every value's bytes
        (exact for any shape: Python integers, never an overflowing product)."""
        return self.offset + math.prod(self.shape) * self.dtype.itemsize


def read_header(fh: BinaryIO) -> NpyHeader:
    """The header of the ``.npy`` file open at its start in ``fh``, which is left at the
    first value.

    Raises
    ------
    ValueError
        Not a ``.npy`` file (bad magic string) or a malformed header.
    EOFError
        The file ends inside the header.
    """
    fmt = np.lib.format
    version = fmt.read_magic(fh)
    # version 3.0 differs from 2.0 only in the header's text encoding (UTF-8)
    read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
    shape, fortran, dtype = read(fh, max_header_size=MAX_HEADER)
    return NpyHeader(tuple(int(n) for n in shape), dtype, bool(fortran), fh.tell())
