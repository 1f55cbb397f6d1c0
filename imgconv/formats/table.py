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
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imgconv.errors import ImageError, ImgconvError, OutputError, verbatim
from imgconv.formats.fallback import probe_imageio, read_imageio
from imgconv.formats.guard import (
    MAX_PIXELS_VAR,
    Array,
    Header,
    Image,
    Meta,
    Options,
    _ext,
    _reason,
    frames_of,
    guard,
    max_pixels,
    stack_pages,
)
from imgconv.formats.metadata import orient
from imgconv.formats.read import (
    _probe_npy,
    _probe_pillow,
    _probe_png,
    _read_npy,
    _read_pillow,
    _read_png,
)
from imgconv.formats.tiff import probe_tiff, read_tiff, write_tiff
from imgconv.formats.write import (
    _write_npy,
    _write_opencv,
    _write_pillow,
    _write_png,
    _write_qoi,
)
from imgconv.regular import file_kind

#: (path, page or None for every page, the colour spaces to keep) -> pixels
Reader = Callable[[Path, "int | None", tuple[str, ...]], Image]
#: (temporary path, pixels, metadata carried, pages, write options such as ``quality``)
Writer = Callable[[str, Array, Meta, int, Options], None]
INT8 = ("uint8",)
ALL = ("uint8", "uint16", "float32", "float64")
SIGNED = ("int8", "int16", "int32", "uint32")  # TIFF and .npy write them as they are read


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
    #: the colour spaces it keeps (imgconv.formats.spaces.SPACES); others are converted
    spaces: tuple[str, ...] = ()
    writes: bool = True  # False: read only (a format Pillow or imageio reads)
    #: a palette format: the colours one image (frame) holds; more are reduced to these
    colours: int | None = None


_CARRIES = ("icc_profile", "dpi", "exif")  # the kinds of imgconv.formats.metadata.METADATA
_JPEG = Format("JPEG", _read_pillow, functools.partial(_write_pillow, fmt="JPEG"),
               _probe_pillow, INT8, (1, 3), metadata=_CARRIES, quality=True)
#: TIFF carries EXIF's IFD0 tags (camera, date, orientation), not its sub-IFDs
_TIFF = Format("TIFF", read_tiff, write_tiff, probe_tiff, ALL + SIGNED, frames=True,
               unit="page", streams=True, metadata=_CARRIES,
               spaces=("cmyk", "lab", "miniswhite", "premultiplied"))
_PPM = functools.partial(_write_opencv, ext=".ppm")
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
                   _probe_pillow, INT8, (1, 3, 4), frames=True, colours=256),
    # nothing lost: lossless WebP unless a quality is given
    ".webp": Format("WebP", _read_pillow, functools.partial(_write_pillow, fmt="WEBP"),
                    _probe_pillow, INT8, (1, 3, 4), frames=True, metadata=("icc_profile", "exif"),
                    quality=True),
    # an animated PNG: every frame (8 or 16 bits); a .png output holds one (page=N)
    ".apng": Format("APNG", _read_png, _write_png, _probe_png, ("uint8", "uint16"),
                    (1, 2, 3, 4), frames=True, metadata=_CARRIES),
    # the PNM family (16-bit too) and PFM through OpenCV's encoder; QOI through imagecodecs
    ".ppm": Format("PPM", _read_pillow, _PPM, _probe_pillow, ("uint8", "uint16"), (3,)),
    ".pgm": Format("PGM", _read_pillow, functools.partial(_write_opencv, ext=".pgm"),
                   _probe_pillow, ("uint8", "uint16"), (1,)),
    ".pnm": Format("PNM", _read_pillow, _PPM, _probe_pillow, ("uint8", "uint16"), (1, 3)),
    ".pfm": Format("PFM", _read_pillow, functools.partial(_write_opencv, ext=".pfm"),
                   _probe_pillow, ("float32",), (1, 3)),
    ".qoi": Format("QOI", _read_pillow, _write_qoi, _probe_pillow, INT8, (3, 4)),
    ".npy": Format("NumPy", _read_npy, _write_npy, _probe_npy, ALL + SIGNED, streams=True),
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
        raise ImageError("{file}: no such file (check the path)", file=name) from None
    except OSError as exc:
        raise ImageError(f"{{file}}: cannot open ({exc.strerror})", file=name) from None
    what = file_kind(st.st_mode)
    if what == "a folder":
        raise ImageError("{file}: is a folder, not an image (use 'imgconv batch' for folders)",
                         file=name)
    if what is not None:
        raise ImageError(f"{{file}}: is not a regular file ({what}): save the image to a file "
                         "first", file=name)
    ext = _ext(p)
    if st.st_size == 0:
        raise ImageError("{file}: the file is empty (0 bytes): nothing to filter", file=name)
    return reader_of(ext)


