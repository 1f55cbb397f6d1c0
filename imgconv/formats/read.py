"""The readers and header probes of each format (Pillow, OpenCV for plain and 16-bit colour PNG,
tifffile, numpy), each returning an :class:`~imgconv.formats.guard.Image`."""

from __future__ import annotations

import dataclasses
import math
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from imgconv.errors import ImageError
from imgconv.formats.guard import Header, Image, Meta, _pick, npy_header
from imgconv.formats.metadata import pillow_meta, tiff_meta
from imgconv.formats.png import _png_depth, chunk_kinds, ihdr, plain_png


def _probe_pillow(p: Path) -> Header:
    """The canvas and the frame count (as declared: never one entry a frame); a frame is
    decoded after every frame before it."""
    from PIL import Image as PILImage

    PILImage.MAX_IMAGE_PIXELS = None  # our own guard, with our own message
    with PILImage.open(p) as im:
        frames = int(getattr(im, "n_frames", 1))
        dtype = ("uint16" if im.mode.startswith("I;16") or (im.mode == "I" and im.format == "PNG")
                 else "float32" if im.mode == "F" else "int32" if im.mode == "I" else "uint8")
        return Header(((im.height, im.width, len(im.getbands())),), frames, frames > 1, dtype)


def _probe_png(p: Path) -> Header:
    """A PNG's signature first (a file that is not a PNG says so), then its IHDR for 8 or
    16 bits of gray, gray+alpha, RGB or RGBA in one frame; Pillow's header for the others
    (palettes, transparency chunks, fewer bits, animation)."""
    head = ihdr(p)
    if head is None:
        raise ImageError(f"{p}: not a PNG file (bad signature)")
    h, w, depth, colour = head
    if depth in (8, 16) and colour in _CHANNELS and not chunk_kinds(p) & _NOT_PLAIN:
        return Header(((h, w, _CHANNELS[colour]),), dtype=f"uint{depth}")
    header = _probe_pillow(p)
    return dataclasses.replace(header, dtype="uint16") if depth == 16 else header


#: OpenCV's own limits on a decoded image (CV_IO_MAX_IMAGE_PIXELS, _WIDTH, _HEIGHT)
_OPENCV_MAX_PIXELS, _OPENCV_MAX_SIDE = 1 << 30, 1 << 20
#: PNG colour type -> channels (gray, RGB, gray+alpha, RGBA)
_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}
#: chunks that make Pillow's mode differ from the IHDR's colour type or add frames
_NOT_PLAIN = {b"PLTE", b"tRNS", b"acTL"}


