"""Kernel pictures (imgconv.viz) and the kernel in the report page: the colour bar's range,
the frequency axes, readable captions, the kernel shown once, inferno taken from OpenCV."""

from __future__ import annotations

import base64
import io
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from imgconv import viz
from imgconv.diffing import Variant, parse_variant, run_diff
from imgconv.kernels import Kernel, load_filter
from imgconv.options import FilterOptions
from imgconv.report import render_html

# -- the inferno map ----------------------------------------------------------------------
# matplotlib's inferno (the CC0 table of Smith & van der Walt), every 32nd entry and the last,
# as the hand-typed table imgconv carried before it took the map from OpenCV
MATPLOTLIB_INFERNO = {0: "000004", 32: "210c4a", 64: "57106e", 96: "8a226a", 128: "bc3754",
                      160: "e45a31", 192: "f98e09", 224: "f9cb35", 255: "fcffa4"}


def test_inferno_from_opencv_is_matplotlibs_within_one_level() -> None:
    lut = viz.inferno()
    assert lut.shape == (256, 3) and lut.dtype == np.uint8 and not lut.flags.writeable
    for i, hexa in MATPLOTLIB_INFERNO.items():
        ref = np.frombuffer(bytes.fromhex(hexa), np.uint8).astype(int)
        assert np.abs(lut[i].astype(int) - ref).max() <= 1, (i, lut[i], hexa)
    assert viz.inferno() is lut  # made once


def test_importing_viz_does_not_import_opencv() -> None:
    code = ("import sys, imgconv.viz, imgconv.report; assert 'cv2' not in sys.modules; "
            "imgconv.viz.inferno(); assert 'cv2' in sys.modules")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


# -- the colour bar of the weights ---------------------------------------------------------
def _bar_colours(panel: np.ndarray, cells: int) -> np.ndarray:
    """The distinct colours below the cells (legend and bar), as an N x 3 array."""
    return np.unique(panel[cells:].reshape(-1, 3), axis=0).astype(int)


def _is_blue(c: np.ndarray) -> np.ndarray:
    return c[:, 2] > c[:, 0] + 40


def _is_red(c: np.ndarray) -> np.ndarray:
    return c[:, 0] > c[:, 2] + 40


