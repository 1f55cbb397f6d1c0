"""Acceptance run on real-world files no one here made (issue 19, "Must show").

Not a test (pytest does not collect it): a script to point at a folder of odd files from the
wild, e.g. Pillow's own test-suite images::

    python benchmarks/real_files.py DIR [--out report.md] [--jobs 2]

For every file under DIR (recursively) it runs, in a child process capped at 2 GiB of address
space and 30 s::

    python -m imgconv apply FILE -f "0 0 0; 0 1 0; 0 0 0" -o OUT/NAME.tif

and, for a single-frame file Pillow decodes whose content a PNG holds, the same with
``-o OUT/NAME.png``.  Each run records the exit code, standard error's last line, whether it
holds a traceback, the wall time and peak RSS (GNU time's ``%M``), any file
left in the output folder when the run failed (hidden ``.part`` files included) and whether
the input changed (sha256 before and after).

The oracle is Pillow (the installed one, its defaults: ``MAX_IMAGE_PIXELS`` as shipped,
truncated files not tolerated): ``Image.open``, then ``seek(k); load()`` for every frame (from
``_min_frame``, as ``ImageSequence`` does: a PSD's frames are its layers 1..n; the frame it
opens on is not sought again: a SPIDER file that is not a stack refuses even ``seek(0)``),
each frame upright by ``ImageOps.exif_transpose``.  Where that succeeds, the output must hold
the same frames, normalised as docs/formats.md says:

- TIFF output: palette → RGB/RGBA, ``1`` → L 0/255, YCbCr → RGB; CMYK, LAB, min-is-white and
  associated alpha are kept by a TIFF, so the output read back by Pillow must show the same
  mode and values as the input; I;16 exactly; I and F by value; where Pillow shows 8 bits of
  a 16-bit sample (or cannot read the output back), tifffile's raw samples of the output must
  be within one level of Pillow's 8-bit view (``|out/257 - pil| <= 1``).  Animation frames
  whose Pillow modes differ (a GIF's P first frame, RGB after) are compared widened to one
  layout (grey → RGB, opaque alpha added).  A TIFF of signed integers is the one exception:
  Pillow shows int8 as L (the bytes reinterpreted), so there, as in tests/test_real_files.py,
  the output's raw samples must equal tifffile's (of the bands Pillow shows: it drops extra
  samples of unspecified meaning).
- PNG output: CMYK → ``convert("RGB")``, LAB → ``convert("RGB")`` (and LittleCMS's Lab D50 →
  sRGB is reported beside it), min-is-white → Pillow's decoded L, associated alpha → Pillow's
  RGBA, the rest as for TIFF.

Every file lands in one class:

- ``OK-read-equal``: Pillow decodes it whole, imgconv exits 0 and the output equals Pillow's.
- ``OK-refused-correctly``: Pillow cannot decode it either, imgconv exits 2 with one error line
  and no traceback (whether the line says "damaged" is noted, beside Pillow's own error).
- ``READ-PILLOW-CANNOT``: Pillow cannot decode it, imgconv writes an output anyway (not BAD by
  the issue's rules, listed for review; a TIFF is cross-checked against tifffile's samples).
- ``BAD``: a traceback, a timeout, the address-space cap hit or a crash, exit 1 (or any code
  other than 0/2), a file left behind, the input modified, a refusal of more than one error
  line, an orientation tag left in the output, or, where Pillow decodes the file whole: a
  refusal, other pixels, another frame count or mode.

The report (Markdown) gives the counts, then every BAD file grouped by cause with imgconv's
message and the difference, then the other classes file by file.  Outputs of BAD files are
kept under ``--workdir`` for a look; the rest are deleted.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

IDENTITY = "0 0 0; 0 1 0; 0 0 0"
TIMEOUT = 30.0
CAP = 2 << 30
#: the child: the cap set inside it (a preexec_fn can deadlock a threaded parent)
CAPPED = ("import resource,runpy,sys; resource.setrlimit(resource.RLIMIT_AS,({cap},{cap})); "
          "sys.argv=['imgconv',*sys.argv[1:]]; runpy.run_module('imgconv', run_name='__main__')")
#: Pillow modes whose content a PNG holds (after the documented conversion)
PNG_MODES = {"1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr",
             "LAB", "I;16", "I;16L", "I;16B", "I;16N"}
#: Pillow's error messages that mean "a feature it does not have", not damaged bytes
UNSUPPORTED = re.compile(r"unsupported|not supported|not available|no decoder|cannot handle|"
                         r"not ?implemented|unimplemented|unknown (pixel|raw)? ?mode|"
                         r"cannot find loader|Ghostscript", re.I)
DAMAGED_PIL = re.compile(r"truncated|broken|corrupt|damaged|invalid|not enough|premature|"
                         r"unexpected end|EOF|bad |out of range|too short", re.I)


# -- one child run ------------------------------------------------------------------------------

@dataclass
class Run:
    """One ``imgconv apply`` child process."""

    target: str
    code: int | None = None
    seconds: float = 0.0
    peak_mb: float = 0.0
    timed_out: bool = False
    stderr: str = ""
    last_line: str = ""
    traceback: bool = False
    leftovers: list[str] = field(default_factory=list)

    @property
    def error_lines(self) -> list[str]:
        """The lines of standard error that are not notes or warnings."""
        return [ln for ln in self.stderr.splitlines() if ln.strip()
                and not re.match(r"imgconv: (note|warning)\b", ln)]


#: GNU time measures the peak RSS: a child forked from the (large) pool worker inherits the
#: worker's high-water mark in its own rusage, so ``os.wait4`` alone over-reports (786 MB for a
#: run /usr/bin/time measures at 62 MB); ``wait4`` is the fallback where it is missing
TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def run_imgconv(src: Path, target: Path, timeout: float) -> Run:
    """``imgconv apply SRC -f IDENTITY -o TARGET`` in a capped child, its own session (so a
    Ghostscript it starts dies with it on a timeout), its peak RSS by GNU time."""
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMGCONV_")}
    env["PYTHONWARNINGS"] = "default"
    run = Run(str(target))
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.TemporaryDirectory() as tmp:
        timing = Path(tmp) / "time.txt"
        argv = [sys.executable, "-c", CAPPED.format(cap=CAP), "apply", str(src), "-f", IDENTITY,
                "-o", str(target)]
        if TIME:
            argv = [TIME, "-o", str(timing), "-f", "%M", *argv]
        start = time.monotonic()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                cwd=folder, env=env, start_new_session=True)
        pause = 0.002
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - start > timeout:
                run.timed_out = True
                os.killpg(proc.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(pause)
            pause = min(pause * 1.5, 0.05)
        run.seconds = time.monotonic() - start
        proc.returncode = run.code = os.waitstatus_to_exitcode(status)
        run.peak_mb = usage.ru_maxrss / 1024
        report = timing.read_text().splitlines() if TIME and timing.is_file() else []
        if report and report[-1].strip().isdigit():
            run.peak_mb = int(report[-1]) / 1024
            killed = re.search(r"terminated by signal (\d+)", report[0])
            if killed:  # GNU time exits 128 + N for a child killed by signal N
                run.code = -int(killed.group(1))
        err.seek(0)
        run.stderr = err.read().decode("utf-8", "replace")
    lines = [ln for ln in run.stderr.splitlines() if ln.strip()]
    run.last_line = lines[-1] if lines else ""
    run.traceback = "Traceback" in run.stderr
    if run.code != 0:
        run.leftovers = sorted(os.listdir(folder))
    return run


# -- the oracle ---------------------------------------------------------------------------------

class OracleTimeout(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise OracleTimeout("Pillow took longer than the oracle's limit")


def pillow_frames(path: Path, transpose: bool = True, limit: int = 120) -> tuple[list[Any] | None,
                                                                                  str]:
    """Every frame as Pillow decodes it (``seek(k); load()``), upright by
    ``ImageOps.exif_transpose`` (an input) or as stored (an output); (None, Pillow's error)
    when Pillow cannot decode the whole file."""
    from PIL import Image, ImageOps

    frames = []
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(limit)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                first = getattr(im, "_min_frame", 0)  # a PSD's frames (layers) are 1..n
                for k in range(first, first + getattr(im, "n_frames", 1)):
                    if k != im.tell():  # a single SPIDER image refuses even seek(0)
                        im.seek(k)
                    im.load()
                    frame = ImageOps.exif_transpose(im) if transpose else None
                    frames.append(frame if frame is not None and frame is not im else im.copy())
    except BaseException as exc:  # the oracle's question is exactly "does Pillow decode it all"
        if isinstance(exc, KeyboardInterrupt):
            raise
        return None, f"{type(exc).__name__}: {exc}"[:300]
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    return frames, ""


#: the oracle again in a fresh process: a long-lived worker once saw Pillow fail on a file a
#: fresh interpreter decodes (pillow.ico: "cannot load this image"), so every failure is
#: confirmed there before it counts
_FRESH = ("import pickle,resource,sys; resource.setrlimit(resource.RLIMIT_AS,(6<<30,6<<30)); "
          "sys.path.insert(0,sys.argv[3]); import real_files as r; from pathlib import Path; "
          "pickle.dump(r.pillow_frames(Path(sys.argv[1])), open(sys.argv[2],'wb'))")


def pillow_frames_fresh(path: Path) -> tuple[list[Any] | None, str]:
    """:func:`pillow_frames` in a new interpreter (frames come back pickled)."""
    import pickle

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "frames.pkl"
        try:
            done = subprocess.run([sys.executable, "-c", _FRESH, str(path), str(out),
                                   str(Path(__file__).resolve().parent)],
                                  capture_output=True, timeout=180)
        except subprocess.TimeoutExpired:
            return None, "Pillow took longer than 180 s (fresh process)"
        if not out.is_file():
            tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
            return None, f"the fresh oracle process died (exit {done.returncode}): {tail}"
        with open(out, "rb") as fh:
            got: tuple[list[Any] | None, str] = pickle.load(fh)
        return got


def canonical(mode: str) -> str:
    """Pillow's integer grey modes as one (I;16 in any byte order, and I)."""
    return "I" if mode.startswith("I;16") else mode


def normalised(frame: Any) -> tuple[str, Any]:
    """A Pillow frame as compared: palette → RGB (RGBA with transparency), PA → RGBA, 1 → L
    0/255, YCbCr → RGB; every other mode (CMYK, LAB, RGBa, La, I;16, I, F, ...) as it is."""
    import numpy as np

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


def tiff_pages(path: Path) -> tuple[list[Any], list[int]]:
    """tifffile's raw samples of every top-level page (planar as H×W×C), and each page's
    photometric."""
    import logging

    import numpy as np
    import tifffile

    logger = logging.getLogger("tifffile")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    out, photometric = [], []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with tifffile.TiffFile(path) as tif:
                for k in range(len(tif.pages)):  # len() stops at a looping chain
                    page = tif.pages[k]
                    arr = page.asarray()
                    if page.planarconfig == 2 and arr.ndim == 3:
                        arr = np.moveaxis(arr, 0, -1)
                    out.append(np.ascontiguousarray(arr))
                    photometric.append(int(page.photometric))
    finally:
        logger.setLevel(level)
    return out, photometric


def widened(frames: list[tuple[str, Any]]) -> list[Any]:
    """Frames in one layout: RGB, RGBA when any frame has alpha (a frame without is opaque)."""
    import numpy as np

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


def differ(got: Any, want: Any, mode: str = "", ref: str = "Pillow") -> str:
    """'' when equal: exactly, by value for I/F, within one level where ``got`` is 16-bit and
    ``want`` Pillow's 8-bit view; else what differs."""
    import numpy as np

    if got.shape != want.shape:
        if got.ndim == want.ndim + 1 and got.shape[-1] == 1:
            got = got[..., 0]
        else:
            return f"shape {got.shape} != {ref}'s {want.shape}"
    if got.dtype == np.bool_:
        got = got.astype(np.uint8) * 255
    g, w = got.astype(np.float64), want.astype(np.float64)
    if got.dtype == np.uint16 and want.dtype == np.uint8:
        bad = np.abs(g / 257 - w) > 1
        how = f"beyond 1 level of {ref}'s 8-bit view (out/257)"
        g = g / 257
    else:
        bad = (g != w) & ~(np.isnan(g) & np.isnan(w))
        how = "differ"
    n = int(np.count_nonzero(bad))
    if not n:
        return ""
    diff = float(np.nanmax(np.abs(g - w)[bad])) if n else 0.0
    where = tuple(int(i) for i in np.argwhere(bad)[0])
    return (f"{n} of {bad.size} samples {how}, by up to {diff:g} (first at {where}: "
            f"out {got[where[:got.ndim]]!r} vs {ref} {want[where[:want.ndim]]!r}; "
            f"out {got.dtype}, {ref} {mode + ' ' if mode else ''}{want.dtype})")


def signed_pages(src: Path) -> list[Any] | None:
    """tifffile's samples of a TIFF input holding signed integers (Pillow shows int8 as L,
    reinterpreted): the oracle there, as in tests/test_real_files.py, for the samples Pillow
    shows (it drops extra samples of unspecified meaning); None for anything else."""
    if src.suffix.lower() not in (".tif", ".tiff"):
        return None
    try:
        pages, _ = tiff_pages(src)
    except Exception:  # noqa: BLE001 - no tifffile view: Pillow's stands
        return None
    return pages if pages and any(p.dtype.kind == "i" for p in pages) else None


def compare_tiff(out: Path, want: list[Any], src: Path) -> tuple[str, str]:
    """('' when the TIFF output shows Pillow's frames of the input, else the difference;
    which oracle was used)."""
    signed = signed_pages(src)
    if signed is not None:
        try:
            got, _ = tiff_pages(out)
        except Exception as exc:  # noqa: BLE001 - reported as the difference
            return f"tifffile cannot read the output: {exc}", "tifffile (signed)"
        if len(got) != len(signed):
            return (f"{len(got)} pages written, tifffile reads {len(signed)} in the input",
                    "tifffile (signed)")
        for k, (a, b) in enumerate(zip(got, signed, strict=True)):
            bands = len(want[k].getbands()) if k < len(want) else 0
            if b.ndim == 3 and 0 < bands < b.shape[2]:  # the samples Pillow shows: it drops
                b = b[..., :bands] if bands > 1 else b[..., 0]  # unspecified extra samples
            if a.dtype != b.dtype:
                return f"page {k}: dtype {a.dtype} != {b.dtype}", "tifffile (signed)"
            why = differ(a, b, ref="tifffile")
            if why:
                return f"page {k}: {why}", "tifffile (signed)"
        return "", "tifffile (signed)"
    return _compare_tiff(out, want), "Pillow"


def _compare_tiff(out: Path, want: list[Any]) -> str:
    import numpy as np

    w = [normalised(f) for f in want]
    back, why = pillow_frames(out, transpose=False)
    try:
        raw, photometric = tiff_pages(out)
    except Exception as exc:  # noqa: BLE001 - reported as the difference
        raw, photometric = None, []
        if back is None:
            return f"neither Pillow ({why}) nor tifffile ({exc}) reads the output"
    count = len(back) if back is not None else len(raw or [])
    if count != len(w):
        return f"{count} pages written, Pillow counts {len(w)} frames"
    problems = []
    g = [normalised(f) for f in back] if back is not None else None
    for k, (mw, aw) in enumerate(w):
        direct = ""
        if g is not None:
            mg, ag = g[k]
            direct = (differ(ag, aw, mw) if mg == mw
                      else f"Pillow reads the output as {mg}, the input as {mw}")
            if not direct:
                continue
        # Pillow cannot read the output, or shows other modes/values: tifffile's raw samples
        if raw is not None and k < len(raw):
            arr = raw[k]
            if photometric[k] == 0 and arr.dtype.kind == "u":  # min-is-white: Pillow inverts
                arr = np.iinfo(arr.dtype).max - arr
            elif photometric[k] == 0 and arr.dtype == np.bool_:
                arr = ~arr
            if not differ(arr, aw, mw):
                continue
        problems.append(f"page {k}: {direct or differ(raw[k], aw, mw)}")
    if problems and len(w) > 1 and g is not None and len(g) == len(w):
        # an animation whose Pillow modes change from frame to frame: one layout
        try:
            ww, gg = widened(w), widened(g)
            if all(a.shape == b.shape and not differ(a, b) for a, b in zip(gg, ww, strict=True)):
                return ""
        except Exception:  # noqa: BLE001 - the direct comparison's problems stand
            pass
    return "; ".join(problems[:3]) + (f"; ... {len(problems)} pages" if len(problems) > 3
                                      else "")


def png_expected(frame: Any) -> tuple[Any, Any | None]:
    """Pillow's frame as a PNG output must show it (docs/formats.md, "any other output"),
    and LittleCMS's sRGB beside it for a LAB frame."""
    import numpy as np
    from PIL import ImageCms

    if frame.mode == "CMYK":
        return np.asarray(frame.convert("RGB")), None
    if frame.mode == "LAB":
        transform = ImageCms.buildTransform(ImageCms.createProfile("LAB"),
                                            ImageCms.createProfile("sRGB"), "LAB", "RGB")
        return (np.asarray(frame.convert("RGB")),
                np.asarray(ImageCms.applyTransform(frame, transform)))
    if frame.mode == "RGBa":
        return np.asarray(frame.convert("RGBA")), None
    if frame.mode == "La":
        return np.asarray(frame.convert("LA")), None
    if frame.mode == "RGBX":
        return np.asarray(frame.convert("RGB")), None
    return normalised(frame)[1], None


def read_png(path: Path) -> Any:
    """A PNG's samples at full depth: libpng through imagecodecs; a palette PNG through
    Pillow's RGB(A)."""
    import imagecodecs
    import numpy as np
    from PIL import Image

    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"not a PNG (starts {data[:8]!r})")
    if data[25] == 3:
        with Image.open(path) as im:
            return normalised(im)[1]
    arr = imagecodecs.png_decode(data)
    return np.asarray(arr)


