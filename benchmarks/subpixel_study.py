"""Sub-pixel estimators of a template-matching peak, measured on acceptance item 3b's 480
cases (benchmarks/accept_match.py ``subpixel_cases``: 6 photos × 4 textured places × 10
shifts in ±0.45 px × Fourier/cubic-spline shift, 64×64 templates, ``ccoeff_normed``).

Error of a case: the larger of the row and column errors (px).  Per estimator: worst,
median, cases within 0.1 px, places (of 24) within 0.1 px at every shift, time per match.

    PYTHONPATH=$PWD python benchmarks/subpixel_study.py

Not part of the test suite.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi
from scipy.optimize import minimize

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accept_match import subpixel_cases  # noqa: E402

import imgconv  # noqa: E402
from imgconv.peaks import Match  # noqa: E402

Estimate = Callable[[np.ndarray, Match, np.ndarray, np.ndarray], tuple[float, float]]


def _solve(gy: float, gx: float, hyy: float, hxx: float, hxy: float) -> tuple[float, float]:
    """The vertex of ``gy·v + gx·u + hyy·v²/2 + hxx·u²/2 + hxy·u·v`` (``nan`` when it
    does not curve down), clamped to ±1."""
    det = hxx * hyy - hxy * hxy
    if not (hxx < 0 and det > 0):
        return np.nan, np.nan
    return (float(np.clip((hxy * gx - hxx * gy) / det, -1, 1)),
            float(np.clip((hxy * gy - hyy * gx) / det, -1, 1)))


def _interp3(p: np.ndarray) -> tuple[float, float]:
    """The quadratic through the centre and its 4 neighbours (central differences), the
    cross term from the 4 diagonals."""
    gy, gx = (p[2, 1] - p[0, 1]) / 2, (p[1, 2] - p[1, 0]) / 2
    hyy, hxx = p[2, 1] + p[0, 1] - 2 * p[1, 1], p[1, 2] + p[1, 0] - 2 * p[1, 1]
    hxy = (p[2, 2] + p[0, 0] - p[0, 2] - p[2, 0]) / 4
    return _solve(gy, gx, hyy, hxx, hxy)


def _lsq(p: np.ndarray) -> tuple[float, float]:
    """The least-squares quadratic over a (2r+1)² neighbourhood."""
    r = p.shape[0] // 2
    v, u = np.mgrid[-r:r + 1, -r:r + 1].astype(float)
    a = np.stack([np.ones(p.size), v.ravel(), u.ravel(), v.ravel() ** 2 / 2,
                  u.ravel() ** 2 / 2, (u * v).ravel()], axis=1)
    c = np.linalg.lstsq(a, p.ravel(), rcond=None)[0]
    return _solve(c[1], c[2], c[3], c[4], c[5])


def _axes(p: np.ndarray) -> tuple[float, float]:
    out = []
    for b, c, a in ((p[0, 1], p[1, 1], p[2, 1]), (p[1, 0], p[1, 1], p[1, 2])):
        curve = b - 2 * c + a
        out.append(float(np.clip((b - a) / (2 * curve), -0.5, 0.5)) if curve < 0 else 0.0)
    return out[0], out[1]


def _around(s: np.ndarray, m: Match, r: int) -> np.ndarray | None:
    if m.y < r or m.x < r or m.y + r >= s.shape[0] or m.x + r >= s.shape[1]:
        return None
    return s[m.y - r:m.y + r + 1, m.x - r:m.x + r + 1]


def _with_fallback(fit: Callable[[np.ndarray], tuple[float, float]], r: int = 1,
                   log: bool = False) -> Estimate:
    def est(s: np.ndarray, m: Match, image: np.ndarray, tpl: np.ndarray) -> tuple[float, float]:
        p = _around(s, m, r)
        if p is None or (log and not (p > 0).all()):
            return m.y_subpixel, m.x_subpixel
        dy, dx = fit(np.log(p) if log else p)
        if not np.isfinite(dy):
            return m.y_subpixel, m.x_subpixel
        return m.y + dy, m.x + dx
    return est


def current(s: np.ndarray, m: Match, image: np.ndarray, tpl: np.ndarray) -> tuple[float, float]:
    return m.y_subpixel, m.x_subpixel


def bicubic_map(s: np.ndarray, m: Match, image: np.ndarray,
                tpl: np.ndarray) -> tuple[float, float]:
    """The maximum of the score map's cubic spline (a 9×9 patch), Nelder-Mead from the
    3×3 estimate, within ±1 of the peak."""
    p = _around(s, m, 4)
    if p is None:
        return m.y_subpixel, m.x_subpixel
    coef = ndi.spline_filter(p, order=3, mode="mirror")

    def f(z: np.ndarray) -> float:
        if abs(z[0]) > 1 or abs(z[1]) > 1:
            return np.inf
        return -float(ndi.map_coordinates(coef, [[4 + z[0]], [4 + z[1]]], order=3,
                                          mode="mirror", prefilter=False)[0])
    z0 = np.array([m.y_subpixel - m.y, m.x_subpixel - m.x])
    r = minimize(f, z0, method="Nelder-Mead", options={"xatol": 1e-3, "fatol": 1e-12,
                 "initial_simplex": [z0, z0 + [0.1, 0], z0 + [0, 0.1]]})
    return m.y + r.x[0], m.x + r.x[1]


def library_refine(s: np.ndarray, m: Match, image: np.ndarray,
                   tpl: np.ndarray) -> tuple[float, float]:
    """imgconv.matching.refine: the score's exact formula on the image interpolated
    (cubic spline) at sub-pixel offsets, maximised."""
    from imgconv.matching import refine

    r = refine(image, tpl, [m])[0]
    return r.y_subpixel, r.x_subpixel


ESTIMATORS: dict[str, Estimate] = {
    "least-squares quadratic 3×3 (today)": current,
    "interpolating quadratic 3×3": _with_fallback(_interp3),
    "least-squares quadratic 3×3 on log(score)": _with_fallback(_lsq, log=True),
    "interpolating quadratic 3×3 on log(score)": _with_fallback(_interp3, log=True),
    "separable Gaussian (axis parabolas on log)": _with_fallback(_axes, log=True),
    "axis parabolas (the older one)": _with_fallback(_axes),
    "least-squares quadratic 5×5": _with_fallback(_lsq, r=2),
    "least-squares quadratic 5×5 on log(score)": _with_fallback(_lsq, r=2, log=True),
    "bicubic spline of the map, maximised": bicubic_map,
}


def main() -> None:
    if "--map-only" not in sys.argv:
        ESTIMATORS["refine: spline-interpolated image, exact score, maximised"] = \
            library_refine
    errs: dict[str, list[float]] = {k: [] for k in ESTIMATORS}
    places: dict[str, dict[str, float]] = {k: {} for k in ESTIMATORS}
    worst: dict[str, tuple[float, str]] = {k: (0.0, "") for k in ESTIMATORS}
    secs: dict[str, float] = dict.fromkeys(ESTIMATORS, 0.0)
    for place, kind, (dy, dx), image, tpl in subpixel_cases():
        s = imgconv.match_template(image, tpl)
        m = imgconv.find_peaks(s, top=1)[0]
        for name, est in ESTIMATORS.items():
            t = time.perf_counter()
            fy, fx = est(s, m, image, tpl)
            secs[name] += time.perf_counter() - t
            e = max(abs(fy - (40 + dy)), abs(fx - (40 + dx)))
            errs[name].append(e)
            places[name][place] = max(places[name].get(place, 0.0), e)
            if e > worst[name][0]:
                worst[name] = (e, f"{place}, {kind} ({dy}, {dx})")
    n = len(errs[next(iter(errs))])
    print(f"{n} cases\n")
    print("| estimator | worst px | median px | ≤ 0.1 px | places all ≤ 0.1 | ms/match |"
          " worst case |")
    print("|---|---|---|---|---|---|---|")
    for name in ESTIMATORS:
        v = np.array(errs[name])
        good = sum(e <= 0.1 for e in places[name].values())
        print(f"| {name} | {v.max():.3f} | {np.median(v):.3f} | {(v <= 0.1).sum()}/{n} | "
              f"{good}/{len(places[name])} | {1000 * secs[name] / n:.2f} | {worst[name][1]} |")


if __name__ == "__main__":
    main()
