"""Image formats as data: one table from extension to reader, writer and what it holds.

:data:`FORMATS` maps each extension to a :class:`Format` (reader, writer, header probe, the
output dtypes and channel counts it holds, frames, streaming in bands, the metadata it
carries, whether it takes a quality).  Every check (:func:`check_output_dtype`,
:func:`check_output_channels`) and the pixel guard (:func:`guard`, from headers, before
any pixel is decoded) read the table; adding a format is one row and its functions here.
Pillow, OpenCV (16-bit colour PNG) and tifffile are called directly (docs/formats.md).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imgconv.errors import ImageError, ImgconvError, OutputError
from imgconv.formats.guard import Array, Header, Image, Meta, Options, _ext, _reason, guard
from imgconv.formats.metadata import orient
from imgconv.formats.read import (
    _probe_npy,
    _probe_pillow,
    _probe_png,
    _probe_tiff,
    _read_npy,
    _read_pillow,
    _read_png,
    _read_tiff,
)
from imgconv.formats.write import _write_npy, _write_pillow, _write_png, _write_tiff
from imgconv.regular import file_kind

Reader = Callable[[Path, "int | None"], Image]
#: (temporary path, pixels, metadata carried, pages, write options such as ``quality``)
Writer = Callable[[str, Array, Meta, int, Options], None]
INT8 = ("uint8",)
ALL = ("uint8", "uint16", "float32", "float64")


@dataclass(frozen=True)
class Format:
    """One image format: how it is read and written, and what it holds."""

    name: str
    read: Reader
    write: Writer
    probe: Callable[[Path], Header]
    dtypes: tuple[str, ...]  # the output dtypes it holds
    channels: tuple[int, ...] | None = None  # channel counts it holds (None: any)
    frames: bool = False  # holds several pages or frames (written as one file)
    unit: str = "frame"  # what it calls one of several: a TIFF's "page", a GIF's "frame"
    streams: bool = False  # read and written band by band (images larger than memory)
    metadata: tuple[str, ...] = ()  # what it carries from the input: icc_profile, dpi, exif
    quality: bool = False  # takes a quality (1..100): options["quality"] to its writer


_CARRIES = ("icc_profile", "dpi", "exif")  # the kinds of imgconv.formats.metadata.METADATA
_JPEG = Format("JPEG", _read_pillow, functools.partial(_write_pillow, fmt="JPEG"),
               _probe_pillow, INT8, (1, 3), metadata=_CARRIES, quality=True)
#: TIFF carries EXIF's IFD0 tags (camera, date, orientation), not its sub-IFDs
_TIFF = Format("TIFF", _read_tiff, _write_tiff, _probe_tiff, ALL, frames=True, unit="page",
               streams=True, metadata=_CARRIES)
#: extension → format; the order is the one error messages list
FORMATS: dict[str, Format] = {
    ".png": Format("PNG", _read_png, _write_png, _probe_png, ("uint8", "uint16"), (1, 2, 3, 4),
                   metadata=_CARRIES),
    ".jpg": _JPEG,
    ".jpeg": _JPEG,
    ".tif": _TIFF,
    ".tiff": _TIFF,
    ".bmp": Format("BMP", _read_pillow, functools.partial(_write_pillow, fmt="BMP"),
                   _probe_pillow, INT8, (1, 3, 4), metadata=("dpi",)),
    ".gif": Format("GIF", _read_pillow, functools.partial(_write_pillow, fmt="GIF"),
                   _probe_pillow, INT8, (1, 3, 4), frames=True),
    # nothing lost: lossless WebP unless a quality is given
    ".webp": Format("WebP", _read_pillow, functools.partial(_write_pillow, fmt="WEBP"),
                    _probe_pillow, INT8, (1, 3, 4), frames=True, metadata=("icc_profile", "exif"),
                    quality=True),
    ".npy": Format("NumPy", _read_npy, _write_npy, _probe_npy, ALL, streams=True),
}
READ_EXTENSIONS: tuple[str, ...] = tuple(FORMATS)
STREAMING: tuple[str, ...] = tuple(e for e, f in FORMATS.items() if f.streams)
#: the extensions whose files hold several pages or frames (every one filtered)
FRAMES: tuple[str, ...] = tuple(e for e, f in FORMATS.items() if f.frames)


def input_format(p: Path) -> Format:
    """The format of an input file, after checking that it is a non-empty regular file:
    a FIFO, device or socket is refused before anything could block on it."""
    name = str(p)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise ImageError(f"{name}: no such file (check the path)") from None
    except OSError as exc:
        raise ImageError(f"{name}: cannot open ({exc.strerror})") from None
    what = file_kind(st.st_mode)
    if what == "a folder":
        raise ImageError(f"{name}: is a folder, not an image (use 'imgconv batch' for folders)")
    if what is not None:
        raise ImageError(f"{name}: is not a regular file ({what}): save the image to a file "
                         "first")
    ext = _ext(p)
    if ext not in FORMATS:
        raise ImageError(
            f"{name}: unsupported image extension {ext or '(none)'!r}: "
            f"use one of {', '.join(FORMATS)}"
        )
    if st.st_size == 0:
        raise ImageError(f"{name}: the file is empty (0 bytes): nothing to filter")
    return FORMATS[ext]


def probe(path: str | os.PathLike[str]) -> Header:
    """The header of an image file (a regular file of a known format); any failure is an
    :class:`ImageError` naming the file."""
    p = Path(path)
    fmt = input_format(p)
    try:
        return fmt.probe(p)
    except ImgconvError:
        raise
    except Exception as exc:
        raise ImageError(f"{p}: cannot read as an image ({_reason(exc)}): the file is "
                         "damaged or not an image; re-export it") from exc


def page_count(path: str | os.PathLike[str]) -> int:
    """Pages (TIFF) or frames (GIF, WebP) in an image file; 1 for everything else.
    The pixel guard applies."""
    header = probe(path)
    guard(str(path), header)
    return header.pages


def read_image(path: str | os.PathLike[str], page: int | None = None, *,
               auto_orient: bool = True) -> Image:
    """Read an image file, keeping its bit depth.  Any failure is an :class:`ImageError`.

    A multi-page TIFF (or animated GIF/WebP) is read whole as a stack ``(P, H, W[, C])``
    with ``meta["pages"] = P`` unless ``page`` (0-based) picks one.  An EXIF orientation
    turns the pixels upright (its tag then says 1) unless ``auto_orient`` is False;
    ``meta`` holds the ICC profile, dpi and EXIF (:mod:`imgconv.formats.metadata`).
    """
    p = Path(path)
    name = str(path)
    ext = _ext(p)
    fmt = input_format(p)
    guard(name, probe(p), page)
    try:
        img = fmt.read(p, page)
    except ImageError:
        raise
    except Exception as exc:  # every reader's own failure becomes one readable error
        raise ImageError(f"{name}: cannot read as an image ({_reason(exc)}): the file is "
                         "damaged or not an image; re-export it") from exc
    arr = img.array
    stacked = img.pages > 1
    core = arr.shape[1:] if stacked else arr.shape
    if len(core) == 3 and core[2] == 1:
        arr = arr[..., 0]
        core = core[:2]
    if len(core) not in (2, 3) or arr.size == 0 or (len(core) == 3 and core[2] > 4
                                                     and ext != ".npy"):
        raise ImageError(f"{name}: unsupported image shape {arr.shape}")
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8) * 255
    elif not arr.dtype.isnative:  # big-endian .npy/TIFF: same values, native order
        arr = arr.astype(arr.dtype.newbyteorder("="))
    elif arr.dtype.kind not in "uif" or arr.dtype.itemsize > 8:
        raise ImageError(f"{name}: unsupported pixel type {arr.dtype}")
    img.array = orient(arr, img.meta, stacked, auto_orient)
    return img


def output_format(path: str | os.PathLike[str]) -> Format:
    """The format an output path is written in; an unknown extension is refused."""
    ext = _ext(path)
    if ext not in FORMATS:
        raise OutputError(
            f"{path}: unsupported output extension {ext or '(none)'!r}: "
            f"use one of {', '.join(FORMATS)}"
        )
    return FORMATS[ext]


def check_output_dtype(path: str | os.PathLike[str], dtype: str) -> None:
    """Refuse, before any work, a dtype the output format cannot hold."""
    ext = _ext(path)
    ok = output_format(path).dtypes
    if dtype not in ok:
        fmts = sorted({e for e, f in FORMATS.items() if dtype in f.dtypes})
        elsewhere = f", or write to {' / '.join(fmts)}" if fmts else ""
        raise OutputError(
            f"{path}: a {ext} file cannot hold {dtype} pixels: use "
            f"{' or '.join(f'dtype={d}' for d in ok)}{elsewhere}", param="dtype"
        )


def check_output_channels(path: str | os.PathLike[str], channels: int) -> None:
    """Refuse a channel count the output format cannot hold (7 channels into a PNG)."""
    fmt = FORMATS.get(_ext(path))
    ok = fmt.channels if fmt is not None else None
    if ok is not None and channels not in ok:
        hint = " (drop alpha with gray=True, or write .png)" if channels in (2, 4) else ""
        raise OutputError(f"{path}: a {_ext(path)} file cannot hold {channels} channels: write "
                          f".tif or .npy{hint}", param="gray")


def frames_error(src: str | os.PathLike[str], count: int,
                 error: type[ImgconvError] = ImageError) -> ImgconvError:
    """The refusal of an input of ``count`` pages or frames written to a format that holds
    one: it names the formats that hold them all (:data:`FRAMES`) and ``page=N``."""
    fmt = FORMATS.get(_ext(src))
    unit = fmt.unit if fmt is not None and fmt.frames else "page"
    first: dict[str, str] = {}  # each format by its first extension (.tif, not .tiff too)
    for ext in FRAMES:
        first.setdefault(FORMATS[ext].name, ext)
    holders = " / ".join(first.values())
    return error(f"{src}: has {count} {unit}s: write them to a {holders} file (every "
                 f"{unit} is filtered), or pick one with page=N", param="page")


def check_quality(quality: int | None) -> None:
    """Refuse, before any work, a JPEG/WebP quality outside 1..100."""
    if quality is not None and not 1 <= quality <= 100:
        raise ImgconvError(f"quality={quality} is out of range: use 1 (smallest file) to 100 "
                           "(best)", param="quality")
