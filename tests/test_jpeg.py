"""JPEG pixels are decoded by imagecodecs' libjpeg-turbo (imgconv.formats.read._jpeg_pixels)
for speed: they must be the very pixels Pillow decodes (the reference), for every kind of
JPEG a camera or an editor writes, and a truncated JPEG must still be refused as Pillow
refuses it (libjpeg-turbo would fill the missing rows silently)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image

from imgconv.errors import ImageError
from imgconv.formats import read_image


def _photo(h: int, w: int, grey: bool = False) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    rng = np.random.default_rng(h * 1000 + w)
    base = 128 + 80 * np.sin(x / 9.0)[..., None] * np.cos(y / 13.0)[..., None] \
        + rng.normal(0, 12, (h, w, 3))
    rgb = np.clip(base + np.array([0, 30, -30]), 0, 255).astype(np.uint8)
    return rgb[..., 1] if grey else rgb


# (Pillow's save keywords, grey): every subsampling, progressive, optimised tables,
# restart markers (through OpenCV), quality extremes, odd sizes
KINDS: dict[str, tuple[dict[str, Any], bool]] = {
    "444": ({"subsampling": 0, "quality": 92}, False),
    "422": ({"subsampling": 1, "quality": 90}, False),
    "420": ({"subsampling": 2, "quality": 85}, False),
    "progressive": ({"progressive": True, "quality": 80}, False),
    "optimize": ({"optimize": True, "quality": 75}, False),
    "q1": ({"quality": 1}, False),
    "q100": ({"quality": 100, "subsampling": 0}, False),
    "grey": ({"quality": 90}, True),
    "grey-progressive": ({"quality": 70, "progressive": True}, True),
}


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("shape", [(37, 53), (16, 16), (1, 9), (250, 171)])
def test_decoded_pixels_are_pillows(tmp_path: Path, kind: str, shape: tuple[int, int]) -> None:
    save, grey = KINDS[kind]
    path = tmp_path / f"{kind}.jpg"
    Image.fromarray(_photo(*shape, grey=grey)).save(path, format="JPEG", **save)
    with Image.open(path) as im:
        expected = np.asarray(im)
    np.testing.assert_array_equal(read_image(path).array, expected)


def test_restart_markers_and_an_adobe_rgb_stream(tmp_path: Path) -> None:
    """OpenCV's writer with restart intervals; and a JPEG whose EXIF turns it: the same
    pixels as Pillow's, turned as ``ImageOps.exif_transpose`` turns them."""
    from PIL import ImageOps

    rgb = _photo(64, 48)
    path = tmp_path / "rst.jpg"
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                            [cv2.IMWRITE_JPEG_QUALITY, 88, cv2.IMWRITE_JPEG_RST_INTERVAL, 2])
    assert ok
    path.write_bytes(data.tobytes())
    with Image.open(path) as im:
        np.testing.assert_array_equal(read_image(path).array, np.asarray(im))
    exif = Image.Exif()
    exif[274] = 6
    turned = tmp_path / "turned.jpg"
    Image.fromarray(rgb).save(turned, exif=exif.tobytes(), quality=90)
    with Image.open(turned) as im:
        np.testing.assert_array_equal(read_image(turned).array,
                                      np.asarray(ImageOps.exif_transpose(im)))


def test_a_truncated_jpeg_is_refused_as_pillow_refuses_it(tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.fromarray(_photo(120, 90)).save(buf, format="JPEG", quality=90)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(OSError), Image.open(cut) as im:  # the reference refuses it
        im.load()
    with pytest.raises(ImageError, match="damaged"):
        read_image(cut)
