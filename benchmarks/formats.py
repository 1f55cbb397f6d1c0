"""The format layer: imageio.v3 against the direct calls imgconv makes, format by format.

Answers one question for docs/formats.md: where does ``imageio.v3`` (``iio.imread`` /
``iio.imwrite``) cost no more than the direct Pillow / OpenCV / tifffile / numpy calls that
``imgconv.pixels`` makes, and where does it lose something imgconv must keep?

Run from the repository with imgconv installed (``pip install -e .``)::

    python benchmarks/formats.py                 # 1024x1024 images, 7 timed runs each
    python benchmarks/formats.py --repeat 5 --size 512 --json formats.json
    python benchmarks/formats.py --photos DIR    # PNG encoders on every image in DIR

Every time is the median of ``--repeat`` (at least 5) runs after one warm-up, the contenders
of a format timed interleaved (the machine may be shared and noisy).  Decoding reads the file
imgconv itself wrote; the imgconv decode column is the public ``imgconv.read_image``.  The
imgconv encode column is the direct call ``imgconv.formats.write`` makes (for PNG imgconv's
own encoder, ``imgconv.formats.png.write_png``), checked here to write the very bytes
``imgconv.write_image`` writes (which adds only the atomic rename and fsync).  imageio writes
with the same encoder parameters (JPEG quality 95, lossless WebP, the same TIFF tags), so
that its files could replace imgconv's; for PNG with the nearest its plugin takes (zlib level
1 and the run-length strategy; OpenCV also the Up filter, Pillow has no filter choice), and
as those are other bytes, a PNG is compared by its decoded pixels and its size is reported.
The "defaults" column is ``iio.imwrite(path, array)`` with nothing else.

``--photos DIR`` instead times PNG encoders on real images: every image file in DIR (decoded
by ``cv2.imread(..., IMREAD_UNCHANGED)``) as is, blurred (``cv2.sepFilter2D``, a 31-tap
Gaussian of sigma 3.75) and sharpened (``cv2.filter2D``, the 3x3 kernel of :data:`SHARPEN`),
each written by imgconv's ``write_png``, Pillow at ``compress_level=1``, OpenCV at level 1
(its default filters and strategy) and OpenCV at level 6; best of ``--repeat`` interleaved
runs, every file checked to decode (``cv2.imdecode``) to the very pixels.  Not part of the
test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import imageio
import imageio.v3 as iio
import numpy as np
import PIL
import tifffile
from PIL import GifImagePlugin, Image, ImageCms, features

import imgconv
from imgconv import read_image, write_image
from imgconv.formats.png import write_png

PIL_FORMAT = {".png": "PNG", ".jpg": "JPEG", ".gif": "GIF", ".webp": "WEBP", ".bmp": "BMP"}
MAKE = "imgconv-bench"  # the EXIF Make tag written and looked for
SLOWER = 1.05  # a median ratio above this counts as "costs more" (the machine is noisy)
#: imageio's nearest to imgconv's PNG encoder (Up filter, zlib level 1, Z_RLE), per plugin
PNG_PILLOW = {"compress_level": 1, "compress_type": zlib.Z_RLE}  # Pillow: no filter choice
PNG_OPENCV = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY,
              cv2.IMWRITE_PNG_STRATEGY_RLE, cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_UP]
SHARPEN = np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], np.float32)  # --photos
MB = 1e6  # --photos sizes: megabytes of 10**6 bytes
Row = dict[str, Any]


@dataclass
class Case:
    """One format: the array, the encoder parameters given to imageio, the imageio plugin."""

    key: str
    label: str
    ext: str
    array: np.ndarray
    save: dict[str, Any]  # imgconv's encoder parameters (PNG: the nearest), for imageio
    plugin: str  # the imageio plugin named explicitly
    read_kw: dict[str, Any] = field(default_factory=dict)  # for the explicit plugin
    write_kw: dict[str, Any] | None = None  # for the explicit plugin (default: save)


def synthetic(size: int) -> np.ndarray:
    """A seeded photo-like RGB image in 0..1: smooth colour waves plus a little noise."""
    y, x = np.mgrid[0:size, 0:size] / size
    waves = np.stack([np.sin(2 * np.pi * (3 * x + y)), np.cos(2 * np.pi * (2 * y - x)),
                      np.sin(10 * np.pi * x * y)], axis=2)
    noise = np.random.default_rng(6).normal(0.0, 0.02, waves.shape)
    return np.clip(0.5 + 0.4 * waves + noise, 0.0, 1.0)


def cases(size: int) -> list[Case]:
    base = synthetic(size)
    u8 = np.rint(base * 255).astype(np.uint8)
    u16 = np.rint(base * 65535).astype(np.uint16)
    f32 = base[:, :, 0].astype(np.float32)
    rgb_tiff = {"photometric": "rgb", "planarconfig": "contig"}
    return [
        Case("png8", "PNG 8-bit RGB", ".png", u8, PNG_PILLOW, "pillow"),
        Case("png16", "PNG 16-bit RGB", ".png", u16, PNG_PILLOW, "opencv",
             {"flags": cv2.IMREAD_UNCHANGED}, {"params": PNG_OPENCV}),
        Case("jpeg", "JPEG RGB q95", ".jpg", u8, {"quality": 95}, "pillow"),
        Case("tiff16", "TIFF uint16 RGB", ".tif", u16, rgb_tiff, "tifffile"),
        Case("tiff32", "TIFF float32 gray", ".tif", f32, {"photometric": "minisblack"},
             "tifffile"),
        Case("gif", "GIF (RGB in, palette)", ".gif", u8, {}, "pillow", {"index": 0}),
        Case("webp", "WebP lossless RGB", ".webp", u8, {"lossless": True}, "pillow"),
        Case("bmp", "BMP RGB", ".bmp", u8, {}, "pillow"),
        Case("npy", ".npy float32 RGB", ".npy", base.astype(np.float32), {}, "(none)"),
    ]


# --------------------------------------------------------------------------- timing


def interleaved(calls: dict[str, Callable[[], object]], repeat: int, loops: int = 1,
                pick: Callable[[list[float]], float] = statistics.median) -> dict[str, float]:
    """Milliseconds per call of each contender, timed in turn, order rotating: the median
    of the runs (``pick=min``: the best)."""
    names = list(calls)
    samples: dict[str, list[float]] = {n: [] for n in names}
    for r in range(repeat):
        for name in names[r % len(names):] + names[:r % len(names)]:
            call = calls[name]
            t0 = time.perf_counter()
            for _ in range(loops):
                call()
            samples[name].append((time.perf_counter() - t0) / loops * 1e3)
    return {n: pick(v) for n, v in samples.items()}


def probe(call: Callable[[], Any]) -> tuple[Any, str | None]:
    """Run once (the warm-up): the result, or None and why it failed."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return call(), None
    except Exception as exc:  # a contender that cannot do it is reported, not fatal
        return None, f"fails: {type(exc).__name__}: {str(exc).splitlines()[0][:60]}"


