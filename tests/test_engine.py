"""The engine against oracles written by others (docs/semantics.md §1).

scipy.ndimage (correlate/convolve, every boundary mode), OpenCV ``filter2D`` (a
correlation) for the modes it has, scipy.signal for ``full``/``valid`` output
sizes, and the literal formula of docs/semantics.md §1 (``conftest.brute``) where
neither applies.  No expected value here is computed by imgconv.
"""

from __future__ import annotations

import ast
import re
import zlib
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.ndimage as ndi
import scipy.signal as ss
from reference import BOUNDARIES, CVAL, OPS, TABLE
from reference import tolerance as tol

from imgconv.engine import convolve, correlate, filter_array
from imgconv.errors import ImgconvError
from imgconv.kernels import Kernel

SCIPY_MODE = {name: row["scipy"] for name, row in TABLE.items()}
OPENCV_BORDER = {name: row["opencv"] for name, row in TABLE.items()}
METHODS = ("direct", "fft", "auto", "separable")
API = {"correlate": correlate, "convolve": convolve}

# (id, image shape (H, W), kernel shape (kh, kw))
CASES = [
    ("3x3", (11, 13), (3, 3)),
    ("4x6", (11, 13), (4, 6)),
    ("1x9", (11, 13), (1, 9)),
    ("9x1", (11, 13), (9, 1)),
    ("2x2", (11, 13), (2, 2)),
    ("9x11-on-5x4", (5, 4), (9, 11)),
]
SMALL_KERNEL_CASES = [c for c in CASES if c[2][0] <= c[1][0] and c[2][1] <= c[1][1]]
CASE_IDS = [c[0] for c in CASES]
SMALL_IDS = [c[0] for c in SMALL_KERNEL_CASES]


def check(actual: np.ndarray, expected: np.ndarray, t: float) -> None:
    assert actual.shape == expected.shape
    diff = float(np.max(np.abs(actual.astype(np.float64) - expected)))
    assert diff <= t, f"max abs diff {diff:.3g} > tolerance {t:.3g}"


def make_problem(name: str, image_shape: tuple[int, int], kshape: tuple[int, int],
                 channels: int, rank_one: bool) -> tuple[np.ndarray, np.ndarray]:
    seed = zlib.crc32(f"{name}/{channels}/{rank_one}".encode())
    rng = np.random.default_rng(seed)
    shape = image_shape + ((channels,) if channels else ())
    image = rng.uniform(-1.0, 2.0, size=shape)
    if rank_one:
        kernel = np.outer(rng.uniform(-1, 1, kshape[0]), rng.uniform(-1, 1, kshape[1]))
    else:
        kernel = rng.uniform(-1.0, 1.0, size=kshape)
        if min(kshape) > 1:
            assert np.linalg.matrix_rank(kernel) > 1
    return image, kernel


