"""PNG by hand where Pillow and OpenCV fall short: the IHDR depth, chunks, 16-bit
gray+alpha, and ancillary chunks (iCCP, pHYs, eXIf) inserted into an encoded PNG."""

from __future__ import annotations

import os

import numpy as np
import numpy.typing as npt

from imgconv.formats.guard import PNG_LEVEL, Meta


def _png_depth(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """(bit depth, colour type) from a PNG's IHDR, or None if it is not a PNG."""
    with open(path, "rb") as fh:
        head = fh.read(26)
    if len(head) < 26 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return head[24], head[25]


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


def with_chunks(png: bytes, meta: Meta) -> bytes:
    """An encoded PNG with the ICC profile (iCCP), dpi (pHYs) and EXIF (eXIf) of ``meta``
    inserted after its IHDR chunk; as it is when ``meta`` holds none of them."""
    import struct
    import zlib

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
    end_ihdr = 8 + 4 + 4 + 13 + 4  # signature, length, type, IHDR data, CRC
    return png[:end_ihdr] + chunks + png[end_ihdr:]
