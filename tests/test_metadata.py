"""EXIF orientation and metadata from input to output (docs/semantics.md §7).

Every input is made here with Pillow or tifffile; the oracles are Pillow's own
``ImageOps.exif_transpose``, ``info`` and ``getexif``, and tifffile's tag reading.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms, ImageOps

from imgconv.files import process_file
from imgconv.formats import read_image
from imgconv.formats.png import write_png
from imgconv.kernels import load_filter
from imgconv.options import FileOptions, FilterOptions

RNG = np.random.default_rng(20261129)
IDENTITY = [load_filter("identity")]
MAKE, DATE = 271, 306


def _icc() -> bytes:
    return bytes(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())


def _smooth(h: int, w: int) -> np.ndarray:
    """A smooth colour picture (JPEG keeps it within a few levels) with no symmetry."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 200 // w, y * 200 // h, (x + 2 * y) * 100 // (w + 2 * h) + 50],
                    axis=2).astype(np.uint8)


def _phone_jpeg(path: Path, orientation: int = 6) -> Path:
    """A JPEG as a phone stores it: pixels sideways, orientation 6, camera and date."""
    exif = Image.Exif()
    exif[274], exif[MAKE], exif[DATE] = orientation, "PhoneMaker", "2024:05:01 10:00:00"
    Image.fromarray(_smooth(48, 64)).save(path, exif=exif, quality=95)
    return path


def _exif(path: Path) -> Image.Exif:
    with Image.open(path) as im:
        return im.getexif()


def _tiff16(path: Path, h: int = 24, w: int = 40) -> tuple[Path, np.ndarray, bytes]:
    """A 16-bit RGB TIFF with an ICC profile and 300 dpi."""
    arr = RNG.integers(0, 65536, (h, w, 3), dtype=np.uint16)
    icc = _icc()
    tifffile.imwrite(path, arr, photometric="rgb", resolution=(300, 300),
                     resolutionunit="INCH", iccprofile=icc)
    return path, arr, icc


def _tiff_tags(path: Path) -> dict[int, object]:
    with tifffile.TiffFile(path) as tif:
        return {t.code: t.value for t in tif.pages[0].tags}


# -- orientation -----------------------------------------------------------------------------

@pytest.mark.parametrize("orientation", range(1, 9))
def test_read_image_turns_every_orientation_as_pillow(tmp_path: Path, orientation: int) -> None:
    src = tmp_path / "o.png"  # lossless: the pixels must equal Pillow's exactly
    exif = Image.Exif()
    exif[274] = orientation
    Image.fromarray(RNG.integers(0, 256, (5, 7, 3), dtype=np.uint8)).save(src, exif=exif)
    with Image.open(src) as im:
        expected = np.asarray(ImageOps.exif_transpose(im))
    img = read_image(src)
    np.testing.assert_array_equal(img.array, expected)
    kept = read_image(src, auto_orient=False)
    with Image.open(src) as im:
        np.testing.assert_array_equal(kept.array, np.asarray(im))


def test_phone_jpeg_comes_out_upright_with_its_exif(tmp_path: Path) -> None:
    src = _phone_jpeg(tmp_path / "phone.jpg")
    dst = tmp_path / "out.jpg"
    rec = process_file(src, dst, IDENTITY, FilterOptions())
    with Image.open(src) as im:
        upright = np.asarray(ImageOps.exif_transpose(im)).astype(int)
    with Image.open(dst) as out:
        got = np.asarray(out).astype(int)
    assert got.shape == upright.shape == (64, 48, 3)  # stored 48x64 sideways
    assert np.abs(got - upright).max() <= 6  # one more JPEG encoding of a smooth picture
    exif = _exif(dst)
    assert exif.get(274, 1) == 1
    assert exif[MAKE] == "PhoneMaker" and exif[DATE] == "2024:05:01 10:00:00"
    assert rec.notes == []


def test_no_auto_orient_keeps_the_stored_order_and_the_tag(tmp_path: Path) -> None:
    src = _phone_jpeg(tmp_path / "phone.jpg")
    dst = tmp_path / "out.png"
    process_file(src, dst, IDENTITY, FilterOptions(), FileOptions(auto_orient=False))
    with Image.open(src) as im:
        stored = np.asarray(im)
    with Image.open(dst) as out:
        np.testing.assert_array_equal(np.asarray(out), stored)
    exif = _exif(dst)
    assert exif[274] == 6 and exif[MAKE] == "PhoneMaker"


