"""The readers and header probes of each format (Pillow, OpenCV for 16-bit colour PNG,
tifffile, numpy), each returning an :class:`~imgconv.formats.guard.Image`."""

from __future__ import annotations

import dataclasses
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

import imgconv.formats.spaces as spaces
from imgconv.errors import ImageError
from imgconv.formats.extents import gif_canvas
from imgconv.formats.guard import Header, Image, Meta, _pick, npy_header, stack_pages
from imgconv.formats.libs import using_pillow
from imgconv.formats.metadata import pillow_meta
from imgconv.formats.png import _png_depth, chunk_kinds

#: the first bytes of ICO, CUR and ICNS files
_ICONS = (b"\x00\x00\x01\x00", b"\x00\x00\x02\x00", b"icns")


def _probe_pillow(p: Path) -> Header:
    """The canvas and the frame count (as declared: never one entry a frame); a frame is
    decoded after every frame before it.  A GIF's canvas is the largest its frame
    descriptors claim (:func:`imgconv.formats.extents.gif_canvas`: Pillow grows it); an
    MPO's pictures, each a JPEG of its own size, are each looked at (headers only)."""
    # Pillow's own check is off for the header (imgconv's guard follows, naming the size),
    # except for icons, whose plugins decode the largest picture as they open the file
    with open(p, "rb") as fh:
        icon = fh.read(4) in _ICONS
    with using_pillow(checked=icon) as PILImage, PILImage.open(p) as im:
        frames = int(getattr(im, "n_frames", 1))
        mode = im.mode
        dtype = ("uint16" if mode.startswith("I;16") or (mode == "I" and im.format in _SIXTEEN)
                 or _ppm_max(im) > 255 else "float32" if mode == "F"
                 else "int32" if mode == "I" else "uint8")
        channels = len(im.getbands()) if mode not in ("P", "PA") else 4
        size = (im.height, im.width, channels)
        if im.format == "GIF":
            canvas = gif_canvas(p)
            if canvas is not None:
                size = (max(canvas[0], im.height), max(canvas[1], im.width), channels)
        elif im.format == "MPO" and frames > 1:
            sizes = []
            for k in range(frames):
                im.seek(k)
                sizes.append((im.height, im.width, channels))
            return Header(tuple(sizes), frames, False, dtype)
        return Header((size,), frames, frames > 1, dtype)


def _probe_png(p: Path) -> Header:
    """A PNG's signature first (a file that is not a PNG says so), then Pillow's header."""
    depth = _png_depth(p)
    if depth is None:
        raise ImageError("{file}: not a PNG file (bad signature)", file=p)
    header = _probe_pillow(p)
    return dataclasses.replace(header, dtype="uint16") if depth[0] == 16 else header


def _probe_npy(p: Path) -> Header:
    shape, dtype = npy_header(p)[:2]
    if len(shape) not in (2, 3):
        raise ImageError(f"{{file}}: a .npy image must be H×W or H×W×C, got shape {shape}", file=p)
    kind = "uint8" if dtype == np.bool_ else str(dtype.newbyteorder("="))
    return Header(((shape[0], shape[1], shape[2] if len(shape) == 3 else 1),), dtype=kind)


def _read_npy(p: Path, page: int | None, keep: tuple[str, ...] = ()) -> Image:
    """The values its header promises (checked by :func:`npy_header`), read as they are."""
    shape, dtype, offset, fortran = npy_header(p)
    if len(shape) not in (2, 3):
        raise ImageError(f"{{file}}: a .npy image must be H×W or H×W×C, got shape {shape}", file=p)
    arr = np.fromfile(p, dtype=dtype, count=math.prod(shape), offset=offset)
    arr = arr.reshape(shape, order="F" if fortran else "C")
    return Image(np.ascontiguousarray(arr), str(p))


def _read_png(p: Path, page: int | None, keep: tuple[str, ...] = ()) -> Image:
    """8-bit and 16-bit gray PNG through Pillow; 16-bit colour through OpenCV (an
    animated one, every frame, through OpenCV's animation reader)."""
    name = str(p)
    depth = _png_depth(p)
    if depth is None:
        raise ImageError("{file}: not a PNG file (bad signature)", file=name)
    bits, ctype = depth
    if bits == 16 and ctype in (2, 4, 6):
        if b"acTL" in chunk_kinds(p):
            return _read_apng16(p, page)
        return _read_png16(p, ctype)
    return _read_pillow(p, page, keep)


