"""Row sources: the rows of an image read band by band (``.npy``, TIFF) or from memory.

A band reads the input rows its kernel reaches (its *halo*); rows beyond the true
image edge come from the boundary mode's own index rule
(:attr:`imgconv.boundary.BoundaryMode.index`), so a band equals the same rows of the
whole image extended by :func:`imgconv.boundary.pad`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import numpy as np
import numpy.typing as npt

from imgconv.boundary import index_runs
from imgconv.errors import ImageError, ImgconvError
from imgconv.formats import guard, input_format, pages_of, probe
from imgconv.formats.libs import using_tifffile
from imgconv.npyfile import read_header


class RowSource(Protocol):
    shape: tuple[int, ...]
    dtype: np.dtype[Any]

    def read(self, y0: int, y1: int) -> npt.NDArray[Any]: ...

    def close(self) -> None: ...

    def location(self) -> tuple[Path, int | None]: ...


class ArraySource:
    """Rows of an array already in memory (cannot be sent to a cluster by path)."""

    def __init__(self, array: npt.NDArray[Any]):
        self.array = array
        self.shape = tuple(array.shape)
        self.dtype = array.dtype

    def read(self, y0: int, y1: int) -> npt.NDArray[Any]:
        return np.asarray(self.array[y0:y1])

    def close(self) -> None:
        pass

    def location(self) -> tuple[Path, int | None]:
        raise ImgconvError("an image in memory cannot be filtered on a cluster")


class NpySource:
    """Rows of a C-ordered ``.npy`` file, read with plain file reads (no mapping)."""

    def __init__(self, path: Path):
        self.fh: BinaryIO = open(path, "rb")  # noqa: SIM115 - closed by close()
        try:
            head = read_header(self.fh)
        except BaseException:
            self.fh.close()
            raise
        if head.fortran or head.dtype.hasobject or len(head.shape) not in (2, 3):
            self.fh.close()
            raise ImageError("{file}: a .npy image must be a C-ordered H×W or H×W×C array",
                             file=path)
        self.offset = head.offset
        self.path = path
        self.shape = head.shape
        self.dtype = head.dtype
        self.row = math.prod(head.shape[1:]) * head.dtype.itemsize

    def read(self, y0: int, y1: int) -> npt.NDArray[Any]:
        self.fh.seek(self.offset + y0 * self.row)
        data = self.fh.read((y1 - y0) * self.row)
        if len(data) != (y1 - y0) * self.row:
            raise ImageError(f"{{file}}: truncated: the header promises "
                             f"{self.shape} but the file ends early", file=self.fh.name)
        return np.frombuffer(data, dtype=self.dtype).reshape((y1 - y0,) + self.shape[1:])

    def close(self) -> None:
        self.fh.close()

    def location(self) -> tuple[Path, int | None]:
        return self.path, None


class TiffSource:
    """Rows of one TIFF page: by offset when uncompressed and contiguous, else by
    decoding only the strips or tiles a band needs."""

    def __init__(self, path: Path, page: int = 0):
        self.path = path
        self.page_index = page
        with using_tifffile() as tifffile:
            self.tif = tifffile.TiffFile(path)
            pages = pages_of(self.tif)
        if not 0 <= page < len(pages):
            self.tif.close()
            raise ImageError(f"{{file}}: {{page!s}} is out of range (0 to {len(pages) - 1})",
                             values={"page": page}, file=path)
        pg = pages[page]
        self.page: Any = pg
        shape = tuple(pg.shape)
        if len(shape) not in (2, 3) or getattr(pg, "planarconfig", 1) == 2 and len(shape) == 3:
            self.tif.close()
            raise ImageError(f"{{file}}: cannot stream this TIFF layout {shape}", file=path)
        self.shape = shape
        self.dtype = np.dtype(pg.dtype)
        contiguous = pg.is_contiguous  # a bool, or (offset, bytecount) in older tifffile
        self.offset: int | None = None
        if isinstance(contiguous, tuple):
            self.offset = int(contiguous[0])
        elif contiguous and pg.compression == 1:
            self.offset = int(pg.dataoffsets[0])
        self.has_alpha = bool(getattr(pg, "extrasamples", ())) and len(shape) == 3
        self.row_values = int(np.prod(shape[1:]))

    def read(self, y0: int, y1: int) -> npt.NDArray[Any]:
        if self.offset is not None:
            offset = self.offset
            fh = self.tif.filehandle
            dt = np.dtype(self.tif.byteorder + self.dtype.char)
            fh.seek(offset + y0 * self.row_values * dt.itemsize)
            data = fh.read((y1 - y0) * self.row_values * dt.itemsize)
            if len(data) != (y1 - y0) * self.row_values * dt.itemsize:
                raise ImageError(f"{{file}}: truncated: the header promises {self.shape} "
                                 "but the file ends early", file=self.path)
            arr = np.frombuffer(data, dtype=dt).reshape((y1 - y0,) + self.shape[1:])
            return arr.astype(self.dtype, copy=False)
        return self._decode_rows(y0, y1)

    def _decode_rows(self, y0: int, y1: int) -> npt.NDArray[Any]:
        pg = self.page
        h, w = self.shape[:2]
        out = np.empty((y1 - y0,) + self.shape[1:], dtype=self.dtype)
        if pg.is_tiled:
            th, tw = pg.tilelength, pg.tilewidth
            ntx = math.ceil(w / tw)
            seg_rows = [(ty, ty * th) for ty in range(y0 // th, (y1 - 1) // th + 1)]
            indices = [(ty * ntx + tx, ty * th, tx * tw) for ty, _ in seg_rows
                       for tx in range(ntx)]
        else:
            rps = min(pg.rowsperstrip or h, h)
            indices = [(i, i * rps, 0) for i in range(y0 // rps, (y1 - 1) // rps + 1)]
        fh = self.tif.filehandle
        for index, sy, sx in indices:
            if index >= len(pg.dataoffsets):
                raise ImageError(f"{{file}}: damaged: segment {index} is missing", file=self.path)
            fh.seek(pg.dataoffsets[index])
            data = fh.read(pg.databytecounts[index])
            try:
                seg, _, _ = pg.decode(data, index, jpegtables=getattr(pg, "jpegtables", None))
            except Exception as exc:
                raise ImageError(f"{{file}}: damaged: cannot decode segment {index} "
                                 f"({exc})", file=self.path) from exc
            if seg is None:
                raise ImageError(f"{{file}}: damaged: segment {index} is empty", file=self.path)
            seg = np.asarray(seg)
            dims: tuple[int, ...] = seg.shape[-3:] if len(self.shape) == 3 else seg.shape[-3:-1]
            seg = seg.reshape(dims)
            rows = seg.shape[0]
            a0, a1 = max(sy, y0), min(sy + rows, y1, h)
            if a1 <= a0:
                continue
            cols = min(seg.shape[1], w - sx)
            out[a0 - y0 : a1 - y0, sx : sx + cols] = seg[a0 - sy : a1 - sy, :cols]
        return out

    def close(self) -> None:
        self.tif.close()

    def location(self) -> tuple[Path, int | None]:
        return self.path, self.page_index


def streamable(path: Path, page: int | None) -> bool:
    """Whether the rows of ``path`` (``page`` of it) can be read band by band by
    :func:`open_source`: a ``.npy`` file, or a TIFF page stored plainly (its samples as
    they read: not a palette, CMYK, Lab, min-is-white or compressed page)."""
    from imgconv.formats import FORMATS, plain_tiff

    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None or not fmt.streams:
        return False
    return fmt.name != "TIFF" or plain_tiff(path, page)


def open_source(path: Path, page: int | None) -> RowSource:
    """The rows of a ``.npy`` or TIFF file (a regular file: checked before any open)."""
    input_format(path)
    ext = path.suffix.lower()
    try:
        if ext == ".npy":
            return NpySource(path)
        if ext in (".tif", ".tiff"):
            return TiffSource(path, page or 0)
    except ImgconvError:
        raise
    except Exception as exc:
        raise ImageError(f"{{file}}: cannot read as an image ({exc})", file=path) from exc
    raise ImageError(f"{{file}}: {ext} files cannot be streamed", file=path)


def gather(source: RowSource, rows: npt.NDArray[np.integer[Any]], cval: float,
           dtype: type[np.floating]) -> npt.NDArray[np.floating]:
    """The listed rows of ``source`` (as ``dtype``), reading each contiguous run once;
    :data:`~imgconv.boundary.CVAL_INDEX` rows are ``cval``."""
    out = np.empty((len(rows),) + source.shape[1:], dtype=dtype)
    for run in index_runs(rows):
        if run.step is None:
            out[run.i0:run.i1] = cval
        else:
            block = source.read(run.lo, run.hi)
            out[run.i0:run.i1] = block[::-1] if run.step < 0 else block
    return out


def header_shape(path: Path, page: int | None) -> tuple[tuple[int, ...], np.dtype[Any], int]:
    """(shape, dtype, pages) of a streamable file without reading its pixels; the pixel
    guard applies to what would be decoded."""
    header = probe(path)
    guard(str(path), header, page)
    src = open_source(path, page)
    try:
        return src.shape, src.dtype, header.pages
    finally:
        src.close()