def compare_png(out: Path, frame: Any) -> str:
    try:
        got = read_png(out)
    except Exception as exc:  # noqa: BLE001 - reported as the difference
        return f"the PNG output cannot be read: {exc}"
    want, cms = png_expected(frame)
    why = differ(got, want, frame.mode)
    if why and cms is not None:
        alt = differ(got, cms, frame.mode)
        why = ("" if not alt else
               f"vs convert('RGB'): {why}; vs LittleCMS Lab->sRGB: {alt}")
    return why


# -- one file -------------------------------------------------------------------------------------

@dataclass
class Result:
    path: str
    sha_changed: bool = False
    pillow_ok: bool = False
    pillow_error: str = ""
    pillow_frames: int = 0
    pillow_mode: str = ""
    tif: dict[str, Any] = field(default_factory=dict)
    png: dict[str, Any] | None = None
    png_skipped: str = ""
    tif_diff: str = ""
    oracle: str = ""
    oracle_retry: str = ""
    png_diff: str = ""
    tifffile_check: str = ""
    orientation: int | None = None
    worker_error: str = ""
    klass: str = ""
    reasons: list[tuple[str, str]] = field(default_factory=list)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def safe_name(path: Path) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", path.stem)[:80] or "file"


def check_file(index: int, src: str, workdir: str, timeout: float) -> Result:
    """Everything about one file (runs in a pool worker)."""
    path, res = Path(src), Result(src)
    folder = Path(workdir) / f"{index:05d}"
    try:
        before = sha256(path)
        frames, res.pillow_error = pillow_frames(path)
        if frames is None:  # confirmed in a fresh interpreter before it counts
            first = res.pillow_error
            frames, res.pillow_error = pillow_frames_fresh(path)
            if frames is not None or res.pillow_error != first:
                res.oracle_retry = (f"in the pool worker Pillow failed ({first}); in a fresh "
                                    f"process: {res.pillow_error or 'decoded'}")
        res.pillow_ok = frames is not None
        if frames:
            res.pillow_frames = len(frames)
            res.pillow_mode = ",".join(sorted({f.mode for f in frames}))
        stem = safe_name(path)
        tif = run_imgconv(path, folder / "tif" / f"{stem}.tif", timeout)
        res.tif = asdict(tif)
        out = Path(tif.target)
        if tif.code == 0 and out.is_file():
            if frames is not None:
                res.tif_diff, res.oracle = compare_tiff(out, frames, path)
            elif path.suffix.lower() in (".tif", ".tiff"):
                res.tifffile_check = tifffile_cross_check(path, out)
            res.orientation = orientation_of(out)
        elif tif.code == 0:
            res.tif_diff = "exit 0 but no output file"
        png_ok, res.png_skipped = png_applicable(frames, out if tif.code == 0 else None)
        if png_ok:
            assert frames is not None
            png = run_imgconv(path, folder / "png" / f"{stem}.png", timeout)
            res.png = asdict(png)
            if png.code == 0 and Path(png.target).is_file():
                res.png_diff = compare_png(Path(png.target), frames[0])
            elif png.code == 0:
                res.png_diff = "exit 0 but no output file"
        res.sha_changed = sha256(path) != before
    except Exception:  # noqa: BLE001 - a fault of this script: reported, never skipped
        res.worker_error = traceback.format_exc()[-1500:]
    classify(res)
    return res


