"""Shared by benchmarks/accept_match.py: a brute-force float64 oracle of OpenCV's six
``matchTemplate`` formulas (masked forms as its documentation writes them), each window's
predicted round-off, and the photos (scikit-image's shipped images) and places used.

Not part of the test suite.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from skimage import data

EPS = float(np.finfo(np.float64).eps)


# ------------------------------------------------------------------------------- oracle
def oracle(image: np.ndarray, template: np.ndarray, method: str,
           mask: np.ndarray | None = None, chunk: int = 8) -> dict[str, np.ndarray]:
    """OpenCV's documented formulas, literally, in float64: ``score`` (NaN where a
    normed denominator is exactly 0), ``e_img`` (the window's part of the denominator)
    and ``scale`` (the window's Cauchy-Schwarz scale of the unnormalized score)."""
    img = np.asarray(image, np.float64)
    tpl = np.asarray(template, np.float64)
    if img.ndim == 2:
        img, tpl = img[:, :, None], tpl[:, :, None]
    h, w, c = tpl.shape
    if mask is None:
        m = np.ones((h, w, c))
    else:
        mk = np.asarray(mask, np.float64)
        m = np.broadcast_to(mk if mk.ndim == 3 else mk[:, :, None], (h, w, c)).copy()
    # to (C, h, w), the layout of sliding_window_view's windows
    T, M = tpl.transpose(2, 0, 1), m.transpose(2, 0, 1)
    win_all = sliding_window_view(img, (h, w), axis=(0, 1))  # (Ho, Wo, C, h, w)
    ho, wo = win_all.shape[:2]
    score, e_img = np.empty((ho, wo)), np.empty((ho, wo))
    family = method.removesuffix("_normed")
    msum = M.sum(axis=(1, 2))  # per channel
    # means by two passes: the second one (at the deviations' scale) removes the first's
    # rounding, an ulp of the offset (1e-10 at 1e6), which a fractional mask would not
    # cancel
    Td = T - ((M * T).sum(axis=(1, 2)) / msum)[:, None, None]
    Tp = M * (Td - ((M * Td).sum(axis=(1, 2)) / msum)[:, None, None])
    t_cc = float((Tp * Tp).sum())
    t_plain = float(((T * M) ** 2).sum())
    for y0 in range(0, ho, chunk):
        win = win_all[y0:y0 + chunk]
        if family == "ccoeff":
            mean = (win * M).sum(axis=(3, 4)) / msum  # (rows, Wo, C), first pass
            Id = win - mean[..., None, None]  # second pass
            Ip = M * (Id - ((Id * M).sum(axis=(3, 4)) / msum)[..., None, None])
            num = (Ip * Tp).sum(axis=(2, 3, 4))
            e = (Ip * Ip).sum(axis=(2, 3, 4))
        else:
            e = ((win * M) ** 2).sum(axis=(2, 3, 4))
            if family == "sqdiff":
                num = (((T - win) * M) ** 2).sum(axis=(2, 3, 4))
            else:
                num = (T * win * M * M).sum(axis=(2, 3, 4))
        score[y0:y0 + chunk] = num
        e_img[y0:y0 + chunk] = e
    t_part = t_cc if family == "ccoeff" else t_plain
    scale = t_part + e_img if family == "sqdiff" else np.sqrt(t_part * e_img)
    if method.endswith("_normed"):
        den = np.sqrt(t_part * e_img)
        with np.errstate(divide="ignore", invalid="ignore"):
            score = np.where(den > 0, score / np.where(den > 0, den, 1), np.nan)
    return {"score": score, "e_img": e_img, "scale": scale, "t_part": np.float64(t_part)}


def predicted(ref: dict[str, np.ndarray], image: np.ndarray, method: str) -> np.ndarray:
    """Each window's score is known to about this (module text): ``eps·P·s²·C / E``."""
    img = np.asarray(image, np.float64)
    chans = 1 if img.ndim == 2 else img.shape[2]
    pixels = img.shape[0] * img.shape[1]
    if method.startswith("ccoeff"):
        s = float(np.max(np.abs(img - (img.max() + img.min()) / 2)))
    else:
        s = float(np.max(np.abs(img)))
    e_img = ref["e_img"]
    energy = e_img if not method.startswith("sqdiff") else (
        np.sqrt(ref["t_part"] * e_img) if method.endswith("_normed") else ref["scale"])
    with np.errstate(divide="ignore"):
        out: np.ndarray = EPS * pixels * s * s * chans / energy
    return out


def compare(ours: np.ndarray, ref: dict[str, np.ndarray], image: np.ndarray, method: str,
            mask: np.ndarray | None) -> dict[str, Any]:
    """The largest error over ordinary windows, over near-flat ones relative to their
    tolerance, and the undefined windows (must be 0)."""
    score = ref["score"]
    pred = predicted(ref, image, method)
    if method.endswith("_normed"):
        defined = np.isfinite(score)
        err = np.abs(ours - np.where(defined, score, 0)) / np.maximum(1.0, np.abs(
            np.where(defined, score, 0)))
    else:  # always defined; a window of scale 0 (all zero): relative to the map's largest
        defined = np.ones(score.shape, dtype=bool)
        local = ref["scale"] > 0
        err = np.abs(ours - score) / np.where(local, ref["scale"], ref["scale"].max())
        pred = np.where(local, pred, 0.0)
    tol = np.maximum(1e-9, 16 * pred)
    ordinary = defined & (16 * pred <= 1e-9)
    flat = defined & ~ordinary
    out: dict[str, Any] = {
        "ordinary": int(ordinary.sum()), "near_flat": int(flat.sum()),
        "undefined": int((~defined).sum()),
        "err_ordinary": float(err[ordinary].max()) if ordinary.any() else 0.0,
        "ratio_flat": float((err[flat] / tol[flat]).max()) if flat.any() else 0.0,
        "err_flat": float(err[flat].max()) if flat.any() else 0.0,
        "undefined_bad": float(np.abs(ours[~defined]).max()) if (~defined).any() else 0.0,
        "finite": bool(np.isfinite(ours).all()),
        "ok": bool((err[defined] <= tol[defined]).all() and np.isfinite(ours).all()
                   and ((~defined).sum() == 0 or np.abs(ours[~defined]).max() == 0)),
    }
    return out


# ------------------------------------------------------------------------------- photos
def photos() -> dict[str, tuple[np.ndarray, tuple[int, int, int, int], tuple[int, int, int, int]]]:
    """name -> (image, image box (y, x, H, W), template box (y, x, h, w)) on real photos."""
    cam = data.camera()
    coffee = data.coffee()
    astro = data.astronaut()
    chelsea = data.chelsea()
    painted = cam.copy()  # a flat region and a black one: undefined and near-flat windows
    painted[190:240, 170:230] = 90
    painted[250:290, 240:285] = 0
    return {
        "camera grey u8": (cam, (180, 160, 120, 132), (215, 200, 19, 27)),
        "camera grey u8, flat + black regions": (painted, (180, 160, 120, 132),
                                                 (215, 250, 19, 27)),
        "camera grey u8, 40x36 tpl": (cam, (150, 180, 130, 140), (190, 230, 40, 36)),
        "camera grey u8, 41x41 tpl, 440 rows (window sums split between threads)": (
            cam, (40, 150, 440, 200), (250, 230, 41, 41)),
        "camera grey +1e6 f64": (cam.astype(np.float64) / 255 + 1e6, (180, 160, 110, 120),
                                 (215, 200, 19, 27)),
        "moon grey u8 (smooth)": (data.moon(), (200, 200, 110, 110), (240, 240, 24, 24)),
        "coffee grey f64": (cv2.cvtColor(coffee, cv2.COLOR_RGB2GRAY).astype(np.float64) / 255,
                            (100, 250, 110, 120), (140, 280, 21, 21)),
        "astronaut RGB u8": (astro, (170, 190, 100, 110), (100 + 90, 240, 15, 18)),
        "coffee RGB u8, 36x34 tpl": (coffee, (120, 260, 120, 120), (150, 300, 36, 34)),
        "chelsea RGB f32": (chelsea.astype(np.float32) / 255, (80, 150, 100, 104),
                            (120, 190, 17, 17)),
    }


def masks(h: int, w: int, rng: np.random.Generator) -> dict[str, np.ndarray | None]:
    yy, xx = np.mgrid[:h, :w]
    disc = (((yy - (h - 1) / 2) / (h / 2)) ** 2 + ((xx - (w - 1) / 2) / (w / 2)) ** 2) <= 1
    return {"none": None, "binary": disc.astype(np.float64),
            "weights": np.clip(rng.random((h, w)) * 1.2 - 0.1, 0, 1)}


def box(a: np.ndarray, b: tuple[int, int, int, int]) -> np.ndarray:
    y, x, h, w = b
    return np.ascontiguousarray(a[y:y + h, x:x + w])




def textured_places(a: np.ndarray, k: int, side: int = 64,
                    margin: int = 80) -> list[tuple[int, int]]:
    """The ``k`` centres of ``side``² windows most textured in both directions (the
    smaller eigenvalue of the gradients' structure tensor: a place that can be located
    along both axes, not an edge), more than 90 px apart, ``margin`` from the border."""
    from scipy import ndimage as ndi

    gy, gx = np.gradient(a.astype(np.float64))
    sxx, syy, sxy = (ndi.uniform_filter(v, side) for v in (gx * gx, gy * gy, gx * gy))
    lmin = (sxx + syy) / 2 - np.sqrt(((sxx - syy) / 2) ** 2 + sxy**2)
    inner = lmin[margin:-margin, margin:-margin]
    places: list[tuple[int, int]] = []
    for i in np.argsort(inner, axis=None)[::-1]:
        cy, cx = (int(v) + margin for v in np.unravel_index(i, inner.shape))
        if all(max(abs(cy - py), abs(cx - px)) > 90 for py, px in places):
            places.append((cy, cx))
        if len(places) == k:
            break
    return places


def grey_photos() -> dict[str, np.ndarray]:
    def g(a: np.ndarray) -> np.ndarray:
        return np.asarray(cv2.cvtColor(a, cv2.COLOR_RGB2GRAY))

    return {"camera": data.camera(), "coffee": g(data.coffee()),
            "astronaut": g(data.astronaut()), "chelsea": g(data.chelsea()),
            "moon": data.moon(), "rocket": g(data.rocket())}
