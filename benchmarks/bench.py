"""imgconv benchmark: the library against OpenCV, scipy.ndimage and scipy.signal; the CLI
against ImageMagick and libvips; start-up time; batch throughput (issues 6 and 15); with
``--only memory`` or ``--full``, a 12000² uint16 TIFF with and without ``--memory-limit``.

Run from the repository with imgconv installed (``pip install -e .``)::

    python benchmarks/bench.py            # library, cli, startup, batch: about 2½ minutes
    python benchmarks/bench.py --quick    # a reduced smoke run, under 20 s
    python benchmarks/bench.py --only memory        # the memory row alone (~1 min, ~1.5 GB disk)
    python benchmarks/bench.py --full --json out.json

The machine may be shared and noisy, so each contender is timed interleaved with the others
(best of N after a warm-up) and the figure that matters is the *ratio* to the best peer
of the same run.  Every library result is checked against OpenCV's ``filter2D``:
``max|R - R_cv| / (sum|F| * max|I|)`` must be at most 1e-4 (docs/semantics.md §1, single
precision).  ImageMagick and libvips (``vips``) are skipped when absent.

The sections live in bench_library.py, bench_cli.py, bench_memory.py (tables:
bench_report.py, helpers: bench_util.py) beside this file.  Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_cli import bench_batch, bench_cli, bench_startup
from bench_library import bench_library
from bench_memory import bench_memory
from bench_report import markdown
from bench_util import EPS, Result, child_env, log, machine_info

SECTIONS = ["library", "cli", "startup", "batch", "memory"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="a reduced set (fewer kernels, smaller images, fewer repeats)")
    ap.add_argument("--full", action="store_true",
                    help="also time scipy.ndimage on 31x31 and 101x101, and run the memory "
                         "section (a few minutes more)")
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
    ap.add_argument("--mem-size", type=int, default=12000,
                    help="memory section: side of the uint16 TIFF (default 12000: 288 MB)")
    ap.add_argument("--no-methods", dest="methods", action="store_false",
                    help="do not also time imgconv's explicit methods")
    ap.add_argument("--only", choices=SECTIONS, action="append",
                    help="run only these sections (repeatable)")
    args = ap.parse_args(argv)
    if args.rounds is None:
        args.rounds = 1 if args.quick else 2
    if args.quick:
        args.repeat = min(args.repeat, 3)
        args.budget = min(args.budget, 1.0)
        args.size = min(args.size, 1024)
        args.cli_size = min(args.cli_size, 512)
    return args


def accuracy_failures(report: Result) -> list[str]:
    failures = []
    for r in report.get("library", []):
        for name, c in r["contenders"].items():
            if not c.get("skipped") and c["err_vs_filter2D"] > EPS:
                failures.append(f"{r['kernel']}: {name} err {c['err_vs_filter2D']:.1e}")
    return failures


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sections = set(args.only or SECTIONS[:4] + (["memory"] if args.full else []))
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
        runners: dict[str, Callable[[], Any]] = {
            "library": lambda: bench_library(args),
            "cli": lambda: bench_cli(args, tmp, env),
            "startup": lambda: bench_startup(args, env),
            "batch": lambda: bench_batch(args, tmp, env),
            "memory": lambda: bench_memory(args, env),
        }
        report["section_s"] = {}
        for name in SECTIONS:
            if name in sections:
                t1 = time.perf_counter()
                report[name] = runners[name]()
                report["section_s"][name] = time.perf_counter() - t1
        if "library" in report:
            report["library"], report["copy_ms"] = report["library"]
    report["elapsed_s"] = time.perf_counter() - t0
    table = markdown(report)
    report["markdown"] = table
    log("\n## Summary\n")
    log(table)
    failures = accuracy_failures(report)
    if failures:
        log("ACCURACY FAILURES: " + "; ".join(failures))
    took = ", ".join(f"{n} {t:.0f} s" for n, t in report["section_s"].items())
    log(f"\n(total {report['elapsed_s']:.0f} s: {took})")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=str) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