def orientation_of(out: Path) -> int | None:
    try:
        import tifffile

        with tifffile.TiffFile(out) as tif:
            tag = tif.pages.first.tags.get(274)
            return None if tag is None else int(tag.value)
    except Exception:  # noqa: BLE001 - not readable: the comparison says so
        return None


def png_applicable(frames: list[Any] | None, tif_out: Path | None) -> tuple[bool, str]:
    """Whether a PNG holds the content: one frame Pillow decodes, in a mode a PNG holds
    after the documented conversion (or I/F that imgconv holds in uint8/uint16)."""
    if frames is None:
        return False, "Pillow cannot decode it"
    if len(frames) != 1:
        return False, f"{len(frames)} frames"
    mode = frames[0].mode
    if tif_out is not None:  # what imgconv holds, checked against Pillow by the TIFF run
        try:
            raw, _ = tiff_pages(tif_out)
        except Exception:  # noqa: BLE001 - the TIFF comparison reports it
            raw = []
        if raw and raw[0].dtype.name not in ("bool", "uint8", "uint16"):
            return False, f"mode {mode}, held as {raw[0].dtype}"
        if raw and mode in ("I", "F") and raw[0].ndim == 2:
            return True, ""
    if mode in PNG_MODES:
        return True, ""
    return False, f"mode {mode}"


