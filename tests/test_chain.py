"""The order of operations of SPEC §3 through ``imgconv apply`` and the pipeline API.

Inputs are made here (numpy + OpenCV / Pillow / tifffile / imageio) inside tmp_path;
outputs are read back with those libraries and compared with scipy.ndimage,
scipy.signal or hand-computed values, never with imgconv itself.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import cv2
import imageio.v3 as iio
import numpy as np
import pytest
import scipy.ndimage as ndi
import scipy.signal as sps
import tifffile
from PIL import Image
from typer.testing import CliRunner

from imgconv import formats
from imgconv.cli import app
from imgconv.chain import filter_image, finish, normalized, run_filters, to_gray

runner = CliRunner()

SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64)
LAPLACIAN4 = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float64)
BOX3 = np.full((3, 3), 1 / 9)


def run(*args: object) -> tuple[int, str, str]:
    r = runner.invoke(app, [str(a) for a in args])
    return r.exit_code, r.stdout, r.stderr


def ok(*args: object) -> tuple[str, str]:
    code, out, err = run(*args)
    assert code == 0, f"exit {code}\n{out}\n{err}"
    return out, err


def ref(channel: np.ndarray, kernel: np.ndarray, mode: str = "reflect",
        cval: float = 0.0) -> np.ndarray:
    """Convolution (imgconv's default mode) of one channel by scipy.ndimage, in float64."""
    return ndi.convolve(channel.astype(np.float64), kernel, mode=mode, cval=cval)


def per_channel(img: np.ndarray, kernel: np.ndarray, **kw: object) -> np.ndarray:
    if img.ndim == 2:
        return ref(img, kernel, **kw)  # type: ignore[arg-type]
    return np.stack([ref(img[:, :, c], kernel, **kw)  # type: ignore[arg-type]
                     for c in range(img.shape[2])], axis=2)


def q8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255)


def maxdiff(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape, f"{a.shape} != {b.shape}"
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))


def cv_read_rgb(p: Path) -> np.ndarray:
    arr = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
    assert arr is not None
    if arr.ndim == 3:
        arr = arr[:, :, [2, 1, 0, 3]] if arr.shape[2] == 4 else arr[:, :, ::-1]
    return arr


def smooth(shape: tuple[int, ...], top: int, seed: int) -> np.ndarray:
    """Random but spatially varied test content in 0..top."""
    rng = np.random.default_rng(seed)
    raw = rng.random(shape)
    return np.rint(raw * top)


# -- 16-bit RGB: bit depth never lost ------------------------------------------------------

@pytest.fixture
def rgb16(tmp_path: Path) -> tuple[Path, np.ndarray]:
    rgb = smooth((23, 19, 3), 65535, 1).astype(np.uint16)
    rgb[0, 0] = [0, 65535, 1]
    p = tmp_path / "rgb16.png"
    assert cv2.imwrite(str(p), rgb[:, :, ::-1])  # BGR on disk order
    return p, rgb


def test_16bit_rgb_identity_is_bit_identical(tmp_path: Path,
                                            rgb16: tuple[Path, np.ndarray]) -> None:
    src, rgb = rgb16
    out = tmp_path / "out.png"
    ok("apply", src, "-f", "identity", "-o", out)
    back = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16 and back.shape == rgb.shape
    np.testing.assert_array_equal(back[:, :, ::-1], rgb)


def test_16bit_rgb_gaussian_matches_scipy(tmp_path: Path,
                                          rgb16: tuple[Path, np.ndarray]) -> None:
    src, rgb = rgb16
    out = tmp_path / "out.png"
    ok("apply", src, "-f", "gaussian:sigma=1.5", "-o", out)
    back = cv_read_rgb(out)
    assert back.dtype == np.uint16 and back.shape == rgb.shape
    for c in range(3):
        expect = ndi.gaussian_filter(rgb[:, :, c].astype(np.float64), sigma=1.5,
                                     mode="reflect", radius=6)
        assert maxdiff(back[:, :, c], expect) <= 1, f"channel {c}"


# -- alpha ---------------------------------------------------------------------------------