def reader_of(ext: str) -> Format:
    """The format that reads files of extension ``ext``: the table's row, else a format
    Pillow reads (read only), else the imageio.v3 fallback (:mod:`imgconv.formats.fallback`)."""
    if ext in FORMATS:
        return FORMATS[ext]
    pillow = pillow_extensions().get(ext)
    if pillow is not None:
        return Format(pillow, _read_pillow, _read_only, _probe_pillow, (), writes=False,
                      frames=False)
    return Format("imageio", read_imageio, _read_only, probe_imageio, (), writes=False)


@functools.cache
def pillow_extensions() -> dict[str, str]:
    """Every extension the installed Pillow opens, and its format's name (``.tga``:
    ``TGA``); those of the table first."""
    from PIL import Image as PILImage

    PILImage.init()
    opens = set(PILImage.OPEN) | {"MPO"}  # an MPO is opened by the JPEG plugin
    return {e: f for e, f in PILImage.registered_extensions().items() if f in opens}


def written_as(ext: str) -> str:
    """The extension an output of an input named ``ext`` gets by default: the same when
    imgconv writes it, else ``.tif`` (it holds every pixel type, page and colour space
    imgconv reads)."""
    return ext if ext in FORMATS else ".tif"


def readable(ext: str) -> bool:
    """True for an extension the table or Pillow reads (what ``batch`` picks up in a
    folder; the imageio fallback serves a file named on the command line only)."""
    return ext in FORMATS or ext in pillow_extensions()


def _read_only(tmp: str, array: Array, meta: Meta, pages: int, options: Options) -> None:
    raise OutputError("{file}: imgconv reads this format but does not write it", file=tmp)


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
        raise unreadable(str(p), exc) from exc


#: what a reader says when the file is fine but the feature is not decoded
_UNSUPPORTED = re.compile(r"unsupported|unimplemented|not supported|not implemented|"
                          r"cannot find loader|unknown pixel format|no decoder", re.IGNORECASE)


def unreadable(name: str, exc: BaseException) -> ImageError:
    """The one error of a reader's own failure, saying which it is: over the pixel limit
    (a library's own bomb check), a feature the reader does not decode, or damaged bytes
    ("damaged" only then)."""
    reason = _reason(exc)
    if "DecompressionBomb" in type(exc).__name__ or "decompression bomb" in reason:
        size = re.search(r"Image size \((\d+) pixels\)", reason)  # Pillow's own count
        what = f"{int(size.group(1)):,} pixels" if size else "its declared size"
        return ImageError(f"{{file}}: {what} is over the limit of {max_pixels():,} (a guard "
                          f"against decompression bombs); raise it with {MAX_PIXELS_VAR} if "
                          "the image is genuine", file=name)
    if isinstance(exc, NotImplementedError) or _UNSUPPORTED.search(reason):
        return ImageError(f"{{file}}: cannot read this kind of image ({reason}): the file uses "
                          "a feature its reader does not decode; convert it to PNG or TIFF "
                          "with another program", file=name)
    return ImageError(f"{{file}}: cannot read as an image ({reason}): the file is damaged or "
                      "not an image; re-export it", file=name)


def page_count(path: str | os.PathLike[str]) -> int:
    """Pages (TIFF) or frames (GIF, WebP) in an image file; 1 for everything else.
    The pixel guard applies."""
    header = probe(path)
    guard(str(path), header)
    return header.pages


def read_image(path: str | os.PathLike[str], page: int | None = None, *,
               auto_orient: bool = True, keep: tuple[str, ...] = ()) -> Image:
    """Read an image file, keeping its bit depth.  Any failure is an :class:`ImageError`.

    A multi-page TIFF (or animated GIF/WebP/APNG) is read whole as a stack
    ``(P, H, W[, C])`` with ``pages = P`` unless ``page`` (0-based) picks one; pages of
    different sizes make a ragged stack (a 1-D object array of pages: :func:`frames_of`).
    CMYK, Lab, min-is-white and premultiplied alpha are kept in their own space when
    ``keep`` names it (``Image.space`` says which), else converted to RGB or grey as Pillow
    converts them (``Image.notes`` says so; docs/formats.md).  An EXIF orientation turns the
    pixels upright (its tag then says 1) unless ``auto_orient`` is False; ``meta`` holds
    the ICC profile, dpi and EXIF (:mod:`imgconv.formats.metadata`).
    """
    p = Path(path)
    name = str(path)
    fmt = input_format(p)
    guard(name, probe(p), page)
    try:
        img = fmt.read(p, page, keep)
    except ImgconvError:
        raise
    except Exception as exc:  # every reader's own failure becomes one readable error
        raise unreadable(name, exc) from exc
    pages = [_checked(name, a, fmt) for a in frames_of(img.array, img.pages)]
    pages = [orient(a, dict(img.meta), False, auto_orient) for a in pages[:-1]] + \
        [orient(pages[-1], img.meta, False, auto_orient)]
    img.array = pages[0] if img.pages == 1 else stack_pages(pages)
    return img


