"""Shared helpers of the imgconv benchmark (``bench.py``): timing, whole processes, peers.

Not part of the test suite.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import scipy

import imgconv

EPS = 1e-4  # docs/semantics.md §1 tolerance in single precision
SIGMA_31 = 3.75  # imgconv's gaussian generator: radius int(4*sigma + 0.5) = 15 -> 31x31
Result = dict[str, Any]


# --------------------------------------------------------------------------- generic


def log(msg: str = "") -> None:
    print(msg, flush=True)


def machine_info() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, Any] = {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "cv2": cv2.__version__,
        "imgconv": imgconv.__version__,
        "cv2_threads": cv2.getNumThreads(),
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
        "openblas_l2_size": os.environ.get("OPENBLAS_L2_SIZE"),
    }
    return info


def gaussian_1d(sigma: float, radius: int, dtype: Any = np.float64) -> np.ndarray:
    """A normalised 1-D Gaussian of 2·radius + 1 taps, computed in ``dtype``."""
    x = np.arange(-radius, radius + 1, dtype=dtype)
    g = np.exp(-0.5 * (x / dtype(sigma)) ** 2)
    return (g / g.sum()).astype(dtype)


def svd_terms(k: np.ndarray, rank: int,
              dtype: Any = np.float32) -> list[tuple[np.ndarray, np.ndarray]]:
    """The first ``rank`` terms of the SVD as (column, row) factor pairs in ``dtype``:
    ``k ≈ Σ outer(col, row)``; the sign is chosen so that each column sums positive."""
    u, s, vt = np.linalg.svd(np.asarray(k, dtype=np.float64))
    terms = []
    for i in range(rank):
        col, row = u[:, i] * np.sqrt(s[i]), vt[i] * np.sqrt(s[i])
        if col.sum() < 0:
            col, row = -col, -row
        terms.append((col.astype(dtype), row.astype(dtype)))
    return terms


def rel_err(result: np.ndarray, ref: np.ndarray, kernel: np.ndarray, image: np.ndarray) -> float:
    """max|R - ref| / (sum|F| * max|I|): the docs/semantics.md §1 tolerance is EPS."""
    scale = float(np.abs(kernel).sum()) * float(np.abs(image).max())
    diff = np.abs(result.astype(np.float64) - ref.astype(np.float64)).max()
    return float(diff) / scale


def ms(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    return f"{seconds * 1e3:.1f}" if seconds < 10 else f"{seconds * 1e3:.0f}"


# --------------------------------------------------------------------------- timing


def time_call(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def time_interleaved(contenders: dict[str, Callable[[], Any]], repeats: int, budget: float,
                     warmed: dict[str, float] | None = None,
                     ) -> tuple[dict[str, float], dict[str, Any], dict[str, int]]:
    """Warm each contender up once (keeping its result), then time them interleaved.

    Each of ``repeats`` rounds calls every contender in turn (forwards, then backwards); a
    fast one (under 30 ms) is called a few times back to back there, so that each is timed
    in its own steady state rather than only in the wake of whichever ran before it.
    A contender whose warm-up took long gets fewer runs: at most ``budget`` seconds each;
    one slower than ``budget`` is not run again, its warm-up is its time.  ``warmed`` gives
    the warm-up times of a previous round (then nothing is warmed up or returned again).
    Returns (best seconds, result of the warm-up, number of timed calls).
    """
    results: dict[str, Any] = {}
    warm: dict[str, float] = dict(warmed or {})
    if warmed is None:
        for name, fn in contenders.items():
            warm[name], results[name] = time_call(fn)
    runs = {n: min(repeats, int(budget / max(warm[n], 1e-9))) for n in contenders}
    inner = {n: max(1, min(5, int(0.03 / max(warm[n], 1e-9)))) for n in contenders}
    best = {n: (warm[n] if runs[n] == 0 and warmed is None else float("inf"))
            for n in contenders}
    for r in range(max(runs.values(), default=0)):
        order = list(contenders.items())
        for name, fn in order[::-1] if r % 2 else order:  # alternate the order: no one
            if r < runs[name]:  # always runs in the wake of the same other contender
                for _ in range(inner[name]):
                    t, _ = time_call(fn)
                    best[name] = min(best[name], t)
    return best, results, {n: max(1, runs[n] * inner[n]) for n in contenders}


def wall(cmd: list[str], repeats: int, **kw: Any) -> float:
    """Best wall-clock seconds of a whole process; raises if it fails."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
        t = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
        best = min(best, t)
    return best


