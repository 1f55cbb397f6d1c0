"""A corpus of real image files, made by every writer the tests have (issue "Every file
users have"): Pillow, tifffile with imagecodecs, OpenCV, ImageMagick and Ghostscript when
they are installed, a few written by hand, and hostile files crafted byte by byte.
Nothing here calls imgconv.

``ENTRIES`` is known without building anything (tests parametrize over it, one id per
file name); :func:`build` writes every file whose tools are present into a folder
(about a second).  The content is small (23x17: odd sizes), smooth gradients plus noise,
each channel different, so that a wrong channel order, an inversion or a scaling shows.
Every file's stem is unique (``batch --format tif`` maps them all into one folder).
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

W, H = 23, 17  # width, height: odd on purpose
Array = npt.NDArray[np.generic]
Builder = Callable[[Path], None]


@dataclass(frozen=True)
class Entry:
    """One corpus file.

    ``kind``: ``good`` (a real file some reader decodes: Pillow, else tifffile), ``unknown``
    (an extension the format table does not name: a PNG that imageio reads), ``unreadable``
    (random bytes under an unknown extension), ``damaged`` (a good file cut at half),
    ``hostile`` (a loop, a bomb, random bytes, an empty file).
    ``frames``: the pages/frames Pillow counts (tifffile for what Pillow cannot open).
    ``png``: a single-frame image whose content a PNG holds (8/16-bit, 1-4 channels).
    ``space``: a colour space that a PNG cannot keep (converted, with a note).
    ``requires``: a tool that must be installed (``gs``, ``imagemagick``, ``openjpeg``).
    """

    name: str
    build: Builder
    kind: str = "good"
    frames: int = 1
    png: bool = True
    space: str = ""
    requires: str = ""

    @property
    def animation(self) -> bool:
        """Frames composited on a canvas (GIF, APNG, WebP): compared as RGB/RGBA."""
        return self.frames > 1 and Path(self.name).suffix in (".gif", ".png", ".webp")


# -- content ------------------------------------------------------------------------------

def content(channels: int, seed: int, top: float = 255, h: int = H, w: int = W) -> Array:
    """Smooth waves plus noise in ``0..top`` (float64), ``H×W`` or ``H×W×channels``; each
    channel its own direction and phase."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    planes = []
    for _ in range(channels):
        fx, fy, phase = rng.uniform(0.05, 0.3), rng.uniform(0.05, 0.3), rng.uniform(0, 6.3)
        wave = 0.5 + 0.4 * np.sin(fx * x + fy * y + phase)
        planes.append(np.clip(wave + rng.normal(0, 0.05, (h, w)), 0, 1))
    arr = np.stack(planes, axis=2) * top
    return arr[:, :, 0] if channels == 1 else arr


def u8(channels: int, seed: int, h: int = H, w: int = W) -> npt.NDArray[np.uint8]:
    return np.rint(content(channels, seed, 255, h, w)).astype(np.uint8)


def u16(channels: int, seed: int, h: int = H, w: int = W) -> npt.NDArray[np.uint16]:
    return np.rint(content(channels, seed, 65535, h, w)).astype(np.uint16)


def f32(channels: int, seed: int) -> npt.NDArray[np.float32]:
    return (content(channels, seed, 1.0) * 1.5 - 0.25).astype(np.float32)  # beyond 0..1


def with_alpha(rgb: Array, seed: int) -> Array:
    """``rgb`` (or grey) with an alpha channel that has 0, 255 and values between."""
    top = np.iinfo(rgb.dtype).max
    alpha = np.rint(content(1, seed + 100, top, *rgb.shape[:2])).astype(rgb.dtype)
    alpha[:3, :4] = 0
    alpha[-3:, -4:] = top
    base = rgb[:, :, None] if rgb.ndim == 2 else rgb
    return np.concatenate([base, alpha[:, :, None]], axis=2)


def pil(arr: Array, mode: str | None = None) -> Any:
    from PIL import Image

    im = Image.fromarray(arr)
    return im if mode is None else im.convert(mode)


def palette_image(seed: int, colours: int = 48) -> Any:
    """A mode P image: the colour content quantised to ``colours`` entries."""
    return pil(u8(3, seed)).quantize(colours)


