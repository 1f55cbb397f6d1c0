"""PNG: the header probe (IHDR depth and colour type, chunk kinds) and imgconv's one PNG
writer, for every depth (8, 16 bits) and channel count (gray, gray+alpha, RGB, RGBA),
with the ICC profile (iCCP), dpi (pHYs) and EXIF (eXIf) as chunks.

The pixels are encoded by imagecodecs (libpng) with PNG's *Up* filter and zlib's
run-length strategy (``Z_RLE``) at :data:`~imgconv.formats.guard.PNG_LEVEL`: the same job
imgconv's own pigz-style encoder did, which measured only 1.05× faster in total on 8 photos
× (as is, blurred, sharpened) in ``benchmarks/formats.py --photos`` — under the 1.5× a
hand-written codec must show to stay (docs/formats.md, *PNG encoder*).  In that run: 2.5×
faster than Pillow's level-1 encode and 8 % smaller in total.
"""

from __future__ import annotations

import io
import math
import os
import struct
import zlib
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from imgconv.formats.guard import PNG_LEVEL, Meta

SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: channels -> PNG colour type: gray, gray+alpha, RGB, RGBA
_COLOUR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}


def _png_depth(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """(bit depth, colour type) from a PNG's IHDR, or None if it is not a PNG."""
    with open(path, "rb") as fh:
        head = fh.read(26)
    if len(head) < 26 or head[:8] != SIGNATURE or head[12:16] != b"IHDR":
        return None
    return head[24], head[25]


def chunk_kinds(path: str | os.PathLike[str]) -> set[bytes]:
    """The kinds of chunk a PNG holds, from their headers alone (pixel data is skipped);
    a truncated file gives the kinds up to where it ends."""
    kinds: set[bytes] = set()
    with open(path, "rb") as fh:
        fh.seek(len(SIGNATURE))
        while len(head := fh.read(8)) == 8:
            (length,), kind = struct.unpack(">I", head[:4]), head[4:]
            kinds.add(kind)
            if kind == b"IEND":
                break
            fh.seek(length + 4, os.SEEK_CUR)  # the body and its CRC
    return kinds


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
        ppm = [float(d) / 0.0254 for d in dpi[:2]]  # pixels per metre
        if all(math.isfinite(v) and 1 <= round(v) < 2**31 for v in ppm):  # else none written
            chunks += _png_chunk(b"pHYs", struct.pack(">IIB", *(round(v) for v in ppm), 1))
    exif = meta.get("exif")
    if isinstance(exif, bytes):
        chunks += _png_chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\x00\x00") else exif)
    return chunks


def write_png(fh: BinaryIO, array: npt.NDArray[np.generic], meta: Meta) -> None:
    """Write ``array`` (H×W or H×W×C with C 1 to 4; unsigned 8 or 16 bits) to ``fh`` as
    a PNG with ``meta``'s ICC profile, dpi and EXIF.

    The pixels are encoded by imagecodecs (libpng: the Up filter, zlib level
    :data:`~imgconv.formats.guard.PNG_LEVEL`, ``Z_RLE``); the metadata chunks go right
    after its IHDR."""
    import imagecodecs

    a = array if array.ndim == 3 else array[:, :, None]
    h, w, c = a.shape
    if a.dtype.kind != "u" or a.dtype.itemsize > 2 or c not in _COLOUR_TYPE or not h or not w:
        raise ValueError(f"a PNG holds 1 to 4 channels of uint8 or uint16, not {array.dtype} "
                         f"of shape {array.shape}")
    png = imagecodecs.PNG
    # native byte order, and strides as a fresh C array has them (imagecodecs checks them,
    # and numpy may give a size-1 axis any stride)
    pixels = a
    canonical = (w * c * a.itemsize, c * a.itemsize, a.itemsize)
    if not a.dtype.isnative or a.strides != canonical:
        pixels = np.empty(a.shape, a.dtype.newbyteorder("="))
        pixels[...] = a
    data = bytes(imagecodecs.png_encode(pixels if c > 1 else pixels[:, :, 0], level=PNG_LEVEL,
                                        strategy=png.STRATEGY.RLE, filter=png.FILTER.UP))
    ihdr_end = len(SIGNATURE) + 25  # length, "IHDR", 13 bytes, CRC
    fh.write(data[:ihdr_end] + _meta_chunks(meta) + data[ihdr_end:])


def _chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(kind, body) of each chunk of a PNG written by imagecodecs."""
    pos = len(SIGNATURE)
    while pos + 8 <= len(data):
        (length,), kind = struct.unpack_from(">I", data, pos), data[pos + 4:pos + 8]
        yield kind, data[pos + 8:pos + 8 + length]
        pos += 12 + length


def write_apng(fh: BinaryIO, frames: list[npt.NDArray[np.generic]], meta: Meta,
               durations: list[int], loop: int) -> None:
    """Frames of one size and type (8 or 16 bits: libpng's animation writers, Pillow's and
    OpenCV's, keep 8 only) as an animated PNG: each frame's pixels encoded by
    :func:`write_png`'s encoder, its IDAT data as the first frame's IDAT or a later
    frame's fdAT, each frame a full canvas (no disposal, source blending), ``durations`` in
    milliseconds, ``loop`` 0 for ever."""
    encoded = []
    for frame in frames:
        buf = io.BytesIO()
        write_png(buf, frame, {})
        encoded.append(list(_chunks(buf.getvalue())))
    ihdr = encoded[0][0][1]
    h, w = struct.unpack_from(">II", ihdr)[::-1]
    out = [SIGNATURE, _png_chunk(b"IHDR", ihdr), _meta_chunks(meta),
           _png_chunk(b"acTL", struct.pack(">II", len(frames), loop))]
    seq = 0
    for k, chunks in enumerate(encoded):
        delay = durations[k] if k < len(durations) else 100
        out.append(_png_chunk(b"fcTL", struct.pack(">IIIIIHHBB", seq, w, h, 0, 0,
                                                   min(delay, 65535), 1000, 0, 0)))
        seq += 1
        for kind, body in chunks:
            if kind != b"IDAT":
                continue
            if k == 0:
                out.append(_png_chunk(b"IDAT", body))
            else:
                out.append(_png_chunk(b"fdAT", struct.pack(">I", seq) + body))
                seq += 1
    out.append(_png_chunk(b"IEND", b""))
    fh.write(b"".join(out))
