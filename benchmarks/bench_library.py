"""The library section of the benchmark: imgconv against OpenCV, scipy.ndimage and
scipy.signal on one 2048² float32 image, kernel class by kernel class.

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import scipy.fft
import scipy.ndimage as ndi
import scipy.signal
from bench_util import (
    EPS,
    SIGMA_31,
    Result,
    gaussian_1d,
    log,
    ms,
    rel_err,
    svd_terms,
    time_call,
    time_interleaved,
    write_text_kernel,
)

import imgconv
import imgconv.engine
import imgconv.options

REFLECT = cv2.BORDER_REFLECT
SEP2 = "OpenCV 2×sep"  # the rank-2 peer: two sepFilter2D calls summed (not a "best OpenCV")


@dataclass
class KernelCase:
    """A kernel class: ``k`` as handed to imgconv (an array, or the Kernel that
    ``load_filter`` returned), its weights in float64, and its separable terms when it
    is known to be a sum of ``len(terms)`` outer products."""

    label: str
    k: Any
    weights: np.ndarray
    terms: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    direct: bool = True  # also time method="direct" (31x31: ~0.2 s a call; --full does)


def gaussian_kernels(tmp: Path) -> list[KernelCase]:
    """The 31×31 Gaussians: float64 outer product, float32 outer product, 8-digit text."""
    g64 = gaussian_1d(SIGMA_31, 15)
    g32 = gaussian_1d(SIGMA_31, 15, np.float32)
    k32 = np.outer(g32, g32)  # stays float32, as a user's np.outer of float32 factors
    txt = tmp / "gaussian31.txt"
    write_text_kernel(txt, np.outer(g64, g64), digits=8)
    from_file = imgconv.load_filter(txt)
    file_weights = np.asarray(from_file.array, dtype=np.float64)
    g64f = g64.astype(np.float32)
    return [
        KernelCase("31x31 gaussian (rank 1)", np.outer(g64, g64), np.outer(g64, g64),
                   [(g64f, g64f)]),
        KernelCase("31x31 gaussian float32 (rank 1)", k32, k32.astype(np.float64),
                   [(g32, g32)], direct=False),
        KernelCase("31x31 gaussian 8-digit text (rank 1)", from_file, file_weights,
                   svd_terms(file_weights, 1), direct=False),
    ]


def rank2_kernels() -> list[KernelCase]:
    """Difference of Gaussians (σ 2 and 4, each normalised) and Laplacian of Gaussian
    (σ 4: scipy's gaussian_laplace of a delta): both sums of two outer products."""
    a, b = gaussian_1d(2.0, 15), gaussian_1d(4.0, 15)
    dog = np.outer(a, a) - np.outer(b, b)
    delta = np.zeros((31, 31))
    delta[15, 15] = 1.0
    lap = ndi.gaussian_laplace(delta, 4.0, mode="constant")
    return [KernelCase("31x31 DoG σ2−σ4 (rank 2)", dog, dog, svd_terms(dog, 2), direct=False),
            KernelCase("31x31 LoG σ4 (rank 2)", lap, lap, svd_terms(lap, 2), direct=False)]


def make_kernels(quick: bool, tmp: Path) -> list[KernelCase]:
    rng = np.random.default_rng(6)
    g5 = np.asarray(imgconv.load_filter("gaussian5").array, dtype=np.float64)
    r3, r15, r31, r101 = (rng.random((n, n)) for n in (3, 15, 31, 101))
    ks = [KernelCase("3x3 random", r3, r3),
          KernelCase("5x5 gaussian5 (rank 3)", g5, g5),
          KernelCase("15x15 random", r15, r15)]
    ks += gaussian_kernels(tmp)
    ks += rank2_kernels()
    ks += [KernelCase("31x31 random", r31, r31), KernelCase("101x101 random", r101, r101)]
    if quick:
        ks = [k for k in ks if k.label != "15x15 random"]
    return ks


def make_image(n: int) -> np.ndarray:
    """A seeded random float32 image in [0, 1): the worst case for nothing but realistic."""
    rng = np.random.default_rng(2048)
    return rng.random((n, n), dtype=np.float32)


def explicit_methods(case: KernelCase, full: bool) -> list[str]:
    """imgconv's methods other than auto (as ``imgconv.options.METHODS`` lists them today)
    that accept this kernel: each is tried on a small image first."""
    kh, kw = case.weights.shape
    small = np.zeros((64, 64), np.float32)
    out = []
    for m in imgconv.options.METHODS:
        slow = kh * kw > 31 * 31 or not case.direct
        if m == "auto" or (m == "direct" and slow and not full):
            continue
        try:
            imgconv.correlate(small, case.k, boundary="reflect", method=m)
        except Exception:  # noqa: BLE001 - "this method does not take this kernel"
            continue
        out.append(m)
    return out


def opencv_contenders(img: np.ndarray, case: KernelCase) -> dict[str, Callable[[], Any]]:
    """filter2D always; sepFilter2D for a rank-1 kernel; for rank 2, two sepFilter2D
    calls summed (the SVD terms), as SEP2."""
    k32 = case.weights.astype(np.float32)
    out: dict[str, Callable[[], Any]] = {
        "cv2.filter2D": lambda: cv2.filter2D(img, -1, k32, borderType=REFLECT)}
    if len(case.terms) == 1:
        (col, row), = case.terms
        out["cv2.sepFilter2D"] = lambda: cv2.sepFilter2D(img, -1, row, col, borderType=REFLECT)
    elif len(case.terms) > 1:
        def summed() -> np.ndarray:
            acc = None
            for col, row in case.terms:
                r = cv2.sepFilter2D(img, -1, row, col, borderType=REFLECT)
                acc = r if acc is None else cv2.add(acc, r, dst=acc)
            return acc
        out[SEP2] = summed
    return out


def library_contenders(args: argparse.Namespace, img: np.ndarray,
                       case: KernelCase) -> tuple[dict[str, Callable[[], Any]], bool]:
    """Every contender for one kernel class (closures over the same arrays); and whether
    scipy.ndimage is among them."""
    kh, kw = case.weights.shape
    pads = ((kh // 2, kh - 1 - kh // 2), (kw // 2, kw - 1 - kw // 2))
    kflip = np.ascontiguousarray(case.weights.astype(np.float32)[::-1, ::-1])

    def fftconv() -> np.ndarray:
        # correlation == convolution with the flipped kernel; pad by the mode, keep valid
        with scipy.fft.set_workers(-1):
            return scipy.signal.fftconvolve(np.pad(img, pads, mode="symmetric"), kflip,
                                            mode="valid")

    contenders: dict[str, Callable[[], Any]] = {
        "imgconv auto": lambda: imgconv.correlate(img, case.k, boundary="reflect")}
    if args.methods and kh * kw <= 5 * 5:  # the image is in 0..1: the caller's bound
        contenders["imgconv bound=1"] = lambda: imgconv.correlate(
            img, case.k, boundary="reflect", bound=1.0)
    contenders.update(opencv_contenders(img, case))
    contenders["scipy.signal.fftconvolve"] = fftconv
    # scipy.ndimage is a plain double-precision loop: seconds for 31x31, ~30 s for 101x101
    run_ndi = args.full or kh * kw <= 15 * 15
    if run_ndi:
        contenders["scipy.ndimage.correlate"] = lambda: ndi.correlate(img, case.weights,
                                                                      mode="reflect")
    if args.methods:
        for m in explicit_methods(case, args.full):
            contenders[f"imgconv {m}"] = lambda m=m: imgconv.correlate(
                img, case.k, boundary="reflect", method=m)
    return contenders, run_ndi


def run_rounds(args: argparse.Namespace, cases: list[Result]) -> None:
    """Time every case's contenders, ``args.rounds`` times; keep the best of all."""
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


def auto_check(args: argparse.Namespace, img: np.ndarray, kc: KernelCase) -> Result:
    """auto against the fastest of imgconv's explicit methods and the best OpenCV call, by
    interleaved runs: each round calls every one once (alternate rounds in reverse order),
    2·repeat + 1 rounds (fewer when they take over 3·budget seconds).  The fastest is the
    one of smallest median time; the ratios are medians of the rounds' own ratios (auto's
    time over the other's in the same round: a machine whose load swings for seconds
    moves both alike)."""
    calls: dict[str, Callable[[], Any]] = {
        "auto": lambda: imgconv.correlate(img, kc.k, boundary="reflect")}
    for m in explicit_methods(kc, args.full):
        calls[m] = lambda m=m: imgconv.correlate(img, kc.k, boundary="reflect", method=m)
    cv = {n: f for n, f in opencv_contenders(img, kc).items() if n.startswith("cv2.")}
    calls.update(cv)
    for f in calls.values():
        f()
    runs: dict[str, list[float]] = {n: [] for n in calls}
    start = time.perf_counter()
    for r in range(2 * args.repeat + 1):
        for name, f in list(calls.items())[::-1] if r % 2 else calls.items():
            runs[name].append(time_call(f)[0])
        if r >= 2 and time.perf_counter() - start > 3 * args.budget:
            break
    med = {n: statistics.median(t) for n, t in runs.items()}
    methods = [n for n in calls if n != "auto" and n not in cv]
    fastest = min(methods, key=lambda n: med[n])
    best_cv = min(cv, key=lambda n: med[n])

    def paired(other: str) -> float:
        return statistics.median(a / b for a, b in zip(runs["auto"], runs[other], strict=True))

    return {"runs": len(runs["auto"]), "median_ms": {n: v * 1e3 for n, v in med.items()},
            "fastest_method": fastest, "auto_vs_fastest": paired(fastest),
            "best_cv": best_cv, "auto_vs_cv": paired(best_cv), "methods_timed": methods}


def auto_md(rows: list[Result], calibration: str) -> list[str]:
    """The Markdown table of :func:`auto_check` (medians, not the best-of times above)."""
    lines = ["", "auto against imgconv's methods and OpenCV: median times of interleaved "
             "runs, and ratios as medians of each round's own ratio "
             f"({calibration}):", "",
             "| kernel | auto chose | auto ms | fastest method (ms) | **auto / fastest** "
             "| best OpenCV (ms) | **auto / OpenCV** | methods timed |",
             "|---|---|--:|---|--:|---|--:|---|"]
    for r in rows:
        a = r["auto_check"]
        med = a["median_ms"]
        lines.append(
            f"| {r['kernel']} | {r['auto_method']} | {med['auto']:.1f} "
            f"| {a['fastest_method']} ({med[a['fastest_method']]:.1f}) "
            f"| **{a['auto_vs_fastest']:.2f}** "
            f"| {a['best_cv'].removeprefix('cv2.')} ({med[a['best_cv']]:.1f}) "
            f"| **{a['auto_vs_cv']:.2f}** | {', '.join(a['methods_timed'])} |")
    return lines + [""]


def calibration_note() -> str:
    """Where auto's cost constants came from in this process, and what that cost."""
    try:
        import imgconv.engine.calibrate as cal
    except ImportError:  # an imgconv from before issue 20 (an A/B run)
        return "this imgconv's fixed cost constants"
    if cal.switched_off():
        return "IMGCONV_CALIBRATION=off: the fixed constants"
    cal.forget()
    path = cal.cache_folder() / cal.FILE_NAME
    before = path.stat().st_mtime_ns if path.exists() else None
    t0 = time.perf_counter()
    cal.costs(np.float32)
    took = time.perf_counter() - t0
    after = path.stat().st_mtime_ns if path.exists() else None
    how = "read from" if before is not None and before == after else "measured now and stored in"
    return f"auto's float32 constants {how} {path} in {took * 1e3:.0f} ms"


def case_row(case: Result, img: np.ndarray, ndi_est: float | None) -> Result:
    """One row of results: times, ratios to the best OpenCV call, errors vs filter2D."""
    kc: KernelCase = case["kc"]
    k64, best, results, runs = kc.weights, case["best"], case["results"], case["runs"]
    kh, kw = k64.shape
    _, auto_method = imgconv.engine.filter_array(img, kc.k, mode="correlate",
                                                 boundary="reflect")
    ref = results["cv2.filter2D"]
    best_cv_name = min((c for c in best if c.startswith("cv2.")), key=lambda c: best[c])
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
            "skipped": True, "estimated_ms": ndi_est * 1e3 if ndi_est is not None else None}
    row: Result = {
        "kernel": kc.label, "shape": [kh, kw], "auto_method": auto_method,
        "terms": len(kc.terms), "best_cv": best_cv_name, "best_cv_ms": best_cv * 1e3,
        "ratio": best["imgconv auto"] / best_cv,
        "err": contenders_out["imgconv auto"]["err_vs_filter2D"],
        "contenders": contenders_out,
    }
    if SEP2 in best:
        row["ratio_to_sep2"] = best["imgconv auto"] / best[SEP2]
    return row


def log_row(row: Result) -> None:
    extra = (f"; imgconv auto / {SEP2} = {row['ratio_to_sep2']:.2f}"
             if "ratio_to_sep2" in row else "")
    log(f"\n### {row['kernel']}  (auto chose: {row['auto_method']}; best OpenCV: "
        f"{row['best_cv']}; imgconv auto / best OpenCV = {row['ratio']:.2f}{extra})")
    for name, c in row["contenders"].items():
        if c.get("skipped"):
            e = c["estimated_ms"]
            why = f"~{e / 1e3:.1f} s estimated" if e else "slow"
            log(f"  {name:28s} skipped ({why}; --full runs it)")
            continue
        flag = "ok" if c["err_vs_filter2D"] <= EPS else "FAIL"
        log(f"  {name:28s} {ms(c['ms'] / 1e3):>9s} ms  x{c['ratio_to_best_cv']:6.2f}  "
            f"err {c['err_vs_filter2D']:.1e} {flag}  (best of {c['runs']})")


def bench_library(args: argparse.Namespace) -> tuple[list[Result], float]:
    n = args.size
    calibration = calibration_note()
    log(f"\n{calibration}")
    img = make_image(n)
    # the cost of one read+write pass over the image, as a yardstick for overheads
    copy_t, _, _ = time_interleaved({"copy": lambda: img.copy()}, 20, 1.0)
    log(f"\n## Library: {n}x{n} float32, correlate, boundary reflect "
        f"(one read+write pass of the image = {ms(copy_t['copy'])} ms; "
        f"{args.rounds} round(s), best of each)")
    with tempfile.TemporaryDirectory(prefix="imgconv-bench-k-") as d:
        kcs = make_kernels(args.quick, Path(d))
    cases: list[Result] = []
    for kc in kcs:
        contenders, run_ndi = library_contenders(args, img, kc)
        cases.append({"label": kc.label, "kc": kc, "contenders": contenders, "ndi": run_ndi})
    run_rounds(args, cases)
    rows: list[Result] = []
    ndi_per_tap: float | None = None
    for case in cases:
        kh, kw = case["kc"].weights.shape
        row = case_row(case, img, ndi_per_tap * kh * kw if ndi_per_tap is not None else None)
        if case["ndi"]:
            ndi_per_tap = case["best"]["scipy.ndimage.correlate"] / (kh * kw)
        row["auto_check"] = auto_check(args, img, case["kc"])
        a = row["auto_check"]
        log(f"  auto / fastest method ({a['fastest_method']}) = {a['auto_vs_fastest']:.2f}, "
            f"auto / {a['best_cv']} = {a['auto_vs_cv']:.2f}  (medians of {a['runs']})")
        log_row(row)
        rows.append(row)
    for line in auto_md(rows, calibration):
        log(line)
    return rows, copy_t["copy"] * 1e3
