"""The ``imgconv diff`` report: a terminal table, colour maps, heat-maps and an HTML page.

The numbers come from :func:`imgconv.compare.compare` and :mod:`imgconv.diffing`; this
module only renders them:

- :func:`print_report`: a rich table (the two variants side by side, the statistics
  over all pixels, the interior and the border, the prediction and whether it held);
- :func:`heatmap` / :func:`signed_image`: ``|A - B|`` and ``A - B`` as RGB images with
  a colour bar and its scale drawn in (Pillow's default font);
- :func:`write_report`: the report folder: ``a.png``/``b.png`` (``.tif`` for float
  outputs), ``heatmap.png``, ``signed.png``, ``report.json`` and a self-contained
  ``report.html`` (inline CSS, every image a base64 ``data:`` URI, no network).

Colour maps (no matplotlib):

- :data:`INFERNO`, for ``|A - B|``: matplotlib's *inferno* (Smith & van der Walt,
  CC0), 256 sRGB entries rounded to 8 bits and stored below as hex, black at 0 and pale
  yellow at the maximum, lightness increasing monotonically.  It is the table OpenCV
  ships as ``COLORMAP_INFERNO`` (the tests check that, entry by entry).
- :data:`DIVERGING`, for ``A - B``: blue - white - red, 257 entries, index 128 (zero)
  the neutral centre: ColorBrewer's *RdBu* (Brewer, Apache-2.0) anchors, reversed so that
  negative is blue, interpolated linearly in CIELAB (so lightness changes evenly and
  symmetrically: dark blue at ``-max``, near-white ``#f7f7f7`` at 0, dark red at ``+max``).

Display of images in the HTML page (the files written keep the real values):
uint8 as is; uint16 by its top 8 bits (``v >> 8``); float (and any other dtype) by a
linear stretch of its finite ``min .. max`` to ``0 .. 255`` (A and B share one range so
that they can be compared; NaN shows black); the alpha channel is not shown.  Images
larger than :data:`DISPLAY_LIMIT` pixels a side are shown reduced by an integer factor
(block mean for images, block maximum of ``|A - B|`` for the difference maps, so that
no differing pixel disappears).
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from imgconv.errors import ImgconvError, OutputError

if TYPE_CHECKING:
    from rich.console import Console

    from imgconv.kernels import Kernel

__all__ = [
    "DIVERGING",
    "INFERNO",
    "REPORT_FILES",
    "check_folder",
    "colorize_abs",
    "colorize_signed",
    "display_image",
    "display_range",
    "heatmap",
    "print_report",
    "render_html",
    "signed_image",
    "srgb_to_lab",
    "stat_sections",
    "variant_rows",
    "write_report",
]

#: Every file a report folder may contain (``a``/``b`` are ``.tif`` for float outputs).
REPORT_FILES: tuple[str, ...] = (
    "a.png", "a.tif", "b.png", "b.tif", "heatmap.png", "signed.png", "report.json",
    "report.html",
)
#: Images larger than this (pixels a side) are shown reduced in the HTML page.
DISPLAY_LIMIT = 1600
TABLE_SIDE = 15  # kernels larger than this are drawn, not listed cell by cell
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


# =====================================================================================
# Colour-mapping differences
# =====================================================================================
def _collapse_abs(diff: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """``|diff|`` as H x W: the maximum over channels (NaN only where every channel is)."""
    d = np.abs(np.asarray(diff, dtype=np.float64))
    if d.ndim == 3:
        with np.errstate(invalid="ignore"):
            d = np.fmax.reduce(d, axis=2) if d.shape[2] else np.zeros(d.shape[:2])
    if d.ndim != 2:
        raise ImgconvError(f"a difference map must be H x W or H x W x C, got shape {d.shape}")
    return d


def _collapse_signed(diff: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """``diff`` as H x W: per pixel, the channel value of largest magnitude (with its sign)."""
    d = np.asarray(diff, dtype=np.float64)
    if d.ndim == 3:
        nan = np.isnan(d).all(axis=2) if d.shape[2] else np.zeros(d.shape[:2], dtype=bool)
        z = np.where(np.isnan(d), 0.0, d)
        i = np.argmax(np.abs(z), axis=2)[:, :, None] if d.shape[2] else None
        d = np.take_along_axis(z, i, axis=2)[:, :, 0] if i is not None else z.sum(axis=2)
        d[nan] = np.nan
    if d.ndim != 2:
        raise ImgconvError(f"a difference map must be H x W or H x W x C, got shape {d.shape}")
    return d


def _finite_max(a: npt.NDArray[np.float64]) -> float:
    f = np.abs(a[np.isfinite(a)])
    return float(f.max()) if f.size else 0.0


def colorize_abs(diff_abs: npt.ArrayLike, vmax: float | None = None) -> npt.NDArray[np.uint8]:
    """``|diff_abs|`` (H x W or H x W x C, max over channels) through :data:`INFERNO`.

    ``0`` maps to ``INFERNO[0]`` and ``vmax`` (default: the largest finite value) to
    ``INFERNO[255]``; NaN to :data:`NAN_COLOUR`.  Returns H x W x 3 uint8.
    """
    d = _collapse_abs(diff_abs)
    top = _finite_max(d) if vmax is None else float(vmax)
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
    d = _collapse_signed(diff)
    top = _finite_max(d) if vmax is None else float(vmax)
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


# =====================================================================================
# Legends (Pillow's default font, drawn into the image)
# =====================================================================================
_INK = (34, 40, 52)
_MUTED = (100, 108, 122)
LEGEND_MIN_WIDTH = 260


def _font(size: int) -> Any:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _fmt_tick(v: float, signed: bool = False) -> str:
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e9 or a < 1e-3:
        text = f"{v:.3e}"
    elif a >= 1e4:
        text = f"{v:,.0f}"
    else:
        text = f"{v:.4g}"
    return f"+{text}" if signed and v > 0 else text


def _with_legend(rgb: npt.NDArray[np.uint8], table: npt.NDArray[np.uint8],
                 ticks: Sequence[str], title: str, empty: str | None) -> npt.NDArray[np.uint8]:
    """``rgb`` at the top left (pixel for pixel), a colour bar with ``ticks`` below it."""
    from PIL import Image, ImageDraw

    h, w = rgb.shape[:2]
    width = max(w, LEGEND_MIN_WIDTH)
    size = int(min(max(round(width / 40), 11), 32))
    font = _font(size)
    pad = max(size // 2, 6)
    bar_h = max(size, 10)
    line = size + max(size // 3, 3)
    legend_h = pad + line + (line if empty else bar_h + 4 + line) + pad
    canvas = Image.new("RGB", (width, h + legend_h), (255, 255, 255))
    canvas.paste(Image.fromarray(np.ascontiguousarray(rgb), "RGB"), (0, 0))
    draw = ImageDraw.Draw(canvas)
    y = h + pad
    draw.text((pad, y), title, fill=_INK, font=font)
    y += line
    if empty:
        draw.text((pad, y), empty, fill=_MUTED, font=font)
        return np.asarray(canvas, dtype=np.uint8)
    x0, x1 = pad, width - pad
    n = max(x1 - x0, 2)
    idx = np.rint(np.linspace(0, len(table) - 1, n)).astype(np.intp)
    bar = np.repeat(table[idx][None, :, :], bar_h, axis=0)
    canvas.paste(Image.fromarray(np.ascontiguousarray(bar), "RGB"), (x0, y))
    draw.rectangle((x0 - 1, y - 1, x0 + n, y + bar_h), outline=(170, 175, 185))
    y += bar_h
    for k, label in enumerate(ticks):
        frac = k / (len(ticks) - 1) if len(ticks) > 1 else 0.0
        x = x0 + frac * (n - 1)
        draw.line((x, y, x, y + 3), fill=_INK)
        tw = draw.textlength(label, font=font)
        tx = min(max(x - tw / 2, 0.0), width - tw)
        draw.text((tx, y + 4), label, fill=_INK, font=font)
    return np.asarray(canvas, dtype=np.uint8)


def heatmap(diff_abs: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    """The ``|A - B|`` heat-map with its colour bar, as an RGB uint8 image.

    ``diff_abs`` is H x W or H x W x C (the maximum over channels is shown).  The map
    occupies ``out[:H, :W]`` pixel for pixel (:func:`colorize_abs`); below it a colour
    bar labelled ``0``, the middle and the maximum in pixel units.  When every
    difference is 0 the legend says "identical" instead of a 0..0 scale.  The image is
    at least :data:`LEGEND_MIN_WIDTH` wide (padded with white on the right).
    """
    d = _collapse_abs(diff_abs)
    top = _finite_max(d)
    rgb = colorize_abs(d, top)
    if top == 0:
        return _with_legend(rgb, INFERNO, (), "|A-B| (pixel units)",
                            "identical: |A-B| = 0 everywhere")
    ticks = [_fmt_tick(0.0), _fmt_tick(top / 2), _fmt_tick(top)]
    return _with_legend(rgb, INFERNO, ticks, "|A-B| (pixel units)", None)


def signed_image(diff: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    """The signed difference ``A - B`` with its colour bar, as an RGB uint8 image.

    Like :func:`heatmap` with :data:`DIVERGING`, symmetric about 0 (``-max`` blue,
    ``0`` white, ``+max`` red; for C channels the channel of largest magnitude).
    """
    d = _collapse_signed(diff)
    top = _finite_max(d)
    rgb = colorize_signed(d, top)
    title = "A-B (blue: A < B, red: A > B)"
    if top == 0:
        return _with_legend(rgb, DIVERGING, (), title, "identical: A-B = 0 everywhere")
    ticks = [_fmt_tick(-top), _fmt_tick(0.0), _fmt_tick(top, signed=True)]
    return _with_legend(rgb, DIVERGING, ticks, title, None)


# =====================================================================================
# Images for display
# =====================================================================================
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


def _shrink_factor(shape: Sequence[int], limit: int = DISPLAY_LIMIT) -> int:
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


def _shrink_mean(a: npt.NDArray[np.uint8], f: int) -> npt.NDArray[np.uint8]:
    if f == 1:
        return a
    mean = _blocks(a.astype(np.float64), f).mean(axis=2)
    out: npt.NDArray[np.uint8] = np.rint(mean).astype(np.uint8)
    return out


def _shrink_abs(d: npt.NDArray[np.float64], f: int) -> npt.NDArray[np.float64]:
    if f == 1:
        return d
    with np.errstate(invalid="ignore"):
        return np.asarray(np.fmax.reduce(_blocks(d, f), axis=2), dtype=np.float64)


def _shrink_signed(d: npt.NDArray[np.float64], f: int) -> npt.NDArray[np.float64]:
    if f == 1:
        return d
    b = _blocks(d, f)
    z = np.where(np.isnan(b), 0.0, b)
    i = np.argmax(np.abs(z), axis=2)[:, :, None]
    return np.asarray(np.take_along_axis(z, i, axis=2)[:, :, 0], dtype=np.float64)


def _png_bytes(rgb: npt.NDArray[np.uint8]) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def _data_uri(rgb: npt.NDArray[np.uint8]) -> str:
    return "data:image/png;base64," + base64.b64encode(_png_bytes(rgb)).decode("ascii")


# =====================================================================================
# Numbers, shared by the terminal table and the HTML page
# =====================================================================================
def _num(v: Any) -> str:
    """A statistic for reading: thousands separated, 4 significant digits, no noise."""
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int | np.integer):
        return f"{int(v):,}"
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not math.isfinite(f):
        return str(f)
    if f == 0:
        return "0"
    a = abs(f)
    if a >= 1e6 or a < 1e-3:
        return f"{f:.3e}"
    if f == int(f):
        return f"{int(f):,}"
    if a >= 100:
        return f"{f:,.2f}"
    return f"{f:.4g}"


def _pct(fraction: Any) -> str:
    if fraction is None:
        return "—"
    p = float(fraction) * 100.0
    if p == 0 or p == 100:
        return f"{p:.0f}%"
    if p < 0.01:
        return "<0.01%"
    if p > 99.99 and p < 100:
        return ">99.99%"
    return f"{p:.2f}%"


def _psnr(v: Any, pixels: int | None = None) -> str:
    if v is None:
        return "—" if pixels == 0 else "∞ (identical)"
    return f"{float(v):.2f} dB"


def _channel_names(n: int) -> list[str]:
    return {2: ["gray", "alpha"], 3: ["R", "G", "B"], 4: ["R", "G", "B", "alpha"]}.get(
        n, [f"c{i}" for i in range(n)])


def _samples(v: Any) -> str:
    """Per-channel counts, ``/``-separated (the label names the channels)."""
    if not isinstance(v, list | tuple):
        return "—" if v is None else _num(v)
    return " / ".join(_num(c) for c in v)


def _bbox(v: Any) -> str:
    if not v:
        return "none"
    y0, x0, y1, x1 = (int(t) for t in v)
    return f"y {y0}:{y1}, x {x0}:{x1} ({y1 - y0}×{x1 - x0})"


def _pixels(rep: dict[str, Any]) -> int | None:
    if "pixels" in rep:
        return int(rep["pixels"])
    shape = rep.get("shape")
    if isinstance(shape, list | tuple) and len(shape) >= 2:
        return int(shape[0]) * int(shape[1])
    return None


Section = tuple[str, list[tuple[str, list[str]]]]


def stat_sections(report: dict[str, Any]) -> tuple[list[str], list[Section]]:
    """The statistics as text: column headings and sections of ``(label, cells)`` rows.

    Columns: all pixels, then ``interior`` and ``border`` when the report has them.
    """
    cols: list[tuple[str, dict[str, Any]]] = [("all pixels", report)]
    for key in ("interior", "border"):
        sub = report.get(key)
        if isinstance(sub, dict):
            cols.append((key, sub))
    heads = [c[0] for c in cols]

    def row(label: str, cell: Any, only_all: bool = False) -> tuple[str, list[str]]:
        cells = []
        for i, (_, rep) in enumerate(cols):
            n = _pixels(rep)
            if only_all and i > 0:
                cells.append("")
            elif n == 0 and i > 0:
                cells.append("no pixels" if label == "pixels" else "—")
            else:
                cells.append(cell(rep))
        return label, cells

    peak = report.get("psnr_peak")
    dtype = report.get("dtype")
    samples_label = "differing samples"
    per = report.get("differing_samples")
    if isinstance(per, list | tuple) and len(per) > 1:
        samples_label += f" ({'/'.join(_channel_names(len(per)))})"
    psnr_label = "PSNR" + (f" (peak {_num(peak)})" if peak is not None else "")
    before = [
        row("pixels", lambda r: _num(_pixels(r))),
        row("max abs diff", lambda r: _num(r.get("max_abs_diff"))),
        row("mean abs diff", lambda r: _num(r.get("mean_abs_diff"))),
        row("RMSE", lambda r: _num(r.get("rmse"))),
        row(psnr_label, lambda r: _psnr(r.get("psnr"), _pixels(r))),
    ]
    after = [
        row("differing pixels", lambda r: (
            f"{_num(r.get('differing_pixels'))} ({_pct(r.get('differing_fraction'))})"
            if r.get("differing_pixels") is not None else "—")),
        row(samples_label, lambda r: _samples(r.get("differing_samples"))),
        row("bbox of differences", lambda r: _bbox(r.get("bbox")), only_all=True),
    ]
    if report.get("tolerance") is not None:
        after.append(row("tolerance", lambda r: _num(report.get("tolerance")),
                         only_all=True))
    rounded = f"after rounding to {dtype}" if dtype else "after rounding"
    if dtype and str(dtype).startswith("float"):
        rounded = f"{dtype}, beyond the tolerance"
    return heads, [("before rounding", before), (rounded, after)]


_VARIANT_KEYS = ("mode", "method", "boundary", "cval", "precision", "size")


def variant_rows(report: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """``(key, A, B, differs)`` for the variant options present in the report."""
    a = report.get("a") if isinstance(report.get("a"), dict) else {}
    b = report.get("b") if isinstance(report.get("b"), dict) else {}
    assert isinstance(a, dict) and isinstance(b, dict)
    rows = []
    constant = "constant" in (a.get("boundary"), b.get("boundary"))
    for key in _VARIANT_KEYS:
        if key not in a and key not in b:
            continue
        if key == "cval" and not constant and a.get("cval") == b.get("cval"):
            continue

        def text(v: dict[str, Any], key: str = key) -> str:
            value = v.get(key)
            if value is None:
                return "—"
            if key == "method" and v.get("method_used") and v["method_used"] != value:
                return f"{value} → {v['method_used']}"
            return _num(value) if key == "cval" else str(value)

        rows.append((key, text(a), text(b), a.get(key) != b.get(key)))
    return rows


def _kernel_summary(report: dict[str, Any]) -> str:
    k = report.get("kernel")
    if not isinstance(k, dict):
        return ""
    parts = [str(k.get("name", "kernel"))]
    if k.get("shape"):
        parts.append("×".join(str(s) for s in k["shape"]))
    if k.get("anchor") is not None:
        parts.append(f"anchor {tuple(k['anchor'])}")
    if k.get("symmetric") is not None:
        parts.append("symmetric under 180°" if k["symmetric"] else "not symmetric under 180°")
    if k.get("rank") is not None:
        parts.append(f"rank {k['rank']}")
    if isinstance(k.get("chain"), list):
        parts.append("chain of " + ", ".join(str(c.get("name")) for c in k["chain"]))
    return ", ".join(parts)


def _headline(report: dict[str, Any]) -> str:
    """"identical" or "differ in N pixels (p %)" (after rounding)."""
    n = report.get("differing_pixels")
    if report.get("identical") or n == 0:
        if report.get("max_abs_diff") == 0:
            return "A and B are identical (bit for bit)"
        if str(report.get("dtype", "")).startswith("float"):
            return (f"A and B agree within the tolerance (max abs diff "
                    f"{_num(report.get('max_abs_diff'))})")
        return "A and B are identical after rounding"
    if n is None:
        return "A and B differ"
    return f"A and B differ in {_num(n)} pixels ({_pct(report.get('differing_fraction'))})"


# =====================================================================================
# Terminal
# =====================================================================================
def print_report(report: dict[str, Any], console: Console) -> None:
    """Print the report as rich tables: variants, statistics, the prediction and its fate."""
    from rich.table import Table
    from rich.text import Text

    title = Text("imgconv diff", style="bold")
    if report.get("image"):
        title.append(f"  {report['image']}")
    if report.get("filters"):
        title.append("  · filter " + " → ".join(str(f) for f in report["filters"]))
    shape = report.get("shape")
    if shape:
        title.append(f"  · {'×'.join(str(s) for s in shape)}", style="dim")
    if report.get("dtype"):
        title.append(f" {report['dtype']}", style="dim")
    console.print(title)

    rows = variant_rows(report)
    if rows:
        vt = Table(title="the two variants", title_justify="left", title_style="bold",
                   header_style="bold", show_edge=False, pad_edge=False)
        vt.add_column("", no_wrap=True)
        vt.add_column("A", min_width=18)
        vt.add_column("B", min_width=18)
        for key, a, b, differs in rows:
            style = "bold yellow" if differs else ""
            vt.add_row(key, Text(a, style=style), Text(b, style=style))
        console.print(vt)
    summary = _kernel_summary(report)
    if summary:
        console.print(Text("kernel  ", style="bold") + Text(summary))

    heads, sections = stat_sections(report)
    st = Table(title="how A and B differ", title_justify="left", title_style="bold",
               header_style="bold", show_edge=False, pad_edge=False)
    st.add_column("", no_wrap=True)
    for h in heads:
        st.add_column(h, justify="right")
    for i, (name, body) in enumerate(sections):
        if i:
            st.add_section()
        st.add_row(Text(name, style="dim italic"), *([""] * len(heads)))
        for label, cells in body:
            st.add_row(label, *cells)
    console.print(st)

    verdict = Table.grid(padding=(0, 2))
    verdict.add_column(style="bold", no_wrap=True)
    verdict.add_column()
    same = bool(report.get("identical"))
    verdict.add_row("result", Text(_headline(report), style="bold green" if same else "bold"))
    prediction = report.get("prediction")
    if prediction is not None:
        verdict.add_row("prediction", Text(str(prediction), style="bold cyan"))
        if report.get("reason"):
            verdict.add_row("reason", Text(str(report["reason"])))
        held = report.get("prediction_held")
        if held is not None:
            verdict.add_row("held", Text("✓ yes, the prediction held", style="bold green")
                            if held else Text("✗ no, the prediction did not hold",
                                              style="bold red"))
    console.print(verdict)


# =====================================================================================
# HTML
# =====================================================================================
_CSS = """
:root { --ink:#1c2230; --muted:#5d6677; --line:#e2e5eb; --bg:#f4f5f8; --card:#fff;
  --ok:#17803d; --ok-bg:#e8f6ed; --bad:#c0262d; --bad-bg:#fdecec; --mid:#6b7280;
  --mid-bg:#eef0f3; --hl:#fff4d6; }
* { box-sizing: border-box; }
html { background: var(--bg); }
body { margin: 0; color: var(--ink); font: 15px/1.5 system-ui, -apple-system, "Segoe UI",
  Roboto, "Helvetica Neue", "DejaVu Sans", Arial, sans-serif; }
main { max-width: 1360px; margin: 0 auto; padding: 28px 32px 56px; }
header .kicker { font-size: 12px; letter-spacing: .12em; text-transform: uppercase;
  color: var(--muted); font-weight: 600; }
h1 { font-size: 28px; line-height: 1.2; margin: 4px 0 6px; font-weight: 700; }
h1 .dim { color: var(--muted); font-weight: 500; }
h2 { font-size: 18px; margin: 34px 0 12px; font-weight: 650; }
.sub { color: var(--muted); margin: 0; }
.sub b { color: var(--ink); font-weight: 600; }
code, .mono { font-family: ui-monospace, "SF Mono", Menlo, Consolas, "DejaVu Sans Mono",
  monospace; font-size: 0.92em; }
.verdict { display: flex; gap: 20px; align-items: center; margin: 22px 0 18px;
  padding: 18px 24px; border-radius: 14px; border: 1px solid var(--line);
  border-left: 8px solid var(--mid); background: var(--card); }
.verdict .icon { flex: none; width: 54px; height: 54px; border-radius: 50%;
  display: grid; place-items: center; font-size: 30px; font-weight: 700; color: #fff;
  background: var(--mid); }
.verdict.ok { border-left-color: var(--ok); background: linear-gradient(90deg,
  var(--ok-bg), var(--card) 60%); }
.verdict.ok .icon { background: var(--ok); }
.verdict.bad { border-left-color: var(--bad); background: linear-gradient(90deg,
  var(--bad-bg), var(--card) 60%); }
.verdict.bad .icon { background: var(--bad); }
.verdict .what { font-size: 22px; font-weight: 700; line-height: 1.25; }
.verdict .pred { margin-top: 4px; font-size: 15.5px; }
.verdict .pred .tag { display: inline-block; padding: 1px 9px; border-radius: 999px;
  background: var(--mid-bg); font-weight: 650; }
.verdict.ok .pred .held { color: var(--ok); font-weight: 650; }
.verdict.bad .pred .held { color: var(--bad); font-weight: 650; }
.verdict .reason { color: var(--muted); margin-top: 2px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr));
  gap: 12px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 12px;
  padding: 12px 16px; }
