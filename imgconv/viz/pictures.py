"""Pictures of kernels: the weights in a signed colour map, the kernel as convolve applies
it, and the magnitude of its frequency response — the convolution theorem made visible.

Used by ``imgconv show FILTER --png OUT`` and embedded in ``diff``'s report.html.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from imgconv.viz.colormaps import DIVERGING, colorize_abs, colorize_signed, inferno, sequential
from imgconv.viz.legends import INK, MIN_TEXT, default_font, tick_label, with_legend

if TYPE_CHECKING:
    from imgconv.kernels import Kernel

__all__ = ["FLOOR_DB", "FREQUENCY_TICKS", "PANEL", "WeightScale", "frequency_response",
           "kernel_picture", "response_panel", "tick_at", "weight_scale", "weights_panel"]

FLOOR_DB = -60.0  # the frequency response is shown from this level up to 0 dB
PANEL = 256  # pixels a side of each panel's picture
#: Ticks of the frequency axes, in cycles per pixel (±0.5 is the Nyquist frequency).
FREQUENCY_TICKS = (-0.5, -0.25, 0.0, 0.25, 0.5)


def _cell(kernel_side: int) -> int:
    return max(2, PANEL // max(kernel_side, 1))


def _weight_label(v: float) -> str:
    return f"{v:.3g}" if not v.is_integer() else str(int(v))


@dataclass(frozen=True)
class WeightScale:
    """The colour bar of a kernel's weights: ``table`` spans ``lo`` .. ``hi``.

    Weights of both signs get the diverging map, symmetric about 0; weights all of one
    sign get its one-sided half (0 .. max, or -max .. 0), not a ± bar half unused.
    """

    table: npt.NDArray[np.uint8]
    lo: float
    hi: float
    ticks: tuple[str, ...]


def weight_scale(weights: npt.NDArray[np.float64]) -> WeightScale:
    """The colour bar for ``weights`` (cells are coloured the same way whatever it is:
    :func:`~imgconv.viz.colorize_signed` with ``vmax`` the largest magnitude)."""
    top = float(np.abs(weights).max()) or 1.0
    if float(weights.min()) >= 0:
        return WeightScale(sequential(+1), 0.0, top,
                           ("0", tick_label(top / 2), tick_label(top)))
    if float(weights.max()) <= 0:
        return WeightScale(sequential(-1), -top, 0.0,
                           (tick_label(-top), tick_label(-top / 2), "0"))
    return WeightScale(DIVERGING, -top, top,
                       (tick_label(-top), "0", tick_label(top, signed=True)))


_MIN_CELL_TEXT = 12  # the smallest numbers written in the cells


def _label_font(draw: Any, labels: dict[tuple[int, int], str], cell: int) -> Any:
    """The largest font (up to a third of a cell) in which every label fits its cell, or
    ``None`` when even the smallest readable one does not."""
    for size in range(max(min(cell // 3, 22), _MIN_CELL_TEXT), _MIN_CELL_TEXT - 1, -1):
        font = default_font(size)
        if all(draw.textlength(t, font=font) <= cell - 4 for t in labels.values()):
            return font
    return None


def weights_panel(weights: npt.NDArray[np.float64], anchor: tuple[int, int],
                  title: str) -> npt.NDArray[np.uint8]:
    """The weights as cells in blue–white–red (0 white), the anchor outlined, the values
    written in the cells when they fit; below, the colour bar of :func:`weight_scale`."""
    from PIL import Image, ImageDraw

    kh, kw = weights.shape
    scale = weight_scale(weights)
    top = max(-scale.lo, scale.hi)
    cell = _cell(max(kh, kw))
    rgb = colorize_signed(weights, top)
    big = np.repeat(np.repeat(rgb, cell, axis=0), cell, axis=1)
    img = Image.fromarray(np.ascontiguousarray(big), "RGB")
    draw = ImageDraw.Draw(img)
    if cell >= 14:  # grid lines and numbers when the cells are large enough to read
        for i in range(1, kh):
            draw.line((0, i * cell, kw * cell, i * cell), fill=(255, 255, 255))
        for j in range(1, kw):
            draw.line((j * cell, 0, j * cell, kh * cell), fill=(255, 255, 255))
        labels = {(i, j): _weight_label(float(weights[i, j]))
                  for i in range(kh) for j in range(kw)}
        font = _label_font(draw, labels, cell)
        for (i, j), text in labels.items() if font is not None else ():  # all, or none
            tw = draw.textlength(text, font=font)
            dark = abs(float(weights[i, j])) > 0.6 * top
            draw.text((j * cell + (cell - tw) / 2, (i + 0.5) * cell), text, anchor="lm",
                      fill=(255, 255, 255) if dark else INK, font=font)
    cy, cx = anchor
    draw.rectangle((cx * cell, cy * cell, (cx + 1) * cell - 1, (cy + 1) * cell - 1),
                   outline=(0, 0, 0), width=max(1, cell // 8))
    return with_legend(np.asarray(img, dtype=np.uint8), scale.table, scale.ticks, title, None)


def frequency_response(weights: npt.NDArray[np.float64], n: int | None = None,
                       ) -> npt.NDArray[np.float64]:
    """|H| in dB relative to its maximum, centred (zero frequency in the middle), n x n.

    ``n`` defaults to a power of two at least 64 and at least 4 times the kernel side;
    values are clipped below at :data:`FLOOR_DB`.
    """
    kh, kw = weights.shape
    size = n or max(64, 1 << int(np.ceil(np.log2(4 * max(kh, kw)))))
    spectrum = np.abs(np.fft.fftshift(np.fft.fft2(weights, s=(size, size))))
    peak = float(spectrum.max())
    if peak == 0:
        return np.full((size, size), FLOOR_DB)
    with np.errstate(divide="ignore"):
        db = 20.0 * np.log10(spectrum / peak)
    return np.asarray(np.maximum(db, FLOOR_DB), dtype=np.float64)


def tick_at(freq: float, n: int, f: int) -> int:
    """The pixel (from the spectrum's left or top edge) of the tick of ``freq`` cycles
    per pixel, on an n-bin centred spectrum drawn ``f`` pixels a bin: the middle of the
    bin ``k = freq·n + n/2`` (+0.5 falls on bin n, just past the edge: -0.5's alias)."""
    return (round(freq * n) + n // 2) * f + f // 2


def _axes(plot: npt.NDArray[np.uint8], n: int) -> npt.NDArray[np.uint8]:
    """``plot`` (the n x n centred spectrum, each bin a square of pixels) framed, with
    frequency axes: ticks at :data:`FREQUENCY_TICKS` on each side's bins (bin ``k`` is
    ``(k - n/2) / n`` cycles per pixel), labelled, ``fx`` below and ``fy`` at the left
    (rows downwards, as in the image)."""
    from PIL import Image, ImageDraw

    side = plot.shape[0]
    font = default_font(MIN_TEXT)
    labels = [f"{t:g}" for t in FREQUENCY_TICKS]
    tick, gap, line = 5, 3, MIN_TEXT + 4
    label_w = int(max(font.getlength(t) for t in labels))
    left = line + label_w + gap + tick + 1  # rotated axis label, tick labels, ticks
    right = int(font.getlength(labels[-1]) / 2) + 2  # the last x tick label overhangs
    top, bottom = line // 2 + 1, tick + gap + 2 * line  # the first y tick label overhangs
    canvas = Image.new("RGB", (left + side + right, top + side + bottom), (255, 255, 255))
    canvas.paste(Image.fromarray(np.ascontiguousarray(plot), "RGB"), (left, top))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((left - 1, top - 1, left + side, top + side), outline=INK)
    end = top + side
    for t, text in zip(FREQUENCY_TICKS, labels, strict=True):
        at = tick_at(t, n, side // n)
        x, y = left + at, top + at
        draw.line((x, end + 1, x, end + tick), fill=INK)
        draw.text((x, end + tick + gap), text, fill=INK, font=font, anchor="mt")
        draw.line((left - 2 - tick, y, left - 2, y), fill=INK)
        draw.text((left - 2 - tick - gap, y), text, fill=INK, font=font, anchor="rm")
    draw.text((left + side / 2, end + tick + gap + line), "fx (cycles/pixel)", fill=INK,
              font=font, anchor="mt")
    name = Image.new("RGB", (int(font.getlength("fy (cycles/pixel)")) + 4, line),
                     (255, 255, 255))
    ImageDraw.Draw(name).text((2, 1), "fy (cycles/pixel)", fill=INK, font=font)
    name = name.rotate(90, expand=True)
    canvas.paste(name, (0, max(0, top + (side - name.height) // 2)))
    return np.asarray(canvas, dtype=np.uint8)


def response_panel(weights: npt.NDArray[np.float64]) -> npt.NDArray[np.uint8]:
    """:func:`frequency_response` through the inferno map, on frequency axes (cycles per
    pixel, zero in the middle), with a dB colour bar."""
    db = frequency_response(weights)
    n = db.shape[0]
    rgb = colorize_abs(db - FLOOR_DB, -FLOOR_DB)
    f = max(1, PANEL // n)
    big = np.repeat(np.repeat(rgb, f, axis=0), f, axis=1)
    ticks = [f"{FLOOR_DB:g} dB", f"{FLOOR_DB / 2:g}", "0 dB"]
    return with_legend(_axes(big, n), inferno(), ticks,
                       "|H(f)|, dB below its peak", None)


def kernel_picture(kernel: Kernel, mode: str = "convolve") -> npt.NDArray[np.uint8]:
    """Side by side: the kernel as written, as applied (convolve, when it differs), and
    the magnitude of its frequency response (the same for correlate and convolve: the
    180° rotation changes only the phase).  Returns an RGB uint8 image."""
    from PIL import Image, ImageDraw

    w = kernel.array
    panels = [weights_panel(w, kernel.center, "as written (correlate slides it so)")]
    if mode == "convolve" and not kernel.correlate_equals_convolve:
        fl = kernel.flipped()
        panels.append(weights_panel(fl.array, fl.center, "as applied by convolve (180°)"))
    panels.append(response_panel(w))
    gap, margin = 24, 16
    title_h = 40
    width = sum(p.shape[1] for p in panels) + gap * (len(panels) - 1) + 2 * margin
    height = max(p.shape[0] for p in panels) + title_h + margin
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    kh, kw = kernel.shape
    draw.text((margin, 10), f"{kernel.name}  {kh}x{kw}  anchor {kernel.center}  sum "
              f"{0.0 if kernel.is_zero_sum else kernel.sum:.4g}  rank {kernel.rank}",
              fill=INK, font=default_font(18))
    x = margin
    for p in panels:
        canvas.paste(Image.fromarray(np.ascontiguousarray(p), "RGB"), (x, title_h))
        x += p.shape[1] + gap
    return np.asarray(canvas, dtype=np.uint8)
