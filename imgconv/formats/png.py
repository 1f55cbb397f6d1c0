"""PNG by hand: the header probe (IHDR depth and colour type) and imgconv's one PNG
encoder, for every depth (8, 16 bits) and channel count (gray, gray+alpha, RGB, RGBA),
with the ICC profile (iCCP), dpi (pHYs) and EXIF (eXIf) as chunks.

The encoder filters every row by PNG's *Up* filter (the row minus the row above, byte
by byte) and deflates at :data:`~imgconv.formats.guard.PNG_LEVEL` with zlib's run-length
strategy (``Z_RLE``).  Measured on real photos and their filtered results (docs/formats.md,
*PNG encoder*): 3× faster than Pillow's and OpenCV's level-1 defaults (adaptive filters,
default strategy) and 3 % smaller in total; a blurred image, the common output, gains
most.  Rows are encoded in blocks, each compressed piece its own IDAT chunk: the memory of
one block beside the image, and no chunk near PNG's 2**31-byte limit.
"""

from __future__ import annotations

import os
import struct
import zlib
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from imgconv.formats.guard import PNG_LEVEL, Meta

SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: channels -> PNG colour type: gray, gray+alpha, RGB, RGBA
_COLOUR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}
_UP = 2  # PNG filter type 2: each byte minus the byte above it
_BLOCK_BYTES = 1 << 22  # about 4 MB of rows encoded at a time


def _png_depth(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """(bit depth, colour type) from a PNG's IHDR, or None if it is not a PNG."""
    with open(path, "rb") as fh:
        head = fh.read(26)
    if len(head) < 26 or head[:8] != SIGNATURE or head[12:16] != b"IHDR":
        return None
    return head[24], head[25]


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return (struct.pack(">I", len(body)) + kind + body
            + struct.pack(">I", zlib.crc32(body, zlib.crc32(kind)) & 0xFFFFFFFF))


def _meta_chunks(meta: Meta) -> bytes:
    """The iCCP, pHYs and eXIf chunks of ``meta``'s ICC profile, dpi and EXIF (those it has)."""
    chunks = b""
    icc = meta.get("icc_profile")
    if isinstance(icc, bytes):
        chunks += _png_chunk(b"iCCP", b"icc\x00\x00" + zlib.compress(icc))
    dpi = meta.get("dpi")
    if isinstance(dpi, tuple):
        x, y = (round(float(d) / 0.0254) for d in dpi[:2])  # pixels per metre
        chunks += _png_chunk(b"pHYs", struct.pack(">IIB", x, y, 1))
    exif = meta.get("exif")
    if isinstance(exif, bytes):
        chunks += _png_chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\x00\x00") else exif)
    return chunks


def write_png(fh: BinaryIO, array: npt.NDArray[np.generic], meta: Meta, *,
              block_bytes: int = _BLOCK_BYTES) -> None:
    """Write ``array`` (H×W or H×W×C with C 1 to 4; uint8 or uint16) to ``fh`` as a PNG
    with ``meta``'s ICC profile, dpi and EXIF (``block_bytes``: rows encoded at a time)."""
    a = array if array.ndim == 3 else array[:, :, None]
    h, w, c = a.shape
    if a.dtype not in (np.uint8, np.uint16) or c not in _COLOUR_TYPE or not h or not w:
        raise ValueError(f"a PNG holds 1 to 4 channels of uint8 or uint16, not {array.dtype} "
                         f"of shape {array.shape}")
    depth = 8 * a.dtype.itemsize
    fh.write(SIGNATURE + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth,
                                                         _COLOUR_TYPE[c], 0, 0, 0)))
    fh.write(_meta_chunks(meta))
    deflate = zlib.compressobj(PNG_LEVEL, zlib.DEFLATED, 15, 8, zlib.Z_RLE)
    step = max(1, block_bytes // (w * c * a.dtype.itemsize))
    above: npt.NDArray[np.uint8] | None = None
    for r0 in range(0, h, step):
        rows = _row_bytes(a[r0:r0 + step])
        filtered = np.empty((rows.shape[0], rows.shape[1] + 1), np.uint8)
        filtered[:, 0] = _UP
        np.subtract(rows[1:], rows[:-1], out=filtered[1:, 1:])  # uint8: modulo 256
        filtered[0, 1:] = rows[0] if above is None else rows[0] - above
        above = rows[-1].copy()
        data = deflate.compress(filtered.data)
        if data:
            fh.write(_png_chunk(b"IDAT", data))
    fh.write(_png_chunk(b"IDAT", deflate.flush()) + _png_chunk(b"IEND", b""))


def _row_bytes(block: npt.NDArray[np.generic]) -> npt.NDArray[np.uint8]:
    """Rows of samples as PNG stores them: bytes, 16-bit samples big-endian."""
    n = block.shape[0]
    if block.dtype == np.uint16:
        block = np.ascontiguousarray(block, dtype=">u2")
    else:
        block = np.ascontiguousarray(block)
    return block.reshape(n, -1).view(np.uint8)