GNU_TIME = "/usr/bin/time"
RSS_PROBE = """import resource, subprocess, sys
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)
sys.exit(rc)"""


def wall_rss(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    """(wall seconds, peak RSS in bytes) of one whole process, run under GNU time
    (``%M``), or else under a small fresh Python that reads RUSAGE_CHILDREN.

    Not ``os.wait4`` from here: a child forked from this (large) process keeps the peak
    RSS it had before its ``exec``, so every figure would be at least this process's size.
    The peak is that of the process and of the processes it waited for."""
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "rss"
        if Path(GNU_TIME).exists():
            wrapped = [GNU_TIME, "-f", "%M", "-o", str(out)] + cmd
        else:
            wrapped = [sys.executable, "-c", RSS_PROBE] + cmd
        t0 = time.perf_counter()
        proc = subprocess.run(wrapped, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True, env=env)
        t = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed ({proc.returncode}): "
                               f"{proc.stderr.strip()[-500:]}")
        text = out.read_text() if out.exists() else proc.stderr
    return t, int(text.strip().splitlines()[-1]) * 1024  # Linux: kilobytes


# --------------------------------------------------------------------------- processes


def imgconv_exe() -> list[str]:
    exe = Path(sys.executable).parent / "imgconv"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("imgconv")
    return [found] if found else [sys.executable, "-m", "imgconv"]


def child_env(tmp: Path) -> dict[str, str]:
    """The environment for timed imgconv processes: with a bytecode cache.

    An installed imgconv has its ``.pyc`` files; an editable one under
    ``PYTHONDONTWRITEBYTECODE`` would compile its sources on every start, which is not
    what a user pays.  The cache goes to a temporary folder, not into the repository.
    """
    env = dict(os.environ)
    if env.pop("PYTHONDONTWRITEBYTECODE", None) is not None:
        log("note: PYTHONDONTWRITEBYTECODE is set; the timed imgconv processes run with a "
            "bytecode cache in a temporary folder instead (as an installed imgconv has)")
    env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    import imgconv

    if "site-packages" not in Path(imgconv.__file__).parts:
        log("note: imgconv is an editable install (pip install -e); every timed process "
            "also pays its import hook (~10 ms here): for the figures a user sees, run "
            "this script with the python of a venv where `pip install .` was run")
    return env