def test_cli_apply_turns_a_phone_jpeg_upright(tmp_path: Path, cli: SimpleNamespace) -> None:
    src = _phone_jpeg(tmp_path / "phone.jpg")
    cli.ok("apply", src, "-f", "identity", "-o", tmp_path / "out.png")
    with Image.open(tmp_path / "out.png") as out:
        assert out.size == (48, 64)
        assert out.getexif().get(274, 1) == 1


# -- metadata carried ------------------------------------------------------------------------

@pytest.mark.parametrize("ext", [".tif", ".png"])
def test_16bit_tiff_keeps_icc_and_300_dpi(tmp_path: Path, ext: str) -> None:
    src, arr, icc = _tiff16(tmp_path / "scan.tif")
    dst = tmp_path / f"out{ext}"
    rec = process_file(src, dst, IDENTITY, FilterOptions())
    assert rec.notes == []
    if ext == ".tif":
        tags = _tiff_tags(dst)
        assert tags[34675] == icc
        assert tags[282] == tags[283] == (300, 1) and tags[296] == 2
        np.testing.assert_array_equal(tifffile.imread(dst), arr)
    else:  # 16-bit colour PNG, written through OpenCV with chunks added
        with Image.open(dst) as out:
            assert out.info["icc_profile"] == icc
            assert out.info["dpi"] == pytest.approx((300, 300), abs=0.01)


def test_16bit_tiff_keeps_icc_and_dpi_in_bands(tmp_path: Path) -> None:
    src, _, icc = _tiff16(tmp_path / "big.tif", 1200, 2000)
    dst = tmp_path / "out.tif"
    rec = process_file(src, dst, [load_filter("box3")], FilterOptions(),
                       FileOptions(memory_limit=16_000_000))
    assert rec.tiled
    tags = _tiff_tags(dst)
    assert tags[34675] == icc
    assert tags[282] == tags[283] == (300, 1) and tags[296] == 2


def test_png_keeps_icc_and_dpi(tmp_path: Path) -> None:
    src = tmp_path / "in.png"
    icc = _icc()
    Image.fromarray(_smooth(16, 20)).save(src, icc_profile=icc, dpi=(150, 150))
    dst = tmp_path / "out.png"
    process_file(src, dst, [load_filter("box3")], FilterOptions())
    with Image.open(src) as im:
        dpi = im.info["dpi"]  # 150 dpi as PNG stores it: 5906 pixels a metre
    with Image.open(dst) as out:
        assert out.info["icc_profile"] == icc
        assert out.info["dpi"] == dpi == pytest.approx((150, 150), abs=0.02)


def test_webp_keeps_icc_and_exif(tmp_path: Path) -> None:
    src = _phone_jpeg(tmp_path / "phone.jpg", orientation=1)
    icc = _icc()
    with Image.open(src) as im:
        im.save(tmp_path / "icc.jpg", icc_profile=icc, exif=im.getexif(), quality=95)
    dst = tmp_path / "out.webp"
    process_file(tmp_path / "icc.jpg", dst, IDENTITY, FilterOptions())
    with Image.open(dst) as out:
        assert out.info["icc_profile"] == icc
        assert out.getexif()[MAKE] == "PhoneMaker"


def test_strip_drops_everything(tmp_path: Path) -> None:
    src = _phone_jpeg(tmp_path / "phone.jpg")
    dst = tmp_path / "out.jpg"
    rec = process_file(src, dst, IDENTITY, FilterOptions(), FileOptions(strip=True))
    with Image.open(dst) as out:
        assert out.size == (48, 64)  # still turned upright
        assert len(out.getexif()) == 0 and "icc_profile" not in out.info
    assert rec.notes == []
    tif, _, _ = _tiff16(tmp_path / "scan.tif")
    process_file(tif, tmp_path / "out.tif", IDENTITY, FilterOptions(), FileOptions(strip=True))
    tags = _tiff_tags(tmp_path / "out.tif")
    assert 34675 not in tags and tags[296] == 1  # tifffile's own: no unit


