"""``imgconv apply`` over files: the order of operations of docs/semantics.md §3, formats,
sizes, pages, exit codes and messages (flag spellings), atomic writes.

Inputs are made here (numpy + OpenCV / Pillow / tifffile) inside tmp_path; outputs are
read back with those libraries and compared with scipy.ndimage, scipy.signal or
hand-computed values, never with imgconv itself.  The library side is test_chain.py.
"""

from __future__ import annotations

import dataclasses
import errno
import re
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import scipy.signal as sps
import tifffile
from PIL import Image

from imgconv import formats

Case = tuple[Path, np.ndarray]


def q8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255)


def read_rgb(p: Path) -> np.ndarray:
    """An image read by OpenCV (any depth), channels in RGB(A) order."""
    arr = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
    assert arr is not None, p
    if arr.ndim == 3:
        arr = arr[:, :, [2, 1, 0, 3]] if arr.shape[2] == 4 else arr[:, :, ::-1]
    return arr


# -- 16-bit RGB: bit depth never lost ------------------------------------------------------

@pytest.fixture
def rgb16(tmp_path: Path, ref: SimpleNamespace) -> Case:
    rgb = ref.noise((23, 19, 3), 65535, 1).astype(np.uint16)
    rgb[0, 0] = [0, 65535, 1]
    p = tmp_path / "rgb16.png"
    assert cv2.imwrite(str(p), rgb[:, :, ::-1])  # BGR on disk order
    return p, rgb


@pytest.mark.parametrize(("spec", "tol"), [("identity", 0), ("gaussian:sigma=1.5", 1)])
def test_16bit_rgb_keeps_its_depth(tmp_path: Path, rgb16: Case, cli: SimpleNamespace,
                                   ref: SimpleNamespace, spec: str, tol: float) -> None:
    """identity is bit-identical; a Gaussian matches scipy's within one level of 65535."""
    src, rgb = rgb16
    out = tmp_path / "out.png"
    cli.ok("apply", src, "-f", spec, "-o", out)
    back = read_rgb(out)
    assert back.dtype == np.uint16 and back.shape == rgb.shape
    kernel = ref.kernels["identity"] if spec == "identity" else ref.gaussian(1.5)
    assert ref.maxdiff(back, ref.scipy(rgb, kernel)) <= tol


# -- alpha ---------------------------------------------------------------------------------

@pytest.fixture
def rgba(tmp_path: Path, ref: SimpleNamespace) -> Case:
    img = ref.noise((20, 24, 4), 255, 2).astype(np.uint8)
    img[2:9, 3:12, 3] = 0  # a fully transparent block wider than the kernel
    img[12:, :, 3] = 255
    img[12:15, 5:9, 3] = 128
    p = tmp_path / "rgba.png"
    Image.fromarray(img, mode="RGBA").save(p)
    return p, img


def box3_with_alpha(img: np.ndarray, alpha: str, ref: SimpleNamespace) -> np.ndarray:
    """box3 over an image whose last channel is alpha, as docs/semantics.md §3 says."""
    box3 = ref.kernels["box3"]
    if alpha == "keep":
        return np.dstack([ref.scipy(img[:, :, :-1], box3), img[:, :, -1]])
    if alpha == "filter":
        return ref.scipy(img, box3)
    return ref.premultiplied(img, box3, 255)


@pytest.mark.parametrize("alpha", ["keep", "filter", "premultiply"])
def test_alpha_rgba(tmp_path: Path, rgba: Case, cli: SimpleNamespace, ref: SimpleNamespace,
                    alpha: str) -> None:
    src, img = rgba
    out = tmp_path / "out.png"
    flags = [] if alpha == "keep" else ["--alpha", alpha]  # keep: the default
    cli.ok("apply", src, "-f", "box3", *flags, "-o", out)
    back = np.asarray(Image.open(out))
    assert back.dtype == np.uint8
    assert ref.maxdiff(back, box3_with_alpha(img, alpha, ref)) <= 1
    if alpha == "keep":  # alpha byte-identical
        np.testing.assert_array_equal(back[:, :, 3], img[:, :, 3])
    if alpha == "premultiply":  # inside the transparent block F(a) == 0: colour 0, not noise
        np.testing.assert_array_equal(back[4:7, 5:10], 0)