def tifffile_cross_check(src: Path, out: Path) -> str:
    """Where Pillow cannot decode a TIFF imgconv wrote: are the output's samples tifffile's
    samples of the input? (information, not a verdict)"""
    try:
        a, pa = tiff_pages(src)
    except Exception as exc:  # noqa: BLE001
        return f"tifffile cannot read the input either ({type(exc).__name__}: {exc})"[:200]
    try:
        b, _ = tiff_pages(out)
    except Exception as exc:  # noqa: BLE001
        return f"tifffile cannot read the output ({exc})"[:200]
    if len(a) != len(b):
        return f"{len(b)} pages written, tifffile reads {len(a)} in the input"
    for k, (x, y) in enumerate(zip(a, b, strict=True)):
        why = differ(y, x, ref="tifffile")
        if why:
            return f"page {k} (photometric {pa[k]}): {why}"
    return "equal to tifffile's samples"


# -- classes --------------------------------------------------------------------------------------

def run_problems(run: dict[str, Any], label: str) -> list[tuple[str, str]]:
    out = []
    if run["timed_out"]:
        out.append(("timeout", f"{label}: no exit after {run['seconds']:.0f} s"))
    if run["traceback"]:
        out.append(("traceback", f"{label}: {run['last_line']}"))
    code = run["code"]
    mem = re.search(r"MemoryError|Cannot allocate|bad_alloc|out of memory", run["stderr"])
    if mem or (code is not None and code < 0 and not run["timed_out"]):
        out.append(("crash or address-space cap (2 GiB) hit",
                    f"{label}: exit {code}: {run['last_line']}"))
    elif code not in (0, 2) and not run["timed_out"]:
        out.append((f"exit {code}", f"{label}: {run['last_line']}"))
    if code != 0 and run["leftovers"]:
        out.append(("leftover file", f"{label}: {run['leftovers']}"))
    if code == 2 and len(Run(**run).error_lines) > 1:
        out.append(("refusal not one line", f"{label}: {Run(**run).error_lines}"))
    return out


