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
import math
import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from imgconv.errors import ImageError, ImgconvError, OutputError, SettingError

Meta = dict[str, object]
Options = Mapping[str, Any]  # what a writer is told besides the pixels: {"quality": 80}
Array = npt.NDArray[np.generic]

DTYPES = ("uint8", "uint16", "float32", "float64")
PNG_LEVEL = 1  # zlib compression of written PNGs (0-9), as OpenCV: 4x faster than 6
JPEG_QUALITY = 95


@dataclass
class Image:
    """Pixels read from a file: ``array`` is H×W or H×W×C in the file's own dtype."""

    array: npt.NDArray[np.generic]
    path: str
    has_alpha: bool = False
    meta: dict[str, object] = field(default_factory=dict)
    pages: int = 1  # > 1: ``array`` is a stack (P, H, W[, C]) of a multi-page file

    @property
    def dtype(self) -> np.dtype[np.generic]:
        return self.array.dtype


def _ext(path: str | os.PathLike[str]) -> str:
    return Path(path).suffix.lower()


def _png_depth(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """(bit depth, colour type) from a PNG's IHDR, or None if it is not a PNG."""
    with open(path, "rb") as fh:
        head = fh.read(26)
    if len(head) < 26 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return head[24], head[25]


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
        f"{name}: {what} = {total:,} pixels is over the limit of {limit:,} "
        f"(a guard against decompression bombs); raise it with {MAX_PIXELS_VAR} if the "
        "image is genuine"
    )


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
    if stat.S_ISDIR(st.st_mode):
        raise ImageError(f"{name}: is a folder, not an image (use 'imgconv batch' for folders)")
    if not stat.S_ISREG(st.st_mode):
        kind = ("a pipe" if stat.S_ISFIFO(st.st_mode) else
                "a socket" if stat.S_ISSOCK(st.st_mode) else "a device")
        raise ImageError(f"{name}: is not a regular file ({kind}): save the image to a file "
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


def _probe_pillow(p: Path) -> Header:
    """The canvas and the frame count (as declared: never one entry a frame); a frame is
    decoded after every frame before it."""
    from PIL import Image as PILImage

    PILImage.MAX_IMAGE_PIXELS = None  # our own guard, with our own message
    with PILImage.open(p) as im:
        frames = int(getattr(im, "n_frames", 1))
        return Header(((im.height, im.width, len(im.getbands())),), frames, frames > 1)


def _probe_png(p: Path) -> Header:
    """A PNG's signature first (a file that is not a PNG says so), then Pillow's header."""
    if _png_depth(p) is None:
        raise ImageError(f"{p}: not a PNG file (bad signature)")
    return _probe_pillow(p)


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
        return Header.of([size(pg) for pg in tif.pages])


def npy_header(p: Path) -> tuple[tuple[int, ...], np.dtype[Any], int, bool]:
    """(shape, dtype, data offset, Fortran order) of a ``.npy`` file, from its header
    alone; a header promising more data than the file holds is refused before anything
    is read."""
    with open(p, "rb") as fh:
        version = np.lib.format.read_magic(fh)
        read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                else np.lib.format.read_array_header_2_0)
        shape, fortran, dtype = read(fh, max_header_size=10_000)
        offset = fh.tell()
    if dtype.hasobject:
        raise ImageError(f"{p}: holds Python objects (a pickle), which imgconv never loads: "
                         "save a numeric array with np.save")
    need = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if offset + need > os.path.getsize(p):
        raise ImageError(f"{p}: truncated: the header promises more data than the file holds")
    return tuple(shape), dtype, offset, bool(fortran)