def _checked(name: str, arr: Array, fmt: Format) -> Array:
    """One page: H×W or H×W×C of a numeric type, native byte order, booleans as 0/255."""
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or arr.size == 0 or (arr.ndim == 3 and arr.shape[2] > 4
                                                    and fmt.name not in ("NumPy", "TIFF")):
        raise ImageError(f"{{file}}: unsupported image shape {arr.shape}", file=name)
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * 255
    if not arr.dtype.isnative:  # big-endian .npy/TIFF: same values, native order
        return arr.astype(arr.dtype.newbyteorder("="))
    if arr.dtype.kind not in "uif" or arr.dtype.itemsize > 8:
        raise ImageError(f"{{file}}: unsupported pixel type {arr.dtype}", file=name)
    return arr


def output_format(path: str | os.PathLike[str]) -> Format:
    """The format an output path is written in; an unknown extension is refused."""
    ext = _ext(path)
    if ext not in FORMATS:
        also = " (imgconv reads it but does not write it)" if ext and readable(ext) else ""
        raise OutputError(
            f"{{file}}: unsupported output extension {ext or '(none)'!r}{also}: "
            f"use one of {', '.join(FORMATS)}", file=path
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
            f"{{file}}: a {verbatim(ext)} file cannot hold {dtype} pixels: use "
            f"{' or '.join(f'{{dtype[{i}]!s}}' for i in range(len(ok)))}{elsewhere}",
            values={"dtype": tuple(ok)}, file=path
        )


def check_output_channels(path: str | os.PathLike[str], channels: int,
                          dtype: str | None = None) -> None:
    """Refuse a channel count the output format cannot hold (7 channels into a PNG), naming
    the formats that hold it (and ``dtype``, when given) exactly: no palette format."""
    fmt = FORMATS.get(_ext(path))
    ok = fmt.channels if fmt is not None else None
    if ok is not None and channels not in ok:
        first: dict[str, str] = {}  # each format by its first extension (.tif, not .tiff)
        for ext, f in FORMATS.items():
            if ((f.channels is None or channels in f.channels) and f.writes
                    and f.colours is None and (dtype is None or dtype in f.dtypes)):
                first.setdefault(f.name, ext)
        holders = list(first.values())
        where = ", ".join(holders[:-1]) + f" or {holders[-1]}" if len(holders) > 1 else \
            "".join(holders)
        raise OutputError(f"{{file}}: a {_ext(path)} file cannot hold {channels} channels: "
                          f"write {where}", file=path)


def _colours(rgb: Array) -> int:
    """How many colours 8-bit RGB pixels have: in one pass, a flag for each of the 2**24
    colours (16 MB), not a sort."""
    packed = rgb[:, :, 0].astype(np.uint32) << np.uint32(16)
    packed |= rgb[:, :, 1].astype(np.uint32) << np.uint32(8)
    packed |= rgb[:, :, 2].astype(np.uint32)
    seen = np.zeros(1 << 24, np.bool_)
    seen[packed.ravel()] = True
    return int(np.count_nonzero(seen))


def palette_note(path: str | os.PathLike[str], frames: list[Array]) -> str | None:
    """The note for pixels a palette format (``colours``: a GIF's 256) changes: ``None``
    when every frame has no more colours than it holds (then they are written exactly).
    Colours are counted on RGB (a GIF holds one transparent entry, not levels of alpha)."""
    fmt = FORMATS.get(_ext(path))
    if fmt is None or fmt.colours is None:
        return None
    most = 0
    for a in frames:
        if a.ndim == 3 and a.dtype == np.uint8 and a.shape[2] >= 3:  # one channel: ≤ 256
            most = max(most, _colours(a[:, :, :3]))
    if most <= fmt.colours:
        return None
    each = f" (the most in one {fmt.unit})" if len(frames) > 1 else ""
    return (f"{os.fspath(path)}: a {fmt.name} file holds {fmt.colours} colours a {fmt.unit}: "
            f"the image's {most:,}{each} were reduced to {fmt.colours}, so pixels changed "
            "(write .png for exact pixels)")


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
    return error(f"{{file}}: has {count} {unit}s: write them to a {holders} file (every "
                 f"{unit} is filtered), or pick one with {{page!s}}", values={"page": "N"},
                 file=src)


def check_quality(quality: int | None) -> None:
    """Refuse, before any work, a JPEG/WebP quality outside 1..100."""
    if quality is not None and not 1 <= quality <= 100:
        raise ImgconvError("{quality} is out of range: use 1 (smallest file) to 100 "
                           "(best)", values={"quality": quality})