# --------------------------------------------------------------------------- the calls


def direct_write(case: Case, path: str) -> None:
    """What ``imgconv.formats.write`` calls to encode this case (no temp file, no fsync)."""
    arr = case.array
    if case.ext == ".npy":
        with open(path, "wb") as fh:
            np.save(fh, arr, allow_pickle=False)
    elif case.ext == ".tif":
        tifffile.imwrite(path, arr, **case.save)
    elif case.ext == ".png":  # imgconv's own encoder, every depth and channel count
        with open(path, "wb") as fh:
            write_png(fh, arr, {})
    else:
        Image.fromarray(arr).save(path, format=PIL_FORMAT[case.ext], **case.save)


def fresh(path: str, write: Callable[[str], Any]) -> Callable[[], None]:
    """A writer that starts from no file (imageio's Pillow plugin may append otherwise)."""

    def call() -> None:
        if os.path.exists(path):
            os.unlink(path)
        write(path)

    return call


def encoders(case: Case, folder: Path) -> dict[str, tuple[str, Callable[[], None]]]:
    """name -> (output path, call) for the encode contenders of one case."""
    def out(tag: str) -> str:
        return str(folder / f"{case.key}.{tag}{case.ext}")

    if case.ext == ".npy":  # imageio has no .npy plugin: nothing to compare
        return {"imgconv": (out("imgconv"), fresh(out("imgconv"),
                                                  lambda p: direct_write(case, p)))}
    explicit = case.save if case.write_kw is None else case.write_kw
    specs: dict[str, Callable[[str], Any]] = {
        "imgconv": lambda p: direct_write(case, p),
        "iio auto": lambda p: iio.imwrite(p, case.array, **case.save),
        "iio explicit": lambda p: iio.imwrite(p, case.array, plugin=case.plugin, **explicit),
        "iio defaults": lambda p: iio.imwrite(p, case.array),
    }
    paths = {n: out(n.replace(" ", "-")) for n in specs}
    return {n: (paths[n], fresh(paths[n], w)) for n, w in specs.items()}


def decoders(case: Case, path: str) -> dict[str, Callable[[], Any]]:
    calls: dict[str, Callable[[], Any]] = {"imgconv": lambda: read_image(path).array}
    if case.ext != ".npy":
        calls["iio auto"] = lambda: iio.imread(path)
        calls["iio explicit"] = lambda: iio.imread(path, plugin=case.plugin, **case.read_kw)
    return calls


def plugin_of(path: str) -> str:
    with iio.imopen(path, "r") as f:
        return type(f).__name__.replace("Plugin", "").lower()


def same_pixels(a: Any, b: np.ndarray) -> str:
    if a is None:
        return "-"
    a = np.asarray(a)
    if a.shape != b.shape:
        return f"no: shape {a.shape}"
    if a.dtype != b.dtype:
        return f"no: {a.dtype}"
    return "yes" if np.array_equal(a, b) else "no: values"


# --------------------------------------------------------------------------- one case


def same_output(case: Case, path: str, ref_bytes: bytes) -> str:
    """Whether a contender wrote what imgconv writes: the bytes, or for PNG (where every
    encoder writes its own bytes) the decoded pixels."""
    if case.ext != ".png":
        return "yes" if Path(path).read_bytes() == ref_bytes else "no"
    got, error = probe(lambda: read_image(path).array)
    return f"no: {error}" if error else same_pixels(got, case.array)


