"""The writers of each format: ``writer(tmp, pixels, meta, pages, options)``; ``meta``
holds only what the output format carries (:func:`imgconv.formats.metadata.carried`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from imgconv.formats.guard import JPEG_QUALITY, PNG_LEVEL, Array, Meta, Options
from imgconv.formats.metadata import tiff_tags
from imgconv.formats.png import _png_gray_alpha16, with_chunks


def _write_npy(tmp: str, array: Array, meta: Meta, pages: int, options: Options) -> None:
    with open(tmp, "wb") as fh:
        np.save(fh, array, allow_pickle=False)


def _write_tiff(tmp: str, array: Array, meta: Meta, pages: int, options: Options) -> None:
    import tifffile

    core = array.shape[1:] if pages > 1 else array.shape
    rgb = len(core) == 3 and core[2] in (3, 4)
    tifffile.imwrite(tmp, array, photometric="rgb" if rgb else "minisblack",
                     extrasamples=("unassalpha",) if rgb and core[2] == 4 else None,
                     planarconfig="contig" if len(core) == 3 else None, **tiff_tags(meta))


def _write_png(tmp: str, array: Array, meta: Meta, pages: int, options: Options) -> None:
    """8-bit and 16-bit gray through Pillow; 16-bit colour through OpenCV (Pillow cannot),
    16-bit gray+alpha encoded here (neither can); its ICC profile, dpi and EXIF as chunks."""
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
    with open(tmp, "wb") as fh:
        fh.write(with_chunks(png, meta))


def _write_pillow(tmp: str, array: Array, meta: Meta, pages: int, options: Options, *,
                  fmt: str, **fixed: Any) -> None:
    """Through Pillow; ``options["quality"]`` (1..100) for JPEG (default
    :data:`JPEG_QUALITY`) and WebP (lossy at that quality; without it, lossless).

    A stack of ``pages`` > 1 frames is written as one animation (GIF, WebP), with
    ``options["duration"]`` (ms, one a frame) and ``options["loop"]`` when given."""
    from PIL import Image as PILImage

    keep: dict[str, Any] = {k: meta[k] for k in ("icc_profile", "dpi", "exif") if k in meta}
    quality = options.get("quality")
    if fmt == "JPEG":
        fixed["quality"] = quality or JPEG_QUALITY
    elif fmt == "WEBP":
        fixed.update({"lossless": True} if quality is None else {"quality": quality})
    if pages <= 1:
        PILImage.fromarray(np.ascontiguousarray(array)).save(tmp, format=fmt, **keep, **fixed)
        return
    frames = [PILImage.fromarray(np.ascontiguousarray(a)) for a in array]
    timing = {k: options[k] for k in ("duration", "loop") if k in options}
    frames[0].save(tmp, format=fmt, save_all=True, append_images=frames[1:], **timing,
                   **keep, **fixed)
