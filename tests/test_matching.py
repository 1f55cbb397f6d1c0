"""Template matching (docs/semantics.md §8) against oracles imgconv did not compute: a
brute-force double-precision sum of OpenCV's documented formulas (below, written from the
``TemplateMatchModes`` documentation), OpenCV's ``matchTemplate`` itself and
scikit-image's ``match_template``; peaks on real photos.

Photos: scikit-image's ``camera`` and ``astronaut`` (files the installed package ships).
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view
from skimage import data

import imgconv
from imgconv.errors import ImgconvError
from imgconv.peaks import PeakFinder

METHODS = ("sqdiff", "sqdiff_normed", "ccorr", "ccorr_normed", "ccoeff", "ccoeff_normed")
CV = {m: getattr(cv2, "TM_" + m.upper()) for m in METHODS}


@pytest.fixture(scope="module")
def grey() -> np.ndarray:
    return data.camera()  # 512² uint8


@pytest.fixture(scope="module")
def colour() -> np.ndarray:
    return data.astronaut()  # 512² RGB uint8


# -- the oracle: OpenCV's formulas summed literally ------------------------------------------
def oracle(image: np.ndarray, template: np.ndarray, method: str,
           mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """(numerator, denominator or None, the image's part of the denominator) of every
    window, in float64, from OpenCV's documented formulas (with mask M; M = 1 without):

    sqdiff: sum ((T - I)·M)²; ccorr: sum T·I·M²; ccoeff: sum T'·I' with
    T' = M·(T - sum(M·T)/sum(M)), I' = M·(I - sum(M·I)/sum(M)) per channel; the normed
    ones divide by sqrt(sum (T·M)² · sum (I·M)²), or sqrt(sum T'² · sum I'²).  Colour:
    every sum runs over the channels too."""
    img = np.asarray(image, dtype=np.float64)
    t = np.asarray(template, dtype=np.float64)
    if img.ndim == 2:
        img, t = img[:, :, None], t[:, :, None]
    h, w, c = t.shape
    m = np.ones_like(t) if mask is None else np.broadcast_to(
        (mask if mask.ndim == 3 else mask[:, :, None]).astype(np.float64), t.shape)
    win = sliding_window_view(img, (h, w), axis=(0, 1)).transpose(0, 1, 3, 4, 2)
    family = method.removesuffix("_normed")
    if family == "ccoeff":
        tp = m * (t - (m * t).sum(axis=(0, 1)) / m.sum(axis=(0, 1)))
        means = (win * m).sum(axis=(2, 3)) / m.sum(axis=(0, 1))
        ip = m * (win - means[:, :, None, None, :])
        num = (tp * ip).sum(axis=(2, 3, 4))
        t_part, i_part = (tp * tp).sum(), (ip * ip).sum(axis=(2, 3, 4))
    else:
        if family == "sqdiff":
            num = (((t - win) * m) ** 2).sum(axis=(2, 3, 4))
        else:
            num = (t * win * m * m).sum(axis=(2, 3, 4))
        t_part, i_part = ((t * m) ** 2).sum(), ((win * m) ** 2).sum(axis=(2, 3, 4))
    den = np.sqrt(t_part * i_part) if method.endswith("_normed") else None
    return num, den, i_part


def crop(a: np.ndarray, y: int, x: int, h: int, w: int) -> np.ndarray:
    return np.ascontiguousarray(a[y:y + h, x:x + w])


CASES = [  # (photo, image box, template box)
    ("grey", (200, 150, 90, 110), (230, 180, 17, 23)),
    ("colour", (180, 200, 80, 96), (100, 240, 13, 16)),
]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("masking", ["none", "weights", "binary"])
def test_every_method_equals_the_oracle(method, case, masking, grey, colour):
    """Grey and colour photos, every method, no mask / weights in 0..1 / a 0-1 mask: within
    1e-9 of the double-precision oracle (absolute for normed scores of windows that are not
    near-flat; relative to the window's magnitude otherwise)."""
    name, ibox, tbox = CASES[case]
    photo = grey if name == "grey" else colour
    image, template = crop(photo, *ibox), crop(photo, *tbox)
    rng = np.random.default_rng(case)
    mask = None
    if masking == "weights":
        mask = rng.random(template.shape[:2])
    elif masking == "binary":
        mask = (rng.random(template.shape[:2]) > 0.3).astype(np.float64)
    ours = imgconv.match_template(image, template, method=method, mask=mask)
    num, den, i_part = oracle(image, template, method, mask)
    assert ours.dtype == np.float64 and ours.shape == num.shape
    assert np.isfinite(ours).all()
    if den is None:  # relative to the window's magnitude: sqrt(sum (TM)² · sum (IM)²)
        t = template.astype(np.float64)
        weights = 1.0 if mask is None else (mask if t.ndim == 2 else mask[:, :, None])
        _, _, energy = oracle(image, template, "ccorr_normed", mask)
        scale = np.sqrt(float(((t * weights) ** 2).sum()) * energy)
        if method == "sqdiff":
            scale = float(((t * weights) ** 2).sum()) + energy
        assert np.max(np.abs(ours - num) / scale) <= 1e-9
    else:
        ordinary = i_part > 1e-4 * i_part.max()
        assert ordinary.mean() > 0.9
        assert np.max(np.abs(ours - num / den)[ordinary]) <= 1e-9


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("masked", [False, True])
def test_opencv_agrees_to_its_single_precision(method, masked, grey, colour):
    """OpenCV's matchTemplate on float32 inputs, where it is finite and its value is not one
    of its special cases (sqdiff_normed capped at 1; near-flat windows)."""
    for photo in (grey, colour):
        image = crop(photo, 120, 270, 70, 84).astype(np.float32)
        template = crop(photo, 150, 300, 15, 13).astype(np.float32)
        mask = (np.random.default_rng(3).random(template.shape[:2]).astype(np.float32)
                if masked else None)
        ours = imgconv.match_template(image, template, method=method, mask=mask)
        theirs = cv2.matchTemplate(image, template, CV[method], mask=mask)
        num, den, i_part = oracle(image, template, method, mask)
        keep = np.isfinite(theirs) & (i_part > 1e-3 * i_part.max())
        if method == "sqdiff_normed":
            keep &= theirs < 1.0
        assert keep.mean() > 0.5
        # single precision: relative to the magnitude of the sums OpenCV forms
        t_part = oracle(image, template, "ccorr_normed", mask)[2]
        tw = template.astype(np.float64) * (1.0 if mask is None else (
            mask if template.ndim == 2 else mask[:, :, None]))
        scale = (np.sqrt(float((tw**2).sum()) * t_part) if method != "sqdiff"
                 else float((tw**2).sum()) + t_part)
        tol = 1e-5
        if method.endswith("_normed"):  # ... over the denominator: its conditioning
            scale, tol = scale / den, 1e-5
        worst = float(np.max((np.abs(ours - theirs) / scale)[keep]))
        assert worst <= tol, worst


def test_sqdiff_normed_is_not_capped_at_one_as_opencv_does(grey):
    image = crop(grey, 0, 0, 60, 60).astype(np.float32) / 20  # dark: about 10
    template = np.full((5, 5), 250.0, dtype=np.float32)
    template[2, 2] = 0.0
    ours = imgconv.match_template(image, template, method="sqdiff_normed")
    theirs = cv2.matchTemplate(image, template, cv2.TM_SQDIFF_NORMED)
    num, den, _ = oracle(image, template, "sqdiff_normed")
    assert theirs.max() <= 1.0 and ours.max() > 1.0
    assert np.allclose(ours, num / den, rtol=1e-9, atol=0)


@pytest.mark.parametrize("pad_input", [False, True])
def test_scikit_image_agrees(pad_input, grey):
    from skimage.feature import match_template as sk_match

    image = crop(grey, 40, 300, 100, 120).astype(np.float64)
    template = crop(grey, 80, 330, 15, 12).astype(np.float64)
    ours = imgconv.match_template(image, template, pad_input=pad_input)
    theirs = sk_match(image, template, pad_input=pad_input)
    assert ours.shape == theirs.shape == ((100, 120) if pad_input else (86, 109))
    assert np.max(np.abs(ours - theirs)) <= 1e-6


def test_pad_input_puts_each_score_at_the_window_centre(grey):
    image = crop(grey, 0, 0, 50, 60).astype(np.float64)
    template = crop(grey, 20, 30, 8, 7)
    padded = np.pad(image, ((4, 3), (3, 3)))
    whole = imgconv.match_template(image, template, pad_input=True)
    assert whole.shape == image.shape
    assert np.array_equal(whole, imgconv.match_template(padded, template))
    best = imgconv.find_peaks(whole)[0]
    assert (best.y, best.x) == (20 + 8 // 2, 30 + 7 // 2)


# -- defined everywhere ------------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_flat_templates_regions_and_single_weights_stay_in_range(method, grey):
    image = crop(grey, 300, 100, 60, 70).astype(np.float64)
    image[10:40, 5:45] = 37.0  # a flat region
    image[45:, 50:] = 0.0  # an all-zero region
    templates = [np.full((9, 9), 12.5), np.zeros((9, 9)), crop(grey, 310, 120, 9, 9)]
    single = np.zeros((9, 9))
    single[4, 6] = 0.7
    for template in templates:
        for mask in (None, single):
            s = imgconv.match_template(image, template, method=method, mask=mask)
            assert np.isfinite(s).all()
            if method in ("ccorr_normed", "ccoeff_normed"):
                assert np.abs(s).max() <= 1.0
            if method.startswith("sqdiff"):
                assert s.min() >= 0.0
    flat = imgconv.match_template(image, np.full((9, 9), 12.5), method=method)
    if method == "ccoeff_normed":  # a flat template: every denominator is zero
        assert not flat.any()
    inside = imgconv.match_template(image, templates[2], method=method)[10:32, 5:37]
    if method == "ccoeff_normed":  # windows inside the flat region
        assert not inside.any()
    zero = imgconv.match_template(image, templates[2], method=method)[45:, 50:53]
    if method in ("ccorr_normed", "sqdiff_normed"):  # windows inside the all-zero region
        assert not zero.any()


def test_a_single_weight_makes_ccoeff_normed_zero(grey):
    image = crop(grey, 0, 0, 40, 40)
    mask = np.zeros((7, 7))
    mask[3, 3] = 1.0
    assert not imgconv.match_template(image, crop(grey, 5, 5, 7, 7), mask=mask).any()


@settings(max_examples=25, deadline=None)
@given(a=st.floats(-1e3, 1e3), b=st.floats(-1e4, 1e4), seed=st.integers(0, 2**16))
def test_ccoeff_normed_is_invariant_to_gain_and_offset(a, b, seed):
    """ccoeff_normed(a·I + b, T) = sign(a) · ccoeff_normed(I, T) on windows that are not
    near-flat."""
    assume(abs(a) > 1e-3)
    photo = data.camera()
    rng = np.random.default_rng(seed)
    y, x = rng.integers(0, 400, 2)
    image = crop(photo, y, x, 48, 56).astype(np.float64)
    template = crop(photo, y + 10, x + 12, 9, 11)
    base = imgconv.match_template(image, template)
    moved = imgconv.match_template(a * image + b, template)
    _, _, i_part = oracle(image, template, "ccoeff_normed")
    ordinary = i_part > 1e-3 * float(template.size) * 255.0**2
    assume(ordinary.any())
    assert np.max(np.abs(moved - math.copysign(1, a) * base)[ordinary]) <= 1e-9


@pytest.mark.parametrize("offset", [1e5, 1e6, -3e7])
def test_an_offset_of_template_and_image_cancels_in_ccoeff(offset, grey):
    """A photo in 0..1 on a large offset (a float image far from 0): the offset cancels in
    T - mean(T) and I - mean(I), so ccoeff and ccoeff_normed equal the oracle's (which
    subtracts the means first) to round-off; not 0 everywhere (the template's scale once
    counted the offset: "flat"), nor off by the rounding of its mean times the window's
    offset (1e-8 here)."""
    photo = grey.astype(np.float64) / 255 + offset
    image, template = crop(photo, 200, 150, 70, 80), crop(photo, 230, 180, 17, 23)
    num, den, _ = oracle(image, template, "ccoeff_normed")
    for method in ("ccoeff_normed", "ccoeff"):
        got = imgconv.match_template(image, template, method=method)
        want = num / den if method == "ccoeff_normed" else num
        scale = 1.0 if method == "ccoeff_normed" else den
        assert np.max(np.abs(got - want) / scale) <= 1e-9


def test_a_constant_template_whose_mean_is_inexact_is_flat(colour):
    """0.1 is not a double: its mean over 525 pixels is off by a few ulps, which must not
    make the template's variance a tiny positive number and its scores noise."""
    image = crop(colour, 150, 150, 60, 70).astype(np.float64) / 255
    for mask in (None, np.linspace(0.1, 1, 21 * 25).reshape(21, 25)):
        flat = imgconv.match_template(image, np.full((21, 25, 3), 0.1), mask=mask)
        assert not flat.any()


# -- finding things in photos ------------------------------------------------------------------
def test_a_noisy_patch_is_found_at_its_exact_place(colour):
    image = colour.astype(np.float64)
    rng = np.random.default_rng(7)
    for y, x in ((200, 180), (60, 330), (400, 90)):
        patch = image[y:y + 64, x:x + 64] + rng.normal(0, 12, (64, 64, 3))
        best = imgconv.find_peaks(imgconv.match_template(image, patch))[0]
        assert (best.y, best.x) == (y, x)
        assert best.score > 0.8


def test_a_subpixel_shift_is_recovered_within_a_tenth_of_a_pixel(grey):
    image = grey.astype(np.float64)
    y, x = 300, 300  # a textured place (the tripod's legs on the grass)
    template = image[y:y + 48, x:x + 48].copy()
    for dy, dx in ((0.3, -0.35), (-0.2, 0.45), (0.0, 0.25)):
        shifted = ndi.shift(image, (dy, dx), order=3, mode="nearest")
        best = imgconv.find_peaks(imgconv.match_template(shifted, template))[0]
        assert abs(best.y_subpixel - (y + dy)) <= 0.1
        assert abs(best.x_subpixel - (x + dx)) <= 0.1


def test_a_subpixel_shift_at_an_edge_at_an_angle_is_not_pulled_along_the_axes(grey):
    """The coat's folds run at an angle: the score peak is a tilted ridge, which parabolas
    along the middle row and column alone misplace by up to 0.2 px here (0.7 px on other
    photos); the 3×3 quadratic fit with its cross term does not."""
    image = grey.astype(np.float64)
    y, x = 116, 48  # the camera man's coat
    template = image[y:y + 64, x:x + 64].copy()
    region = (slice(y - 40, y + 104), slice(x - 40, x + 104))
    spectrum = np.fft.fft2(image)
    for dy, dx in ((0.25, 0.0), (0.0, 0.25), (0.4, 0.0), (-0.3, 0.2)):
        shifted = np.real(np.fft.ifft2(ndi.fourier_shift(spectrum, (dy, dx))))
        best = imgconv.find_peaks(imgconv.match_template(shifted[region], template))[0]
        assert abs(best.y_subpixel - (40 + dy)) <= 0.1
        assert abs(best.x_subpixel - (40 + dx)) <= 0.1


def test_subpixel_of_a_tilted_quadratic_peak_is_its_vertex():
    y, x = np.mgrid[0:12, 0:12]
    u, v = (y - 5.3) + (x - 6.4), (y - 5.3) - (x - 6.4)
    best = imgconv.find_peaks(-0.2 * u**2 - 3.0 * v**2)[0]
    assert best.y_subpixel == pytest.approx(5.3) and best.x_subpixel == pytest.approx(6.4)



# -- refine: the sub-pixel position from the image itself -----------------------------------
def _fourier_shift(image: np.ndarray, dy: float, dx: float) -> np.ndarray:
    return np.real(np.fft.ifft2(ndi.fourier_shift(np.fft.fft2(image), (dy, dx))))


def test_refine_locates_a_peak_far_sharper_across_than_along_within_a_tenth_of_a_pixel():
    """Chelsea's whiskers (accept_match.py item 3b's worst case): the score peak is so much
    sharper in one direction that a quadratic through the 3×3 scores is off by ~0.5 px;
    the score maximised over sub-pixel offsets of the image is within 0.1 px."""
    from imgconv.matching import refine

    image = cv2.cvtColor(data.chelsea(), cv2.COLOR_RGB2GRAY).astype(np.float64)
    y0, x0, dy, dx = 187, 68, 0.41, -0.263
    template = image[y0:y0 + 64, x0:x0 + 64].copy()
    window = _fourier_shift(image, dy, dx)[y0 - 40:y0 + 104, x0 - 40:x0 + 104]
    found = imgconv.find_peaks(imgconv.match_template(window, template))
    best = refine(window, template, found)[0]
    assert (best.y, best.x, best.score) == (found[0].y, found[0].x, found[0].score)
    assert abs(best.y_subpixel - (40 + dy)) <= 0.1
    assert abs(best.x_subpixel - (40 + dx)) <= 0.1



def test_the_command_line_reports_the_refined_position(tmp_path):
    """``imgconv match --json`` on the same case: x_subpixel, y_subpixel within 0.1 px."""
    import json

    from typer.testing import CliRunner

    from imgconv.cli import app

    image = cv2.cvtColor(data.chelsea(), cv2.COLOR_RGB2GRAY).astype(np.float64)
    y0, x0, dy, dx = 187, 68, 0.41, -0.263
    np.save(tmp_path / "t.npy", image[y0:y0 + 64, x0:x0 + 64])
    np.save(tmp_path / "i.npy", _fourier_shift(image, dy, dx)[y0 - 40:y0 + 104,
                                                               x0 - 40:x0 + 104])
    r = CliRunner().invoke(app, ["match", str(tmp_path / "i.npy"), str(tmp_path / "t.npy"),
                                 "--json"])
    assert r.exit_code == 0, r.output
    best = json.loads(r.stdout)["matches"][0]
    assert abs(best["y_subpixel"] - (40 + dy)) <= 0.1
    assert abs(best["x_subpixel"] - (40 + dx)) <= 0.1

@pytest.mark.parametrize("method", ["sqdiff", "ccorr_normed", "ccoeff_normed"])
def test_refine_follows_every_method_with_a_mask_and_colour(colour, method):
    from imgconv.matching import refine

    image = colour.astype(np.float64)
    y, x, dy, dx = 190, 200, -0.32, 0.27  # the astronaut's badge
    template = image[y:y + 48, x:x + 48].copy()
    mask = np.ones((48, 48))
    mask[:12] = 0.5
    shifted = np.stack([ndi.shift(image[:, :, c], (dy, dx), order=3, mode="nearest")
                        for c in range(3)], axis=2)
    scores = imgconv.match_template(shifted, template, method=method, mask=mask)
    found = imgconv.find_peaks(scores, method=method)
    assert (found[0].y, found[0].x) == (y, x)
    best = refine(shifted, template, found, method=method, mask=mask)[0]
    assert abs(best.y_subpixel - (y + dy)) <= 0.05
    assert abs(best.x_subpixel - (x + dx)) <= 0.05


def test_refine_reads_rows_and_takes_centred_positions(grey):
    from imgconv.bands import ArraySource
    from imgconv.matching import refine

    image = grey.astype(np.float64)
    y, x, dy, dx = 300, 300, 0.2, -0.4
    template = image[y:y + 48, x:x + 48].copy()
    shifted = ndi.shift(image, (dy, dx), order=3, mode="nearest")
    corner = refine(ArraySource(shifted), template,
                    imgconv.find_peaks(imgconv.match_template(shifted, template)))[0]
    centre = refine(shifted, template, imgconv.find_peaks(
        imgconv.match_template(shifted, template, pad_input=True)), pad_input=True)[0]
    assert abs(corner.y_subpixel - (y + dy)) <= 0.05
    assert abs(corner.x_subpixel - (x + dx)) <= 0.05
    assert centre.y_subpixel == pytest.approx(corner.y_subpixel + 24, abs=1e-9)
    assert centre.x_subpixel == pytest.approx(corner.x_subpixel + 24, abs=1e-9)


def test_refine_keeps_a_match_at_the_border_or_on_a_flat_image():
    from imgconv.matching import REFINE_MARGIN, refine
    from imgconv.peaks import Match

    rng = np.random.default_rng(3)
    image = rng.normal(0, 1, (40, 50))
    template = image[:16, 10:26].copy()
    near = [Match(REFINE_MARGIN - 1, 10, 1.0, REFINE_MARGIN - 1.2, 10.3),
            Match(5, 50 - 16 - REFINE_MARGIN + 1, 1.0, 5.4, 31.6)]
    assert refine(image, template, near) == near
    flat = Match(10, 10, 0.0, 10.25, 9.8)
    assert refine(np.full((40, 50), 7.0), template, [flat]) == [flat]


def test_five_planted_copies_are_found_apart(grey):
    rng = np.random.default_rng(11)
    image = rng.normal(128, 30, (300, 360))
    patch = grey[200:232, 250:282].astype(np.float64)
    spots = [(10, 20), (15, 200), (130, 100), (200, 300), (250, 30)]
    for y, x in spots:
        image[y:y + 32, x:x + 32] = patch
    found = imgconv.find_peaks(imgconv.match_template(image, patch), top=5, min_distance=16)
    assert sorted((m.y, m.x) for m in found) == sorted(spots)
    assert all(m.score > 0.999 for m in found)
    assert [m.score for m in found] == sorted((m.score for m in found), reverse=True)


# -- peaks ------------------------------------------------------------------------------------
def test_peaks_best_first_ties_by_row_then_column_and_suppression():
    s = np.zeros((9, 12))
    s[2, 3] = s[2, 9] = s[6, 1] = 0.8  # ties: by row, then column
    s[2, 4] = 0.5  # beaten by its neighbour
    s[7, 10] = 0.9
    got = imgconv.find_peaks(s, top=None, min_score=0.1)
    assert [(m.y, m.x, m.score) for m in got] == [(7, 10, 0.9), (2, 3, 0.8), (2, 9, 0.8),
                                                   (6, 1, 0.8)]
    assert [(m.y, m.x) for m in imgconv.find_peaks(s, top=2, min_score=0.1,
                                                   min_distance=0)] == [(7, 10), (2, 3)]
    assert len(imgconv.find_peaks(s, top=None, min_score=0.1, min_distance=0)) == 5
    # (6, 1) is within 4 of (2, 3), which comes first
    assert [(m.y, m.x) for m in imgconv.find_peaks(s, top=None, min_score=0.1,
                                                   min_distance=4)] == [(7, 10), (2, 3), (2, 9)]


def test_a_plateau_gives_one_peak_its_first_position():
    s = np.zeros((6, 8))
    s[2:4, 3:6] = 1.0
    got = imgconv.find_peaks(s, top=None, min_score=0.5)
    assert [(m.y, m.x) for m in got] == [(2, 3)]


def test_sqdiff_wants_the_smallest_and_min_score_is_a_maximum():
    s = np.full((5, 5), 10.0)
    s[1, 1], s[3, 3] = 2.0, 4.0
    got = imgconv.find_peaks(s, top=None, min_score=5.0, method="sqdiff_normed")
    assert [(m.y, m.x, m.score) for m in got] == [(1, 1, 2.0), (3, 3, 4.0)]
    assert imgconv.find_peaks(s, min_score=1.0, method="sqdiff") == []


def test_subpixel_is_the_vertex_of_a_parabola_clamped_and_integer_at_the_border():
    y, x = np.mgrid[0:9, 0:11]
    s = -((y - 4.3) ** 2) - 2 * (x - 6.8) ** 2
    best = imgconv.find_peaks(s)[0]
    assert (best.y, best.x) == (4, 7)
    assert best.y_subpixel == pytest.approx(4.3) and best.x_subpixel == pytest.approx(6.8)
    edge = imgconv.find_peaks(-((y - 0.2) ** 2) - (x - 10.4) ** 2)[0]
    assert (edge.y_subpixel, edge.x_subpixel) == (0.0, 10.0)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**16), r=st.integers(0, 3), cuts=st.lists(st.integers(1, 9),
                                                                      max_size=6))
def test_peaks_fed_band_by_band_are_the_peaks_of_the_whole(seed, r, cuts):
    rng = np.random.default_rng(seed)
    s = np.round(rng.random((30, 17)), 1)  # many ties
    whole = imgconv.find_peaks(s, top=None, min_distance=r)

    class Small(PeakFinder):  # decided a few rows and columns at a time
        CHUNK, STRIP = 3, 5

    finder = Small(17, top=None, min_distance=r)
    y = 0
    for c in cuts:
        finder.feed(s[y:y + c])
        y = min(30, y + c)
    finder.feed(s[y:])
    assert finder.finish() == whole
    for top in (1, 3):  # the best few are the first of all the peaks, however fed
        few = Small(17, top=top, min_distance=r, min_score=0.2)
        for k in range(0, 30, 4):
            few.feed(s[k:k + 4])
        assert few.finish() == [m for m in whole if m.score >= 0.2][:top]
    for m in whole:  # nothing within r beats a peak; peaks are more than r apart
        box = s[max(0, m.y - r):m.y + r + 1, max(0, m.x - r):m.x + r + 1]
        assert m.score == box.max()


# -- how it is computed -----------------------------------------------------------------------
@pytest.mark.parametrize("method", ["ccoeff_normed", "sqdiff", "ccorr_normed"])
def test_tiles_under_a_small_memory_limit_equal_the_whole(method, colour):
    image = crop(colour, 0, 0, 300, 280)
    template = crop(colour, 100, 100, 40, 33)
    mask = np.random.default_rng(2).random((40, 33))
    for m in (None, mask):
        whole = imgconv.match_template(image, template, method=method, mask=m,
                                       memory_limit=None)
        tiled = imgconv.match_template(image, template, method=method, mask=m,
                                       memory_limit=12 * 10**6)
        scale = 1.0 if method.endswith("_normed") else float(np.abs(whole).max())
        assert np.max(np.abs(tiled - whole)) <= 1e-10 * scale


def test_the_dft_blocks_equal_the_engines_correlation():
    from imgconv.correlator import Correlator, Job, fft_blocks

    rng = np.random.default_rng(5)
    x = rng.normal(0, 50, (230, 251))
    k = rng.normal(0, 1, (31, 27))
    ref = imgconv.correlate(x, k, size="valid", precision="double", method="direct")
    for blocks in ((64, 64), (96, 160), fft_blocks(x.shape, k.shape)):
        got = Correlator(k.shape, blocks, {}, threads=2).run(x, [Job("c", k, "k")], {})["c"]
        assert np.max(np.abs(got - ref)) <= 1e-12 * float(np.abs(ref).max())


@pytest.mark.parametrize("threads", [2, 3])
def test_window_sums_split_between_threads_equal_the_direct_sums(threads):
    """box_sums splits the rows between threads (each part its own integral image, with
    the template's halo): every window's sum and sum of squares, as summed directly."""
    from imgconv.scoring import box_sums

    a = np.random.default_rng(4).random((301, 97)) * 255 - 100
    s1, s2 = box_sums(a, (21, 13), threads)
    win = sliding_window_view(a, (21, 13))
    np.testing.assert_allclose(s1, win.sum(axis=(2, 3)), rtol=0, atol=1e-9)
    np.testing.assert_allclose(s2, (win * win).sum(axis=(2, 3)), rtol=1e-13, atol=1e-8)


def test_integer_images_give_exact_window_sums():
    """Integer pixels shifted by an integer: the integral images are exact, so a flat
    window of a uint16 image is exactly flat (score 0) next to a one-level step."""
    image = np.full((40, 40), 40000, dtype=np.uint16)
    image[:, 20:] = 40001
    template = np.tile(np.array([0, 1], dtype=np.uint16), (6, 3))
    s = imgconv.match_template(image, template)
    assert not s[:, :14].any() and not s[:, 21:].any()
    assert s[:, 14:21].any()


# -- refused, with the parameter named ------------------------------------------------------------
def test_unknown_method_names_the_closest():
    with pytest.raises(ImgconvError, match="did you mean 'ccoeff_normed'") as e:
        imgconv.match_template(np.zeros((9, 9)), np.zeros((3, 3)), method="ccoef_normed")
    assert e.value.param == "method"
    for alias in ("ncc", "zncc", "normxcorr2", "TM_CCOEFF_NORMED"):
        s = imgconv.match_template(data.camera()[:30, :30], data.camera()[5:9, 5:9],
                                   method=alias)
        assert s.shape == (27, 27)


@pytest.mark.parametrize(("image", "template", "mask", "param", "text"), [
    (np.zeros((20, 20, 3)), np.zeros((5, 5)), None, "template", "grey template cannot"),
    (np.zeros((20, 20)), np.zeros((5, 5, 3)), None, "template", "grey image"),
    (np.zeros((20, 20)), np.zeros((25, 5)), None, "template", "larger than the image"),
    (np.zeros((20, 20)), np.zeros((5, 5)), np.full((5, 5), 2.0), "mask", "0..1"),
    (np.zeros((20, 20)), np.zeros((5, 5)), np.zeros((5, 5)), "mask", "no non-zero"),
    (np.zeros((20, 20)), np.zeros((5, 5)), np.ones((4, 5)), "mask", "shape"),
    (np.full((20, 20), np.nan), np.zeros((5, 5)), None, "image", "NaN"),
])
def test_bad_input_is_refused(image, template, mask, param, text):
    with pytest.raises(ImgconvError, match=text) as e:
        imgconv.match_template(image, template, mask=mask)
    assert e.value.param == param


def test_bad_peak_options_are_refused():
    for kw, param in (({"top": 0}, "top"), ({"min_distance": -1}, "min_distance"),
                      ({"min_score": float("nan")}, "min_score")):
        with pytest.raises(ImgconvError) as e:
            imgconv.find_peaks(np.zeros((3, 3)), **kw)
        assert e.value.param == param


def test_find_peaks_refuses_a_min_score_the_method_cannot_reach() -> None:
    """The library checks what the CLI checks (a table beside the methods' formulas)."""
    scores = np.zeros((5, 5))
    with pytest.raises(imgconv.ImgconvError, match="outside -1..1"):
        imgconv.find_peaks(scores, min_score=2)
    with pytest.raises(imgconv.ImgconvError, match="below 0"):
        imgconv.find_peaks(scores, min_score=-0.5, method="sqdiff_normed")
    assert imgconv.find_peaks(scores, min_score=5.0, method="ccorr") == []  # unbounded