def measure(case: Case, folder: Path, repeat: int, loops: int = 1) -> Row:
    """Encode and decode times of every contender for one case, what they keep, and the
    size of each file written."""
    row: Row = {"key": case.key, "label": case.label, "ext": case.ext,
                "shape": list(case.array.shape), "dtype": str(case.array.dtype),
                "encode_check": "pixels" if case.ext == ".png" else "bytes",
                "encode": {}, "decode": {}}
    reference = str(folder / f"{case.key}.reference{case.ext}")
    write_image(reference, case.array, overwrite=True)  # imgconv's own writer, in full
    ref_bytes = Path(reference).read_bytes()
    row["file_kb"] = round(len(ref_bytes) / 1024)
    timed: dict[str, Callable[[], Any]] = {}
    contenders = encoders(case, folder)
    for name, (path, call) in contenders.items():
        _, error = probe(call)
        row["encode"][name] = {"status": error or "ok",
                               "same": "-" if error else same_output(case, path, ref_bytes)}
        if error is None:
            row["encode"][name]["bytes"] = os.path.getsize(path)
            timed[name] = call
    if Path(contenders["imgconv"][0]).read_bytes() != ref_bytes:
        raise SystemExit(f"{case.key}: the direct call no longer writes what imgconv writes")
    for name, ms in interleaved(timed, repeat, loops).items():
        row["encode"][name]["ms"] = ms
    expected = read_image(reference).array
    timed = {}
    for name, call in decoders(case, reference).items():
        got, error = probe(call)
        row["decode"][name] = {"status": error or "ok", "same_pixels": same_pixels(got, expected)}
        if error is None:
            timed[name] = call
    for name, ms in interleaved(timed, repeat, loops).items():
        row["decode"][name]["ms"] = ms
    if case.ext != ".npy":
        row["auto_plugin"] = plugin_of(reference)
    return row


def verdict(row: Row) -> str:
    """Per call: imageio costs no more (and loses nothing) -> use it; else the direct call.

    The import and first-call costs (a fixed price per process) are reported apart."""
    if "auto_plugin" not in row:
        return "direct call (imageio has no .npy plugin)"
    reasons = []
    for what, key in (("encode", "same"), ("decode", "same_pixels")):
        best = None
        for name in ("iio auto", "iio explicit"):
            r = row[what][name]
            if r["status"] != "ok" or r[key] != "yes":
                continue
            ratio = r["ms"] / row[what]["imgconv"]["ms"]
            best = ratio if best is None else min(best, ratio)
        if best is None:
            reasons.append(f"{what}: imageio loses data or fails")
        elif best > SLOWER:
            reasons.append(f"{what}: imageio x{best:.2f}")
    return "imageio costs no more" if not reasons else "direct call (" + "; ".join(reasons) + ")"


# --------------------------------------------------------------------------- (d) fidelity


def _pil_info(path: str) -> dict[str, Any]:
    with Image.open(path) as im:
        info: dict[str, Any] = {str(k): v for k, v in im.info.items()}
        info["exif_tags"] = dict(im.getexif())
        info["frames"] = getattr(im, "n_frames", 1)
        durations = []
        for i in range(info["frames"]):
            im.seek(i)
            durations.append(im.info.get("duration"))
        info["durations"] = durations
        return info


def _png_bits(path: str) -> int:
    return Path(path).read_bytes()[24]