def classify(res: Result) -> None:
    reasons = res.reasons
    if res.worker_error:
        reasons.append(("script fault (oracle/comparison)", res.worker_error.splitlines()[-1]))
    if res.tif:
        reasons += run_problems(res.tif, "tif")
    if res.png:
        reasons += run_problems(res.png, "png")
    if res.sha_changed:
        reasons.append(("input modified", "sha256 changed"))
    if res.orientation not in (None, 1):
        reasons.append(("orientation tag left in the output", f"Orientation {res.orientation}"))
    if res.pillow_ok:
        if res.tif and res.tif["code"] == 2:
            reasons.append(("refused a file Pillow decodes", f"tif: {res.tif['last_line']}"))
        if res.png and res.png["code"] == 2:
            reasons.append(("refused a file Pillow decodes (PNG output)",
                            f"png: {res.png['last_line']}"))
        for label, diff in (("tif", res.tif_diff), ("png", res.png_diff)):
            if not diff:
                continue
            if "pages written" in diff:
                cause = "frame count differs"
            elif "reads the output as" in diff or "shape" in diff:
                cause = f"mode or shape differs ({label})"
            else:
                cause = f"pixels differ ({label})"
            reasons.append((cause, f"{label}: {diff}"))
    if reasons:
        res.klass = "BAD"
    elif res.pillow_ok:
        res.klass = "OK-read-equal"
    elif res.tif.get("code") == 2:
        res.klass = "OK-refused-correctly"
    else:
        res.klass = "READ-PILLOW-CANNOT"


