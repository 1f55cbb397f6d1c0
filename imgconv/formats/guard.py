"""Pixels as read, headers, and the decompression-bomb guard (from headers, before any
pixel is decoded)."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from imgconv.errors import ImageError, SettingError
from imgconv.npyfile import read_header

Meta = dict[str, object]
Options = Mapping[str, Any]  # what a writer is told besides the pixels: {"quality": 80}
Array = npt.NDArray[np.generic]

DTYPES = ("uint8", "uint16", "float32", "float64")
PNG_LEVEL = 1  # zlib level of written PNGs (0-9), with the Up filter and Z_RLE (formats/png.py)
JPEG_QUALITY = 95


@dataclass
class Image:
    """Pixels read from a file: ``array`` is H×W or H×W×C in the file's own dtype."""

    #: a stack of pages of different sizes is a 1-D object array of them (as numpy
    #: holds ragged data; :func:`frames_of` lists the pages of any ``array``)
    array: npt.NDArray[np.generic]
    path: str
    has_alpha: bool = False
    meta: dict[str, object] = field(default_factory=dict)
    pages: int = 1  # > 1: ``array`` is a stack (P, H, W[, C]) of a multi-page file
    #: an animation read whole: ``duration`` (ms, one a frame) and ``loop`` (0: forever),
    #: handed to the writer as options so that a GIF or WebP output plays as the input did
    timing: dict[str, object] = field(default_factory=dict)
    #: the colour space the values are kept in when it is not grey or RGB (a key of
    #: :data:`imgconv.formats.spaces.SPACES`: "cmyk", "lab", ...), else ""
    space: str = ""
    #: what the reader did that the user should hear of (a conversion, a page left out)
    notes: list[str] = field(default_factory=list)

    @property
    def dtype(self) -> np.dtype[np.generic]:
        return self.array.dtype


def frames_of(array: npt.NDArray[Any], pages: int) -> list[npt.NDArray[Any]]:
    """The pages of ``array``: itself when ``pages`` is 1, else the stack's pages (of one
    size, or the pages of a ragged object array)."""
    return list(array) if pages > 1 else [array]


def stack_pages(arrays: list[npt.NDArray[Any]]) -> npt.NDArray[Any]:
    """Pages as one stack ``(P, H, W[, C])``; pages of different sizes or pixel types as a
    ragged stack (a 1-D object array of them: :func:`frames_of` lists them back)."""
    if len({(a.shape, a.dtype) for a in arrays}) == 1:
        return np.ascontiguousarray(np.stack(arrays))
    out = np.empty(len(arrays), dtype=object)
    for k, a in enumerate(arrays):
        out[k] = np.ascontiguousarray(a)
    return out


def ragged(array: npt.NDArray[Any]) -> bool:
    """True for a stack of pages of different sizes (an object array of pages)."""
    return array.dtype == object


def _ext(path: str | os.PathLike[str]) -> str:
    return Path(path).suffix.lower()


MAX_PIXELS_DEFAULT = 20_000 * 20_000  # a decompression-bomb guard; IMGCONV_MAX_PIXELS overrides
MAX_PIXELS_VAR = "IMGCONV_MAX_PIXELS"
_MAX_PIXELS_TOP = 2**63 - 1  # no array holds more elements


def max_pixels() -> int:
    """The largest image imgconv decodes, in pixels as :func:`guard` counts them:
    ``IMGCONV_MAX_PIXELS`` (a whole number from 1 to 2**63-1; ``4e8`` and ``400_000_000``
    are read too), or 400 M when unset or empty; else a :class:`SettingError`."""
    raw = os.environ.get(MAX_PIXELS_VAR, "")
    text = raw.strip()
    if not text:
        return MAX_PIXELS_DEFAULT
    try:
        value = int(text)
    except ValueError:
        try:
            real = float(text)
        except ValueError:
            raise _pixels_error(raw, "is not a number") from None
        if not math.isfinite(real):
            raise _pixels_error(raw, "is not a finite number") from None
        if not real.is_integer():
            raise _pixels_error(raw, "is not a whole number of pixels") from None
        value = int(real)
    if value < 1:
        raise _pixels_error(raw, "is below 1 pixel")
    if value > _MAX_PIXELS_TOP:
        raise _pixels_error(raw, f"is over {_MAX_PIXELS_TOP}, more than any image holds")
    return value