def fidelity(folder: Path) -> list[tuple[str, str, str]]:
    """(what imgconv needs, what imgconv does today, what imageio.v3 does)."""
    rng = np.random.default_rng(3)
    u16 = rng.integers(0, 65536, (24, 32, 3), dtype=np.uint16)
    rows: list[tuple[str, str, str]] = []
    p16 = str(folder / "fid16.png")
    write_image(p16, u16, overwrite=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        auto = iio.imread(p16)
    meta = iio.immeta(p16)
    _, err = probe(lambda: iio.imwrite(str(folder / "fid16w.png"), u16))
    rows.append(("16-bit RGB PNG, read",
                 f"{read_image(p16).array.dtype} (OpenCV), values equal",
                 f"{auto.dtype} with the auto plugin ({plugin_of(p16)}), {len(caught)} warning(s); "
                 f"immeta says mode {meta.get('mode')!r}; plugin='opencv', "
                 "flags=cv2.IMREAD_UNCHANGED reads uint16 (channels put back to RGB)"))
    ow = str(folder / "fid16o.png")
    iio.imwrite(ow, u16, plugin="opencv", params=PNG_OPENCV)
    rows.append(("16-bit RGB PNG, write", f"{_png_bits(p16)}-bit (imgconv's own encoder)",
                 f"auto/pillow {err or 'ok'}; plugin='opencv': {_png_bits(ow)}-bit, "
                 f"same pixels as imgconv: {np.array_equal(read_image(ow).array, u16)}, "
                 f"same bytes: {Path(ow).read_bytes() == Path(p16).read_bytes()}"))
    rows += _fidelity_gray16(folder, rng)
    rows += _fidelity_metadata(folder, rng)
    rows += _fidelity_frames(folder, rng)
    rows += _fidelity_odd(folder, rng)
    return rows


def _fidelity_gray16(folder: Path, rng: np.random.Generator) -> list[tuple[str, str, str]]:
    g16 = rng.integers(0, 65536, (24, 32), dtype=np.uint16)
    path, mine = str(folder / "g16.png"), str(folder / "g16-imgconv.png")
    iio.imwrite(path, g16, compress_level=1)
    kept = np.array_equal(iio.imread(path), g16) and _png_bits(path) == 16
    write_image(mine, g16, overwrite=True)
    own = np.array_equal(read_image(mine).array, g16) and _png_bits(mine) == 16
    ga16 = rng.integers(0, 65536, (24, 32, 2), dtype=np.uint16)
    _, err = probe(lambda: iio.imwrite(str(folder / "ga16.png"), ga16))
    _, cv_err = probe(lambda: iio.imwrite(str(folder / "ga16o.png"), ga16, plugin="opencv"))
    ga_path = str(folder / "ga16-imgconv.png")
    write_image(ga_path, ga16, overwrite=True)
    ga_kept = np.array_equal(read_image(ga_path).array, ga16)
    return [("16-bit gray PNG", f"uint16 both ways (read: Pillow; write: own encoder), "
             f"equal: {own}", f"uint16 both ways, equal: {kept}"),
            ("16-bit gray+alpha PNG, write", f"imgconv's own encoder (as every PNG), read back "
             f"equal: {ga_kept}", f"auto/pillow {err or 'ok'}; plugin='opencv' {cv_err or 'ok'}")]


def _kept(icc: Any, dpi: Any, exif: Any, want_icc: bytes) -> str:
    """Which of the ICC profile, dpi and EXIF (bytes or tags; ``MAKE`` as its Make tag)
    came through."""
    tags: Any = exif if isinstance(exif, dict) else Image.Exif()
    if isinstance(exif, bytes):
        tags.load(exif)
    kept = [k for k, ok in (("icc_profile", icc == want_icc), ("dpi", dpi is not None),
                            ("exif", tags.get(0x010F) == MAKE)) if ok]
    return "/".join(kept) or "none"


def _fidelity_metadata(folder: Path, rng: np.random.Generator) -> list[tuple[str, str, str]]:
    u8 = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation
    exif[0x010F] = MAKE
    found, mine = [], []
    for ext in (".png", ".jpg", ".webp", ".tif"):
        src = str(folder / f"meta{ext}")
        Image.fromarray(u8).save(src, icc_profile=icc, dpi=(300, 300), exif=exif.tobytes())
        image = read_image(src)  # imgconv: read, write, read back
        write_image(str(folder / f"meta-imgconv{ext}"), image.array, meta=image.meta,
                    overwrite=True)
        back = read_image(str(folder / f"meta-imgconv{ext}")).meta
        kept = _kept(back.get("icc_profile"), back.get("dpi"), back.get("exif"), icc)
        mine.append(f"{ext}: {kept}")
        meta = iio.immeta(src)
        keys = [k for k in ("icc_profile", "dpi", "exif") if k in meta]
        dst = str(folder / f"meta-out{ext}")
        params: dict[str, Any] = {"icc_profile": icc, "dpi": (300, 300), "exif": exif.tobytes()}
        if ext == ".tif":  # the tifffile plugin: tifffile's own keywords
            params = {"iccprofile": icc, "resolution": (300, 300)}
        iio.imwrite(dst, u8, **params)
        info = _pil_info(dst)
        written = _kept(info.get("icc_profile"), info.get("dpi"), info["exif_tags"], icc)
        found.append(f"{ext}: immeta {'/'.join(keys) or 'none'}, imwrite(**kw) keeps {written}")
    return [("ICC profile, dpi, EXIF",
             "read, written and read back keeps " + "; ".join(mine)
             + " (PNG: iCCP, pHYs, eXIf chunks of the own encoder)",
             "; ".join(found) + " (TIFF: tifffile plugin's immeta has no ICC/dpi; "
             "its imwrite passes resolution=/iccprofile= to tifffile)")]


def _fidelity_frames(folder: Path, rng: np.random.Generator) -> list[tuple[str, str, str]]:
    stack = rng.integers(0, 65536, (3, 24, 32, 3), dtype=np.uint16)
    tif = str(folder / "pages.tif")
    write_image(tif, stack, overwrite=True, pages=3)
    back = iio.imread(tif, index=None)
    out = str(folder / "pages-iio.tif")
    iio.imwrite(out, stack, photometric="rgb", planarconfig="contig")
    with tifffile.TiffFile(out) as t:
        pages = len(t.pages)
    frames = rng.integers(0, 256, (4, 24, 32, 3), dtype=np.uint8)
    gif = str(folder / "anim.gif")
    iio.imwrite(gif, frames, duration=[40, 80, 120, 160], loop=0)
    info = _pil_info(gif)
    read = iio.imread(gif, index=None)
    durations = [iio.immeta(gif, index=i).get("duration") for i in range(len(read))]
    return [("multi-page TIFF", "every page, stack (P,H,W,C); written as P pages",
             f"imread(index=None) {back.shape}, equal: {np.array_equal(back, stack)}; "
             f"imwrite(stack) -> {pages} pages, same bytes as imgconv: "
             f"{Path(out).read_bytes() == Path(tif).read_bytes()}"),
            ("GIF frames and durations", "one frame (--page N); durations not kept",
             f"imread(index=None) {read.shape}; immeta(index=i) durations {durations}; "
             f"imwrite(frames, duration=, loop=) -> {info['frames']} frames, "
             f"durations {info['durations']}, loop {info.get('loop')}")]


def _fidelity_odd(folder: Path, rng: np.random.Generator) -> list[tuple[str, str, str]]:
    u8 = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    pal = Image.fromarray(u8).quantize(16)
    png = str(folder / "palette.png")
    pal.save(png, transparency=0)
    mine = read_image(png).array
    theirs = iio.imread(png)
    gif = str(folder / "one.gif")
    Image.fromarray(u8).save(gif)
    npy = str(folder / "x.npy")
    iio.imwrite(npy, u8)
    head = Path(npy).read_bytes()[:4]
    np.save(npy, u8)
    _, err = probe(lambda: iio.imread(npy))
    part = str(folder / ".out.png.k3j9x.part")  # the temporary name of an atomic write
    iio.imwrite(part, u8)
    part_head = Path(part).read_bytes()[:4]
    iio.imwrite(part, u8, extension=".png")
    GifImagePlugin.LOADING_STRATEGY = GifImagePlugin.LoadingStrategy.RGB_AFTER_FIRST  # default
    before = GifImagePlugin.LOADING_STRATEGY
    iio.imread(gif)
    after = GifImagePlugin.LOADING_STRATEGY
    return [("palette PNG with transparency", f"{mine.shape} (RGBA)",
             f"{theirs.shape} by default (alpha dropped); mode='RGBA' gives RGBA"),
            ("single-frame GIF", f"{read_image(gif).array.shape}",
             f"imread() {iio.imread(gif).shape}; index=0 gives {iio.imread(gif, index=0).shape}"),
            (".npy", "np.load / np.save",
             f"imread: {(err or 'ok').split(' `')[0]}; imwrite('x.npy') writes a file "
             f"starting {head!r} (a TIFF under a .npy name)"),
            ("atomic write to '.out.png.RANDOM.part'",
             "the writer is picked by the target's extension (PNG: the own encoder)",
             f"imwrite picks by extension: writes {part_head!r} (TIFF) unless extension='.png' "
             f"is passed (then {Path(part).read_bytes()[:4]!r})"),
            ("no global side effects", "none",
             f"iio.imread of a GIF sets Pillow's global GifImagePlugin.LOADING_STRATEGY "
             f"{before.name} -> {after.name} for the whole process")]


def channel_swap(size: int, repeat: int) -> dict[str, float]:
    """BGR <-> RGB of a 16-bit image: imgconv's fancy indexing against imageio's cvtColor."""
    bgr = np.rint(synthetic(size) * 65535).astype(np.uint16)
    fancy = np.ascontiguousarray(bgr[:, :, [2, 1, 0]])
    if not np.array_equal(fancy, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)):
        raise SystemExit("cv2.cvtColor does not swap channels like numpy indexing")
    return interleaved({"numpy bgr[:, :, [2, 1, 0]] (imgconv)":
                        lambda: np.ascontiguousarray(bgr[:, :, [2, 1, 0]]),
                        "cv2.cvtColor(bgr, COLOR_BGR2RGB) (imageio's opencv plugin)":
                        lambda: cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)}, repeat, loops=5)


