"""The canvas a GIF's frames declare, from their descriptors alone (no pixel decoded).

Pillow grows a GIF's canvas to hold every frame: a 1×1 GIF whose second frame claims
65535×65535 pixels becomes a 4-gigapixel image when that frame is reached.  The pixel guard
(:func:`imgconv.formats.guard.guard`) counts that canvas for every frame, so the frame
descriptors are walked here first: the logical screen, then each image descriptor's
``left + width`` and ``top + height``.
"""

from __future__ import annotations

import struct
from pathlib import Path

#: no GIF's descriptors are walked past this many bytes (a guard, not a limit on images)
_MAX_SCAN = 1 << 30


def gif_canvas(p: Path) -> tuple[int, int] | None:
    """(height, width) of the largest canvas Pillow draws a GIF's frames on, or None when
    the file is not a GIF it can walk (Pillow then reports what is wrong)."""
    with open(p, "rb") as fh:
        data = fh.read(_MAX_SCAN)
    if len(data) < 13 or data[:3] != b"GIF":
        return None
    width, height, flags = struct.unpack_from("<HHB", data, 6)
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    while pos < len(data):
        block = data[pos]
        if block == 0x3B:  # trailer
            break
        if block == 0x21:  # extension: label, then sub-blocks
            pos = _skip_blocks(data, pos + 2)
        elif block == 0x2C:  # image descriptor
            if pos + 10 > len(data):
                break
            left, top, w, h, local = struct.unpack_from("<HHHHB", data, pos + 1)
            width, height = max(width, left + w), max(height, top + h)
            pos += 10 + (3 << ((local & 7) + 1) if local & 0x80 else 0)
            pos = _skip_blocks(data, pos + 1)  # LZW minimum code size, then the data
        else:
            break  # not a block: the rest is not read by Pillow either
    return height, width


def _skip_blocks(data: bytes, pos: int) -> int:
    """The position after a chain of sub-blocks (each a length byte, 0 ends it)."""
    while pos < len(data):
        size = data[pos]
        pos += 1 + size
        if size == 0:
            break
    return pos