# -- Pillow ---------------------------------------------------------------------------------

def _pil_mode(mode: str, seed: int) -> Any:
    """An image in Pillow ``mode`` made from the content."""
    if mode == "1":
        return pil(u8(1, seed) > 127)
    if mode == "L":
        return pil(u8(1, seed))
    if mode == "LA":
        return _la(seed)
    if mode == "P":
        return palette_image(seed)
    if mode == "RGB":
        return pil(u8(3, seed))
    if mode == "RGBA":
        return pil(with_alpha(u8(3, seed), seed))
    if mode == "CMYK":
        return _cmyk(seed)
    if mode == "I;16":
        return pil(u16(1, seed))
    if mode == "F":
        return pil(f32(1, seed))
    raise ValueError(mode)


def _la(seed: int) -> Any:
    from PIL import Image

    arr = with_alpha(u8(1, seed), seed)
    return Image.merge("LA", [Image.fromarray(arr[:, :, 0]), Image.fromarray(arr[:, :, 1])])


def _cmyk(seed: int) -> Any:
    from PIL import Image

    arr = u8(4, seed)
    return Image.merge("CMYK", [Image.fromarray(arr[:, :, k]) for k in range(4)])


def pillow(mode: str, seed: int, **save: object) -> Builder:
    """Pillow saves the content in ``mode`` with ``save`` options (format from the name)."""
    def build(path: Path) -> None:
        _pil_mode(mode, seed).save(path, **save)
    return build


def pillow_transparent_p(seed: int, **save: object) -> Builder:
    def build(path: Path) -> None:
        im = palette_image(seed)
        im.save(path, transparency=int(np.asarray(im)[0, 0]), **save)
    return build


def pillow_oriented(fmt_mode: str, orientation: int, seed: int) -> Builder:
    """An image whose EXIF orientation tag says ``orientation`` (a phone photo)."""
    def build(path: Path) -> None:
        from PIL import Image

        im = _pil_mode(fmt_mode, seed)
        exif = Image.Exif()
        exif[0x0112] = orientation
        im.save(path, exif=exif.tobytes() if path.suffix == ".jpg" else exif)
    return build


def gif_animation(seed: int, transparent: bool = False) -> Builder:
    """Three frames with their own palettes (different colours); the third frame changes
    only a small rectangle of the second (Pillow writes it smaller than the canvas, at an
    offset); durations 80/120/160 ms, loop 0."""
    def build(path: Path) -> None:
        from PIL import Image

        frames = [pil(u8(3, seed)).quantize(32), pil(255 - u8(3, seed + 1)).quantize(64)]
        third = np.asarray(frames[1].convert("RGB")).copy()
        third[5:11, 7:16] = [200, 30, 90]
        frames.append(pil(third).quantize(64))
        extra: dict[str, object] = {}
        if transparent:
            extra = {"transparency": 0, "disposal": 2}
        frames[0].save(path, save_all=True, append_images=frames[1:], duration=[80, 120, 160],
                       loop=0, optimize=False, **extra)
        with Image.open(path) as im:  # the crafted structure is there
            assert im.n_frames == 3
            im.seek(2)
            assert transparent or im.tile[0][1] != (0, 0, W, H), "not a sub-rectangle"
    return build


def animation(seed: int, mode: str, frames: int = 3, **save: object) -> Builder:
    """An animation (APNG, WebP, MPO) of ``frames`` different frames in ``mode``; the last
    changes only a rectangle of the one before."""
    def build(path: Path) -> None:
        ims = [_pil_mode(mode, seed + k) for k in range(frames - 1)]
        last = np.asarray(ims[-1]).copy()
        last[4:9, 6:12] = 255 - last[4:9, 6:12]
        ims.append(pil(last))
        ims[0].save(path, save_all=True, append_images=ims[1:], **save)
    return build


def ico(path: Path) -> None:
    from PIL import Image

    im = Image.fromarray(with_alpha(u8(3, 31, 32, 32), 31))
    im.save(path, sizes=[(16, 16), (24, 24), (32, 32)])