# --------------------------------------------------------------------------- --photos

PHOTO_ENCODERS = ("imgconv write_png", "imagecodecs L1", "Pillow L1", "OpenCV L1", "OpenCV L6")


def photos_in(folder: Path) -> list[tuple[str, np.ndarray]]:
    """(file name, pixels as ``cv2.IMREAD_UNCHANGED`` decodes them) of every image file in
    ``folder`` that a PNG can hold (uint8, uint16); the others are skipped with a note."""
    found = []
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if img is None or img.dtype not in (np.uint8, np.uint16):
            why = "not an image OpenCV decodes" if img is None else f"{img.dtype}"
            print(f"{path.name}: {why}, skipped", file=sys.stderr, flush=True)
            continue
        found.append((path.name, img))
    return found


def photo_variants(img: np.ndarray) -> dict[str, np.ndarray]:
    """The image as is, blurred (31-tap Gaussian, sigma 3.75) and sharpened, in its dtype."""
    g = cv2.getGaussianKernel(31, 3.75)
    return {"as is": img, "blurred": cv2.sepFilter2D(img, -1, g, g),
            "sharpened": cv2.filter2D(img, -1, SHARPEN)}


def photo_encoders(bgr: np.ndarray, stem: Path) -> dict[str, tuple[str, Callable[[], None]]]:
    """name -> (output path, call), each encoder given the channel order it takes (imgconv
    and Pillow RGB(A), OpenCV BGR(A)), swapped beforehand and not timed."""
    rgb = bgr if bgr.ndim == 2 else np.ascontiguousarray(bgr[:, :, [2, 1, 0, 3][:bgr.shape[2]]])
    paths = {n: f"{stem}.{n.replace(' ', '-')}.png" for n in PHOTO_ENCODERS}

    def own() -> None:
        with open(paths["imgconv write_png"], "wb") as fh:
            write_png(fh, rgb, {})

    def pillow() -> None:
        Image.fromarray(rgb).save(paths["Pillow L1"], format="PNG", compress_level=1)

    def codecs() -> None:  # the same job as imgconv's: level 1, Z_RLE, the Up filter
        import imagecodecs

        png = imagecodecs.PNG
        data = imagecodecs.png_encode(rgb, level=1, strategy=png.STRATEGY.RLE,
                                      filter=png.FILTER.UP)
        with open(paths["imagecodecs L1"], "wb") as fh:
            fh.write(data)

    def opencv(name: str, level: int) -> Callable[[], None]:
        def call() -> None:
            if not cv2.imwrite(paths[name], bgr, [cv2.IMWRITE_PNG_COMPRESSION, level]):
                raise OSError(f"cv2.imwrite failed: {paths[name]}")
        return call

    calls = {"imgconv write_png": own, "imagecodecs L1": codecs, "Pillow L1": pillow,
             "OpenCV L1": opencv("OpenCV L1", 1), "OpenCV L6": opencv("OpenCV L6", 6)}
    return {n: (paths[n], calls[n]) for n in PHOTO_ENCODERS}


