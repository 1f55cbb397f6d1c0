"""Images for display in the report (the files written keep the real values).

uint8 as is; uint16 by its top 8 bits (``v >> 8``); float (and any other dtype) by a
linear stretch of its finite ``min .. max`` to ``0 .. 255`` (A and B share one range so
that they can be compared; NaN shows black); the alpha channel is not shown.  Images
larger than :data:`DISPLAY_LIMIT` pixels a side are shown reduced by an integer factor
(block mean for images, block maximum of ``|A - B|`` for the difference maps, so that
no differing pixel disappears).
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from imgconv.errors import ImgconvError

__all__ = [
    "DISPLAY_LIMIT",
    "data_uri",
    "difference",
    "display_image",
    "display_range",
    "shrink_abs",
    "shrink_factor",
    "shrink_mean",
    "shrink_signed",
]

#: Images larger than this (pixels a side) are shown reduced in the HTML page.
DISPLAY_LIMIT = 1600


def difference(a_float: npt.ArrayLike, b_float: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """``A - B`` in float64; A and B must have one shape."""
    fa = np.asarray(a_float, dtype=np.float64)
    fb = np.asarray(b_float, dtype=np.float64)
    if fa.shape != fb.shape:
        raise ImgconvError(f"cannot draw the difference of shapes {fa.shape} and {fb.shape}")
    return fa - fb


def _colour_channels(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Drop alpha: H x W stays, 1 -> H x W, 2 -> gray, 3 stays, 4 -> RGB."""
    if a.ndim == 3:
        c = a.shape[2]
        if c == 1 or c == 2:
            return a[:, :, 0]
        return a[:, :, :3]
    return a


def display_range(*arrays: npt.ArrayLike) -> tuple[float, float]:
    """The finite ``(min, max)`` over ``arrays`` (colour channels only); ``(0, 0)`` if none."""
    lo, hi = math.inf, -math.inf
    for arr in arrays:
        a = _colour_channels(np.asarray(arr))
        if a.dtype.kind not in "biuf":
            continue
        f = a[np.isfinite(a)] if a.dtype.kind == "f" else a.ravel()
        if f.size:
            lo, hi = min(lo, float(f.min())), max(hi, float(f.max()))
    return (0.0, 0.0) if lo > hi else (lo, hi)


def display_image(array: npt.ArrayLike, *, lo: float | None = None,
                  hi: float | None = None) -> npt.NDArray[np.uint8]:
    """An image as uint8 for display (H x W gray or H x W x 3 RGB, alpha dropped).

    uint8 as is; bool as 0/255; uint16 by its top 8 bits (``v >> 8``); any other dtype
    (float, other integers) by stretching ``lo .. hi`` (default: its finite min .. max)
    linearly to ``0 .. 255``, clipped; NaN and a constant image show black.
    """
    a = _colour_channels(np.asarray(array))
    if a.dtype == np.uint8:
        return np.ascontiguousarray(a)
    if a.dtype == np.bool_:
        return np.where(a, 255, 0).astype(np.uint8)
    if a.dtype == np.uint16:
        return (a >> 8).astype(np.uint8)
    f = a.astype(np.float64)
    if lo is None or hi is None:
        r_lo, r_hi = display_range(f)
        lo = r_lo if lo is None else lo
        hi = r_hi if hi is None else hi
    span = hi - lo
    with np.errstate(invalid="ignore"):
        scaled = (f - lo) * (255.0 / span) if span > 0 else np.zeros_like(f)
    scaled = np.where(np.isfinite(scaled), scaled, 0.0)
    return np.rint(np.clip(scaled, 0.0, 255.0)).astype(np.uint8)


def shrink_factor(shape: Sequence[int], limit: int = DISPLAY_LIMIT) -> int:
    """The integer factor that brings ``shape`` within ``limit`` pixels a side."""
    return max(1, math.ceil(max(shape[:2]) / limit)) if len(shape) >= 2 else 1


def _blocks(a: npt.NDArray[Any], f: int) -> npt.NDArray[Any]:
    """``a`` (H x W or H x W x C) as (H/f, W/f, f*f[, C]) blocks, the edge repeated."""
    h, w = a.shape[:2]
    ph, pw = (-h) % f, (-w) % f
    pad = [(0, ph), (0, pw)] + [(0, 0)] * (a.ndim - 2)
    p = np.pad(a, pad, mode="edge") if (ph or pw) else a
    hh, ww = p.shape[0] // f, p.shape[1] // f
    b = p.reshape((hh, f, ww, f) + p.shape[2:])
    b = np.moveaxis(b, 2, 1)  # hh, ww, f, f, ...
    return b.reshape((hh, ww, f * f) + p.shape[2:])


def shrink_mean(a: npt.NDArray[np.uint8], f: int) -> npt.NDArray[np.uint8]:
    """An image reduced ``f`` times by block means."""
    if f == 1:
        return a
    mean = _blocks(a.astype(np.float64), f).mean(axis=2)
    out: npt.NDArray[np.uint8] = np.rint(mean).astype(np.uint8)
    return out


def shrink_abs(d: npt.NDArray[np.float64], f: int) -> npt.NDArray[np.float64]:
    """``|A - B|`` (H x W) reduced ``f`` times by block maxima (NaN ignored)."""
    if f == 1:
        return d
    with np.errstate(invalid="ignore"):
        return np.asarray(np.fmax.reduce(_blocks(d, f), axis=2), dtype=np.float64)


def shrink_signed(d: npt.NDArray[np.float64], f: int) -> npt.NDArray[np.float64]:
    """``A - B`` (H x W) reduced ``f`` times: per block, the value of largest magnitude."""
    if f == 1:
        return d
    b = _blocks(d, f)
    z = np.where(np.isnan(b), 0.0, b)
    i = np.argmax(np.abs(z), axis=2)[:, :, None]
    return np.asarray(np.take_along_axis(z, i, axis=2)[:, :, 0], dtype=np.float64)


def _png_bytes(rgb: npt.NDArray[np.uint8]) -> bytes:
    from imgconv.formats.png import write_png

    buf = io.BytesIO()
    write_png(buf, rgb, {})
    return buf.getvalue()


def data_uri(rgb: npt.NDArray[np.uint8]) -> str:
    """An image (H x W gray or H x W x 3 RGB, uint8) as a PNG ``data:`` URI."""
    return "data:image/png;base64," + base64.b64encode(_png_bytes(rgb)).decode("ascii")
