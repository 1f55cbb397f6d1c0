"""Every file users have (issue "Every file users have"; docs/semantics.md §3, §7 "Codecs and
formats",
"Colour is never reinterpreted", "Pages and frames", "Hostile structure").

The files are the corpus of ``tests/corpus.py``: made by Pillow, tifffile with imagecodecs,
OpenCV (and ImageMagick / Ghostscript when installed), by hand, and hostile bytes; built once
per session.  Each good file goes through ``imgconv apply FILE -f IDENTITY -o OUT`` and the
output is compared with an oracle imgconv did not compute:

- Pillow's decode after ``ImageOps.exif_transpose``, frame by frame, normalised (palette →
  RGB/RGBA, mode 1 → L 0/255, YCbCr → RGB; CMYK, Lab, I;16, F, LA kept as they are), read
  back from the output with Pillow the same way;
- tifffile's (or OpenCV's, for 16-bit PNG/PNM) decode where Pillow cannot decode the file,
  gives only 8 bits, or the file is signed: then the output's raw samples are equal, and
  Pillow reads the output in the input's mode, within one level where it shows 16 bits as 8.

(Pillow decodes a TIFF with associated alpha as RGBA, un-premultiplied: both sides alike.)

Everything runs in-process through the ``cli`` fixture except the cases that could hang or
blow up memory: those run ``python -m imgconv`` under a 2 GiB address-space cap and a timeout.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import corpus
import numpy as np
import pytest
import tifffile
from corpus import BY_NAME, ENTRIES, Entry
from PIL import Image, ImageCms, ImageOps

IDENTITY = "0 0 0; 0 1 0; 0 0 0"
#: where a colour space turned into RGB/grey must be named on standard error (loosely)
NOTE_WORDS = {"cmyk": ("cmyk",), "lab": ("lab",), "ycbcr": ("ycbcr",),
              "miniswhite": ("white", "invert"), "assoc": ("premultipl", "associated")}
#: the hostile files that could hang or eat memory: run in a capped child process
CHILD = ("hostile_loop.tif", "hostile_past_end.tif", "hostile_bomb.gif",
         "hostile_apng_bomb.png")


def ids(names: list[str]) -> list[Any]:
    """Parameters named by their file name; an entry whose tool is missing is skipped."""
    out = []
    for name in names:
        req = BY_NAME[name].requires
        marks = ([pytest.mark.skipif(not corpus.available(req), reason=f"{req} not installed")]
                 if req else [])
        out.append(pytest.param(name, id=name, marks=marks))
    return out


GOOD = corpus.names("good")
SINGLE_PNG = corpus.names("good", where=lambda e: e.png and e.frames == 1)
MULTI = corpus.names("good", where=lambda e: e.frames > 1)
SIGNED = ["tf_i8_gray.tif", "tf_i16_gray.tif", "tf_i32_gray.tif"]
KEPT_SPACES = corpus.names("good", where=lambda e: e.name.endswith(".tif")
                           and e.space in ("cmyk", "lab", "assoc"))
HOSTILE = corpus.names("damaged", "hostile")


# -- the corpus, and the oracles ---------------------------------------------------------------

@pytest.fixture(scope="session")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The corpus, built once (name -> path; entries whose tool is missing are absent)."""
    return corpus.build(tmp_path_factory.mktemp("corpus"))


def canonical(mode: str) -> str:
    """Pillow's integer grey modes as one: I;16 (any byte order) and I (a 16-bit PGM)."""
    return "I" if mode.startswith("I;16") else mode


def normalised(frame: Image.Image) -> tuple[str, np.ndarray]:
    """A Pillow frame as compared: palette → RGB (RGBA with transparency), mode 1 → L
    0/255, YCbCr → RGB; every other mode as it is; native byte order."""
    mode = frame.mode
    if mode == "P":
        frame = frame.convert("RGBA" if "transparency" in frame.info else "RGB")
    elif mode == "PA":
        frame = frame.convert("RGBA")
    elif mode == "1":
        frame = frame.convert("L")
    elif mode == "YCbCr":
        frame = frame.convert("RGB")
    arr = np.asarray(frame)
    return canonical(frame.mode), arr.astype(arr.dtype.newbyteorder("="))