def test_gray_alpha_png_keeps_two_channels(tmp_path: Path, cli: SimpleNamespace,
                                           ref: SimpleNamespace) -> None:
    la = ref.noise((15, 17, 2), 255, 4).astype(np.uint8)
    src = tmp_path / "la.png"
    Image.fromarray(la, mode="LA").save(src)
    for alpha in ("keep", "filter", "premultiply"):
        out = tmp_path / f"out-{alpha}.png"
        cli.ok("apply", src, "-f", "box3", "--alpha", alpha, "-o", out)
        with Image.open(out) as im:
            assert im.mode == "LA", alpha
            back = np.asarray(im)
        assert ref.maxdiff(back, box3_with_alpha(la, alpha, ref)) <= 1, alpha
        if alpha == "keep":
            np.testing.assert_array_equal(back[:, :, 1], la[:, :, 1])


def test_alpha_keep_under_valid_is_cropped_like_colour(tmp_path: Path, rgba: Case,
                                                     cli: SimpleNamespace) -> None:
    src, img = rgba
    out = tmp_path / "out.png"
    cli.ok("apply", src, "-f", "box3", "--size", "valid", "-o", out)
    back = np.asarray(Image.open(out))
    assert back.shape == (img.shape[0] - 2, img.shape[1] - 2, 4)
    np.testing.assert_array_equal(back[:, :, 3], img[1:-1, 1:-1, 3])


# -- float output, abs, offset -----------------------------------------------------------

@pytest.fixture
def gray8(tmp_path: Path, ref: SimpleNamespace) -> Case:
    img = ref.noise((21, 26), 255, 5).astype(np.uint8)
    p = tmp_path / "gray.png"
    Image.fromarray(img).save(p)
    return p, img


def test_float32_tiff_keeps_negative_edges(tmp_path: Path, gray8: Case, cli: SimpleNamespace,
                                          ref: SimpleNamespace) -> None:
    src, img = gray8
    out = tmp_path / "x.tif"
    cli.ok("apply", src, "-f", "sobel-x", "--dtype", "float32", "-o", out)
    back = tifffile.imread(out)
    assert back.dtype == np.float32 and back.shape == img.shape
    expect = ref.scipy(img, ref.kernels["sobel-x"])
    assert back.min() < 0 and expect.min() < 0
    assert ref.maxdiff(back, expect) <= 1e-4 * 8 * 255


def test_abs_then_offset(tmp_path: Path, gray8: Case, cli: SimpleNamespace,
                         ref: SimpleNamespace) -> None:
    src, img = gray8
    out = tmp_path / "out.png"
    cli.ok("apply", src, "-f", "sobel-x", "--abs", "--offset", "128", "-o", out)
    r = ref.scipy(img, ref.kernels["sobel-x"])  # integer results: no rounding ambiguity
    np.testing.assert_array_equal(np.asarray(Image.open(out)), q8(np.abs(r) + 128))
    # the data tell the orders apart: abs(r + 128) != abs(r) + 128 where r < -128
    assert not np.array_equal(q8(np.abs(r + 128)), q8(np.abs(r) + 128))


def test_offset_without_abs(tmp_path: Path, gray8: Case, cli: SimpleNamespace,
                            ref: SimpleNamespace) -> None:
    src, img = gray8
    out = tmp_path / "out.png"
    cli.ok("apply", src, "-f", "sobel-x", "--offset", "128", "-o", out)
    np.testing.assert_array_equal(np.asarray(Image.open(out)),
                                  q8(ref.scipy(img, ref.kernels["sobel-x"]) + 128))