def plain_pnm(magic: str) -> Builder:
    """P1 / P2 / P3: the plain (ASCII) PNM variants, written by hand (Pillow writes only
    the binary ones)."""
    def build(path: Path) -> None:
        if magic == "P1":
            arr, head = (u8(1, 41) > 127).astype(int), f"P1\n# plain bitmap\n{W} {H}\n"
        elif magic == "P2":
            arr, head = u8(1, 42).astype(int), f"P2\n{W} {H}\n255\n"
        else:
            arr, head = u8(3, 43).astype(int), f"P3\n{W} {H}\n255\n"
        rows = [" ".join(str(v) for v in row.ravel()) for row in arr]
        path.write_text(head + "\n".join(rows) + "\n")
    return build


def eps(path: Path) -> None:
    _pil_mode("RGB", 44).save(path)


# -- tifffile ----------------------------------------------------------------------------------

def tiff(make: Callable[[], Array], **kw: object) -> Builder:
    """tifffile writes ``make()`` with ``kw`` (photometric, compression, predictor, ...)."""
    def build(path: Path) -> None:
        import tifffile

        tifffile.imwrite(path, make(), **kw)
    return build


INKSET_CMYK = [(332, "H", 1, 1, True)]  # InkSet = 1: the inks are C, M, Y, K


def signed(dtype: str, seed: int) -> Array:
    info = np.iinfo(dtype)
    lo, hi = max(info.min, -100_000), min(info.max, 100_000)
    arr = np.rint(content(1, seed, hi - lo) + lo).astype(dtype)
    arr[0, 0], arr[0, 1] = info.min, info.max
    return arr


def lab8() -> Array:
    """CIELab 8-bit as TIFF stores it: L 0..255, a and b signed (two's complement bytes)."""
    lum = np.rint(content(1, 51, 255))
    ab = np.rint(content(2, 52, 120) - 60)
    arr = np.dstack([lum, ab]).astype(np.int16)
    return (arr & 0xFF).astype(np.uint8)


def premultiplied() -> Array:
    rgba = with_alpha(u8(3, 53), 53).astype(np.float64)
    rgba[:, :, :3] = np.rint(rgba[:, :, :3] * rgba[:, :, 3:] / 255)  # colour <= alpha
    return rgba.astype(np.uint8)


def colormap() -> Array:
    rng = np.random.default_rng(54)
    return (rng.integers(0, 256, (3, 256)) * 257).astype(np.uint16)


def tiff_pages(sizes: list[tuple[int, int]], channels: int, **kw: object) -> Builder:
    """One page per ``(h, w)`` (a scan and its thumbnail, a pyramid), appended in turn."""
    def build(path: Path) -> None:
        import tifffile

        with tifffile.TiffWriter(path) as tw:
            for k, (h, w) in enumerate(sizes):
                tw.write(u8(channels, 60 + k, h, w),
                         photometric="rgb" if channels == 3 else "minisblack", **kw)
    return build


def tiff_subifd(path: Path) -> None:
    """A page with one SubIFD (its reduced resolution), as pyramidal writers make."""
    import tifffile

    with tifffile.TiffWriter(path) as tw:
        tw.write(u8(3, 65), photometric="rgb", subifds=1)
        tw.write(u8(3, 66, 9, 12), photometric="rgb", subfiletype=1)
    with tifffile.TiffFile(path) as tif:
        assert len(tif.pages) == 1 and tif.pages.first.subifds, "no SubIFD written"


# -- OpenCV -----------------------------------------------------------------------------------

def opencv(make: Callable[[], Array]) -> Builder:
    """cv2.imwrite of ``make()`` (given as RGB, written as OpenCV's BGR)."""
    def build(path: Path) -> None:
        import cv2

        arr = make()
        if arr.ndim == 3:
            arr = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR if arr.shape[2] == 3 else cv2.COLOR_RGBA2BGRA)
        assert cv2.imwrite(str(path), arr), path
    return build


# -- ImageMagick ------------------------------------------------------------------------------

