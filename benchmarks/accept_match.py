"""Independent acceptance run of issue 21 (``imgconv match``): every "Must show" item
checked against oracles written here, and a Markdown table printed (item, goal, measured,
pass/fail).

- *Oracle*: OpenCV's six documented ``matchTemplate`` formulas (and their masked forms,
  as the ``TemplateMatchModes`` documentation writes them), summed literally in float64
  over every window (``sliding_window_view``, a few output rows at a time), the window
  means by a second pass (no cancellation).  Photos: scikit-image's shipped images.
- *Near-flat windows*: a normalized score's round-off is dominated by the error of the
  window's energy ``E`` (``Σ I'²``, or ``Σ (I·M)²``), which a sum over ``P`` pixels of
  values up to ``s`` knows to about ``eps·P·s²`` (``s`` the largest ``|I − mid|`` for
  ``ccoeff*``, where the offset cancels, else the largest ``|I|``; ``P`` the pixels of
  the image matched).  So a window's score is known to ``pred = eps·P·s²·C / E`` (``C``
  the channels); windows with ``16·pred ≤ 1e-9`` are *ordinary* (tolerance 1e-9),
  the others *near-flat* (tolerance ``16·pred``).  Windows where the oracle's
  denominator is exactly 0 must score 0.
- Unnormalized scores: the difference divided by the window's Cauchy-Schwarz scale
  (``sqrt(Σ T'²·Σ I'²)``, ``sqrt(Σ (T·M)²·Σ (I·M)²)``, ``Σ (T·M)² + Σ (I·M)²`` for
  ``sqdiff``), the same tolerances.

    PYTHONPATH=$PWD python benchmarks/accept_match.py [--quick]

Not part of the test suite; the speed and memory items are benchmarks/bench_match.py's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from match_oracle import (
    box,
    compare,
    grey_photos,
    masks,
    oracle,
    photos,
    predicted,
    textured_places,
)
from skimage import data
from skimage.feature import match_template as sk_match

import imgconv

METHODS = ("sqdiff", "sqdiff_normed", "ccorr", "ccorr_normed", "ccoeff", "ccoeff_normed")
ROWS: list[tuple[str, str, str, bool]] = []
ROOT = Path(__file__).resolve().parent.parent


def row(item: str, goal: str, measured: str, ok: bool) -> None:
    ROWS.append((item, goal, measured, ok))
    print(f"[{'pass' if ok else 'FAIL'}] {item}: {measured}", file=sys.stderr, flush=True)


def check_oracle(quick: bool) -> None:
    rng = np.random.default_rng(21)
    worst: dict[str, Any] = {"ordinary": (0.0, ""), "flat": (0.0, ""), "undef": (0.0, "")}
    counts = [0, 0, 0]
    failures: list[str] = []
    cases = list(photos().items())[:6 if quick else None]
    for name, (full, ibox, tbox) in cases:
        image = box(full, ibox)
        tpl = box(full, tbox)
        for mname, mask in masks(tpl.shape[0], tpl.shape[1], rng).items():
            for method in METHODS:
                ours = imgconv.match_template(image, tpl, method=method, mask=mask)
                ref = oracle(image, tpl, method, mask)
                r = compare(ours, ref, image, method, mask)
                where = f"{name}, {method}, mask {mname}"
                counts[0] += r["ordinary"]
                counts[1] += r["near_flat"]
                counts[2] += r["undefined"]
                if r["err_ordinary"] > worst["ordinary"][0]:
                    worst["ordinary"] = (r["err_ordinary"], where)
                if r["ratio_flat"] > worst["flat"][0]:
                    worst["flat"] = (r["ratio_flat"], where + f" (err {r['err_flat']:.1e})")
                if r["undefined_bad"] > worst["undef"][0]:
                    worst["undef"] = (r["undefined_bad"], where)
                if not r["ok"] or ours.shape != ref["score"].shape:
                    failures.append(where)
    n = len(cases) * 3 * len(METHODS)
    row("1a oracle: every method, grey+colour, no mask / binary / weights",
        "≤1e-9 (abs normed, rel. to Cauchy-Schwarz scale otherwise) on ordinary windows; "
        "near-flat: ≤ 16·eps·P·s²·C/E",
        f"{n} maps on {len(cases)} photo crops, {counts[0]:,} ordinary windows: max err "
        f"{worst['ordinary'][0]:.1e} ({worst['ordinary'][1]}); {counts[1]:,} near-flat: max "
        f"err/tol {worst['flat'][0]:.2g} ({worst['flat'][1]}); {counts[2]:,} undefined "
        f"windows, max |score| {worst['undef'][0]:.1e}; failing maps: "
        f"{', '.join(failures) or 'none'}", not failures)


def check_tiles() -> None:
    """Under a small memory_limit the image is matched in tiles with a halo: the same
    scores (against the oracle, not against the whole-image run)."""
    rng = np.random.default_rng(8)
    worst, where, tilings = 0.0, "", set()
    cases = [("coffee RGB", box(data.coffee(), (60, 200, 230, 260)), (150, 300, 33, 29)),
             ("camera grey", box(data.camera(), (100, 100, 260, 250)), (200, 180, 40, 45))]
    for name, image, (ty, tx, h, w) in cases:
        tpl = np.ascontiguousarray(image[ty - 60:ty - 60 + h, tx - 190:tx - 190 + w]
                                   if name.startswith("coffee") else
                                   image[ty - 100:ty - 100 + h, tx - 100:tx - 100 + w])
        for mname, mask in masks(h, w, rng).items():
            for method in ("sqdiff_normed", "ccorr", "ccoeff_normed"):
                for limit in (3_000_000, 8_000_000):
                    from imgconv.bands import ArraySource
                    from imgconv.matching import prepare

                    tilings.add(prepare(ArraySource(image), tpl, method=method, mask=mask,
                                        memory_limit=limit).tiling.rows)
                    ours = imgconv.match_template(image, tpl, method=method, mask=mask,
                                                  memory_limit=limit)
                    r = compare(ours, oracle(image, tpl, method, mask), image, method, mask)
                    if not r["ok"]:
                        worst, where = np.inf, f"{name} {method} {mname} {limit}: {r}"
                    elif r["err_ordinary"] > worst:
                        worst, where = r["err_ordinary"], f"{name}, {method}, mask {mname}"
    row("1d tiles: memory_limit 3 MB and 8 MB (bands/tiles with a halo), 3 methods × 3 masks",
        "the oracle's scores, as 1a", f"max err on ordinary windows {worst:.1e} ({where}); "
        f"band heights used {sorted(tilings)}", bool(worst <= 1e-9))


def check_skimage() -> None:
    worst = 0.0
    where = ""
    shapes_ok = True
    cases = [(data.camera(), (200, 150, 150, 160), (230, 180, 17, 23)),
             (data.camera(), (60, 60, 200, 200), (100, 100, 48, 40)),
             (cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2GRAY), (100, 250, 120, 130),
              (140, 280, 21, 21)),
             (data.moon(), (0, 0, 160, 170), (40, 40, 30, 30))]
    for k, (full, ibox, tbox) in enumerate(cases):
        image, tpl = box(full, ibox), box(full, tbox)
        for pad in (False, True):
            ours = imgconv.match_template(image, tpl, pad_input=pad)
            theirs = sk_match(image, tpl, pad_input=pad)
            shapes_ok &= ours.shape == theirs.shape
            d = float(np.abs(ours - theirs).max())
            if d > worst:
                worst, where = d, f"case {k}, pad_input={pad}"
    # colour: scikit-image's 3-D matching shares one mean over the channels; OpenCV's
    # (and imgconv's) formula has a mean per channel: a different quantity, shown only
    img, tpl = box(data.astronaut(), (170, 190, 80, 90)), box(data.astronaut(), (190, 240, 15, 18))
    col = float(np.abs(imgconv.match_template(img, tpl) - sk_match(img, tpl)[:, :, 0]).max())
    row("1b scikit-image match_template, pad_input False and True (grey)", "≤1e-6",
        f"max |diff| {worst:.1e} ({where}) over 4 photo crops × 2; shapes equal: {shapes_ok}. "
        f"(Colour not comparable: skimage's 3-D NCC uses one mean across channels, OpenCV's "
        f"formula one per channel — diff {col:.2f} on astronaut)",
        worst <= 1e-6 and shapes_ok)


def check_opencv(quick: bool) -> None:
    rng = np.random.default_rng(5)
    worst = {"normed": (0.0, ""), "ordinary": (0.0, ""), "raw": (0.0, "")}
    unexplained = []
    nonfinite = 0
    capped = 0
    undefined_cv = 0.0
    cases = list(photos().items())[:4 if quick else None]
    for name, (full, ibox, tbox) in cases:
        if name.endswith("+1e6 f64"):
            continue  # not representable in float32
        image = box(full, ibox).astype(np.float32)
        tpl = box(full, tbox).astype(np.float32)
        for mname, mask in masks(tpl.shape[0], tpl.shape[1], rng).items():
            for method in METHODS:
                cvm = getattr(cv2, "TM_" + method.upper())
                if mask is None:
                    theirs = cv2.matchTemplate(image, tpl, cvm)
                else:
                    mk = mask.astype(np.float32)
                    if image.ndim == 3:
                        mk = np.ascontiguousarray(np.repeat(mk[:, :, None], image.shape[2], 2))
                    theirs = cv2.matchTemplate(image, tpl, cvm, mask=mk)
                theirs = theirs.astype(np.float64)
                ours = imgconv.match_template(image, tpl, method=method, mask=mask)
                ref = oracle(image, tpl, method, mask)
                fin = np.isfinite(theirs)
                nonfinite += int((~fin).sum())
                normed = method.endswith("_normed")
                defined = np.isfinite(ref["score"])
                refs = np.where(defined, ref["score"], 0.0)
                # unnormalized: relative to the map's largest (OpenCV's DFT errors are)
                norm = 1.0 if normed else float(np.abs(refs).max())
                d_us = np.abs(ours - theirs) / norm
                d_cv = np.abs(theirs - refs) / norm
                d_me = np.abs(ours - refs) / norm
                if (fin & ~defined).any():
                    undefined_cv = max(undefined_cv, float(np.abs(theirs[fin & ~defined]).max()))
                use = fin & defined
                if method == "sqdiff_normed":  # OpenCV caps it at 1: counted, not compared
                    cap = fin & (refs > 1)
                    capped += int(cap.sum())
                    use &= ~cap
                where = f"{name}, {method}, mask {mname}"
                ordinary = use & (16 * predicted(ref, image, method) <= 1e-9)
                for key, sel in (("normed" if normed else "raw", use),
                                 ("ordinary", ordinary if normed else ordinary[:0])):
                    if sel.any() and float(d_us[sel].max()) > worst[key][0]:
                        i = np.unravel_index(np.argmax(np.where(sel, d_us, -1)), d_us.shape)
                        worst[key] = (float(d_us[i]), f"{where}; there |OpenCV−oracle| "
                                      f"{d_cv[i]:.1e}, |imgconv−oracle| {d_me[i]:.0e}")
                # explained: our distance to OpenCV is OpenCV's distance to the oracle,
                # up to ours to the oracle (the triangle inequality, round-off slack)
                bad = fin & (d_us > (d_cv + d_me) * (1 + 1e-9) + 1e-12)
                if bad.any():
                    unexplained.append(f"{name}/{method}/{mname}: {int(bad.sum())}")
    row("1c OpenCV matchTemplate (float32 inputs, 8 photo crops, masks as float32 weights, "
        "every method)",
        "float32 precision where OpenCV is finite; explained by OpenCV's own distance to "
        "the oracle",
        f"max |imgconv−OpenCV|: normed scores {worst['normed'][0]:.1e} ({worst['normed'][1]})"
        f", on ordinary windows {worst['ordinary'][0]:.1e} ({worst['ordinary'][1]}); "
        f"unnormalized, relative to the map's largest, {worst['raw'][0]:.1e} "
        f"({worst['raw'][1]}); OpenCV non-finite values: {nonfinite}, and up to "
        f"{undefined_cv:.1e} on the windows where a normed formula is 0/0 or x/0 (imgconv "
        f"0; not compared); sqdiff_normed "
        f"windows OpenCV capped at 1 (formula > 1, not compared): {capped}; windows where "
        f"|imgconv−OpenCV| > |OpenCV−oracle| + |imgconv−oracle|: "
        f"{', '.join(unexplained) or 'none'}", not unexplained)


# ------------------------------------------------------------------------------- ranges
def check_ranges() -> None:
    cam = data.camera().astype(np.float64)
    astro = data.astronaut().astype(np.float64)
    img_g = cam[100:260, 100:260].copy()
    img_g[20:70, 30:100] = 77.0  # a flat region
    img_g[90:140, 10:60] = 0.0  # a black region
    img_c = astro[150:280, 150:290].copy()
    img_c[10:60, 20:90] = (12.0, 200.0, 50.0)
    img_c[70:120, 5:50] = 0.0
    h, w = 21, 25
    rng = np.random.default_rng(3)
    single = np.zeros((h, w))
    single[7, 11] = 1.0
    single_frac = np.zeros((h, w))
    single_frac[3, 20] = 0.3
    cases: list[tuple[str, np.ndarray, np.ndarray, np.ndarray | None]] = []
    for tag, img in (("grey", img_g), ("colour", img_c)):
        shp = (h, w) if img.ndim == 2 else (h, w, 3)
        real = img[100:100 + h, 80:80 + w].copy()
        cases += [
            (f"{tag} flat template", img, np.full(shp, 140.0), None),
            (f"{tag} zero template", img, np.zeros(shp), None),
            (f"{tag} near-flat template (1e-9 ripple)", img,
             140.0 + 1e-9 * rng.standard_normal(shp), None),
            (f"{tag} photo template over flat/black regions", img, real, None),
            (f"{tag} single weight 1", img, real, single),
            (f"{tag} single weight 0.3", img, real, single_frac),
            (f"{tag} flat template, binary mask", img, np.full(shp, 140.0),
             (rng.random((h, w)) > 0.5).astype(float)),
            (f"{tag} flat template 0.1 (inexact mean)", img / 255, np.full(shp, 0.1), None),
            (f"{tag} flat template 0.1, weights", img / 255, np.full(shp, 0.1),
             rng.random((h, w))),
            (f"{tag} image offset 1e8", img + 1e8, real + 1e8, None),
        ]
    bad: list[str] = []
    n = 0
    lo_hi = {"ccorr_normed": [np.inf, -np.inf], "ccoeff_normed": [np.inf, -np.inf],
             "sqdiff_normed": [np.inf, -np.inf]}
    for name, img, tpl, mask in cases:
        for method in METHODS:
            s = imgconv.match_template(img, tpl, method=method, mask=mask)
            n += 1
            if not np.isfinite(s).all():
                bad.append(f"{name}/{method}: non-finite")
                continue
            if method in lo_hi:
                lo_hi[method][0] = min(lo_hi[method][0], float(s.min()))
                lo_hi[method][1] = max(lo_hi[method][1], float(s.max()))
            if method in ("ccorr_normed", "ccoeff_normed") and (s.min() < -1 or s.max() > 1):
                bad.append(f"{name}/{method}: {s.min():.3g}..{s.max():.3g}")
            if method.startswith("sqdiff") and s.min() < 0:
                bad.append(f"{name}/{method}: min {s.min():.3g}")
            # a denominator that is zero for every window: the documented 0
            zero = (method == "ccoeff_normed" and "flat template" in name
                    and "near-flat" not in name) or (
                method.endswith("_normed") and "zero template" in name)
            if zero and s.any():
                bad.append(f"{name}/{method}: not 0 (|s| up to {np.abs(s).max():.3g})")
    row("2 ranges on flat templates, flat/black regions, single-weight masks (grey, colour)",
        "ccorr_normed, ccoeff_normed in [−1, 1]; sqdiff_normed ≥ 0; no NaN/inf; 0 where "
        "the template's part of the denominator is 0",
        f"{n} maps; ccorr_normed {lo_hi['ccorr_normed'][0]:.3g}..{lo_hi['ccorr_normed'][1]:.3g}"
        f", ccoeff_normed {lo_hi['ccoeff_normed'][0]:.3g}..{lo_hi['ccoeff_normed'][1]:.3g}, "
        f"sqdiff_normed {lo_hi['sqdiff_normed'][0]:.3g}..{lo_hi['sqdiff_normed'][1]:.3g}; "
        f"violations: {'; '.join(bad) or 'none'}", not bad)


# ------------------------------------------------------------------------------- finding
def check_noisy_patch() -> None:
    rng = np.random.default_rng(64)
    results = []
    for name, full in (("camera", data.camera()), ("astronaut", data.astronaut()),
                       ("coffee", data.coffee()), ("chelsea", data.chelsea())):
        grey = full if full.ndim == 2 else cv2.cvtColor(full, cv2.COLOR_RGB2GRAY)
        for cy, cx in textured_places(grey, 3, margin=40):
            y, x = cy - 32, cx - 32
            patch = full[y:y + 64, x:x + 64].astype(np.float64)
            noisy = np.clip(patch + rng.normal(0, 12, patch.shape), 0, 255)
            s = imgconv.match_template(full, noisy)
            m = imgconv.find_peaks(s, top=1)[0]
            results.append((name, (y, x), (m.y, m.x), m.score))
    # and a smooth place where the noise is as strong as the picture (the sky): reported
    cam = data.camera()
    sky = np.clip(cam[37:101, 310:374] + rng.normal(0, 12, (64, 64)), 0, 255)
    m = imgconv.find_peaks(imgconv.match_template(cam, sky))[0]
    wrong = [r for r in results if r[1] != r[2]]
    row("3a 64×64 patch + Gaussian noise σ=12 (of 255), colour/grey photos × 3 textured "
        "places", "found at its exact place",
        f"{len(results) - len(wrong)}/{len(results)} exact (grey and colour); lowest score "
        f"{min(r[3] for r in results):.3f}; wrong: {wrong or 'none'}. (Not counted: the "
        f"camera's sky, std 2 under noise 12, is found at ({m.y}, {m.x}) instead of "
        f"(37, 310), score {m.score:.2f})", not wrong)


def axis_parabolas(s: np.ndarray, y: int, x: int) -> tuple[float, float]:
    """The previous estimator: parabolas along the middle row and column, ±0.5."""
    out = []
    for b, c, a in ((s[y - 1, x], s[y, x], s[y + 1, x]), (s[y, x - 1], s[y, x], s[y, x + 1])):
        curve = b - 2 * c + a
        out.append(float(np.clip((b - a) / (2 * curve), -0.5, 0.5)) if curve < 0 else 0.0)
    return out[0], out[1]


SHIFT_SEED = 10


def subpixel_cases() -> Iterator[tuple[str, str, tuple[float, float], np.ndarray, np.ndarray]]:
    """Item 3b's cases: (place, kind, (dy, dx), image, template).  The template is the
    64×64 window at the place; the image is the photo shifted by (dy, dx) (Fourier or
    cubic spline), cut so that the template's true position in the score map is
    ``(40 + dy, 40 + dx)``.  Also imported by benchmarks/subpixel_study.py."""
    from scipy import ndimage as ndi

    rng = np.random.default_rng(SHIFT_SEED)
    shifts = [(0.25, 0.0), (0.0, 0.4), (-0.3, 0.2)] + [
        (round(float(u), 3), round(float(v), 3)) for u, v in rng.uniform(-0.45, 0.45, (7, 2))]
    for name, full in grey_photos().items():
        a = full.astype(np.float64)
        spectrum = np.fft.fft2(a)
        for cy, cx in textured_places(a, 4):
            y0, x0 = cy - 32, cx - 32
            tpl = a[y0:y0 + 64, x0:x0 + 64]
            for dy, dx in shifts:
                for kind in ("Fourier", "spline"):
                    if kind == "Fourier":
                        shifted = np.real(np.fft.ifft2(ndi.fourier_shift(spectrum, (dy, dx))))
                    else:
                        shifted = ndi.shift(a, (dy, dx), order=3, mode="reflect")
                    yield (f"{name} template at (y {y0}, x {x0})", kind, (dy, dx),
                           shifted[y0 - 40:y0 + 104, x0 - 40:x0 + 104], tpl)


def check_subpixel() -> None:
    from imgconv.matching import refine

    errs: list[tuple[float, str]] = []
    mapped: list[float] = []
    old: list[float] = []
    per_place: dict[str, float] = {}
    took = 0.0
    for place, kind, (dy, dx), image, tpl in subpixel_cases():
        s = imgconv.match_template(image, tpl)
        m = imgconv.find_peaks(s, top=1)[0]
        t = time.perf_counter()
        r = refine(image, tpl, [m])[0]
        took += time.perf_counter() - t
        e = max(abs(r.y_subpixel - (40 + dy)), abs(r.x_subpixel - (40 + dx)))
        mapped.append(max(abs(m.y_subpixel - (40 + dy)), abs(m.x_subpixel - (40 + dx))))
        oy, ox = axis_parabolas(s, m.y, m.x)
        old.append(max(abs(m.y + oy - (40 + dy)), abs(m.x + ox - (40 + dx))))
        errs.append((e, f"{place}, {kind} shift ({dy}, {dx})"))
        per_place[place] = max(per_place.get(place, 0.0), e)
    values = np.array([e for e, _ in errs])
    worst = max(errs)
    good_places = sum(v <= 0.1 for v in per_place.values())
    row("3b sub-pixel shifts (Fourier and cubic spline) of 6 grey photos, 64×64 template at "
        "the 4 most textured places of each (structure tensor), 10 shifts in ±0.45 px",
        "located within 0.1 px",
        f"as the CLI reports them (find_peaks, then matching.refine on the image, "
        f"{1000 * took / len(errs):.0f} ms a match): worst error {worst[0]:.3f} px "
        f"({worst[1]}); median {np.median(values):.3f}, 95th percentile "
        f"{np.percentile(values, 95):.3f}; {int((values <= 0.1).sum())}/{values.size} cases "
        f"within 0.1 px; places within 0.1 px at every shift: {good_places}/"
        f"{len(per_place)}. find_peaks alone (the 3×3 quadratic of the score map): worst "
        f"{max(mapped):.3f} px, median {np.median(mapped):.3f}, "
        f"{sum(v <= 0.1 for v in mapped)}/{len(mapped)} within 0.1; parabolas along the "
        f"middle row and column: worst {max(old):.3f} px, "
        f"{sum(o <= 0.1 for o in old)}/{len(old)} within 0.1", worst[0] <= 0.1)


def cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "imgconv", "match", *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=300)


def check_cli() -> None:
    from PIL import Image

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        base = data.camera().copy()
        patch = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)[200:248, 180:228]
        places = [(30, 40), (60, 300), (250, 180), (400, 60), (380, 420)]
        for y, x in places:
            base[y:y + 48, x:x + 48] = patch
        Image.fromarray(base).save(tmp / "five.png")
        Image.fromarray(patch).save(tmp / "tpl.png")
        Image.fromarray(data.moon()).save(tmp / "moon.png")
        Image.fromarray(data.astronaut()).save(tmp / "rgb.png")
        r = cli(["five.png", "tpl.png", "--top", "5", "--min-distance", "20"], tmp)
        lines = [ln.split() for ln in r.stdout.splitlines() if ln.strip()]
        got = sorted((int(p[1]), int(p[0])) for p in lines) if all(
            len(p) == 5 for p in lines) else []
        sep = all(max(abs(a[0] - b[0]), abs(a[1] - b[1])) > 20 for i, a in enumerate(got)
                  for b in got[i + 1:])
        ok = r.returncode == 0 and got == sorted(places) and sep and all(
            p[2:4] == ["48", "48"] for p in lines)
        row("3c CLI --top 5 --min-distance 20 on camera with five planted 48² copies",
            "five separated matches at the planted places, lines 'x y width height score'",
            f"exit {r.returncode}; lines {[' '.join(p) for p in lines]}", ok)

        r = cli(["five.png", "tpl.png", "--top", "2", "--json"], tmp)
        try:
            obj = json.loads(r.stdout)
            keys_ok = set(obj) == {"image", "template", "method", "matches"} and all(
                set(m) == {"x", "y", "width", "height", "score", "x_subpixel", "y_subpixel"}
                for m in obj["matches"]) and len(obj["matches"]) == 2
            shown = f"keys {sorted(obj)}, match keys {sorted(obj['matches'][0])}"
        except (ValueError, KeyError, IndexError) as exc:
            keys_ok, shown = False, f"not the documented JSON: {exc!r} {r.stdout[:200]!r}"
        r2 = cli(["five.png", "moon.png", "tpl.png", "--json"], tmp)
        jl = [json.loads(ln) for ln in r2.stdout.splitlines() if ln.strip()]
        r3 = cli(["five.png", "moon.png", "tpl.png"], tmp)
        named = all(ln.split()[0] in ("five.png", "moon.png") for ln in r3.stdout.splitlines())
        ok = r.returncode == 0 and keys_ok and len(jl) == 2 and named
        row("3d --json shape; several images: JSON Lines / lines named by image",
            '{"image","template","method","matches":[{x,y,width,height,score,x_subpixel,'
            'y_subpixel}]}', f"exit {r.returncode}; {shown}; 2 images → {len(jl)} JSON lines "
            f"(exit {r2.returncode}); plain lines start with the image's name: {named}", ok)

        codes = {
            "0 match found": (["five.png", "tpl.png"], 0),
            "1 no match passing --min-score": (["moon.png", "tpl.png", "--min-score", "0.99"], 1),
            "1 one of several images without": (["five.png", "moon.png", "tpl.png",
                                                  "--min-score", "0.99"], 1),
            "1 sqdiff --min-score 0 (a maximum)": (["moon.png", "tpl.png", "-m", "sqdiff",
                                                    "--min-score", "0"], 1),
            "0 sqdiff exact copy --min-score 0": (["five.png", "tpl.png", "-m", "sqdiff",
                                                   "--min-score", "0"], 0),
            "2 missing file": (["nope.png", "tpl.png"], 2),
            "2 unknown method": (["five.png", "tpl.png", "-m", "zncc2"], 2),
            "2 grey template on colour image": (["rgb.png", "tpl.png"], 2),
            "2 template larger than image": (["tpl.png", "five.png"], 2),
            "2 --top 0": (["five.png", "tpl.png", "--top", "0"], 2),
            "2 --mask with --no-mask": (["five.png", "tpl.png", "--mask", "tpl.png",
                                         "--no-mask"], 2),
        }
        got_codes = {k: cli(a, tmp).returncode for k, (a, _) in codes.items()}
        bad = {k: v for k, v in got_codes.items() if v != codes[k][1]}
        rj = cli(["nope.png", "tpl.png", "--json"], tmp)
        try:
            err = json.loads(rj.stdout or rj.stderr)["error"]
            err_ok = err.get("exit_code") == 2 and "message" in err
        except (ValueError, KeyError, TypeError):
            err_ok = False
        row("3e exit codes 0 / 1 / 2; --json error object",
            "0 every image matched, 1 one has none passing --min-score, 2 bad input",
            "; ".join(f"{k}: {v}" for k, v in got_codes.items())
            + f"; --json error object with exit_code 2: {err_ok}", not bad and err_ok)


def table() -> str:
    out = ["| item | goal | measured | result |", "|---|---|---|---|"]
    for item, goal, measured, ok in ROWS:
        cell = measured.replace("|", "\\|")
        out.append(f"| {item} | {goal} | {cell} | {'pass' if ok else '**FAIL**'} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer photos for the oracle items")
    ap.add_argument("--only", default="", help="comma-separated: oracle,tiles,skimage,opencv,"
                    "ranges,noisy,subpixel,cli")
    args = ap.parse_args()
    checks = {"oracle": lambda: check_oracle(args.quick), "tiles": check_tiles,
              "skimage": check_skimage,
              "opencv": lambda: check_opencv(args.quick), "ranges": check_ranges,
              "noisy": check_noisy_patch, "subpixel": check_subpixel, "cli": check_cli}
    want = [w for w in args.only.split(",") if w] or list(checks)
    t0 = time.perf_counter()
    for name in want:
        checks[name]()
    print(table())
    print(f"\n({time.perf_counter() - t0:.0f} s; OpenCV {cv2.__version__}, numpy "
          f"{np.__version__})")


if __name__ == "__main__":
    main()
