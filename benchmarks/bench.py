"""imgconv benchmark: the library against OpenCV, scipy.ndimage and scipy.signal; the CLI
against ImageMagick; start-up time; batch throughput (issue 6).

Run from the repository with imgconv installed (``pip install -e .``)::

    python benchmarks/bench.py            # everything, a few minutes
    python benchmarks/bench.py --quick    # a reduced smoke run, under a minute
    python benchmarks/bench.py --full --json out.json

The machine may be shared and noisy, so each contender is timed interleaved with the others
(best of N after a warm-up) and the figure that matters is the *ratio* to the best OpenCV call
of the same run.  Every result is checked against OpenCV's ``filter2D``:
``max|R - R_cv| / (sum|F| * max|I|)`` must be at most 1e-4 (docs/semantics.md §1, single precision).

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
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
import scipy.fft
import scipy.ndimage as ndi
import scipy.signal

import imgconv
import imgconv.engine

EPS = 1e-4  # docs/semantics.md §1 tolerance in single precision
SIGMA_31 = 3.75  # imgconv's gaussian generator: radius int(4*sigma + 0.5) = 15 -> 31x31
Result = dict[str, Any]


# --------------------------------------------------------------------------- helpers


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


def gaussian_1d(sigma: float, radius: int) -> np.ndarray:
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    g = np.exp(-0.5 * (x / sigma) ** 2)
    return g / g.sum()


def rel_err(result: np.ndarray, ref: np.ndarray, kernel: np.ndarray, image: np.ndarray) -> float:
    """max|R - ref| / (sum|F| * max|I|): the docs/semantics.md §1 tolerance is EPS."""
    scale = float(np.abs(kernel).sum()) * float(np.abs(image).max())
    diff = np.abs(result.astype(np.float64) - ref.astype(np.float64)).max()
    return float(diff) / scale


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


def ms(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    return f"{seconds * 1e3:.1f}" if seconds < 10 else f"{seconds * 1e3:.0f}"


# --------------------------------------------------------------------------- library


def make_kernels(quick: bool) -> list[tuple[str, np.ndarray, np.ndarray | None]]:
    """(label, 2-D float64 kernel, 1-D factor when it is an outer product g⊗g)."""
    rng = np.random.default_rng(6)
    g31 = gaussian_1d(SIGMA_31, 15)
    ks: list[tuple[str, np.ndarray, np.ndarray | None]] = [
        ("3x3 random", rng.random((3, 3)), None),
        ("5x5 gaussian5 (rank 3)", np.asarray(imgconv.load_filter("gaussian5").array), None),
        ("15x15 random", rng.random((15, 15)), None),
        ("31x31 gaussian (rank 1)", np.outer(g31, g31), g31),
        ("31x31 random", rng.random((31, 31)), None),
        ("101x101 random", rng.random((101, 101)), None),
    ]
    if quick:
        ks = [k for k in ks if k[0] != "15x15 random"]
    return ks


def make_image(n: int) -> np.ndarray:
    """A seeded random float32 image in [0, 1): the worst case for nothing but realistic."""
    rng = np.random.default_rng(2048)
    return rng.random((n, n), dtype=np.float32)


def library_cases(args: argparse.Namespace, img: np.ndarray) -> list[Result]:
    """Per kernel class: the kernel and its contenders (closures over the same arrays)."""
    reflect = cv2.BORDER_REFLECT
    cases: list[Result] = []
    for label, k64, g in make_kernels(args.quick):
        kh, kw = k64.shape
        k32 = k64.astype(np.float32)
        pads = ((kh // 2, kh - 1 - kh // 2), (kw // 2, kw - 1 - kw // 2))
        kflip = np.ascontiguousarray(k32[::-1, ::-1])

        def fftconv(kflip: np.ndarray = kflip, pads: Any = pads) -> np.ndarray:
            # correlation == convolution with the flipped kernel; pad by the mode, keep valid
            with scipy.fft.set_workers(-1):
                return scipy.signal.fftconvolve(np.pad(img, pads, mode="symmetric"), kflip,
                                                mode="valid")

        contenders: dict[str, Callable[[], Any]] = {
            "imgconv auto": lambda k64=k64: imgconv.correlate(img, k64, boundary="reflect"),
            "cv2.filter2D": lambda k32=k32: cv2.filter2D(img, -1, k32, borderType=reflect),
        }
        if g is not None:
            g32 = g.astype(np.float32)
            contenders["cv2.sepFilter2D"] = lambda g32=g32: cv2.sepFilter2D(
                img, -1, g32, g32, borderType=reflect)
        contenders["scipy.signal.fftconvolve"] = fftconv
        # scipy.ndimage is a plain double-precision loop: seconds for 31x31, ~30 s for 101x101
        run_ndi = args.full or kh * kw <= 15 * 15
        if run_ndi:
            contenders["scipy.ndimage.correlate"] = lambda k64=k64: ndi.correlate(
                img, k64, mode="reflect")
        if args.methods:
            for m in ("direct", "separable", "fft"):
                if m == "separable" and g is None:
                    continue
                if m == "direct" and kh * kw > 31 * 31 and not args.full:
                    continue
                contenders[f"imgconv {m}"] = lambda k64=k64, m=m: imgconv.correlate(
                    img, k64, boundary="reflect", method=m)
        cases.append({"label": label, "k": k64, "contenders": contenders, "ndi": run_ndi})
    return cases


def bench_library(args: argparse.Namespace) -> tuple[list[Result], float]:
    n = args.size
    img = make_image(n)
    # the cost of one read+write pass over the image, as a yardstick for overheads
    copy_t, _, _ = time_interleaved({"copy": lambda: img.copy()}, 20, 1.0)
    log(f"\n## Library: {n}x{n} float32, correlate, boundary reflect "
        f"(one read+write pass of the image = {ms(copy_t['copy'])} ms; "
        f"{args.rounds} round(s), best of each)")
    cases = library_cases(args, img)
    for rnd in range(args.rounds):
        for case in cases:
            log(f"  round {rnd + 1}/{args.rounds}: {case['label']}")
            if rnd == 0:
                best, results, runs = time_interleaved(case["contenders"], args.repeat,
                                                       args.budget)
                case.update(best=best, results=results, runs=runs, warm=dict(best))
                continue
            # later rounds: only what is fast enough to have been repeated in the first
            again = {c: f for c, f in case["contenders"].items()
                     if case["warm"][c] * 2 <= args.budget}
            best, _, runs = time_interleaved(again, args.repeat, args.budget,
                                             warmed={c: case["warm"][c] for c in again})
            for c in again:
                case["best"][c] = min(case["best"][c], best[c])
                case["runs"][c] += runs[c]
    rows: list[Result] = []
    ndi_per_tap: float | None = None
    for case in cases:
        label, k64, best = case["label"], case["k"], case["best"]
        results, runs = case["results"], case["runs"]
        kh, kw = k64.shape
        est = ndi_per_tap * kh * kw if ndi_per_tap is not None else None
        if case["ndi"]:
            ndi_per_tap = best["scipy.ndimage.correlate"] / (kh * kw)
        _, auto_method = imgconv.engine.filter_array(img, k64, mode="correlate",
                                                     boundary="reflect")
        ref = results["cv2.filter2D"]
        cv_names = [c for c in best if c.startswith("cv2.")]
        best_cv_name = min(cv_names, key=lambda c: best[c])
        best_cv = best[best_cv_name]
        contenders_out: dict[str, Result] = {}
        for name in case["contenders"]:
            contenders_out[name] = {
                "ms": best[name] * 1e3,
                "ratio_to_best_cv": best[name] / best_cv,
                "err_vs_filter2D": rel_err(results[name], ref, k64, img),
                "runs": runs[name],
            }
        if not case["ndi"]:
            contenders_out["scipy.ndimage.correlate"] = {
                "skipped": True, "estimated_ms": est * 1e3 if est is not None else None}
        row: Result = {
            "kernel": label, "shape": [kh, kw], "auto_method": auto_method,
            "best_cv": best_cv_name, "best_cv_ms": best_cv * 1e3,
            "ratio": best["imgconv auto"] / best_cv,
            "err": contenders_out["imgconv auto"]["err_vs_filter2D"],
            "contenders": contenders_out,
        }
        rows.append(row)
        log(f"\n### {label}  (auto chose: {auto_method}; best OpenCV: {best_cv_name})")
        for name, c in contenders_out.items():
            if c.get("skipped"):
                e = c["estimated_ms"]
                why = f"~{e / 1e3:.1f} s estimated" if e else "slow"
                log(f"  {name:28s} skipped ({why}; --full runs it)")
                continue
            flag = "ok" if c["err_vs_filter2D"] <= EPS else "FAIL"
            log(f"  {name:28s} {ms(c['ms'] / 1e3):>9s} ms  x{c['ratio_to_best_cv']:6.2f}  "
                f"err {c['err_vs_filter2D']:.1e} {flag}  (best of {c['runs']})")
    return rows, copy_t["copy"] * 1e3


# --------------------------------------------------------------------------- CLI


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


def imgconv_exe() -> list[str]:
    exe = Path(sys.executable).parent / "imgconv"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("imgconv")
    return [found] if found else [sys.executable, "-m", "imgconv"]


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


def im_direction(convert: str, tmp: Path) -> str:
    """Whether ImageMagick's ``-morphology Convolve`` correlates or convolves (one-hot test)."""
    dot = np.zeros((7, 7), np.uint8)
    dot[3, 3] = 200
    src, dst = tmp / "dot.png", tmp / "dot_out.png"
    cv2.imwrite(str(src), dot)
    subprocess.run([convert, str(src), "-morphology", "Convolve", "3x3: 1,0,0 0,0,0 0,0,0",
                    str(dst)], check=True, capture_output=True)
    out = cv2.imread(str(dst), cv2.IMREAD_GRAYSCALE)
    y, x = np.unravel_index(int(np.argmax(out)), out.shape)
    # correlate: out(y,x) = F(0,0) I(y-1,x-1) moves the dot to (4,4); convolve to (2,2)
    return {(4, 4): "correlate", (2, 2): "convolve"}.get((int(y), int(x)), f"unclear ({y},{x})")


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
    return env


