"""Camera-size rows (issue 20): whole processes on a 12 MP JPEG made from a real photo and a
50 MP 16-bit TIFF, imgconv beside libvips, as ratios of medians of interleaved runs.

    python benchmarks/bench_camera.py [--repeat 5] [--image PHOTO] [--json out.json]

Rows:

- ``apply -f gaussian:sigma=2 -o out.jpg`` (quality 95) against ``vips convsep`` given the
  very 17-tap factor imgconv's generator makes (a 1×17 matrix; ``--precision float``) and
  against ``vips gaussblur --precision float`` (its own mask: 8.14 refuses the
  ``--min-ampl`` a 17-tap mask needs); wall time and peak RSS of each, and how far
  imgconv's pixels are from a float64 reference (scipy.ndimage, rounded half to even):
  the largest difference in levels and the share of samples that are identical;
- ``diff -f emboss -o REPORT``: wall time, peak RSS, the size of report.html;
- ``apply -f gaussian:sigma=2 -o out.tif`` on a 50 MP (8660×5773) 16-bit grey TIFF under
  the default memory budget, against ``vips convsep``: wall time and peak RSS.

The machine may be shared: runs are interleaved (imgconv, then each peer, in turn) and the
figures are medians.  Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from bench_util import child_env, find_vips, imgconv_exe, log, wall_rss, write_vips_matrix

import imgconv


def photo_12mp(path: Path, source: str | None) -> np.ndarray:
    """A 4000×3000 JPEG (quality 92) from a real photo: ``source``, else scikit-image's
    coffee (a file the package ships), scaled up bicubically with sensor-like noise."""
    import cv2

    if source:
        rgb = cv2.cvtColor(cv2.imread(source, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    else:
        import skimage.data

        rgb = skimage.data.coffee()
    big = cv2.resize(rgb, (4000, 3000), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    big += np.random.default_rng(0).normal(0, 4, big.shape).astype(np.float32)
    img = np.clip(big, 0, 255).astype(np.uint8)
    cv2.imwrite(str(path), cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
    return img


def tiff_50mp(path: Path) -> None:
    """An 8660×5773 uint16 grey TIFF (smooth waves and noise), written in strips."""
    import tifffile

    h, w = 5773, 8660
    rng = np.random.default_rng(1)
    with tifffile.TiffWriter(path, bigtiff=False) as tw:
        def rows() -> Any:
            for y0 in range(0, h, 256):
                y = np.arange(y0, min(h, y0 + 256))[:, None]
                x = np.arange(w)[None, :]
                band = 32768 + 20000 * np.sin(x / 97.0) * np.cos(y / 131.0)
                yield np.clip(band + rng.normal(0, 300, band.shape), 0, 65535).astype(np.uint16)
        tw.write(rows(), shape=(h, w), dtype=np.uint16, rowsperstrip=256)


def medians(cmds: dict[str, list[str]], repeat: int, env: dict[str, str]) -> dict[str, Any]:
    """Each command run ``repeat`` times, interleaved: median seconds and peak RSS (MB)."""
    times: dict[str, list[float]] = {n: [] for n in cmds}
    peaks: dict[str, list[int]] = {n: [] for n in cmds}
    for r in range(repeat):
        order = list(cmds.items())
        for name, cmd in order[::-1] if r % 2 else order:
            t, rss = wall_rss(cmd, env=env)
            times[name].append(t)
            peaks[name].append(rss)
    return {n: {"seconds": statistics.median(times[n]), "runs": times[n],
                "peak_mb": max(peaks[n]) / 1e6} for n in cmds}


def accuracy(photo: np.ndarray) -> dict[str, Any]:
    """imgconv's pixels (before the JPEG encode) against a float64 reference."""
    import scipy.ndimage as ndi

    from imgconv.chain import fused
    from imgconv.options import FilterOptions

    k = imgconv.load_filter("gaussian:sigma=2")
    done = fused(photo, [k], FilterOptions())
    assert done is not None
    ref = np.stack([ndi.convolve(photo[..., c].astype(np.float64), k.array, mode="reflect")
                    for c in range(3)], axis=2)
    ref = np.clip(np.rint(ref), 0, 255)
    diff = np.abs(done[0].astype(np.float64) - ref)
    return {"max_levels": float(diff.max()), "identical": float((diff == 0).mean()),
            "method": done[1]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--image", help="a photo to scale to 12 MP (default: skimage's coffee)")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    vips = find_vips()
    exe = imgconv_exe()
    out: dict[str, Any] = {"vips": vips["version"] if vips else None}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        env = child_env(tmp)
        jpg = tmp / "photo12.jpg"
        photo = photo_12mp(jpg, args.image)
        k = imgconv.load_filter("gaussian:sigma=2")
        mask = tmp / "g17.mat"  # the 1-D factor m with outer(m, m) == the kernel (sum 1)
        write_vips_matrix(mask, k.array.sum(axis=0)[None, :])
        cmds = {"imgconv": exe + ["apply", str(jpg), "-f", "gaussian:sigma=2", "-o",
                                  str(tmp / "i.jpg"), "--quality", "95", "--overwrite", "-q"]}
        if vips:
            cmds["vips convsep (same mask)"] = [vips["exe"], "convsep", str(jpg),
                                                f"{tmp / 'v.jpg'}[Q=95]", str(mask),
                                                "--precision", "float"]
            cmds["vips gaussblur"] = [vips["exe"], "gaussblur", str(jpg),
                                      f"{tmp / 'g.jpg'}[Q=95]", "2", "--precision", "float"]
        log("12 MP JPEG, gaussian sigma=2 ...")
        out["apply_jpeg"] = medians(cmds, args.repeat, env)
        out["apply_jpeg_accuracy"] = accuracy(photo)
        log("12 MP JPEG, diff -f emboss -o ...")
        rep = tmp / "rep"
        out["diff"] = medians({"imgconv diff": exe + ["diff", str(jpg), "-f", "emboss", "-o",
                                                      str(rep), "--overwrite", "-q"]},
                              max(1, args.repeat // 2), env)
        out["diff"]["report_html_mb"] = (rep / "report.html").stat().st_size / 1e6
        log("50 MP 16-bit TIFF ...")
        tif = tmp / "big16.tif"
        tiff_50mp(tif)
        cmds = {"imgconv": exe + ["apply", str(tif), "-f", "gaussian:sigma=2", "-o",
                                  str(tmp / "i.tif"), "--overwrite", "-q"]}
        if vips:
            cmds["vips convsep (same mask)"] = [vips["exe"], "convsep", str(tif),
                                                str(tmp / "v.tif"), str(mask), "--precision",
                                                "float"]
        out["tiff_50mp"] = medians(cmds, max(1, args.repeat // 2), env)
    report(out)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))


def report(out: dict[str, Any]) -> None:
    print(f"\nvips: {out['vips'] or 'absent'}")
    for key, title in (("apply_jpeg", "12 MP JPEG apply gaussian:sigma=2, quality 95"),
                       ("diff", "12 MP JPEG diff -f emboss -o"),
                       ("tiff_50mp", "50 MP 16-bit TIFF apply gaussian:sigma=2")):
        rows = {n: v for n, v in out[key].items() if isinstance(v, dict)}
        base = rows[next(iter(rows))]["seconds"]
        print(f"\n{title}\n| contender | median s | peak MB | its time / imgconv's |")
        print("|---|--:|--:|--:|")
        for name, v in rows.items():
            print(f"| {name} | {v['seconds']:.3f} | {v['peak_mb']:.0f} | "
                  f"{v['seconds'] / base:.2f} |")
        if key == "diff":
            print(f"report.html: {out['diff']['report_html_mb']:.2f} MB")
    acc = out["apply_jpeg_accuracy"]
    print(f"\nimgconv against a float64 reference: at most {acc['max_levels']:.0f} level apart, "
          f"{acc['identical']:.6%} of samples identical (method {acc['method']})")


if __name__ == "__main__":
    main()