def find_imagemagick() -> str | None:
    """The real ImageMagick ``convert`` (skipping a stand-in script that only mimics it)."""
    candidates: list[str] = []
    for name in ("magick", "convert", "convert-im6.q16"):
        for d in os.environ.get("PATH", "").split(os.pathsep):
            p = Path(d) / name
            if p.is_file() and os.access(p, os.X_OK):
                candidates.append(str(p))
    candidates += ["/usr/bin/convert", "/usr/bin/convert-im6.q16"]
    for c in candidates:
        try:
            head = Path(c).read_bytes()[:4096]
        except OSError:
            continue
        if b"Stands in for ImageMagick" in head:
            continue
        try:
            out = subprocess.run([c, "-version"], capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if "ImageMagick" in out.stdout:
            return c
    return None


def find_vips() -> dict[str, Any] | None:
    """libvips's command line (Debian's libvips-tools): its path, version and whether
    ``convsep`` takes ``--precision`` (then the bench asks for ``float``)."""
    exe = shutil.which("vips")
    if exe is None:
        return None
    try:
        version = subprocess.run([exe, "--version"], capture_output=True, text=True,
                                 timeout=20).stdout.strip()
        usage = subprocess.run([exe, "convsep"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if not version.startswith("vips"):
        return None
    has_precision = "precision" in usage.stdout + usage.stderr
    return {"exe": exe, "version": version, "precision": "float" if has_precision else None}


def vips_cmd(vips: dict[str, Any], op: str, src: Path, dst: Path, mask: Path) -> list[str]:
    cmd = [vips["exe"], op, str(src), str(dst), str(mask)]
    return cmd + (["--precision", vips["precision"]] if vips["precision"] else [])


def write_vips_matrix(path: Path, k: np.ndarray) -> None:
    """A vips matrix file: ``width height scale offset``, then one line per row; output =
    Σ mask·pixel / scale + offset (``man vips``, matrixload)."""
    k = np.atleast_2d(np.asarray(k, dtype=np.float64))
    lines = [f"{k.shape[1]} {k.shape[0]} 1 0"]
    lines += [" ".join(f"{v:.10g}" for v in row) for row in k]
    path.write_text("\n".join(lines) + "\n")


def write_text_kernel(path: Path, k: np.ndarray, digits: int = 8) -> None:
    """A kernel as users hand it over: a text file, ``digits`` significant digits."""
    path.write_text("\n".join(" ".join(f"{v:.{digits}g}" for v in row) for row in k) + "\n")


# --------------------------------------------------------------------------- images


def synthetic_rgb(n: int, seed: int = 1) -> np.ndarray:
    """A smooth colour image with edges and a little grain (PNG-compresses like a photo)."""
    y, x = np.mgrid[0:n, 0:n].astype(np.float32) / n
    r = 0.5 + 0.5 * np.sin(6.0 * x + 2.0 * np.cos(5.0 * y))
    gch = 0.5 + 0.5 * np.cos(9.0 * y * x + 3.0 * x)
    b = ((x - 0.5) ** 2 + (y - 0.5) ** 2 < 0.09).astype(np.float32) * 0.7 + 0.15 * y
    img = np.stack([r, gch, b], axis=-1)
    img += np.random.default_rng(seed).normal(0, 0.02, img.shape).astype(np.float32)
    return np.clip(np.rint(img * 255), 0, 255).astype(np.uint8)


def write_rgb_png(path: Path, rgb: np.ndarray) -> None:
    if not cv2.imwrite(str(path), np.ascontiguousarray(rgb[:, :, ::-1])):
        raise RuntimeError(f"cannot write {path}")


def read_rgb(path: Path) -> np.ndarray:
    a = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if a is None:
        raise RuntimeError(f"cannot read {path}")
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    return np.ascontiguousarray(a[:, :, 2::-1])


def gray_png(path: Path, n: int) -> None:
    y, x = np.mgrid[0:n, 0:n].astype(np.float32) / n
    a = 127 + 100 * np.sin(7 * x + 3 * np.cos(4 * y))
    a += np.random.default_rng(0).normal(0, 5, a.shape).astype(np.float32)
    cv2.imwrite(str(path), np.clip(np.rint(a), 0, 255).astype(np.uint8))


def max_level_diff(a_path: Path, b_path: Path, border: int = 0) -> int | None:
    """Largest difference in levels between two 8-bit images (None if shapes differ);
    ``border`` pixels on each side are left out."""
    a, b = read_rgb(a_path).astype(np.int32), read_rgb(b_path).astype(np.int32)
    if a.shape != b.shape:
        return None
    if border:
        a, b = a[border:-border, border:-border], b[border:-border, border:-border]
    return int(np.abs(a - b).max())


def one_hot_direction(run: Callable[[Path, Path], None], tmp: Path) -> str:
    """Whether a tool given the 3×3 mask ``1 0 0; 0 0 0; 0 0 0`` correlates or convolves:
    ``run(src, dst)`` filters a 7×7 image with one bright dot."""
    dot = np.zeros((7, 7), np.uint8)
    dot[3, 3] = 200
    src, dst = tmp / "dot.png", tmp / "dot_out.png"
    cv2.imwrite(str(src), dot)
    run(src, dst)
    out = cv2.imread(str(dst), cv2.IMREAD_GRAYSCALE)
    y, x = np.unravel_index(int(np.argmax(out)), out.shape)
    # correlate: out(y,x) = F(0,0) I(y-1,x-1) moves the dot to (4,4); convolve to (2,2)
    return {(4, 4): "correlate", (2, 2): "convolve"}.get((int(y), int(x)), f"unclear ({y},{x})")


def vips_border(vips: dict[str, Any], tmp: Path) -> str:
    """What ``vips convsep`` puts beyond the edge, read off a ramp shifted by a 1×5 mask."""
    ramp = np.tile(np.array([10, 50, 90, 130, 170, 210, 250], np.uint8), (3, 1))
    src, dst, mask = tmp / "ramp.png", tmp / "ramp_out.png", tmp / "shift.mat"
    cv2.imwrite(str(src), ramp)
    write_vips_matrix(mask, np.array([[1.0, 0, 0, 0, 0]]))  # out(x) = in(x - 2)
    subprocess.run(vips_cmd(vips, "convsep", src, dst, mask), check=True, capture_output=True)
    got = cv2.imread(str(dst), cv2.IMREAD_GRAYSCALE)[1, :2].tolist()
    return {(10, 10): "nearest (a a [a b c], edge pixels copied)",
            (50, 10): "reflect (b a [a b c])",
            (90, 50): "mirror (c b [a b c])",
            (0, 0): "constant 0"}.get(tuple(got), f"unclear {got}")