def test_float_into_png_exits_2_and_writes_nothing(tmp_path: Path, gray8: Case,
                                                  cli: SimpleNamespace) -> None:
    src, _ = gray8
    before = sorted(p.name for p in tmp_path.iterdir())
    code, _, err = cli.run("apply", src, "-f", "sobel-x", "--dtype", "float32", "-o",
                           tmp_path / "x.png")
    assert code == 2
    assert "float32" in err and "--dtype" in err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_float_input_into_png_without_dtype_exits_2(tmp_path: Path, cli: SimpleNamespace) -> None:
    src = tmp_path / "f.tif"
    tifffile.imwrite(src, np.ones((6, 6), np.float32))
    code, _, err = cli.run("apply", src, "-f", "box3", "-o", tmp_path / "x.png")
    assert code == 2 and "float32" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.tif"]


def test_16bit_into_jpeg_exits_2(tmp_path: Path, rgb16: Case, cli: SimpleNamespace) -> None:
    src, _ = rgb16
    code, _, err = cli.run("apply", src, "-f", "box3", "-o", tmp_path / "x.jpg")
    assert code == 2 and "uint16" in err
    assert not (tmp_path / "x.jpg").exists()


# -- output size -----------------------------------------------------------------------------

ASYM = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, -1.0], [3.0, 0.0, 1.0], [0.5, 0.0, 0.0]])
ASYM_TXT = "1 2 0; 0 1 -1; 3 0 1; 0.5 0 0"


def test_size_valid_shape_and_values(tmp_path: Path, gray8: Case, cli: SimpleNamespace,
                                     ref: SimpleNamespace) -> None:
    src, img = gray8
    out = tmp_path / "v.tif"
    cli.ok("apply", src, "-f", ASYM_TXT, "--size", "valid", "--dtype", "float32", "-o", out)
    back = tifffile.imread(out)
    h, w = img.shape
    assert back.shape == (h - 4 + 1, w - 3 + 1)
    expect = sps.convolve2d(img.astype(np.float64), ASYM, mode="valid")
    assert ref.maxdiff(back, expect) <= 1e-4 * np.abs(ASYM).sum() * 255


@pytest.mark.parametrize("cval", [0.0, 77.0])
def test_size_full_constant_cval(tmp_path: Path, gray8: Case, cval: float, cli: SimpleNamespace,
                                 ref: SimpleNamespace) -> None:
    src, img = gray8
    out = tmp_path / "f.tif"
    cli.ok("apply", src, "-f", ASYM_TXT, "--size", "full", "--boundary", "constant", "--cval",
           cval, "--dtype", "float32", "-o", out)
    back = tifffile.imread(out)
    h, w = img.shape
    assert back.shape == (h + 4 - 1, w + 3 - 1)
    expect = sps.convolve2d(img.astype(np.float64), ASYM, mode="full", boundary="fill",
                            fillvalue=cval)
    assert ref.maxdiff(back, expect) <= 1e-4 * np.abs(ASYM).sum() * 255


def test_size_valid_kernel_larger_than_image_is_an_error(tmp_path: Path,
                                                        cli: SimpleNamespace) -> None:
    src = tmp_path / "tiny.png"
    Image.fromarray(np.zeros((3, 3), np.uint8)).save(src)
    code, _, err = cli.run("apply", src, "-f", "box5", "--size", "valid",
                           "-o", tmp_path / "o.png")
    assert code == 2 and "--size valid" in err, err
    assert not (tmp_path / "o.png").exists()


# -- JPEG ------------------------------------------------------------------------------------

def test_jpeg_in_jpeg_out(tmp_path: Path, cli: SimpleNamespace, ref: SimpleNamespace) -> None:
    yy, xx = np.mgrid[0:40, 0:48]
    img = np.stack([yy * 5, xx * 4, (yy + xx) * 2.5], axis=2).clip(0, 255).astype(np.uint8)
    src = tmp_path / "in.jpg"
    Image.fromarray(img).save(src, quality=95)
    decoded = np.asarray(Image.open(src))
    out = tmp_path / "out.jpg"
    cli.ok("apply", src, "-f", "gaussian:sigma=1", "-o", out)
    with Image.open(out) as im:
        assert im.format == "JPEG"
        back = np.asarray(im)
    assert back.dtype == np.uint8 and back.shape == img.shape
    expect = ref.scipy(decoded, ref.gaussian(1.0))
    assert float(np.mean(np.abs(back - expect))) < 3


