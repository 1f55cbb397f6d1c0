"""The ``imgconv diff`` report: a terminal table, heat-maps and an HTML page.

The numbers come from :func:`imgconv.compare.compare` and :mod:`imgconv.diffing`; this
package only renders them:

- :mod:`~imgconv.report.terminal`: :func:`print_report`, a rich table (the two variants
  side by side, the statistics over all pixels, the interior and the border, the
  prediction and whether it held);
- :mod:`~imgconv.report.html`: :func:`render_html`, one self-contained page (inline CSS,
  every image a base64 ``data:`` URI, no network);
- :mod:`~imgconv.report.folder`: :func:`write_report` (``a.png``/``b.png``, ``.tif`` for
  float outputs, ``heatmap.png``, ``signed.png``, ``report.json``, ``report.html``),
  :func:`write_diff` (the folder of a :class:`~imgconv.diffing.DiffRun`),
  :func:`check_folder`, :func:`heatmap` and :func:`signed_image`;
- :mod:`~imgconv.report.display`: how images are shown (:func:`display_image`);
- :mod:`~imgconv.report.numbers`: the statistics as text, for the table and the page.

Colour maps, legends and kernel pictures live in :mod:`imgconv.viz` (re-exported here:
:func:`~imgconv.viz.inferno`, :data:`DIVERGING`, :func:`colorize_abs`, :func:`colorize_signed`,
:func:`srgb_to_lab`).
"""

from __future__ import annotations

from imgconv.report.display import display_image, display_range
from imgconv.report.folder import (
    REPORT_FILES,
    ReportImages,
    check_folder,
    heatmap,
    signed_image,
    write_diff,
    write_report,
)
from imgconv.report.html import render_html
from imgconv.report.numbers import stat_sections, variant_rows
from imgconv.report.terminal import print_report
from imgconv.viz import DIVERGING, colorize_abs, colorize_signed, srgb_to_lab

__all__ = [
    "DIVERGING",
    "REPORT_FILES",
    "ReportImages",
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
    "write_diff",
    "write_report",
]