def test_all_positive_kernel_has_a_one_sided_bar() -> None:
    k = load_filter("gaussian5")  # every weight > 0
    top = float(k.array.max())
    scale = viz.weight_scale(k.array)
    assert (scale.lo, scale.hi) == (0.0, top)
    np.testing.assert_array_equal(scale.table, viz.DIVERGING[128:])
    assert scale.ticks[0] == "0"
    panel = viz.weights_panel(k.array, k.center, "as written")
    colours = _bar_colours(panel, 5 * (viz.PANEL // 5))
    assert not _is_blue(colours).any()  # no unused negative half
    assert (colours == viz.DIVERGING[256]).all(axis=1).any()  # the bar reaches +max


def test_all_negative_kernel_has_a_one_sided_bar() -> None:
    w = -load_filter("box3").array
    scale = viz.weight_scale(w)
    assert scale.lo == pytest.approx(-1 / 9) and scale.hi == 0.0
    np.testing.assert_array_equal(scale.table, viz.DIVERGING[:129])
    assert scale.ticks[-1] == "0"
    colours = _bar_colours(viz.weights_panel(w, (1, 1), "negative"), 3 * (viz.PANEL // 3))
    assert not _is_red(colours).any() and _is_blue(colours).any()


def test_kernel_of_both_signs_keeps_the_symmetric_bar() -> None:
    w = load_filter("sobel-x").array
    scale = viz.weight_scale(w)
    assert (scale.lo, scale.hi) == (-2.0, 2.0)
    np.testing.assert_array_equal(scale.table, viz.DIVERGING)
    colours = _bar_colours(viz.weights_panel(w, (1, 1), "signed"), 3 * (viz.PANEL // 3))
    assert _is_red(colours).any() and _is_blue(colours).any()


def test_captions_are_drawn_at_a_readable_size() -> None:
    """The caption under a 256-pixel panel is at least 12 pixels from the top of its capitals
    to the foot of its descenders (Pillow's font at 11 px, the old size, makes 10; at 15, 13)."""
    k = load_filter("gaussian5")
    panel = viz.weights_panel(k.array, k.center, "Ag")
    cells = 5 * (viz.PANEL // 5)
    dark = (panel[cells:].astype(int).sum(axis=2) < 300).any(axis=1)
    first = int(np.argmax(dark))
    run = int(np.argmin(dark[first:]))  # rows of the caption's first line
    assert run >= 12


# -- the frequency response on axes --------------------------------------------------------
def test_frequency_response_has_framed_axes_with_ticks() -> None:
    w = np.array([[1.0, -1.0]])
    panel = viz.response_panel(w)
    db = viz.frequency_response(w)
    n = db.shape[0]
    f = viz.PANEL // n
    side = n * f
    ink = np.all(panel == viz.INK, axis=2)
    # the frame: the columns and rows of ink as long as the plot and its two frame lines
    cols = np.flatnonzero(ink.sum(axis=0) >= side + 2)
    rows = np.flatnonzero(ink.sum(axis=1) >= side + 2)
    left, top = int(cols[0]) + 1, int(rows[0]) + 1
    assert int(cols[-1]) == left + side and int(rows[-1]) == top + side
    plot = np.repeat(np.repeat(viz.colorize_abs(db - viz.FLOOR_DB, -viz.FLOOR_DB), f, 0), f, 1)
    np.testing.assert_array_equal(panel[top:top + side, left:left + side], plot)
    # tick marks below the plot and left of it, at the middle of the bins of
    # -0.5, -0.25, 0, 0.25 and 0.5 cycles/pixel (bin k is (k - n/2) / n; 0.5 is bin n)
    want = [(round(t * n) + n // 2) * f + f // 2 for t in (-0.5, -0.25, 0.0, 0.25, 0.5)]
    below = np.flatnonzero(ink[top + side + 2, left:left + side + f])
    np.testing.assert_array_equal(below, want)
    beside = np.flatnonzero(ink[top:top + side + f, left - 4])
    np.testing.assert_array_equal(beside, want)
    # tick labels under the ticks and an axis label left of the tick labels
    assert ink[top + side + 8:, left:left + side].any()
    assert ink[top:top + side, :left // 3].any()


# -- the report page shows the kernel once -------------------------------------------------
def _page(kernel: Kernel) -> str:
    image = (np.random.default_rng(3).random((20, 24)) * 255).astype(np.uint8)
    va, vb = parse_variant("mode=correlate", Variant()), parse_variant("mode=convolve", Variant())
    out = run_diff(image, [kernel], va, vb, base=FilterOptions(dtype="uint8"))
    return render_html(out.report.as_dict(), input_image=image, a_out=out.a.values,
                       b_out=out.b.values, a_float=out.a.values, b_float=out.b.values,
                       kernel=kernel)


def _kernel_images(page: str) -> list[np.ndarray]:
    section = page[page.index(">Kernel</h2>"):]
    section = section[:section.index("<details>")]
    return [np.asarray(Image.open(io.BytesIO(base64.b64decode(uri))).convert("RGB"))
            for uri in re.findall(r'src="data:image/png;base64,([^"]+)"', section)]


def test_small_kernel_is_listed_once_and_drawn_only_as_its_response() -> None:
    k = load_filter("asym-3x3")
    page = _page(k)
    assert page.count('<table class="kernel">') == 2  # as written, as convolve applies it
    pictures = _kernel_images(page)
    assert len(pictures) == 1
    np.testing.assert_array_equal(pictures[0], viz.response_panel(k.array))


def test_large_kernel_is_drawn_once() -> None:
    k = load_filter("gaussian:sigma=4")  # 33 x 33: too many weights for the tables
    page = _page(k)
    assert '<table class="kernel">' not in page
    pictures = _kernel_images(page)
    assert len(pictures) == 1
    np.testing.assert_array_equal(pictures[0], viz.kernel_picture(k, "convolve"))