def gray_png(path: Path, n: int) -> None:
    y, x = np.mgrid[0:n, 0:n].astype(np.float32) / n
    a = 127 + 100 * np.sin(7 * x + 3 * np.cos(4 * y))
    a += np.random.default_rng(0).normal(0, 5, a.shape).astype(np.float32)
    cv2.imwrite(str(path), np.clip(np.rint(a), 0, 255).astype(np.uint8))


def cli_case(name: str, src: Path, convert: str | None, k: np.ndarray, spec: str, reps: int,
             env: dict[str, str], tmp: Path) -> Result:
    """imgconv (the 31x31 filter, and an identity filter: start-up + I/O only) and
    ImageMagick on one file, interleaved, best of ``reps`` whole processes each."""
    stem = src.stem
    out_ic, out_id, out_im = (tmp / f"{stem}_{w}.png" for w in ("imgconv", "identity", "im"))
    ic = imgconv_exe() + ["apply", str(src), "--mode", "convolve", "--boundary", "reflect",
                          "--overwrite", "-q"]
    cmds: dict[str, list[str]] = {
        "imgconv": ic + ["-f", spec, "-o", str(out_ic)],
        "imgconv_identity": ic + ["-f", "identity", "-o", str(out_id)],
    }
    if convert is not None:
        kstr = f"{k.shape[1]}x{k.shape[0]}: " + " ".join(
            ",".join(f"{v:.10g}" for v in row) for row in k)
        # -virtual-pixel mirror is "d c b a [a b c d]" = imgconv reflect (checked on a row);
        # PNG24: keeps 8-bit RGB whatever the content
        cmds["imagemagick"] = [convert, str(src), "-virtual-pixel", "mirror", "-morphology",
                               "Convolve", kstr, f"PNG24:{out_im}"]
    wall(cmds["imgconv"], 1, env=env)  # warm-up: bytecode cache, page cache
    best = dict.fromkeys(cmds, float("inf"))
    for _ in range(reps):
        for c, cmd in cmds.items():
            best[c] = min(best[c], wall(cmd, 1, env=env))
    res: Result = {"case": name, "runs": reps}
    res.update({f"{c}_ms": t * 1e3 for c, t in best.items()})
    log(f"  {name}:")
    log(f"    imgconv apply -f {spec:18s} {ms(best['imgconv']):>8s} ms  (best of {reps})")
    log(f"    imgconv apply -f identity           {ms(best['imgconv_identity']):>8s} ms  "
        "(start-up + read + write only)")
    if convert is not None:
        a, b = read_rgb(out_ic).astype(np.int32), read_rgb(out_im).astype(np.int32)
        res["max_level_diff"] = int(np.abs(a - b).max()) if a.shape == b.shape else None
        res["ratio_im_over_imgconv"] = best["imagemagick"] / best["imgconv"]
        log(f"    ImageMagick -morphology Convolve    {ms(best['imagemagick']):>8s} ms  "
            f"-> ImageMagick / imgconv = {res['ratio_im_over_imgconv']:.1f}x (goal >= 20); "
            f"PNGs differ by at most {res['max_level_diff']} level(s)")
    return res


