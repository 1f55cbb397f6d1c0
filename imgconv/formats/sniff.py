"""An image's format from its first bytes (for standard input, which has no name)."""

from __future__ import annotations

#: (leading bytes, extension), in the order they are tried
SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", ".png"),
    (b"\xff\xd8\xff", ".jpg"),
    (b"II*\x00", ".tif"), (b"MM\x00*", ".tif"),  # classic TIFF, little/big endian
    (b"II+\x00", ".tif"), (b"MM\x00+", ".tif"),  # BigTIFF
    (b"GIF87a", ".gif"), (b"GIF89a", ".gif"),
    (b"BM", ".bmp"),
    (b"\x93NUMPY", ".npy"),
)


def sniff(head: bytes) -> str | None:
    """The extension of the format whose signature ``head`` starts with, or None."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ".webp"
    return next((ext for sig, ext in SIGNATURES if head.startswith(sig)), None)