def measure_photo(name: str, img: np.ndarray, folder: Path, repeat: int) -> Row:
    """Best-of-``repeat`` ms and bytes of every encoder on each variant of one image, and
    whether each file decodes (``cv2.imdecode``) to the very pixels."""
    row: Row = {"image": name, "shape": list(img.shape), "dtype": str(img.dtype),
                "variants": {}}
    for variant, arr in photo_variants(img).items():
        cells: Row = {}
        timed: dict[str, Callable[[], Any]] = {}
        stem = folder / f"photo.{variant.replace(' ', '-')}"
        for enc, (path, call) in photo_encoders(arr, stem).items():
            _, error = probe(call)
            if error:
                cells[enc] = {"status": error}
                continue
            back = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_UNCHANGED)
            cells[enc] = {"status": "ok", "bytes": os.path.getsize(path),
                          "same_pixels": same_pixels(back, arr)}
            timed[enc] = call
        for enc, ms in interleaved(timed, repeat, pick=min).items():
            cells[enc]["ms"] = ms
        row["variants"][variant] = cells
    return row


def _complete(cells: Row) -> bool:
    return all(cells[e]["status"] == "ok" for e in PHOTO_ENCODERS)


def _photo_cell(c: Row) -> str:
    if c["status"] != "ok":
        return str(c["status"])
    mark = "" if c["same_pixels"] == "yes" else f" **decodes to other pixels ({c['same_pixels']})**"
    return f"{c['ms']:.1f} / {c['bytes'] / MB:.3f}{mark}"


def _photo_totals(rows: list[Row]) -> dict[str, tuple[float, float]]:
    """encoder -> (ms, MB) summed over the variants every encoder wrote."""
    cells = [c for r in rows for c in r["variants"].values() if _complete(c)]
    return {e: (sum(c[e]["ms"] for c in cells), sum(c[e]["bytes"] for c in cells) / MB)
            for e in PHOTO_ENCODERS}


def _image_total(row: Row, enc: str) -> str:
    cells = [c[enc] for c in row["variants"].values()]
    if any(c["status"] != "ok" for c in cells):
        return "n/a"
    return f"{sum(c['ms'] for c in cells):.1f} / {sum(c['bytes'] for c in cells) / MB:.3f}"


def _worst(row: Row) -> str:
    """imgconv's variant largest against the smaller level-1 file (Pillow or OpenCV)."""
    own = PHOTO_ENCODERS[0]
    best: tuple[float, str] | None = None
    for variant, c in row["variants"].items():
        peers = [e for e in ("Pillow L1", "OpenCV L1") if c[e]["status"] == "ok"]
        if c[own]["status"] != "ok" or not peers:
            continue
        peer = min(peers, key=lambda e: c[e]["bytes"])
        ratio = c[own]["bytes"] / c[peer]["bytes"]
        line = (f"| {row['image']} | {variant} | {c[own]['bytes'] / MB:.3f} | "
                f"{c[peer]['bytes'] / MB:.3f} ({peer}) | x{ratio:.2f} | "
                f"{c[own]['ms']:.1f} | {c[peer]['ms']:.1f} |")
        if best is None or ratio > best[0]:
            best = (ratio, line)
    return best[1] if best else f"| {row['image']} | n/a | | | | | |"


