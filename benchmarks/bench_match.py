"""Template matching: ``imgconv.match_template`` against OpenCV's ``matchTemplate`` and
scikit-image's ``match_template`` (docs/semantics.md §8).

A real photo (scikit-image's ``camera``, 512²) scaled up to 2048² float32 with OpenCV's
bicubic resize; templates of 32², 128² and 512² cut from it; ``ccoeff_normed``
(``TM_CCOEFF_NORMED``, ``match_template``).  imgconv computes in double precision, OpenCV
in single, scikit-image in the input's (float32 here).  The contenders run interleaved
(each round calls each once, the order reversed every other round); medians of the
rounds and the ratios imgconv / peer are printed.  Goal: imgconv <= 1.2 x OpenCV and
<= 0.5 x scikit-image.

``--memory`` instead runs ``imgconv match big.tif tmpl.png`` on a 12000² 8-bit TIFF with
a 256² template (written to a temporary folder: 144 MB) and prints its wall time and
peak RSS (the process and what it waited for; MB = 10^6 bytes).  Goal: <= 600 MB.

    python benchmarks/bench_match.py [--rounds 7] [--no-skimage]
    python benchmarks/bench_match.py --memory

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from bench_util import child_env, imgconv_exe, log, machine_info, wall_rss

import imgconv

SIDES = (32, 128, 512)
SIZE = 2048


def photo(n: int = SIZE) -> np.ndarray:
    """scikit-image's ``camera`` (512² uint8) as n² float32, bicubic."""
    from skimage import data

    cam = data.camera().astype(np.float32)
    return cv2.resize(cam, (n, n), interpolation=cv2.INTER_CUBIC)


def medians(contenders: dict[str, Callable[[], Any]], rounds: int) -> dict[str, float]:
    """Median seconds of each contender over ``rounds`` interleaved rounds (one warm-up)."""
    for fn in contenders.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in contenders}
    order = list(contenders.items())
    for r in range(rounds):
        for name, fn in order[::-1] if r % 2 else order:
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(ts) for name, ts in times.items()}


def bench_speed(rounds: int, skimage: bool) -> None:
    from skimage.feature import match_template as sk_match

    image = photo()
    log(f"{SIZE}x{SIZE} float32 photo (camera, bicubic x4), ccoeff_normed, medians of "
        f"{rounds} interleaved rounds (ms)")
    log(f"{'template':>9} {'imgconv':>9} {'OpenCV':>9} {'skimage':>9} {'/OpenCV':>8} "
        f"{'/skimage':>9}  max |imgconv - OpenCV|")
    for side in SIDES:
        y, x = SIZE // 3, SIZE // 5
        tpl = np.ascontiguousarray(image[y:y + side, x:x + side])
        contenders: dict[str, Callable[[], Any]] = {
            "imgconv": lambda t=tpl: imgconv.match_template(image, t),
            "opencv": lambda t=tpl: cv2.matchTemplate(image, t, cv2.TM_CCOEFF_NORMED),
        }
        if skimage:
            contenders["skimage"] = lambda t=tpl: sk_match(image, t)
        t = medians(contenders, rounds)
        ours = imgconv.match_template(image, tpl)
        theirs = cv2.matchTemplate(image, tpl, cv2.TM_CCOEFF_NORMED)
        diff = float(np.abs(ours - theirs).max())
        sk = t.get("skimage")
        sk_ms = "–" if sk is None else f"{sk * 1e3:.1f}"
        sk_ratio = "–" if sk is None else f"{t['imgconv'] / sk:.2f}"
        log(f"{side:>6}²   {t['imgconv'] * 1e3:9.1f} {t['opencv'] * 1e3:9.1f} {sk_ms:>9} "
            f"{t['imgconv'] / t['opencv']:8.2f} {sk_ratio:>9}  {diff:.1e}")


def write_big(folder: Path, n: int = 12000, side: int = 256) -> tuple[Path, Path]:
    """A 12000² 8-bit TIFF (uncompressed, written strip by strip) and a 256² PNG template
    cut from it."""
    import tifffile
    from PIL import Image

    src = folder / "big.tif"
    out = tifffile.memmap(src, shape=(n, n), dtype=np.uint8, photometric="minisblack")
    rng = np.random.default_rng(12000)
    x = np.arange(n, dtype=np.float32) / n
    for y0 in range(0, n, 1000):
        y = (np.arange(y0, min(y0 + 1000, n), dtype=np.float32) / n)[:, None]
        a = 128 + 60 * np.sin(70 * x + 30 * np.cos(40 * y)) + 30 * np.cos(400 * x * y)
        a += rng.normal(0, 10, a.shape).astype(np.float32)
        out[y0:y0 + a.shape[0]] = np.clip(np.rint(a), 0, 255).astype(np.uint8)
    out.flush()
    tpl = np.array(out[7000:7000 + side, 3000:3000 + side])
    del out
    Image.fromarray(tpl).save(folder / "tmpl.png")
    return src, folder / "tmpl.png"


def bench_memory() -> None:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        src, tpl = write_big(tmp)
        seconds, rss = wall_rss(imgconv_exe() + ["match", str(src), str(tpl)],
                                env=child_env(tmp))
        log(f"imgconv match big.tif tmpl.png (12000² uint8, 256² template): {seconds:.1f} s, "
            f"peak RSS {rss / 1e6:.0f} MB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--no-skimage", action="store_true", help="leave scikit-image out")
    ap.add_argument("--memory", action="store_true", help="the 12000² peak-RSS run instead")
    args = ap.parse_args()
    info = machine_info()
    log(f"{info['cpu']}, {info['nproc']} cores, OpenCV {info['cv2']} "
        f"({info['cv2_threads']} threads), numpy {info['numpy']}")
    if args.memory:
        bench_memory()
    else:
        bench_speed(args.rounds, not args.no_skimage)


if __name__ == "__main__":
    main()
