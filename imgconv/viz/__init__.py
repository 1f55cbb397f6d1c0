"""Pictures: colour maps, legends drawn into images, and pictures of kernels.

Serves the ``diff`` report (:mod:`imgconv.report`) and ``imgconv show --png``.  Imports
only numpy (Pillow lazily, when drawing) and, for type hints, :class:`imgconv.kernels.Kernel`.

- :mod:`~imgconv.viz.colormaps`: :func:`inferno` (``|A - B|``; OpenCV's, made at its
  first use), :data:`DIVERGING` (``A - B``, kernel weights; :func:`sequential`
  its one-sided halves), :func:`colorize_abs`, :func:`colorize_signed`;
- :mod:`~imgconv.viz.legends`: :func:`with_legend` (a colour bar and ticks below an image);
- :mod:`~imgconv.viz.pictures`: :func:`kernel_picture` (weights, weights as convolve
  applies them, frequency response on frequency axes), :func:`weight_scale` (the colour
  bar of the weights: one-sided when they all have one sign).
"""

from __future__ import annotations

from imgconv.viz.colormaps import (
    DIVERGING,
    NAN_COLOUR,
    collapse_abs,
    collapse_signed,
    colorize_abs,
    colorize_signed,
    finite_max,
    inferno,
    sequential,
    srgb_to_lab,
    widen_sparse,
)
from imgconv.viz.legends import (
    INK,
    LEGEND_MIN_WIDTH,
    MUTED,
    default_font,
    tick_label,
    with_legend,
)
from imgconv.viz.pictures import (
    FLOOR_DB,
    FREQUENCY_TICKS,
    PANEL,
    WeightScale,
    frequency_response,
    kernel_picture,
    response_panel,
    tick_at,
    weight_scale,
    weights_panel,
)

__all__ = [
    "DIVERGING",
    "FLOOR_DB",
    "FREQUENCY_TICKS",
    "INK",
    "LEGEND_MIN_WIDTH",
    "MUTED",
    "NAN_COLOUR",
    "PANEL",
    "WeightScale",
    "collapse_abs",
    "collapse_signed",
    "colorize_abs",
    "colorize_signed",
    "default_font",
    "finite_max",
    "frequency_response",
    "inferno",
    "kernel_picture",
    "response_panel",
    "sequential",
    "srgb_to_lab",
    "widen_sparse",
    "tick_at",
    "tick_label",
    "weight_scale",
    "weights_panel",
    "with_legend",
]

