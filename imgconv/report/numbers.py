"""The diff report's numbers as text, shared by the terminal table and the HTML page.

The report is the dict :func:`imgconv.diffing.run_diff` returns (statistics from
:func:`imgconv.compare.compare`, the two variants, the kernel, the prediction).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from imgconv.boundary import boundary_mode
from imgconv.options import VARIANT_KEYS

__all__ = [
    "Section",
    "headline",
    "num",
    "pct",
    "pixel_count",
    "psnr_text",
    "report_json",
    "stat_sections",
    "variant_rows",
]

#: A titled block of ``(label, cells)`` rows.
Section = tuple[str, list[tuple[str, list[str]]]]


def num(v: Any) -> str:
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


def pct(fraction: Any) -> str:
    """A fraction as a percentage, never rounded to 0 % or 100 % when it is not."""
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


def psnr_text(v: Any, pixels: int | None = None) -> str:
    """PSNR in dB; ``None`` is infinite (identical), or "—" when there are no pixels."""
    if v is None:
        return "—" if pixels == 0 else "∞ (identical)"
    return f"{float(v):.2f} dB"


def _channel_names(n: int) -> list[str]:
    return {2: ["gray", "alpha"], 3: ["R", "G", "B"], 4: ["R", "G", "B", "alpha"]}.get(
        n, [f"c{i}" for i in range(n)])


def _samples(v: Any) -> str:
    """Per-channel counts, ``/``-separated (the label names the channels)."""
    if not isinstance(v, list | tuple):
        return "—" if v is None else num(v)
    return " / ".join(num(c) for c in v)


def _bbox(v: Any) -> str:
    if not v:
        return "none"
    y0, x0, y1, x1 = (int(t) for t in v)
    return f"y {y0}:{y1}, x {x0}:{x1} ({y1 - y0}×{x1 - x0})"


def pixel_count(rep: dict[str, Any]) -> int | None:
    """The number of pixels a (sub-)report covers, from ``pixels`` or ``shape``."""
    if "pixels" in rep:
        return int(rep["pixels"])
    shape = rep.get("shape")
    if isinstance(shape, list | tuple) and len(shape) >= 2:
        return int(shape[0]) * int(shape[1])
    return None


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
            n = pixel_count(rep)
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
    psnr_label = "PSNR" + (f" (peak {num(peak)})" if peak is not None else "")
    before = [
        row("pixels", lambda r: num(pixel_count(r))),
        row("max abs diff", lambda r: num(r.get("max_abs_diff"))),
        row("mean abs diff", lambda r: num(r.get("mean_abs_diff"))),
        row("RMSE", lambda r: num(r.get("rmse"))),
        row(psnr_label, lambda r: psnr_text(r.get("psnr"), pixel_count(r))),
    ]
    after = [
        row("differing pixels", lambda r: (
            f"{num(r.get('differing_pixels'))} ({pct(r.get('differing_fraction'))})"
            if r.get("differing_pixels") is not None else "—")),
        row(samples_label, lambda r: _samples(r.get("differing_samples"))),
        row("bbox of differences", lambda r: _bbox(r.get("bbox")), only_all=True),
    ]
    if report.get("tolerance") is not None and str(dtype).startswith("float"):
        # integer outputs compare rounded values: the tolerance plays no part there
        after.append(row("tolerance", lambda r: num(report.get("tolerance")),
                         only_all=True))
    rounded = f"after rounding to {dtype}" if dtype else "after rounding"
    if dtype and str(dtype).startswith("float"):
        rounded = f"{dtype}, beyond the tolerance"
    return heads, [("before rounding", before), (rounded, after)]


def variant_rows(report: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """``(key, A, B, differs)`` for the variant options present in the report."""
    a = report.get("a") if isinstance(report.get("a"), dict) else {}
    b = report.get("b") if isinstance(report.get("b"), dict) else {}
    assert isinstance(a, dict) and isinstance(b, dict)
    rows = []
    constant = any(boundary_mode(str(v.get("boundary", "reflect"))).uses_cval for v in (a, b))
    for key in VARIANT_KEYS:
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
            return num(value) if key == "cval" else str(value)

        rows.append((key, text(a), text(b), a.get(key) != b.get(key)))
    return rows


def headline(report: dict[str, Any]) -> str:
    """"identical" or "differ in N pixels (p %)" (after rounding)."""
    n = report.get("differing_pixels")
    if report.get("identical") or n == 0:
        if report.get("max_abs_diff") == 0:
            return "A and B are identical (bit for bit)"
        if str(report.get("dtype", "")).startswith("float"):
            return (f"A and B agree within the tolerance (max abs diff "
                    f"{num(report.get('max_abs_diff'))})")
        return "A and B are identical after rounding"
    if n is None:
        return "A and B differ"
    return f"A and B differ in {num(n)} pixels ({pct(report.get('differing_fraction'))})"


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


def report_json(report: dict[str, Any]) -> str:
    """The report as indented JSON (numpy scalars and arrays, paths as plain values)."""
    return json.dumps(report, indent=2, default=_json_default, ensure_ascii=False)
