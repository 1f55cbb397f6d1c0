"""Pixels (SPEC §3, §5): reading without loss, the dtype policy, atomic writes, guards.

Every image is made here with numpy + Pillow / OpenCV / tifffile / imageio and checked
against what those libraries (or hand-computed values) say, never against imgconv.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import imageio.v3 as iio
import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms

from imgconv import formats
from imgconv.errors import ImageError, OutputError, WorkError
from imgconv.kernels import load_filter
from imgconv.pipeline import Options, process_file
from imgconv.pixels import (
    check_output_dtype,
    page_count,
    quantize,
    read_image,
    write_image,
)

RNG = np.random.default_rng(20240611)


def leftovers(folder: Path) -> list[str]:
    """Temporary files a write may have left behind."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part")
                  or p.name.startswith("."))


# -- reading: bit depth, palettes, channels -----------------------------------------------

def test_16bit_rgb_png_reads_as_uint16_rgb(tmp_path: Path) -> None:
    rgb = RNG.integers(0, 65536, (9, 13, 3), dtype=np.uint16)
    p = tmp_path / "rgb16.png"
    assert cv2.imwrite(str(p), rgb[:, :, ::-1])  # OpenCV takes BGR
    img = read_image(p)
    assert img.array.dtype == np.uint16
    assert img.array.shape == (9, 13, 3)
    np.testing.assert_array_equal(img.array, rgb)
    assert not img.has_alpha


def test_16bit_rgba_png_reads_as_uint16_rgba(tmp_path: Path) -> None:
    rgba = RNG.integers(0, 65536, (7, 5, 4), dtype=np.uint16)
    p = tmp_path / "rgba16.png"
    assert cv2.imwrite(str(p), rgba[:, :, [2, 1, 0, 3]])
    img = read_image(p)
    assert img.array.dtype == np.uint16 and img.has_alpha
    np.testing.assert_array_equal(img.array, rgba)


def test_16bit_gray_png_reads_as_uint16(tmp_path: Path) -> None:
    gray = RNG.integers(0, 65536, (11, 6), dtype=np.uint16)
    gray[0, 0], gray[0, 1] = 0, 65535
    p = tmp_path / "gray16.png"
    assert cv2.imwrite(str(p), gray)
    img = read_image(p)
    assert img.array.dtype == np.uint16
    np.testing.assert_array_equal(img.array, gray)


def test_palette_png_reads_as_rgb(tmp_path: Path) -> None:
    palette = RNG.integers(0, 256, (16, 3), dtype=np.uint8)
    index = RNG.integers(0, 16, (8, 10), dtype=np.uint8)
    im = Image.fromarray(index, mode="P")
    im.putpalette(palette.ravel().tolist())
    p = tmp_path / "pal.png"
    im.save(p)
    assert Image.open(p).mode == "P"
    img = read_image(p)
    assert img.array.shape == (8, 10, 3) and img.array.dtype == np.uint8
    np.testing.assert_array_equal(img.array, palette[index])
    assert not img.has_alpha


def test_palette_png_with_transparency_reads_as_rgba(tmp_path: Path) -> None:
    palette = RNG.integers(0, 256, (16, 3), dtype=np.uint8)
    index = RNG.integers(0, 16, (8, 10), dtype=np.uint8)
    index[0, :] = 3
    im = Image.fromarray(index, mode="P")
    im.putpalette(palette.ravel().tolist())
    p = tmp_path / "pal_t.png"
    im.save(p, transparency=3)
    reopened = Image.open(p)
    assert reopened.mode == "P" and "transparency" in reopened.info
    img = read_image(p)
    assert img.array.shape == (8, 10, 4) and img.has_alpha
    np.testing.assert_array_equal(img.array[:, :, :3], palette[index])
    np.testing.assert_array_equal(img.array[:, :, 3], np.where(index == 3, 0, 255))


def test_gray_alpha_png_reads_with_two_channels(tmp_path: Path) -> None:
    la = RNG.integers(0, 256, (6, 9, 2), dtype=np.uint8)
    p = tmp_path / "la.png"
    Image.fromarray(la, mode="LA").save(p)
    img = read_image(p)
    assert img.array.shape == (6, 9, 2) and img.has_alpha
    np.testing.assert_array_equal(img.array, la)


