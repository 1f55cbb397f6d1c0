"""Pictures of kernels: the weights in a signed colour map, the kernel as convolve applies
it, and the magnitude of its frequency response — the convolution theorem made visible.

Used by ``imgconv show FILTER --png OUT`` and embedded in ``diff``'s report.html.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from imgconv.viz.colormaps import DIVERGING, INFERNO, colorize_abs, colorize_signed
from imgconv.viz.legends import INK, default_font, tick_label, with_legend

if TYPE_CHECKING:
    from imgconv.kernels import Kernel

__all__ = ["FLOOR_DB", "PANEL", "frequency_response", "kernel_picture", "response_panel",
           "weights_panel"]

FLOOR_DB = -60.0  # the frequency response is shown from this level up to 0 dB
PANEL = 256  # pixels a side of each panel's picture


def _cell(kernel_side: int) -> int:
    return max(2, PANEL // max(kernel_side, 1))


def _weight_label(v: float) -> str:
    return f"{v:.3g}" if not v.is_integer() else str(int(v))


def weights_panel(weights: npt.NDArray[np.float64], anchor: tuple[int, int],
                  title: str) -> npt.NDArray[np.uint8]:
    """The weights as cells in blue–white–red (symmetric about 0), the anchor outlined,
    the values written in the cells when they fit; a colour bar below."""
    from PIL import Image, ImageDraw

    kh, kw = weights.shape
    top = float(np.abs(weights).max()) or 1.0
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
        font = default_font(max(9, min(cell // 3, 22)))
        labels = {(i, j): _weight_label(float(weights[i, j]))
                  for i in range(kh) for j in range(kw)}
        fits = all(draw.textlength(t, font=font) <= cell - 4 for t in labels.values())
        for (i, j), text in labels.items() if fits else ():  # every value, or none
            v = float(weights[i, j])
            tw = draw.textlength(text, font=font)
            dark = abs(v) > 0.6 * top
            draw.text((j * cell + (cell - tw) / 2, i * cell + cell / 2 - cell // 6),
                      text, fill=(255, 255, 255) if dark else INK, font=font)
    cy, cx = anchor
    draw.rectangle((cx * cell, cy * cell, (cx + 1) * cell - 1, (cy + 1) * cell - 1),
                   outline=(0, 0, 0), width=max(1, cell // 8))
    ticks = [tick_label(-top), "0", tick_label(top, signed=True)]
    return with_legend(np.asarray(img, dtype=np.uint8), DIVERGING, ticks, title, None)


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


def response_panel(weights: npt.NDArray[np.float64]) -> npt.NDArray[np.uint8]:
    """:func:`frequency_response` through the inferno map, with a dB colour bar."""
    db = frequency_response(weights)
    rgb = colorize_abs(db - FLOOR_DB, -FLOOR_DB)
    f = max(1, PANEL // db.shape[0])
    big = np.repeat(np.repeat(rgb, f, axis=0), f, axis=1)
    ticks = [f"{FLOOR_DB:g} dB", f"{FLOOR_DB / 2:g}", "0 dB"]
    return with_legend(big, INFERNO, ticks,
                       "|H(f)|, centred: low frequencies in the middle", None)


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
