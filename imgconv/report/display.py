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
from imgconv.viz import collapse_abs, collapse_signed

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


#: rows of A and B taken at a time by :func:`differences` (about this many samples)
_BAND_SAMPLES = 1 << 20


def differences(a_float: npt.ArrayLike, b_float: npt.ArrayLike
                ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """``(|A − B|, A − B)`` as H × W maps (the maximum over channels; the channel of
    largest magnitude with its sign: :func:`~imgconv.viz.collapse_abs`,
    :func:`~imgconv.viz.collapse_signed`), computed a band of rows at a time and kept in
    float32 — what the pictures draw, without a full-size float64 copy of A − B."""
    fa, fb = np.asarray(a_float), np.asarray(b_float)
    if fa.shape != fb.shape:
        raise ImgconvError(f"cannot draw the difference of shapes {fa.shape} and {fb.shape}")
    h, w = fa.shape[:2]
    absolute = np.empty((h, w), np.float32)
    signed = np.empty((h, w), np.float32)
    step = max(1, _BAND_SAMPLES // max(1, fa[0].size))
    for y0 in range(0, h, step):
        d = difference(fa[y0:y0 + step], fb[y0:y0 + step])
        absolute[y0:y0 + step] = collapse_abs(d)
        signed[y0:y0 + step] = collapse_signed(d)
    return absolute, signed


def difference_previews(a_float: npt.ArrayLike, b_float: npt.ArrayLike, f: int
                        ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64],
                                   float, tuple[int, int]]:
    """``|A − B|`` and ``A − B`` reduced ``f`` times (:func:`shrink_abs`,
    :func:`shrink_signed` of the maps :func:`differences` draws), the largest finite
    ``|A − B|`` and where it is (y, x) — a band of ``f·256`` rows at a time, so no
    full-size map is ever held (a camera-size report stays within its memory)."""
    fa, fb = np.asarray(a_float), np.asarray(b_float)
    if fa.shape != fb.shape:
        raise ImgconvError(f"cannot draw the difference of shapes {fa.shape} and {fb.shape}")
    step = f * max(1, 64 // f)  # rows: a few MB of float64 temporaries at 4000 wide
    small_abs, small_sig = [], []
    top, where = -1.0, (0, 0)
    for y0 in range(0, fa.shape[0], step):
        d = difference(fa[y0:y0 + step], fb[y0:y0 + step])
        dabs, dsig = collapse_abs(d), collapse_signed(d)
        finite = np.where(np.isfinite(dabs), dabs, -1.0)
        k = int(np.argmax(finite))
        if finite.flat[k] > top:
            top = float(finite.flat[k])
            where = (y0 + k // dabs.shape[1], k % dabs.shape[1])
        small_abs.append(shrink_abs(dabs, f))
        small_sig.append(shrink_signed(dsig, f))
    return (np.concatenate(small_abs), np.concatenate(small_sig), max(top, 0.0), where)


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


def shrink_mean(a: npt.NDArray[Any], f: int) -> npt.NDArray[Any]:
    """An image reduced ``f`` times by block means (OpenCV's area interpolation: no
    full-size float copy); a block at the right or bottom edge averages what is there."""
    if f == 1:
        return a
    import cv2

    h, w = a.shape[:2]
    out: npt.NDArray[Any] = cv2.resize(np.ascontiguousarray(a), (-(-w // f), -(-h // f)),
                                            interpolation=cv2.INTER_AREA)
    return out.reshape((out.shape[0], out.shape[1]) + a.shape[2:])


def _by_bands(d: npt.NDArray[Any], f: int, shrink: Any) -> npt.NDArray[np.float64]:
    """``shrink(rows, f)`` over bands of ``f·256`` rows (a band's blocks are whole rows of
    blocks), joined: the block copies stay small at camera size."""
    step = f * 256
    parts = [shrink(d[r0:r0 + step], f) for r0 in range(0, d.shape[0], step)]
    return np.concatenate(parts, axis=0) if len(parts) > 1 else parts[0]


def shrink_abs(d: npt.NDArray[Any], f: int) -> npt.NDArray[np.float64]:
    """``|A - B|`` (H x W) reduced ``f`` times by block maxima (NaN ignored)."""
    if f == 1:
        return d

    def block_max(rows: npt.NDArray[Any], f: int) -> npt.NDArray[np.float64]:
        with np.errstate(invalid="ignore"):
            return np.asarray(np.fmax.reduce(_blocks(rows, f), axis=2), dtype=np.float64)

    return _by_bands(d, f, block_max)


def shrink_signed(d: npt.NDArray[Any], f: int) -> npt.NDArray[np.float64]:
    """``A - B`` (H x W) reduced ``f`` times: per block, the value of largest magnitude."""
    if f == 1:
        return d

    def block_extreme(rows: npt.NDArray[Any], f: int) -> npt.NDArray[np.float64]:
        b = _blocks(rows, f)
        z = np.where(np.isnan(b), 0.0, b)
        i = np.argmax(np.abs(z), axis=2)[:, :, None]
        return np.asarray(np.take_along_axis(z, i, axis=2)[:, :, 0], dtype=np.float64)

    return _by_bands(d, f, block_extreme)


def _png_bytes(rgb: npt.NDArray[np.uint8]) -> bytes:
    from imgconv.formats.png import write_png

    buf = io.BytesIO()
    write_png(buf, rgb, {})
    return buf.getvalue()


#: a preview whose PNG would be larger than this is embedded as a JPEG (quality 92):
#: photographs at camera size would make the page tens of megabytes
PNG_PREVIEW_BYTES = 400_000


def data_uri(rgb: npt.NDArray[np.uint8], *, photo: bool = False) -> str:
    """An image (H x W gray or H x W x 3 RGB, uint8) as a PNG ``data:`` URI; with
    ``photo``, a JPEG one when the PNG would be over :data:`PNG_PREVIEW_BYTES`."""
    png = _png_bytes(rgb)
    if photo and len(png) > PNG_PREVIEW_BYTES:
        from PIL import Image as PILImage

        buf = io.BytesIO()
        PILImage.fromarray(np.ascontiguousarray(rgb)).save(buf, format="JPEG", quality=92)
        return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
