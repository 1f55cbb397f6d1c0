"""Formats (docs/semantics.md §3, §5): reading without loss, the pixel guard, the dtype
policy, round trips through each format's writer, metadata carried.

Every image is made here with numpy + Pillow / OpenCV / tifffile and checked against
what those libraries (or hand-computed values) say, never against imgconv.  Atomic
writes and what is never overwritten are in test_outputs.py.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms

from imgconv.dtypes import quantize
from imgconv.errors import ImageError, OutputError, SettingError
from imgconv.files import process_file
from imgconv.formats import check_output_dtype, max_pixels, page_count, read_image
from imgconv.kernels import load_filter
from imgconv.options import FilterOptions
from imgconv.outputs import write_image

RNG = np.random.default_rng(20240611)


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
    with pytest.raises(ImageError, match=r"page=3\b") as info:
        read_image(p, page=3)
    assert "--page" not in str(info.value) and info.value.param == "page"


def test_page_count_of_frames(tmp_path: Path) -> None:
    frames = [Image.fromarray(np.full((4, 4), 60 * i, np.uint8)) for i in range(3)]
    frames[0].save(tmp_path / "three.gif", save_all=True, append_images=frames[1:])
    with Image.open(tmp_path / "three.gif") as gif:
        assert gif.n_frames == 3  # what Pillow says the file holds
    assert page_count(tmp_path / "three.gif") == 3
    frames[0].save(tmp_path / "one.gif")
    assert page_count(tmp_path / "one.gif") == 1
    frames[0].save(tmp_path / "one.png")
    assert page_count(tmp_path / "one.png") == 1


@pytest.mark.parametrize("content", [b"", b"not an image at all"])
def test_unreadable_image_is_an_image_error(tmp_path: Path, content: bytes) -> None:
    p = tmp_path / "bad.png"
    p.write_bytes(content)
    with pytest.raises(ImageError, match="bad.png"):
        read_image(p)


# -- the decompression-bomb guard -------------------------------------------------------

def _write_pillow(p: Path, arr: np.ndarray) -> None:
    Image.fromarray(arr).save(p)  # PNG or JPEG by the extension


def _write_png16rgb(p: Path, arr: np.ndarray) -> None:
    cv2.imwrite(str(p), np.repeat(arr.astype(np.uint16)[:, :, None], 3, axis=2))


@pytest.mark.parametrize("ext,writer", [(".png", _write_pillow), (".png", _write_png16rgb),
                                        (".tif", tifffile.imwrite), (".npy", np.save),
                                        (".jpg", _write_pillow)],
                         ids=["png", "png16rgb", "tif", "npy", "jpg"])
def test_max_pixels_guard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ext: str,
                          writer: Callable[[Path, np.ndarray], None]) -> None:
    p = tmp_path / f"img{ext}"
    writer(p, np.full((20, 20), 7, np.uint8))
    assert read_image(p).array.shape[:2] == (20, 20)  # fine under the default limit
    monkeypatch.setenv("IMGCONV_MAX_PIXELS", "100")
    with pytest.raises(ImageError, match="IMGCONV_MAX_PIXELS"):
        read_image(p)
    monkeypatch.setenv("IMGCONV_MAX_PIXELS", "400")  # exactly 20×20 is allowed
    assert read_image(p).array.shape[:2] == (20, 20)


@pytest.mark.parametrize("value,problem", [
    ("lots", "not a number"), ("abc", "not a number"), ("inf", "not a finite number"),
    ("-inf", "not a finite number"), ("nan", "not a finite number"), ("-5", "below 1"),
    ("0", "below 1"), ("1.5", "not a whole number"), ("1e30", "more than any image"),
    (str(2**63), "more than any image"),
])
def test_max_pixels_refused_naming_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                value: str, problem: str) -> None:
    """A bad IMGCONV_MAX_PIXELS is blamed on the variable (with its value), never on the
    image that happened to be read (docs/semantics.md §3 guard)."""
    p = tmp_path / "img.png"
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(p)
    monkeypatch.setenv("IMGCONV_MAX_PIXELS", value)
    with pytest.raises(SettingError) as info:
        read_image(p)
    msg = str(info.value)
    assert msg.startswith(f"environment variable IMGCONV_MAX_PIXELS={value!r}: ")
    assert problem in msg and "img.png" not in msg and info.value.exit_code == 2
    assert info.value.variable == "IMGCONV_MAX_PIXELS"
    again = pickle.loads(pickle.dumps(info.value))  # as batch workers send it back
    assert type(again) is SettingError and str(again) == msg


@pytest.mark.parametrize("value,limit", [("", 400_000_000), ("  ", 400_000_000), ("16", 16),
                                         (" 16 ", 16), ("1.6e1", 16), ("1_6", 16),
                                         (str(2**63 - 1), 2**63 - 1)])
def test_max_pixels_accepted_values(monkeypatch: pytest.MonkeyPatch, value: str,
                                    limit: int) -> None:
    """Empty is unset (the default); whole numbers in int or float syntax are read."""
    monkeypatch.setenv("IMGCONV_MAX_PIXELS", value)
    assert max_pixels() == limit


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
    assert "dtype=" in msg and ".tif" in msg  # says what would work, by parameter name
    assert "--dtype" not in msg and info.value.param == "dtype"


def _read_back(p: Path) -> np.ndarray:
    """The file read by a library other than imgconv."""
    ext = p.suffix.lower()
    if ext in (".tif", ".tiff"):
        return tifffile.imread(p)
    if ext == ".npy":
        return np.load(p)
    if ext == ".png":
        back = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
        return back[:, :, ::-1] if back.ndim == 3 else back
    return np.asarray(Image.open(p))


def _smooth(dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    """A gentle ramp over most of the dtype's range (JPEG keeps it within a level or two)."""
    y, x = np.indices(shape[:2])
    ramp = (y + 2 * x) / (shape[0] + 2 * shape[1])
    if len(shape) == 3:
        ramp = np.dstack([ramp, 1 - ramp, np.full(shape[:2], 0.5)][: shape[2]])
    if dtype in ("uint8", "uint16"):
        return np.rint(ramp * np.iinfo(dtype).max * 0.9).astype(dtype)
    return (ramp * 3.5 - 1.25).astype(dtype)  # negative and > 1: not an 8-bit image