def test_float32_tiff_reads_as_float32(tmp_path: Path) -> None:
    arr = RNG.normal(size=(5, 7)).astype(np.float32)
    p = tmp_path / "f.tif"
    tifffile.imwrite(p, arr)
    img = read_image(p)
    assert img.array.dtype == np.float32
    np.testing.assert_array_equal(img.array, arr)


def test_multipage_tiff_reads_as_a_stack_or_one_page(tmp_path: Path) -> None:
    stack = RNG.integers(0, 256, (3, 6, 8), dtype=np.uint8)
    p = tmp_path / "pages.tif"
    with tifffile.TiffWriter(p) as tw:
        for page in stack:
            tw.write(page)
    assert page_count(p) == 3
    whole = read_image(p)
    assert whole.pages == 3
    np.testing.assert_array_equal(whole.array, stack)
    one = read_image(p, page=1)
    assert one.pages == 1
    np.testing.assert_array_equal(one.array, stack[1])
    with pytest.raises(ImageError, match="page"):
        read_image(p, page=3)


def test_page_count_single_image_formats(tmp_path: Path) -> None:
    p = tmp_path / "one.png"
    iio.imwrite(p, np.zeros((4, 4), np.uint8))
    assert page_count(p) == 1


@pytest.mark.parametrize("content", [b"", b"not an image at all"])
def test_unreadable_image_is_an_image_error(tmp_path: Path, content: bytes) -> None:
    p = tmp_path / "bad.png"
    p.write_bytes(content)
    with pytest.raises(ImageError, match="bad.png"):
        read_image(p)


# -- the decompression-bomb guard -------------------------------------------------------

def _write_png8(p: Path, arr: np.ndarray) -> None:
    iio.imwrite(p, arr)


def _write_png16rgb(p: Path, arr: np.ndarray) -> None:
    cv2.imwrite(str(p), np.repeat(arr.astype(np.uint16)[:, :, None], 3, axis=2))


def _write_tif(p: Path, arr: np.ndarray) -> None:
    tifffile.imwrite(p, arr)


def _write_npy(p: Path, arr: np.ndarray) -> None:
    np.save(p, arr)


@pytest.mark.parametrize("ext,writer", [(".png", _write_png8), (".png", _write_png16rgb),
                                        (".tif", _write_tif), (".npy", _write_npy),
                                        (".jpg", _write_png8)],
                         ids=["png", "png16rgb", "tif", "npy", "jpg"])
def test_max_pixels_guard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ext: str,
                          writer: object) -> None:
    p = tmp_path / f"img{ext}"
    writer(p, np.full((20, 20), 7, np.uint8))  # type: ignore[operator]
    assert read_image(p).array.shape[:2] == (20, 20)  # fine under the default limit
    monkeypatch.setenv("IMGCONV_MAX_PIXELS", "100")
    with pytest.raises(ImageError, match="IMGCONV_MAX_PIXELS"):
        read_image(p)
    monkeypatch.setenv("IMGCONV_MAX_PIXELS", "400")  # exactly 20×20 is allowed
    assert read_image(p).array.shape[:2] == (20, 20)


def test_max_pixels_not_a_number(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "img.png"
    iio.imwrite(p, np.zeros((4, 4), np.uint8))
    monkeypatch.setenv("IMGCONV_MAX_PIXELS", "lots")
    with pytest.raises(ImageError, match="IMGCONV_MAX_PIXELS"):
        read_image(p)


# -- quantisation: round half to even, clip, never wrap -----------------------------------

def test_quantize_rounds_half_to_even() -> None:
    v = np.array([0.5, 1.5, 2.5, 3.5, 4.5, 2.4999, 2.5001, -0.5])
    np.testing.assert_array_equal(quantize(v, "uint8"), [0, 2, 2, 4, 4, 2, 3, 0])


@pytest.mark.parametrize("dtype,top", [("uint8", 255), ("uint16", 65535)])
def test_quantize_clips_and_never_wraps(dtype: str, top: int) -> None:
    v = np.array([-5.0, -0.4, 300.0, top + 0.4, top + 1.0, 1e9, -1e9])
    out = quantize(v, dtype)
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(out, [0, 0, min(300, top), top, top, top, 0])


def test_quantize_float_output_keeps_values() -> None:
    v = np.array([-3.25, 0.5, 1e6])
    out = quantize(v, "float32")
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, v.astype(np.float32))


# -- the output dtype policy -----------------------------------------------------------------

