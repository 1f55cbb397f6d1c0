"""The memory section of the benchmark: a 12000×12000 uint16 TIFF (288 MB, uncompressed)
filtered with a 31×31 Gaussian by ``imgconv apply`` with and without ``--memory-limit``,
and by ``vips convsep``: wall time and peak RSS of each whole process.

Only with ``--only memory`` or ``--full``: it needs about 1.2 GB of disk in a temporary
folder (removed afterwards) and about a minute.  Not part of the test suite.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import tifffile
from bench_util import (
    SIGMA_31,
    Result,
    find_vips,
    imgconv_exe,
    log,
    svd_terms,
    vips_cmd,
    wall_rss,
    write_vips_matrix,
)

import imgconv

SPEC = f"gaussian:sigma={SIGMA_31}"
STRIP = 1000  # rows written and compared at a time


def write_big_tiff(path: Path, n: int) -> None:
    """A smooth 16-bit picture with grain, written uncompressed and contiguous by
    tifffile, strip by strip through a memory map (the bench itself stays small)."""
    out = tifffile.memmap(path, shape=(n, n), dtype=np.uint16, photometric="minisblack")
    rng = np.random.default_rng(12000)
    x = np.arange(n, dtype=np.float32) / n
    for y0 in range(0, n, STRIP):
        y = (np.arange(y0, min(y0 + STRIP, n), dtype=np.float32) / n)[:, None]
        a = 32768 + 20000 * np.sin(7 * x + 3 * np.cos(4 * y)) + 8000 * np.cos(40 * x * y)
        a += rng.normal(0, 800, a.shape).astype(np.float32)
        out[y0:y0 + a.shape[0]] = np.clip(np.rint(a), 0, 65535).astype(np.uint16)
    out.flush()
    del out


def accepts_none(tmp: Path, env: dict[str, str]) -> bool:
    """Whether this imgconv takes ``--memory-limit none`` (no bound at all)."""
    small, out = tmp / "probe.tif", tmp / "probe_out.tif"
    tifffile.imwrite(small, np.zeros((8, 8), np.uint16))
    cmd = imgconv_exe() + ["apply", str(small), "-f", "identity", "--memory-limit", "none",
                           "-o", str(out), "--overwrite", "-q"]
    ok = subprocess.run(cmd, capture_output=True, env=env).returncode == 0
    small.unlink()
    out.unlink(missing_ok=True)
    return ok


def memory_commands(src: Path, tmp: Path, env: dict[str, str],
                    vips: dict[str, Any] | None) -> dict[str, list[str]]:
    """The first is the reference the others are compared with: the unbounded run
    (``--memory-limit none`` where this imgconv has it, else no option)."""
    ic = imgconv_exe() + ["apply", str(src), "-f", SPEC, "--overwrite", "-q"]
    cmds: dict[str, list[str]] = {}
    if accepts_none(tmp, env):
        cmds["imgconv --memory-limit none"] = ic + ["--memory-limit", "none",
                                                    "-o", str(tmp / "out_none.tif")]
    cmds["imgconv (no --memory-limit)"] = ic + ["-o", str(tmp / "out_default.tif")]
    cmds["imgconv --memory-limit 256MB"] = ic + ["--memory-limit", "256MB",
                                                 "-o", str(tmp / "out_256.tif")]
    if vips is not None:
        k = np.asarray(imgconv.load_filter(SPEC).array, dtype=np.float64)
        factor = tmp / "mem_1d.mat"
        write_vips_matrix(factor, svd_terms(k, 1, np.float64)[0][0][None, :])
        cmds["vips convsep"] = vips_cmd(vips, "convsep", src, tmp / "out_vips.tif", factor)
    return cmds


def level_diff(ref: np.ndarray, path: Path, border: int = 0) -> tuple[float, str]:
    """Largest |out − ref| in levels (strip by strip), and the output's dtype."""
    out = tifffile.imread(path)
    worst = 0.0
    n = ref.shape[0]
    for y0 in range(border, n - border, STRIP):
        y1 = min(y0 + STRIP, n - border)
        a = ref[y0:y1, border:ref.shape[1] - border].astype(np.float64)
        b = out[y0:y1, border:ref.shape[1] - border].astype(np.float64)
        worst = max(worst, float(np.abs(a - b).max()))
    return worst, str(out.dtype)


def output_of(cmd: list[str]) -> Path:
    return Path(cmd[cmd.index("-o") + 1] if "-o" in cmd else cmd[3])  # vips: IN OUT MASK


def run_memory(cmds: dict[str, list[str]], reps: int, env: dict[str, str]) -> dict[str, Result]:
    """Each command ``reps`` times, interleaved (the first command, the reference, first):
    best wall time, largest peak RSS, and each output against the reference's, after
    which it is deleted (only the input and the reference stay on disk)."""
    rows: dict[str, Result] = {c: {"s": float("inf"), "peak_rss_mb": 0.0} for c in cmds}
    names = list(cmds)
    ref_name, ref = names[0], None
    for r in range(reps):
        for name in (names if r % 2 == 0 else names[1:][::-1] + names[:1]):
            t, rss = wall_rss(cmds[name], env=env)
            log(f"  {name:30s} {t:7.2f} s  peak RSS {rss / 1e6:7.0f} MB  (run {r + 1})")
            row = rows[name]
            row["s"] = min(row["s"], t)
            row["peak_rss_mb"] = max(row["peak_rss_mb"], rss / 1e6)
            path = output_of(cmds[name])
            row["output_mb"] = path.stat().st_size / 1e6
            if ref is None:
                ref = tifffile.imread(path)
            border = 15 if name.startswith("vips") else 0  # vips copies edge pixels outwards
            diff, row["dtype"] = level_diff(ref, path, border)
            row["max_level_diff"] = max(row.get("max_level_diff", 0.0), diff)
            row["compared_to"] = ref_name + (" inside a 15-px border" if border else "")
            if name != ref_name:
                path.unlink()
    return rows


def bench_memory(args: argparse.Namespace, env: dict[str, str]) -> Result | None:
    n = args.mem_size
    log(f"\n## Memory: {n}x{n} uint16 TIFF (uncompressed, {n * n * 2 / 1e6:.0f} MB), "
        f"{SPEC} (31x31); whole processes: wall time, peak RSS")
    need = n * n * 2 * 5  # input, reference output, vips's float32 output, slack
    with tempfile.TemporaryDirectory(prefix="imgconv-bench-mem-") as d:
        tmp = Path(d)
        free = shutil.disk_usage(tmp).free
        if free < need:
            log(f"  skipped: {free / 1e9:.1f} GB free in {tmp.parent}, needs ~{need / 1e9:.1f} GB")
            return None
        src = tmp / "big.tif"
        write_big_tiff(src, n)
        vips = find_vips()
        if vips is None:
            log("  libvips: no 'vips' command (apt-get install libvips-tools); skipped")
        cmds = memory_commands(src, tmp, env, vips)
        rows = run_memory(cmds, 1 if args.quick else 2, env)
    for name, row in rows.items():
        log(f"  {name:30s} {row['s']:7.2f} s  peak {row['peak_rss_mb']:6.0f} MB  "
            f"out {row['dtype']} {row['output_mb']:.0f} MB, {row['max_level_diff']:.3g} "
            f"level(s) from {row['compared_to']}")
    return {"side": n, "input_mb": n * n * 2 / 1e6, "tiff": "uncompressed, contiguous",
            "filter": SPEC, "vips_precision": vips["precision"] if vips else None,
            "runs": 1 if args.quick else 2, "rows": rows}