@pytest.fixture
def rgba(tmp_path: Path) -> tuple[Path, np.ndarray]:
    img = smooth((20, 24, 4), 255, 2).astype(np.uint8)
    img[2:9, 3:12, 3] = 0  # a fully transparent block wider than the kernel
    img[12:, :, 3] = 255
    img[12:15, 5:9, 3] = 128
    p = tmp_path / "rgba.png"
    Image.fromarray(img, mode="RGBA").save(p)
    return p, img


def test_alpha_keep_is_byte_identical_and_colour_filtered(
    tmp_path: Path, rgba: tuple[Path, np.ndarray]
) -> None:
    src, img = rgba
    out = tmp_path / "out.png"
    ok("apply", src, "-f", "box3", "-o", out)
    back = np.asarray(Image.open(out))
    assert back.shape == img.shape and back.dtype == np.uint8
    np.testing.assert_array_equal(back[:, :, 3], img[:, :, 3])
    assert maxdiff(back[:, :, :3], per_channel(img[:, :, :3], BOX3)) <= 1


def test_alpha_filter_filters_alpha_like_colour(tmp_path: Path,
                                               rgba: tuple[Path, np.ndarray]) -> None:
    src, img = rgba
    out = tmp_path / "out.png"
    ok("apply", src, "-f", "box3", "--alpha", "filter", "-o", out)
    back = np.asarray(Image.open(out))
    assert back.shape == img.shape
    assert maxdiff(back, per_channel(img, BOX3)) <= 1


def premultiplied(img: np.ndarray, kernel: np.ndarray, top: float) -> np.ndarray:
    """colour = F(colour·a) / F(a) where F(a) > 0 else 0; alpha = F(alpha) (SPEC §3)."""
    a = img[:, :, -1].astype(np.float64) / top
    fa = ref(a, kernel)
    chans = []
    for c in range(img.shape[2] - 1):
        num = ref(img[:, :, c].astype(np.float64) * a, kernel)
        chans.append(np.where(fa > 0, num / np.where(fa > 0, fa, 1), 0.0))
    chans.append(fa * top)
    return np.stack(chans, axis=2)


def test_alpha_premultiply_matches_the_formula(tmp_path: Path,
                                              rgba: tuple[Path, np.ndarray]) -> None:
    src, img = rgba
    out = tmp_path / "out.png"
    ok("apply", src, "-f", "box3", "--alpha", "premultiply", "-o", out)
    back = np.asarray(Image.open(out))
    expect = premultiplied(img, BOX3, 255)
    assert maxdiff(back, expect) <= 1
    # inside the transparent block F(a) == 0: colour is 0, not noise
    np.testing.assert_array_equal(back[4:7, 5:10], 0)


def test_alpha_premultiply_gaussian_16bit_api() -> None:
    img = smooth((30, 28, 4), 65535, 3)
    img[5:20, 4:18, 3] = 0
    img = img.astype(np.uint16)
    k = np.outer(*(2 * [np.exp(-np.arange(-4, 5) ** 2 / 2.0)]))
    k /= k.sum()
    got = filter_image(img, k, alpha="premultiply", has_alpha=True)
    assert got.dtype == np.uint16
    assert maxdiff(got, premultiplied(img, k, 65535)) <= 1


def test_gray_alpha_png_keeps_two_channels(tmp_path: Path) -> None:
    la = smooth((15, 17, 2), 255, 4).astype(np.uint8)
    src = tmp_path / "la.png"
    Image.fromarray(la, mode="LA").save(src)
    for alpha in ("keep", "filter", "premultiply"):
        out = tmp_path / f"out-{alpha}.png"
        ok("apply", src, "-f", "box3", "--alpha", alpha, "-o", out)
        with Image.open(out) as im:
            assert im.mode == "LA", alpha
            back = np.asarray(im)
        assert back.shape == la.shape
        if alpha == "keep":
            np.testing.assert_array_equal(back[:, :, 1], la[:, :, 1])
            assert maxdiff(back[:, :, 0], ref(la[:, :, 0], BOX3)) <= 1
        elif alpha == "filter":
            assert maxdiff(back, per_channel(la, BOX3)) <= 1
        else:
            assert maxdiff(back, premultiplied(la, BOX3, 255)) <= 1