def bench_cli(args: argparse.Namespace, tmp: Path, env: dict[str, str]) -> Result:
    n = args.cli_size
    spec = f"gaussian:sigma={SIGMA_31}"
    log(f"\n## CLI: 31x31 Gaussian ({spec}), convolve, reflect; whole processes, wall clock")
    k = np.asarray(imgconv.load_filter(spec).array, dtype=np.float64)
    if k.shape != (31, 31):
        raise RuntimeError(f"{spec} is {k.shape}, expected 31x31")
    res: Result = {"filter": spec, "kernel_shape": list(k.shape), "cases": []}
    convert = find_imagemagick()
    if convert is None:
        log("  ImageMagick: not found (apt-get install imagemagick); timing imgconv only")
        res["imagemagick"] = None
    else:
        version = subprocess.run([convert, "-version"], capture_output=True, text=True).stdout
        res["imagemagick"] = version.splitlines()[0].replace("Version: ", "").split(" https")[0]
        res["imagemagick_direction"] = im_direction(convert, tmp)
        log(f"  {res['imagemagick']} at {convert}: '-morphology Convolve' is a "
            f"{res['imagemagick_direction']} (one-hot test); imgconv runs --mode convolve")
    src = tmp / "cli_rgb.png"
    if args.image:
        a = cv2.resize(read_rgb(Path(args.image)), (n, n), interpolation=cv2.INTER_CUBIC)
        write_rgb_png(src, a)
        name = f"{Path(args.image).name} resized to {n}x{n} RGB PNG"
    else:
        write_rgb_png(src, synthetic_rgb(n))
        name = f"synthetic {n}x{n} RGB PNG"
    res["cases"].append(cli_case(name, src, convert, k, spec, 1 if args.quick else 3, env, tmp))
    if not args.quick:
        gray = tmp / "cli_gray.png"
        gray_png(gray, 2048)
        res["cases"].append(cli_case("synthetic 2048x2048 gray PNG (issue 6's case)", gray,
                                     convert, k, spec, 2, env, tmp))
    return res