# -- multi-page TIFF -------------------------------------------------------------------------

@pytest.fixture
def pages3(tmp_path: Path, ref: SimpleNamespace) -> Case:
    stack = ref.noise((3, 14, 18), 255, 6).astype(np.uint8)
    p = tmp_path / "pages.tif"
    with tifffile.TiffWriter(p) as tw:
        for page in stack:
            tw.write(page)
    return p, stack


def test_multipage_tiff_every_page_filtered(tmp_path: Path, pages3: Case, cli: SimpleNamespace,
                                           ref: SimpleNamespace) -> None:
    src, stack = pages3
    out = tmp_path / "out.tif"
    cli.ok("apply", src, "-f", "gaussian5", "-o", out)
    with tifffile.TiffFile(out) as tif:
        assert len(tif.pages) == 3
        got = [pg.asarray() for pg in tif.pages]
    for i in range(3):
        single = tmp_path / f"page{i}.tif"
        tifffile.imwrite(single, stack[i])
        alone = tmp_path / f"alone{i}.tif"
        cli.ok("apply", single, "-f", "gaussian5", "-o", alone)
        assert got[i].dtype == np.uint8 and got[i].shape == stack[i].shape
        np.testing.assert_array_equal(got[i], tifffile.imread(alone))
        assert ref.maxdiff(got[i], ref.scipy(stack[i], ref.kernels["gaussian5"])) <= 1


def test_multipage_tiff_rgb(tmp_path: Path, cli: SimpleNamespace, ref: SimpleNamespace) -> None:
    stack = ref.noise((3, 10, 12, 3), 255, 7).astype(np.uint8)
    src = tmp_path / "rgbpages.tif"
    with tifffile.TiffWriter(src) as tw:
        for page in stack:
            tw.write(page, photometric="rgb")
    out = tmp_path / "out.tif"
    cli.ok("apply", src, "-f", "box3", "-o", out)
    with tifffile.TiffFile(out) as tif:
        assert len(tif.pages) == 3
        for i, pg in enumerate(tif.pages):
            assert ref.maxdiff(pg.asarray(), ref.scipy(stack[i], ref.kernels["box3"])) <= 1


def test_multipage_tiff_to_png_needs_page(tmp_path: Path, pages3: Case, cli: SimpleNamespace,
                                         ref: SimpleNamespace) -> None:
    src, stack = pages3
    out = tmp_path / "one.png"
    code, _, err = cli.run("apply", src, "-f", "box3", "-o", out)
    assert code == 2
    assert "--page" in err
    assert not out.exists()
    cli.ok("apply", src, "-f", "box3", "--page", "1", "-o", out)
    back = np.asarray(Image.open(out))
    assert ref.maxdiff(back, ref.scipy(stack[1], ref.kernels["box3"])) <= 1
    assert ref.maxdiff(back, ref.scipy(stack[0], ref.kernels["box3"])) > 1  # page 1, not 0


# -- rescale, normalize ---------------------------------------------------------------------

def test_rescale_maps_min_max_to_full_range(tmp_path: Path, gray8: Case, cli: SimpleNamespace,
                                           ref: SimpleNamespace) -> None:
    src, img = gray8
    out = tmp_path / "out.png"
    cli.ok("apply", src, "-f", "sobel-x", "--rescale", "-o", out)
    back = np.asarray(Image.open(out))
    r = ref.scipy(img, ref.kernels["sobel-x"])
    expect = (r - r.min()) * 255 / (r.max() - r.min())
    assert back.min() == 0 and back.max() == 255
    assert ref.maxdiff(back, expect) <= 0.5 + 1e-3