def test_alpha_keep_under_valid_is_cropped_like_colour(tmp_path: Path,
                                                     rgba: tuple[Path, np.ndarray]) -> None:
    src, img = rgba
    out = tmp_path / "out.png"
    ok("apply", src, "-f", "box3", "--size", "valid", "-o", out)
    back = np.asarray(Image.open(out))
    assert back.shape == (img.shape[0] - 2, img.shape[1] - 2, 4)
    np.testing.assert_array_equal(back[:, :, 3], img[1:-1, 1:-1, 3])


# -- float output, abs, offset -----------------------------------------------------------

@pytest.fixture
def gray8(tmp_path: Path) -> tuple[Path, np.ndarray]:
    img = smooth((21, 26), 255, 5).astype(np.uint8)
    p = tmp_path / "gray.png"
    iio.imwrite(p, img)
    return p, img


def test_float32_tiff_keeps_negative_edges(tmp_path: Path,
                                          gray8: tuple[Path, np.ndarray]) -> None:
    src, img = gray8
    out = tmp_path / "x.tif"
    ok("apply", src, "-f", "sobel-x", "--dtype", "float32", "-o", out)
    back = tifffile.imread(out)
    assert back.dtype == np.float32 and back.shape == img.shape
    expect = ref(img, SOBEL_X)
    assert back.min() < 0 and expect.min() < 0
    assert maxdiff(back, expect) <= 1e-4 * np.abs(SOBEL_X).sum() * 255


def test_abs_then_offset(tmp_path: Path, gray8: tuple[Path, np.ndarray]) -> None:
    src, img = gray8
    out = tmp_path / "out.png"
    ok("apply", src, "-f", "sobel-x", "--abs", "--offset", "128", "-o", out)
    back = iio.imread(out)
    r = ref(img, SOBEL_X)  # integer results: no rounding ambiguity
    np.testing.assert_array_equal(back, q8(np.abs(r) + 128))
    # the other order would differ: abs(r + 128) != abs(r) + 128 where r < -128 ...
    assert not np.array_equal(q8(np.abs(r + 128)), q8(np.abs(r) + 128))


def test_offset_without_abs(tmp_path: Path, gray8: tuple[Path, np.ndarray]) -> None:
    src, img = gray8
    out = tmp_path / "out.png"
    ok("apply", src, "-f", "sobel-x", "--offset", "128", "-o", out)
    np.testing.assert_array_equal(iio.imread(out), q8(ref(img, SOBEL_X) + 128))


def test_float_into_png_exits_2_and_writes_nothing(tmp_path: Path,
                                                  gray8: tuple[Path, np.ndarray]) -> None:
    src, _ = gray8
    before = sorted(p.name for p in tmp_path.iterdir())
    code, _, err = run("apply", src, "-f", "sobel-x", "--dtype", "float32", "-o",
                       tmp_path / "x.png")
    assert code == 2
    assert "float32" in err and "--dtype" in err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_float_input_into_png_without_dtype_exits_2(tmp_path: Path) -> None:
    src = tmp_path / "f.tif"
    tifffile.imwrite(src, np.ones((6, 6), np.float32))
    code, _, err = run("apply", src, "-f", "box3", "-o", tmp_path / "x.png")
    assert code == 2 and "float32" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.tif"]


def test_16bit_into_jpeg_exits_2(tmp_path: Path, rgb16: tuple[Path, np.ndarray]) -> None:
    src, _ = rgb16
    code, _, err = run("apply", src, "-f", "box3", "-o", tmp_path / "x.jpg")
    assert code == 2 and "uint16" in err
    assert not (tmp_path / "x.jpg").exists()


# -- output size -----------------------------------------------------------------------------

ASYM = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, -1.0], [3.0, 0.0, 1.0], [0.5, 0.0, 0.0]])
ASYM_TXT = "1 2 0; 0 1 -1; 3 0 1; 0.5 0 0"


def test_size_valid_shape_and_values(tmp_path: Path, gray8: tuple[Path, np.ndarray]) -> None:
    src, img = gray8
    out = tmp_path / "v.tif"
    ok("apply", src, "-f", ASYM_TXT, "--size", "valid", "--dtype", "float32", "-o", out)
    back = tifffile.imread(out)
    h, w = img.shape
    assert back.shape == (h - 4 + 1, w - 3 + 1)
    expect = sps.convolve2d(img.astype(np.float64), ASYM, mode="valid")
    assert maxdiff(back, expect) <= 1e-4 * np.abs(ASYM).sum() * 255


