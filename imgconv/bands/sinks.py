"""Row sinks: a result written band by band (``.npy``, tiled TIFF)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from imgconv.formats import Meta, tiff_tags

TILE = 256  # output TIFF tile side

class NpySink:
    """A ``.npy`` file written row band by row band."""

    def __init__(self, path: str, shape: tuple[int, ...], dtype: np.dtype[Any]):
        self.shape, self.dtype = shape, dtype
        self.fh: BinaryIO = open(path, "wb")  # noqa: SIM115 - closed by close()
        np.lib.format.write_array_header_2_0(
            self.fh, {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False,
                      "shape": shape})
        self.fh.truncate(self.fh.tell() + int(np.prod(shape)) * dtype.itemsize)

    def write(self, y0: int, rows: npt.NDArray[Any]) -> None:
        row = int(np.prod(self.shape[1:])) * self.dtype.itemsize
        self.fh.seek(len(self._header()) + y0 * row)
        self.fh.write(np.ascontiguousarray(rows, dtype=self.dtype).tobytes())

    def _header(self) -> bytes:
        import io

        buf = io.BytesIO()
        np.lib.format.write_array_header_2_0(
            buf, {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False,
                  "shape": self.shape})
        return buf.getvalue()

    def close(self) -> None:
        self.fh.close()


def tiff_tiles(bands: Iterator[npt.NDArray[Any]], shape: tuple[int, ...],
                dtype: np.dtype[Any]) -> Iterator[npt.NDArray[Any]]:
    """Re-cut bands of TILE rows into TILE×TILE tiles, row-major, edges zero-padded."""
    w = shape[1]
    for band in bands:
        for x in range(0, w, TILE):
            tile = np.zeros((TILE, TILE) + shape[2:], dtype=dtype)
            block = band[:, x : x + TILE]
            tile[: block.shape[0], : block.shape[1]] = block
            yield tile


def rebanded(pieces: Iterator[npt.NDArray[np.floating]],
              done: Callable[[npt.NDArray[np.floating]], npt.NDArray[Any]],
              ) -> Iterator[npt.NDArray[Any]]:
    """Finished bands of exactly TILE rows (the last may be shorter), for the TIFF tiles."""
    pending: npt.NDArray[Any] | None = None
    for piece in pieces:
        fin = done(piece)
        buf = fin if pending is None else np.concatenate([pending, fin])
        while buf.shape[0] >= TILE:
            yield buf[:TILE]
            buf = buf[TILE:]
        pending = buf if buf.shape[0] else None
    if pending is not None:
        yield pending


def write_stream(tmp: str, ext: str, shape: tuple[int, ...], dtype: np.dtype[Any],
                  bands: Iterator[npt.NDArray[Any]], alpha: bool = False,
                  meta: Meta | None = None) -> None:
    """Stream ``bands`` into ``tmp`` (``.npy``, or a tiled TIFF carrying ``meta``: its ICC
    profile, resolution and EXIF tags as :func:`imgconv.formats.tiff_tags` spells them)."""
    if ext == ".npy":
        sink = NpySink(tmp, shape, dtype)
        try:
            y = 0
            for b in bands:
                sink.write(y, b)
                y += b.shape[0]
        finally:
            sink.close()
        return
    import tifffile

    rgb = len(shape) == 3 and shape[2] in (3, 4)
    with tifffile.TiffWriter(tmp, bigtiff=int(np.prod(shape)) * dtype.itemsize > 2**31) as tw:
        tw.write(tiff_tiles(bands, shape, dtype), shape=shape, dtype=dtype,
                 tile=(TILE, TILE), photometric="rgb" if rgb else "minisblack",
                 extrasamples=("unassalpha",) if (rgb and shape[2] == 4) or alpha and
                 len(shape) == 3 and shape[2] == 2 else None, **tiff_tags(meta or {}))