def pillow_frames(path: Path, transpose: bool = True) -> list[Image.Image] | None:
    """Every frame as Pillow decodes it (``seek(k); load()``), upright by
    ``ImageOps.exif_transpose`` (the input) or as stored (an output); None when Pillow
    cannot decode the whole file."""
    frames = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with Image.open(path) as im:
                for k in range(getattr(im, "n_frames", 1)):
                    im.seek(k)
                    im.load()
                    frame = ImageOps.exif_transpose(im) if transpose else im.copy()
                    frames.append(frame if frame is not im else im.copy())
        except Exception:  # the oracle question is exactly "does Pillow decode it whole"
            return None
    return frames


def tiff_pages(path: Path) -> list[np.ndarray]:
    """tifffile's raw samples of every top-level page (planar layouts as H×W×C)."""
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with tifffile.TiffFile(path) as tif:
            # len() stops at a looping chain; iterating tif.pages does not (tifffile 2026.3)
            for k in range(len(tif.pages)):
                page = tif.pages[k]
                arr = page.asarray()
                if page.planarconfig == 2 and arr.ndim == 3:
                    arr = np.moveaxis(arr, 0, -1)
                out.append(np.ascontiguousarray(arr))
    return out


def deep_frames(path: Path) -> list[np.ndarray] | None:
    """The full-depth decode: tifffile for a TIFF, OpenCV for a 16-bit PNG/PNM (RGB
    order); None where neither applies or decodes."""
    import cv2

    if path.suffix == ".tif":
        logger = logging.getLogger("tifffile")
        level = logger.level
        logger.setLevel(logging.CRITICAL)
        try:
            return tiff_pages(path)
        except Exception:  # not a TIFF tifffile reads: no deep oracle
            return None
        finally:
            logger.setLevel(level)
    if path.suffix in (".png", ".ppm", ".pgm", ".pnm"):
        arr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if arr is None or arr.dtype != np.uint16:
            return None
        if arr.ndim == 3:
            arr = cv2.cvtColor(arr, cv2.COLOR_BGR2RGB if arr.shape[2] == 3
                               else cv2.COLOR_BGRA2RGBA)
        return [arr]
    return None


@dataclass
class Oracle:
    """What the input holds: Pillow's frames (None if Pillow cannot decode it) and the
    full-depth frames, and which of them the output must equal."""

    pil: list[Image.Image] | None
    deep: list[np.ndarray] | None
    use_deep: bool

    @property
    def frames(self) -> int:
        return len(self.deep) if self.use_deep and self.deep else len(self.pil or [])


_ORACLES: dict[Path, Oracle] = {}


def oracle(path: Path, entry: Entry) -> Oracle:
    if path in _ORACLES:
        return _ORACLES[path]
    pil, deep = pillow_frames(path), deep_frames(path)
    assert pil is not None or deep is not None, f"corpus: nothing decodes {path.name}"
    use_deep = deep is not None and (
        pil is None or deep[0].dtype.kind == "i"
        or any(d.dtype != np.bool_ and d.dtype != normalised(p)[1].dtype
               for d, p in zip(deep, pil, strict=False)))
    got = Oracle(pil, deep, use_deep)
    assert got.frames == entry.frames, f"corpus: {path.name} has {got.frames} frames"
    if pil is not None and deep is not None:
        assert len(pil) == len(deep), f"corpus: Pillow and tifffile disagree on {path.name}"
    _ORACLES[path] = got
    return got


