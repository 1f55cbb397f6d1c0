"""One filter file, read by its suffix: the :data:`LOADERS` table.

A new file format is one loader and one row here; :data:`SUPPORTED_EXTENSIONS`, the
error for any other suffix and :func:`~imgconv.kernels.load_filter` follow.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from imgconv.errors import FilterError
from imgconv.kernels.arrays import load_array_file
from imgconv.kernels.kernel import Kernel
from imgconv.kernels.paths import read_text
from imgconv.kernels.txt import parse_txt
from imgconv.kernels.yaml import parse_yaml

#: Reads the file at a path; the second argument is the name errors give it.
Loader = Callable[[Path, str], Kernel]


def _text_file(parse: Callable[[str, str], Kernel]) -> Loader:
    """A loader for a text format: a regular file, UTF-8."""

    def load(path: Path, source: str) -> Kernel:
        return parse(read_text(path, source), source)

    return load


#: Lower-case suffix -> loader, in the order error messages list them.
LOADERS: dict[str, Loader] = {
    ".yaml": _text_file(parse_yaml),
    ".yml": _text_file(parse_yaml),
    ".txt": _text_file(parse_txt),
    ".npy": load_array_file,
    ".csv": load_array_file,
}
#: File extensions :func:`load_file` reads.
SUPPORTED_EXTENSIONS: tuple[str, ...] = tuple(LOADERS)


def load_file(path: str | os.PathLike[str]) -> Kernel:
    """Load a filter file by its extension: ``.yaml``/``.yml``, ``.txt``, ``.npy``, ``.csv``.

    Raises
    ------
    FilterError
        Naming the file (and the line for text files): missing or unreadable file,
        unsupported extension, or bad content.
    """
    p = Path(path)
    loader = LOADERS.get(p.suffix.lower())
    if loader is None:
        raise FilterError(
            f"unsupported filter file extension {p.suffix or '(none)'!r}: use "
            f"{', '.join(SUPPORTED_EXTENSIONS)}", str(path),
        )
    return loader(p, str(path))
