"""The report folder: ``report.json`` and a self-contained ``report.html`` (previews); with
``full_resolution`` also ``a.png``/``b.png`` (``.tif`` for float outputs), ``heatmap.png``
and ``signed.png`` at full size.

:func:`heatmap` and :func:`signed_image` draw ``|A - B|`` and ``A - B`` as RGB images
with a colour bar and its scale below (Pillow's default font).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from imgconv import viz
from imgconv.errors import OutputError
from imgconv.report.display import differences
from imgconv.report.html import render_html
from imgconv.report.numbers import report_json

if TYPE_CHECKING:
    from imgconv.diffing import DiffRun
    from imgconv.kernels import Kernel

__all__ = ["REPORT_FILES", "ReportImages", "check_folder", "heatmap", "signed_image",
           "write_diff", "write_report"]

#: Every file a report folder may contain (``a``/``b`` are ``.tif`` for float outputs).
REPORT_FILES: tuple[str, ...] = (
    "a.png", "a.tif", "b.png", "b.tif", "heatmap.png", "signed.png", "report.json",
    "report.html",
)


def _with_scale(rgb: npt.NDArray[np.uint8], table: npt.NDArray[np.uint8], title: str,
                top: float, ticks: list[str], identical: str) -> npt.NDArray[np.uint8]:
    """``rgb`` with its colour bar, or the note ``identical`` when every difference is 0."""
    if top == 0:
        return viz.with_legend(rgb, table, (), title, identical)
    return viz.with_legend(rgb, table, ticks, title, None)


def heatmap(diff_abs: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    """The ``|A - B|`` heat-map with its colour bar, as an RGB uint8 image.

    ``diff_abs`` is H x W or H x W x C (the maximum over channels is shown).  The map
    occupies ``out[:H, :W]`` pixel for pixel (:func:`~imgconv.viz.colorize_abs`; sparse
    differences, such as a 1-pixel frame along the border, are widened to be seen and the
    legend says so: :func:`~imgconv.viz.widen_sparse`); below
    it a colour bar labelled ``0``, the middle and the maximum in pixel units.  When every
    difference is 0 the legend says "identical" instead of a 0..0 scale.  The image is
    at least :data:`~imgconv.viz.LEGEND_MIN_WIDTH` wide (padded with white on the right).
    """
    d, width = viz.widen_sparse(viz.collapse_abs(diff_abs))
    top = viz.finite_max(d)
    ticks = [viz.tick_label(0.0), viz.tick_label(top / 2), viz.tick_label(top)]
    title = "|A-B| (pixel units)" + (f", thin lines widened to {width} px"
                                     if width > 1 else "")
    return _with_scale(viz.colorize_abs(d, top), viz.inferno(), title, top, ticks,
                       "identical: |A-B| = 0 everywhere")


def signed_image(diff: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    """The signed difference ``A - B`` with its colour bar, as an RGB uint8 image.

    Like :func:`heatmap` with :data:`~imgconv.viz.DIVERGING`, symmetric about 0 (``-max``
    blue, ``0`` white, ``+max`` red; for C channels the channel of largest magnitude).
    """
    d = viz.collapse_signed(diff)
    top = viz.finite_max(d)
    ticks = [viz.tick_label(-top), viz.tick_label(0.0), viz.tick_label(top, signed=True)]
    return _with_scale(viz.colorize_signed(d, top), viz.DIVERGING,
                       "A-B (blue: A < B, red: A > B)", top, ticks,
                       "identical: A-B = 0 everywhere")


def check_folder(folder: str | os.PathLike[str], *, overwrite: bool = False) -> None:
    """Refuse, before any work, a report folder that cannot be written or would be replaced.

    Without ``overwrite``, any of :data:`REPORT_FILES` already in the folder is refused
    (an :class:`~imgconv.errors.OutputError` naming it and suggesting ``--overwrite``).
    A missing folder is fine (it is created) if its nearest existing parent is a
    writable folder.
    """
    target = Path(folder)
    if target.exists() and not target.is_dir():
        raise OutputError("{file}: exists and is not a folder: choose another report folder",
                          file=target)
    if target.is_dir():
        if not os.access(target, os.W_OK | os.X_OK):
            raise OutputError("{file}: the report folder is not writable", file=target)
        if overwrite:
            return
        existing = [n for n in REPORT_FILES if os.path.lexists(target / n)]
        if existing:
            more = f" (and {len(existing) - 1} more report files)" if len(existing) > 1 else ""
            raise OutputError(f"{{file}}: already exists{more}: use {{overwrite}} "
                              "to replace the report, or choose another folder",
                              values={"overwrite": True}, file=target / existing[0])
        return
    parent = target.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{{file}}: cannot create the report folder ({parent} is not a "
                          "writable folder)", file=target)


def _image_name(stem: str, a: npt.NDArray[Any]) -> str:
    return f"{stem}.png" if a.dtype in (np.uint8, np.uint16) else f"{stem}.tif"


@dataclass
class ReportImages:
    """The images of a report: the input as filtered, both outputs as written (quantised)
    and both float results before rounding."""

    input_image: npt.NDArray[Any]
    a_out: npt.NDArray[Any]
    b_out: npt.NDArray[Any]
    a_float: npt.NDArray[Any]
    b_float: npt.NDArray[Any]


def write_report(
    folder: str | os.PathLike[str],
    report: dict[str, Any],
    images: ReportImages,
    *,
    kernel: Kernel | None = None,
    overwrite: bool = False,
    full_resolution: bool = False,
) -> list[Path]:
    """Write the report folder; return the files written, in order.

    ``report.json`` is ``report``; ``report.html`` shows it all in one self-contained page,
    the images as previews of at most :data:`~imgconv.report.display.DISPLAY_LIMIT` pixels
    a side (the close-up at full resolution).  With ``full_resolution`` also, at full size:
    ``a.png``/``b.png`` (``.tif`` when the output dtype is float), the quantised outputs
    ``images.a_out``/``b_out``; ``heatmap.png`` and ``signed.png``, ``a_float - b_float``
    (before rounding) with their colour bars.  Existing report files are refused before
    anything is written unless ``overwrite``; every file is written atomically (temporary
    file, then rename).
    """
    from imgconv.outputs import write_image, write_text

    target = Path(folder)
    check_folder(target, overwrite=overwrite)
    qa, qb = np.asarray(images.a_out), np.asarray(images.b_out)
    a_float, b_float = images.a_float, images.b_float
    full: list[tuple[str, npt.NDArray[Any]]] = []
    if full_resolution:
        dabs, dsig = differences(a_float, b_float)
        full = [(_image_name("a", qa), qa), (_image_name("b", qb), qb),
                ("heatmap.png", heatmap(dabs)), ("signed.png", signed_image(dsig))]
    names = [n for n, _ in full] + ["report.json", "report.html"]
    text = report_json(report) + "\n"
    page = render_html(report, input_image=images.input_image, a_out=qa, b_out=qb,
                       a_float=a_float, b_float=b_float, kernel=kernel, files=names)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{{file}}: cannot create the report folder "
                          f"({exc.strerror or exc})", file=target) from exc
    written: list[Path] = []
    for name, arr in full:
        write_image(target / name, arr, overwrite=overwrite)
        written.append(target / name)
    for name, content in (("report.json", text), ("report.html", page)):
        write_text(target / name, content, overwrite=overwrite)
        written.append(target / name)
    return written


def write_diff(folder: str | os.PathLike[str], run: DiffRun, kernels: Sequence[Kernel], *,
               overwrite: bool = False, full_resolution: bool = False) -> list[Path]:
    """The report folder of a ``diff`` run (also ``apply --report``): both outputs as the
    run would write them, then :func:`write_report` (full-size images only with
    ``full_resolution``)."""
    outcome = run.outcome
    a_out, b_out = outcome.outputs()
    images = ReportImages(run.array, a_out, b_out, outcome.a_values, outcome.b_values)
    return write_report(folder, outcome.report.as_dict(), images,
                        kernel=kernels[0] if len(kernels) == 1 else None, overwrite=overwrite,
                        full_resolution=full_resolution)