def widened(frames: list[tuple[str, np.ndarray]]) -> list[np.ndarray]:
    """Frames of an animation in one layout: RGB, RGBA when any frame has alpha (a frame
    without alpha is opaque)."""
    alpha = any(m in ("RGBA", "LA") for m, _ in frames)
    out = []
    for mode, arr in frames:
        if arr.ndim == 2 or mode in ("L", "LA"):
            grey = arr if arr.ndim == 2 else arr[..., 0]
            a = None if arr.ndim == 2 else arr[..., 1]
            arr = np.dstack([grey] * 3 + ([a] if a is not None else []))
        if alpha and arr.shape[2] == 3:
            arr = np.dstack([arr, np.full(arr.shape[:2], 255, arr.dtype)])
        out.append(arr)
    return out


def check(ok: bool, message: str) -> None:
    """Fail with ``message`` alone (pytest's rewriting would print whole arrays)."""
    if not ok:
        pytest.fail(message, pytrace=False)


def assert_frames_equal(got: list[Image.Image], want: list[Image.Image], entry: Entry) -> None:
    """Same number of frames, each the same (canonical) mode, shape and values; an
    animation's frames compared as RGB/RGBA."""
    check(len(got) == len(want), f"{len(got)} frames/pages written, Pillow counts {len(want)}")
    g, w = [normalised(f) for f in got], [normalised(f) for f in want]
    if entry.animation:
        pairs = list(zip(widened(g), widened(w), strict=True))
        modes = [("", "")] * len(pairs)
    else:
        pairs = [(a, b) for (_, a), (_, b) in zip(g, w, strict=True)]
        modes = [(a, b) for (a, _), (b, _) in zip(g, w, strict=True)]
    for k, ((a, b), (ma, mb)) in enumerate(zip(pairs, modes, strict=True)):
        check(ma == mb, f"frame {k}: written as Pillow mode {ma}, the input is {mb}")
        assert_arrays_equal([a], [b], f"frame {k}")


def assert_pillow_view(got: list[Image.Image], want: list[Image.Image],
                       deep: list[np.ndarray]) -> None:
    """The output as Pillow sees it: the input's Pillow modes, and the full-depth values
    (within one level where Pillow shows 16 bits as 8)."""
    check(len(got) == len(want), f"{len(got)} frames/pages written, Pillow counts {len(want)}")
    for k, (g, w, d) in enumerate(zip(got, want, deep, strict=True)):
        (mg, ag), (mw, _) = normalised(g), normalised(w)
        check(mg == mw, f"page {k}: Pillow reads the output as {mg}, the input as {mw}")
        check(ag.shape == d.shape, f"page {k}: Pillow's shape {ag.shape} != {d.shape}")
        eight = ag.dtype == np.uint8 and d.dtype == np.uint16
        ref = d / 257 if eight else d.astype(np.float64)
        diff = float(np.abs(ag - ref).max(initial=0))
        check(diff <= (1 if eight else 0), f"page {k}: Pillow's view off by {diff}")


def assert_arrays_equal(got: list[np.ndarray], want: list[np.ndarray], what: str = "page"
                        ) -> None:
    check(len(got) == len(want), f"{len(got)} pages written, the input has {len(want)}")
    for k, (a, b) in enumerate(zip(got, want, strict=True)):
        label = what if len(got) == 1 and what != "page" else f"{what} {k}"
        check(a.dtype == b.dtype, f"{label}: dtype {a.dtype} != {b.dtype}")
        check(a.shape == b.shape, f"{label}: shape {a.shape} != {b.shape}")
        bad = int(np.count_nonzero(a != b))
        if bad:
            diff = np.abs(a.astype(np.float64) - b.astype(np.float64)).max()
            check(False, f"{label}: {bad} samples differ, by up to {diff:g}")


def run(cli: SimpleNamespace, *args: object) -> tuple[int, str]:
    code, _, err = cli.run(*args)
    return code, err


# -- 1. every good file into a TIFF ------------------------------------------------------------

