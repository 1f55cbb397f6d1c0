"""Pixels: reading and writing images, the dtype policy, atomic writes (SPEC §3, §5).

Readers are chosen by extension and imported lazily: ``.npy`` with numpy, TIFF with
tifffile, PNG/JPEG/BMP/GIF/WebP with imageio (Pillow).  A 16-bit RGB(A) PNG, which
Pillow silently reads as 8-bit and cannot write, goes through OpenCV instead.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from imgconv.errors import ImageError, OutputError, WorkError

READ_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp", ".npy")
# which output dtypes each format can hold
FORMAT_DTYPES: dict[str, tuple[str, ...]] = {
    ".png": ("uint8", "uint16"),
    ".jpg": ("uint8",),
    ".jpeg": ("uint8",),
    ".bmp": ("uint8",),
    ".gif": ("uint8",),
    ".webp": ("uint8",),
    ".tif": ("uint8", "uint16", "float32", "float64"),
    ".tiff": ("uint8", "uint16", "float32", "float64"),
    ".npy": ("uint8", "uint16", "float32", "float64"),
}
DTYPES = ("uint8", "uint16", "float32", "float64")


@dataclass
class Image:
    """Pixels read from a file: ``array`` is H×W or H×W×C in the file's own dtype."""

    array: npt.NDArray[np.generic]
    path: str
    has_alpha: bool = False
    meta: dict[str, object] = field(default_factory=dict)

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


def read_image(path: str | os.PathLike[str]) -> Image:
    """Read an image file, keeping its bit depth.  Any failure is an :class:`ImageError`."""
    p = Path(path)
    name = str(path)
    ext = _ext(p)
    if not p.exists():
        raise ImageError(f"{name}: no such file")
    if p.is_dir():
        raise ImageError(f"{name}: is a folder, not an image (use 'imgconv batch' for folders)")
    if ext not in READ_EXTENSIONS:
        raise ImageError(
            f"{name}: unsupported image extension {ext or '(none)'!r}: "
            f"use one of {', '.join(READ_EXTENSIONS)}"
        )
    if p.stat().st_size == 0:
        raise ImageError(f"{name}: the file is empty")
    try:
        img = _read(p, ext)
    except ImageError:
        raise
    except Exception as exc:  # every reader's own failure becomes one readable error
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ImageError(f"{name}: cannot read as an image ({reason})") from exc
    arr = img.array
    if arr.ndim == 3 and arr.shape[2] == 1:
        img.array = arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or arr.size == 0 or (arr.ndim == 3 and arr.shape[2] > 4
                                                    and ext != ".npy"):
        raise ImageError(f"{name}: unsupported image shape {arr.shape}")
    if arr.dtype == np.bool_:
        img.array = arr.astype(np.uint8) * 255
    elif arr.dtype.kind not in "uif":
        raise ImageError(f"{name}: unsupported pixel type {arr.dtype}")
    return img


def _read(p: Path, ext: str) -> Image:
    name = str(p)
    if ext == ".npy":
        arr = np.load(p, allow_pickle=False)
        if arr.ndim not in (2, 3):
            raise ImageError(f"{name}: a .npy image must be H×W or H×W×C, got shape {arr.shape}")
        return Image(arr, name)
    if ext in (".tif", ".tiff"):
        import tifffile

        arr = tifffile.imread(p)
        return Image(arr, name, has_alpha=arr.ndim == 3 and arr.shape[2] in (2, 4))
    if ext == ".png":
        depth = _png_depth(p)
        if depth is None:
            raise ImageError(f"{name}: not a PNG file (bad signature)")
        bits, ctype = depth
        if bits == 16 and ctype in (2, 4, 6):
            return _read_png16(p, ctype)
    import imageio.v3 as iio

    arr = iio.imread(p, index=0) if ext in (".gif", ".webp") else iio.imread(p)
    arr = np.asarray(arr)
    has_alpha = arr.ndim == 3 and arr.shape[2] in (2, 4)
    return Image(arr, name, has_alpha=has_alpha)


def _read_png16(p: Path, ctype: int) -> Image:
    import cv2

    arr = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise ImageError(f"{p}: cannot decode the 16-bit PNG")
    if ctype == 4:  # gray + alpha: OpenCV expands it to BGRA
        arr = np.stack([arr[:, :, 0], arr[:, :, 3]], axis=2)
    elif arr.ndim == 3:
        arr = arr[:, :, [2, 1, 0]] if arr.shape[2] == 3 else arr[:, :, [2, 1, 0, 3]]
    return Image(np.ascontiguousarray(arr), str(p), has_alpha=ctype in (4, 6))


# -- output policy ---------------------------------------------------------------------