@pytest.mark.parametrize("cval", [0.0, 77.0])
def test_size_full_constant_cval(tmp_path: Path, gray8: tuple[Path, np.ndarray],
                                 cval: float) -> None:
    src, img = gray8
    out = tmp_path / "f.tif"
    ok("apply", src, "-f", ASYM_TXT, "--size", "full", "--boundary", "constant", "--cval",
       cval, "--dtype", "float32", "-o", out)
    back = tifffile.imread(out)
    h, w = img.shape
    assert back.shape == (h + 4 - 1, w + 3 - 1)
    expect = sps.convolve2d(img.astype(np.float64), ASYM, mode="full", boundary="fill",
                            fillvalue=cval)
    assert maxdiff(back, expect) <= 1e-4 * np.abs(ASYM).sum() * 255


def test_size_valid_kernel_larger_than_image_is_an_error(tmp_path: Path) -> None:
    src = tmp_path / "tiny.png"
    iio.imwrite(src, np.zeros((3, 3), np.uint8))
    code, _, err = run("apply", src, "-f", "box5", "--size", "valid", "-o", tmp_path / "o.png")
    assert code == 2, err
    assert not (tmp_path / "o.png").exists()


# -- JPEG ------------------------------------------------------------------------------------

def test_jpeg_in_jpeg_out(tmp_path: Path) -> None:
    yy, xx = np.mgrid[0:40, 0:48]
    img = np.stack([yy * 5, xx * 4, (yy + xx) * 2.5], axis=2).clip(0, 255).astype(np.uint8)
    src = tmp_path / "in.jpg"
    Image.fromarray(img).save(src, quality=95)
    decoded = np.asarray(Image.open(src))
    out = tmp_path / "out.jpg"
    ok("apply", src, "-f", "gaussian:sigma=1", "-o", out)
    with Image.open(out) as im:
        assert im.format == "JPEG"
        back = np.asarray(im)
    assert back.dtype == np.uint8 and back.shape == img.shape
    k = np.outer(*(2 * [np.exp(-np.arange(-4, 5) ** 2 / 2.0)]))
    expect = per_channel(decoded, k / k.sum())
    assert float(np.mean(np.abs(back - expect))) < 3


# -- multi-page TIFF -------------------------------------------------------------------------

@pytest.fixture
def pages3(tmp_path: Path) -> tuple[Path, np.ndarray]:
    stack = smooth((3, 14, 18), 255, 6).astype(np.uint8)
    p = tmp_path / "pages.tif"
    with tifffile.TiffWriter(p) as tw:
        for page in stack:
            tw.write(page)
    return p, stack


def test_multipage_tiff_every_page_filtered(tmp_path: Path,
                                           pages3: tuple[Path, np.ndarray]) -> None:
    src, stack = pages3
    out = tmp_path / "out.tif"
    ok("apply", src, "-f", "gaussian5", "-o", out)
    with tifffile.TiffFile(out) as tif:
        assert len(tif.pages) == 3
        got = [pg.asarray() for pg in tif.pages]
    g5 = np.array([[1, 4, 7, 4, 1], [4, 16, 26, 16, 4], [7, 26, 41, 26, 7],
                   [4, 16, 26, 16, 4], [1, 4, 7, 4, 1]]) / 273
    for i in range(3):
        single = tmp_path / f"page{i}.tif"
        tifffile.imwrite(single, stack[i])
        alone = tmp_path / f"alone{i}.tif"
        ok("apply", single, "-f", "gaussian5", "-o", alone)
        assert got[i].dtype == np.uint8 and got[i].shape == stack[i].shape
        np.testing.assert_array_equal(got[i], tifffile.imread(alone))
        assert maxdiff(got[i], ref(stack[i], g5)) <= 1