def wording(res: Result) -> str:
    """For a refusal: '' when "damaged" is said where Pillow's error is about the bytes and not
    said where Pillow names a missing feature; else a remark."""
    line = res.tif.get("last_line", "")
    says = "damaged" in line.lower()
    pil = re.sub(r"'[^']*'", "''", res.pillow_error)  # not the words of the file's path
    if "cannot hold" in line:
        return "refused on writing the output, not on reading: does the format hold it?"
    if pil.startswith("DecompressionBombError"):
        return ("" if "over the limit" in line
                else "Pillow: over its pixel limit; imgconv does not say over the limit")
    unsupported = bool(UNSUPPORTED.search(pil)) and not DAMAGED_PIL.search(pil)
    damaged = bool(DAMAGED_PIL.search(pil)) and not UNSUPPORTED.search(pil)
    if says and unsupported:
        return "says damaged; Pillow names an unsupported feature"
    if not says and damaged:
        return "does not say damaged; Pillow's error is about the bytes"
    return ""


# -- the run --------------------------------------------------------------------------------------

def worker_init() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))  # the oracle's own guard
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    devnull = os.open(os.devnull, os.O_WRONLY)  # libtiff's and libjpeg's chatter on fd 2
    os.dup2(devnull, 2)
    warnings.simplefilter("ignore")