@pytest.mark.parametrize("name,dtype", [("x.png", "float32"), ("x.png", "float64"),
                                        ("x.jpg", "uint16"), ("x.jpeg", "float32"),
                                        ("x.bmp", "uint16"), ("x.gif", "uint16"),
                                        ("x.webp", "uint16")])
def test_check_output_dtype_refuses(name: str, dtype: str) -> None:
    with pytest.raises(OutputError) as info:
        check_output_dtype(name, dtype)
    msg = str(info.value)
    assert name in msg and dtype in msg
    assert "--dtype" in msg and ".tif" in msg  # says what would work


@pytest.mark.parametrize("name,dtype", [("x.png", "uint8"), ("x.png", "uint16"),
                                        ("x.jpg", "uint8"), ("x.tif", "float32"),
                                        ("x.tiff", "float64"), ("x.npy", "float64"),
                                        ("x.tif", "uint16")])
def test_check_output_dtype_accepts(name: str, dtype: str) -> None:
    check_output_dtype(name, dtype)


def test_write_image_refuses_float_png_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(OutputError):
        write_image(tmp_path / "f.png", np.zeros((4, 4), np.float32))
    assert list(tmp_path.iterdir()) == []


# -- writing: round trips -----------------------------------------------------------------

def test_write_16bit_rgb_png_round_trip(tmp_path: Path) -> None:
    rgb = RNG.integers(0, 65536, (10, 7, 3), dtype=np.uint16)
    p = tmp_path / "o.png"
    write_image(p, rgb)
    back = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16 and back.shape == (10, 7, 3)
    np.testing.assert_array_equal(back[:, :, ::-1], rgb)


def test_write_16bit_rgba_png_round_trip(tmp_path: Path) -> None:
    rgba = RNG.integers(0, 65536, (10, 7, 4), dtype=np.uint16)
    p = tmp_path / "o.png"
    write_image(p, rgba)
    back = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16 and back.shape == (10, 7, 4)
    np.testing.assert_array_equal(back[:, :, [2, 1, 0, 3]], rgba)


def test_write_16bit_gray_png_round_trip(tmp_path: Path) -> None:
    gray = RNG.integers(0, 65536, (10, 7), dtype=np.uint16)
    p = tmp_path / "o.png"
    write_image(p, gray)
    back = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, gray)


def test_write_multipage_tiff(tmp_path: Path) -> None:
    stack = RNG.normal(size=(3, 5, 6)).astype(np.float32)
    p = tmp_path / "o.tif"
    write_image(p, stack, pages=3)
    with tifffile.TiffFile(p) as tif:
        assert len(tif.pages) == 3
        for i, page in enumerate(tif.pages):
            np.testing.assert_array_equal(page.asarray(), stack[i])
    with pytest.raises(OutputError, match="page"):
        write_image(tmp_path / "o.png", stack.astype(np.uint8), pages=3)


# -- atomic writes, never replacing what exists ---------------------------------------------

def _half_then_fail(tmp: str, *args: object) -> None:
    with open(tmp, "wb") as fh:
        fh.write(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)  # half an image ...
    raise OSError("disk full")  # ... then the encoder dies


def _png_writer(monkeypatch: pytest.MonkeyPatch, write: object) -> None:
    """Replace the PNG row's writer in the format table for one test."""
    monkeypatch.setitem(formats.FORMATS, ".png",
                        dataclasses.replace(formats.FORMATS[".png"], write=write))


