"""``imgconv diff``: filter an image two ways and report the differences.

The run is :class:`imgconv.diffing.DiffRun` and its folder
:func:`imgconv.report.write_diff` (both also serve ``apply --report``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

import imgconv.cli.common as common
import imgconv.cli.flags as flags
from imgconv.cli.flags import DEFAULTS
from imgconv.errors import ImgconvError

if TYPE_CHECKING:
    from imgconv.diffing import DiffReport, Variant
    from imgconv.kernels import Kernel
    from imgconv.options import FilterOptions


@common.handle_errors
def diff(
    image: Annotated[Path, typer.Argument(help="The image to filter both ways.",
                                          show_default=False)],
    filters: flags.Filters = [],  # noqa: B006 - typer needs a literal default
    a: Annotated[str | None, typer.Option(
        "--a", help="Variant A over the command's options, e.g. mode=correlate,method=fft "
        "(keys: mode, method, boundary, cval, precision, size, and last filter=F+G for its "
        "own filter chain). Unset keys take the command's options. Without --a: "
        "mode=correlate.",
        show_default=False)] = None,
    b: Annotated[str | None, typer.Option(
        "--b", help="Variant B, like --a. Without --b: mode=convolve.",
        show_default=False)] = None,
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Write a report folder: report.json and a self-contained "
        "report.html (previews; the close-up at full resolution).")] = None,
    full_resolution: Annotated[bool, typer.Option(
        "--full-resolution", help="With -o: also both outputs, the heat-map and the "
        "signed difference as full-size images.")] = False,
    mode: flags.Mode = DEFAULTS.mode,
    method: flags.Method = DEFAULTS.method,
    boundary: flags.Boundary = DEFAULTS.boundary,
    cval: flags.Cval = DEFAULTS.cval,
    size: flags.Size = DEFAULTS.size,
    dtype: flags.Dtype = DEFAULTS.dtype,
    precision: flags.Precision = DEFAULTS.precision,
    abs: flags.Abs = DEFAULTS.abs,
    offset: flags.Offset = DEFAULTS.offset,
    normalize: flags.Normalize = DEFAULTS.normalize,
    alpha: flags.Alpha = DEFAULTS.alpha,
    gray: flags.Gray = False,
    page: flags.Page = None,
    auto_orient: flags.AutoOrient = True,
    fail_on_diff: Annotated[bool, typer.Option(
        "--fail-on-diff", help="Exit 3 when any pixel differs (or, with --tolerance, when "
        "the max abs difference exceeds it).")] = False,
    tolerance: Annotated[float | None, typer.Option(
        "--tolerance", help="With --fail-on-diff: the largest max abs difference (pixel "
        "units, before rounding) that still passes.", show_default=False)] = None,
    overwrite: flags.Overwrite = False,
    json_: flags.Json = False,
    verbose: flags.Verbose = False,
    quiet: flags.Quiet = False,
) -> None:
    """Filter an image two ways (default: correlate vs convolve) and report how they differ.

    Example: imgconv diff photo.png -f sobel-x -o report/
    """
    given = common.FilterArgs.taken(locals())  # the common options, as typed
    from imgconv import report
    from imgconv.diffing import DiffRun

    _check_tolerance(tolerance, fail_on_diff)
    boundary = str(given.values.get("boundary", ""))
    if "=" in boundary:
        raise ImgconvError(f"--boundary {boundary!r} looks like a variant spec: did you mean "
                           f"--b {boundary}?")
    opts = given.options(cval_note=False)  # said of the variants, by _variants
    kernels, va, vb, ka = _variants(filters, a, b, opts)
    if output is not None:
        report.check_folder(output, overwrite=overwrite)
    files = given.file_options(memory_limit=None)  # diff reads the image whole
    run = DiffRun.compute(image, kernels, va, vb, opts, files)
    rep = run.outcome.report
    failed = _verdict(rep, tolerance) if fail_on_diff else False
    if output is not None:
        rep.written = [str(p) for p in report.write_diff(output, run, ka, overwrite=overwrite,
                                                         full_resolution=full_resolution)]
    if json_:
        common.print_json(rep.as_dict())
    elif not quiet:
        report.print_report(rep.as_dict(), common.stdout())
        if output is not None:
            common.echo(f"report written to {output / 'report.html'}")
    if fail_on_diff and rep.fail_on_diff is not None:
        if not json_ and not quiet:
            verdict = "[red]fail (exit 3)[/]" if failed else "[green]pass[/]"
            common.stdout().print(f"--fail-on-diff: {verdict}: {rep.fail_on_diff.why}")
        if failed:
            raise typer.Exit(3)


def _check_tolerance(tolerance: float | None, fail_on_diff: bool) -> None:
    if tolerance is not None and not (tolerance >= 0):
        raise ImgconvError(f"--tolerance {tolerance}: use 0 or more (pixel units)")
    if tolerance is not None and not fail_on_diff:
        common.note("--tolerance only matters with --fail-on-diff")


def _variants(filters: list[str], a: str | None, b: str | None,
              opts: FilterOptions) -> tuple[list[Kernel], Variant, Variant, list[Kernel]]:
    """The command's kernels, variants A and B, and A's own kernels; refused before any work
    when there is no filter or the variants cannot be compared."""
    from imgconv import diffing
    from imgconv.kernels import load_filter

    kernels = [load_filter(f) for f in filters]
    base = diffing.Variant(opts)
    va = diffing.parse_variant(a if a is not None else "mode=correlate", base, "a")
    vb = diffing.parse_variant(b if b is not None else "mode=convolve", base, "b")
    common.variant_notes(opts, {"a": va.options, "b": vb.options})
    ka = diffing.variant_kernels(va, kernels, opts.normalize)
    kb = diffing.variant_kernels(vb, kernels, opts.normalize)
    if not ka or not kb:
        lack = " and ".join(n for n, ks in (("A", ka), ("B", kb)) if not ks)
        which = f"variant {lack} (variant {'A' if ka else 'B'} has its own)" if ka or kb \
            else "variants A and B"
        raise ImgconvError(f"no filter given for {which}: add -f FILTER (see 'imgconv "
                           f"filters'), or give {lack if ka or kb else 'each variant'} its own "
                           "with filter=...")
    diffing.predict(va, vb, ka, kb)  # refuses incomparable variants before any work
    return kernels, va, vb, ka


def _verdict(rep: DiffReport, tolerance: float | None) -> bool:
    """``--fail-on-diff``: did the run fail?  Recorded in the report with why."""
    from imgconv.diffing import FailOnDiff

    top, differing = rep.stats["max_abs_diff"], rep.stats["differing_pixels"]
    if tolerance is not None:
        failed = bool(top > tolerance)
        why = f"max |A-B| {top:.4g} {'>' if failed else '<='} --tolerance {tolerance:g}"
    else:
        failed = differing > 0
        why = f"{differing} pixel(s) differ after rounding"
    rep.fail_on_diff = FailOnDiff(tolerance, failed, why)
    return failed