def scipy_origin(kshape: tuple[int, int], anchor: tuple[int, int] | None) -> tuple[int, int]:
    """scipy.ndimage's origin for an imgconv anchor: anchor minus the default centre.

    (Verified against the docs/semantics.md §1 formula by
    ``test_scipy_origin_convention``.)
    """
    if anchor is None:
        return (0, 0)
    return (anchor[0] - kshape[0] // 2, anchor[1] - kshape[1] // 2)


def ndimage_oracle(image: np.ndarray, kernel: np.ndarray, op: str, boundary: str,
                   cval: float = 0.0, anchor: tuple[int, int] | None = None) -> np.ndarray:
    fn = ndi.correlate if op == "correlate" else ndi.convolve
    origin = scipy_origin(kernel.shape, anchor)
    img = np.asarray(image, dtype=np.float64)

    def one(plane: np.ndarray) -> np.ndarray:
        return fn(plane, kernel, mode=SCIPY_MODE[boundary], cval=cval, origin=origin)

    if img.ndim == 2:
        return one(img)
    return np.stack([one(img[..., c]) for c in range(img.shape[2])], axis=-1)


def opencv_as_correlation(kernel: np.ndarray, op: str,
                          anchor: tuple[int, int] | None = None
                          ) -> tuple[np.ndarray, tuple[int, int]]:
    """(kernel, (cy, cx)) to give filter2D, a correlation: flip + mirror anchor for convolve."""
    kh, kw = kernel.shape
    cy, cx = anchor if anchor is not None else (kh // 2, kw // 2)
    if op == "convolve":
        kernel = kernel[::-1, ::-1]
        cy, cx = kh - 1 - cy, kw - 1 - cx
    return np.ascontiguousarray(kernel, dtype=np.float64), (cy, cx)


def opencv_oracle(image: np.ndarray, kernel: np.ndarray, op: str, boundary: str,
                  anchor: tuple[int, int] | None = None) -> np.ndarray:
    k, (cy, cx) = opencv_as_correlation(kernel, op, anchor)
    img = np.ascontiguousarray(image, dtype=np.float64)
    border = getattr(cv2, OPENCV_BORDER[boundary])
    return cv2.filter2D(img, -1, k, anchor=(cx, cy), borderType=border)  # (x, y) order


def opencv_padded_oracle(image: np.ndarray, kernel: np.ndarray, op: str, boundary: str,
                         cval: float, anchor: tuple[int, int] | None = None) -> np.ndarray:
    """Extend with cv2.copyMakeBorder (any cval, BORDER_WRAP too), filter, crop."""
    k, (cy, cx) = opencv_as_correlation(kernel, op, anchor)
    kh, kw = k.shape
    img = np.ascontiguousarray(image, dtype=np.float64)
    h, w = img.shape[:2]
    border = getattr(cv2, OPENCV_BORDER[boundary])
    padded = cv2.copyMakeBorder(img, cy, kh - 1 - cy, cx, kw - 1 - cx, border,
                                value=[cval] * 4)
    res = cv2.filter2D(padded, -1, k, anchor=(cx, cy),
                       borderType=cv2.BORDER_CONSTANT | cv2.BORDER_ISOLATED)
    return res[cy:cy + h, cx:cx + w]


def per_channel(fn: Callable[[np.ndarray], np.ndarray], image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return fn(image)
    return np.stack([fn(image[..., c]) for c in range(image.shape[2])], axis=-1)


# --------------------------------------------------------------------------------------
# same size: scipy.ndimage, every boundary × method × mode × precision × shape × channels
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("channels", [0, 3], ids=["gray", "rgb"])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("precision", ["single", "double"])
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_same_matches_scipy_ndimage(boundary, method, op, precision, case, channels):
    name, ishape, kshape = case
    image, kernel = make_problem(name, ishape, kshape, channels, rank_one=method == "separable")
    got = API[op](image, kernel, boundary=boundary, cval=CVAL, method=method,
                  precision=precision)
    assert got.dtype == (np.float32 if precision == "single" else np.float64)
    expected = ndimage_oracle(image, kernel, op, boundary, cval=CVAL)
    check(got, expected, tol(kernel, image, CVAL, precision))


# --------------------------------------------------------------------------------------
# same size: OpenCV filter2D (correlation) for the border types it has
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("channels", [0, 3], ids=["gray", "rgb"])
@pytest.mark.parametrize("case", SMALL_KERNEL_CASES, ids=SMALL_IDS)
@pytest.mark.parametrize("precision", ["single", "double"])
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("boundary", ["reflect", "mirror", "nearest", "constant"])
def test_same_matches_opencv_filter2d(boundary, method, op, precision, case, channels):
    name, ishape, kshape = case
    image, kernel = make_problem(name, ishape, kshape, channels, rank_one=method == "separable")
    got = API[op](image, kernel, boundary=boundary, cval=0.0, method=method,
                  precision=precision)
    expected = opencv_oracle(image, kernel, op, boundary)
    check(got, expected, tol(kernel, image, 0.0, precision))


@pytest.mark.parametrize("channels", [0, 3], ids=["gray", "rgb"])
@pytest.mark.parametrize("case", SMALL_KERNEL_CASES, ids=SMALL_IDS)
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("method", ["direct", "fft"])
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_same_matches_opencv_copymakeborder(boundary, method, op, case, channels):
    """copyMakeBorder gives OpenCV a wrap border and a non-zero constant (cval 0.7)."""
    name, ishape, kshape = case
    image, kernel = make_problem(name, ishape, kshape, channels, rank_one=False)
    got = API[op](image, kernel, boundary=boundary, cval=CVAL, method=method,
                  precision="double")
    expected = opencv_padded_oracle(image, kernel, op, boundary, CVAL)
    check(got, expected, tol(kernel, image, CVAL))


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("anchor", [(0, 2), (2, 0), (0, 0), (3, 5), (1, 4)])
def test_anchor_matches_opencv(anchor, op):
    rng = np.random.default_rng(7)
    image = rng.uniform(0, 1, (12, 10))
    kernel = rng.uniform(-1, 1, (4, 6))
    got = API[op](image, Kernel(kernel, anchor=anchor), boundary="mirror", method="direct")
    expected = opencv_oracle(image, kernel, op, "mirror", anchor=anchor)
    check(got, expected, tol(kernel, image))


# --------------------------------------------------------------------------------------
# output size full / valid: scipy.signal
# --------------------------------------------------------------------------------------
SIGNAL_BOUNDARY = [("constant", 0.0, "fill"), ("constant", CVAL, "fill"),
                   ("reflect", 0.0, "symm"), ("wrap", 0.0, "wrap")]


@pytest.mark.parametrize("channels", [0, 3], ids=["gray", "rgb"])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("boundary,cval,signal_boundary", SIGNAL_BOUNDARY,
                         ids=["constant0", "constant0.7", "reflect", "wrap"])
def test_full_matches_scipy_signal(boundary, cval, signal_boundary, method, op, case,
                                   channels):
    name, ishape, kshape = case
    image, kernel = make_problem(name, ishape, kshape, channels, rank_one=method == "separable")
    fn = ss.correlate2d if op == "correlate" else ss.convolve2d
    expected = per_channel(
        lambda p: fn(p, kernel, mode="full", boundary=signal_boundary, fillvalue=cval), image)
    got = API[op](image, kernel, boundary=boundary, cval=cval, method=method, size="full",
                  precision="double")
    assert got.shape[:2] == (ishape[0] + kshape[0] - 1, ishape[1] + kshape[1] - 1)
    check(got, expected, tol(kernel, image, cval))


@pytest.mark.parametrize("channels", [0, 3], ids=["gray", "rgb"])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("boundary", ["mirror", "nearest"])
def test_full_other_modes_match_spec_formula(boundary, method, op, case, channels, ref):
    """scipy.signal has no mirror/nearest: the literal full formula of docs/semantics.md §1."""
    name, ishape, kshape = case
    image, kernel = make_problem(name, ishape, kshape, channels, rank_one=method == "separable")
    expected = ref.brute(image, kernel, op=op, boundary=boundary, size="full")
    got = API[op](image, kernel, boundary=boundary, method=method, size="full",
                  precision="double")
    check(got, expected, tol(kernel, image))


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("boundary", ["mirror", "nearest"])
def test_full_other_modes_match_opencv_border(boundary, op):
    """Cross-check of the full size with OpenCV's own extension + scipy.signal valid."""
    rng = np.random.default_rng(3)
    image = rng.uniform(-1, 1, (9, 12))
    kernel = rng.uniform(-1, 1, (4, 5))
    kh, kw = kernel.shape
    ext = cv2.copyMakeBorder(image, kh - 1, kh - 1, kw - 1, kw - 1,
                             getattr(cv2, OPENCV_BORDER[boundary]))
    fn = ss.correlate2d if op == "correlate" else ss.convolve2d
    expected = fn(ext, kernel, mode="valid")
    got = API[op](image, kernel, boundary=boundary, size="full", method="direct")
    check(got, expected, tol(kernel, image))


@pytest.mark.parametrize("channels", [0, 3], ids=["gray", "rgb"])
@pytest.mark.parametrize("case", SMALL_KERNEL_CASES, ids=SMALL_IDS)
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("method", METHODS)
def test_valid_matches_scipy_signal_for_every_boundary(method, op, case, channels):
    name, ishape, kshape = case
    image, kernel = make_problem(name, ishape, kshape, channels, rank_one=method == "separable")
    fn = ss.correlate2d if op == "correlate" else ss.convolve2d
    expected = per_channel(lambda p: fn(p, kernel, mode="valid"), image)
    assert expected.shape[:2] == (ishape[0] - kshape[0] + 1, ishape[1] - kshape[1] + 1)
    for boundary in BOUNDARIES:  # the boundary mode is irrelevant for valid
        got = API[op](image, kernel, boundary=boundary, cval=CVAL, method=method,
                      size="valid", precision="double")
        check(got, expected, tol(kernel, image))


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("method", ["direct", "fft", "auto"])
@pytest.mark.parametrize("ishape,kshape", [((5, 4), (9, 11)), ((5, 20), (3, 21)),
                                           ((20, 5), (21, 3)), ((1, 1), (2, 1))])
def test_valid_with_kernel_larger_than_image_is_an_error(ishape, kshape, method, op):
    image = np.ones(ishape)
    with pytest.raises(ImgconvError) as info:
        API[op](image, np.ones(kshape), size="valid", method=method)
    assert info.value.param == "size"
    assert str(info.value) == (
        f"size='valid' needs a kernel no larger than the image: kernel {kshape[0]}x{kshape[1]}, "
        f"image {ishape[0]}x{ishape[1]} (use size='same' or size='full')")


def test_valid_with_kernel_equal_to_image_is_one_pixel():
    rng = np.random.default_rng(4)
    image = rng.uniform(size=(4, 6))
    kernel = rng.uniform(size=(4, 6))
    got = correlate(image, kernel, size="valid")
    check(got, np.array([[np.sum(image * kernel)]]), tol(kernel, image))
    got = convolve(image, kernel, size="valid")
    check(got, np.array([[np.sum(image * kernel[::-1, ::-1])]]), tol(kernel, image))


# --------------------------------------------------------------------------------------
# wrap + same + fft with a kernel larger than the image
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("channels", [0, 2], ids=["gray", "2ch"])
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("method", ["fft", "auto", "direct"])
@pytest.mark.parametrize("ishape,kshape", [((5, 4), (9, 11)), ((3, 3), (7, 7)),
                                           ((4, 6), (8, 12)), ((1, 5), (3, 4)),
                                           ((2, 3), (15, 14)), ((1, 1), (5, 6))])
def test_wrap_same_large_kernel_matches_scipy(ishape, kshape, method, op, channels):
    rng = np.random.default_rng(sum(ishape) * 100 + sum(kshape))
    image = rng.uniform(-1, 1, ishape + ((channels,) if channels else ()))
    kernel = rng.uniform(-1, 1, kshape)
    got = API[op](image, kernel, boundary="wrap", method=method, precision="double")
    expected = ndimage_oracle(image, kernel, op, "wrap")
    check(got, expected, tol(kernel, image))


# --------------------------------------------------------------------------------------
# custom anchors vs scipy's origin
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("kshape,anchor", [((3, 5), (0, 2)), ((3, 5), (2, 0)),
                                           ((4, 6), (0, 0)), ((4, 6), (3, 5)),
                                           ((4, 6), (1, 4)), ((1, 4), (0, 0))])
def test_scipy_origin_convention(kshape, anchor, op, ref):
    """Derive origin = anchor - (kh//2, kw//2) with one-hot kernels against the §1 formula.

    correlate with a one-hot at (p, q): out(y, x) = I~(y + p - cy, x + q - cx);
    convolve:                           out(y, x) = I~(y - p + cy, x - q + cx).
    """
    rng = np.random.default_rng(11)
    image = rng.uniform(size=(7, 8))
    h, w = image.shape
    cy, cx = anchor
    origin = scipy_origin(kshape, anchor)
    fn = ndi.correlate if op == "correlate" else ndi.convolve
    for p in range(kshape[0]):
        for q in range(kshape[1]):
            onehot = np.zeros(kshape)
            onehot[p, q] = 1.0
            if op == "correlate":
                rows, cols = range(p - cy, p - cy + h), range(q - cx, q - cx + w)
            else:
                rows, cols = range(cy - p, cy - p + h), range(cx - q, cx - q + w)
            spec = ref.extend(image, rows, cols, "wrap")
            np.testing.assert_array_equal(fn(image, onehot, mode="wrap", origin=origin), spec)
            got = API[op](image, Kernel(onehot, anchor=anchor), boundary="wrap",
                          method="direct")
            np.testing.assert_array_equal(got, spec)


@pytest.mark.parametrize("method", ["direct", "fft", "auto"])
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("kshape,anchor", [((3, 5), (0, 2)), ((4, 6), (0, 0)),
                                           ((4, 6), (3, 5)), ((5, 4), (4, 1))])
def test_custom_anchor_matches_scipy_origin(kshape, anchor, boundary, op, method):
    rng = np.random.default_rng(5)
    image = rng.uniform(-1, 1, (9, 10, 3))
    kernel = rng.uniform(-1, 1, kshape)
    got = API[op](image, Kernel(kernel, anchor=anchor), boundary=boundary, cval=CVAL,
                  method=method, precision="double")
    expected = ndimage_oracle(image, kernel, op, boundary, cval=CVAL, anchor=anchor)
    check(got, expected, tol(kernel, image, CVAL))


def test_kernel_scale_is_applied():
    rng = np.random.default_rng(6)
    image = rng.uniform(size=(8, 9))
    w = rng.uniform(-1, 1, (3, 4))
    got = correlate(image, Kernel(w, scale=0.25), method="direct")
    check(got, ndimage_oracle(image, 0.25 * w, "correlate", "reflect"), tol(w, image))


def test_non_contiguous_input():
    rng = np.random.default_rng(8)
    image = rng.uniform(size=(10, 12, 3))[::-1, ::2].transpose(1, 0, 2)
    kernel = rng.uniform(-1, 1, (3, 4))
    got = convolve(image, kernel, boundary="nearest", method="fft")
    check(got, ndimage_oracle(image, kernel, "convolve", "nearest"), tol(kernel, image))


# --------------------------------------------------------------------------------------
# aliases and argument validation
# --------------------------------------------------------------------------------------
ALIASES = [("symmetric", "reflect"), ("reflect101", "mirror"), ("reflect_101", "mirror"),
           ("edge", "nearest"), ("replicate", "nearest"), ("clamp", "nearest"),
           ("periodic", "wrap"), ("circular", "wrap"), ("tile", "wrap"),
           ("zero", "constant"), ("fill", "constant")]


@pytest.mark.parametrize("alias,canonical", ALIASES)
def test_alias_gives_same_result(alias, canonical):
    rng = np.random.default_rng(9)
    image = rng.uniform(size=(6, 7))
    kernel = rng.uniform(-1, 1, (3, 4))
    for op in OPS:
        a = API[op](image, kernel, boundary=alias)
        b = API[op](image, kernel, boundary=canonical)
        np.testing.assert_array_equal(a, b)
        check(a, ndimage_oracle(image, kernel, op, canonical), tol(kernel, image))


@pytest.mark.parametrize("keyword,valid", [
    ("boundary", BOUNDARIES),
    ("method", ("auto", "direct", "separable", "fft")),
    ("size", ("same", "valid", "full")),
    ("precision", ("auto", "single", "double")),
])
@pytest.mark.parametrize("op", OPS)
def test_unknown_value_is_refused_naming_the_valid_ones(keyword, valid, op):
    with pytest.raises(ImgconvError) as info:
        API[op](np.ones((4, 4)), np.ones((3, 3)), **{keyword: "bogus"})
    message = str(info.value)
    assert "bogus" in message
    assert info.value.param == keyword
    for name in valid:
        assert name in message, f"{name!r} missing from {message!r}"


def test_filter_array_unknown_mode_is_refused():
    with pytest.raises(ImgconvError) as info:
        filter_array(np.ones((4, 4)), np.ones((3, 3)), mode="bogus")
    assert "correlate" in str(info.value) and "convolve" in str(info.value)


GAUSS_17471 = np.array([[1, 4, 7, 4, 1], [4, 16, 26, 16, 4], [7, 26, 41, 26, 7],
                        [4, 16, 26, 16, 4], [1, 4, 7, 4, 1]], dtype=float)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("kernel", [np.array([[1.0, 2.0], [3.0, 4.0]]), GAUSS_17471,
                                    np.eye(3), np.zeros((3, 3))],
                         ids=["2x2-rank2", "gaussian5-rank3", "eye3", "zeros"])
def test_separable_refuses_kernel_that_is_not_rank_one(kernel, op):
    with pytest.raises(ImgconvError) as info:
        API[op](np.ones((8, 8)), kernel, method="separable")
    assert info.value.param == "method"
    rank = np.linalg.matrix_rank(kernel)  # numpy's rule in double precision (a float64 image)
    assert re.fullmatch(rf"method='separable' needs a rank-1 kernel; '\w+' has rank {rank} "
                        r"in double precision \(use method='auto', method='direct' or "
                        r"method='fft'\)", str(info.value))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_fft_refuses_an_image_with_nan_or_inf_and_auto_avoids_it(bad):
    """A NaN spreads over the whole image through an FFT; direct keeps it local."""
    image = np.ones((40, 40))
    image[3, 4] = bad
    kernel = np.random.default_rng(13).uniform(size=(21, 21))  # auto would pick fft
    assert filter_array(np.ones((40, 40)), kernel, method="auto")[1] == "fft"
    with pytest.raises(ImgconvError) as info:
        filter_array(image, kernel, method="fft")
    assert info.value.param == "method"
    assert str(info.value) == ("the image has 1 NaN or infinite pixel value(s), which "
                               "method='fft' would spread over the whole image: use "
                               "method='direct' (or method='auto')")
    out, used = filter_array(image, kernel, method="auto", boundary="constant")
    assert used == "direct"
    finite = ~np.isfinite(ndimage_oracle(image, kernel, "convolve", "constant"))
    np.testing.assert_array_equal(~np.isfinite(out), finite)


def test_no_finite_pixel_refused_by_every_method() -> None:
    for method in ("auto", "direct", "fft", "separable"):
        with pytest.raises(ImgconvError, match="no finite pixel"):
            filter_array(np.full((5, 5), np.nan), np.ones((3, 3)), method=method)


@pytest.mark.parametrize("precision", ["auto", "single"])
def test_overflow_names_the_kernel_and_suggests_double(precision: str) -> None:
    """A result that becomes inf/NaN from finite inputs is an error, not a silent NaN
    (weights that do not fit in float32, or sums that overflow it)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no RuntimeWarning reaches the user
        with pytest.raises(ImgconvError, match="precision='double'") as info:
            filter_array(np.ones((5, 5), np.uint8), Kernel(np.array([[1e300, -1e300]]),
                                                           name="huge"), precision=precision)
        assert "'huge'" in str(info.value) and info.value.param == "precision"
        with pytest.raises(ImgconvError, match="'sum2'"):
            filter_array(np.full((5, 5), 3e38, np.float32), Kernel(np.ones((1, 2)),
                                                                   name="sum2"))
    out, _ = filter_array(np.ones((5, 5), np.uint8), np.array([[1e300, -1e300]]),
                          precision="double")
    assert np.isfinite(out).all() and (out == 0).all()


@pytest.mark.parametrize("boundary", ["wrap", "constant"])
def test_separable_accepts_rank_one_kernel_over_256_a_side(boundary):
    """docs/semantics.md §1: separable applies to every rank-1 kernel (it once refused
    those > 256 a side).

    (scipy.ndimage's n-D ``reflect`` is wrong for kernels >= 8x the image in scipy 1.17,
    hence wrap/constant as the oracle here.)
    """
    rng = np.random.default_rng(12)
    kernel = np.outer(np.hanning(259) + 0.1, np.hanning(258) + 0.1)
    image = rng.uniform(size=(6, 5))
    for op in OPS:
        got = API[op](image, kernel, boundary=boundary, cval=CVAL, method="separable")
        check(got, ndimage_oracle(image, kernel, op, boundary, cval=CVAL),
              tol(kernel, image, CVAL))


def test_gaussian5_is_rank_three():
    assert np.linalg.matrix_rank(GAUSS_17471) == 3
    assert Kernel(GAUSS_17471).rank == 3


# --------------------------------------------------------------------------------------
# dtypes and precision
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype,precision,expected", [
    (np.uint8, "auto", np.float32), (np.uint16, "auto", np.float32),
    (np.float32, "auto", np.float32), (np.float64, "auto", np.float64),
    (np.int16, "auto", np.float32),
    (np.uint8, "double", np.float64), (np.float32, "double", np.float64),
    (np.float64, "single", np.float32), (np.uint16, "single", np.float32),
])
@pytest.mark.parametrize("method", ["direct", "fft", "auto"])
def test_output_dtype_and_values(dtype, precision, expected, method):
    rng = np.random.default_rng(10)
    top = {np.uint8: 255, np.uint16: 65535, np.int16: 32767}.get(dtype, 1)
    image = (rng.uniform(size=(9, 8, 3)) * top).astype(dtype)
    kernel = rng.uniform(-1, 1, (3, 5))
    for op in OPS:
        got = API[op](image, kernel, method=method, precision=precision)
        assert got.dtype == expected
        prec = "double" if expected == np.float64 else "single"
        check(got, ndimage_oracle(image, kernel, op, "reflect"), tol(kernel, image, 0, prec))


def test_uint8_image_with_cval_in_pixel_units():
    image = np.full((5, 6), 200, dtype=np.uint8)
    got = correlate(image, np.ones((3, 3)) / 9, boundary="constant", cval=255)
    expected = ndi.correlate(image.astype(float), np.ones((3, 3)) / 9, mode="constant",
                             cval=255)
    check(got, expected, tol(np.ones((3, 3)) / 9, image, 255, "single"))


# --------------------------------------------------------------------------------------
# filter_array reports the method
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("ishape,kernel", [
    ((10, 10), np.arange(9.0).reshape(3, 3)),
    ((64, 64), np.random.default_rng(1).uniform(size=(31, 31))),
    ((64, 64), np.outer(np.hanning(17), np.hanning(15))),
    ((40, 40), np.ones((1, 25))),
], ids=["3x3", "31x31", "rank1-17x15", "1x25"])
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("boundary", ["reflect", "wrap"])
def test_filter_array_reports_the_method_auto_chose(ishape, kernel, op, boundary):
    image = np.random.default_rng(2).uniform(size=ishape)
    out, used = filter_array(image, kernel, mode=op, boundary=boundary, method="auto")
    assert used in ("direct", "separable", "fft")
    if np.linalg.matrix_rank(kernel) != 1:
        assert used != "separable"
    check(out, ndimage_oracle(image, kernel, op, boundary), tol(kernel, image, 0, "double"))
    # the method reported is the one that computes the same thing when asked explicitly
    again, used_again = filter_array(image, kernel, mode=op, boundary=boundary, method=used)
    assert used_again == used
    check(again, out, tol(kernel, image, 0, "double"))


@pytest.mark.parametrize("method", ["direct", "fft", "separable"])
def test_filter_array_echoes_an_explicit_method(method):
    _, used = filter_array(np.ones((6, 6)), np.ones((3, 3)), method=method)
    assert used == method


def test_a_band_with_nan_keeps_the_band_geometry() -> None:
    """auto avoids fft for a band holding NaN, and re-plans it as a band (valid rows)."""
    from imgconv.engine import filter_band

    rng = np.random.default_rng(9)
    band = rng.random((400, 2000)).astype(np.float32)
    k = rng.random((61, 61)) / 3721
    clean, _ = filter_band(band, k, mode="correlate")
    band[200, 1000] = np.nan
    dirty, used = filter_band(band, k, mode="correlate")
    assert used == "direct" and dirty.shape == clean.shape == (340, 2000)
    bad = ~np.isfinite(dirty)
    assert bad.any() and bad.sum() < dirty.size  # NaN kept local
    assert np.allclose(dirty[~bad], clean[~bad], rtol=1e-4, atol=1e-3)


# --------------------------------------------------------------------------------------
# the kernel argument: anything load_filter reads, and errors that say "kernel"
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec", ["sobel-x", "gaussian:sigma=2", "1 2 1; 2 4 2; 1 2 1",
                                  "box"], ids=["shipped", "generator", "inline", "bare"])
@pytest.mark.parametrize("op", OPS)
def test_a_kernel_given_as_text_is_the_kernel_load_filter_reads(spec: str, op: str) -> None:
    from imgconv.kernels import load_filter

    image = np.random.default_rng(31).uniform(size=(24, 20, 3))
    loaded = load_filter(spec)
    expected = API[op](image, loaded, boundary="nearest")
    np.testing.assert_array_equal(API[op](image, spec, boundary="nearest"), expected)
    out, _ = filter_array(image, spec, mode=op, boundary="nearest")
    np.testing.assert_array_equal(out, expected)
    # and what that is, by an oracle that never saw the text
    check(expected, ndimage_oracle(image, loaded.array, op, "nearest", anchor=loaded.center),
          tol(loaded.array, image))


def test_an_inline_kernel_is_its_matrix() -> None:
    image = np.random.default_rng(32).uniform(size=(9, 11))
    matrix = np.array([[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]])
    check(correlate(image, "0 -1 0; -1 5 -1; 0 -1 0"),
          ndi.correlate(image, matrix, mode="reflect"), tol(matrix, image))


def test_a_kernel_file_is_read_from_a_string_or_a_path(tmp_path) -> None:
    path = tmp_path / "k.txt"
    path.write_text("1 2\n3 4\n")
    image = np.random.default_rng(33).uniform(size=(8, 8))
    expected = convolve(image, np.array([[1.0, 2.0], [3.0, 4.0]]))
    np.testing.assert_array_equal(convolve(image, str(path)), expected)
    np.testing.assert_array_equal(convolve(image, path), expected)


@pytest.mark.parametrize("spec,says", [
    ("sobelx", "no filter file, generator or shipped filter named 'sobelx': "
               "did you mean 'sobel-x'?"),
    ("gaussian:sigmaa=2", "unknown parameter 'sigmaa' for gaussian"),
    ("1 2 1; 2 x 2", "'x' is not a number"),
    ("missing/k.txt", "missing/k.txt: no such file"),
])
@pytest.mark.parametrize("op", OPS)
def test_a_bad_kernel_string_is_refused_naming_the_kernel(spec: str, says: str,
                                                          op: str) -> None:
    with pytest.raises(ImgconvError) as info:
        API[op](np.ones((6, 6)), spec)
    message = str(info.value)
    assert message.startswith("kernel: "), message
    assert says in message
    with pytest.raises(ImgconvError, match=r"^kernel: "):
        filter_array(np.ones((6, 6)), spec)


@pytest.mark.parametrize("bad,says", [
    ([[1.0, 2.0], [3.0]], "rows have different lengths"),
    (np.zeros((0, 3)), "non-empty 2-D matrix"),
    (None, "cannot use None as a kernel"),
    (b"1 2 1", "cannot use b'1 2 1' as a kernel"),
])
def test_a_bad_kernel_array_is_refused_as_the_kernel_not_an_array(bad: object,
                                                                  says: str) -> None:
    with pytest.raises(ImgconvError) as info:
        correlate(np.ones((6, 6)), bad)  # type: ignore[arg-type]
    message = str(info.value)
    assert message.startswith("kernel: ") and says in message, message


# --------------------------------------------------------------------------------------
# the engine's shape: plain signatures, at most 8 parameters, __init__ only hands names on
# --------------------------------------------------------------------------------------
KEYWORDS = ["boundary", "cval", "method", "size", "precision", "bound"]


@pytest.mark.parametrize("op", OPS)
def test_correlate_and_convolve_declare_their_keywords(op: str) -> None:
    import dataclasses
    import inspect

    from imgconv.engine import PassSettings

    fn = API[op]
    assert "__signature__" not in vars(fn)  # no rewriting: the def says it
    params = inspect.signature(fn).parameters
    assert list(params) == ["image", "kernel", *KEYWORDS]
    assert all(params[k].kind is inspect.Parameter.KEYWORD_ONLY for k in KEYWORDS)
    defaults = {f.name: f.default for f in dataclasses.fields(PassSettings)}
    assert {k: params[k].default for k in KEYWORDS} == {k: defaults[k] for k in KEYWORDS}
    assert inspect.signature(filter_array).parameters["mode"].default == defaults["mode"]
    assert defaults == {"mode": "convolve", "boundary": "reflect", "cval": 0.0,
                        "method": "auto", "size": "same", "precision": "auto",
                        "bound": None}


def test_filter_array_refuses_an_unknown_keyword() -> None:
    with pytest.raises(TypeError, match="bogus"):
        filter_array(np.ones((4, 4)), np.ones((3, 3)), bogus=1)  # type: ignore[call-arg]


ENGINE = Path(__file__).resolve().parent.parent / "imgconv" / "engine"


def _functions(path: Path) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(ast.parse(path.read_text()))
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def test_no_engine_function_takes_more_than_8_parameters() -> None:
    wide = []
    for path in sorted(ENGINE.rglob("*.py")):
        for f in _functions(path):
            names = [a.arg for a in (*f.args.posonlyargs, *f.args.args, *f.args.kwonlyargs)]
            names = [n for n in names if n not in ("self", "cls")]
            if len(names) > 8:
                wide.append(f"{path.name}:{f.lineno} {f.name}: {len(names)}")
    assert wide == []


def test_the_engine_package_only_hands_names_on() -> None:
    import imgconv.engine as engine

    tree = ast.parse((ENGINE / "__init__.py").read_text())
    defined = [n for n in tree.body if isinstance(
        n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.For | ast.While)]
    assert defined == []
    for name in engine.__all__:
        assert getattr(engine, name).__module__ != "imgconv.engine", name


def test_only_the_backends_registry_names_a_backend() -> None:
    """Outside engine/backends/, code reaches a backend through the registry
    (imgconv.engine.backends: BACKENDS, pick_backend, backend_named, total, …), never by
    importing a backend's module; the one fact read from OpenCV's module is the cost
    model's: from how many taps filter2D computes by DFT."""
    allowed = {("choose.py", "imgconv.engine.backends.opencv.dft_threshold")}
    reaches = []
    for path in sorted((ENGINE.parent).rglob("*.py")):
        if ENGINE / "backends" in path.parents:
            continue
        text = path.read_text()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                if (re.match(r"imgconv\.engine\.backends\.(opencv|numpy)\b", name)
                        and (path.name, name) not in allowed):
                    reaches.append(f"{path.name}: {name}")
        named = re.findall(r"\b(?:opencv|numpy|scipy)_backend\b", text)
        reaches += [f"{path.name}: {m}" for m in named]
    assert reaches == []
