"""imgconv's PNG writer (imgconv.formats.png: imagecodecs' encoder and imgconv's metadata
chunks): every depth and channel count, read back by two independent decoders (Pillow,
OpenCV), the Up filter and Z_RLE asked for, metadata chunks as Pillow reads them."""

from __future__ import annotations

import io
import zlib
from typing import Any

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from imgconv.formats.png import write_png


def _encode(array: np.ndarray, meta: dict[str, Any] | None = None, **kw: Any) -> bytes:
    buf = io.BytesIO()
    write_png(buf, array, meta or {}, **kw)
    return buf.getvalue()


def _opencv(data: bytes) -> np.ndarray:
    """OpenCV's decoding in imgconv's channel order (gray+alpha comes back as BGRA)."""
    got = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if got.ndim == 3:
        got = cv2.cvtColor(got, cv2.COLOR_BGRA2RGBA if got.shape[2] == 4 else cv2.COLOR_BGR2RGB)
    return got


@settings(max_examples=120, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.sampled_from([1, 2, 3, 4]),
       st.sampled_from([np.uint8, np.uint16]), st.integers(0, 2**32 - 1))
def test_every_depth_and_channel_count_decodes_to_the_array(
        h: int, w: int, c: int, dtype: type, seed: int) -> None:
    top = np.iinfo(dtype).max
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, top + 1, (h, w, c) if c > 1 else (h, w), dtype=dtype)
    arr[rng.random(arr.shape[:2]) < 0.3] = top  # runs and extremes for the Up filter
    data = _encode(arr)
    if c == 2:  # OpenCV decodes gray+alpha as BGRA: compare gray and alpha
        bgra = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(bgra[:, :, [0, 3]], arr)
    else:
        np.testing.assert_array_equal(_opencv(data), arr)
    if dtype == np.uint8 or c == 1:  # Pillow reads 8-bit and 16-bit gray only
        pil = np.asarray(Image.open(io.BytesIO(data)))
        np.testing.assert_array_equal(pil.astype(dtype), arr)


def test_rows_are_filtered_up(png: Any) -> None:
    """Every row carries PNG's Up filter (type 2): the rows are the running sum of the
    stored differences, byte by byte."""
    arr = np.random.default_rng(1).integers(0, 256, (50, 7, 3), dtype=np.uint8)
    data = _encode(arr)
    kinds = [k for k, _ in png(data)]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and b"IDAT" in kinds
    raw = zlib.decompress(b"".join(b for k, b in png(data) if k == b"IDAT"))
    rows = np.frombuffer(raw, np.uint8).reshape(50, 1 + 7 * 3)
    assert (rows[1:, 0] == 2).all()  # filter type Up on every row below the first
    np.testing.assert_array_equal(np.cumsum(rows[:, 1:], axis=0, dtype=np.uint8),
                                  arr.reshape(50, -1))


def test_metadata_chunks_are_read_by_pillow(png: Any) -> None:
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x010F] = "imgconv test camera"
    arr = np.zeros((4, 5, 3), np.uint16)
    data = _encode(arr, {"icc_profile": icc, "dpi": (300.0, 300.0), "exif": exif.tobytes()})
    kinds = [k for k, _ in png(data)]
    assert kinds.index(b"iCCP") < kinds.index(b"IDAT") and kinds.index(b"eXIf") < kinds.index(
        b"IDAT")
    im = Image.open(io.BytesIO(data))
    assert im.info["icc_profile"] == icc
    assert [round(d) for d in im.info["dpi"]] == [300, 300]
    assert im.getexif()[0x010F] == "imgconv test camera"


@pytest.mark.parametrize("arr", [np.zeros((3, 3), np.float32), np.zeros((3, 3, 5), np.uint8),
                                 np.zeros((0, 3), np.uint8)])
def test_what_a_png_cannot_hold_is_refused(arr: np.ndarray) -> None:
    with pytest.raises(ValueError, match="a PNG holds 1 to 4 channels"):
        _encode(arr)


def test_big_endian_samples_and_odd_resolutions() -> None:
    """A big-endian uint16 array is the same image; a resolution PNG cannot hold (0, NaN,
    beyond 2**31 pixels per metre) is left out rather than failing the write."""
    arr = np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000
    np.testing.assert_array_equal(_opencv(_encode(arr.astype(">u2"))), arr)
    for dpi in [(0.0, 0.0), (float("nan"), 72.0), (1e12, 1e12)]:
        assert "dpi" not in Image.open(io.BytesIO(_encode(arr, {"dpi": dpi}))).info
    assert Image.open(io.BytesIO(_encode(arr, {"dpi": (72.0, 150.0)}))).info["dpi"] == (
        pytest.approx(72.0, abs=0.02), pytest.approx(150.0, abs=0.02))  # whole pixels a metre


