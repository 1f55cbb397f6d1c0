"""Colour spaces other than grey and RGB: kept as they are, or converted as Pillow converts
them (docs/formats.md, "Colour spaces"; docs/semantics.md §7).

A reader that meets CMYK, CIE L*a*b*, min-is-white, associated (premultiplied) alpha,
YCbCr or a palette either keeps the values in their own space — when the output format
holds that space (the format table's ``spaces``: a TIFF keeps CMYK, Lab, min-is-white and
premultiplied alpha, with the same photometric) — or converts them to RGB or grey exactly as
Pillow does (Pillow's decoded pixels are the reference), with a note.  Nothing is ever
written as if it were RGB when it is not.

Kept spaces, as :attr:`imgconv.formats.guard.Image.space` names them:

- ``cmyk``: four ink channels (plus any alpha), filtered channel by channel;
- ``lab``: CIE L*a*b* held as ICC's 8-bit Lab encoding (L*, a*+128, b*+128): the TIFF
  stores a* and b* as signed bytes, which are turned into this offset form on reading and
  back on writing, so an identity filter gives the stored bytes back;
- ``miniswhite``: grey where 0 is white, the stored values as they are;
- ``premultiplied``: colour multiplied by alpha (a TIFF's associated alpha), as stored.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

Pixels = npt.NDArray[Any]

#: every kept space and how a note names it
SPACES: dict[str, str] = {"cmyk": "CMYK", "lab": "CIE L*a*b*", "miniswhite": "min-is-white grey",
                          "premultiplied": "premultiplied (associated) alpha"}


def note(name: str, space: str, into: str) -> str:
    """The note of a conversion: which space, into what, and how to keep it."""
    keep = (f" (a .tif output keeps the {SPACES[space]} values)" if space in SPACES else "")
    return f"{name}: {_NAMES.get(space, space)} converted to {into} as Pillow converts it{keep}"


_NAMES = {**SPACES, "palette": "a palette (colour map)", "ycbcr": "YCbCr"}


def _top(arr: Pixels) -> float:
    return float(np.iinfo(arr.dtype).max) if arr.dtype.kind in "ui" else 1.0


def _pillow(arr: Pixels, mode: str, into: str, raw: str | None = None) -> Pixels:
    """8-bit pixels through Pillow's own conversion (``raw``: the raw mode they are in)."""
    from PIL import Image as PILImage

    h, w = arr.shape[:2]
    im = PILImage.frombuffer(mode, (w, h), np.ascontiguousarray(arr).tobytes(), "raw",
                             raw or mode, 0, 1)
    return np.asarray(im.convert(into) if into != mode else im).copy()


def cmyk_to_rgb(arr: Pixels) -> Pixels:
    """CMYK (and any alpha after it) as Pillow's ``convert("RGB")``:
    ``(max − c)·(max − k) / max``, rounded; an alpha channel kept after it."""
    inks, extra = arr[..., :4], arr[..., 4:5]
    if arr.dtype == np.uint8:
        rgb = _pillow(inks, "CMYK", "RGB")
    else:
        top = _top(arr)
        f = inks.astype(np.float64)
        rgb = (top - f[..., :3]) * (top - f[..., 3:4]) / top
        rgb = np.rint(rgb).astype(arr.dtype) if arr.dtype.kind in "ui" else rgb.astype(arr.dtype)
    return np.concatenate([rgb, extra], axis=-1) if extra.size else rgb


def lab_from_stored(arr: Pixels) -> Pixels:
    """A TIFF's CIELAB bytes (a*, b* signed) as ICC 8-bit Lab (a*, b* + 128)."""
    out = np.array(arr, dtype=np.uint8, copy=True)
    out[..., 1:3] ^= 0x80
    return out


def lab_to_stored(arr: Pixels) -> Pixels:
    """ICC 8-bit Lab back to a TIFF's CIELAB bytes: the inverse of :func:`lab_from_stored`."""
    return lab_from_stored(arr)


def lab_to_rgb(arr: Pixels) -> Pixels:
    """ICC 8-bit Lab (as :func:`lab_from_stored` gives) as sRGB, by Pillow's conversion
    (LittleCMS, D50 Lab to sRGB); an alpha channel kept after it."""
    stored = lab_to_stored(arr[..., :3])
    rgb = _pillow(stored, "LAB", "RGB")
    return np.concatenate([rgb, arr[..., 3:4]], axis=-1) if arr.shape[-1] > 3 else rgb


