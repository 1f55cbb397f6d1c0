"""The benchmark's summary as Markdown tables (printed at the end, and in ``--json``).

Not part of the test suite.
"""

from __future__ import annotations

from bench_library import SEP2
from bench_util import Result


def _cell(c: dict[str, Result], name: str) -> str:
    v = c.get(name)
    if v is None:
        return "–"
    if v.get("skipped"):
        e = v.get("estimated_ms")
        return f"skipped (~{e / 1e3:.1f} s est.)" if e else "skipped"
    return f"{v['ms']:.1f} (×{v['ratio_to_best_cv']:.2f})"


def library_md(report: Result) -> list[str]:
    lib = report["library"]
    lines = [
        f"Library, {report['args']['size']}² float32, correlate, reflect; milliseconds "
        "(best of N, interleaved) and ratio to the best OpenCV call of the same run "
        "(lower is better; for rank-2 kernels the best OpenCV call is filter2D, and "
        f"“{SEP2}” is two sepFilter2D calls summed); err = max|R − filter2D| / "
        "(Σ|F|·max|I|), must be ≤ 1e-4. "
        f"One read+write pass of the image (`img.copy()`): {report['copy_ms']:.1f} ms.",
        "",
        "| kernel | auto chose | imgconv auto ms | best OpenCV ms | **auto / OpenCV** "
        f"| filter2D ms | sepFilter2D ms | {SEP2} ms | scipy.ndimage ms | fftconvolve ms "
        "| auto err |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in lib:
        c = r["contenders"]
        lines.append(
            f"| {r['kernel']} | {r['auto_method']} | {c['imgconv auto']['ms']:.1f}"
            f" | {r['best_cv_ms']:.1f} ({r['best_cv'].removeprefix('cv2.')}) "
            f"| **{r['ratio']:.2f}** | {_cell(c, 'cv2.filter2D')} "
            f"| {_cell(c, 'cv2.sepFilter2D')} | {_cell(c, SEP2)} "
            f"| {_cell(c, 'scipy.ndimage.correlate')} | {_cell(c, 'scipy.signal.fftconvolve')} "
            f"| {r['err']:.1e} |")
    sep2 = [r for r in lib if "ratio_to_sep2" in r]
    if sep2:
        lines += [""] + [f"{r['kernel']}: imgconv auto / {SEP2} = **{r['ratio_to_sep2']:.2f}**"
                         for r in sep2]
    methods: list[str] = []
    for r in lib:
        methods += [n.removeprefix("imgconv ") for n in r["contenders"]
                    if n.startswith("imgconv ") and n.removeprefix("imgconv ") not in methods]
    if len(methods) > 1:
        lines += ["", "imgconv by explicit method (ms, ratio to best OpenCV):", "",
                  "| kernel | " + " | ".join(methods) + " |",
                  "|---|" + "--:|" * len(methods)]
        for r in lib:
            cells = [_cell(r["contenders"], f"imgconv {m}") for m in methods]
            lines.append(f"| {r['kernel']} | " + " | ".join(cells) + " |")
    return lines + [""]


def cli_md(cli: Result) -> list[str]:
    im, vips = cli.get("imagemagick"), cli.get("vips")
    head = [f"CLI, 31×31 Gaussian (`{cli['filter']}`), whole processes, wall clock"
            + (f"; {im}, whose `-morphology Convolve` is a {cli['imagemagick_direction']}"
               if im else "; ImageMagick not found")
            + (f"; {vips} `convsep` given the 1-D factor, precision "
               f"{cli['vips_precision'] or 'default'}, border {cli['vips_border']}"
               if vips else "; libvips not found")
            + ".", "",
            "| file | imgconv ms | imgconv 8-digit .txt ms | imgconv `-f identity` ms "
            "| ImageMagick ms | vips convsep ms | **ImageMagick / imgconv** "
            "| **vips / imgconv** | max diff IM (levels) | max diff vips (levels) |",
            "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    rows = []
    for c in cli["cases"]:
        imt, vt, ict = c.get("imagemagick_ms"), c.get("vips_ms"), c["imgconv_ms"]
        im_ms, v_ms = (f"{imt:.0f}" if imt else "–"), (f"{vt:.0f}" if vt else "–")
        im_r = f"**{imt / ict:.1f}×**" if imt else "–"
        v_r = f"**{vt / ict:.2f}×**" if vt else "–"
        rows.append(
            f"| {c['case']} | {ict:.0f} | {c['imgconv_text_ms']:.0f} "
            f"| {c['imgconv_identity_ms']:.0f} | {im_ms} | {v_ms} | {im_r} | {v_r} "
            f"| {c.get('max_level_diff', '–')} | {c.get('vips_level_diff', '–')} |")
    return head + rows + [""]


def batch_md(b: Result) -> list[str]:
    lines = [f"| batch ({b['files']} × {b['side']}² RGB PNG, gaussian5) | s | files/s |",
             "|---|--:|--:|",
             f"| --workers 1 | {b['workers_1_s']:.2f} | {b['workers_1_files_per_s']:.1f} |",
             f"| --workers 2 | {b['workers_2_s']:.2f} | {b['workers_2_files_per_s']:.1f} |",
             f"| 2 workers / 1 worker | {b['speedup_2_over_1']:.2f}× | |", ""]
    v = b.get("vips")
    if v:
        n = v["files"]
        lines += [f"| batch ({n} × {v['side']}² RGB PNG, 31×31 Gaussian, 2 at a time) "
                  "| s | files/s |", "|---|--:|--:|",
                  f"| imgconv batch --workers 2 | {v['imgconv_s']:.2f} "
                  f"| {n / v['imgconv_s']:.1f} |",
                  f"| xargs -P2 vips convsep | {v['vips_s']:.2f} | {n / v['vips_s']:.1f} |",
                  f"| xargs -P1 vips convsep (vips's own threads) | {v['vips_p1_s']:.2f} "
                  f"| {n / v['vips_p1_s']:.1f} |",
                  f"| **vips -P2 / imgconv** | **{v['ratio_vips_over_imgconv']:.2f}×** | |",
                  f"| vips -P1 / imgconv | {v['ratio_vips_p1_over_imgconv']:.2f}× | |",
                  "", f"(outputs differ by at most {v['max_level_diff']} level(s))", ""]
    return lines


def memory_md(mem: Result) -> list[str]:
    lines = [f"Memory: {mem['side']}² uint16 TIFF ({mem['input_mb']:.0f} MB, {mem['tiff']}), "
             f"`{mem['filter']}`; whole processes, best wall time of {mem['runs']}, "
             "largest peak RSS.", "",
             "| run | s | peak RSS MB | output | max diff (levels) |", "|---|--:|--:|---|--:|"]
    for name, r in mem["rows"].items():
        lines.append(f"| {name} | {r['s']:.2f} | {r['peak_rss_mb']:.0f} "
                     f"| {r['dtype']}, {r['output_mb']:.0f} MB "
                     f"| {r['max_level_diff']:.3g} vs {r['compared_to']} |")
    return lines + [""]


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
    if report.get("library"):
        lines += library_md(report)
    if report.get("cli"):
        lines += cli_md(report["cli"])
    st = report.get("startup")
    if st:
        lines += ["| start-up | ms |", "|---|--:|",
                  f"| `python -c pass` | {st['python_pass_ms']:.0f} |",
                  f"| `python -c 'import imgconv.cli'` | {st['import_cli_ms']:.0f} |",
                  f"| `imgconv --help` | {st['help_ms']:.0f} |", ""]
    if report.get("batch"):
        lines += batch_md(report["batch"])
    if report.get("memory"):
        lines += memory_md(report["memory"])
    return "\n".join(lines)
