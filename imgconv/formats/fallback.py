"""The reader of last resort, for an extension neither the format table nor Pillow knows
(docs/formats.md): Pillow when it identifies the content, else ``imageio.v3``.

imageio is imported only here, only then (it costs ~25 ms of start-up that no other run
pays).  It reads what its installed plugins read — FITS with astropy, DICOM with pydicom,
EXR and video frames with their plugins — and a file none of them reads is refused in one
line naming what would read it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from imgconv.errors import ImageError
from imgconv.formats.guard import Header, Image
from imgconv.formats.libs import quiet_opencv

#: what to install for the formats users ask about that only an imageio plugin reads
_PLUGINS = {".dcm": "pydicom", ".dicom": "pydicom", ".exr": "imageio[freeimage] or OpenEXR",
            ".hdr": "imageio[freeimage]", ".fts": "astropy", ".heic": "pillow-heif",
            ".heif": "pillow-heif", ".avif": "pillow-avif-plugin", ".jxl": "pillow-jxl-plugin",
            ".mp4": "imageio[pyav]", ".mov": "imageio[pyav]", ".avi": "imageio[pyav]",
            **{e: "rawpy (then develop the raw file)" for e in (".cr2", ".nef", ".dng", ".arw")}}


def _refusal(p: Path, why: str) -> ImageError:
    if re.search(r"truncated|broken data stream", why, re.IGNORECASE):  # a reader knew it
        return ImageError(f"{{file}}: cannot read as an image ({why}): the file is damaged; "
                          "re-export it", file=p)
    ext = p.suffix.lower() or "(none)"
    hint = _PLUGINS.get(p.suffix.lower())
    what = (f"pip install {hint}, or convert it to PNG or TIFF" if hint else
            "convert it to PNG or TIFF, or rename it if the extension is wrong")
    return ImageError(f"{{file}}: no reader for {ext} files (neither Pillow nor imageio reads it: "
                      f"{why}): {what}", file=p)


def _imageio() -> Any:
    try:
        import imageio.v3 as iio
    except ImportError:  # a broken install: say what is missing
        raise ImageError("imageio is not installed: pip install imageio") from None
    return iio


def _pillow_knows(p: Path) -> bool:
    """True when Pillow identifies the file by its content (whatever its extension)."""
    from PIL import UnidentifiedImageError

    from imgconv.formats.libs import using_pillow

    try:
        with using_pillow(checked=False) as PILImage, PILImage.open(p, formats=None):
            return True
    except UnidentifiedImageError:
        return False
    except Exception:  # noqa: BLE001 - identified, but broken: Pillow's reader says how
        return True


def probe_imageio(p: Path) -> Header:
    """The header of a file of an extension no table names: Pillow's when it identifies
    the content (a SPIDER file, a PCX named .bin), else what imageio's plugin reports."""
    if _pillow_knows(p):
        from imgconv.formats.read import _probe_pillow

        return _probe_pillow(p)
    iio = _imageio()
    try:
        with quiet_opencv():
            props = iio.improps(p)
    except Exception as exc:  # every plugin's own way of saying "not mine"
        raise _refusal(p, _first_line(exc)) from None
    shape = tuple(int(n) for n in props.shape)
    frames = int(props.n_images) if props.is_batch and props.n_images else 1
    core = shape[1:] if props.is_batch else shape
    if len(core) < 2:
        raise ImageError(f"{{file}}: holds no image (shape {shape})", file=p)
    channels = int(core[2]) if len(core) > 2 else 1
    return Header(((int(core[0]), int(core[1]), channels),), frames, False,
                  str(np.dtype(props.dtype)))


def read_imageio(p: Path, page: int | None, keep: tuple[str, ...] = ()) -> Image:
    """The image (``page``: one of its frames) as Pillow decodes it when it identifies the
    content, else as imageio's plugin does."""
    if _pillow_knows(p):
        from imgconv.formats.read import _read_pillow

        return _read_pillow(p, page, keep)
    iio = _imageio()
    try:
        with quiet_opencv():
            if page is not None:
                arr = np.asarray(iio.imread(p, index=page))
                frames = 1
            else:
                props = iio.improps(p)
                arr = np.asarray(iio.imread(p, index=None if props.is_batch else 0))
                frames = int(arr.shape[0]) if props.is_batch else 1
    except Exception as exc:
        raise _refusal(p, _first_line(exc)) from None
    if frames == 1 and arr.ndim == 4:
        arr = arr[0]
    core = arr.shape[1:] if frames > 1 else arr.shape
    alpha = len(core) == 3 and core[2] in (2, 4)
    return Image(np.ascontiguousarray(arr), str(p), has_alpha=alpha, pages=frames)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