def check_output_dtype(path: str | os.PathLike[str], dtype: str) -> None:
    """Refuse, before any work, a dtype the output format cannot hold."""
    ext = _ext(path)
    if ext not in FORMAT_DTYPES:
        raise OutputError(
            f"{path}: unsupported output extension {ext or '(none)'!r}: "
            f"use one of {', '.join(FORMAT_DTYPES)}"
        )
    ok = FORMAT_DTYPES[ext]
    if dtype not in ok:
        fmts = sorted({e for e, d in FORMAT_DTYPES.items() if dtype in d})
        raise OutputError(
            f"{path}: a {ext} file cannot hold {dtype} pixels: use --dtype "
            f"{' or '.join(ok)}, or write to {' / '.join(fmts)}"
        )


def dtype_max(dtype: np.dtype[np.generic] | str) -> float:
    """The top of a dtype's pixel range: 255, 65535; 1.0 for floats."""
    dt = np.dtype(dtype)
    if dt.kind in "ui":
        return float(np.iinfo(dt).max)
    return 1.0


def quantize(
    result: npt.NDArray[np.floating],
    out_dtype: str | np.dtype[np.generic],
) -> npt.NDArray[np.generic]:
    """Round half to even, clip to the output range, cast (integers never wrap)."""
    dt = np.dtype(out_dtype)
    if dt.kind == "f":
        return result.astype(dt)
    info = np.iinfo(dt)
    out = np.rint(result)
    np.clip(out, info.min, info.max, out=out)
    cast: npt.NDArray[np.generic] = out.astype(dt)
    return cast


# -- writing ---------------------------------------------------------------------------

def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """True when two spellings name the same file (through links, ``..``, case)."""
    pa, pb = Path(a), Path(b)
    try:
        if pa.exists() and pb.exists():
            return os.path.samefile(pa, pb)
    except OSError:
        pass
    return os.path.realpath(pa) == os.path.realpath(pb)


def _encode(path: Path, array: npt.NDArray[np.generic], ext: str) -> Callable[[str], None]:
    def write(tmp: str) -> None:
        if ext == ".npy":
            with open(tmp, "wb") as fh:
                np.save(fh, array, allow_pickle=False)
        elif ext in (".tif", ".tiff"):
            import tifffile

            photometric = "rgb" if array.ndim == 3 and array.shape[2] in (3, 4) else None
            tifffile.imwrite(tmp, array, photometric=photometric)
        elif ext == ".png" and array.dtype == np.uint16 and array.ndim == 3:
            import cv2

            if array.shape[2] == 2:  # gray + alpha: OpenCV writes BGRA
                g, a = array[:, :, 0], array[:, :, 1]
                bgra = np.stack([g, g, g, a], axis=2)
            else:
                order = [2, 1, 0] if array.shape[2] == 3 else [2, 1, 0, 3]
                bgra = np.ascontiguousarray(array[:, :, order])
            if not cv2.imwrite(tmp + ".png", bgra):
                raise OSError("OpenCV could not encode the 16-bit PNG")
            os.replace(tmp + ".png", tmp)
        else:
            import imageio.v3 as iio

            if ext in (".jpg", ".jpeg"):
                iio.imwrite(tmp, array, extension=ext, quality=95)
            else:
                iio.imwrite(tmp, array, extension=ext)

    return write


def write_image(
    path: str | os.PathLike[str],
    array: npt.NDArray[np.generic],
    *,
    overwrite: bool = False,
    protect: tuple[str | os.PathLike[str], ...] = (),
) -> None:
    """Write ``array`` atomically: a temporary file in the target folder, then a rename.

    ``protect`` lists inputs that must never be replaced (also through another
    spelling or a link).  Without ``overwrite`` an existing file is never replaced,
    even by a file that appears while this one is being written.
    """
    target = Path(path)
    ext = _ext(target)
    check_output_dtype(target, str(array.dtype))
    for inp in protect:
        if same_file(inp, target):
            raise OutputError(f"{target}: is an input; refusing to overwrite it (choose -o)")
    if target.exists() and not overwrite:
        raise OutputError(f"{target}: already exists (use --overwrite to replace it)")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"{target}: the folder {folder} does not exist")
    writer = _encode(target, array, ext)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise WorkError(f"{target}: cannot write in {folder} ({exc.strerror})") from exc
    os.close(fd)
    try:
        writer(tmp)
        if overwrite:
            os.replace(tmp, target)
        else:
            try:
                os.link(tmp, target)  # fails if the target appeared meanwhile
            except FileExistsError:
                raise OutputError(
                    f"{target}: already exists (use --overwrite to replace it)"
                ) from None
            except OSError:  # file systems without hard links
                if target.exists():
                    raise OutputError(
                        f"{target}: already exists (use --overwrite to replace it)"
                    ) from None
                os.replace(tmp, target)
    except OutputError:
        raise
    except Exception as exc:
        raise WorkError(f"{target}: could not write the image ({exc})") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