def test_multipage_tiff_rgb(tmp_path: Path) -> None:
    stack = smooth((3, 10, 12, 3), 255, 7).astype(np.uint8)
    src = tmp_path / "rgbpages.tif"
    with tifffile.TiffWriter(src) as tw:
        for page in stack:
            tw.write(page, photometric="rgb")
    out = tmp_path / "out.tif"
    ok("apply", src, "-f", "box3", "-o", out)
    with tifffile.TiffFile(out) as tif:
        assert len(tif.pages) == 3
        for i, pg in enumerate(tif.pages):
            assert maxdiff(pg.asarray(), per_channel(stack[i], BOX3)) <= 1


def test_multipage_tiff_to_png_needs_page(tmp_path: Path,
                                         pages3: tuple[Path, np.ndarray]) -> None:
    src, stack = pages3
    out = tmp_path / "one.png"
    code, _, err = run("apply", src, "-f", "box3", "-o", out)
    assert code == 2
    assert "--page" in err
    assert not out.exists()
    ok("apply", src, "-f", "box3", "--page", "1", "-o", out)
    back = iio.imread(out)
    assert back.shape == stack[1].shape
    assert maxdiff(back, ref(stack[1], BOX3)) <= 1
    assert maxdiff(back, ref(stack[0], BOX3)) > 1  # really page 1, not page 0


# -- rescale, normalize ---------------------------------------------------------------------

def test_rescale_maps_min_max_to_full_range(tmp_path: Path,
                                           gray8: tuple[Path, np.ndarray]) -> None:
    src, img = gray8
    out = tmp_path / "out.png"
    ok("apply", src, "-f", "sobel-x", "--rescale", "-o", out)
    back = iio.imread(out)
    r = ref(img, SOBEL_X)
    expect = (r - r.min()) * 255 / (r.max() - r.min())
    assert back.min() == 0 and back.max() == 255
    assert maxdiff(back, expect) <= 0.5 + 1e-3


def test_rescale_is_global_over_channels(tmp_path: Path) -> None:
    img = np.zeros((12, 12, 3), np.uint8)
    img[:, :, 0] = np.linspace(0, 200, 12, dtype=np.uint8)[None, :]
    img[:, :, 1] = np.linspace(50, 100, 12, dtype=np.uint8)[None, :]
    img[:, :, 2] = 10
    src = tmp_path / "rgb.png"
    iio.imwrite(src, img)
    out = tmp_path / "out.png"
    ok("apply", src, "-f", "identity", "--rescale", "-o", out)
    back = iio.imread(out)
    expect = img.astype(np.float64) * 255 / 200
    assert maxdiff(back, expect) <= 0.5 + 1e-3
    assert back[:, :, 1].max() < 255  # not stretched channel by channel


def test_rescale_constant_result_maps_to_zero(tmp_path: Path) -> None:
    src = tmp_path / "flat.png"
    iio.imwrite(src, np.full((9, 9), 200, np.uint8))
    out = tmp_path / "out.png"
    ok("apply", src, "-f", "box3", "--rescale", "-o", out)
    np.testing.assert_array_equal(iio.imread(out), 0)


def test_normalize_divides_by_the_sum(tmp_path: Path, gray8: tuple[Path, np.ndarray]) -> None:
    src, img = gray8
    out = tmp_path / "out.tif"
    ok("apply", src, "-f", "1 2 1; 2 4 2; 1 2 1", "--normalize", "--dtype", "float32",
       "-o", out)
    k = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16
    assert maxdiff(tifffile.imread(out), ref(img, k)) <= 1e-4 * 255


def test_normalize_zero_sum_kernel_left_as_is_with_a_note(
    tmp_path: Path, gray8: tuple[Path, np.ndarray]
) -> None:
    src, img = gray8
    out = tmp_path / "out.tif"
    _, err = ok("apply", src, "-f", "laplacian4", "--normalize", "--dtype", "float32",
                "-o", out)
    assert "laplacian4" in err
    assert re.search(r"zero|sums? to 0\b", err, re.IGNORECASE), err
    assert maxdiff(tifffile.imread(out), ref(img, LAPLACIAN4)) <= 1e-4 * 8 * 255


def test_normalized_api() -> None:
    from imgconv.kernels import as_kernel

    notes: list[str] = []
    k = normalized(as_kernel(np.array([[1.0, 3.0]])), notes)
    np.testing.assert_allclose(k.weights * k.scale, [[0.25, 0.75]])
    assert notes == []
    z = normalized(as_kernel(LAPLACIAN4), notes)
    np.testing.assert_array_equal(z.weights * z.scale, LAPLACIAN4)
    assert len(notes) == 1