@pytest.mark.parametrize("name", ids(GOOD))
def test_read_into_tiff(name: str, files: dict[str, Path], cli: SimpleNamespace,
                        tmp_path: Path) -> None:
    """Exit 0; every page/frame Pillow counts, each equal to Pillow's (tifffile's where
    Pillow cannot, or gives 8 bits of 16); colour spaces kept; "damaged" never said."""
    src, entry = files[name], BY_NAME[name]
    want = oracle(src, entry)
    out = tmp_path / "out.tif"
    code, err = run(cli, "apply", src, "-f", IDENTITY, "-o", out)
    assert code == 0, err
    assert "damaged" not in err, err
    with tifffile.TiffFile(out) as tif:  # upright pixels: no orientation left to apply
        tag = tif.pages.first.tags.get(274)
        assert tag is None or tag.value == 1, f"Orientation {tag.value}"
    if want.use_deep:
        assert want.deep is not None
        assert_arrays_equal(tiff_pages(out), want.deep)
        if want.pil is not None and want.deep[0].dtype.kind != "i":
            back = pillow_frames(out, transpose=False)
            assert back is not None, "Pillow cannot read the output back"
            assert_pillow_view(back, want.pil, want.deep)
    else:
        assert want.pil is not None
        back = pillow_frames(out, transpose=False)
        assert back is not None, "Pillow cannot read the output back"
        assert_frames_equal(back, want.pil, entry)


@pytest.mark.parametrize("name", ids(KEPT_SPACES))
def test_tiff_keeps_its_colour_space(name: str, files: dict[str, Path], cli: SimpleNamespace,
                                     tmp_path: Path) -> None:
    """CMYK, CIELab and associated alpha into a TIFF: the same photometric, extra samples
    and raw samples (identity kernel)."""
    src, out = files[name], tmp_path / "out.tif"
    code, err = run(cli, "apply", src, "-f", IDENTITY, "-o", out)
    assert code == 0, err
    with tifffile.TiffFile(src) as a, tifffile.TiffFile(out) as b:
        pa, pb = a.pages.first, b.pages.first
        assert pb.photometric == pa.photometric
        assert tuple(pb.extrasamples) == tuple(pa.extrasamples)
    assert_arrays_equal(tiff_pages(out), tiff_pages(src))


# -- 2. single-frame files into a PNG ----------------------------------------------------------

def read_png(path: Path) -> np.ndarray:
    """A PNG's pixels at full depth (OpenCV for 16-bit colour, Pillow otherwise)."""
    import cv2

    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    depth, ctype = data[24], data[25]
    if depth == 16 and ctype in (2, 6):
        arr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        return cv2.cvtColor(arr, cv2.COLOR_BGR2RGB if ctype == 2 else cv2.COLOR_BGRA2RGBA)
    frames = pillow_frames(path, transpose=False)
    assert frames is not None and len(frames) == 1, "Pillow cannot read the PNG back"
    return normalised(frames[0])[1]


def lab_to_srgb(frame: Image.Image) -> np.ndarray:
    transform = ImageCms.buildTransform(ImageCms.createProfile("LAB"),
                                        ImageCms.createProfile("sRGB"), "LAB", "RGB")
    return np.asarray(ImageCms.applyTransform(frame, transform))