@pytest.mark.parametrize(("ext", "lost"), [(".npy", "ICC profile and resolution (dpi)"),
                                           (".bmp", "ICC profile")])
def test_a_note_names_what_cannot_be_carried(tmp_path: Path, ext: str, lost: str) -> None:
    src = tmp_path / "in.png"
    Image.fromarray(_smooth(8, 8)).save(src, icc_profile=_icc(), dpi=(96, 96))
    dst = tmp_path / f"out{ext}"
    rec = process_file(src, dst, IDENTITY, FilterOptions())
    assert [n for n in rec.notes if "cannot hold" in n] == [
        f"{dst}: a {'NumPy' if ext == '.npy' else 'BMP'} file cannot hold the input's {lost}: "
        "not carried (strip=True drops all metadata without this note)"]
    assert process_file(src, tmp_path / f"strip{ext}", IDENTITY, FilterOptions(),
                        FileOptions(strip=True)).notes == []


def test_exif_into_bmp_is_a_note(tmp_path: Path) -> None:
    src = _phone_jpeg(tmp_path / "phone.jpg")
    rec = process_file(src, tmp_path / "out.bmp", IDENTITY, FilterOptions())
    assert any("a BMP file cannot hold the input's EXIF" in n for n in rec.notes)


# -- nothing changes for files without metadata ----------------------------------------------

def test_outputs_without_metadata_are_byte_identical(tmp_path: Path, png: Any) -> None:
    """No metadata in, none out: a PNG of only IHDR, IDAT and IEND chunks (the pixels
    as Pillow reads them), and tifffile's own TIFF byte for byte."""
    rgb = RNG.integers(0, 256, (12, 10, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "in.png")
    process_file(tmp_path / "in.png", tmp_path / "out.png", IDENTITY, FilterOptions())
    assert {kind for kind, _ in png((tmp_path / "out.png").read_bytes())} == {
        b"IHDR", b"IDAT", b"IEND"}
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "out.png")), rgb)
    deep = RNG.integers(0, 65536, (12, 10, 3), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "in.tif", deep, photometric="rgb")
    process_file(tmp_path / "in.tif", tmp_path / "out.tif", IDENTITY, FilterOptions())
    tifffile.imwrite(tmp_path / "ref.tif", deep, photometric="rgb", planarconfig="contig")
    assert (tmp_path / "out.tif").read_bytes() == (tmp_path / "ref.tif").read_bytes()


def test_orientation_on_the_banded_path(tmp_path: Path) -> None:
    """A TIFF stored sideways and over the limit: refused under a limit the user set,
    read whole (upright) under the default one, banded with its tag copied without
    auto_orient."""
    from imgconv.errors import ImageError

    arr = RNG.integers(0, 256, (1200, 2000, 3), dtype=np.uint8)
    src = tmp_path / "side.tif"
    tifffile.imwrite(src, arr, photometric="rgb", extratags=[(274, "H", 1, 6, True)])
    with pytest.raises(ImageError, match=r"EXIF orientation \(6\)"):
        process_file(src, tmp_path / "a.tif", IDENTITY, FilterOptions(),
                     FileOptions(memory_limit=10**7))
    rec = process_file(src, tmp_path / "b.tif", IDENTITY, FilterOptions(),
                       FileOptions(memory_limit=10**7, strict_limit=False))
    assert not rec.tiled
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "b.tif"), np.rot90(arr, -1))
    assert _tiff_tags(tmp_path / "b.tif")[274] == 1
    rec = process_file(src, tmp_path / "c.tif", IDENTITY, FilterOptions(),
                       FileOptions(memory_limit=10**7, auto_orient=False))
    assert rec.tiled
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "c.tif"), arr)
    assert _tiff_tags(tmp_path / "c.tif")[274] == 6
# -- the command line (needs the wiring in cli/apply.py, batch.py, cli/batch.py) -------------

def test_cli_no_auto_orient_and_strip(tmp_path: Path, cli: SimpleNamespace) -> None:
    src = _phone_jpeg(tmp_path / "phone.jpg")
    cli.ok("apply", src, "-f", "identity", "--no-auto-orient", "-o", tmp_path / "kept.png")
    with Image.open(tmp_path / "kept.png") as out:
        assert out.size == (64, 48) and out.getexif()[274] == 6
    cli.ok("apply", src, "-f", "identity", "--strip", "-o", tmp_path / "bare.png")
    with Image.open(tmp_path / "bare.png") as out:
        assert out.size == (48, 64) and len(out.getexif()) == 0


