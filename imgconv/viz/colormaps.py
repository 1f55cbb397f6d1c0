"""Colour maps for differences and kernels (no matplotlib).

- :func:`inferno`, for ``|A - B|``: matplotlib's *inferno* (Smith &
  van der Walt, CC0), 256 sRGB entries rounded to 8 bits, black at 0 and pale yellow at
  the maximum, lightness increasing monotonically.  It is taken from OpenCV
  (``cv2.applyColorMap`` of a 0..255 ramp with ``COLORMAP_INFERNO``; checked equal to
  matplotlib's table, entry by entry, when it replaced a copy typed in here), and OpenCV
  is imported at its first use, not with this module.
- :data:`DIVERGING`, for ``A - B`` and kernel weights: blue - white - red, 257 entries,
  index 128 (zero) the neutral centre: ColorBrewer's *RdBu* (Brewer, Apache-2.0)
  anchors, reversed so that negative is blue, interpolated linearly in CIELAB (so
  lightness changes evenly and symmetrically: dark blue at ``-max``, near-white
  ``#f7f7f7`` at 0, dark red at ``+max``).  OpenCV has no such map (its maps are
  sequential or cyclic), so the 11 anchors are written here.

:func:`colorize_abs` and :func:`colorize_signed` map an H x W (or H x W x C) array
through them; NaN shows as :data:`NAN_COLOUR`.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import numpy.typing as npt

from imgconv.errors import ImgconvError

__all__ = [
    "DIVERGING",
    "NAN_COLOUR",
    "collapse_abs",
    "collapse_signed",
    "colorize_abs",
    "colorize_signed",
    "finite_max",
    "inferno",
    "sequential",
    "srgb_to_lab",
]

#: The colour of NaN in the difference maps (a neutral grey neither map contains).
NAN_COLOUR = (128, 128, 128)

# ColorBrewer RdBu (11 classes), from -max (dark blue) through white to +max (dark red)
_RDBU_ANCHORS = (
    "053061", "2166ac", "4393c3", "92c5de", "d1e5f0", "f7f7f7",
    "fddbc7", "f4a582", "d6604d", "b2182b", "67001f",
)


def _hex_table(text: str) -> npt.NDArray[np.uint8]:
    raw = bytes.fromhex(text)
    table = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).copy()
    table.flags.writeable = False
    return table


# -- sRGB <-> CIELAB (D65), for building the diverging map and for the tests ---------------
_M_RGB_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                       [0.2126729, 0.7151522, 0.0721750],
                       [0.0193339, 0.1191920, 0.9503041]])
_WHITE = np.array([0.95047, 1.0, 1.08883])


def srgb_to_lab(rgb: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """CIELAB (D65) of sRGB colours given as ``0..255`` values, shape ``(..., 3)``."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = lin @ _M_RGB_XYZ.T / _WHITE
    d = 6.0 / 29.0
    f = np.where(xyz > d**3, np.cbrt(xyz), xyz / (3 * d * d) + 4.0 / 29.0)
    lab = np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]),
                    200 * (f[..., 1] - f[..., 2])], axis=-1)
    return np.asarray(lab, dtype=np.float64)


def _lab_to_srgb(lab: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    fy = (lab[..., 0] + 16) / 116
    f = np.stack([fy + lab[..., 1] / 500, fy, fy - lab[..., 2] / 200], axis=-1)
    d = 6.0 / 29.0
    xyz = np.where(f > d, f**3, 3 * d * d * (f - 4.0 / 29.0)) * _WHITE
    lin = np.clip(xyz @ np.linalg.inv(_M_RGB_XYZ).T, 0.0, 1.0)
    c = np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)
    return np.asarray(np.clip(c * 255.0, 0.0, 255.0), dtype=np.float64)


def _diverging_table(n: int = 257) -> npt.NDArray[np.uint8]:
    anchors = _hex_table("".join(_RDBU_ANCHORS))
    lab = srgb_to_lab(anchors)
    pos = np.linspace(0.0, 1.0, len(anchors))
    t = np.linspace(0.0, 1.0, n)
    out = np.stack([np.interp(t, pos, lab[:, i]) for i in range(3)], axis=-1)
    table = np.rint(_lab_to_srgb(out)).astype(np.uint8)
    table.flags.writeable = False
    return table


@functools.cache
def inferno() -> npt.NDArray[np.uint8]:
    """The ``|A - B|`` colour map: 256 x RGB uint8 (read-only), index 0 = no difference,
    255 = the maximum: OpenCV's ``COLORMAP_INFERNO`` (imported here, at the first call)."""
    import cv2

    ramp = np.arange(256, dtype=np.uint8).reshape(1, 256)
    bgr = cv2.applyColorMap(ramp, cv2.COLORMAP_INFERNO)
    table = np.ascontiguousarray(bgr[0, :, ::-1], dtype=np.uint8)
    table.flags.writeable = False
    return table


#: A - B colour map: 257 x RGB uint8, index 0 = -max (blue), 128 = 0, 256 = +max (red).
DIVERGING: npt.NDArray[np.uint8] = _diverging_table()


def sequential(sign: int) -> npt.NDArray[np.uint8]:
    """The one-sided half of :data:`DIVERGING` for values of one sign (129 x RGB uint8):
    ``sign > 0`` from 0 (near-white) to ``+max`` (dark red), ``sign < 0`` from ``-max``
    (dark blue) to 0.  A colour bar of an all-positive (or all-negative) kernel shows
    this half, in the same colours as the cells."""
    half = (len(DIVERGING) - 1) // 2
    return DIVERGING[half:] if sign > 0 else DIVERGING[:half + 1]