@pytest.mark.parametrize("name", ids(SINGLE_PNG))
def test_into_png(name: str, files: dict[str, Path], cli: SimpleNamespace,
                  tmp_path: Path) -> None:
    """Exit 0, Pillow's view (CMYK, YCbCr → RGB as Pillow converts; Lab → sRGB through
    ImageCms; min-is-white as Pillow's grey; associated alpha un-premultiplied), 16 bits
    kept; a colour space a PNG cannot hold is named on standard error."""
    src, entry = files[name], BY_NAME[name]
    want = oracle(src, entry)
    out = tmp_path / "out.png"
    code, err = run(cli, "apply", src, "-f", IDENTITY, "-o", out)
    assert code == 0, err
    assert "damaged" not in err, err
    got = read_png(out)
    if want.use_deep:
        assert want.deep is not None
        assert_arrays_equal([got], [want.deep[0]])
    else:
        assert want.pil is not None
        frame = want.pil[0]
        if frame.mode == "LAB":
            expected = lab_to_srgb(frame)
            raw = np.asarray(frame)
            assert got.shape == expected.shape, f"shape {got.shape} != {expected.shape}"
            assert np.abs(got.astype(int) - raw).max() > 10, "the raw Lab values written as RGB"
            assert np.abs(got.astype(int) - expected).max() <= 3, "not ImageCms's sRGB"
        else:
            expected = np.asarray(frame.convert("RGB")) if frame.mode == "CMYK" \
                else normalised(frame)[1]
            assert_arrays_equal([got], [expected])
    if entry.space:
        words = ("converted",) + NOTE_WORDS[entry.space]
        assert any(w in err.lower() for w in words), f"no note about {entry.space}: {err!r}"


# -- 3. several frames into a single-frame format ----------------------------------------------

def single_out(name: str) -> str:
    """The single-frame output used: .npy for an APNG (a PNG may hold its frames)."""
    return ".npy" if name.startswith("pil_apng") else ".png"


@pytest.mark.parametrize("name", ids(MULTI))
def test_frames_into_single_frame_format_need_page(name: str, files: dict[str, Path],
                                                   cli: SimpleNamespace,
                                                   tmp_path: Path) -> None:
    src, entry = files[name], BY_NAME[name]
    want = oracle(src, entry)
    out = tmp_path / f"out{single_out(name)}"
    code, err = run(cli, "apply", src, "-f", IDENTITY, "-o", out)
    assert code == 2, err
    assert "--page" in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()
    code, err = run(cli, "apply", src, "-f", IDENTITY, "--page", "1", "-o", out)
    assert code == 0, err
    assert want.pil is not None
    got = np.load(out) if out.suffix == ".npy" else read_png(out)
    mode, expected = normalised(want.pil[1])
    if entry.animation:
        got_mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[1 if got.ndim == 2 else got.shape[2]]
        got, expected = widened([(got_mode, got), (mode, expected)])
    assert_arrays_equal([got], [expected])


# -- 4. signed integers --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ids(SIGNED))
def test_signed_tiff_stays_signed(name: str, files: dict[str, Path], cli: SimpleNamespace,
                                  tmp_path: Path) -> None:
    src, out = files[name], tmp_path / "out.tif"
    code, err = run(cli, "apply", src, "-f", IDENTITY, "-o", out)
    assert code == 0, err
    assert_arrays_equal(tiff_pages(out), tiff_pages(src))


# -- 5. formats read and written ------------------------------------------------------------------

def test_corpus_covers_the_formats() -> None:
    """Every extension the issue names is in the corpus, every stem once."""
    suffixes = {Path(e.name).suffix for e in ENTRIES if e.kind == "good"}
    need = {".ppm", ".pgm", ".pbm", ".pnm", ".pfm", ".tga", ".qoi", ".ico", ".sgi", ".rgb",
            ".pcx", ".jp2", ".j2k", ".dds", ".xbm", ".mpo", ".im", ".png", ".jpg", ".tif",
            ".bmp", ".gif", ".webp"}
    assert need <= suffixes, need - suffixes
    stems = [Path(e.name).stem for e in ENTRIES]
    assert len(stems) == len(set(stems))


WRITE_FROM = {".png": "pil_png_RGB.png", ".jpg": "pil_png_RGB.png", ".tif": "pil_png_RGB.png",
              ".webp": "pil_png_RGB.png", ".gif": "pil_gif_still.gif",
              ".bmp": "pil_png_RGB.png", ".ppm": "pil_png_RGB.png", ".pgm": "pil_png_L.png",
              ".pfm": "tf_f32_gray.tif", ".qoi": "pil_png_RGB.png", ".npy": "pil_png_RGB.png"}