def test_cli_batch_strip_and_the_note(tmp_path: Path, cli: SimpleNamespace) -> None:
    (tmp_path / "in").mkdir()
    _phone_jpeg(tmp_path / "in" / "phone.jpg")
    _, err = cli.ok("batch", tmp_path / "in", "-f", "identity", "-o", tmp_path / "out",
                    "--format", "bmp")
    assert "cannot hold the input's EXIF" in err and "--strip" in err
    _, err = cli.ok("batch", tmp_path / "in", "-f", "identity", "-o", tmp_path / "bare",
                    "--format", "jpg", "--strip", "--no-auto-orient")
    with Image.open(tmp_path / "bare" / "phone.jpg") as out:
        assert out.size == (64, 48) and len(out.getexif()) == 0


def test_cli_float_tiff_in_0_1_cast_to_uint8_gets_a_note(tmp_path: Path,
                                                        cli: SimpleNamespace) -> None:
    """A float TIFF in 0..1 written as uint8 as it is comes out 0/1: a note names --rescale,
    and --rescale stretches it to 0..255 (checked against the values themselves)."""
    import tifffile

    src = tmp_path / "f01.tif"
    values = np.random.default_rng(5).random((16, 16)).astype(np.float32)
    tifffile.imwrite(src, values)
    _, err = cli.ok("apply", src, "-f", "identity", "--dtype", "uint8", "-o", tmp_path / "a.png")
    assert "--rescale stretches them to 0..255" in err
    assert set(np.unique(np.asarray(Image.open(tmp_path / "a.png")))) <= {0, 1}
    _, err = cli.ok("apply", src, "-f", "identity", "--dtype", "uint8", "--rescale",
                    "-o", tmp_path / "b.png")
    got = np.asarray(Image.open(tmp_path / "b.png")).astype(float)
    want = np.rint((values - values.min()) / (values.max() - values.min()) * 255)
    assert "rescale" not in err and np.abs(got - want).max() <= 1


def test_damaged_exif_is_a_note_and_the_pixels_are_written(tmp_path: Path, png: Any) -> None:
    """An eXIf chunk that is not EXIF: the image is filtered and written, and a note says
    the EXIF was not carried (it used to vanish without a word)."""
    buf = io.BytesIO()
    write_png(buf, RNG.integers(0, 256, (6, 7), dtype=np.uint8), {})
    body = b"not a TIFF header"
    exif = struct.pack(">I", len(body)) + b"eXIf" + body + struct.pack(
        ">I", zlib.crc32(b"eXIf" + body))
    src = tmp_path / "odd.png"
    src.write_bytes(buf.getvalue()[:33] + exif + buf.getvalue()[33:])  # after IHDR
    assert [k for k, _ in png(src.read_bytes())][:2] == [b"IHDR", b"eXIf"]
    rec = process_file(src, tmp_path / "out.png", IDENTITY, FilterOptions())
    assert rec.notes == [f"{tmp_path / 'out.png'}: the input's EXIF is damaged and could not "
                         "be read: not carried"]
    assert b"eXIf" not in {k for k, _ in png((tmp_path / "out.png").read_bytes())}


@pytest.mark.parametrize("flags", [[], ["--no-auto-orient"]])
def test_apply_report_reads_the_image_as_apply_does(tmp_path: Path, cli: SimpleNamespace,
                                                    flags: list[str]) -> None:
    """``apply --report`` compares what apply filtered: upright, or as stored with
    --no-auto-orient (it once turned the image upright whatever the flag said)."""
    import json

    src = _phone_jpeg(tmp_path / "phone.jpg")
    cli.ok("apply", src, "-f", "sobel-x", "-o", tmp_path / "out.png", "--report",
           tmp_path / "r", *flags)
    with Image.open(tmp_path / "out.png") as out:
        w, h = out.size
    assert (w, h) == ((64, 48) if flags else (48, 64))
    assert json.loads((tmp_path / "r" / "report.json").read_text())["shape"][:2] == [h, w]