def photo_report(result: Row) -> str:
    head = "| variant | " + " | ".join(f"{e} ms / MB" for e in PHOTO_ENCODERS) + " |"
    rule = "|---|" + "--:|" * len(PHOTO_ENCODERS)
    out = ["versions: " + ", ".join(f"{k} {v}" for k, v in result["versions"].items()), "",
           f"# PNG encoders, best of {result['repeat']} interleaved (ms / MB of 10**6 bytes)"]
    for row in result["photos"]:
        shape = "×".join(str(n) for n in row["shape"])
        out += ["", f"## {row['image']} ({shape} {row['dtype']})", "", head, rule]
        out += [f"| {v} | " + " | ".join(_photo_cell(c[e]) for e in PHOTO_ENCODERS) + " |"
                for v, c in row["variants"].items()]
        out.append("| **total** | " + " | ".join(_image_total(row, e) for e in PHOTO_ENCODERS)
                   + " |")
    totals = _photo_totals(result["photos"])
    ms0, mb0 = totals[PHOTO_ENCODERS[0]]
    done = sum(_complete(c) for r in result["photos"] for c in r["variants"].values())
    out += ["", f"## total, {len(result['photos'])} images: the {done} files every encoder "
            "wrote", "", "| encoder | ms | MB | ms ÷ imgconv | MB ÷ imgconv |",
            "|---|--:|--:|--:|--:|"]
    out += [f"| {e} | {ms:.0f} | {mb:.2f} | {ms / ms0:.2f} | {mb / mb0:.3f} |"
            for e, (ms, mb) in totals.items()]
    out += ["", "## worst case per image: imgconv against the smaller level-1 file", "",
            "| image | variant | imgconv MB | smaller L1 MB | size ratio | imgconv ms | "
            "its ms |", "|---|---|--:|--:|--:|--:|--:|"]
    out += [_worst(row) for row in result["photos"]]
    return "\n".join(out)


def run_photos(folder: Path, repeat: int, json_path: Path | None) -> int:
    """The ``--photos`` section: 1 when a file decodes to other pixels, else 0."""
    photos = photos_in(folder)
    if not photos:
        raise SystemExit(f"{folder}: no image file OpenCV decodes")
    result: Row = {"versions": versions(), "repeat": repeat, "photos": []}
    with tempfile.TemporaryDirectory(prefix="imgconv-photos-") as tmp:
        for name, img in photos:
            print(f"{name} ...", file=sys.stderr, flush=True)
            result["photos"].append(measure_photo(name, img, Path(tmp), repeat))
    print(photo_report(result))
    if json_path:
        json_path.write_text(json.dumps(result, indent=2, default=str))
    bad = [f"{r['image']} {v} {e}" for r in result["photos"] for v, c in r["variants"].items()
           for e, x in c.items() if x["status"] == "ok" and x["same_pixels"] != "yes"]
    if bad:
        print("decoded to other pixels: " + "; ".join(bad), file=sys.stderr)
    return 1 if bad else 0


# --------------------------------------------------------------------------- imports


def _child_env(cache: Path) -> dict[str, str]:
    """As an installed package runs: bytecode cached (PYTHONDONTWRITEBYTECODE dropped)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def import_ms(code: str, module: str, env: dict[str, str], runs: int) -> float:
    """Median cumulative ``-X importtime`` of ``module``'s top-level line, fresh processes."""
    samples = []
    for _ in range(runs + 1):  # the first run fills the bytecode cache
        done = subprocess.run([sys.executable, "-X", "importtime", "-c", code], env=env,
                              capture_output=True, text=True, check=False)
        if done.returncode:  # e.g. imgconv mid-refactor: report n/a, keep measuring the rest
            return float("nan")
        for line in done.stderr.splitlines():
            parts = line.split("|")
            if len(parts) == 3 and parts[2].rstrip() == f" {module}":
                samples.append(int(parts[1]) / 1e3)
    return statistics.median(samples[1:])


FIRST_CALL = """
import time, numpy as np
{imports}
t0 = time.perf_counter()
a = {call}
print((time.perf_counter() - t0) * 1e3, a.shape)
"""


def first_call_ms(imports: str, call: str, env: dict[str, str], runs: int) -> float:
    """Median ms of the first read of a small PNG in a fresh process (after the imports)."""
    code = FIRST_CALL.format(imports=imports, call=call)
    samples = []
    for _ in range(runs + 1):
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, check=True).stdout
        samples.append(float(out.split()[0]))
    return statistics.median(samples[1:])


def imports(folder: Path, runs: int) -> list[tuple[str, float]]:
    env = _child_env(folder / "pycache")
    small = folder / "small.png"
    Image.fromarray(synthetic(64).__mul__(255).astype(np.uint8)).save(small)
    pre = "import numpy, PIL.Image; "
    cli = "import imgconv.cli, numpy, PIL.Image, cv2, tifffile, rich.console; "
    return [
        ("import imageio.v3, alone (numpy included)", import_ms("import imageio.v3",
                                                                "imageio.v3", env, runs)),
        ("import imageio.v3 after numpy + PIL.Image", import_ms(pre + "import imageio.v3",
                                                                "imageio.v3", env, runs)),
        ("import imageio.v3 after what `imgconv apply` imports (imgconv.cli, numpy, "
         "PIL.Image, cv2, tifffile, rich)", import_ms(cli + "import imageio.v3", "imageio.v3",
                                                      env, runs)),
        ("import PIL.Image after numpy", import_ms("import numpy; import PIL.Image",
                                                   "PIL.Image", env, runs)),
        ("import tifffile after numpy", import_ms("import numpy; import tifffile",
                                                  "tifffile", env, runs)),
        ("import cv2 after numpy", import_ms("import numpy; import cv2", "cv2", env, runs)),
        ("first read of a 64x64 PNG: PIL.Image.open + np.asarray",
         first_call_ms("from PIL import Image", f"np.asarray(Image.open({str(small)!r}))",
                       env, runs)),
        ("first read of a 64x64 PNG: iio.imread (plugin lookup, plugin import)",
         first_call_ms("import imageio.v3 as iio", f"iio.imread({str(small)!r})", env, runs)),
    ]