# -- gray, integer-to-integer scaling ---------------------------------------------------------

def test_gray_uses_bt601_luma(tmp_path: Path) -> None:
    img = smooth((10, 13, 3), 255, 8).astype(np.uint8)
    src = tmp_path / "rgb.png"
    iio.imwrite(src, img)
    out = tmp_path / "g.tif"
    ok("apply", src, "-f", "identity", "--gray", "--dtype", "float32", "-o", out)
    back = tifffile.imread(out)
    assert back.ndim == 2 and back.shape == img.shape[:2]
    luma = img.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    assert maxdiff(back, luma) <= 1e-3
    out8 = tmp_path / "g.png"
    ok("apply", src, "-f", "identity", "--gray", "-o", out8)
    back8 = iio.imread(out8)
    assert back8.ndim == 2 and maxdiff(back8, luma) <= 0.5 + 1e-3


def test_to_gray_keeps_alpha() -> None:
    img = smooth((4, 5, 4), 255, 9).astype(np.uint8)
    g, has_alpha = to_gray(img, True)
    assert has_alpha and g.shape == (4, 5, 2)
    np.testing.assert_array_equal(g[:, :, 1], img[:, :, 3])
    luma = img[:, :, :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    assert maxdiff(g[:, :, 0], luma) <= 1e-3


def test_uint16_to_uint8_scales_by_ratio_of_maxima(tmp_path: Path) -> None:
    vals = np.array([[0, 257, 257 * 100, 32767, 32896, 65535]], dtype=np.uint16)
    img = np.repeat(vals, 3, axis=0)
    src = tmp_path / "g16.png"
    assert cv2.imwrite(str(src), img)
    out = tmp_path / "o.png"
    ok("apply", src, "-f", "identity", "--dtype", "uint8", "-o", out)
    back = iio.imread(out)
    assert back.dtype == np.uint8
    # 32767 * 255 / 65535 = 127.498..., 32896 = 128 * 257
    np.testing.assert_array_equal(back[0], [0, 1, 100, 127, 128, 255])


def test_uint8_to_uint16_scales_by_ratio_of_maxima(gray8: tuple[Path, np.ndarray],
                                                  tmp_path: Path) -> None:
    src, img = gray8
    out = tmp_path / "o.png"
    ok("apply", src, "-f", "identity", "--dtype", "uint16", "-o", out)
    back = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, img.astype(np.uint32) * 257)