def test_rescale_is_global_over_channels(tmp_path: Path, cli: SimpleNamespace,
                                         ref: SimpleNamespace) -> None:
    ramp = np.linspace(0, 1, 12)[None, :]
    img = np.dstack([np.repeat(ramp * 200, 12, 0), np.repeat(50 + ramp * 50, 12, 0),
                     np.full((12, 12), 10.0)]).astype(np.uint8)
    src = tmp_path / "rgb.png"
    Image.fromarray(img).save(src)
    out = tmp_path / "out.png"
    cli.ok("apply", src, "-f", "identity", "--rescale", "-o", out)
    back = np.asarray(Image.open(out))
    assert ref.maxdiff(back, img.astype(np.float64) * 255 / 200) <= 0.5 + 1e-3
    assert back[:, :, 1].max() < 255  # not stretched channel by channel


def test_rescale_constant_result_maps_to_zero(tmp_path: Path, cli: SimpleNamespace) -> None:
    src = tmp_path / "flat.png"
    Image.fromarray(np.full((9, 9), 200, np.uint8)).save(src)
    out = tmp_path / "out.png"
    cli.ok("apply", src, "-f", "box3", "--rescale", "-o", out)
    np.testing.assert_array_equal(np.asarray(Image.open(out)), 0)


def test_normalize_divides_by_the_sum(tmp_path: Path, gray8: Case, cli: SimpleNamespace,
                                      ref: SimpleNamespace) -> None:
    src, img = gray8
    out = tmp_path / "out.tif"
    cli.ok("apply", src, "-f", "1 2 1; 2 4 2; 1 2 1", "--normalize", "--dtype", "float32",
           "-o", out)
    k = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16
    assert ref.maxdiff(tifffile.imread(out), ref.scipy(img, k)) <= 1e-4 * 255


def test_normalize_zero_sum_kernel_left_as_is_with_a_note(tmp_path: Path, gray8: Case,
                                                         cli: SimpleNamespace,
                                                         ref: SimpleNamespace) -> None:
    src, img = gray8
    out = tmp_path / "out.tif"
    _, err = cli.ok("apply", src, "-f", "laplacian4", "--normalize", "--dtype", "float32",
                    "-o", out)
    assert "laplacian4" in err
    assert re.search(r"zero|sums? to 0\b", err, re.IGNORECASE), err
    expect = ref.scipy(img, ref.kernels["laplacian4"])
    assert ref.maxdiff(tifffile.imread(out), expect) <= 1e-4 * 8 * 255


# -- gray, integer-to-integer scaling ---------------------------------------------------------

def test_gray_uses_bt601_luma(tmp_path: Path, cli: SimpleNamespace, ref: SimpleNamespace) -> None:
    img = ref.noise((10, 13, 3), 255, 8).astype(np.uint8)
    src = tmp_path / "rgb.png"
    Image.fromarray(img).save(src)
    out = tmp_path / "g.tif"
    cli.ok("apply", src, "-f", "identity", "--gray", "--dtype", "float32", "-o", out)
    back = tifffile.imread(out)
    assert back.ndim == 2 and back.shape == img.shape[:2]
    luma = img.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    assert ref.maxdiff(back, luma) <= 1e-3
    out8 = tmp_path / "g.png"
    cli.ok("apply", src, "-f", "identity", "--gray", "-o", out8)
    back8 = np.asarray(Image.open(out8))
    assert back8.ndim == 2 and ref.maxdiff(back8, luma) <= 0.5 + 1e-3


def test_uint16_to_uint8_scales_by_ratio_of_maxima(tmp_path: Path, cli: SimpleNamespace) -> None:
    vals = np.array([[0, 257, 257 * 100, 32767, 32896, 65535]], dtype=np.uint16)
    src = tmp_path / "g16.png"
    assert cv2.imwrite(str(src), np.repeat(vals, 3, axis=0))
    out = tmp_path / "o.png"
    cli.ok("apply", src, "-f", "identity", "--dtype", "uint8", "-o", out)
    back = np.asarray(Image.open(out))
    assert back.dtype == np.uint8
    # 32767 * 255 / 65535 = 127.498..., 32896 = 128 * 257
    np.testing.assert_array_equal(back[0], [0, 1, 100, 127, 128, 255])


def test_uint8_to_uint16_scales_by_ratio_of_maxima(gray8: Case, tmp_path: Path,
                                                  cli: SimpleNamespace) -> None:
    src, img = gray8
    out = tmp_path / "o.png"
    cli.ok("apply", src, "-f", "identity", "--dtype", "uint16", "-o", out)
    back = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, img.astype(np.uint32) * 257)