def invert(arr: Pixels) -> Pixels:
    """Min-is-white grey as min-is-black (Pillow shows it so): ``max − v``."""
    if arr.dtype == np.bool_:
        return ~arr
    if arr.dtype.kind == "f":
        return (1.0 - arr).astype(arr.dtype)
    if arr.dtype.kind == "i":  # signed: the mirror image of the range
        return (-1 - arr.astype(np.int64)).astype(arr.dtype)
    return (np.iinfo(arr.dtype).max - arr).astype(arr.dtype)


def unpremultiply(arr: Pixels) -> Pixels:
    """Colour premultiplied by its last (alpha) channel as plain colour, as Pillow's
    ``RGBa`` → ``RGBA``: ``c·max / a`` (integer division, clipped; 0 where a = 0)."""
    if arr.dtype == np.uint8 and arr.shape[-1] in (2, 4):
        return _unpremultiply_pillow(arr, "RGBa" if arr.shape[-1] == 4 else "La")
    top = _top(arr)
    a = arr[..., -1:].astype(np.float64)
    c = arr[..., :-1].astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        plain = np.where(a > 0, c * top / np.where(a > 0, a, 1), 0.0)
    if arr.dtype.kind in "ui":
        plain = np.clip(np.floor(plain), 0, top)
    return np.concatenate([plain.astype(arr.dtype), arr[..., -1:]], axis=-1)


def _unpremultiply_pillow(arr: Pixels, raw: str) -> Pixels:
    from PIL import Image as PILImage

    h, w = arr.shape[:2]
    mode = "RGBA" if raw == "RGBa" else "LA"
    if mode == "LA":  # Pillow has no "La" raw mode for LA: do it through RGBa
        rgba = np.concatenate([np.repeat(arr[..., :1], 3, axis=-1), arr[..., 1:]], axis=-1)
        return _unpremultiply_pillow(rgba, "RGBa")[..., [0, 3]]
    im = PILImage.frombuffer(mode, (w, h), np.ascontiguousarray(arr).tobytes(), "raw", raw, 0, 1)
    return np.asarray(im).copy()


def ycbcr_to_rgb(arr: Pixels) -> Pixels:
    """YCbCr (8-bit, full range, as JPEG and Pillow use it) as RGB by Pillow's conversion."""
    rgb = _pillow(arr[..., :3].astype(np.uint8), "YCbCr", "RGB")
    return np.concatenate([rgb, arr[..., 3:4]], axis=-1) if arr.shape[-1] > 3 else rgb


def palette_to_rgb(index: Pixels, colormap: Pixels) -> Pixels:
    """A TIFF's palette indices as RGB: its 16-bit colour map scaled to 8 bits as Pillow
    does (``value >> 8``) for indices of 8 bits or fewer; 16-bit colours for 16-bit
    indices."""
    cmap = np.asarray(colormap)
    cmap = (cmap >> 8).astype(np.uint8) if index.dtype.itemsize <= 1 else cmap.astype(np.uint16)
    return np.ascontiguousarray(np.moveaxis(cmap, 0, -1)[index.astype(np.intp)])


def scale_bits(arr: Pixels, bits: int) -> Pixels:
    """Samples of 1 to 7 bits scaled to the whole 8-bit range as Pillow does
    (``v·255 / (2**bits − 1)``: 1-bit to 0/255, 4-bit ×17); wider ones kept."""
    if bits >= 8 or arr.dtype.kind not in "ub":
        return arr
    top = (1 << bits) - 1
    return np.rint(arr.astype(np.float64) * (255.0 / top)).astype(np.uint8)


def to_common(space: str, arr: Pixels) -> Pixels:
    """The pixels of a kept ``space`` converted to RGB or grey as Pillow converts them."""
    convert: dict[str, Any] = {"cmyk": cmyk_to_rgb, "lab": lab_to_rgb, "miniswhite": invert,
                               "premultiplied": unpremultiply, "ycbcr": ycbcr_to_rgb}
    return np.ascontiguousarray(convert[space](arr))


def into(space: str, channels: int) -> str:
    """What :func:`to_common` gives: "RGB", "RGBA", "grey"..., for the note."""
    if space == "miniswhite":
        return "grey"
    if space == "premultiplied":
        return "plain alpha"
    return "RGBA" if channels in (2, 5) or (space != "cmyk" and channels == 4) else "RGB"
