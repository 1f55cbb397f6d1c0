"""The command-line sections of the benchmark: ``imgconv apply`` against ImageMagick and
libvips as whole processes, start-up time, and batch throughput (imgconv's workers, and
against a loop of ``vips convsep`` over ``xargs -P2``).

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
from bench_util import (
    SIGMA_31,
    Result,
    find_imagemagick,
    find_vips,
    gray_png,
    imgconv_exe,
    log,
    max_level_diff,
    ms,
    one_hot_direction,
    read_rgb,
    svd_terms,
    synthetic_rgb,
    vips_border,
    vips_cmd,
    wall,
    write_rgb_png,
    write_text_kernel,
    write_vips_matrix,
)

import imgconv

SPEC = f"gaussian:sigma={SIGMA_31}"


def im_kernel(k: np.ndarray) -> str:
    return f"{k.shape[1]}x{k.shape[0]}: " + " ".join(
        ",".join(f"{v:.10g}" for v in row) for row in k)


def peers(tmp: Path, k: np.ndarray) -> Result:
    """The peers found on this machine, what they compute, and the files they are given:
    ImageMagick gets the 31×31 values inline, vips the 1-D factor as a 1×31 matrix file,
    imgconv the generator spec and (second row) the 31×31 values as an 8-digit text file."""
    res: Result = {"convert": find_imagemagick(), "vips": find_vips()}
    convert, vips = res["convert"], res["vips"]
    if convert is None:
        log("  ImageMagick: not found (apt-get install imagemagick); skipped")
    else:
        version = subprocess.run([convert, "-version"], capture_output=True, text=True).stdout
        res["imagemagick"] = version.splitlines()[0].replace("Version: ", "").split(" https")[0]
        res["imagemagick_direction"] = one_hot_direction(lambda s, d: subprocess.run(
            [convert, str(s), "-morphology", "Convolve", "3x3: 1,0,0 0,0,0 0,0,0", str(d)],
            check=True, capture_output=True), tmp)
        log(f"  {res['imagemagick']} at {convert}: '-morphology Convolve' is a "
            f"{res['imagemagick_direction']} (one-hot test); imgconv runs --mode convolve")
    (col, _), = svd_terms(k, 1, np.float64)
    res["factor"] = tmp / "gauss31_1d.mat"
    write_vips_matrix(res["factor"], col[None, :])
    res["text_kernel"] = tmp / "gauss31.txt"
    write_text_kernel(res["text_kernel"], k, digits=8)
    if vips is None:
        log("  libvips: no 'vips' command (apt-get install libvips-tools); skipped")
        return res
    mask3 = tmp / "onehot.mat"
    write_vips_matrix(mask3, np.array([[1.0, 0, 0], [0, 0, 0], [0, 0, 0]]))
    res["vips_direction"] = one_hot_direction(lambda s, d: subprocess.run(
        vips_cmd(vips, "conv", s, d, mask3), check=True, capture_output=True), tmp)
    res["vips_border"] = vips_border(vips, tmp)
    log(f"  {vips['version']} at {vips['exe']}: convsep given the 1-D factor (1x31 matrix), "
        f"precision {vips['precision'] or 'default'}; 'vips conv' is a "
        f"{res['vips_direction']} (one-hot test); beyond the edge: {res['vips_border']}")
    return res


def cli_commands(src: Path, tmp: Path, peer: Result) -> dict[str, list[str]]:
    stem = src.stem
    ic = imgconv_exe() + ["apply", str(src), "--mode", "convolve", "--boundary", "reflect",
                          "--overwrite", "-q"]
    cmds: dict[str, list[str]] = {
        "imgconv": ic + ["-f", SPEC, "-o", str(tmp / f"{stem}_imgconv.png")],
        "imgconv_text": ic + ["-f", str(peer["text_kernel"]),
                              "-o", str(tmp / f"{stem}_text.png")],
        "imgconv_identity": ic + ["-f", "identity", "-o", str(tmp / f"{stem}_identity.png")],
    }
    if peer["convert"] is not None:
        # -virtual-pixel mirror is "d c b a [a b c d]" = imgconv reflect (checked on a row);
        # PNG24: keeps 8-bit RGB whatever the content
        cmds["imagemagick"] = [peer["convert"], str(src), "-virtual-pixel", "mirror",
                               "-morphology", "Convolve", im_kernel(peer["k"]),
                               f"PNG24:{tmp / f'{stem}_im.png'}"]
    if peer["vips"] is not None:
        cmds["vips"] = vips_cmd(peer["vips"], "convsep", src, tmp / f"{stem}_vips.png",
                                peer["factor"])
    return cmds


def compare_peers(src: Path, tmp: Path, peer: Result, env: dict[str, str], res: Result) -> None:
    """Max differences in levels: ImageMagick vs imgconv (both reflect); vips vs an
    (untimed) imgconv run with ``--boundary nearest``, which is what vips computes."""
    stem = src.stem
    ours = tmp / f"{stem}_imgconv.png"
    res["png_kb"] = {w: (tmp / f"{stem}_{w}.png").stat().st_size // 1000
                     for w in ("imgconv", "im", "vips") if (tmp / f"{stem}_{w}.png").exists()}
    res["text_vs_spec_levels"] = max_level_diff(ours, tmp / f"{stem}_text.png")
    if peer["convert"] is not None:
        res["max_level_diff"] = max_level_diff(ours, tmp / f"{stem}_im.png")
    if peer["vips"] is not None:
        near = tmp / f"{stem}_nearest.png"
        wall(imgconv_exe() + ["apply", str(src), "-f", SPEC, "--boundary", "nearest",
                              "-o", str(near), "--overwrite", "-q"], 1, env=env)
        res["vips_level_diff"] = max_level_diff(near, tmp / f"{stem}_vips.png")
        res["vips_level_diff_interior_reflect"] = max_level_diff(
            ours, tmp / f"{stem}_vips.png", border=15)


def cli_case(name: str, src: Path, peer: Result, reps: int, env: dict[str, str],
             tmp: Path) -> Result:
    """imgconv (the 31x31 filter from its generator and from a text file, and an identity
    filter: start-up + I/O only), ImageMagick and vips on one file, interleaved, best of
    ``reps`` whole processes each."""
    cmds = cli_commands(src, tmp, peer)
    wall(cmds["imgconv"], 1, env=env)  # warm-up: bytecode cache, page cache
    best = dict.fromkeys(cmds, float("inf"))
    for _ in range(reps):
        for c, cmd in cmds.items():
            best[c] = min(best[c], wall(cmd, 1, env=env))
    res: Result = {"case": name, "runs": reps}
    res.update({f"{c}_ms": t * 1e3 for c, t in best.items()})
    compare_peers(src, tmp, peer, env, res)
    log(f"  {name} (output PNG sizes, kB: {res['png_kb']}):")
    log(f"    imgconv apply -f {SPEC:18s} {ms(best['imgconv']):>8s} ms  (best of {reps})")
    log(f"    imgconv apply -f gauss31.txt        {ms(best['imgconv_text']):>8s} ms  "
        f"(8 significant digits; {res['text_vs_spec_levels']} level(s) from the above)")
    log(f"    imgconv apply -f identity           {ms(best['imgconv_identity']):>8s} ms  "
        "(start-up + read + write only)")
    if "imagemagick" in best:
        res["ratio_im_over_imgconv"] = best["imagemagick"] / best["imgconv"]
        log(f"    ImageMagick -morphology Convolve    {ms(best['imagemagick']):>8s} ms  "
            f"-> ImageMagick / imgconv = {res['ratio_im_over_imgconv']:.1f}x; "
            f"PNGs differ by at most {res['max_level_diff']} level(s)")
    if "vips" in best:
        res["ratio_vips_over_imgconv"] = best["vips"] / best["imgconv"]
        log(f"    vips convsep (1-D factor)           {ms(best['vips']):>8s} ms  "
            f"-> vips / imgconv = {res['ratio_vips_over_imgconv']:.2f}x; "
            f"{res['vips_level_diff']} level(s) from imgconv -b nearest "
            f"({res['vips_level_diff_interior_reflect']} inside a 15-px border vs reflect)")
    return res


def bench_cli(args: argparse.Namespace, tmp: Path, env: dict[str, str]) -> Result:
    n = args.cli_size
    log(f"\n## CLI: 31x31 Gaussian ({SPEC}), convolve, reflect; whole processes, wall clock")
    k = np.asarray(imgconv.load_filter(SPEC).array, dtype=np.float64)
    if k.shape != (31, 31):
        raise RuntimeError(f"{SPEC} is {k.shape}, expected 31x31")
    peer = peers(tmp, k)
    peer["k"] = k
    res: Result = {"filter": SPEC, "kernel_shape": list(k.shape), "cases": [],
                   "imagemagick": peer.get("imagemagick"),
                   "imagemagick_direction": peer.get("imagemagick_direction"),
                   "vips": peer["vips"]["version"] if peer["vips"] else None,
                   "vips_precision": peer["vips"]["precision"] if peer["vips"] else None,
                   "vips_direction": peer.get("vips_direction"),
                   "vips_border": peer.get("vips_border")}
    src = tmp / "cli_rgb.png"
    if args.image:
        a = cv2.resize(read_rgb(Path(args.image)), (n, n), interpolation=cv2.INTER_CUBIC)
        write_rgb_png(src, a)
        name = f"{Path(args.image).name} resized to {n}x{n} RGB PNG"
    else:
        write_rgb_png(src, synthetic_rgb(n))
        name = f"synthetic {n}x{n} RGB PNG"
    res["cases"].append(cli_case(name, src, peer, 1 if args.quick else 3, env, tmp))
    if not args.quick:
        gray = tmp / "cli_gray.png"
        gray_png(gray, 2048)
        res["cases"].append(cli_case("synthetic 2048x2048 gray PNG (issue 6's case)", gray,
                                     peer, 3, env, tmp))
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


def count_outputs(out: Path, count: int, who: str) -> None:
    produced = len(list(out.glob("*.png")))
    if produced != count:
        raise RuntimeError(f"{who} wrote {produced} of {count} files")


def bench_workers(args: argparse.Namespace, tmp: Path, env: dict[str, str]) -> Result:
    """imgconv batch with 1 and 2 workers on small files (gaussian5)."""
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
            count_outputs(out, count, "imgconv batch")
            shutil.rmtree(out)
    for workers in (1, 2):
        res[f"workers_{workers}_s"] = best[workers]
        res[f"workers_{workers}_files_per_s"] = count / best[workers]
        log(f"  --workers {workers}: {best[workers]:6.2f} s  {count / best[workers]:6.1f} files/s "
            f"(best of {reps})")
    res["speedup_2_over_1"] = res["workers_1_s"] / res["workers_2_s"]
    log(f"  2 workers / 1 worker throughput: {res['speedup_2_over_1']:.2f}x")
    shutil.rmtree(src)
    return res


def batch_vips_commands(src: Path, out: dict[str, Path], files: list[Path], vips: Result,
                        factor: Path, tmp: Path) -> dict[str, list[str]]:
    """imgconv batch (2 workers, ``-b nearest``: what vips computes at the border) and
    ``xargs -P2`` over ``vips convsep IN OUT MASK [--precision float]``, one file a line
    (and ``xargs -P1``: one vips at a time, on all cores by its own threads)."""
    listing = tmp / "vips_jobs.txt"
    lines = [" ".join(vips_cmd(vips, "convsep", f, out["vips"] / f.name, factor)[2:])
             for f in files]
    listing.write_text("\n".join(lines) + "\n")
    per_line = len(lines[0].split())
    return {
        "imgconv": imgconv_exe() + ["batch", str(src), "-o", str(out["imgconv"]), "-f", SPEC,
                                    "--boundary", "nearest", "--workers", "2", "-q"],
        "vips": ["xargs", "-a", str(listing), "-P2", f"-n{per_line}", vips["exe"], "convsep"],
        # one file at a time, each vips on all cores (its own threads): the other way to run it
        "vips_p1": ["xargs", "-a", str(listing), "-P1", f"-n{per_line}", vips["exe"],
                    "convsep"],
    }


def bench_batch_vips(args: argparse.Namespace, tmp: Path, env: dict[str, str]) -> Result | None:
    """40 photo-sized RGB PNGs (1024²), the 31×31 Gaussian, 2 processes at a time."""
    vips = find_vips()
    count, side = (12, 512) if args.quick else (40, 1024)
    log(f"\n## Batch vs libvips: {count} RGB PNGs of {side}x{side}, {SPEC}, 2 at a time")
    if vips is None:
        log("  libvips: no 'vips' command (apt-get install libvips-tools); skipped")
        return None
    src = tmp / "batchv_in"
    src.mkdir()
    files = [src / f"photo{i:03d}.png" for i in range(count)]
    for i, f in enumerate(files):
        write_rgb_png(f, synthetic_rgb(side, seed=100 + i))
    factor = tmp / "batch_1d.mat"
    k = np.asarray(imgconv.load_filter(SPEC).array, dtype=np.float64)
    write_vips_matrix(factor, svd_terms(k, 1, np.float64)[0][0][None, :])
    reps = 1 if args.quick else 2
    best = {"imgconv": float("inf"), "vips": float("inf"), "vips_p1": float("inf")}
    diff = None
    for r in range(reps):
        out = {w: tmp / f"batchv_out_{w}_{r}" for w in ("imgconv", "vips")}
        out["vips"].mkdir()
        cmds = batch_vips_commands(src, out, files, vips, factor, tmp)
        order = list(best) if r % 2 == 0 else list(best)[::-1]
        for who in order:
            best[who] = min(best[who], wall(cmds[who], 1, env=env))
            count_outputs(out[who.removesuffix("_p1")], count, who)
        diff = max(max_level_diff(out["imgconv"] / f.name, out["vips"] / f.name) or 0
                   for f in files[:4])
        for d in out.values():
            shutil.rmtree(d)
    shutil.rmtree(src)
    res: Result = {"files": count, "side": side, "imgconv_s": best["imgconv"],
                   "vips_s": best["vips"], "ratio_vips_over_imgconv":
                   best["vips"] / best["imgconv"], "vips_p1_s": best["vips_p1"],
                   "ratio_vips_p1_over_imgconv": best["vips_p1"] / best["imgconv"],
                   "max_level_diff": diff,
                   "vips_precision": vips["precision"]}
    log(f"  imgconv batch --workers 2 -b nearest: {best['imgconv']:6.2f} s  "
        f"{count / best['imgconv']:6.1f} files/s (best of {reps})")
    log(f"  xargs -P2 vips convsep:               {best['vips']:6.2f} s  "
        f"{count / best['vips']:6.1f} files/s -> vips / imgconv = "
        f"{res['ratio_vips_over_imgconv']:.2f}x; outputs differ by at most {diff} level(s)")
    log(f"  xargs -P1 vips convsep (vips threads): {best['vips_p1']:5.2f} s  "
        f"{count / best['vips_p1']:6.1f} files/s -> vips / imgconv = "
        f"{res['ratio_vips_p1_over_imgconv']:.2f}x")
    return res


def bench_batch(args: argparse.Namespace, tmp: Path, env: dict[str, str]) -> Result:
    res = bench_workers(args, tmp, env)
    res["vips"] = bench_batch_vips(args, tmp, env)
    return res
