"""The ``diff`` report as one self-contained HTML page: inline CSS, every image a base64
``data:`` URI, no network, no script.

The page: a header (image, filters, the two variants), the verdict (the headline and
the prediction), cards of the main numbers, the gallery (input, A, B, ``|A - B|`` and
``A - B``, see :mod:`imgconv.report.display` for how they are shown), a closer look at
the largest difference for large images, the statistics and variant tables, the kernel
(its weights as tables and :func:`imgconv.viz.kernel_picture`), ``report.json`` and a
footer that says how to read it all.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from imgconv.options import VARIANT_KEYS
from imgconv.report.display import (
    _colour_channels,
    data_uri,
    difference,
    difference_previews,
    display_image,
    display_range,
    shrink_factor,
    shrink_mean,
)
from imgconv.report.numbers import (
    headline,
    num,
    pct,
    pixel_count,
    psnr_text,
    report_json,
    stat_sections,
    variant_rows,
)
from imgconv.report.style import CSS
from imgconv.viz import (
    DIVERGING,
    collapse_abs,
    collapse_signed,
    colorize_abs,
    colorize_signed,
    inferno,
    kernel_picture,
    response_panel,
    srgb_to_lab,
    tick_label,
    widen_sparse,
)

if TYPE_CHECKING:
    from imgconv.kernels import Kernel

__all__ = ["TABLE_SIDE", "render_html"]

TABLE_SIDE = 15  # kernels larger than this are drawn, not listed cell by cell


def _e(v: Any) -> str:
    return html.escape(str(v), quote=True)


# -- the gallery ------------------------------------------------------------------------
def _legend_html(table: npt.NDArray[np.uint8], ticks: Sequence[str], empty: str | None) -> str:
    if empty:
        return f'<div class="legend"><div class="ident">{_e(empty)}</div></div>'
    bar = data_uri(np.ascontiguousarray(table[None, :, :]))
    spans = "".join(f"<span>{_e(t)}</span>" for t in ticks)
    return (f'<div class="legend"><img alt="colour scale" src="{bar}">'
            f'<div class="ticks">{spans}</div></div>')


def _figure(rgb: npt.NDArray[np.uint8], title: str, meta: Sequence[str], *,
            legend: str = "", pixelated: bool | None = None, alt: str = "",
            photo: bool = False) -> str:
    w = rgb.shape[1]
    px = (w < 300) if pixelated is None else pixelated
    cls = "pic px" if px else "pic"
    lines = "".join(f'<span class="m">{m}</span>' for m in meta if m)
    src = data_uri(rgb, photo=photo)
    return (f'<figure><img class="{cls}" alt="{_e(alt or title)}" src="{src}">'
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
    return f"shown {num(rng[0])} … {num(rng[1])} → black … white"


def _preview(a: npt.NDArray[Any], f: int, lo: float | None = None,
             hi: float | None = None) -> npt.NDArray[np.uint8]:
    """``a`` reduced ``f`` times by block means, then as uint8 for display (the full-size
    image is never converted whole)."""
    c = _colour_channels(a)
    if f > 1:
        if c.dtype not in (np.uint8, np.uint16, np.int16, np.float32, np.float64):
            c = c.astype(np.float64)
        c = shrink_mean(c, f)
    return display_image(c, lo=lo, hi=hi)


def _shrunk_note(f: int) -> str:
    return f"shown at 1/{f} size" if f > 1 else ""


def _variant_caption(v: Any, other: Any) -> list[str]:
    """The options where this variant differs from the other one, and the method run."""
    if not isinstance(v, dict):
        return []
    o = other if isinstance(other, dict) else {}
    parts = [f"{k} {v[k]}" for k in VARIANT_KEYS
             if k in v and k != "mode" and v.get(k) != o.get(k)]
    used = v.get("method_used") or v.get("method")
    if used:
        parts.append(f"method {used}")
    return [_e(" · ".join(parts))] if parts else []


Shown = tuple[npt.NDArray[Any], npt.NDArray[np.uint8]]  # an array and its display image


def _image_figures(report: dict[str, Any], images: tuple[npt.NDArray[Any], ...],
                   shared: tuple[float, float] | None) -> list[str]:
    """The input (when there is one), A and B as previews, with what sets them apart."""
    img, qa, qb = images
    a_info, b_info = report.get("a"), report.get("b")
    a_mode = a_info.get("mode", "") if isinstance(a_info, dict) else ""
    b_mode = b_info.get("mode", "") if isinstance(b_info, dict) else ""
    kwargs: dict[str, float] = {} if shared is None else {"lo": shared[0], "hi": shared[1]}
    figs = []
    if img.size:
        f = shrink_factor(img.shape)
        name = Path(str(report["image"])).name if report.get("image") else "input"
        figs.append(_figure(_preview(img, f), "Input",
                            [_e(name), _e(_shape_text(img)), _e(_scaling_note(img, None)),
                             _shrunk_note(f)], photo=True))
    for label, mode, q, info, other in (("A", a_mode, qa, a_info, b_info),
                                        ("B", b_mode, qb, b_info, a_info)):
        f = shrink_factor(q.shape)
        figs.append(_figure(_preview(q, f, **kwargs),
                            f"{label} · {_e(mode)}" if mode else label,
                            _variant_caption(info, other) + [_e(_shape_text(q)),
                                                      _e(_scaling_note(q, shared)),
                                                      _shrunk_note(f)], photo=True))
    return figs


def _difference_figures(small_abs: npt.NDArray[Any], small_sig: npt.NDArray[Any], fd: int,
                        top: float, chans: str) -> list[str]:
    """``|A - B|`` and ``A - B`` (block maxima when large), each with its colour scale."""
    wide, width = widen_sparse(small_abs)
    heat = colorize_abs(wide, top)
    sig = colorize_signed(small_sig, top)
    small = f"shown at 1/{fd} size (block maximum)" if fd > 1 else ""
    if width > 1:
        small += (" · " if small else "") + f"each difference widened to {width} px to be seen"
    if top > 0:
        heat_leg = _legend_html(inferno(), [tick_label(0), tick_label(top / 2), tick_label(top)],
                                None)
        sig_leg = _legend_html(DIVERGING, [tick_label(-top).replace("-", "−", 1), "0",
                                           tick_label(top, True)], None)
    else:
        heat_leg = _legend_html(inferno(), (), "identical: |A − B| = 0 everywhere")
        sig_leg = _legend_html(DIVERGING, (), "identical: A − B = 0 everywhere")
    return [_figure(heat, "|A − B|", [f"before rounding{chans} · 0 … max", small],
                    legend=heat_leg, photo=True),
            _figure(sig, "A − B", ["blue: A &lt; B · white: equal · red: A &gt; B", small],
                    legend=sig_leg, photo=True)]


def _zoom_html(floats: tuple[npt.NDArray[Any], npt.NDArray[Any]], top: float,
               at: tuple[int, int],
               tiles: list[tuple[str, npt.NDArray[Any] | None, dict[str, float]]]) -> str:
    """Crops around the largest difference (``at``) at full resolution, for images too
    large to see it at a glance (only the crops are converted for display)."""
    fa, fb = floats
    h, w = fa.shape[:2]
    if top <= 0 or max(h, w) <= 160:
        return ""
    y, x = at
    side = 40
    y0 = int(min(max(y - side // 2, 0), max(h - side, 0)))
    x0 = int(min(max(x - side // 2, 0), max(w - side, 0)))
    sl = (slice(y0, y0 + side), slice(x0, x0 + side))
    figs = []
    for title, arr, kwargs in tiles:
        if arr is None or arr.shape[:2] != (h, w):
            continue
        figs.append(_figure(np.ascontiguousarray(display_image(arr[sl], **kwargs)), title, [],
                            pixelated=True))
    d = difference(fa[sl], fb[sl])
    figs.append(_figure(colorize_abs(collapse_abs(d), top), "|A − B|", [], pixelated=True))
    figs.append(_figure(colorize_signed(collapse_signed(d), top), "A − B", [], pixelated=True))
    ch, cw = min(side, h), min(side, w)
    return (f'<section class="zoom"><h2>Closer look: {ch}×{cw} pixels around the largest '
            f"difference, at (y {int(y)}, x {int(x)})</h2>"
            f'<div class="gallery">{"".join(figs)}</div></section>')


def _gallery_html(report: dict[str, Any], img: npt.NDArray[Any], outs: tuple[Any, Any],
                  floats: tuple[npt.NDArray[Any], npt.NDArray[Any]]) -> tuple[str, str]:
    """The gallery's figures (previews of at most :data:`DISPLAY_LIMIT` pixels a side),
    and the closer look at the largest difference (full resolution)."""
    qa, qb = outs
    fd = shrink_factor(floats[0].shape)
    small_abs, small_sig, top, at = difference_previews(floats[0], floats[1], fd)
    shared: tuple[float, float] | None = None
    if qa.dtype not in (np.uint8, np.uint16) or qb.dtype not in (np.uint8, np.uint16):
        shared = display_range(qa, qb)
    kwargs: dict[str, float] = {} if shared is None else {"lo": shared[0], "hi": shared[1]}
    in_range = {} if img.dtype in (np.uint8, np.uint16) or not img.size else dict(
        zip(("lo", "hi"), display_range(img), strict=True))
    chans = " (max over channels)" if floats[0].ndim == 3 and floats[0].shape[2] > 1 else ""
    figs = _image_figures(report, (img, qa, qb), shared)
    figs += _difference_figures(small_abs, small_sig, fd, top, chans)
    zoom = _zoom_html(floats, top, at, [("Input", img if img.size else None, in_range),
                                        ("A", qa, kwargs), ("B", qb, kwargs)])
    return "".join(figs), zoom


# -- the verdict, the numbers ---------------------------------------------------------------
def _verdict_html(report: dict[str, Any]) -> str:
    """Two statements, never one mark for both: whether the images differ (the large
    sign: = or ≠, no colour), and whether the prediction held (✓ green or ✗ red)."""
    same = bool(report.get("identical")) or report.get("differing_pixels") == 0
    held = report.get("prediction_held")
    pred = report.get("prediction")
    pred_html = ""
    if pred is not None:
        fate = ""
        if held is not None:
            fate = (f' — <span class="held {"ok" if held else "bad"}">'
                    f'{"✓ prediction held" if held else "✗ prediction did not hold"}</span>')
        pred_html = (f'<div class="pred">Predicted <span class="tag">{_e(pred)}</span>'
                     f"{fate}</div>")
        if report.get("reason"):
            pred_html += f'<div class="reason">{_e(report["reason"])}</div>'
    return (f'<section class="verdict"><div class="icon" title="'
            f'{"the images agree" if same else "the images differ"}">{"=" if same else "≠"}'
            f'</div><div><div class="what">Images: {_e(headline(report))}</div>{pred_html}'
            "</div></section>")


def _cards_html(report: dict[str, Any]) -> str:
    peak = report.get("psnr_peak")
    px_n = pixel_count(report)
    cards = [
        ("max |A − B|", num(report.get("max_abs_diff")), "largest difference, pixel units"),
        ("mean |A − B|", num(report.get("mean_abs_diff")), "over every sample"),
        ("RMSE", num(report.get("rmse")), "root mean square difference"),
        ("PSNR", psnr_text(report.get("psnr"), px_n),
         f"peak {num(peak)}" if peak is not None else ""),
        ("differing pixels", num(report.get("differing_pixels")),
         f"{pct(report.get('differing_fraction'))} of {num(px_n)}"
         + (f" after rounding to {report['dtype']}" if report.get("dtype") else "")),
    ]
    return "".join(
        f'<div class="card"><div class="label">{_e(label)}</div>'
        f'<div class="value">{_e(value)}</div><div class="note">{_e(note)}</div></div>'
        for label, value, note in cards)


def _stats_html(report: dict[str, Any]) -> str:
    heads, sections = stat_sections(report)
    body = []
    for name, rows in sections:
        body.append(f'<tr class="sec"><td colspan="{len(heads) + 1}">{_e(name)}</td></tr>')
        for label, cells in rows:
            body.append("<tr><td>" + _e(label) + "</td>"
                        + "".join(f"<td>{_e(c)}</td>" for c in cells) + "</tr>")
    return ('<div class="panel"><h2 style="margin-top:12px">The numbers</h2>'
            '<table class="num"><thead><tr><th></th>'
            + "".join(f"<th>{_e(h)}</th>" for h in heads)
            + "</tr></thead><tbody>" + "".join(body) + "</tbody></table></div>")


def _variants_html(report: dict[str, Any]) -> str:
    vrows = variant_rows(report)
    if not vrows:
        return ""
    return ('<div class="panel"><h2 style="margin-top:12px">The two variants</h2>'
            '<table class="num vars"><thead><tr><th></th><th>A</th><th>B</th></tr></thead>'
            "<tbody>" + "".join(
                f'<tr class="{"diff" if d else ""}"><td>{_e(k)}</td><td>{_e(a)}</td>'
                f"<td>{_e(b)}</td></tr>" for k, a, b, d in vrows)
            + "</tbody></table></div>")


# -- the kernel ---------------------------------------------------------------------------
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


def _num_kernel(v: float) -> str:
    if v == int(v) and abs(v) < 1e6:
        return str(int(v))
    return f"{v:.4g}"


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


def _kernel_boxes(kernel: Kernel, modes: set[str]) -> list[str]:
    """The weights as written and as convolve applies them, as tables (small kernels)."""
    kh, kw = kernel.shape
    if max(kernel.shape) > TABLE_SIDE:
        return [f'<div class="kbox"><div class="cap">The {kh}×{kw} weights are too many to '
                "list: they are drawn below, and written in report.json.</div></div>"]
    scale = f" × {kernel.scale:g}" if kernel.scale != 1 else ""
    boxes = ['<div class="kbox"><div class="cap"><b>as written</b>'
             + (" (correlate slides it like this)" if "correlate" in modes else "")
             + f"{_e(scale)}; anchor (row, col) {tuple(kernel.center)} outlined</div>"
             + _kernel_table(kernel.weights, kernel.center) + "</div>"]
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
    return boxes


def _kernel_props(kernel: Kernel) -> list[tuple[str, str]]:
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
    return props


def _info_props(info: dict[str, Any]) -> list[tuple[str, str]]:
    """The kernel's properties from the report alone (no :class:`Kernel` at hand)."""
    props = []
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
    return props