def _read_pillow(p: Path, page: int | None, keep: tuple[str, ...] = ()) -> Image:
    """Every format Pillow reads; palettes become RGB(A), other colour spaces are kept
    when ``keep`` names them, else converted as Pillow converts them (a note says so).

    An animated GIF, APNG or WebP (or a multi-picture MPO) without ``page`` is read whole:
    every frame as Pillow's seek gives it (drawn over the frames before it), stacked
    ``(P, H, W[, C])`` in one mode (ragged when the frames differ in size), with each
    frame's duration (ms) and the loop count in ``timing``."""
    name = str(p)
    with using_pillow() as PILImage, PILImage.open(p) as im:
        frames = int(getattr(im, "n_frames", 1))
        target = _first_frame(im) + _pick(name, page, frames)
        if target != im.tell():  # some plugins refuse any seek in a one-frame file (SPIDER)
            im.seek(target)
        if _ppm_max(im) > 255:  # Pillow would read a 16-bit colour PNM in 8 bits
            return _read_ppm16(im, name, {})
        if im.format == "JPEG" and im.mode in ("L", "RGB") and frames == 1:
            pixels = _jpeg_pixels(im)
            if pixels is not None:
                return Image(pixels, name, meta=pillow_meta(im))
        _load(im)  # the pixels first: a broken stream is an error, not "damaged EXIF"
        meta = pillow_meta(im)
        if frames > 1 and page is None:
            return _read_frames(im, name, frames, meta)
        mode = im.mode
        arr, space, notes = _pixels(im, meta, name, keep)
        if mode.startswith("I;16") or (mode == "I" and im.format in _SIXTEEN):
            arr = arr.astype(np.uint16)
    has_alpha = arr.ndim == 3 and arr.shape[2] in (2, 4) and space != "cmyk" \
        or arr.ndim == 3 and arr.shape[2] == 5
    return Image(np.ascontiguousarray(arr), name, has_alpha=has_alpha, meta=meta, space=space,
                 notes=notes)


def _jpeg_pixels(im: Any) -> npt.NDArray[Any] | None:
    """A whole JPEG's pixels decoded by imagecodecs' libjpeg-turbo: the same pixels as
    Pillow's decode (the same library: tests/test_formats.py checks every kind), 2-3.5×
    faster (Pillow feeds its decoder in small pieces and copies the image again).  None,
    so that Pillow decodes, when the stream does not end with its end-of-image marker:
    libjpeg-turbo fills a truncated image silently where Pillow refuses it."""
    import imagecodecs

    im.fp.seek(0)
    data = im.fp.read()
    if not data.endswith(b"\xff\xd9"):
        return None
    arr = np.asarray(imagecodecs.jpeg8_decode(data))
    if arr.shape[:2] != (im.height, im.width) or arr.ndim != (2 if im.mode == "L" else 3):
        return None
    return arr


#: formats whose Pillow mode "I" holds 16-bit samples (a 16-bit PNG, PGM)
_SIXTEEN = ("PNG", "PPM")


def _ppm_max(im: Any) -> int:
    """The largest sample value a colour PNM declares (255 for anything else)."""
    if im.format != "PPM" or im.mode != "RGB" or not im.tile:
        return 255
    args = im.tile[0].args
    return int(args[1]) if isinstance(args, tuple) and len(args) > 1 else 255


def _read_ppm16(im: Any, name: str, meta: Meta) -> Image:
    """A colour PNM of more than 8 bits (maximum over 255) through OpenCV's decoder: the
    stored samples in uint16, as a 16-bit PGM is read."""
    import cv2

    im.fp.seek(0)
    data = np.frombuffer(im.fp.read(), np.uint8)
    arr = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if arr is None or arr.ndim != 3:
        raise ImageError("{file}: cannot decode the 16-bit PNM: the file is damaged; "
                         "re-export it", file=name)
    arr = cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)
    return Image(np.ascontiguousarray(arr.astype(np.uint16, copy=False)), name, meta=meta)


#: Pillow modes converted on reading: into what, and the space a note names ("" none)
_CONVERT = {"PA": ("RGBA", "palette"), "1": ("L", ""), "CMYK": ("RGB", "cmyk"),
            "YCbCr": ("RGB", "ycbcr"), "LAB": ("RGB", "lab"), "HSV": ("RGB", "HSV"),
            "RGBa": ("RGBA", "premultiplied"), "La": ("LA", "premultiplied"),
            "RGBX": ("RGB", ""), "P": ("RGB", "palette")}
#: Pillow modes of the spaces a reader may keep
_KEPT = {"CMYK": "cmyk", "LAB": "lab", "RGBa": "premultiplied", "La": "premultiplied"}


def _pixels(im: Any, meta: Meta, name: str = "", keep: tuple[str, ...] = ()
            ) -> tuple[npt.NDArray[Any], str, list[str]]:
    """The current frame of ``im`` as an array, the space it is kept in ("" for grey or
    RGB) and the notes: a palette as RGB (RGBA with transparency), other colour spaces
    kept when ``keep`` names them, else as RGB (their ICC profile dropped from ``meta``)."""
    mode = im.mode
    kept = _KEPT.get(mode)
    if kept is not None and kept in keep:
        arr = np.asarray(im)
        return (spaces.lab_from_stored(arr) if kept == "lab" else arr), kept, []
    convert, space = _CONVERT.get(mode, (None, ""))
    if mode == "P" and "transparency" in im.info:
        convert = "RGBA"
    if convert is None:
        _load(im)
        return np.asarray(im), "", []
    notes = [spaces.note(name, space, convert)] if space and name else []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if mode in ("CMYK", "YCbCr", "LAB", "HSV"):
            meta.pop("icc_profile", None)  # it described the old colour space
        return np.asarray(im.convert(convert)), "", notes