@pytest.mark.parametrize("name,dtype", [("x.png", "uint8"), ("x.png", "uint16"),
                                        ("x.jpg", "uint8"), ("x.tif", "float32"),
                                        ("x.tiff", "float64"), ("x.npy", "float64"),
                                        ("x.tif", "uint16")])
@pytest.mark.parametrize("channels", [0, 3])
def test_accepted_dtypes_round_trip(tmp_path: Path, name: str, dtype: str,
                                    channels: int) -> None:
    """An accepted dtype is written in that dtype: another library reads the same pixels."""
    check_output_dtype(name, dtype)  # accepted: no error
    arr = _smooth(dtype, (16, 24, channels) if channels else (16, 24))
    write_image(tmp_path / name, arr)
    back = _read_back(tmp_path / name)
    assert back.dtype == np.dtype(dtype) and back.shape == arr.shape
    if name.endswith(".jpg"):  # lossy, but not by much at imgconv's quality (channels in order)
        assert np.abs(back.astype(int) - arr).mean() <= 2
    else:
        np.testing.assert_array_equal(back, arr)


# -- writing: round trips -----------------------------------------------------------------

def test_write_16bit_rgba_png_round_trip(tmp_path: Path) -> None:
    rgba = RNG.integers(0, 65536, (10, 7, 4), dtype=np.uint16)
    p = tmp_path / "o.png"
    write_image(p, rgba)
    back = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16 and back.shape == (10, 7, 4)
    np.testing.assert_array_equal(back[:, :, [2, 1, 0, 3]], rgba)


def test_write_16bit_random_png_round_trip(tmp_path: Path) -> None:
    """Every bit kept (random values, not a ramp): gray and RGB."""
    for shape in ((10, 7), (10, 7, 3)):
        arr = RNG.integers(0, 65536, shape, dtype=np.uint16)
        p = tmp_path / f"o{len(shape)}.png"
        write_image(p, arr)
        back = _read_back(p)
        assert back.dtype == np.uint16
        np.testing.assert_array_equal(back, arr)


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
    assert sorted(q.name for q in tmp_path.iterdir()) == ["o.tif"]


