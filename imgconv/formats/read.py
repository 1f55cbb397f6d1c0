"""The readers and header probes of each format (Pillow, OpenCV for 16-bit colour PNG,
tifffile, numpy), each returning an :class:`~imgconv.formats.guard.Image`."""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from imgconv.errors import ImageError
from imgconv.formats.guard import Header, Image, Meta, _pick, npy_header
from imgconv.formats.metadata import pillow_meta, tiff_meta
from imgconv.formats.png import _png_depth, chunk_kinds


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
    """A PNG's signature first (a file that is not a PNG says so), then Pillow's header."""
    depth = _png_depth(p)
    if depth is None:
        raise ImageError(f"{p}: not a PNG file (bad signature)")
    header = _probe_pillow(p)
    return dataclasses.replace(header, dtype="uint16") if depth[0] == 16 else header


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
    """8-bit and 16-bit gray PNG through Pillow; 16-bit colour through OpenCV."""
    name = str(p)
    depth = _png_depth(p)
    if depth is None:
        raise ImageError(f"{name}: not a PNG file (bad signature)")
    bits, ctype = depth
    if bits == 16 and ctype in (2, 4, 6):
        return _read_png16(p, ctype)
    return _read_pillow(p, page)


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
    if convert is None:
        _load(im)
        return np.asarray(im)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if mode in ("CMYK", "YCbCr", "LAB", "HSV"):
            meta.pop("icc_profile", None)  # it described the old colour space
        return np.asarray(im.convert(convert))


def _load(im: Any) -> None:
    """Decode the current frame (Pillow's warnings about the file kept quiet); a stream
    Pillow cannot decode raises here, before anything else is asked of the file."""
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