def run_all(files: list[Path], workdir: Path, jobs: int, timeout: float) -> list[Result]:
    results: dict[int, Result] = {}
    todo = list(enumerate(files))
    done_count = 0
    start = time.monotonic()

    def progress() -> None:
        if done_count % 50 == 0 or done_count == len(files):
            print(f"  {done_count}/{len(files)} files, {time.monotonic() - start:.0f} s",
                  file=sys.stderr, flush=True)

    broken: list[tuple[int, Path]] = []
    with cf.ProcessPoolExecutor(jobs, initializer=worker_init) as pool:
        futures = {pool.submit(check_file, i, str(p), str(workdir), timeout): (i, p)
                   for i, p in todo}
        for fut in cf.as_completed(futures):
            i, p = futures[fut]
            try:
                results[i] = fut.result()
            except Exception:  # noqa: BLE001 - a worker died (the oracle crashed?): retried
                broken.append((i, p))
                continue
            done_count += 1
            progress()
    for i, p in broken:  # one at a time in a fresh worker: the one that dies is named
        with cf.ProcessPoolExecutor(1, initializer=worker_init) as pool:
            try:
                results[i] = pool.submit(check_file, i, str(p), str(workdir), timeout).result()
            except Exception as exc:  # noqa: BLE001
                res = Result(str(p), worker_error=f"the checking process died: {exc!r}")
                classify(res)
                results[i] = res
        done_count += 1
        progress()
    return [results[i] for i in range(len(files))]


def md(text: str, limit: int = 400) -> str:
    text = " ".join(str(text).split())
    if len(text) > limit:
        text = text[:limit] + " …"
    return text.replace("|", "\\|")


def report(results: list[Result], root: Path, seconds: float, jobs: int,
           versions: str = "") -> tuple[str, str]:
    """(the Markdown report, the printed summary)."""
    def rel(p: str) -> str:
        return os.path.relpath(p, root)

    counts = Counter(r.klass for r in results)
    order = ["OK-read-equal", "OK-refused-correctly", "READ-PILLOW-CANNOT", "BAD"]
    lines = ["# imgconv on real-world files", "",
             f"{len(results)} files under `{root}`; `imgconv apply FILE -f \"{IDENTITY}\" -o "
             f"NAME.tif` (and `.png` where it applies), each in a child capped at 2 GiB of "
             f"address space and {TIMEOUT:.0f} s; "
             + (f"{jobs} jobs, {seconds:.0f} s in all." if seconds else
                "replayed from an earlier run's JSON (its times and sizes).")
             + (f" {versions}." if versions else ""), "",
             "| class | files |", "|---|--:|"]
    lines += [f"| {k} | {counts.get(k, 0)} |" for k in order]
    modes = Counter(m for r in results if r.klass == "OK-read-equal"
                    for m in r.pillow_mode.split(","))
    lines += ["", "OK-read-equal by Pillow mode (a file counted once per mode it has): "
              + ", ".join(f"{m} {n}" for m, n in modes.most_common()) + "."]
    pngs = [r for r in results if r.png]
    lines += ["", f"PNG runs: {len(pngs)} (not run: "
              + ", ".join(f"{n} × {why}" for why, n in Counter(
                  re.sub(r"\d+ frames", "several frames", r.png_skipped) for r in results
                  if r.png is None and r.png_skipped).most_common()) + ")."]
    runs = [(r, r.tif) for r in results if r.tif] + [(r, r.png) for r in pngs if r.png]
    if runs:
        slow = sorted(runs, key=lambda x: -x[1]["seconds"])[:5]
        big = sorted(runs, key=lambda x: -x[1]["peak_mb"])[:5]
        lines += ["", "Slowest runs: " + ", ".join(
            f"`{rel(r.path)}` {x['seconds']:.1f} s" for r, x in slow) + ".",
            "Largest peak RSS: " + ", ".join(
            f"`{rel(r.path)}` {x['peak_mb']:.0f} MB" for r, x in big) + "."]
    bad = [r for r in results if r.klass == "BAD"]
    groups: dict[str, list[tuple[Result, str]]] = defaultdict(list)
    for r in bad:
        for cause, detail in r.reasons:
            groups[cause].append((r, detail))
    lines += ["", f"## BAD: {len(bad)} files", ""]
    for cause, items in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        lines += [f"### {cause} ({len(items)})", "",
                  "| file | Pillow | imgconv (tif run) | detail |", "|---|---|---|---|"]
        for r, detail in sorted(items, key=lambda x: x[0].path):
            pil = (f"{r.pillow_frames} × {r.pillow_mode}" if r.pillow_ok
                   else f"fails: {r.pillow_error}")
            msg = f"exit {r.tif.get('code')}: {r.tif.get('last_line', '')}" if r.tif else ""
            lines.append(f"| `{rel(r.path)}` | {md(pil, 150)} | {md(msg, 300)} | "
                         f"{md(detail, 500)} |")
        lines.append("")
    refused = [r for r in results if r.klass == "OK-refused-correctly"]
    odd = [r for r in refused if wording(r)]
    lines += [f"## OK-refused-correctly: {len(refused)} files", "",
              f"Says \"damaged\": {sum('damaged' in r.tif['last_line'].lower() for r in refused)}."
              f" Wording to look at ({len(odd)}: the message against Pillow's own error, by "
              "keyword: a pointer for review, not a verdict) first, then all.", "",
              "| file | remark | Pillow's error | imgconv |", "|---|---|---|---|"]
    for r in odd + [r for r in refused if not wording(r)]:
        lines.append(f"| `{rel(r.path)}` | {wording(r)} | {md(r.pillow_error, 200)} | "
                     f"{md(r.tif['last_line'], 300)} |")
    beyond = [r for r in results if r.klass == "READ-PILLOW-CANNOT"]
    lines += ["", f"## READ-PILLOW-CANNOT: {len(beyond)} files", "",
              "Pillow cannot decode them whole; imgconv wrote an output. For TIFFs, the output "
              "against tifffile's samples of the input.", "",
              "| file | Pillow's error | imgconv | tifffile cross-check |", "|---|---|---|---|"]
    for r in beyond:
        lines.append(f"| `{rel(r.path)}` | {md(r.pillow_error, 200)} | "
                     f"{md(r.tif['last_line'], 200)} | {md(r.tifffile_check, 200)} |")
    retried = [r for r in results if r.oracle_retry]
    lines += ["", f"## Oracle retries: {len(retried)} files", "",
              "Pillow failed in the long-lived pool worker and was run again in a fresh process "
              "(whose answer counts).", ""]
    lines += [f"- `{rel(r.path)}`: {md(r.oracle_retry, 300)}" for r in retried]
    ok = [r for r in results if r.klass == "OK-read-equal"]
    lines += ["", f"## OK-read-equal: {len(ok)} files", "",
              "Signed-integer TIFFs are compared with tifffile's samples (Pillow shows int8 as "
              "L, reinterpreted): oracle column.", "",
              "| file | Pillow frames × modes | oracle | PNG run |", "|---|---|---|---|"]
    for r in ok:
        lines.append(f"| `{rel(r.path)}` | {r.pillow_frames} × {r.pillow_mode} | {r.oracle} | "
                     f"{'equal' if r.png else md(r.png_skipped, 60)} |")
    summary = [f"{len(results)} files in {seconds:.0f} s: "
               + ", ".join(f"{k} {counts.get(k, 0)}" for k in order)]
    for cause, items in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        summary.append(f"  BAD {cause}: {len(items)} (e.g. "
                       + ", ".join(rel(r.path) for r, _ in items[:3]) + ")")
    return "\n".join(lines) + "\n", "\n".join(summary)