def bench_startup(args: argparse.Namespace, env: dict[str, str]) -> Result:
    log("\n## Start-up (whole processes)")
    reps = 3 if args.quick else 10
    wall(imgconv_exe() + ["--help"], 1, env=env)  # bytecode cache
    wall([sys.executable, "-c", "import imgconv.cli"], 1, env=env)
    res = {
        "python_pass_ms": wall([sys.executable, "-c", "pass"], reps, env=env) * 1e3,
        "import_cli_ms": wall([sys.executable, "-c", "import imgconv.cli"], reps,
                              env=env) * 1e3,
        "help_ms": wall(imgconv_exe() + ["--help"], reps, env=env) * 1e3,
    }
    log(f"  python -c pass             {res['python_pass_ms']:9.1f} ms  (best of {reps})")
    log(f"  python -c 'import imgconv.cli' {res['import_cli_ms']:5.1f} ms")
    log(f"  imgconv --help             {res['help_ms']:9.1f} ms")
    return res


def bench_batch(args: argparse.Namespace, tmp: Path, env: dict[str, str]) -> Result:
    count = 12 if args.quick else 40
    side = 512
    log(f"\n## Batch: {count} RGB PNGs of {side}x{side}, -f gaussian5, whole processes")
    src = tmp / "batch_in"
    src.mkdir()
    for i in range(count):
        write_rgb_png(src / f"img{i:03d}.png", synthetic_rgb(side, seed=i))
    res: Result = {"files": count, "side": side}
    reps = 1 if args.quick else 3
    best = {1: float("inf"), 2: float("inf")}
    for r in range(reps):  # interleaved: 1, 2, 1, 2, ...
        for workers in (1, 2):
            out = tmp / f"batch_out_{workers}_{r}"
            cmd = imgconv_exe() + ["batch", str(src), "-o", str(out), "-f", "gaussian5",
                                   "--workers", str(workers), "-q"]
            best[workers] = min(best[workers], wall(cmd, 1, env=env))
            produced = len(list(out.glob("*.png")))
            if produced != count:
                raise RuntimeError(f"batch wrote {produced} of {count} files")
            shutil.rmtree(out)
    for workers in (1, 2):
        res[f"workers_{workers}_s"] = best[workers]
        res[f"workers_{workers}_files_per_s"] = count / best[workers]
        log(f"  --workers {workers}: {best[workers]:6.2f} s  {count / best[workers]:6.1f} files/s "
            f"(best of {reps})")
    res["speedup_2_over_1"] = res["workers_1_s"] / res["workers_2_s"]
    log(f"  2 workers / 1 worker throughput: {res['speedup_2_over_1']:.2f}x")
    return res