@cache
def imagemagick() -> list[str] | None:
    """The command of a real ImageMagick (not a stand-in that names it), or None."""
    for cmd in (["magick"], ["convert"]):
        if shutil.which(cmd[0]) is None:
            continue
        try:
            run = subprocess.run([*cmd, "-version"], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if run.returncode == 0 and run.stdout.startswith("Version: ImageMagick"):
            return cmd
    return None


def magick(*args: str, source: str = "rgb16") -> Builder:
    """ImageMagick converts a 16-bit RGB (or 8-bit CMYK) PNG/TIFF source with ``args``."""
    def build(path: Path) -> None:
        import tifffile

        src = path.with_name(path.stem + ".source.tif")
        tifffile.imwrite(src, u16(3, 70), photometric="rgb")
        cmd = imagemagick()
        assert cmd is not None
        subprocess.run([*cmd, str(src), *args, str(path)], check=True, capture_output=True,
                       timeout=30)
        src.unlink()
    return build


# -- hand-crafted hostile files ----------------------------------------------------------------

def _tiff_next_pointer(path: Path, page: int) -> int:
    """The file offset of page ``page``'s next-IFD pointer (classic little-endian TIFF)."""
    import tifffile

    with tifffile.TiffFile(path) as tif:
        offset = tif.pages[page].offset
    with open(path, "rb") as fh:
        fh.seek(offset)
        (count,) = struct.unpack("<H", fh.read(2))
    return offset + 2 + 12 * count


def looping_tiff(path: Path) -> None:
    """Two pages; the second's next-IFD offset points back to the first IFD."""
    import tifffile

    tifffile.imwrite(path, np.stack([u8(1, 80), u8(1, 81)]), photometric="minisblack")
    with tifffile.TiffFile(path) as tif:
        first = tif.pages[0].offset
    at = _tiff_next_pointer(path, 1)
    with open(path, "r+b") as fh:
        fh.seek(at)
        fh.write(struct.pack("<I", first))


def past_end_tiff(path: Path) -> None:
    """Two pages; the second's next-IFD offset points past the end of the file."""
    import tifffile

    tifffile.imwrite(path, np.stack([u8(1, 82), u8(1, 83)]), photometric="minisblack")
    at = _tiff_next_pointer(path, 1)
    end = path.stat().st_size
    with open(path, "r+b") as fh:
        fh.seek(at)
        fh.write(struct.pack("<I", end + 4096))


def truncated(make: Builder, suffix: str) -> Builder:
    """A good file cut at half its length."""
    def build(path: Path) -> None:
        whole = path.with_name(path.stem + ".whole" + suffix)
        make(whole)
        data = whole.read_bytes()
        whole.unlink()
        path.write_bytes(data[: len(data) // 2])
    return build


def _lzw_one_pixel() -> bytes:
    """GIF LZW data (minimum code size 2) for one pixel of index 0: clear, 0, end."""
    return bytes([2, 2, 0x44, 0x01, 0])  # min code size, one 2-byte sub-block, terminator


def gif_bomb(path: Path) -> None:
    """A GIF whose logical screen is 1x1 and whose second frame's image descriptor claims
    65535x65535 (Pillow grows the canvas to it): about 60 bytes."""
    head = b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
    gce = b"\x21\xf9\x04\x00\x0a\x00\x00\x00"  # 100 ms, no transparency
    loop = b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    frame1 = gce + b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + _lzw_one_pixel()
    frame2 = gce + b"\x2c" + struct.pack("<HHHHB", 0, 0, 65535, 65535, 0) + _lzw_one_pixel()
    path.write_bytes(head + loop + frame1 + frame2 + b"\x3b")


def _chunk(kind: bytes, body: bytes) -> bytes:
    return (struct.pack(">I", len(body)) + kind + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))


def apng_bomb(path: Path) -> None:
    """An APNG: a 4x4 default image, then an fcTL claiming a 65535x65535 frame."""
    def fctl(seq: int, w: int, h: int) -> bytes:
        return _chunk(b"fcTL", struct.pack(">IIIIIHHBB", seq, w, h, 0, 0, 1, 10, 0, 0))

    rows = zlib.compress((b"\0" + b"\x80" * 4) * 4)
    path.write_bytes(b"\x89PNG\r\n\x1a\n"
                     + _chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 0, 0, 0, 0))
                     + _chunk(b"acTL", struct.pack(">II", 2, 0))
                     + fctl(0, 4, 4) + _chunk(b"IDAT", rows)
                     + fctl(1, 65535, 65535)
                     + _chunk(b"fdAT", struct.pack(">I", 2) + zlib.compress(b"\0" * 64))
                     + _chunk(b"IEND", b""))


