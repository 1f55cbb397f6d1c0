"""The order of operations of docs/semantics.md §3 through the library (``imgconv.chain``).

Arrays are made here with numpy and the results compared with scipy.ndimage or
hand-computed values, never with imgconv itself.  The same semantics through files and
the command line are in test_cli_files.py.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from imgconv.chain import filter_image, finish, normalized, run_filters, to_gray
from imgconv.kernels import as_kernel
from imgconv.options import FilterOptions

U8 = FilterOptions(dtype="uint8")

LUMA = np.array([0.299, 0.587, 0.114])


def test_alpha_keep_is_exact_and_colour_filtered(ref: SimpleNamespace) -> None:
    img = ref.noise((20, 24, 4), 255, 2).astype(np.uint8)
    got = filter_image(img, ref.kernels["box3"], has_alpha=True)  # alpha="keep" by default
    assert got.dtype == np.uint8 and got.shape == img.shape
    np.testing.assert_array_equal(got[:, :, 3], img[:, :, 3])
    assert ref.maxdiff(got[:, :, :3], ref.scipy(img[:, :, :3], ref.kernels["box3"])) <= 0.5


def test_alpha_filter_filters_alpha_like_colour(ref: SimpleNamespace) -> None:
    img = ref.noise((20, 24, 4), 255, 2).astype(np.uint8)
    got = filter_image(img, ref.kernels["box3"], alpha="filter", has_alpha=True)
    assert ref.maxdiff(got, ref.scipy(img, ref.kernels["box3"])) <= 0.5


def test_alpha_premultiply_gaussian_16bit_api(ref: SimpleNamespace) -> None:
    img = ref.noise((30, 28, 4), 65535, 3)
    img[5:20, 4:18, 3] = 0
    img = img.astype(np.uint16)
    k = ref.gaussian(1.0)
    got = filter_image(img, k, alpha="premultiply", has_alpha=True)
    assert got.dtype == np.uint16
    assert ref.maxdiff(got, ref.premultiplied(img, k, 65535)) <= 1
    # deep inside the transparent block F(a) == 0: colour is 0, not noise
    np.testing.assert_array_equal(got[10:15, 9:13], 0)


def test_normalized_api() -> None:
    notes: list[str] = []
    k = normalized(as_kernel(np.array([[1.0, 3.0]])), notes)
    np.testing.assert_allclose(k.weights * k.scale, [[0.25, 0.75]])
    assert notes == []
    lap = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float64)
    z = normalized(as_kernel(lap), notes)
    np.testing.assert_array_equal(z.weights * z.scale, lap)
    assert len(notes) == 1 and "sum to 0" in notes[0]


def test_to_gray_uses_bt601_luma(ref: SimpleNamespace) -> None:
    img = ref.noise((10, 13, 3), 255, 8).astype(np.uint8)
    g, has_alpha = to_gray(img, False)
    assert not has_alpha and g.shape == (10, 13)
    assert ref.maxdiff(g, img.astype(np.float64) @ LUMA) <= 1e-3


def test_to_gray_keeps_alpha(ref: SimpleNamespace) -> None:
    img = ref.noise((4, 5, 4), 255, 9).astype(np.uint8)
    g, has_alpha = to_gray(img, True)
    assert has_alpha and g.shape == (4, 5, 2)
    np.testing.assert_array_equal(g[:, :, 1], img[:, :, 3])
    assert ref.maxdiff(g[:, :, 0], img[:, :, :3].astype(np.float64) @ LUMA) <= 1e-3


def test_rescale_is_global_over_channels() -> None:
    img = np.zeros((12, 12, 3), np.uint8)
    img[:, :, 0] = np.linspace(0, 200, 12, dtype=np.uint8)[None, :]
    img[:, :, 1] = np.linspace(50, 100, 12, dtype=np.uint8)[None, :]
    img[:, :, 2] = 10
    got = filter_image(img, np.ones((1, 1)), rescale=True)
    expect = np.rint(img.astype(np.float64) * 255 / 200)  # one range for all channels
    np.testing.assert_array_equal(got, expect)


def test_round_half_to_even_exact_halves() -> None:
    # "0.5 0.5" (anchor column 1) under correlate: out(x) = (I(x-1) + I(x)) / 2, nearest
    # extension I(-1) = I(0); float64 and a direct sum make the halves exact
    row = np.array([[2, 3, 4, 5, 6, 7, 0, 1]], dtype=np.uint8)
    got = filter_image(row, np.array([[0.5, 0.5]]), mode="correlate", boundary="nearest",
                       precision="double", method="direct")
    # exact values: 2, 2.5, 3.5, 4.5, 5.5, 6.5, 3.5, 0.5
    np.testing.assert_array_equal(got, [[2, 2, 4, 4, 6, 6, 4, 0]])


def test_integer_to_integer_scales_by_ratio_of_maxima() -> None:
    vals = np.array([[0, 257, 257 * 100, 32767, 32896, 65535]], dtype=np.uint16)
    # 32767 * 255 / 65535 = 127.498..., 32896 = 128 * 257
    np.testing.assert_array_equal(filter_image(vals, np.ones((1, 1)), dtype="uint8"),
                                  [[0, 1, 100, 127, 128, 255]])
    eight = np.array([[0, 1, 128, 255]], dtype=np.uint8)
    np.testing.assert_array_equal(filter_image(eight, np.ones((1, 1)), dtype="uint16"),
                                  [[0, 257, 128 * 257, 65535]])


def test_clipping_16bit_never_wraps() -> None:
    img = np.array([[40000, 30000, 10, 0]], dtype=np.uint16)
    got = filter_image(img, np.array([[2.0]]), offset=-25)
    np.testing.assert_array_equal(got, [[65535, 59975, 0, 0]])


def test_finish_order_of_operations_api() -> None:
    v = np.array([[-200.0, -2.5, 3.5, 100.0]])
    np.testing.assert_array_equal(finish(v, FilterOptions(dtype="uint8", abs=True, offset=128.0)),
                                  [[255, 130, 132, 228]])  # 130.5 -> 130, 131.5 -> 132
    np.testing.assert_array_equal(finish(v, FilterOptions(dtype="uint8", offset=128.0)),
                                  [[0, 126, 132, 228]])  # 125.5 -> 126, 131.5 -> 132
    np.testing.assert_array_equal(finish(v, FilterOptions(dtype="uint8", rescale=True)),
                                  [[0, 168, 173, 255]])  # (x + 200) * 0.85: 167.875, 172.975
    f = finish(v, FilterOptions(dtype="float32", abs=True))
    assert f.dtype == np.float32
    np.testing.assert_array_equal(f, np.abs(v))


def test_run_filters_chain_in_float(rng: np.random.Generator, ref: SimpleNamespace) -> None:
    img = rng.integers(0, 256, (15, 16)).astype(np.uint8)
    sobel = ref.kernels["sobel-x"]
    res = run_filters(img, [sobel, sobel.T], None)
    expect = ref.scipy(ref.scipy(img, sobel), sobel.T)  # the intermediate is not clipped
    assert res.values.dtype == np.float32
    assert expect.min() < 0 and expect.max() > 255  # a clipped intermediate would differ
    assert ref.maxdiff(res.values, expect) <= 1e-4 * 64 * 255 * 4


def test_run_filters_takes_filter_options(ref: SimpleNamespace) -> None:
    img = ref.noise((9, 11), 255, 10)
    opts = FilterOptions(mode="correlate", boundary="constant", cval=7.0, precision="double")
    res = run_filters(img, [ref.kernels["sobel-x"]], opts)
    expect = ref.scipy(img, ref.kernels["sobel-x"], mode="constant", cval=7.0, op="correlate")
    assert res.values.dtype == np.float64
    assert ref.maxdiff(res.values, expect) <= ref.tolerance(ref.kernels["sobel-x"], img, 7.0)


def test_filter_image_api_default_dtype_and_precision(rng: np.random.Generator,
                                                      ref: SimpleNamespace) -> None:
    img = rng.random((12, 11))  # float64 -> computed in float64, returned float64
    got = filter_image(img, ref.kernels["sobel-x"])
    assert got.dtype == np.float64
    assert ref.maxdiff(got, ref.scipy(img, ref.kernels["sobel-x"])) <= 1e-10 * 8
    img8 = (img * 255).astype(np.uint8)
    got8 = filter_image(img8, ref.kernels["box3"])
    assert got8.dtype == np.uint8
    assert ref.maxdiff(got8, ref.scipy(img8, ref.kernels["box3"])) <= 0.5 + 1e-3


def test_clipping_note_suggests_normalize_for_an_unnormalised_kernel() -> None:
    from imgconv.chain import run_filters

    img = np.full((8, 8), 200, np.uint8)
    res = run_filters(img, ["1 2 1; 2 4 2; 1 2 1"])
    notes: list[str] = []
    finish(res.values, U8, in_dtype=img.dtype, notes=notes, gain=res.gain)
    assert res.gain == 16
    assert len(notes) == 1 and "sum to 16: normalize=True" in notes[0]
    notes = []
    res = run_filters(img + 50, ["box3"])  # sums to 1: clipping needs no normalize hint
    finish(res.values + 10, U8, in_dtype=img.dtype, notes=notes, gain=res.gain)
    assert notes and "normalize" not in notes[0]


def test_float_0_1_cast_to_uint8_gets_a_note_naming_rescale() -> None:
    values = np.random.default_rng(3).random((6, 6)).astype(np.float32)
    notes: list[str] = []
    out = finish(values, U8, in_dtype=np.float32, notes=notes)
    assert set(np.unique(out)) <= {0, 1}
    assert len(notes) == 1 and "rescale=True" in notes[0]
    notes = []
    finish(values, FilterOptions(dtype="uint8", rescale=True), in_dtype=np.float32, notes=notes)
    assert notes == []
    finish(values * 200, U8, in_dtype=np.float32, notes=notes)  # a 0..255 float image
    assert notes == []


@pytest.mark.parametrize("kernel,advice", [
    ([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], "edge kernels"),  # Sobel: weights sum to 0
    ([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], "overshoot"),  # sharpen: sums to 1
])
def test_clipping_advice_follows_what_the_kernel_is(kernel: list[list[int]],
                                                    advice: str) -> None:
    """A note on clipped negatives advises by the kernel: abs/offset for an edge detector,
    rescale or a float output for a sharpen that overshoots (not 'edge kernels')."""
    img = np.random.default_rng(4).integers(0, 256, (40, 40), dtype=np.uint8)
    res = run_filters(img, [np.array(kernel, float)])
    notes: list[str] = []
    finish(res.values, U8, in_dtype=np.uint8, notes=notes, gain=res.gain)
    assert "negative" in notes[0] and advice in notes[0]


def test_edge_clipping_advice_leaves_out_what_was_given() -> None:
    """Sobel reaches about ±1020: offset 128 is not offered (it would not keep the sign),
    and once given the note says so and offers rescale or a float output; abs is said to
    keep magnitudes, never the sign.  A kernel reaching ±1 is offered the offset."""
    img = np.random.default_rng(4).integers(0, 256, (40, 40), dtype=np.uint8)
    sobel = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], float)
    res = run_filters(img, [sobel])
    lo, hi = float(res.values.min()), float(res.values.max())
    notes: list[str] = []
    finish(res.values, U8, in_dtype=np.uint8, notes=notes, gain=res.gain)
    assert f"reach {lo:.6g}..{hi:.6g}:" in notes[0] and "offset" not in notes[0]
    assert "abs=True keeps their magnitude, not their sign" in notes[0]
    notes = []
    finish(res.values, U8.replace(offset=128), in_dtype=np.uint8, notes=notes, gain=res.gain)
    edge = [n for n in notes if "negative" in n][0]
    assert f"reach {lo + 128:.6g}..{hi + 128:.6g} after offset=128:" in edge
    assert "keeps the sign" not in edge and "rescale=True maps them onto 0..255" in edge
    notes = []
    finish(res.values, U8.replace(abs=True, offset=-128), in_dtype=np.uint8, notes=notes,
           gain=res.gain)
    assert "abs=True" not in [n for n in notes if "negative" in n][0]
    ramp = np.tile(np.r_[np.arange(100), np.arange(100)[::-1]].astype(np.uint8), (10, 1))
    res = run_filters(ramp, [np.array([[1, -1]], float)])
    notes = []
    finish(res.values, U8, in_dtype=np.uint8, notes=notes, gain=res.gain)
    assert "reach -1..1:" in notes[0] and "offset=128 keeps the sign" in notes[0]


def test_filters_that_are_no_filter_are_refused_by_name() -> None:
    from imgconv.errors import ImgconvError

    with pytest.raises(ImgconvError, match="filters=5: give a filter") as info:
        filter_image(np.zeros((5, 5)), filters=5)  # type: ignore[arg-type]
    assert info.value.params == ("filters",)
