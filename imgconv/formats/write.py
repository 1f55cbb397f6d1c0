"""The writers of each format: ``writer(tmp, pixels, meta, pages, options)``; ``meta``
holds only what the output format carries (:func:`imgconv.formats.metadata.carried`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from imgconv.formats.guard import JPEG_QUALITY, Array, Meta, Options
from imgconv.formats.png import write_apng, write_png


def _write_npy(tmp: str, array: Array, meta: Meta, pages: int, options: Options) -> None:
    with open(tmp, "wb") as fh:
        np.save(fh, array, allow_pickle=False)


def _write_opencv(tmp: str, array: Array, meta: Meta, pages: int, options: Options, *,
                  ext: str) -> None:
    """PPM/PGM/PNM (8 or 16 bits) and PFM through OpenCV's encoder (``ext`` picks it:
    the temporary file's own name says nothing); colour handed over as OpenCV's BGR."""
    import cv2

    arr: Any = np.ascontiguousarray(array)
    if ext == ".ppm" and arr.ndim == 2:
        ext = ".pgm"  # a .pnm output of grey pixels: P5
    if arr.ndim == 3 and arr.shape[2] == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(ext, arr)
    if not ok:
        raise ValueError(f"OpenCV could not encode {arr.dtype} {arr.shape} as {ext}")
    with open(tmp, "wb") as fh:
        fh.write(data.tobytes())


def _write_qoi(tmp: str, array: Array, meta: Meta, pages: int, options: Options) -> None:
    """QOI (8-bit RGB or RGBA, lossless) through imagecodecs."""
    import imagecodecs

    with open(tmp, "wb") as fh:
        fh.write(imagecodecs.qoi_encode(np.ascontiguousarray(array)))


def _write_png(tmp: str, array: Array, meta: Meta, pages: int, options: Options) -> None:
    """A PNG through :func:`imgconv.formats.png.write_png`; a stack of ``pages`` > 1 frames
    as an animated PNG (:func:`imgconv.formats.png.write_apng`, 8 or 16 bits) with
    ``options["duration"]`` and ``["loop"]``."""
    if pages <= 1:
        with open(tmp, "wb") as fh:
            write_png(fh, array, meta)
        return
    duration = options.get("duration")
    with open(tmp, "wb") as fh:
        write_apng(fh, list(array), meta, list(duration) if isinstance(duration, list) else [],
                   int(options.get("loop", 0) or 0))


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
