"""The fused integer path (imgconv.chain.fused): an 8- or 16-bit image filtered, rounded
and cast in one backend call.  It must give what the float path gives (docs/semantics.md
§3): within one level of a float64 oracle (scipy.ndimage) everywhere, and exactly the
oracle's rounding wherever the oracle is not within float32 round-off of a .5 tie."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from imgconv.chain import finish, fused, run_filters
from imgconv.kernels import Kernel, load_filter
from imgconv.options import FilterOptions

FUSED_BOUNDARIES = ("reflect", "mirror", "nearest", "constant")


def _oracle(image: np.ndarray, kernel: Kernel, options: FilterOptions,
            ref: SimpleNamespace) -> np.ndarray:
    """The float64 result before rounding: the formulas of docs/semantics.md §1 summed
    literally (conftest's ``brute``), the offsets added."""
    exact = ref.brute(image, kernel.array, op=options.mode, boundary=options.boundary,
                      anchor=kernel.center)
    return exact + kernel.offset + options.offset


@settings(max_examples=150, deadline=None)
@given(dtype=st.sampled_from([np.uint8, np.uint16]), boundary=st.sampled_from(FUSED_BOUNDARIES),
       mode=st.sampled_from(["correlate", "convolve"]), kh=st.integers(1, 7),
       kw=st.integers(1, 7), channels=st.integers(0, 3), seed=st.integers(0, 2**32 - 1),
       anchored=st.booleans())
def test_within_one_level_and_exact_away_from_ties(
        dtype: type, boundary: str, mode: str, kh: int, kw: int, channels: int, seed: int,
        anchored: bool, ref: SimpleNamespace) -> None:
    rng = np.random.default_rng(seed)
    top = np.iinfo(dtype).max
    h, w = int(rng.integers(kh + 1, 30)), int(rng.integers(kw + 1, 30))
    shape = (h, w) if channels == 0 else (h, w, channels + 1)
    image = rng.integers(0, top + 1, shape, dtype=dtype)
    weights = rng.random((kh, kw)) * (rng.random((kh, kw)) < 0.8)
    assume(weights.sum() > 0)
    weights /= weights.sum() * float(rng.choice([1.0, 1.5]))  # sum 1, or 2/3 (an offset fits)
    anchor = (int(rng.integers(0, kh)), int(rng.integers(0, kw))) if anchored else None
    kernel = Kernel(weights, anchor=anchor)
    options = FilterOptions(mode=mode, boundary=boundary)  # type: ignore[arg-type]
    got = fused(image, [kernel], options)
    assert got is not None, "a non-negative kernel summing to at most 1 is fused"
    out, _ = got
    assert out.dtype == image.dtype and out.shape == image.shape
    exact = _oracle(image, kernel, options, ref)
    expected = np.clip(np.rint(exact), 0, top)
    diff = np.abs(out.astype(np.float64) - expected)
    assert diff.max() <= 1
    frac = np.abs(exact - np.floor(exact) - 0.5)
    margin = 1e-5 * top * max(kh, kw)  # float32 accumulation cannot move a value further
    far = frac > margin
    np.testing.assert_array_equal(out[far], expected[far])


def test_it_is_the_float_path_on_a_photo_sized_image() -> None:
    """A 600×400 RGB image, Gaussian σ=2: identical to run_filters + finish at ≥ 99.99 %
    of samples, never more than one level apart."""
    rng = np.random.default_rng(5)
    y, x = np.mgrid[0:400, 0:600]
    img = np.clip(128 + 90 * np.sin(x / 17.0)[..., None] * np.cos(y / 23.0)[..., None]
                  + rng.normal(0, 10, (400, 600, 3)), 0, 255).astype(np.uint8)
    k = load_filter("gaussian:sigma=2")
    opts = FilterOptions()
    got = fused(img, [k], opts)
    assert got is not None and got[1] == "separable"
    res = run_filters(img, [k], opts)
    slow = finish(res.values, FilterOptions(dtype="uint8"), in_dtype=np.uint8, keep_last=False,
                  finite_source=True)
    diff = np.abs(got[0].astype(int) - slow.astype(int))
    assert diff.max() <= 1 and (diff == 0).mean() >= 0.9999


@pytest.mark.parametrize("why,image,filters,options", [
    ("may clip: sharpen", np.zeros((9, 9), np.uint8), ["sharpen"], {}),
    ("a chain keeps its float intermediates", np.zeros((9, 9), np.uint8),
     ["box3", "box3"], {}),
    ("float image", np.zeros((9, 9), np.float32), ["box3"], {}),
    ("wrap: OpenCV's filters have no such border", np.zeros((9, 9), np.uint8), ["box3"],
     {"boundary": "wrap"}),
    ("cval", np.zeros((9, 9), np.uint8), ["box3"], {"boundary": "constant", "cval": 3}),
    ("valid", np.zeros((9, 9), np.uint8), ["box3"], {"size": "valid"}),
    ("another output type", np.zeros((9, 9), np.uint8), ["box3"], {"dtype": "uint16"}),
    ("abs", np.zeros((9, 9), np.uint8), ["box3"], {"abs": True}),
    ("an explicit fft", np.zeros((9, 9), np.uint8), ["box3"], {"method": "fft"}),
    ("double precision", np.zeros((9, 9), np.uint8), ["box3"], {"precision": "double"}),
    ("kernel as large as the image", np.zeros((3, 3), np.uint8), ["box5"], {}),
])
def test_what_is_not_fused(why: str, image: np.ndarray, filters: list[str],
                           options: dict[str, object]) -> None:
    opts = FilterOptions().replace(**options)
    kernels = [load_filter(f) for f in filters]
    assert fused(image, kernels, opts, out_dtype=opts.dtype) is None, why


def test_alpha_is_kept_to_the_bit() -> None:
    rng = np.random.default_rng(2)
    rgba = rng.integers(0, 256, (20, 30, 4), dtype=np.uint8)
    got = fused(rgba, [load_filter("box3")], FilterOptions(), has_alpha=True)
    assert got is not None
    np.testing.assert_array_equal(got[0][..., 3], rgba[..., 3])
