"""Metadata from input to output (docs/semantics.md §7): EXIF orientation, ICC profile,
resolution, EXIF.

A reader puts what the file holds into ``Image.meta``: ``icc_profile`` (bytes), ``dpi``
(x, y) and ``exif`` (EXIF bytes as Pillow writes them, ``Exif\\0\\0`` first).
:func:`orient` turns the pixels upright by the EXIF orientation, as a viewer shows them
(ImageMagick's ``-auto-orient``, Pillow's ``ImageOps.exif_transpose``), and resets the tag
to 1.  :func:`carried` keeps what the output format's ``metadata`` field (the format
table) says it holds and says what could not be carried; writers write what they are given.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from imgconv.errors import Message, verbatim
from imgconv.formats.guard import Meta

#: each kind of metadata carried, as notes name it
METADATA: dict[str, str] = {"icc_profile": "ICC profile", "dpi": "resolution (dpi)",
                            "exif": "EXIF"}
ORIENTATION = 274  # the EXIF / TIFF orientation tag
#: the key of ``Meta`` naming metadata the input holds but that could not be read
DAMAGED = "damaged"
_EXIF_IFD = 0x8769
#: IFD0 tags a TIFF carries as its own tags: Make, Model, Orientation, DateTime, Artist,
#: Copyright (not Software, which tifffile writes; EXIF's sub-IFDs are not written into TIFF)
TIFF_EXIF_TAGS: dict[int, str] = {271: "s", 272: "s", 274: "H", 306: "s", 315: "s",
                                  33432: "s"}


def pillow_meta(im: Any, *, exif: bool = True) -> Meta:
    """The ICC profile, dpi and EXIF of an open Pillow image (those it holds; no EXIF is
    looked for without ``exif``: Pillow decodes a whole PNG to look for one)."""
    meta: Meta = {k: im.info[k] for k in ("icc_profile", "dpi") if im.info.get(k)}
    if not exif:
        return meta
    try:
        tags = im.getexif()
        if len(tags):
            meta["exif"] = tags.tobytes()
    except Exception:  # noqa: BLE001 - damaged EXIF: the pixels are still readable
        meta[DAMAGED] = "EXIF"  # said by carried(), which writes what it can
    return meta


def tiff_meta(page: Any) -> Meta:
    """The ICC profile (tag 34675), resolution and EXIF tags of a tifffile page."""
    tags = page.tags
    meta: Meta = {}
    icc = tags.get(34675)
    if icc is not None and icc.value:
        meta["icc_profile"] = bytes(icc.value)
    unit = tags.get(296)
    scale = {2: 1.0, 3: 2.54}.get(int(unit.value) if unit is not None else 2)
    xr, yr = tags.get(282), tags.get(283)
    if scale is not None and xr is not None and yr is not None:
        x, y = (_ratio(t.value) * scale for t in (xr, yr))
        if x > 0 and y > 0 and (x, y) != (1.0, 1.0):
            meta["dpi"] = (x, y)
    exif = _exif_of({code: tags[code].value for code in TIFF_EXIF_TAGS if code in tags})
    if exif is not None:
        meta["exif"] = exif
    return meta


def _ratio(value: Any) -> float:
    if isinstance(value, tuple):
        return float(value[0]) / float(value[1]) if value[1] else 0.0
    return float(value)


def _exif_of(tags: dict[int, Any]) -> bytes | None:
    from PIL import Image as PILImage

    if not tags:
        return None
    exif = PILImage.Exif()
    for code, value in tags.items():
        exif[code] = int(value) if code == ORIENTATION else str(value)
    return bytes(exif.tobytes())


def orientation(meta: Meta) -> int:
    """The EXIF orientation (1 to 8) in ``meta``; 1 when absent or not 1..8."""
    raw = meta.get("exif")
    if not isinstance(raw, bytes):
        return 1
    from PIL import Image as PILImage

    exif = PILImage.Exif()
    try:
        exif.load(raw)
        value = int(exif.get(ORIENTATION, 1))
    except Exception:
        return 1
    return value if 1 <= value <= 8 else 1


def with_orientation(raw: bytes, value: int) -> bytes:
    """EXIF bytes with the orientation set to ``value``, every other tag as it was."""
    from PIL import Image as PILImage

    exif = PILImage.Exif()
    exif.load(raw)
    exif.get_ifd(_EXIF_IFD)  # keep the camera's sub-IFD (loaded, so written back)
    exif[ORIENTATION] = value
    return bytes(exif.tobytes())


def upright(array: np.ndarray[Any, Any], value: int, stacked: bool = False,
            ) -> np.ndarray[Any, Any]:
    """Pixels stored under EXIF orientation ``value`` as they are shown (Pillow's
    ``exif_transpose``): rows and columns are the axes after a leading page axis."""
    y, x = (1, 2) if stacked else (0, 1)
    turned = {
        2: lambda a: np.flip(a, x),
        3: lambda a: np.flip(np.flip(a, y), x),
        4: lambda a: np.flip(a, y),
        5: lambda a: np.swapaxes(a, y, x),
        6: lambda a: np.rot90(a, -1, axes=(y, x)),
        7: lambda a: np.flip(np.rot90(a, -1, axes=(y, x)), y),
        8: lambda a: np.rot90(a, 1, axes=(y, x)),
    }.get(value)
    return array if turned is None else np.ascontiguousarray(turned(array))


def orient(array: np.ndarray[Any, Any], meta: Meta, stacked: bool,
           auto_orient: bool) -> np.ndarray[Any, Any]:
    """``array`` turned upright by the orientation in ``meta`` (whose EXIF then says 1);
    as it is with ``auto_orient`` False (the tag copied as it is)."""
    value = orientation(meta)
    if not auto_orient or value == 1:
        return array
    meta["exif"] = with_orientation(meta["exif"], 1)  # type: ignore[arg-type]
    return upright(array, value, stacked)


def carried(meta: Meta, holds: tuple[str, ...], target: str, fmt: str, *,
            strip: bool = False) -> tuple[Meta, list[str]]:
    """What of ``meta`` an output format that ``holds`` those kinds carries, and notes
    naming what it cannot and what the input held damaged (``strip``: nothing carried, no
    note)."""
    if strip:
        return {}, []
    kept = {k: v for k, v in meta.items() if k in holds}
    lost = [METADATA[k] for k in meta if k in METADATA and k not in holds]
    notes = [f"{target}: the input's {meta[DAMAGED]} is damaged and could not be read: not "
             "carried"] if DAMAGED in meta else []
    if lost:
        notes.append(Message(f"{verbatim(target)}: a {fmt} file cannot hold the input's "
                             f"{' and '.join(lost)}: not carried ({{strip}} drops all metadata "
                             "without this note)",
                             {"strip": True}))
    return kept, notes


def tiff_tags(meta: Meta) -> dict[str, Any]:
    """tifffile's write arguments for ``meta``: ``resolution``, ``iccprofile`` and the
    EXIF tags of :data:`TIFF_EXIF_TAGS` as ``extratags``; nothing for empty ``meta``."""
    kw: dict[str, Any] = {}
    dpi = meta.get("dpi")
    if isinstance(dpi, tuple):
        kw["resolution"] = (float(dpi[0]), float(dpi[1]))
        kw["resolutionunit"] = 2  # inch
    icc = meta.get("icc_profile")
    if isinstance(icc, bytes):
        kw["iccprofile"] = icc
    raw = meta.get("exif")
    if isinstance(raw, bytes):
        from PIL import Image as PILImage

        exif = PILImage.Exif()
        exif.load(raw)
        extra = []
        for code, kind in TIFF_EXIF_TAGS.items():
            if code in exif:
                value = int(exif[code]) if kind == "H" else str(exif[code])
                extra.append((code, kind, 1 if kind == "H" else 0, value, True))
        if extra:
            kw["extratags"] = extra
    return kw
