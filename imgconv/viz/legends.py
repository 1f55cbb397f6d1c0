"""Legends drawn into images: a title, a colour bar and its tick labels (Pillow's default font)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["INK", "LEGEND_MIN_WIDTH", "MIN_TEXT", "MUTED", "default_font", "legend_font_size",
           "tick_label", "with_legend", "wrap"]

#: Text colour of titles and ticks.
INK = (34, 40, 52)
#: Text colour of secondary notes ("identical: ...").
MUTED = (100, 108, 122)
#: An image with a legend is at least this wide (padded with white on the right).
LEGEND_MIN_WIDTH = 260
#: The smallest text drawn in a picture (pixels): captions, ticks, axis labels.
MIN_TEXT = 15


def default_font(size: int) -> Any:
    """Pillow's default font at ``size`` pixels (the fixed bitmap font without FreeType)."""
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def legend_font_size(width: int) -> int:
    """The text size of a legend under an image ``width`` pixels wide: 1/40 of it, at
    least :data:`MIN_TEXT` (readable beside a 256-pixel picture), at most 32."""
    return int(min(max(round(width / 40), MIN_TEXT), 32))


def wrap(text: str, font: Any, width: float) -> list[str]:
    """``text`` broken at spaces into lines at most ``width`` pixels long in ``font``
    (a word longer than that stands alone on its line); no line for an empty text."""
    lines: list[str] = []
    for word in text.split():
        joined = f"{lines[-1]} {word}" if lines else word
        if lines and font.getlength(joined) <= width:
            lines[-1] = joined
        else:
            lines.append(word)
    return lines


def tick_label(v: float, signed: bool = False) -> str:
    """A colour-bar tick: ``0``, 4 significant digits, thousands separated or exponent;
    with ``signed``, positive values get a ``+``."""
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


def with_legend(rgb: npt.NDArray[np.uint8], table: npt.NDArray[np.uint8],
                ticks: Sequence[str], title: str, empty: str | None) -> npt.NDArray[np.uint8]:
    """``rgb`` at the top left (pixel for pixel), a colour bar with ``ticks`` below it.

    The bar shows ``table`` (N x RGB) from left to right under ``title``; with ``empty``
    that note replaces the bar and its ticks.  Returns an RGB uint8 image at least
    :data:`LEGEND_MIN_WIDTH` wide.
    """
    from PIL import Image, ImageDraw

    h, w = rgb.shape[:2]
    width = max(w, LEGEND_MIN_WIDTH)
    size = legend_font_size(width)
    font = default_font(size)
    pad = max(size // 2, 6)
    bar_h = max(size, 10)
    line = size + max(size // 3, 3)
    lines = wrap(title, font, width - 2 * pad)
    legend_h = pad + line * len(lines) + (line if empty else bar_h + 4 + line) + pad
    canvas = Image.new("RGB", (width, h + legend_h), (255, 255, 255))
    canvas.paste(Image.fromarray(np.ascontiguousarray(rgb), "RGB"), (0, 0))
    draw = ImageDraw.Draw(canvas)
    y = h + pad
    for text in lines:
        draw.text((pad, y), text, fill=INK, font=font)
        y += line
    if empty:
        draw.text((pad, y), empty, fill=MUTED, font=font)
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
        draw.line((x, y, x, y + 3), fill=INK)
        tw = draw.textlength(label, font=font)
        tx = min(max(x - tw / 2, 0.0), width - tw)
        draw.text((tx, y + 4), label, fill=INK, font=font)
    return np.asarray(canvas, dtype=np.uint8)