def _kernel_figure(kernel: Kernel, modes: set[str]) -> str:
    """The frequency response; the weights drawn too only when they are too many for the
    tables (the page shows the kernel once)."""
    if max(kernel.shape) <= TABLE_SIDE:
        pic = response_panel(kernel.array)
        alt, what = "the kernel's frequency response", "The magnitude of its"
    else:
        mode = "convolve" if "convolve" in modes else "correlate"
        pic = kernel_picture(kernel, mode)
        alt = "the kernel and its frequency response"
        rotated = mode == "convolve" and not kernel.correlate_equals_convolve
        what = ("The weights (blue negative, red positive), "
                + ("the kernel as convolve applies it, " if rotated else "")
                + "and the magnitude of its")
    return (f'<figure style="margin:14px 0 0"><img alt="{alt}" style="max-width:100%" '
            f'src="{data_uri(pic)}"><figcaption class="cap">{what} frequency response '
            "in dB — the same for correlate and convolve, since the 180° rotation only "
            "changes the phase (the convolution theorem).</figcaption></figure>")


def _kernel_html(report: dict[str, Any], kernel: Kernel | None) -> str:
    info = report.get("kernel") if isinstance(report.get("kernel"), dict) else {}
    assert isinstance(info, dict)
    modes = {str(v.get("mode")) for v in (report.get("a"), report.get("b"))
             if isinstance(v, dict)}
    boxes = _kernel_boxes(kernel, modes) if kernel is not None else []
    props = _kernel_props(kernel) if kernel is not None else _info_props(info)
    if not props and not boxes:
        return ""
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in props)
    picture = _kernel_figure(kernel, modes) if kernel is not None else ""
    return (f'<div class="panel"><h2 style="margin-top:12px">Kernel</h2>'
            f'<div class="kernels">{"".join(boxes)}'
            f'<table class="props">{rows}</table></div>{picture}</div>')