def test_uint8_to_float_is_not_rescaled(gray8: Case, tmp_path: Path, cli: SimpleNamespace) -> None:
    src, img = gray8
    out = tmp_path / "o.tif"
    cli.ok("apply", src, "-f", "identity", "--dtype", "float64", "-o", out)
    back = tifffile.imread(out)
    assert back.dtype == np.float64
    np.testing.assert_array_equal(back, img)


# -- rounding and clipping ---------------------------------------------------------------------

def test_round_half_to_even_exact_halves(tmp_path: Path, cli: SimpleNamespace) -> None:
    # kernel "0.5 0.5" (anchor column 1) under correlate: out(x) = (I(x-1) + I(x)) / 2,
    # with nearest extension I(-1) = I(0); float64 and a direct sum make the halves exact.
    # (--method direct: auto picks "separable", whose SVD factors of [0.5 0.5] are not
    # exact, so 3.5 arrives as 3.4999999999999991 and rounds to 3.)
    row = np.array([2, 3, 4, 5, 6, 7, 0, 1], dtype=np.uint8)
    src = tmp_path / "r.png"
    Image.fromarray(np.repeat(row[None, :], 2, axis=0)).save(src)
    out = tmp_path / "o.png"
    cli.ok("apply", src, "-f", "0.5 0.5", "--mode", "correlate", "--boundary", "nearest",
           "--precision", "double", "--method", "direct", "-o", out)
    # exact values: 2, 2.5, 3.5, 4.5, 5.5, 6.5, 3.5, 0.5
    np.testing.assert_array_equal(np.asarray(Image.open(out))[0], [2, 2, 4, 4, 6, 6, 4, 0])


def test_clipping_never_wraps(tmp_path: Path, cli: SimpleNamespace) -> None:
    src = tmp_path / "c.png"
    Image.fromarray(np.array([[150, 100, 0, 5]] * 2, dtype=np.uint8)).save(src)
    out = tmp_path / "o.png"
    cli.ok("apply", src, "-f", "2", "-o", out)  # 300 -> 255, 200, 0, 10
    np.testing.assert_array_equal(np.asarray(Image.open(out))[0], [255, 200, 0, 10])
    out2 = tmp_path / "o2.png"
    cli.ok("apply", src, "-f", "1", "--offset", "-10", "-o", out2)  # 140, 90, -10, -5
    np.testing.assert_array_equal(np.asarray(Image.open(out2))[0], [140, 90, 0, 0])


# -- atomic writes, existing outputs ------------------------------------------------------------