def _pixels_error(raw: str, problem: str) -> SettingError:
    return SettingError(MAX_PIXELS_VAR, raw, f"{problem}: set it to a whole number of pixels "
                        f"such as {MAX_PIXELS_DEFAULT}, or unset it for that default")


@dataclass(frozen=True)
class Header:
    """What a file's header says, before any pixel is decoded.

    ``sizes`` holds the (height, width, channels) of each page, or one entry for all
    ``pages`` (a count as declared: an APNG may declare two billion frames in 80 bytes, so
    the frames are never listed one by one).  ``sequential``: reading page k decodes pages
    0 to k first (GIF, APNG and WebP frames are drawn over each other).
    """

    sizes: tuple[tuple[int, int, int], ...]
    pages: int = 1
    sequential: bool = False
    dtype: str = "uint8"  # the pixel type the reader gives

    @classmethod
    def of(cls, frames: list[tuple[int, int, int]], sequential: bool = False) -> Header:
        return cls(tuple(frames), len(frames), sequential)

    def decoded(self, page: int | None) -> int:
        """Pixels decoded to read ``page`` (None: every page); more than 4 channels count
        as several pixels (a pixel holds up to 4)."""
        costs = [h * w * -(-max(c, 1) // 4) for h, w, c in self.sizes]
        if page is None or not 0 <= page < self.pages:
            first, count = 0, self.pages
        else:
            first, count = (0, page + 1) if self.sequential else (page, 1)
        return costs[0] * count if len(costs) == 1 else sum(costs[first:first + count])


def guard(name: str, header: Header, page: int | None = None) -> None:
    """The decompression-bomb guard, from the header: every page, frame and plane that
    will be decoded counts, before any is."""
    if page is not None:
        _pick(name, page, header.pages)  # a page that is not there: say so, not "too big"
    limit = max_pixels()
    total = header.decoded(page)
    if total <= limit:
        return
    h, w, c = max(header.sizes, key=lambda f: f[0] * f[1] * max(f[2], 1))
    what = f"{w}x{h}" + (f" with {c} channels" if c > 4 else "")
    if header.pages > 1 and (page is None or not 0 <= page < header.pages):
        what += f" in {header.pages} pages"
    elif header.sequential and page:
        what += f" (frames 0 to {page} are decoded in turn)"
    raise ImageError(
        f"{{file}}: {what} = {total:,} pixels is over the limit of {limit:,} "
        f"(a guard against decompression bombs); raise it with {MAX_PIXELS_VAR} if the "
        "image is genuine", file=name
    )


def npy_header(p: Path) -> tuple[tuple[int, ...], np.dtype[Any], int, bool]:
    """(shape, dtype, data offset, Fortran order) of a ``.npy`` file, from its header
    alone; a header promising more data than the file holds is refused before anything
    is read."""
    with open(p, "rb") as fh:
        head = read_header(fh)
    if head.dtype.hasobject:
        raise ImageError("{file}: holds Python objects (a pickle), which imgconv never loads: "
                         "save a numeric array with np.save", file=p)
    if head.end > os.path.getsize(p):
        raise ImageError("{file}: truncated: the header promises more data than the file holds",
                         file=p)
    return head.shape, head.dtype, head.offset, head.fortran


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _pick(name: str, page: int | None, pages: int) -> int:
    if page is None:
        return 0
    if not 0 <= page < pages:
        raise ImageError(f"{{file}}: {{page}} is out of range: it has {pages} page(s), "
                         f"0 to {pages - 1}", values={"page": page}, file=name)
    return page
