"""Colour maps for differences and kernels (no matplotlib).

- :data:`INFERNO`, for ``|A - B|``: matplotlib's *inferno* (Smith & van der Walt,
  CC0), 256 sRGB entries rounded to 8 bits and stored below as hex, black at 0 and pale
  yellow at the maximum, lightness increasing monotonically.  It is the table OpenCV
  ships as ``COLORMAP_INFERNO`` (the tests check that, entry by entry).
- :data:`DIVERGING`, for ``A - B`` and kernel weights: blue - white - red, 257 entries,
  index 128 (zero) the neutral centre: ColorBrewer's *RdBu* (Brewer, Apache-2.0)
  anchors, reversed so that negative is blue, interpolated linearly in CIELAB (so
  lightness changes evenly and symmetrically: dark blue at ``-max``, near-white
  ``#f7f7f7`` at 0, dark red at ``+max``).

:func:`colorize_abs` and :func:`colorize_signed` map an H x W (or H x W x C) array
through them; NaN shows as :data:`NAN_COLOUR`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from imgconv.errors import ImgconvError

__all__ = [
    "DIVERGING",
    "INFERNO",
    "NAN_COLOUR",
    "collapse_abs",
    "collapse_signed",
    "colorize_abs",
    "colorize_signed",
    "finite_max",
    "srgb_to_lab",
]

#: The colour of NaN in the difference maps (a neutral grey neither map contains).
NAN_COLOUR = (128, 128, 128)

# matplotlib's inferno, 256 entries x RRGGBB (CC0; == OpenCV's COLORMAP_INFERNO)
_INFERNO_HEX = (
    "00000401000501010601010802010a02020c02020e03021004031204031405041706041907051b08051d09061f0a0722"
    "0b07240c08260d08290e092b10092d110a30120a32140b34150b37160b39180c3c190c3e1b0c411c0c431e0c451f0c48"
    "210c4a230c4c240c4f260c51280b53290b552b0b572d0b592f0a5b310a5c320a5e340a5f3609613809623909633b0964"
    "3d09653e0966400a67420a68440a68450a69470b6a490b6a4a0c6b4c0c6b4d0d6c4f0d6c510e6c520e6d540f6d550f6d"
    "57106e59106e5a116e5c126e5d126e5f136e61136e62146e64156e65156e67166e69166e6a176e6c186e6d186e6f196e"
    "71196e721a6e741a6e751b6e771c6d781c6d7a1d6d7c1d6d7d1e6d7f1e6c801f6c82206c84206b85216b87216b88226a"
    "8a226a8c23698d23698f24699025689225689326679526679727669827669a28659b29649d29649f2a63a02a63a22b62"
    "a32c61a52c60a62d60a82e5fa92e5eab2f5ead305dae305cb0315bb1325ab3325ab43359b63458b73557b93556ba3655"
    "bc3754bd3853bf3952c03a51c13a50c33b4fc43c4ec63d4dc73e4cc83f4bca404acb4149cc4248ce4347cf4446d04545"
    "d24644d34743d44842d54a41d74b3fd84c3ed94d3dda4e3cdb503bdd513ade5238df5337e05536e15635e25734e35933"
    "e45a31e55c30e65d2fe75e2ee8602de9612bea632aeb6429eb6628ec6726ed6925ee6a24ef6c23ef6e21f06f20f1711f"
    "f1731df2741cf3761bf37819f47918f57b17f57d15f67e14f68013f78212f78410f8850ff8870ef8890cf98b0bf98c0a"
    "f98e09fa9008fa9207fa9407fb9606fb9706fb9906fb9b06fb9d07fc9f07fca108fca309fca50afca60cfca80dfcaa0f"
    "fcac11fcae12fcb014fcb216fcb418fbb61afbb81dfbba1ffbbc21fbbe23fac026fac228fac42afac62df9c72ff9c932"
    "f9cb35f8cd37f8cf3af7d13df7d340f6d543f6d746f5d949f5db4cf4dd4ff4df53f4e156f3e35af3e55df2e661f2e865"
    "f2ea69f1ec6df1ed71f1ef75f1f179f2f27df2f482f3f586f3f68af4f88ef5f992f6fa96f8fb9af9fc9dfafda1fcffa4"
)
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


#: |A - B| colour map: 256 x RGB uint8, index 0 = no difference, 255 = the maximum.
INFERNO: npt.NDArray[np.uint8] = _hex_table("".join(_INFERNO_HEX))
#: A - B colour map: 257 x RGB uint8, index 0 = -max (blue), 128 = 0, 256 = +max (red).
DIVERGING: npt.NDArray[np.uint8] = _diverging_table()


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
    """``|diff_abs|`` (H x W or H x W x C, max over channels) through :data:`INFERNO`.

    ``0`` maps to ``INFERNO[0]`` and ``vmax`` (default: the largest finite value) to
    ``INFERNO[255]``; NaN to :data:`NAN_COLOUR`.  Returns H x W x 3 uint8.
    """
    d = collapse_abs(diff_abs)
    top = finite_max(d) if vmax is None else float(vmax)
    nan = ~np.isfinite(d)
    if top > 0:
        idx = np.rint(np.clip(np.where(nan, 0.0, d) / top, 0.0, 1.0) * 255.0).astype(np.intp)
    else:
        idx = np.zeros(d.shape, dtype=np.intp)
    out = INFERNO[idx]
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