.card .label { font-size: 12px; text-transform: uppercase; letter-spacing: .07em;
  color: var(--muted); font-weight: 600; }
.card .value { font-size: 25px; font-weight: 650; font-variant-numeric: tabular-nums;
  line-height: 1.3; white-space: nowrap; }
.card .note { font-size: 12.5px; color: var(--muted); }
.gallery { display: grid; grid-template-columns: repeat(auto-fit, minmax(210px, 1fr));
  gap: 14px; align-items: start; }
figure { margin: 0; background: var(--card); border: 1px solid var(--line);
  border-radius: 12px; padding: 10px 10px 12px; }
figure img.pic { display: block; width: 100%; height: auto; max-height: 70vh;
  object-fit: contain; background: #e9ebef; border-radius: 6px; }
img.px { image-rendering: crisp-edges; image-rendering: pixelated; }
figcaption { margin-top: 8px; font-size: 13.5px; line-height: 1.4; }
figcaption .t { font-weight: 650; font-size: 14.5px; }
figcaption .m { color: var(--muted); display: block; }
.legend { margin-top: 8px; }
.legend img { display: block; width: 100%; height: 11px; border-radius: 3px;
  border: 1px solid #cfd3da; }
.legend .ticks { display: flex; justify-content: space-between; font-size: 12px;
  color: var(--muted); font-variant-numeric: tabular-nums; margin-top: 2px; }
.legend .ident { font-size: 12.5px; color: var(--muted); }
.zoom figure { padding: 8px; }
.zoom .gallery { grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); }
.cols { display: grid; grid-template-columns: minmax(0, 1.7fr) minmax(0, 1fr); gap: 18px;
  align-items: start; }
@media (max-width: 1500px) { .cols { grid-template-columns: 1fr; } }
.panel { background: var(--card); border: 1px solid var(--line); border-radius: 12px;
  padding: 6px 18px 14px; overflow-x: auto; margin-bottom: 18px; }
table.num { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
table.num th, table.num td { padding: 6px 10px; border-bottom: 1px solid var(--line);
  text-align: right; white-space: nowrap; }
table.num th:first-child, table.num td:first-child { text-align: left; }
table.num thead th { font-size: 12px; text-transform: uppercase; letter-spacing: .06em;
  color: var(--muted); font-weight: 650; }
table.num tr.sec td { text-align: left; font-size: 12.5px; font-style: italic;
  color: var(--muted); padding-top: 12px; border-bottom: none; }
table.num tr:last-child td { border-bottom: none; }
table.num tr.diff td { background: var(--hl); font-weight: 600; }
table.num.vars td, table.num.vars th { text-align: left; white-space: normal; }
.kernels { display: flex; flex-wrap: wrap; gap: 28px; align-items: flex-start;
  margin: 4px 0 6px; }
.kbox { max-width: 100%; overflow: auto; }
.kbox .cap { font-size: 13px; color: var(--muted); margin: 0 0 6px; max-width: 230px; }
.kbox .cap b { color: var(--ink); }
table.kernel { border-collapse: separate; border-spacing: 3px;
  font-variant-numeric: tabular-nums; font-size: 13px; }
table.kernel td { min-width: 42px; height: 34px; padding: 2px 6px; text-align: center;
  border-radius: 5px; }
table.kernel td.anchor { outline: 3px solid #111827; outline-offset: -1px;
  font-weight: 750; }
table.props { border-collapse: collapse; font-size: 13.5px; max-width: 420px; }
table.props th { color: var(--muted); font-weight: 500; text-align: left;
  padding: 2px 14px 2px 0; vertical-align: top; white-space: nowrap; }
table.props td { padding: 2px 0; }
details { margin-top: 26px; }
summary { cursor: pointer; color: var(--muted); font-weight: 600; }
pre { background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  padding: 12px 14px; overflow: auto; font-size: 12.5px; max-height: 480px; }
footer { margin-top: 30px; color: var(--muted); font-size: 13px; line-height: 1.55; }
footer p { margin: 6px 0; }
"""


def _e(v: Any) -> str:
    return html.escape(str(v), quote=True)


def _legend_html(table: npt.NDArray[np.uint8], ticks: Sequence[str], empty: str | None) -> str:
    if empty:
        return f'<div class="legend"><div class="ident">{_e(empty)}</div></div>'
    bar = _data_uri(np.ascontiguousarray(table[None, :, :]))
    spans = "".join(f"<span>{_e(t)}</span>" for t in ticks)
    return (f'<div class="legend"><img alt="colour scale" src="{bar}">'
            f'<div class="ticks">{spans}</div></div>')


def _figure(rgb: npt.NDArray[np.uint8], title: str, meta: Sequence[str], *,
            legend: str = "", pixelated: bool | None = None, alt: str = "") -> str:
    w = rgb.shape[1]
    px = (w < 300) if pixelated is None else pixelated
    cls = "pic px" if px else "pic"
    lines = "".join(f'<span class="m">{m}</span>' for m in meta if m)
    return (f'<figure><img class="{cls}" alt="{_e(alt or title)}" src="{_data_uri(rgb)}">'
            f'<figcaption><span class="t">{title}</span>{lines}</figcaption>{legend}</figure>')


def _shape_text(a: npt.NDArray[Any]) -> str:
    dims = "×".join(str(s) for s in a.shape[:2])
    ch = f"×{a.shape[2]}" if a.ndim == 3 else ""
    return f"{dims}{ch} {a.dtype}"


def _scaling_note(a: npt.NDArray[Any], rng: tuple[float, float] | None) -> str:
    if a.dtype == np.uint8:
        return ""
    if a.dtype == np.uint16:
        return "16-bit shown by its top 8 bits"
    if rng is None:
        rng = display_range(a)
    return f"shown {_num(rng[0])} … {_num(rng[1])} → black … white"


def _cell_colours(w: npt.NDArray[np.float64]) -> list[list[tuple[str, str]]]:
    top = float(np.abs(w).max()) if w.size else 0.0
    half = (len(DIVERGING) - 1) // 2
    out = []
    for row in w:
        cells = []
        for v in row:
            i = half + round(float(v) / top * half * 0.8) if top > 0 else half
            rgb = DIVERGING[i]
            light = float(srgb_to_lab(rgb)[0])
            cells.append(("#" + "".join(f"{int(c):02x}" for c in rgb),
                          "#ffffff" if light < 55 else "#1c2230"))
        out.append(cells)
    return out


def _kernel_table(weights: npt.NDArray[np.float64], anchor: tuple[int, int]) -> str:
    colours = _cell_colours(weights)
    rows = []
    for i, row in enumerate(weights):
        tds = []
        for j, v in enumerate(row):
            bg, fg = colours[i][j]
            cls = ' class="anchor"' if (i, j) == tuple(anchor) else ""
            title = f' title="row {i}, col {j}' + (' (anchor)"' if cls else '"')
            tds.append(f'<td{cls}{title} style="background:{bg};color:{fg}">'
                       f"{_e(_num_kernel(float(v)))}</td>")
        rows.append("<tr>" + "".join(tds) + "</tr>")
    return '<table class="kernel">' + "".join(rows) + "</table>"


def _num_kernel(v: float) -> str:
    if v == int(v) and abs(v) < 1e6:
        return str(int(v))
    return f"{v:.4g}"


def _kernel_html(report: dict[str, Any], kernel: Kernel | None) -> str:
    info = report.get("kernel") if isinstance(report.get("kernel"), dict) else {}
    assert isinstance(info, dict)
    props: list[tuple[str, str]] = []
    boxes: list[str] = []
    modes = {str(v.get("mode")) for v in (report.get("a"), report.get("b"))
             if isinstance(v, dict)}
    if kernel is not None and max(kernel.shape) > TABLE_SIDE:
        kh, kw = kernel.shape
        boxes.append(f'<div class="kbox"><div class="cap">The {kh}×{kw} weights are too many to '
                     "list: they are drawn below, and written in report.json.</div></div>")
    if kernel is not None and max(kernel.shape) <= TABLE_SIDE:
        kh, kw = kernel.shape
        scale = f" × {kernel.scale:g}" if kernel.scale != 1 else ""
        boxes.append(
            '<div class="kbox"><div class="cap"><b>as written</b>'
            + (" (correlate slides it like this)" if "correlate" in modes else "")
            + f"{_e(scale)}; anchor (row, col) {tuple(kernel.center)} outlined</div>"
            + _kernel_table(kernel.weights, kernel.center) + "</div>")
        if "convolve" in modes:
            fl = kernel.flipped()
            if kernel.correlate_equals_convolve:
                boxes.append('<div class="kbox"><div class="cap"><b>as applied by '
                             "convolve</b>: unchanged (it equals its 180° rotation and "
                             "the anchor is centred)</div></div>")
            else:
                boxes.append(
                    '<div class="kbox"><div class="cap"><b>as applied by convolve</b>: '
                    f"rotated 180°, anchor {tuple(fl.center)}; slid over the image like a "
                    "correlation</div>" + _kernel_table(fl.weights, fl.center) + "</div>")
    if kernel is not None:
        kh, kw = kernel.shape
        props = [("name", kernel.name), ("shape", f"{kh}×{kw}"),
                 ("anchor", f"{tuple(kernel.center)}"
                  + ("" if kernel.anchor_is_centred else " (not centred)")),
                 ("sum", _num_kernel(kernel.sum)),
                 ("symmetric", "yes: equals its 180° rotation" if kernel.symmetric
                  else "no: differs from its 180° rotation"),
                 ("rank", f"{kernel.rank}" + (" (separable)" if kernel.rank == 1 else "")),
                 ("correlate = convolve", "yes" if kernel.correlate_equals_convolve
                  else "no")]
        if kernel.description:
            props.append(("about", kernel.description))
    elif info:
        for key in ("name", "shape", "anchor", "symmetric", "rank"):
            v = info.get(key)
            if v is None:
                continue
            if key == "shape":
                v = "×".join(str(s) for s in v)
            elif key == "anchor":
                v = str(tuple(v))
            elif key == "symmetric":
                v = "yes" if v else "no"
            props.append((key, str(v)))
        if isinstance(info.get("chain"), list):
            props.append(("chain", " → ".join(
                f"{c.get('name')} ({'×'.join(str(s) for s in c.get('shape') or [])})"
                for c in info["chain"] if isinstance(c, dict))))
    if not props and not boxes:
        return ""
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in props)
    picture = ""
    if kernel is not None:
        from imgconv.kernelplot import kernel_picture

        pic = kernel_picture(kernel, "convolve" if "convolve" in modes else "correlate")
        picture = (f'<figure style="margin:14px 0 0"><img alt="the kernel and its frequency '
                   f'response" style="max-width:100%" src="{_data_uri(pic)}">'
                   '<figcaption class="cap">The weights (blue negative, red positive), the '
                   "kernel as convolve applies it, and the magnitude of its frequency response "
                   "in dB — the same for correlate and convolve, since the 180° rotation only "
                   "changes the phase (the convolution theorem).</figcaption></figure>")
    return (f'<div class="panel"><h2 style="margin-top:12px">Kernel</h2>'
            f'<div class="kernels">{"".join(boxes)}'
            f'<table class="props">{rows}</table></div>{picture}</div>')


def _difference(a_float: npt.ArrayLike, b_float: npt.ArrayLike) -> npt.NDArray[np.float64]:
    fa = np.asarray(a_float, dtype=np.float64)
    fb = np.asarray(b_float, dtype=np.float64)
    if fa.shape != fb.shape:
        raise ImgconvError(f"cannot draw the difference of shapes {fa.shape} and {fb.shape}")
    return fa - fb


def _variant_caption(v: Any, other: Any) -> list[str]:
    """The options where this variant differs from the other one, and the method run."""
    if not isinstance(v, dict):
        return []
    o = other if isinstance(other, dict) else {}
    parts = [f"{k} {v[k]}" for k in _VARIANT_KEYS
             if k in v and k != "mode" and v.get(k) != o.get(k)]
    used = v.get("method_used") or v.get("method")
    if used:
        parts.append(f"method {used}")
    return [_e(" · ".join(parts))] if parts else []


def _zoom_html(diff: npt.NDArray[np.float64], top: float, tiles: list[tuple[str, Any]]) -> str:
    """Crops around the largest difference, for images too large to see it at a glance."""
    d = _collapse_abs(diff)
    h, w = d.shape
    if top <= 0 or max(h, w) <= 160:
        return ""
    y, x = np.unravel_index(int(np.argmax(np.where(np.isfinite(d), d, -1.0))), d.shape)
    side = 40
    y0 = int(min(max(y - side // 2, 0), max(h - side, 0)))
    x0 = int(min(max(x - side // 2, 0), max(w - side, 0)))
    sl = (slice(y0, y0 + side), slice(x0, x0 + side))
    figs = []
    for title, rgb in tiles:
        if rgb is None or rgb.shape[:2] != (h, w):
            continue
        figs.append(_figure(np.ascontiguousarray(rgb[sl]), title, [], pixelated=True))
    ch, cw = min(side, h), min(side, w)
    return (f'<section class="zoom"><h2>Closer look: {ch}×{cw} pixels around the largest '
            f"difference, at (y {int(y)}, x {int(x)})</h2>"
            f'<div class="gallery">{"".join(figs)}</div></section>')


def render_html(
    report: dict[str, Any],
    *,
    input_image: npt.ArrayLike,
    a_out: npt.ArrayLike,
    b_out: npt.ArrayLike,
    a_float: npt.ArrayLike,
    b_float: npt.ArrayLike,
    kernel: Kernel | None = None,
    files: Sequence[str] = (),
) -> str:
    """The report as one self-contained HTML page (inline CSS, images as data: URIs)."""
    import imgconv

    img = np.asarray(input_image)
    qa, qb = np.asarray(a_out), np.asarray(b_out)
    diff = _difference(a_float, b_float)
    dabs, dsig = _collapse_abs(diff), _collapse_signed(diff)
    top = _finite_max(dabs)

    # -- images ----------------------------------------------------------------------
    shared: tuple[float, float] | None = None
    if qa.dtype not in (np.uint8, np.uint16) or qb.dtype not in (np.uint8, np.uint16):
        shared = display_range(qa, qb)
    kwargs: dict[str, float] = {} if shared is None else {"lo": shared[0], "hi": shared[1]}
    d_in = display_image(img)
    d_a = display_image(qa, **kwargs)
    d_b = display_image(qb, **kwargs)
    heat_full = colorize_abs(dabs, top)
    sig_full = colorize_signed(dsig, top)

    def shrink(a: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.uint8], str]:
        f = _shrink_factor(a.shape)
        return _shrink_mean(a, f), (f"shown at 1/{f} size" if f > 1 else "")

    fd = _shrink_factor(dabs.shape)
    heat = colorize_abs(_shrink_abs(dabs, fd), top) if fd > 1 else heat_full
    sig = colorize_signed(_shrink_signed(dsig, fd), top) if fd > 1 else sig_full
    small = f"shown at 1/{fd} size (block maximum)" if fd > 1 else ""
    chans = " (max over channels)" if diff.ndim == 3 and diff.shape[2] > 1 else ""

    a_info, b_info = report.get("a"), report.get("b")
    a_mode = a_info.get("mode", "") if isinstance(a_info, dict) else ""
    b_mode = b_info.get("mode", "") if isinstance(b_info, dict) else ""
    figs = []
    if img.size:
        s, note = shrink(d_in)
        name = Path(str(report["image"])).name if report.get("image") else "input"
        figs.append(_figure(s, "Input", [_e(name), _e(_shape_text(img)),
                                         _e(_scaling_note(img, None)), note]))
    for label, mode, q, disp, info, other in (("A", a_mode, qa, d_a, a_info, b_info),
                                              ("B", b_mode, qb, d_b, b_info, a_info)):
        s, note = shrink(disp)
        figs.append(_figure(s, f"{label} · {_e(mode)}" if mode else label,
                            _variant_caption(info, other) + [_e(_shape_text(q)),
                                                      _e(_scaling_note(q, shared)), note]))
    if top > 0:
        heat_leg = _legend_html(INFERNO, [_fmt_tick(0), _fmt_tick(top / 2), _fmt_tick(top)],
                                None)
        sig_leg = _legend_html(DIVERGING, [_fmt_tick(-top).replace("-", "−", 1), "0",
                                           _fmt_tick(top, True)], None)
    else:
        heat_leg = _legend_html(INFERNO, (), "identical: |A − B| = 0 everywhere")
        sig_leg = _legend_html(DIVERGING, (), "identical: A − B = 0 everywhere")
    figs.append(_figure(heat, "|A − B|", [f"before rounding{chans} · 0 … max",
                                          small], legend=heat_leg))
    figs.append(_figure(sig, "A − B", ["blue: A &lt; B · white: equal · red: A &gt; B",
                                       small], legend=sig_leg))
    zoom = _zoom_html(diff, top, [
        ("Input", d_in if d_in.shape[:2] == dabs.shape else None), ("A", d_a), ("B", d_b),
        ("|A − B|", heat_full), ("A − B", sig_full)])

    # -- verdict ---------------------------------------------------------------------
    held = report.get("prediction_held")
    cls = "ok" if held is True else "bad" if held is False else ""
    icon = "✓" if held is True else "✗" if held is False else "="
    pred = report.get("prediction")
    pred_html = ""
    if pred is not None:
        fate = ("the prediction held" if held else "the prediction did not hold"
                if held is False else "")
        pred_html = (f'<div class="pred">Predicted <span class="tag">{_e(pred)}</span>'
                     + (f' — <span class="held">{fate}</span>' if fate else "") + "</div>")
        if report.get("reason"):
            pred_html += f'<div class="reason">{_e(report["reason"])}</div>'
    verdict = (f'<section class="verdict {cls}"><div class="icon">{icon}</div><div>'
               f'<div class="what">{_e(_headline(report))}</div>{pred_html}</div></section>')

    # -- cards -----------------------------------------------------------------------
    peak = report.get("psnr_peak")
    px_n = _pixels(report)
    cards = [
        ("max |A − B|", _num(report.get("max_abs_diff")), "largest difference, pixel units"),
        ("mean |A − B|", _num(report.get("mean_abs_diff")), "over every sample"),
        ("RMSE", _num(report.get("rmse")), "root mean square difference"),
        ("PSNR", _psnr(report.get("psnr"), px_n),
         f"peak {_num(peak)}" if peak is not None else ""),
        ("differing pixels", _num(report.get("differing_pixels")),
         f"{_pct(report.get('differing_fraction'))} of {_num(px_n)}"
         + (f" after rounding to {report['dtype']}" if report.get("dtype") else "")),
    ]
    cards_html = "".join(
        f'<div class="card"><div class="label">{_e(label)}</div>'
        f'<div class="value">{_e(value)}</div><div class="note">{_e(note)}</div></div>'
        for label, value, note in cards)

    # -- tables ----------------------------------------------------------------------
    heads, sections = stat_sections(report)
    body = []
    for name, rows in sections:
        body.append(f'<tr class="sec"><td colspan="{len(heads) + 1}">{_e(name)}</td></tr>')
        for label, cells in rows:
            body.append("<tr><td>" + _e(label) + "</td>"
                        + "".join(f"<td>{_e(c)}</td>" for c in cells) + "</tr>")
    stats_html = (
        '<div class="panel"><h2 style="margin-top:12px">The numbers</h2>'
        '<table class="num"><thead><tr><th></th>'
        + "".join(f"<th>{_e(h)}</th>" for h in heads)
        + "</tr></thead><tbody>" + "".join(body) + "</tbody></table></div>")
    vrows = variant_rows(report)
    vars_html = ""
    if vrows:
        vars_html = (
            '<div class="panel"><h2 style="margin-top:12px">The two variants</h2>'
            '<table class="num vars"><thead><tr><th></th><th>A</th><th>B</th></tr></thead>'
            "<tbody>" + "".join(
                f'<tr class="{"diff" if d else ""}"><td>{_e(k)}</td><td>{_e(a)}</td>'
                f"<td>{_e(b)}</td></tr>" for k, a, b, d in vrows)
            + "</tbody></table></div>")
    kernel_html = _kernel_html(report, kernel)

    # -- page ------------------------------------------------------------------------
    filters = report.get("filters") or []
    kinfo = report.get("kernel")
    fname = " → ".join(str(f) for f in filters) or (
        str(kinfo.get("name", "")) if isinstance(kinfo, dict) else "")
    image_name = Path(str(report["image"])).name if report.get("image") else ""
    title_bits = [b for b in (image_name, fname) if b]
    a_label = a_info.get("label") if isinstance(a_info, dict) else None
    b_label = b_info.get("label") if isinstance(b_info, dict) else None
    sub = ""
    if a_label or b_label:
        sub = (f'<p class="sub"><b>A</b> {_e(a_label or "—")} &nbsp;vs&nbsp; '
               f'<b>B</b> {_e(b_label or "—")}</p>')
    h1 = " · ".join(_e(t) for t in title_bits) or "difference report"
    shape = report.get("shape")
    if shape:
        h1 += (f' <span class="dim">{_e("×".join(str(s) for s in shape))} '
               f'{_e(report.get("dtype", ""))}</span>')
    files_html = ""
    if files:
        files_html = ("<p>Files in this folder: "
                      + ", ".join(f"<code>{_e(f)}</code>" for f in files) + ".</p>")
    raw = json.dumps(report, indent=2, default=_json_default, ensure_ascii=False)
    page_title = "imgconv diff — " + (" · ".join(title_bits) or "report")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(page_title)}</title>
<style>{_CSS}</style>
</head>
<body>
<main>
<header><div class="kicker">imgconv diff report</div><h1>{h1}</h1>{sub}</header>
{verdict}
<section class="cards">{cards_html}</section>
<h2>Input, A, B and their difference</h2>
<section class="gallery">{"".join(figs)}</section>
{zoom}
<h2>Details</h2>
<section class="cols"><div>{stats_html}</div><div>{vars_html}</div></section>
{kernel_html}
<details><summary>report.json</summary><pre>{_e(raw)}</pre></details>
<footer>
<p><b>How to read this.</b> max abs diff, mean abs diff, RMSE and PSNR are computed on the
float results before rounding (PSNR = 10·log10(peak² / MSE), ∞ when A and B are equal);
differing pixels count the pixels where any channel differs after rounding to the output
dtype (for float outputs: by more than the tolerance ε·Σ|F|·max(max|I|, |cval|), with
ε = 1e-4 in single and 1e-10 in double precision). <i>interior</i> are the positions
where both variants' kernels lie wholly inside the image, <i>border</i> the rest.
A bbox <code>y 0:10</code> includes row 0 and excludes row 10.</p>
<p><b>Display.</b> 8-bit images are shown as they are, 16-bit ones by their top 8 bits,
float ones stretched from their min … max to black … white (A and B share one range); alpha
is not shown. The heat-map uses inferno (dark = no difference); the signed map is
blue–white–red, symmetric about 0. The files beside this page keep the real values.</p>
{files_html}
<p>imgconv {_e(imgconv.__version__)}</p>
</footer>
</main>
</body>
</html>
"""


# =====================================================================================
# The report folder
# =====================================================================================
def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


def check_folder(folder: str | os.PathLike[str], *, overwrite: bool = False) -> None:
    """Refuse, before any work, a report folder that cannot be written or would be replaced.

    Without ``overwrite``, any of :data:`REPORT_FILES` already in the folder is refused
    (an :class:`~imgconv.errors.OutputError` naming it and suggesting ``--overwrite``).
    A missing folder is fine (it is created) if its nearest existing parent is a
    writable folder.
    """
    target = Path(folder)
    if target.exists() and not target.is_dir():
        raise OutputError(f"{target}: exists and is not a folder: choose another report folder")
    if target.is_dir():
        if not os.access(target, os.W_OK | os.X_OK):
            raise OutputError(f"{target}: the report folder is not writable")
        if overwrite:
            return
        existing = [n for n in REPORT_FILES if os.path.lexists(target / n)]
        if existing:
            more = f" (and {len(existing) - 1} more report files)" if len(existing) > 1 else ""
            raise OutputError(f"{target / existing[0]}: already exists{more}: use --overwrite "
                              "to replace the report, or choose another folder")
        return
    parent = target.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{target}: cannot create the report folder ({parent} is not a "
                          "writable folder)")


def _image_name(stem: str, a: npt.NDArray[Any]) -> str:
    return f"{stem}.png" if a.dtype in (np.uint8, np.uint16) else f"{stem}.tif"


def write_report(
    folder: str | os.PathLike[str],
    report: dict[str, Any],
    *,
    input_image: npt.NDArray[Any],
    a_out: npt.NDArray[Any],
    b_out: npt.NDArray[Any],
    a_float: npt.NDArray[Any],
    b_float: npt.NDArray[Any],
    kernel: Kernel | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Write the report folder; return the files written, in order.

    ``a.png``/``b.png`` (``.tif`` when the output dtype is float) are the quantised
    outputs ``a_out``/``b_out``; ``heatmap.png`` and ``signed.png`` draw
    ``a_float - b_float`` (before rounding) with their colour bars; ``report.json`` is
    ``report``; ``report.html`` shows it all in one self-contained page.  Existing report
    files are refused before anything is written unless ``overwrite``; every file is
    written atomically (temporary file, then rename).
    """
    from imgconv.pixels import write_image, write_text

    target = Path(folder)
    check_folder(target, overwrite=overwrite)
    qa, qb = np.asarray(a_out), np.asarray(b_out)
    diff = _difference(a_float, b_float)
    images: list[tuple[str, npt.NDArray[Any]]] = [
        (_image_name("a", qa), qa), (_image_name("b", qb), qb),
        ("heatmap.png", heatmap(diff)), ("signed.png", signed_image(diff)),
    ]
    names = [n for n, _ in images] + ["report.json", "report.html"]
    text = json.dumps(report, indent=2, default=_json_default, ensure_ascii=False) + "\n"
    page = render_html(report, input_image=input_image, a_out=qa, b_out=qb, a_float=a_float,
                       b_float=b_float, kernel=kernel, files=names)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{target}: cannot create the report folder "
                          f"({exc.strerror or exc})") from exc
    written: list[Path] = []
    for name, arr in images:
        write_image(target / name, arr, overwrite=overwrite)
        written.append(target / name)
    for name, content in (("report.json", text), ("report.html", page)):
        write_text(target / name, content, overwrite=overwrite)
        written.append(target / name)
    return written