# -- the page ---------------------------------------------------------------------------
def _titles(report: dict[str, Any]) -> tuple[str, str, str]:
    """The page's ``<title>``, its ``<h1>`` (HTML) and the "A vs B" line (HTML or "")."""
    filters = report.get("filters") or []
    kinfo = report.get("kernel")
    fname = " → ".join(str(f) for f in filters) or (
        str(kinfo.get("name", "")) if isinstance(kinfo, dict) else "")
    image_name = Path(str(report["image"])).name if report.get("image") else ""
    title_bits = [b for b in (image_name, fname) if b]
    a_info, b_info = report.get("a"), report.get("b")
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
    page_title = "imgconv diff — " + (" · ".join(title_bits) or "report")
    return page_title, h1, sub


_HOW_TO_READ = """\
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
blue–white–red, symmetric about 0. The files beside this page keep the real values.</p>"""


def _page(report: dict[str, Any], *, gallery: str, zoom: str, kernel_html: str,
          files: Sequence[str]) -> str:
    import imgconv

    page_title, h1, sub = _titles(report)
    files_html = ""
    if files:
        files_html = ("<p>Files in this folder: "
                      + ", ".join(f"<code>{_e(f)}</code>" for f in files) + ".</p>")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(page_title)}</title>
<style>{CSS}</style>
</head>
<body>
<main>
<header><div class="kicker">imgconv diff report</div><h1>{h1}</h1>{sub}</header>
{_verdict_html(report)}
<section class="cards">{_cards_html(report)}</section>
<h2>Input, A, B and their difference</h2>
<section class="gallery">{gallery}</section>
{zoom}
<h2>Details</h2>
<section class="cols"><div>{_stats_html(report)}</div><div>{_variants_html(report)}</div></section>
{kernel_html}
<details><summary>report.json</summary><pre>{_e(report_json(report))}</pre></details>
<footer>
{_HOW_TO_READ}
{files_html}
<p>imgconv {_e(imgconv.__version__)}</p>
</footer>
</main>
</body>
</html>
"""


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
    """The report as one self-contained HTML page (inline CSS, images as data: URIs).

    ``report`` is the diff report; ``input_image`` the image both variants filtered
    (empty: not shown); ``a_out``/``b_out`` the outputs as written; ``a_float``/``b_float``
    the results before rounding (their difference is drawn); ``kernel`` the filter, when
    there is one, drawn with its frequency response; ``files`` the report folder's files,
    listed in the footer.
    """
    gallery, zoom = _gallery_html(report, np.asarray(input_image),
                                  (np.asarray(a_out), np.asarray(b_out)),
                                  (np.asarray(a_float), np.asarray(b_float)))
    return _page(report, gallery=gallery, zoom=zoom, kernel_html=_kernel_html(report, kernel),
                 files=files)