def _probe_npy(p: Path) -> Header:
    shape = npy_header(p)[0]
    if len(shape) not in (2, 3):
        raise ImageError(f"{p}: a .npy image must be H×W or H×W×C, got shape {shape}")
    return Header(((shape[0], shape[1], shape[2] if len(shape) == 3 else 1),))


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def read_image(path: str | os.PathLike[str], page: int | None = None) -> Image:
    """Read an image file, keeping its bit depth.  Any failure is an :class:`ImageError`.

    A multi-page TIFF (or animated GIF/WebP) is read whole as a stack ``(P, H, W[, C])``
    with ``meta["pages"] = P`` unless ``page`` (0-based) picks one.
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
    img.array = arr
    return img


def _pick(name: str, page: int | None, pages: int) -> int:
    if page is None:
        return 0
    if not 0 <= page < pages:
        raise ImageError(f"{name}: page={page} is out of range: it has {pages} page(s), "
                         f"0 to {pages - 1}", param="page")
    return page


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
    """PNG (8-bit, 16-bit gray), JPEG, BMP, GIF, WebP through Pillow; palettes become RGB(A)."""
    import warnings

    from PIL import Image as PILImage

    name = str(p)
    PILImage.MAX_IMAGE_PIXELS = None  # guarded from the header by read_image
    with PILImage.open(p) as im:
        frames = int(getattr(im, "n_frames", 1))
        if frames > 1 and page is None:
            raise ImageError(f"{name}: has {frames} frames: pick one with page=N "
                             f"(0 to {frames - 1})", param="page")
        im.seek(_pick(name, page, frames))
        meta: dict[str, object] = {}
        for key in ("icc_profile", "dpi"):
            if key in im.info:
                meta[key] = im.info[key]
        mode = im.mode
        convert = {"P": "RGBA" if "transparency" in im.info else "RGB", "PA": "RGBA",
                   "1": "L", "CMYK": "RGB", "YCbCr": "RGB", "LAB": "RGB", "HSV": "RGB",
                   "RGBa": "RGBA", "La": "LA"}.get(mode)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if convert is not None:
                if mode in ("CMYK", "YCbCr", "LAB", "HSV"):
                    meta.pop("icc_profile", None)  # it described the old colour space
                arr = np.asarray(im.convert(convert))
            else:
                im.load()
                arr = np.asarray(im)
        if mode.startswith("I;16") or (mode == "I" and p.suffix.lower() == ".png"):
            arr = arr.astype(np.uint16)
    has_alpha = arr.ndim == 3 and arr.shape[2] in (2, 4)
    return Image(np.ascontiguousarray(arr), name, has_alpha=has_alpha, meta=meta)


def _read_png16(p: Path, ctype: int) -> Image:
    """16-bit colour PNG through OpenCV (Pillow would drop it to 8 bits); its ICC profile
    and dpi through Pillow, which reads the header only."""
    import cv2
    from PIL import Image as PILImage

    meta: dict[str, object] = {}
    with PILImage.open(p) as im:
        for key in ("icc_profile", "dpi"):
            if key in im.info:
                meta[key] = im.info[key]
    arr = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise ImageError(f"{p}: cannot decode the 16-bit PNG")
    if ctype == 4:  # gray + alpha: OpenCV expands it to BGRA
        arr = np.stack([arr[:, :, 0], arr[:, :, 3]], axis=2)
    elif arr.ndim == 3:
        arr = arr[:, :, [2, 1, 0]] if arr.shape[2] == 3 else arr[:, :, [2, 1, 0, 3]]
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

        if n == 1 or page is not None:
            arr = pixels(pages[_pick(name, page, n)])
            return Image(arr, name, has_alpha=alpha and arr.ndim == 3)
        stack = [pixels(pg) for pg in pages]
    if len({(a.shape, a.dtype) for a in stack}) != 1:
        raise ImageError(f"{name}: its {n} pages differ in size or type: pick one with "
                         "page=N", param="page")
    arr = np.stack(stack)
    return Image(arr, name, has_alpha=alpha and arr.ndim == 4, pages=n)


# -- output policy ---------------------------------------------------------------------

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


# -- writing ---------------------------------------------------------------------------

def check_quality(quality: int | None) -> None:
    """Refuse, before any work, a JPEG/WebP quality outside 1..100."""
    if quality is not None and not 1 <= quality <= 100:
        raise ImgconvError(f"quality={quality} is out of range: use 1 (smallest file) to 100 "
                           "(best)", param="quality")


def _write_npy(tmp: str, array: Array, meta: Meta, pages: int, options: Options) -> None:
    with open(tmp, "wb") as fh:
        np.save(fh, array, allow_pickle=False)


def _write_tiff(tmp: str, array: Array, meta: Meta, pages: int, options: Options) -> None:
    import tifffile

    core = array.shape[1:] if pages > 1 else array.shape
    rgb = len(core) == 3 and core[2] in (3, 4)
    tifffile.imwrite(tmp, array, photometric="rgb" if rgb else "minisblack",
                     extrasamples=("unassalpha",) if rgb and core[2] == 4 else None,
                     planarconfig="contig" if len(core) == 3 else None)


def _write_png(tmp: str, array: Array, meta: Meta, pages: int, options: Options) -> None:
    """8-bit and 16-bit gray through Pillow; 16-bit colour through OpenCV (Pillow cannot),
    16-bit gray+alpha encoded here (neither can); the ICC profile as an iCCP chunk."""
    if not (array.dtype == np.uint16 and array.ndim == 3):
        _write_pillow(tmp, array, meta, pages, options, fmt="PNG", compress_level=PNG_LEVEL)
        return
    import cv2

    if array.shape[2] == 2:
        png = _png_gray_alpha16(array)
    else:
        order = [2, 1, 0] if array.shape[2] == 3 else [2, 1, 0, 3]
        bgra = np.ascontiguousarray(array[:, :, order], dtype=np.uint16)
        ok, data = cv2.imencode(".png", bgra, [cv2.IMWRITE_PNG_COMPRESSION, PNG_LEVEL])
        if not ok:
            raise OSError("OpenCV could not encode the 16-bit PNG")
        png = data.tobytes()
    icc = meta.get("icc_profile")
    with open(tmp, "wb") as fh:
        fh.write(_with_iccp(png, icc) if isinstance(icc, bytes) else png)


def _write_pillow(tmp: str, array: Array, meta: Meta, pages: int, options: Options, *,
                  fmt: str, **fixed: Any) -> None:
    """Through Pillow; ``options["quality"]`` (1..100) for JPEG (default
    :data:`JPEG_QUALITY`) and WebP (lossy at that quality; without it, lossless)."""
    from PIL import Image as PILImage

    keep: dict[str, Any] = {k: meta[k] for k in ("icc_profile", "dpi") if k in meta}
    quality = options.get("quality")
    if fmt == "JPEG":
        fixed["quality"] = quality or JPEG_QUALITY
    elif fmt == "WEBP":
        fixed.update({"lossless": True} if quality is None else {"quality": quality})
    PILImage.fromarray(np.ascontiguousarray(array)).save(tmp, format=fmt, **keep, **fixed)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    import struct
    import zlib

    return (struct.pack(">I", len(body)) + kind + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))


def _png_gray_alpha16(array: npt.NDArray[np.generic]) -> bytes:
    """A 16-bit gray+alpha PNG (colour type 4), encoded here: rows of filter 0, zlib."""
    import struct
    import zlib

    h, w = array.shape[:2]
    rows = np.ascontiguousarray(array, dtype=">u2").reshape(h, w * 2)  # 2 samples a pixel
    raw = np.concatenate([np.zeros((h, 1), np.uint8), rows.view(np.uint8)], axis=1)
    return (b"\x89PNG\r\n\x1a\n"
            + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 4, 0, 0, 0))
            + _png_chunk(b"IDAT", zlib.compress(raw.tobytes(), PNG_LEVEL))
            + _png_chunk(b"IEND", b""))


def _with_iccp(png: bytes, profile: bytes) -> bytes:
    """Insert an iCCP chunk (the ICC profile) right after the IHDR chunk of a PNG."""
    import zlib

    chunk = _png_chunk(b"iCCP", b"icc\x00\x00" + zlib.compress(profile))
    end_ihdr = 8 + 4 + 4 + 13 + 4  # signature, length, type, IHDR data, CRC
    return png[:end_ihdr] + chunk + png[end_ihdr:]


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
    frames: bool = False  # holds several pages (written as one multi-page file)
    streams: bool = False  # read and written band by band (images larger than memory)
    metadata: tuple[str, ...] = ()  # what it carries from the input: icc_profile, dpi
    quality: bool = False  # takes a quality (1..100): options["quality"] to its writer


_JPEG = Format("JPEG", _read_pillow, functools.partial(_write_pillow, fmt="JPEG"),
               _probe_pillow, INT8, (1, 3), metadata=("icc_profile", "dpi"), quality=True)
_TIFF = Format("TIFF", _read_tiff, _write_tiff, _probe_tiff, ALL, frames=True, streams=True)
#: extension → format; the order is the one error messages list
FORMATS: dict[str, Format] = {
    ".png": Format("PNG", _read_png, _write_png, _probe_png, ("uint8", "uint16"), (1, 2, 3, 4),
                   metadata=("icc_profile", "dpi")),
    ".jpg": _JPEG,
    ".jpeg": _JPEG,
    ".tif": _TIFF,
    ".tiff": _TIFF,
    ".bmp": Format("BMP", _read_pillow, functools.partial(_write_pillow, fmt="BMP"),
                   _probe_pillow, INT8, (1, 3, 4), metadata=("dpi",)),
    ".gif": Format("GIF", _read_pillow, functools.partial(_write_pillow, fmt="GIF"),
                   _probe_pillow, INT8, (1, 3, 4)),
    # nothing lost: lossless WebP unless a quality is given
    ".webp": Format("WebP", _read_pillow, functools.partial(_write_pillow, fmt="WEBP"),
                    _probe_pillow, INT8, (1, 3, 4), metadata=("icc_profile",), quality=True),
    ".npy": Format("NumPy", _read_npy, _write_npy, _probe_npy, ALL, streams=True),
}
READ_EXTENSIONS: tuple[str, ...] = tuple(FORMATS)
STREAMING: tuple[str, ...] = tuple(e for e, f in FORMATS.items() if f.streams)