@pytest.mark.parametrize("ext", list(WRITE_FROM))
def test_writes_format(ext: str, files: dict[str, Path], cli: SimpleNamespace,
                       tmp_path: Path) -> None:
    """Each output format is written, and read back (Pillow; numpy for .npy) as the input
    was: exactly, JPEG within its loss."""
    name = WRITE_FROM[ext]
    src = files[name]
    want = oracle(src, BY_NAME[name])
    assert want.pil is not None
    expected = normalised(want.pil[0])[1]
    out = tmp_path / f"out{ext}"
    code, err = run(cli, "apply", src, "-f", IDENTITY, "-o", out)
    assert code == 0, err
    if ext == ".npy":
        got = np.load(out)
    else:
        back = pillow_frames(out, transpose=False)
        assert back is not None and len(back) == 1, "Pillow cannot read it back"
        got = normalised(back[0])[1]
    assert got.shape == expected.shape, f"shape {got.shape} != {expected.shape}"
    if ext == ".jpg":  # within what Pillow's own JPEG at quality 95 loses, plus 1
        buf = io.BytesIO()
        Image.fromarray(expected).save(buf, format="JPEG", quality=95)
        lost = np.abs(np.asarray(Image.open(buf)).astype(float) - expected).mean()
        err = np.abs(got.astype(float) - expected).mean()
        check(err <= lost + 1, f"mean abs error {err:.2f}, Pillow's JPEG loses {lost:.2f}")
    else:
        assert_arrays_equal([got], [expected])


# -- 6. extensions the table does not name -----------------------------------------------------

def test_unknown_extension_read_by_imageio(files: dict[str, Path], cli: SimpleNamespace,
                                           tmp_path: Path) -> None:
    src, out = files["unknown_png.xyz"], tmp_path / "out.tif"
    code, err = run(cli, "apply", src, "-f", IDENTITY, "-o", out)
    assert code == 0, err
    with Image.open(src, formats=["PNG"]) as im:
        expected = np.asarray(im.convert("RGB"))
    back = pillow_frames(out, transpose=False)
    assert back is not None
    assert_arrays_equal([normalised(back[0])[1]], [expected])


def test_unknown_extension_nothing_reads(files: dict[str, Path], cli: SimpleNamespace,
                                         tmp_path: Path) -> None:
    src, out = files["unknown_random.xyz"], tmp_path / "o" / "out.tif"
    out.parent.mkdir()
    code, err = run(cli, "apply", src, "-f", IDENTITY, "-o", out)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert "unknown_random.xyz" in err, err
    assert os.listdir(out.parent) == []


# -- 7. hostile files ---------------------------------------------------------------------------

#: ``python -m imgconv ARGS`` with 2 GiB of address space (a blow-up fails instead of eating
#: the machine); set in the child itself: a ``preexec_fn`` can deadlock a threaded parent
_CAPPED = """
import resource, runpy, sys
resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))
sys.argv = ["imgconv", *sys.argv[1:]]
runpy.run_module("imgconv", run_name="__main__")
"""


def child(*args: object, timeout: float) -> tuple[int, str, float]:
    """``imgconv ARGS`` in a capped child process: (exit code, stderr, seconds)."""
    env = {**os.environ}
    env.pop("IMGCONV_MAX_PIXELS", None)
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-c", _CAPPED, *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=timeout)
    return done.returncode, done.stderr, time.monotonic() - start