# --------------------------------------------------------------------------- report


def markdown(report: Result) -> str:
    m = report["machine"]
    lines = [
        f"Run {m['date']} on {m['nproc']} cores, {m['cpu']}; Python {m['python']}, "
        f"numpy {m['numpy']}, scipy {m['scipy']}, OpenCV {m['cv2']} "
        f"({m['cv2_threads']} threads), imgconv {m['imgconv']}"
        + (f"; OPENBLAS_CORETYPE={m['openblas_coretype']}" if m["openblas_coretype"] else "")
        + ".",
        "",
    ]
    lib = report.get("library")
    if lib:
        lines += [
            f"Library, {report['args']['size']}² float32, correlate, reflect; milliseconds "
            "(best of N, interleaved) and ratio to the best OpenCV call of the same run "
            "(lower is better); err = max|R − filter2D| / (Σ|F|·max|I|), must be ≤ 1e-4. "
            f"One read+write pass of the image (`img.copy()`): {report['copy_ms']:.1f} ms.",
            "",
            "| kernel | auto chose | imgconv auto ms | best OpenCV ms | **auto / OpenCV** "
            "| filter2D ms | sepFilter2D ms | scipy.ndimage ms | fftconvolve ms | auto err |",
            "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|",
        ]
        for r in lib:
            c = r["contenders"]

            def cell(name: str, c: dict[str, Result] = c) -> str:
                v = c.get(name)
                if v is None:
                    return "–"
                if v.get("skipped"):
                    e = v.get("estimated_ms")
                    return f"skipped (~{e / 1e3:.1f} s est.)" if e else "skipped"
                return f"{v['ms']:.1f} (×{v['ratio_to_best_cv']:.2f})"

            lines.append(
                f"| {r['kernel']} | {r['auto_method']} | {c['imgconv auto']['ms']:.1f}"
                f" | {r['best_cv_ms']:.1f} ({r['best_cv'].removeprefix('cv2.')}) "
                f"| **{r['ratio']:.2f}** | {cell('cv2.filter2D')} | {cell('cv2.sepFilter2D')} "
                f"| {cell('scipy.ndimage.correlate')} | {cell('scipy.signal.fftconvolve')} "
                f"| {r['err']:.1e} |")
        extra = [n for r in lib for n in r["contenders"] if n.startswith("imgconv ")
                 and n != "imgconv auto"]
        if extra:
            lines += ["", "imgconv by explicit method (ms, ratio to best OpenCV):", "",
                      "| kernel | auto | direct | separable | fft |", "|---|--:|--:|--:|--:|"]
            for r in lib:
                c = r["contenders"]
                cells = []
                for m_ in ("auto", "direct", "separable", "fft"):
                    v = c.get(f"imgconv {m_}")
                    cells.append("–" if v is None else
                                 f"{v['ms']:.1f} (×{v['ratio_to_best_cv']:.2f})")
                lines.append(f"| {r['kernel']} | " + " | ".join(cells) + " |")
        lines.append("")
    cli = report.get("cli")
    if cli:
        im = cli.get("imagemagick")
        lines += [f"CLI, 31×31 Gaussian (`{cli['filter']}`), whole processes, wall clock"
                  + (f"; {im}, whose `-morphology Convolve` is a "
                     f"{cli['imagemagick_direction']}" if im else "; ImageMagick not found")
                  + ".", "",
                  "| file | imgconv ms | imgconv `-f identity` ms | ImageMagick ms "
                  "| **ImageMagick / imgconv** | max PNG diff (levels) |",
                  "|---|--:|--:|--:|--:|--:|"]
        for c in cli["cases"]:
            imt = c.get("imagemagick_ms")
            im_ms = f"{imt:.0f}" if imt else "–"
            ratio = f"**{c['ratio_im_over_imgconv']:.1f}×**" if imt else "–"
            lines.append(
                f"| {c['case']} | {c['imgconv_ms']:.0f} | {c['imgconv_identity_ms']:.0f} "
                f"| {im_ms} | {ratio} | {c.get('max_level_diff', '–')} |")
        lines.append("")
    st = report.get("startup")
    if st:
        lines += ["| start-up | ms |", "|---|--:|",
                  f"| `python -c pass` | {st['python_pass_ms']:.0f} |",
                  f"| `python -c 'import imgconv.cli'` | {st['import_cli_ms']:.0f} |",
                  f"| `imgconv --help` | {st['help_ms']:.0f} |", ""]
    b = report.get("batch")
    if b:
        lines += [f"| batch ({b['files']} × {b['side']}² RGB PNG, gaussian5) | s | files/s |",
                  "|---|--:|--:|",
                  f"| --workers 1 | {b['workers_1_s']:.2f} | {b['workers_1_files_per_s']:.1f} |",
                  f"| --workers 2 | {b['workers_2_s']:.2f} | {b['workers_2_files_per_s']:.1f} |",
                  f"| 2 workers / 1 worker | {b['speedup_2_over_1']:.2f}× | |", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="a reduced set (fewer kernels, smaller images, fewer repeats): < 1 min")
    ap.add_argument("--full", action="store_true",
                    help="also time scipy.ndimage on 31x31 and 101x101 (about a minute more)")
    ap.add_argument("--json", metavar="OUT", help="write the results to this JSON file")
    ap.add_argument("--image", metavar="PATH",
                    help="a photo for the CLI section (resized to --cli-size); default synthetic")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per contender (best of)")
    ap.add_argument("--rounds", type=int, default=None,
                    help="times the library section is repeated, best of all (default 2; "
                         "--quick 1)")
    ap.add_argument("--budget", type=float, default=4.0,
                    help="seconds of timed runs per contender at most (slow ones run fewer)")
    ap.add_argument("--size", type=int, default=2048, help="library image side")
    ap.add_argument("--cli-size", type=int, default=1024, help="CLI image side")
    ap.add_argument("--no-methods", dest="methods", action="store_false",
                    help="do not also time imgconv's explicit methods")
    ap.add_argument("--only", choices=["library", "cli", "startup", "batch"], action="append",
                    help="run only these sections (repeatable)")
    args = ap.parse_args(argv)
    if args.rounds is None:
        args.rounds = 1 if args.quick else 2
    if args.quick:
        args.repeat = min(args.repeat, 3)
        args.budget = min(args.budget, 1.0)
        args.size = min(args.size, 1024)
        args.cli_size = min(args.cli_size, 512)
    sections = set(args.only or ["library", "cli", "startup", "batch"])
    info = machine_info()
    log(f"imgconv benchmark — {info['date']}")
    log(f"{info['nproc']} cores, {info['cpu']}; Python {info['python']}, numpy {info['numpy']}, "
        f"scipy {info['scipy']}, OpenCV {info['cv2']} ({info['cv2_threads']} threads)")
    if info["openblas_coretype"]:
        log(f"note: OPENBLAS_CORETYPE={info['openblas_coretype']} is set "
            f"(OPENBLAS_L2_SIZE={info['openblas_l2_size']}); it can slow numpy's BLAS/LAPACK "
            "calls (here only the SVD of a kernel's rank test); left as it is.")
    report: Result = {"machine": info, "args": vars(args)}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="imgconv-bench-") as d:
        tmp = Path(d)
        env = child_env(tmp)
        if "library" in sections:
            report["library"], report["copy_ms"] = bench_library(args)
        if "cli" in sections:
            report["cli"] = bench_cli(args, tmp, env)
        if "startup" in sections:
            report["startup"] = bench_startup(args, env)
        if "batch" in sections:
            report["batch"] = bench_batch(args, tmp, env)
    report["elapsed_s"] = time.perf_counter() - t0
    table = markdown(report)
    report["markdown"] = table
    log("\n## Summary\n")
    log(table)
    failures = []
    for r in report.get("library", []):
        for name, c in r["contenders"].items():
            if not c.get("skipped") and c["err_vs_filter2D"] > EPS:
                failures.append(f"{r['kernel']}: {name} err {c['err_vs_filter2D']:.1e}")
    if failures:
        log("ACCURACY FAILURES: " + "; ".join(failures))
    log(f"\n(total {report['elapsed_s']:.0f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=str) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