def test_exif_after_the_pixels_of_a_16_bit_colour_png_is_read(tmp_path: Any, png: Any) -> None:
    """The 16-bit colour reader asks Pillow for EXIF only when the file has an eXIf
    chunk (Pillow decodes the whole image to look for one): one written after IDAT, as
    some writers do, is still found."""
    from imgconv.formats import read_image

    arr = np.random.default_rng(3).integers(0, 65536, (5, 6, 3), dtype=np.uint16)
    exif = Image.Exif()
    exif[0x010F] = "late camera"
    body = exif.tobytes()[6:]  # without "Exif\0\0"
    data = _encode(arr)
    chunk = len(body).to_bytes(4, "big") + b"eXIf" + body + zlib.crc32(
        b"eXIf" + body).to_bytes(4, "big")
    late = data[:-12] + chunk + data[-12:]  # just before IEND
    assert [k for k, _ in png(late)][-2:] == [b"eXIf", b"IEND"]
    (tmp_path / "late.png").write_bytes(late)
    (tmp_path / "none.png").write_bytes(data)
    img = read_image(tmp_path / "late.png")
    np.testing.assert_array_equal(img.array, arr)
    got = Image.Exif()
    got.load(img.meta["exif"])
    assert got[0x010F] == "late camera"
    assert "exif" not in read_image(tmp_path / "none.png").meta


@pytest.mark.parametrize("where", ["eXIf", "Raw profile", "XMP"])
def test_a_16_bit_colour_png_is_oriented_wherever_its_exif_is(tmp_path: Any, where: str) -> None:
    """Pillow takes EXIF from an eXIf chunk, from ImageMagick's "Raw profile type exif" text
    and orientation from XMP: the 16-bit colour reader asks it whenever one may be there,
    so such a file is turned upright like its 8-bit twin."""
    from imgconv.formats import read_image

    def chunk(kind: bytes, body: bytes) -> bytes:
        return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(
            4, "big")

    arr = np.zeros((40, 60, 3), np.uint16)
    arr[:10, :20] = 65535
    exif = Image.Exif()
    exif[274] = 6  # rotate 90° clockwise to show
    tiff = exif.tobytes()[6:]
    hexed = tiff.hex()
    text = ("\nexif\n" + f"{len(tiff):8d}\n"
            + "\n".join(hexed[i:i + 72] for i in range(0, len(hexed), 72)) + "\n")
    extra = {"eXIf": chunk(b"eXIf", tiff),
             "Raw profile": chunk(b"zTXt", b"Raw profile type exif\x00\x00"
                                  + zlib.compress(text.encode())),
             "XMP": chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00"
                          b'<x:xmpmeta><rdf:Description tiff:Orientation="6"/></x:xmpmeta>')}
    data = _encode(arr)
    path = tmp_path / "sideways.png"
    path.write_bytes(data[:33] + extra[where] + data[33:])
    got = read_image(path).array
    np.testing.assert_array_equal(got, np.rot90(arr, -1))


def test_a_broken_pixel_stream_is_an_error_not_an_image(tmp_path: Any) -> None:
    """CRCs right, the deflate stream or a row's filter byte wrong: imgconv says the file
    is damaged (exit 2, one line). Pillow decodes the pixels before it is asked for the
    EXIF, which used to swallow the failure and write what had been decoded."""
    import subprocess
    import sys

    def chunk(kind: bytes, body: bytes) -> bytes:
        return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(
            4, "big")

    h, w = 20, 16
    rows = np.zeros((h, w + 1), np.uint8)
    head = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", w.to_bytes(4, "big") + h.to_bytes(4, "big")
                                        + bytes([8, 0, 0, 0, 0]))
    crafted = {"bad zlib": b"\x78\x01" + bytes(50),
               "bad filter": zlib.compress(np.where(np.arange(w + 1) == 0, 7, rows).astype(
                   np.uint8).tobytes())}
    for name, idat in crafted.items():
        path = tmp_path / f"{name}.png"
        path.write_bytes(head + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
        run = subprocess.run([sys.executable, "-m", "imgconv", "apply", path, "-f", "box3",
                              "-o", tmp_path / "o.png"], capture_output=True, timeout=60)
        assert run.returncode == 2 and run.stderr.count(b"\n") == 1, (name, run.stderr)
        assert b"damaged" in run.stderr and not (tmp_path / "o.png").exists(), name