@pytest.mark.parametrize("name", ids(HOSTILE))
def test_hostile_file(name: str, files: dict[str, Path], cli: SimpleNamespace,
                      tmp_path: Path) -> None:
    """Exit 0 or 2, never a traceback, quickly, nothing left behind on failure, the input
    untouched; damaged bytes are called damaged, a bomb is over the limit."""
    src = files[name]
    before = src.read_bytes()
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "out.tif"
    start = time.monotonic()
    if name in CHILD:
        code, err, _ = child("apply", src, "-f", IDENTITY, "-o", out, timeout=20)
    else:
        code, err = run(cli, "apply", src, "-f", IDENTITY, "-o", out)
    seconds = time.monotonic() - start
    assert seconds < 20, f"{seconds:.1f} s"
    assert code in (0, 2), f"exit {code}: {err}"
    assert "Traceback" not in err, err
    assert src.read_bytes() == before
    if code != 0:
        assert os.listdir(folder) == [], os.listdir(folder)
    entry = BY_NAME[name]
    if entry.kind == "damaged":
        assert code == 2 and "damaged" in err, err
    elif name == "hostile_bomb.gif":
        assert code == 2 and "over the limit" in err, err
    elif name in ("hostile_loop.tif", "hostile_past_end.tif") and code == 0:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            readable = len(tiff_pages(src))
        assert len(tiff_pages(out)) == readable
    elif name in ("hostile_random_png.png", "hostile_random_tif.tif", "hostile_empty.png"):
        assert code == 2, err


# -- 8. library settings --------------------------------------------------------------------------

_SETTINGS = """
import json, logging, sys
import PIL.Image, PIL.ImageFile
logging.getLogger("tifffile").setLevel(logging.WARNING)
def state():
    return [PIL.Image.MAX_IMAGE_PIXELS, logging.getLogger("tifffile").level,
            PIL.ImageFile.LOAD_TRUNCATED_IMAGES]
before = state()
import imgconv
for path in sys.argv[1:]:
    imgconv.read_image(path)
print(json.dumps([before, state()]))
"""


def test_library_settings_not_leaked(files: dict[str, Path]) -> None:
    """Reading through the library leaves Pillow's MAX_IMAGE_PIXELS, tifffile's logger
    level (and Pillow's LOAD_TRUNCATED_IMAGES) as they were."""
    paths = [files[n] for n in ("pil_png_RGB.png", "cv_png16_rgb.png", "tf_lzw_rgb.tif",
                                "pil_gif_anim.gif", "pil_jpeg_RGB.jpg", "pil_webp_anim.webp")]
    done = subprocess.run([sys.executable, "-c", _SETTINGS, *map(str, paths)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    before, after = json.loads(done.stdout)
    assert after == before


# -- 9. batch over the corpus ---------------------------------------------------------------------

def test_batch_over_the_corpus(files: dict[str, Path], tmp_path: Path) -> None:
    """Exit 0 or 1, no hang, no traceback; every good file written (as .tif)."""
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    for path in files.values():
        shutil.copy(path, folder / path.name)
    code, err, _ = child("batch", folder, "-o", out, "-f", IDENTITY, "--format", "tif",
                         timeout=60)
    assert code in (0, 1), err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    missing = [n for n in GOOD if n in files and not (out / Path(n).with_suffix(".tif")).is_file()]
    assert not missing, f"not written: {missing}\n{err[-3000:]}"


def test_overlapping_quiet_opencv_blocks_restore_the_level_once() -> None:
    """Two threads' overlapping quiet_opencv blocks: OpenCV stays silent until the last
    one leaves, then has its own level again (each block once restored what the other
    had set: silent for ever)."""
    import threading

    import cv2

    from imgconv.formats.libs import quiet_opencv

    log = cv2.utils.logging
    before = log.getLogLevel()
    entered, leave_first = threading.Event(), threading.Event()

    def first() -> None:
        with quiet_opencv():
            entered.set()
            leave_first.wait(10)

    t = threading.Thread(target=first)
    t.start()
    entered.wait(10)
    with quiet_opencv():
        leave_first.set()
        t.join(10)
        assert log.getLogLevel() == log.LOG_LEVEL_SILENT  # the other left first
    assert log.getLogLevel() == before != log.LOG_LEVEL_SILENT