def version() -> str:
    """imgconv's version and, in a git checkout, the commit (+ "dirty" when changed)."""
    from importlib.metadata import version as dist_version

    here = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "-C", str(here), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "imgconv"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        head, dirty = "", ""
    where = f", commit {head}{' with imgconv/ changed' if dirty else ''}" if head else ""
    return f"imgconv {dist_version('imgconv')}{where}; Pillow {dist_version('pillow')}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="files to try (searched recursively)")
    parser.add_argument("--out", type=Path, default=Path("real_files_report.md"),
                        help="the Markdown report (default: real_files_report.md)")
    parser.add_argument("--jobs", type=int, default=2, help="files checked at once (default 2)")
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds a run (30)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where outputs go (default: a new temporary folder); BAD files' "
                             "outputs are kept there")
    parser.add_argument("--json", type=Path, default=None, help="also every result as JSON")
    parser.add_argument("--replay", type=Path, default=None,
                        help="no runs: classify and report the results of an earlier --json")
    args = parser.parse_args(argv)
    root = args.folder.resolve()
    if args.replay:
        results = []
        for item in json.loads(args.replay.read_text()):
            res = Result(**{**item, "klass": "", "reasons": []})
            classify(res)
            results.append(res)
        text, summary = report(results, root, 0.0, 0)
        args.out.write_text(text)
        print(summary)
        return 1 if any(r.klass == "BAD" for r in results) else 0
    files = sorted(p for p in root.rglob("*") if p.is_file())
    if not files:
        parser.error(f"no files under {root}")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="real_files_"))
    workdir.mkdir(parents=True, exist_ok=True)
    versions = version()
    print(f"{len(files)} files, outputs under {workdir}; {versions}", file=sys.stderr)
    start = time.monotonic()
    results = run_all(files, workdir, args.jobs, args.timeout)
    seconds = time.monotonic() - start
    for i, r in enumerate(results):  # keep what a BAD file left, for a look
        if r.klass != "BAD":
            shutil.rmtree(workdir / f"{i:05d}", ignore_errors=True)
    text, summary = report(results, root, seconds, args.jobs, versions)
    args.out.write_text(text)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=1))
    print(summary)
    print(f"report: {args.out}; BAD outputs kept under {workdir}")
    return 1 if any(r.klass == "BAD" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