def test_failed_write_exits_1_and_leaves_nothing(tmp_path: Path, gray8: Case, cli: SimpleNamespace,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    src, _ = gray8

    def write(tmp: str, *args: object) -> None:
        Path(tmp).write_bytes(b"\x89PNG\r\n\x1a\n half")
        raise OSError(errno.ENOSPC, "No space left on device")

    png = dataclasses.replace(formats.FORMATS[".png"], write=write)
    monkeypatch.setitem(formats.FORMATS, ".png", png)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, _, err = cli.run("apply", src, "-f", "box3", "-o", tmp_path / "out.png")
    assert code == 1
    assert f"disk full while writing {tmp_path / 'out.png'}" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    target = tmp_path / "out.png"
    target.write_bytes(b"precious")
    code, _, _ = cli.run("apply", src, "-f", "box3", "-o", target, "--overwrite")
    assert code == 1
    assert target.read_bytes() == b"precious"
    assert not any(p.name.endswith(".part") for p in tmp_path.iterdir())


def test_existing_output_refused(tmp_path: Path, gray8: Case, cli: SimpleNamespace) -> None:
    src, _ = gray8
    target = tmp_path / "out.png"
    target.write_bytes(b"precious")
    code, _, err = cli.run("apply", src, "-f", "box3", "-o", target)
    assert code == 2 and "--overwrite" in err
    assert target.read_bytes() == b"precious"


# -- hardening from the bad-input battery (issue 7) ----------------------------------------------

def test_pixel_guard_holds_for_streamed_tiff(tmp_path: Path, cli: SimpleNamespace,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    big = tmp_path / "t16.tif"
    tifffile.imwrite(big, np.zeros((1200, 1000), np.uint16), compression="zlib",
                     tile=(256, 256))
    monkeypatch.setenv("IMGCONV_MAX_PIXELS", "1000000")
    code, _, err = cli.run("apply", big, "-f", "box3", "--memory-limit", "10MB",
                           "-o", tmp_path / "b.tif")
    assert code == 2 and "IMGCONV_MAX_PIXELS" in err and "t16.tif" in err
    assert not (tmp_path / "b.tif").exists()


@pytest.mark.parametrize("ext", [".png", ".jpg", ".gif"])
def test_more_channels_than_the_format_holds(tmp_path: Path, cli: SimpleNamespace,
                                             ext: str) -> None:
    np.save(tmp_path / "seven.npy", np.zeros((20, 30, 7), np.uint8))
    out = tmp_path / f"seven{ext}"
    code, _, err = cli.run("apply", tmp_path / "seven.npy", "-f", "box3", "-o", out)
    assert code == 2 and "7 channels" in err and not out.exists()


def test_alpha_into_a_format_without_it_names_formats_that_hold_it(
        tmp_path: Path, cli: SimpleNamespace) -> None:
    """RGBA (4 channels) and gray+alpha (--gray keeps alpha: 2) into a JPEG: the advice
    names formats that hold that many channels, never --gray (which cannot drop alpha)."""
    Image.fromarray(np.full((20, 30, 4), 90, np.uint8), "RGBA").save(tmp_path / "a.png")
    out = tmp_path / "a.jpg"
    code, _, err = cli.run("apply", tmp_path / "a.png", "-f", "box3", "-o", out)
    assert code == 2 and "cannot hold 4 channels: write .png, .tif, .bmp, .webp" in err
    assert "--gray" not in err and ".gif" not in err and not out.exists()
    code, _, err = cli.run("apply", tmp_path / "a.png", "-f", "box3", "--gray", "-o", out)
    assert code == 2 and "cannot hold 2 channels: write .png, .tif, .apng or .npy" in err
    assert "--gray" not in err and ".webp" not in err and not out.exists()
    code, _, err = cli.run("apply", tmp_path / "a.png", "-f", "box3", "--dtype", "float32",
                           "-o", tmp_path / "a.pfm")
    assert code == 2 and "cannot hold 4 channels: write .tif or .npy" in err


def test_gif_output_notes_colours_it_reduces(tmp_path: Path, cli: SimpleNamespace) -> None:
    """More colours than a GIF holds: a note says how many and what keeps them exactly;
    256 colours or fewer are written exactly, without the note."""
    rng = np.random.default_rng(5)
    many = rng.integers(0, 256, (40, 50, 3), np.uint8)  # ~2000 colours
    Image.fromarray(many).save(tmp_path / "many.png")
    code, _, err = cli.run("apply", tmp_path / "many.png", "-f", "identity", "-o",
                           tmp_path / "many.gif")
    count = len(np.unique(many.reshape(-1, 3), axis=0))
    assert code == 0 and f"the image's {count:,} were reduced to 256" in err
    assert "write .png for exact pixels" in err
    few = rng.integers(0, 256, (200, 3), np.uint8)[rng.integers(0, 200, (40, 50))]
    Image.fromarray(few).save(tmp_path / "few.png")
    code, _, err = cli.run("apply", tmp_path / "few.png", "-f", "identity", "-o",
                           tmp_path / "few.gif")
    assert code == 0 and "colours" not in err
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "few.gif").convert("RGB")),
                                  few)


def test_pickled_npy_kernel_is_never_loaded(tmp_path: Path, cli: SimpleNamespace) -> None:
    np.save(tmp_path / "evil.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    code, _, err = cli.run("show", tmp_path / "evil.npy")
    assert code == 2 and "never loads" in err and "allow_pickle" not in err