def random_bytes(seed: int, n: int = 3000) -> Builder:
    def build(path: Path) -> None:
        path.write_bytes(np.random.default_rng(seed).integers(0, 256, n, np.uint8).tobytes())
    return build


def empty(path: Path) -> None:
    path.write_bytes(b"")


def renamed(make: Builder) -> Builder:
    """A good PNG under another name (an extension the format table does not name)."""
    def build(path: Path) -> None:
        tmp = path.with_name(path.stem + ".tmp.png")
        make(tmp)
        tmp.rename(path)
    return build


# -- the corpus -------------------------------------------------------------------------------

def _entries() -> list[Entry]:
    E = Entry
    tf = tiff
    e: list[Entry] = []
    # Pillow: PNG
    e += [E("pil_png_1.png", pillow("1", 1)), E("pil_png_L.png", pillow("L", 2)),
          E("pil_png_LA.png", pillow("LA", 3)), E("pil_png_P.png", pillow("P", 4)),
          E("pil_png_P_trns.png", pillow_transparent_p(5)),
          E("pil_png_RGB.png", pillow("RGB", 6)), E("pil_png_RGBA.png", pillow("RGBA", 7)),
          E("pil_png_I16.png", pillow("I;16", 8))]
    # Pillow: JPEG
    e += [E("pil_jpeg_L.jpg", pillow("L", 9, quality=90)),
          E("pil_jpeg_RGB.jpg", pillow("RGB", 10, quality=90)),
          E("pil_jpeg_CMYK.jpg", pillow("CMYK", 11, quality=90), space="cmyk"),
          E("pil_jpeg_progressive.jpg", pillow("RGB", 12, progressive=True)),
          E("pil_jpeg_orient6.jpg", pillow_oriented("RGB", 6, 13))]
    # Pillow: TIFF
    e += [E(f"pil_tiff_{m.replace(';', '')}.tif", pillow(m, 14 + k), png=m != "F",
            space="cmyk" if m == "CMYK" else "")
          for k, m in enumerate(["1", "L", "LA", "RGB", "RGBA", "CMYK", "P", "I;16", "F"])]
    e += [E("pil_tiff_lzw.tif", pillow("RGB", 23, compression="tiff_lzw")),
          E("pil_tiff_deflate.tif", pillow("L", 24, compression="tiff_deflate")),
          E("pil_tiff_packbits.tif", pillow("RGB", 25, compression="packbits")),
          E("pil_tiff_jpeg.tif", pillow("RGB", 26, compression="jpeg")),
          E("pil_tiff_group3.tif", pillow("1", 27, compression="group3")),
          E("pil_tiff_group4.tif", pillow("1", 28, compression="group4")),
          E("pil_tiff_orient8.tif", pillow_oriented("RGB", 8, 29)),
          E("pil_tiff_pages.tif", animation(30, "RGB"), frames=3, png=False)]
    # Pillow: BMP, GIF, WebP, APNG
    e += [E(f"pil_bmp_{m}.bmp", pillow(m, 32 + k))
          for k, m in enumerate(["1", "L", "P", "RGB", "RGBA"])]
    e += [E("pil_gif_still.gif", pillow("P", 37)),
          E("pil_gif_trns.gif", pillow_transparent_p(38)),
          E("pil_gif_anim.gif", gif_animation(39), frames=3, png=False),
          E("pil_gif_anim_trns.gif", gif_animation(40, transparent=True), frames=3, png=False)]
    e += [E("pil_webp_lossless.webp", pillow("RGB", 41, lossless=True)),
          E("pil_webp_lossy.webp", pillow("RGB", 42, quality=80)),
          E("pil_webp_RGBA.webp", pillow("RGBA", 43, lossless=True)),
          E("pil_webp_anim.webp", animation(44, "RGB", lossless=True, duration=[50, 60, 70],
                                             loop=0), frames=3, png=False)]
    e += [E("pil_apng_RGB.png", animation(45, "RGB", duration=[40, 50, 60], loop=0),
            frames=3, png=False),
          E("pil_apng_RGBA.png", animation(46, "RGBA", duration=100, loop=2, disposal=1,
                                           blend=1), frames=3, png=False)]
    # Pillow: the other formats it writes
    e += [E("pil_ppm_1.pbm", pillow("1", 47)), E("pil_ppm_L.pgm", pillow("L", 48)),
          E("pil_ppm_RGB.ppm", pillow("RGB", 49)), E("pil_ppm_I16.pgm", pillow("I;16", 50)),
          E("pil_pnm_RGB.pnm", pillow("RGB", 51, format="PPM")),
          E("pil_pfm_F.pfm", pillow("F", 52), png=False),
          E("hand_plain_P1.pbm", plain_pnm("P1")), E("hand_plain_P2.pgm", plain_pnm("P2")),
          E("hand_plain_P3.ppm", plain_pnm("P3"))]
    e += [E(f"pil_tga_{m}.tga", pillow(m, 53 + k)) for k, m in enumerate(["L", "RGB", "RGBA", "P"])]
    e += [E("pil_tga_rle.tga", pillow("RGB", 57, compression="tga_rle")),
          E("pil_qoi_RGB.qoi", pillow("RGB", 58)), E("pil_qoi_RGBA.qoi", pillow("RGBA", 59)),
          E("pil_ico_sizes.ico", ico)]
    e += [E(f"pil_sgi_{m}.sgi", pillow(m, 60 + k)) for k, m in enumerate(["L", "RGB", "RGBA"])]
    e += [E("pil_sgi_named.rgb", pillow("RGB", 63, format="SGI"))]
    e += [E(f"pil_pcx_{m}.pcx", pillow(m, 64 + k)) for k, m in enumerate(["1", "L", "P", "RGB"])]
    e += [E("pil_jp2_RGB.jp2", pillow("RGB", 68), requires="openjpeg"),
          E("pil_j2k_L.j2k", pillow("L", 69), requires="openjpeg"),
          E("pil_dds_RGB.dds", pillow("RGB", 70)), E("pil_dds_RGBA.dds", pillow("RGBA", 71)),
          E("pil_xbm_1.xbm", pillow("1", 72)),
          E("pil_mpo_pair.mpo", animation(73, "RGB", frames=2, quality=90), frames=2,
            png=False),
          E("pil_im_RGB.im", pillow("RGB", 74)), E("pil_im_L.im", pillow("L", 75)),
          E("pil_im_F.im", pillow("F", 76), png=False),
          E("pil_eps_RGB.eps", eps, requires="gs")]
    # tifffile: dtypes
    e += [E("tf_u8_gray.tif", tf(lambda: u8(1, 100))),
          E("tf_u16_gray.tif", tf(lambda: u16(1, 101))),
          E("tf_f32_gray.tif", tf(lambda: f32(1, 102)), png=False),
          E("tf_u8_rgb.tif", tf(lambda: u8(3, 103), photometric="rgb")),
          E("tf_u16_rgb.tif", tf(lambda: u16(3, 104), photometric="rgb")),
          E("tf_f32_rgb.tif", tf(lambda: f32(3, 105), photometric="rgb"), png=False),
          E("tf_i8_gray.tif", tf(lambda: signed("int8", 106)), png=False),
          E("tf_i16_gray.tif", tf(lambda: signed("int16", 107)), png=False),
          E("tf_i32_gray.tif", tf(lambda: signed("int32", 108)), png=False)]
    # tifffile: codecs and predictors
    e += [E("tf_lzw_rgb.tif", tf(lambda: u8(3, 110), photometric="rgb", compression="lzw",
                                   predictor=True)),
          E("tf_lzw_u16.tif", tf(lambda: u16(1, 111), compression="lzw", predictor=True)),
          E("tf_adobe_deflate_u16rgb.tif", tf(lambda: u16(3, 112), photometric="rgb",
                                               compression="adobe_deflate",
                                               predictor="horizontal")),
          E("tf_deflate_fp.tif", tf(lambda: f32(1, 113), compression="deflate",
                                      predictor="floatingpoint"), png=False),
          E("tf_zstd_u16.tif", tf(lambda: u16(1, 114), compression="zstd", predictor=True)),
          E("tf_packbits_u8.tif", tf(lambda: u8(1, 115), compression="packbits")),
          E("tf_jpeg_rgb.tif", tf(lambda: u8(3, 116), photometric="rgb", compression="jpeg",
                                    compressionargs={"outcolorspace": "RGB"})),
          E("tf_jpeg_ycbcr.tif", tf(lambda: u8(3, 117), photometric="ycbcr",
                                      compression="jpeg")),
          E("tf_webp_rgb.tif", tf(lambda: u8(3, 118), photometric="rgb", compression="webp",
                                    compressionargs={"lossless": True})),
          E("tf_jpeg2000_rgb.tif", tf(lambda: u8(3, 119), photometric="rgb",
                                        compression="jpeg2000",
                                        compressionargs={"reversible": True})),
          E("tf_lerc_f32.tif", tf(lambda: f32(1, 120), compression="lerc"), png=False)]
    # tifffile: layouts and photometrics
    e += [E("tf_tiled_rgb.tif", tf(lambda: u8(3, 121), photometric="rgb", tile=(16, 16))),
          E("tf_tiled_u16.tif", tf(lambda: u16(1, 122), tile=(16, 16), compression="zlib")),
          E("tf_planar_rgb.tif", tf(lambda: np.moveaxis(u8(3, 123), 2, 0), photometric="rgb",
                                      planarconfig="separate")),
          E("tf_planar_u16.tif", tf(lambda: np.moveaxis(u16(3, 124), 2, 0), photometric="rgb",
                                      planarconfig="separate")),
          E("tf_miniswhite_u8.tif", tf(lambda: u8(1, 125), photometric="miniswhite"),
            space="miniswhite"),
          E("tf_miniswhite_1bit.tif", tf(lambda: u8(1, 126) > 127, photometric="miniswhite"),
            space="miniswhite"),
          E("tf_bilevel.tif", tf(lambda: u8(1, 127) > 127, photometric="minisblack")),
          E("tf_palette.tif", tf(lambda: u8(1, 128), photometric="palette",
                                   colormap=colormap())),
          E("tf_unassalpha_u8.tif", tf(lambda: with_alpha(u8(3, 129), 129), photometric="rgb",
                                         extrasamples=["unassalpha"])),
          E("tf_unassalpha_u16.tif", tf(lambda: with_alpha(u16(3, 130), 130),
                                          photometric="rgb", extrasamples=["unassalpha"])),
          E("tf_assocalpha_u8.tif", tf(premultiplied, photometric="rgb",
                                         extrasamples=["assocalpha"]), space="assoc"),
          E("tf_cmyk_u8.tif", tf(lambda: u8(4, 131), photometric="separated",
                                   extratags=INKSET_CMYK), space="cmyk"),
          E("tf_cmyk_u16.tif", tf(lambda: u16(4, 132), photometric="separated",
                                    extratags=INKSET_CMYK), space="cmyk", png=False),
          E("tf_cielab_u8.tif", tf(lab8, photometric="cielab"), space="lab"),
          E("tf_ycbcr_raw.tif", tf(lambda: u8(3, 133), photometric="ycbcr",
                                     subsampling=(1, 1)), space="ycbcr"),
          E("tf_bits2.tif", tf(lambda: (u8(1, 134) // 64).astype(np.uint8), bitspersample=2)),
          E("tf_bits4.tif", tf(lambda: (u8(1, 135) // 16).astype(np.uint8), bitspersample=4)),
          E("tf_bits12.tif", tf(lambda: (u16(1, 136) // 16).astype(np.uint16),
                                  bitspersample=12))]
    # tifffile: pages
    e += [E("tf_pages_same.tif", tiff_pages([(H, W)] * 3, 1), frames=3, png=False),
          E("tf_pages_sizes.tif", tiff_pages([(H, W), (9, 12)], 3), frames=2, png=False),
          E("tf_pyramid.tif", tiff_pages([(H, W), (9, 12), (5, 6)], 1, compression="zlib"),
            frames=3, png=False),
          E("tf_subifd.tif", tiff_subifd)]
    # OpenCV
    e += [E("cv_png8_rgb.png", opencv(lambda: u8(3, 140))),
          E("cv_png16_rgb.png", opencv(lambda: u16(3, 141))),
          E("cv_png16_rgba.png", opencv(lambda: with_alpha(u16(3, 142), 142))),
          E("cv_png8_gray.png", opencv(lambda: u8(1, 143))),
          E("cv_png16_gray.png", opencv(lambda: u16(1, 144))),
          E("cv_tif_rgb.tif", opencv(lambda: u8(3, 145))),
          E("cv_tif16_rgb.tif", opencv(lambda: u16(3, 146))),
          E("cv_jpg_rgb.jpg", opencv(lambda: u8(3, 147))),
          E("cv_ppm8.ppm", opencv(lambda: u8(3, 148))),
          E("cv_ppm16.ppm", opencv(lambda: u16(3, 149))),
          E("cv_pgm8.pgm", opencv(lambda: u8(1, 150))),
          E("cv_pgm16.pgm", opencv(lambda: u16(1, 151))),
          E("cv_pfm_gray.pfm", opencv(lambda: f32(1, 152)), png=False)]
    # ImageMagick (only a real one)
    e += [E("im_png16.png", magick("-depth", "16"), requires="imagemagick"),
          E("im_tif_cmyk.tif", magick("-depth", "8", "-colorspace", "CMYK"), space="cmyk",
            requires="imagemagick")]
    # extensions the format table does not name
    e += [E("unknown_png.xyz", renamed(pillow("RGB", 160)), kind="unknown"),
          E("unknown_random.xyz", random_bytes(161), kind="unreadable", png=False)]
    # damaged and hostile bytes
    e += [E("trunc_tiff.tif", truncated(tf(lambda: u8(3, 170), photometric="rgb"), ".tif"),
            kind="damaged", png=False),
          E("trunc_png.png", truncated(pillow("RGB", 171), ".png"), kind="damaged", png=False),
          E("trunc_jpeg.jpg", truncated(pillow("RGB", 172, quality=95), ".jpg"),
            kind="damaged", png=False),
          E("trunc_gif.gif", truncated(pillow("P", 173), ".gif"), kind="damaged", png=False),
          E("hostile_loop.tif", looping_tiff, kind="hostile", frames=2, png=False),
          E("hostile_past_end.tif", past_end_tiff, kind="hostile", frames=2, png=False),
          E("hostile_bomb.gif", gif_bomb, kind="hostile", frames=2, png=False),
          E("hostile_apng_bomb.png", apng_bomb, kind="hostile", frames=2, png=False),
          E("hostile_random_png.png", random_bytes(174), kind="hostile", png=False),
          E("hostile_random_tif.tif", random_bytes(175), kind="hostile", png=False),
          E("hostile_empty.png", empty, kind="hostile", png=False)]
    return e


ENTRIES: list[Entry] = _entries()
BY_NAME: dict[str, Entry] = {e.name: e for e in ENTRIES}


@cache
def available(requirement: str) -> bool:
    """Whether the tool an entry requires is installed."""
    if not requirement:
        return True
    if requirement == "gs":
        return shutil.which("gs") is not None
    if requirement == "imagemagick":
        return imagemagick() is not None
    if requirement == "openjpeg":
        from PIL import features

        return bool(features.check("jpg_2000"))
    raise ValueError(requirement)


def names(*kinds: str, where: Callable[[Entry], bool] = lambda e: True) -> list[str]:
    """The names of the entries of these kinds that satisfy ``where`` (tools not checked)."""
    return [e.name for e in ENTRIES if e.kind in kinds and where(e)]


def build(folder: Path) -> dict[str, Path]:
    """Write every entry whose tools are installed into ``folder``: name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    made: dict[str, Path] = {}
    for entry in ENTRIES:
        if not available(entry.requires):
            continue
        path = folder / entry.name
        with warnings.catch_warnings():  # Pillow: "IM image format is deprecated"
            warnings.simplefilter("ignore", DeprecationWarning)
            entry.build(path)
        assert path.is_file(), entry.name
        made[entry.name] = path
    return made