def _first_frame(im: Any) -> int:
    """The number of an image's first frame in Pillow's ``seek``: 0, but 1 for a PSD (its
    frames are its layers, 1 to n, as ``ImageSequence`` walks them)."""
    return int(getattr(im, "_min_frame", 0))


def _load(im: Any) -> None:
    """Decode the current frame (Pillow's warnings about the file kept quiet); a stream
    Pillow cannot decode raises here, before anything else is asked of the file."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        im.load()


def _read_frames(im: Any, name: str, frames: int, meta: Meta) -> Image:
    """Every frame of an animation (``im`` at frame 0), in the one mode that holds them
    all (a GIF's first frame may be a palette and the next ones RGB): gray becomes RGB
    beside colour frames, an opaque alpha is added beside frames with one.  Frames of
    different sizes (an MPO's pictures) make a ragged stack."""
    stack: list[npt.NDArray[Any]] = []
    durations: list[int] = []
    notes: list[str] = []
    loop = im.info.get("loop")
    first = _first_frame(im)
    for k in range(frames):
        im.seek(first + k)
        _load(im)
        arr, _, said = _pixels(im, meta, name)
        notes += said
        stack.append(arr[..., None] if arr.ndim == 2 else arr)
        durations.append(int(im.info.get("duration", 0) or 0))
    if len({a.dtype for a in stack}) != 1:
        raise ImageError(f"{{file}}: its {frames} frames hold different pixel types: pick one "
                         "with {page!s}", values={"page": "N"}, file=name)
    colour = any(a.shape[2] >= 3 for a in stack)
    alpha = any(a.shape[2] in (2, 4) for a in stack)
    widened = [_widen(a, colour, alpha) for a in stack]
    widened = [a[..., 0] if a.shape[2] == 1 else a for a in widened]
    timing: Meta = {"duration": durations}
    if loop is not None:
        timing["loop"] = int(loop)
    return Image(stack_pages(widened), name, has_alpha=alpha, meta=meta, pages=frames,
                 timing=timing, notes=list(dict.fromkeys(notes)))


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

    with using_pillow() as PILImage, PILImage.open(p) as im:
        meta = pillow_meta(im, exif=bool(chunk_kinds(p) & _EXIF_CHUNKS))
    arr = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise ImageError("{file}: cannot decode the 16-bit PNG", file=p)
    if ctype == 4:  # gray + alpha: OpenCV expands it to BGRA
        arr = np.stack([arr[:, :, 0], arr[:, :, 3]], axis=2)
    elif arr.ndim == 3:  # cvtColor: 0.2 ms where fancy indexing takes 4.8 (docs/formats.md)
        arr = cv2.cvtColor(arr, cv2.COLOR_BGR2RGB if arr.shape[2] == 3 else cv2.COLOR_BGRA2RGBA)
    return Image(np.ascontiguousarray(arr), str(p), has_alpha=ctype in (4, 6), meta=meta)


def _read_apng16(p: Path, page: int | None) -> Image:
    """A 16-bit colour animated PNG, every frame in 16 bits (Pillow reads 8), through
    OpenCV's animation reader; ``page`` picks one frame."""
    import cv2

    name = str(p)
    with using_pillow() as PILImage, PILImage.open(p) as im:
        meta = pillow_meta(im, exif=False)
        declared = int(getattr(im, "n_frames", 1))
    ok, anim = cv2.imreadanimation(str(p))
    frames = list(anim.frames) if ok else []
    if len(frames) != declared:  # OpenCV reads it otherwise than Pillow: Pillow, in 8 bits
        img = _read_pillow(p, page)
        img.notes.append(f"{name}: a 16-bit animated PNG that OpenCV reads as "
                         f"{len(frames)} frames, not {declared}: read in 8 bits by Pillow")
        return img
    swap = {3: cv2.COLOR_BGR2RGB, 4: cv2.COLOR_BGRA2RGBA}
    arrays = [cv2.cvtColor(f, swap[f.shape[2]]) if f.ndim == 3 and f.shape[2] in swap else f
              for f in frames]
    alpha = arrays[0].ndim == 3 and arrays[0].shape[2] == 4
    if page is not None:
        return Image(np.ascontiguousarray(arrays[_pick(name, page, declared)]), name,
                     has_alpha=alpha, meta=meta)
    timing: Meta = {"duration": [int(d) for d in anim.durations], "loop": int(anim.loop_count)}
    return Image(stack_pages(arrays), name, has_alpha=alpha, meta=meta, pages=len(arrays),
                 timing=timing)