def _probe_tiff(p: Path) -> Header:
    """Every page's size from its tags, as decoded: planar layouts and volumes (depth)
    too, and a tiled page rounded up to whole tiles (each tile is decoded whole)."""
    def size(pg: Any) -> tuple[int, int, int]:
        h, w, d = int(pg.imagelength), int(pg.imagewidth), int(pg.imagedepth or 1)
        if pg.is_tiled:
            th, tw, td = int(pg.tilelength or 1), int(pg.tilewidth or 1), int(pg.tiledepth or 1)
            h, w, d = -(-h // th) * th, -(-w // tw) * tw, -(-d // td) * td
        return h * d, w, int(pg.samplesperpixel)

    with _quiet_tifffile().TiffFile(p) as tif:
        header = Header.of([size(pg) for pg in tif.pages])
        dtype = np.dtype(tif.pages.first.dtype).newbyteorder("=") if tif.pages else None
    return dataclasses.replace(header, dtype=str(dtype)) if dtype is not None else header


def _probe_npy(p: Path) -> Header:
    shape, dtype = npy_header(p)[:2]
    if len(shape) not in (2, 3):
        raise ImageError(f"{p}: a .npy image must be H×W or H×W×C, got shape {shape}")
    kind = "uint8" if dtype == np.bool_ else str(dtype.newbyteorder("="))
    return Header(((shape[0], shape[1], shape[2] if len(shape) == 3 else 1),), dtype=kind)


def _read_npy(p: Path, page: int | None) -> Image:
    """The values its header promises (checked by :func:`npy_header`), read as they are."""
    shape, dtype, offset, fortran = npy_header(p)
    if len(shape) not in (2, 3):
        raise ImageError(f"{p}: a .npy image must be H×W or H×W×C, got shape {shape}")
    arr = np.fromfile(p, dtype=dtype, count=math.prod(shape), offset=offset)
    arr = arr.reshape(shape, order="F" if fortran else "C")
    return Image(np.ascontiguousarray(arr), str(p))


def _read_png(p: Path, page: int | None) -> Image:
    """A plain PNG (:func:`imgconv.formats.png.plain_png`) through OpenCV, without
    Pillow (its import is ~15 ms of a command-line run); any other 16-bit colour PNG
    through OpenCV with Pillow for its metadata; the rest through Pillow."""
    name = str(p)
    depth = _png_depth(p)
    if depth is None:
        raise ImageError(f"{name}: not a PNG file (bad signature)")
    plain = _read_plain_png(p, page)
    if plain is not None:
        return plain
    bits, ctype = depth
    if bits == 16 and ctype in (2, 4, 6):
        return _read_png16(p, ctype)
    return _read_pillow(p, page)


def _read_plain_png(p: Path, page: int | None) -> Image | None:
    """The pixels and dpi of a plain PNG through OpenCV; None for a file that is not
    plain, or larger than its pixels could make it (a chunk of junk is not read into
    memory), or that OpenCV does not decode to the IHDR's size and depth."""
    head = ihdr(p)
    if head is None:
        return None
    h, w, depth, colour = head
    raw = h * (w * _CHANNELS.get(colour, 4) * depth // 8 + 1)
    if (os.path.getsize(p) > raw + raw // 100 + (1 << 20)
            or h * w >= _OPENCV_MAX_PIXELS or max(h, w) >= _OPENCV_MAX_SIDE):
        return None
    data = p.read_bytes()
    plain = plain_png(data)
    if plain is None:
        return None
    import cv2

    _pick(str(p), page, 1)
    arr, words = _silently(
        lambda: cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED))
    errors = [w.removeprefix("libpng error:").strip() for w in words
              if w.startswith("libpng error:")]
    if arr is None and errors:  # Pillow would take some of these for an image (too few rows)
        raise ImageError(f"{p}: cannot read as an image ({'; '.join(errors)}): the PNG is "
                         "damaged; re-export it")
    if (words or arr is None or arr.shape[:2] != (h, w)
            or arr.dtype != np.dtype(f"uint{depth}")):
        return None
    if colour == 4:  # gray + alpha: OpenCV expands it to BGRA
        arr = np.ascontiguousarray(arr[:, :, [0, 3]])
    elif colour in (2, 6):
        arr = cv2.cvtColor(arr, cv2.COLOR_BGR2RGB if colour == 2 else cv2.COLOR_BGRA2RGBA)
    dpi = plain[4]
    return Image(arr, str(p), has_alpha=colour in (4, 6), meta={"dpi": dpi} if dpi else {})


def _silently(decode: Callable[[], Any]) -> tuple[Any, list[str]]:
    """``decode()`` (OpenCV decoding a PNG) and libpng's own words, kept off the user's
    standard error: libpng writes its warnings and errors on file descriptor 2 itself.  The
    descriptor points at a private file meanwhile; anything but libpng's lines written there
    (another thread's) is passed on afterwards.  One thread at a time: a thread that finds
    another one doing it decodes without (libpng may then speak), never restoring the other's
    private file as standard error."""
    import sys

    if sys.__stderr__ is None:  # started without one: descriptor 2 may be any file now
        return decode(), []
    if not _FD2.acquire(blocking=False):
        return decode(), []
    try:
        return _capturing(decode)
    finally:
        _FD2.release()


_FD2 = threading.Lock()  # held while descriptor 2 points at a private file


def _capturing(decode: Callable[[], Any]) -> tuple[Any, list[str]]:
    """:func:`_silently`'s work, under its lock."""
    import sys
    import tempfile

    saved = os.dup(2)
    if sys.stderr is not None:
        sys.stderr.flush()
    try:
        with tempfile.TemporaryFile() as sink:
            os.dup2(sink.fileno(), 2)
            try:
                result = decode()
            finally:
                os.dup2(saved, 2)
            sink.seek(0)
            lines = sink.read().decode("utf-8", "replace").splitlines(keepends=True)
    finally:
        os.close(saved)
    others = [line for line in lines if not line.startswith("libpng ")]
    if others:
        os.write(2, "".join(others).encode())
    return result, [line.strip() for line in lines if line.startswith("libpng ")]


def _read_pillow(p: Path, page: int | None) -> Image:
    """PNG (8-bit, 16-bit gray), JPEG, BMP, GIF, WebP through Pillow; palettes become RGB(A).

    An animated GIF or WebP without ``page`` is read whole: every frame as Pillow's seek
    gives it (drawn over the frames before it), stacked ``(P, H, W[, C])`` in one mode,
    with each frame's duration (ms) and the loop count in ``timing``."""
    from PIL import Image as PILImage

    name = str(p)
    PILImage.MAX_IMAGE_PIXELS = None  # guarded from the header by read_image
    with PILImage.open(p) as im:
        frames = int(getattr(im, "n_frames", 1))
        im.seek(_pick(name, page, frames))
        _load(im)  # the pixels first: a broken stream is an error, not "damaged EXIF"
        meta = pillow_meta(im)
        if frames > 1 and page is None:
            return _read_frames(im, name, frames, meta)
        mode = im.mode
        arr = _pixels(im, meta)
        if mode.startswith("I;16") or (mode == "I" and p.suffix.lower() == ".png"):
            arr = arr.astype(np.uint16)
    has_alpha = arr.ndim == 3 and arr.shape[2] in (2, 4)
    return Image(np.ascontiguousarray(arr), name, has_alpha=has_alpha, meta=meta)


_CONVERT = {"PA": "RGBA", "1": "L", "CMYK": "RGB", "YCbCr": "RGB", "LAB": "RGB", "HSV": "RGB",
            "RGBa": "RGBA", "La": "LA"}


def _pixels(im: Any, meta: Meta) -> npt.NDArray[Any]:
    """The current frame of ``im`` as an array: a palette as RGB (RGBA with transparency),
    other colour spaces as RGB (their ICC profile dropped from ``meta``)."""
    import warnings

    mode = im.mode
    convert = ("RGBA" if "transparency" in im.info else "RGB") if mode == "P" \
        else _CONVERT.get(mode)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if convert is None:
            im.load()
            return np.asarray(im)
        if mode in ("CMYK", "YCbCr", "LAB", "HSV"):
            meta.pop("icc_profile", None)  # it described the old colour space
        return np.asarray(im.convert(convert))


def _load(im: Any) -> None:
    """Decode the current frame (Pillow's warnings about the file kept quiet)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        im.load()


def _read_frames(im: Any, name: str, frames: int, meta: Meta) -> Image:
    """Every frame of an animation (``im`` at frame 0), in the one mode that holds them
    all (a GIF's first frame may be a palette and the next ones RGB): gray becomes RGB
    beside colour frames, an opaque alpha is added beside frames with one."""
    stack: list[npt.NDArray[Any]] = []
    durations: list[int] = []
    loop = im.info.get("loop")
    for k in range(frames):
        im.seek(k)
        arr = _pixels(im, meta)
        stack.append(arr[..., None] if arr.ndim == 2 else arr)
        durations.append(int(im.info.get("duration", 0) or 0))
    if len({a.dtype for a in stack}) != 1 or len({a.shape[:2] for a in stack}) != 1:
        raise ImageError(f"{name}: its {frames} frames differ in size or type: pick one "
                         "with page=N", param="page")
    colour = any(a.shape[2] >= 3 for a in stack)
    alpha = any(a.shape[2] in (2, 4) for a in stack)
    arr = np.stack([_widen(a, colour, alpha) for a in stack])
    if arr.shape[3] == 1:
        arr = arr[..., 0]
    timing: Meta = {"duration": durations}
    if loop is not None:
        timing["loop"] = int(loop)
    return Image(np.ascontiguousarray(arr), name, has_alpha=alpha, meta=meta, pages=frames,
                 timing=timing)


def _widen(arr: npt.NDArray[Any], colour: bool, alpha: bool) -> npt.NDArray[Any]:
    """An H×W×C frame with C in 1..4 widened to RGB (``colour``) and alpha (``alpha``,
    opaque where the frame had none)."""
    c = arr.shape[2]
    base, own = (arr[..., :c - 1], arr[..., c - 1:]) if c in (2, 4) else (arr, None)
    if colour and base.shape[2] == 1:
        base = np.repeat(base, 3, axis=2)
    if not alpha:
        return base
    if own is None:
        own = np.full(arr.shape[:2] + (1,), np.iinfo(arr.dtype).max if arr.dtype.kind in "ui"
                      else 1.0, arr.dtype)
    return np.concatenate([base, own], axis=2)


#: chunks Pillow takes EXIF from: eXIf, ImageMagick's "Raw profile type exif" text, XMP
_EXIF_CHUNKS = {b"eXIf", b"tEXt", b"zTXt", b"iTXt"}


def _read_png16(p: Path, ctype: int) -> Image:
    """16-bit colour PNG through OpenCV (Pillow would drop it to 8 bits); its ICC profile,
    dpi and EXIF through Pillow, which reads the header only (and the pixels, in 8 bits,
    only when the file has a chunk EXIF may be in: :data:`_EXIF_CHUNKS`)."""
    import cv2
    from PIL import Image as PILImage

    with PILImage.open(p) as im:
        meta = pillow_meta(im, exif=bool(chunk_kinds(p) & _EXIF_CHUNKS))
    arr = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise ImageError(f"{p}: cannot decode the 16-bit PNG")
    if ctype == 4:  # gray + alpha: OpenCV expands it to BGRA
        arr = np.stack([arr[:, :, 0], arr[:, :, 3]], axis=2)
    elif arr.ndim == 3:  # cvtColor: 0.2 ms where fancy indexing takes 4.8 (docs/formats.md)
        arr = cv2.cvtColor(arr, cv2.COLOR_BGR2RGB if arr.shape[2] == 3 else cv2.COLOR_BGRA2RGBA)
    return Image(np.ascontiguousarray(arr), str(p), has_alpha=ctype in (4, 6), meta=meta)


def _quiet_tifffile() -> Any:
    """tifffile, with its warnings (logged per damaged tag) silenced: our error says it."""
    import logging

    import tifffile

    logging.getLogger("tifffile").setLevel(logging.CRITICAL)  # it logs damage as errors
    return tifffile


def _read_tiff(p: Path, page: int | None) -> Image:
    tifffile = _quiet_tifffile()

    name = str(p)
    with tifffile.TiffFile(p) as tif:
        pages = tif.pages
        n = len(pages)
        first = pages.first
        alpha = bool(getattr(first, "extrasamples", ()))

        def pixels(pg: Any) -> npt.NDArray[Any]:
            arr = pg.asarray()
            if getattr(pg, "planarconfig", 1) == 2 and arr.ndim == 3:  # separate planes
                arr = np.moveaxis(arr, 0, -1)
            return np.ascontiguousarray(arr)

        meta = tiff_meta(pages[_pick(name, page, n)])
        if n == 1 or page is not None:
            arr = pixels(pages[_pick(name, page, n)])
            return Image(arr, name, has_alpha=alpha and arr.ndim == 3, meta=meta)
        stack = [pixels(pg) for pg in pages]
    if len({(a.shape, a.dtype) for a in stack}) != 1:
        raise ImageError(f"{name}: its {n} pages differ in size or type: pick one with "
                         "page=N", param="page")
    arr = np.stack(stack)
    return Image(arr, name, has_alpha=alpha and arr.ndim == 4, pages=n, meta=meta)


def file_meta(path: str | os.PathLike[str], page: int | None = None) -> Meta:
    """The metadata of a TIFF from its header (the banded path reads no pixels whole);
    nothing for other files."""
    p = Path(path)
    if p.suffix.lower() not in (".tif", ".tiff"):
        return {}
    with _quiet_tifffile().TiffFile(p) as tif:
        return tiff_meta(tif.pages[page or 0])