# --------------------------------------------------------------------------- output


def versions() -> dict[str, str]:
    return {"python": platform.python_version(), "numpy": np.__version__,
            "imageio": imageio.__version__, "Pillow": PIL.__version__,
            "tifffile": tifffile.__version__, "opencv": cv2.__version__,
            "imgconv": imgconv.__version__, "zlib (Pillow)": str(features.version("zlib")),
            "zlib (Python: imgconv's PNG)": zlib.ZLIB_RUNTIME_VERSION,
            "libjpeg (Pillow)": str(features.version("jpg")),
            "libwebp (Pillow)": str(features.version("webp")),
            "cores": str(os.cpu_count()), "machine": platform.machine()}


def _cell(entry: Row, key: str, base: float, lost: str, sized: bool) -> str:
    """``ms (xratio)``, the file size when ``sized``, and ``lost`` when not the same."""
    if entry["status"] != "ok":
        return str(entry["status"])
    text = f"{entry['ms']:.1f} (x{entry['ms'] / base:.2f})"
    if sized:
        text += f", {entry['bytes'] / 1024:.0f} KB"
    same = entry[key]
    return text if same == "yes" else text + f", **{lost} ({same})**"


def table(rows: list[Row], what: str, names: tuple[str, ...]) -> str:
    """One line a format; encoding a PNG (other encoders, other bytes) adds each size."""
    key = "same" if what == "encode" else "same_pixels"
    head = "| format | imgconv ms | " + " | ".join(f"{n} ms (ratio)" for n in names[1:]) + " |"
    lines = [head, "|---|--:|" + "--:|" * (len(names) - 1)]
    for row in rows:
        entries = row[what]
        base = entries["imgconv"]["ms"]
        sized = what == "encode" and row["ext"] == ".png"
        lost = ("other bytes" if what == "encode" and row["encode_check"] == "bytes"
                else "loses data")
        cells = [_cell(entries[n], key, base, lost, sized) if n in entries else "n/a"
                 for n in names[1:]]
        label = f"{row['label']} ({row.get('auto_plugin', 'no plugin')})"
        own = f"{base:.1f}" + (f", {entries['imgconv']['bytes'] / 1024:.0f} KB" if sized else "")
        lines.append(f"| {label} | {own} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def report(result: Row) -> str:
    out = ["versions: " + ", ".join(f"{k} {v}" for k, v in result["versions"].items()), ""]
    out += [f"## import and first-call cost (median of {result['runs']} fresh processes)", "",
            "| what | ms |", "|---|--:|"]
    out += [f"| {what} | {ms:.1f} |" for what, ms in result["imports"]]
    size = result["size"]
    for what, names in (("decode", ("imgconv", "iio auto", "iio explicit")),
                        ("encode", ("imgconv", "iio auto", "iio explicit", "iio defaults"))):
        note = "; PNG: decoded pixels compared, file size in KB" if what == "encode" else ""
        out += ["", f"## {what}, {size}x{size}, median of {result['repeat']} (ms, ratio to "
                f"imgconv; auto plugin in brackets{note})", "",
                table(result["cases"], what, names)]
        out += ["", f"### per call, 64x64 PNG 8-bit RGB ({what})", "",
                table(result["small"], what, names)]
    out += ["", f"## channel swap, {size}x{size} uint16 RGB (ms)", "", "| call | ms |",
            "|---|--:|"]
    out += [f"| {what} | {ms:.2f} |" for what, ms in result["swap"].items()]
    out += ["", f"## verdicts per call (ratio above {SLOWER} = costs more; imports apart)", "",
            "| format | verdict |", "|---|---|"]
    out += [f"| {r['label']} | {verdict(r)} |" for r in result["cases"]]
    out += ["", "## what imgconv needs, and what imageio.v3 keeps", "",
            "| need | imgconv today | imageio.v3 |", "|---|---|---|"]
    out += [f"| {a} | {b} | {c} |" for a, b, c in result["fidelity"]]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=7, help="timed runs per contender (>= 5)")
    ap.add_argument("--size", type=int, default=1024, help="image side in pixels")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--photos", type=Path, metavar="DIR",
                    help="instead: time PNG encoders (imgconv, Pillow, OpenCV) on every image "
                    "file in DIR, as is, blurred and sharpened (best of --repeat)")
    args = ap.parse_args(argv)
    repeat = max(args.repeat, 5)
    if args.photos:
        return run_photos(args.photos, repeat, args.json)
    with tempfile.TemporaryDirectory(prefix="imgconv-formats-") as tmp:
        folder = Path(tmp)
        result: Row = {"versions": versions(), "size": args.size, "repeat": repeat,
                       "runs": repeat}
        print("imports ...", file=sys.stderr, flush=True)
        result["imports"] = imports(folder, repeat)
        result["cases"] = []
        for case in cases(args.size):
            print(f"{case.label} ...", file=sys.stderr, flush=True)
            result["cases"].append(measure(case, folder, repeat))
        result["small"] = [measure(cases(64)[0], folder, repeat, loops=50)]
        result["fidelity"] = fidelity(folder)
        result["swap"] = channel_swap(args.size, repeat)
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