def test_uint8_to_float_is_not_rescaled(gray8: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    src, img = gray8
    out = tmp_path / "o.tif"
    ok("apply", src, "-f", "identity", "--dtype", "float64", "-o", out)
    back = tifffile.imread(out)
    assert back.dtype == np.float64
    np.testing.assert_array_equal(back, img)


# -- rounding and clipping ---------------------------------------------------------------------

def test_round_half_to_even_exact_halves(tmp_path: Path) -> None:
    # kernel "0.5 0.5" (anchor column 1) under correlate: out(x) = (I(x-1) + I(x)) / 2,
    # with nearest extension I(-1) = I(0); float64 and a direct sum make the halves exact.
    # (--method direct: auto picks "separable", whose SVD factors of [0.5 0.5] are not
    # exact, so 3.5 arrives as 3.4999999999999991 and rounds to 3.)
    row = np.array([2, 3, 4, 5, 6, 7, 0, 1], dtype=np.uint8)
    img = np.repeat(row[None, :], 2, axis=0)
    src = tmp_path / "r.png"
    iio.imwrite(src, img)
    out = tmp_path / "o.png"
    ok("apply", src, "-f", "0.5 0.5", "--mode", "correlate", "--boundary", "nearest",
       "--precision", "double", "--method", "direct", "-o", out)
    # exact values: 2, 2.5, 3.5, 4.5, 5.5, 6.5, 3.5, 0.5
    np.testing.assert_array_equal(iio.imread(out)[0], [2, 2, 4, 4, 6, 6, 4, 0])


def test_clipping_never_wraps(tmp_path: Path) -> None:
    img = np.array([[150, 100, 0, 5]] * 2, dtype=np.uint8)
    src = tmp_path / "c.png"
    iio.imwrite(src, img)
    out = tmp_path / "o.png"
    ok("apply", src, "-f", "2", "-o", out)  # 300 -> 255, 200, 0, 10
    np.testing.assert_array_equal(iio.imread(out)[0], [255, 200, 0, 10])
    out2 = tmp_path / "o2.png"
    ok("apply", src, "-f", "1", "--offset", "-10", "-o", out2)  # 140, 90, -10 -> 0, -5 -> 0
    np.testing.assert_array_equal(iio.imread(out2)[0], [140, 90, 0, 0])


def test_clipping_16bit_never_wraps() -> None:
    img = np.array([[40000, 30000, 10, 0]], dtype=np.uint16)
    got = filter_image(img, np.array([[2.0]]), offset=-25)
    np.testing.assert_array_equal(got, [[65535, 59975, 0, 0]])


def test_finish_order_of_operations_api() -> None:
    v = np.array([[-200.0, -2.5, 3.5, 100.0]])
    np.testing.assert_array_equal(finish(v, "uint8", abs_=True, offset=128.0),
                                  [[255, 130, 132, 228]])  # 130.5 -> 130, 131.5 -> 132
    np.testing.assert_array_equal(finish(v, "uint8", offset=128.0),
                                  [[0, 126, 132, 228]])  # 125.5 -> 126, 131.5 -> 132
    np.testing.assert_array_equal(finish(v, "uint8", rescale=True),
                                  [[0, 168, 173, 255]])  # (x + 200) * 0.85: 167.875, 172.975
    f = finish(v, "float32", abs_=True)
    assert f.dtype == np.float32
    np.testing.assert_array_equal(f, np.abs(v))


def test_run_filters_chain_in_float(rng: np.random.Generator) -> None:
    img = rng.integers(0, 256, (15, 16)).astype(np.uint8)
    res = run_filters(img, [SOBEL_X, SOBEL_X.T], None)
    expect = ref(ref(img, SOBEL_X), SOBEL_X.T)  # the intermediate is not clipped
    assert res.values.dtype == np.float32
    assert maxdiff(res.values, expect) <= 1e-4 * 64 * 255 * 4


def test_filter_image_api_default_dtype_and_precision(rng: np.random.Generator) -> None:
    img = rng.random((12, 11))  # float64 -> computed in float64, returned float64
    got = filter_image(img, SOBEL_X)
    assert got.dtype == np.float64
    assert maxdiff(got, ref(img, SOBEL_X)) <= 1e-10 * 8
    img8 = (img * 255).astype(np.uint8)
    got8 = filter_image(img8, BOX3)
    assert got8.dtype == np.uint8
    assert maxdiff(got8, ref(img8, BOX3)) <= 0.5 + 1e-3


# -- atomic writes through the CLI ---------------------------------------------------------------

def test_cli_failed_write_exits_1_and_leaves_nothing(
    tmp_path: Path, gray8: tuple[Path, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    src, _ = gray8

    def write(tmp: str, *args: object) -> None:
        Path(tmp).write_bytes(b"\x89PNG\r\n\x1a\n half")
        raise OSError("disk full")

    png = dataclasses.replace(formats.FORMATS[".png"], write=write)
    monkeypatch.setitem(formats.FORMATS, ".png", png)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, _, err = run("apply", src, "-f", "box3", "-o", tmp_path / "out.png")
    assert code == 1
    assert "out.png" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    target = tmp_path / "out.png"
    target.write_bytes(b"precious")
    code, _, _ = run("apply", src, "-f", "box3", "-o", target, "--overwrite")
    assert code == 1
    assert target.read_bytes() == b"precious"
    assert not any(p.name.endswith(".part") for p in tmp_path.iterdir())


def test_cli_existing_output_refused(tmp_path: Path, gray8: tuple[Path, np.ndarray]) -> None:
    src, _ = gray8
    target = tmp_path / "out.png"
    target.write_bytes(b"precious")
    code, _, err = run("apply", src, "-f", "box3", "-o", target)
    assert code == 2 and "--overwrite" in err
    assert target.read_bytes() == b"precious"