# -- metadata: ICC profiles ----------------------------------------------------------------

def _icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@pytest.mark.parametrize("ext", [".png", ".jpg", ".tif", ".webp"])
def test_icc_profile_is_kept(tmp_path: Path, ext: str) -> None:
    icc = _icc()
    arr = RNG.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    src = tmp_path / f"in{ext}"
    Image.fromarray(arr).save(src, icc_profile=icc)
    assert Image.open(src).info["icc_profile"] == icc
    dst = tmp_path / f"out{ext}"
    process_file(src, dst, [load_filter("box3")], FilterOptions())
    with Image.open(dst) as out:
        assert out.info.get("icc_profile") == icc


def test_no_icc_profile_is_invented(tmp_path: Path) -> None:
    src = tmp_path / "in.png"
    Image.fromarray(RNG.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(src)
    dst = tmp_path / "out.png"
    process_file(src, dst, [load_filter("box3")], FilterOptions())
    with Image.open(dst) as out:
        assert "icc_profile" not in out.info and out.mode == "RGB"


def test_the_table_says_what_each_format_carries() -> None:
    """The format table is the one place that says it (docs/semantics.md §7)."""
    from imgconv.formats import FORMATS, METADATA

    carries = {ext: set(fmt.metadata) for ext, fmt in FORMATS.items()}
    assert set(METADATA) == {"icc_profile", "dpi", "exif"}
    for ext in (".png", ".jpg", ".jpeg", ".tif", ".tiff"):
        assert carries[ext] == set(METADATA), ext
    assert carries[".webp"] == {"icc_profile", "exif"}  # WebP holds no resolution
    assert carries[".bmp"] == {"dpi"}
    assert carries[".gif"] == carries[".npy"] == set()


def test_a_readers_failure_says_which_it_is(tmp_path: Path) -> None:
    """'damaged' only when the bytes are: a feature the reader does not decode says so,
    and a library's own bomb check reads as the pixel limit (docs/semantics.md §7)."""
    from PIL import Image as PILImage

    from imgconv.formats.table import unreadable

    bomb = unreadable("x.ico", PILImage.DecompressionBombError(
        "Image size (4294836225 pixels) exceeds limit, could be decompression bomb DOS attack."))
    assert "over the limit" in str(bomb) and "IMGCONV_MAX_PIXELS" in str(bomb)
    for exc in (NotImplementedError("Unimplemented DXGI format 93"),
                OSError("Unsupported BMP pixel depth (30000)"),
                OSError("cannot find loader for this WMF file")):
        msg = str(unreadable("x", exc))
        assert "does not decode" in msg and "damaged" not in msg
    assert "damaged" in str(unreadable("x", OSError("broken data stream")))
    # a real one: a BMP whose pixel depth Pillow does not decode
    bmp = tmp_path / "depth.bmp"
    PILImage.fromarray(np.zeros((4, 4, 3), np.uint8)).save(bmp)
    data = bytearray(bmp.read_bytes())
    data[28:30] = (30000).to_bytes(2, "little")  # biBitCount
    bmp.write_bytes(bytes(data))
    with pytest.raises(ImageError, match="does not decode") as info:
        read_image(bmp)
    assert "damaged" not in str(info.value)


def test_an_unknown_extension_pillow_identifies_by_content_is_read(tmp_path: Path) -> None:
    """A PNG named .xyz is read by Pillow (by its content) before imageio is asked; random
    bytes named .xyz are one line naming what would read them."""
    from PIL import Image as PILImage

    arr = np.arange(60, dtype=np.uint8).reshape(6, 10)
    named = tmp_path / "picture.xyz"
    PILImage.fromarray(arr).save(named, format="PNG")
    np.testing.assert_array_equal(read_image(named).array, arr)
    junk = tmp_path / "junk.xyz"
    junk.write_bytes(bytes(range(256)) * 3)
    with pytest.raises(ImageError, match="no reader for .xyz files"):
        read_image(junk)
