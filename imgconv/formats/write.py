"""The writers of each format: ``writer(tmp, pixels, meta, pages, options)``; ``meta``
holds only what the output format carries (:func:`imgconv.formats.metadata.carried`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from imgconv.formats.guard import JPEG_QUALITY, Array, Meta, Options
from imgconv.formats.metadata import tiff_tags
from imgconv.formats.png import write_png


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
    """Every PNG through imgconv's own encoder (:func:`imgconv.formats.png.write_png`)."""
    with open(tmp, "wb") as fh:
        write_png(fh, array, meta)


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