# -- mapping arrays through them -----------------------------------------------------------
def _check_2d(d: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    if d.ndim != 2:
        raise ImgconvError(f"a difference map must be H x W or H x W x C, got shape {d.shape}")
    return d


def collapse_abs(diff: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """``|diff|`` as H x W: the maximum over channels (NaN only where every channel is)."""
    d = np.abs(np.asarray(diff, dtype=np.float64))
    if d.ndim == 3:
        if not d.shape[2]:
            return np.zeros(d.shape[:2])
        top = d[:, :, 0].copy()  # channel by channel: a reduce along a short axis is slow
        for c in range(1, d.shape[2]):
            np.fmax(top, d[:, :, c], out=top)
        d = top
    return _check_2d(d)


def collapse_signed(diff: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """``diff`` as H x W: per pixel, the channel value of largest magnitude (with its sign)."""
    d = np.asarray(diff, dtype=np.float64)
    if d.ndim == 3:
        nan = np.isnan(d).all(axis=2) if d.shape[2] else np.zeros(d.shape[:2], dtype=bool)
        z = np.where(np.isnan(d), 0.0, d)
        i = np.argmax(np.abs(z), axis=2)[:, :, None] if d.shape[2] else None
        d = np.take_along_axis(z, i, axis=2)[:, :, 0] if i is not None else z.sum(axis=2)
        d[nan] = np.nan
    return _check_2d(d)


def finite_max(a: npt.NDArray[np.float64]) -> float:
    """The largest finite ``|a|``; 0 when there is none."""
    with np.errstate(invalid="ignore"):
        top = np.fmax.reduce(np.abs(a), axis=None, initial=-np.inf, where=np.isfinite(a))
    return float(top) if np.isfinite(top) else 0.0


THIN = 0.5  # widen when fewer than this share of the differing pixels are inside a blob


def _neighbourhood(a: npt.NDArray[Any], r: int, op: Any) -> npt.NDArray[Any]:
    """``op`` (np.maximum: dilation, np.minimum: erosion) over the (2r+1)² square around
    each pixel, edges included as far as they go."""
    out = a
    for axis in (0, 1):
        n = a.shape[axis]
        grown = out.copy()
        for s in range(1, r + 1):
            lo = [slice(None)] * 2
            hi = [slice(None)] * 2
            lo[axis], hi[axis] = slice(0, n - s), slice(s, n)
            op(grown[tuple(lo)], out[tuple(hi)], out=grown[tuple(lo)])
            op(grown[tuple(hi)], out[tuple(lo)], out=grown[tuple(hi)])
        out = grown
    return out


def widen_sparse(d: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], int]:
    """``(d, width)``: when the differences of ``d`` (H x W) are thin — most differing
    pixels have a pixel that does not differ beside them: a 1-pixel frame along the
    border, isolated pixels — each is spread to a square of ``width`` pixels (the
    maximum of its neighbourhood) so that a picture shows them; ``width`` 1 means ``d``
    is returned as it is."""
    finite = np.nan_to_num(d)
    differs = finite != 0
    count = int(np.count_nonzero(differs))
    if count == 0:
        return d, 1
    inside = int(np.count_nonzero(_neighbourhood(differs, 1, np.minimum)))
    if inside >= THIN * count:
        return d, 1
    r = max(1, min(d.shape) // 128)
    return np.where(np.isnan(d), np.nan, _neighbourhood(finite, r, np.maximum)), 2 * r + 1


def colorize_abs(diff_abs: npt.ArrayLike, vmax: float | None = None) -> npt.NDArray[np.uint8]:
    """``|diff_abs|`` (H x W or H x W x C, max over channels) through :func:`inferno`.

    ``0`` maps to ``inferno()[0]`` and ``vmax`` (default: the largest finite value) to
    ``inferno()[255]``; NaN to :data:`NAN_COLOUR`.  Returns H x W x 3 uint8.
    """
    d = collapse_abs(diff_abs)
    top = finite_max(d) if vmax is None else float(vmax)
    nan = ~np.isfinite(d)
    if top > 0:
        idx = np.rint(np.clip(np.where(nan, 0.0, d) / top, 0.0, 1.0) * 255.0).astype(np.intp)
    else:
        idx = np.zeros(d.shape, dtype=np.intp)
    out = inferno()[idx]
    out[nan] = NAN_COLOUR
    return out


def colorize_signed(diff: npt.ArrayLike, vmax: float | None = None) -> npt.NDArray[np.uint8]:
    """``diff`` (H x W, or H x W x C: the channel of largest magnitude) through
    :data:`DIVERGING`, symmetric about 0: ``-vmax`` blue, ``0`` white, ``+vmax`` red."""
    d = collapse_signed(diff)
    top = finite_max(d) if vmax is None else float(vmax)
    nan = ~np.isfinite(d)
    half = (len(DIVERGING) - 1) // 2
    if top > 0:
        t = np.clip(np.where(nan, 0.0, d) / top, -1.0, 1.0)
        idx = (half + np.rint(t * half)).astype(np.intp)
    else:
        idx = np.full(d.shape, half, dtype=np.intp)
    out = DIVERGING[idx]
    out[nan] = NAN_COLOUR
    return out