def test_failed_encoder_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _png_writer(monkeypatch, _half_then_fail)
    target = tmp_path / "out.png"
    with pytest.raises(WorkError) as info:
        write_image(target, np.zeros((4, 4), np.uint8))
    assert info.value.exit_code == 1
    assert "out.png" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_failed_encoder_leaves_existing_target_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.png"
    target.write_bytes(b"precious")
    _png_writer(monkeypatch, _half_then_fail)
    with pytest.raises(WorkError):
        write_image(target, np.zeros((4, 4), np.uint8), overwrite=True)
    assert target.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_interrupted_encoder_leaves_no_file(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    def write(tmp: str, *args: object) -> None:
        Path(tmp).write_bytes(b"partial")
        raise KeyboardInterrupt

    _png_writer(monkeypatch, write)
    with pytest.raises(KeyboardInterrupt):
        write_image(tmp_path / "out.png", np.zeros((4, 4), np.uint8))
    assert list(tmp_path.iterdir()) == []


def test_existing_target_refused_without_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    target.write_bytes(b"precious")
    with pytest.raises(OutputError, match="overwrite"):
        write_image(target, np.zeros((4, 4), np.uint8))
    assert target.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_target_appearing_during_the_write_is_not_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.png"
    real = formats.FORMATS[".png"].write

    def write(tmp: str, *args: object) -> None:
        target.write_bytes(b"someone else's")  # appears after the check
        real(tmp, *args)  # type: ignore[arg-type]

    _png_writer(monkeypatch, write)
    with pytest.raises(OutputError, match="overwrite"):
        write_image(target, np.zeros((4, 4), np.uint8))
    assert target.read_bytes() == b"someone else's"
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_overwrite_replaces_atomically(tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    target.write_bytes(b"old")
    arr = RNG.integers(0, 256, (5, 5), dtype=np.uint8)
    write_image(target, arr, overwrite=True)
    np.testing.assert_array_equal(iio.imread(target), arr)
    assert leftovers(tmp_path) == []


def test_input_is_protected_through_another_spelling(tmp_path: Path) -> None:
    src = tmp_path / "in.png"
    iio.imwrite(src, np.zeros((4, 4), np.uint8))
    before = src.read_bytes()
    (tmp_path / "sub").mkdir()
    other = tmp_path / "sub" / ".." / "in.png"
    with pytest.raises(OutputError, match="input"):
        write_image(other, np.ones((4, 4), np.uint8), overwrite=True, protect=(src,))
    link = tmp_path / "link.png"
    link.symlink_to(src)
    with pytest.raises(OutputError, match="input"):
        write_image(link, np.ones((4, 4), np.uint8), overwrite=True, protect=(src,))
    assert src.read_bytes() == before


# -- metadata: ICC profiles ----------------------------------------------------------------

def _icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@pytest.mark.parametrize("ext", [".png", ".jpg"])
def test_icc_profile_is_kept(tmp_path: Path, ext: str) -> None:
    icc = _icc()
    arr = RNG.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    src = tmp_path / f"in{ext}"
    Image.fromarray(arr).save(src, icc_profile=icc)
    assert Image.open(src).info["icc_profile"] == icc
    dst = tmp_path / f"out{ext}"
    process_file(src, dst, [load_filter("box3")], Options())
    with Image.open(dst) as out:
        assert out.info.get("icc_profile") == icc


def test_no_icc_profile_is_invented(tmp_path: Path) -> None:
    src = tmp_path / "in.png"
    Image.fromarray(RNG.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(src)
    dst = tmp_path / "out.png"
    process_file(src, dst, [load_filter("box3")], Options())
    with Image.open(dst) as out:
        assert "icc_profile" not in out.info



def test_hardening_from_the_bad_input_battery(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Cases an adversarial acceptance run found (issue 7)."""
    from typer.testing import CliRunner

    from imgconv.cli import app

    runner = CliRunner()
    # 1. the pixel guard also holds for TIFF/.npy that would be streamed in bands
    big = tmp_path / "t16.tif"
    tifffile.imwrite(big, np.zeros((1200, 1000), np.uint16), compression="zlib", tile=(256, 256))
    monkeypatch.setenv("IMGCONV_MAX_PIXELS", "1000000")
    r = runner.invoke(app, ["apply", str(big), "-f", "box3", "--memory-limit", "10MB",
                            "-o", str(tmp_path / "b.tif")])
    assert r.exit_code == 2 and "IMGCONV_MAX_PIXELS" in r.stderr and "t16.tif" in r.stderr
    assert not (tmp_path / "b.tif").exists()
    monkeypatch.delenv("IMGCONV_MAX_PIXELS")
    # 2. more channels than the format holds: refused before any work, nothing written
    np.save(tmp_path / "seven.npy", np.zeros((20, 30, 7), np.uint8))
    for ext in (".png", ".jpg", ".gif"):
        out = tmp_path / f"seven{ext}"
        r = runner.invoke(app, ["apply", str(tmp_path / "seven.npy"), "-f", "box3",
                                "-o", str(out)])
        assert r.exit_code == 2 and "7 channels" in r.stderr and not out.exists()
    # 3. a pickled .npy kernel is never loaded, and the message says so plainly
    np.save(tmp_path / "evil.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    r = runner.invoke(app, ["show", str(tmp_path / "evil.npy")])
    assert r.exit_code == 2 and "never loads" in r.stderr and "allow_pickle" not in r.stderr
