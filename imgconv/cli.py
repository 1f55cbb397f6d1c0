"""The command line: parse, call the library, render with rich, map errors to exit codes.

Heavy modules (numpy, scipy, imageio, OpenCV) are imported inside the commands
that need them, so ``imgconv --help`` stays fast.
"""

from __future__ import annotations

import functools
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from imgconv import __version__
from imgconv.boundary import MODES as BOUNDARY_MODES
from imgconv.errors import ImgconvError

if TYPE_CHECKING:
    from rich.console import Console

    from imgconv.kernels import Kernel

app = typer.Typer(
    name="imgconv",
    help=(
        "Filter images with kernels: exact correlation, convolution and FFT filtering, "
        "with selectable boundary modes.\n\n"
        "convolve (the default) rotates the kernel by 180° before sliding it; correlate "
        "(what deep-learning libraries call 'convolution') does not. They agree only for "
        "kernels equal to their own 180° rotation."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

F = TypeVar("F", bound=Callable[..., Any])

_BOUNDARY_HELP = "Boundary mode: " + "; ".join(
    f"{m.name} ({m.extension}{', alias ' + '/'.join(m.aliases) if m.aliases else ''})"
    for m in BOUNDARY_MODES
)

# -- the common options, one definition each -----------------------------------------------
FilterOpt = Annotated[
    list[str],
    typer.Option("-f", "--filter", help="Filter: a .yaml/.txt/.npy/.csv file, a shipped name "
                 "(see 'imgconv filters'), an inline matrix \"1 2 1; 2 4 2; 1 2 1\" or a "
                 "generator like gaussian:sigma=2. Repeat to apply several in sequence."),
]
ModeOpt = Annotated[str, typer.Option("--mode", help="correlate or convolve (kernel rotated "
                                      "by 180°).")]
MethodOpt = Annotated[str, typer.Option("--method", help="How it is computed (never what): "
                                        "auto, direct, separable (rank-1 kernels) or fft.")]
BoundaryOpt = Annotated[str, typer.Option("--boundary", "-b", help=_BOUNDARY_HELP)]
# diff has --a/--b for its variants: no -b there, it would read as --b
BoundaryLongOpt = Annotated[str, typer.Option("--boundary", help=_BOUNDARY_HELP)]
CvalOpt = Annotated[float, typer.Option("--cval", help="Value beyond the edges for "
                                        "--boundary constant (pixel units).")]
SizeOpt = Annotated[str, typer.Option("--size", help="Output size: same, valid (kernel "
                                      "wholly inside) or full (every overlap).")]
DtypeOpt = Annotated[str | None, typer.Option("--dtype", help="Output pixel type: uint8, "
                                              "uint16, float32 or float64 (default: the "
                                              "input's).")]
PrecisionOpt = Annotated[str, typer.Option("--precision", help="auto (float64 for float64 "
                                           "images, else float32), single or double.")]
AbsOpt = Annotated[bool, typer.Option("--abs", help="Take the absolute value of the result.")]
OffsetOpt = Annotated[float, typer.Option("--offset", help="Add this to the result (pixel "
                                          "units), after any filter-file offset.")]
RescaleOpt = Annotated[bool, typer.Option("--rescale", help="Stretch the result's min..max "
                                          "onto the output range.")]
NormalizeOpt = Annotated[bool, typer.Option("--normalize", help="Divide each kernel by its "
                                            "sum (zero-sum kernels are left as they are).")]
AlphaOpt = Annotated[str, typer.Option("--alpha", help="Alpha channel: keep (untouched), "
                                       "filter (like colour) or premultiply.")]
GrayOpt = Annotated[bool, typer.Option("--gray", help="Convert colour images to gray "
                                       "(luma 0.299 R + 0.587 G + 0.114 B) first.")]
MemoryOpt = Annotated[str | None, typer.Option(
    "--memory-limit", help="Working memory for one image (256MB, 2GB: decimal; 512MiB, 2GiB: "
    "binary). A larger TIFF or .npy is filtered in bands and streamed to a .tif/.npy output. "
    "Default: half of the memory available.", show_default=False)]
PageOpt = Annotated[int | None, typer.Option(
    "--page", help="Pick one page (0-based) of a multi-page TIFF or animated GIF/WebP; by "
    "default every TIFF page is filtered into a multi-page TIFF.", show_default=False)]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", "--force", help="Replace existing "
                                            "output files (never an input).")]
VerboseOpt = Annotated[bool, typer.Option("-v", "--verbose", help="More detail; Python "
                                          "tracebacks for unexpected errors.")]
QuietOpt = Annotated[bool, typer.Option("-q", "--quiet", help="Print nothing but errors.")]


def _stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def _stdout() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``imgconv: error: message`` on stderr; return the Exit to raise."""
    from rich.markup import escape

    _stderr().print(f"[bold red]imgconv: error:[/] {escape(message)}")
    return typer.Exit(code)


def handle_errors(func: F) -> F:
    """Turn imgconv's errors into one line and an exit code; no traceback unless -v."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ImgconvError as exc:
            if kwargs.get("verbose"):
                import traceback

                traceback.print_exc()
            raise fail(str(exc), exc.exit_code) from None
        except KeyboardInterrupt:
            raise fail("interrupted; no partial output was left", 130) from None
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:
            if kwargs.get("verbose"):
                raise
            raise fail(
                f"unexpected {type(exc).__name__}: {exc} (run again with --verbose for the "
                "traceback, and please report it)",
                1,
            ) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"imgconv {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """Filter images with kernels: correlation, convolution, FFT; exact boundary modes."""


# -- helpers --------------------------------------------------------------------------------
_SAFE = re.compile(r"[^A-Za-z0-9._+-]")


def safe_name(text: str) -> str:
    """Any character outside ``[A-Za-z0-9._+-]`` replaced by ``_``."""
    return _SAFE.sub("_", text)


def chain_name(kernels: list[Kernel]) -> str:
    return safe_name("+".join(k.name for k in kernels))


def sample_path() -> Path:
    """The built-in sample photo (256×256 RGB PNG)."""
    return Path(__file__).resolve().parent / "data" / "sample.png"


def _check_choice(value: str, valid: tuple[str, ...], option: str) -> str:
    v = value.strip().lower()
    if v not in valid:
        raise ImgconvError(f"{option} {value!r} is not valid: use one of {', '.join(valid)}")
    return v


# -- apply ----------------------------------------------------------------------------------
@app.command()
@handle_errors
def apply(
    images: Annotated[list[Path] | None, typer.Argument(
        help="Image files (PNG, JPEG, TIFF, BMP, GIF, WebP, .npy).", show_default=False)] = None,
    filters: FilterOpt = [],  # noqa: B006 - typer needs a literal default
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Output file (one image) or existing folder (several). "
        "Default: STEM.FILTER.MODE.EXT beside each input.")] = None,
    mode: ModeOpt = "convolve",
    method: MethodOpt = "auto",
    boundary: BoundaryOpt = "reflect",
    cval: CvalOpt = 0.0,
    size: SizeOpt = "same",
    dtype: DtypeOpt = None,
    precision: PrecisionOpt = "auto",
    abs_: AbsOpt = False,
    offset: OffsetOpt = 0.0,
    rescale: RescaleOpt = False,
    normalize: NormalizeOpt = False,
    alpha: AlphaOpt = "keep",
    gray: GrayOpt = False,
    page: PageOpt = None,
    memory_limit: MemoryOpt = None,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", help="Filter a TIFF/.npy image in bands on a Dask cluster at this "
        "address (tcp://host:8786); workers must see the same files.",
        show_default=False)] = None,
    sample: Annotated[bool, typer.Option("--sample", help="Use the built-in sample photo "
                                         "(outputs go to the current folder).")] = False,
    overwrite: OverwriteOpt = False,
    report_dir: Annotated[Path | None, typer.Option(
        "--report", help="Also write the diff report of correlate vs convolve for this run "
        "into this folder (one sub-folder per image when there are several).",
        show_default=False)] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Filter one or more images with one or more kernels (applied in sequence).

    Example: imgconv apply photo.png -f sobel-x --mode correlate -o edges.png
    """
    from imgconv import pipeline
    from imgconv.kernels import load_filter
    from imgconv.pixels import check_output_dtype, check_writable, page_count, same_file

    if not filters:
        raise ImgconvError("no filter given: add -f FILTER (see 'imgconv filters')")
    inputs = list(images or [])
    if sample:
        inputs.insert(0, sample_path())
    if not inputs:
        raise ImgconvError("no image given: name one or more images, or use --sample")
    opts = _options(mode, method, boundary, cval, size, precision, abs_, offset, rescale,
                    normalize, alpha)
    dtype = _dtype(dtype)
    limit = _memory_limit(memory_limit)
    if scheduler is not None:
        from imgconv.batch import check_scheduler

        check_scheduler(scheduler)
    kernels = [load_filter(f) for f in filters]

    # every check before any work: inputs exist, outputs are new and not inputs
    for p in inputs:
        if not p.exists():
            raise ImgconvError(f"{p}: no such file (check the path)")
        if p.is_dir():
            raise ImgconvError(f"{p}: is a folder (use 'imgconv batch' for folders)")
    pages = {p: page_count(p) if page is None else 1 for p in inputs}
    name = chain_name(kernels)
    targets: list[Path] = []
    if output is not None and (len(inputs) > 1 or output.is_dir()):
        if not output.is_dir():
            raise ImgconvError(f"{output}: with several images, -o must be an existing folder: "
                               f"create it first (mkdir {output})")
        folder: Path | None = output
    else:
        folder = None
    for p in inputs:
        default = f"{p.stem}.{name}.{opts.mode}{p.suffix.lower()}"
        if output is not None and folder is None:
            if not output.suffix:
                raise ImgconvError(f"{output}: has no extension and is not an existing folder: "
                                   "give a file name like out.png, or create the folder first")
            t = output
        elif folder is not None:
            t = folder / default
        else:
            t = (Path.cwd() if (sample and p == sample_path()) else p.parent) / default
        targets.append(t)
    seen: list[Path] = []
    for p, t in zip(inputs, targets, strict=True):
        if pages[p] > 1 and t.suffix.lower() not in (".tif", ".tiff"):
            tif = p.suffix.lower() in (".tif", ".tiff")
            raise ImgconvError(f"{p}: has {pages[p]} {'pages' if tif else 'frames'}: "
                               + ("write them to a .tif (every page is filtered), or pick "
                                  "one with --page N" if tif else "pick one with --page N"))
        for q in inputs:
            if same_file(q, t):
                raise ImgconvError(f"{t}: is an input; refusing to overwrite it (choose another "
                                   "output with -o)")
        if t.exists() and not overwrite:
            raise ImgconvError(f"{t}: already exists (use --overwrite to replace it)")
        if any(same_file(t, s) for s in seen):
            raise ImgconvError(f"{t}: two inputs would be written to the same output (they "
                               "have the same name): run them separately, or use 'imgconv "
                               "batch', which mirrors their folders")
        seen.append(t)
        check_writable(t)
        if dtype is not None:
            check_output_dtype(t, dtype)
    reports = _report_folders(report_dir, inputs, overwrite)

    import sys

    records: list[pipeline.FileRecord] = []
    talk = not quiet and not json_
    bar = _BandProgress(_stdout() if talk and sys.stdout.isatty() else None)
    for p, t in zip(inputs, targets, strict=True):
        with bar.for_file(p):
            try:
                rec = pipeline.process_file(p, t, kernels, opts, dtype=dtype, gray=gray,
                                            page=page, overwrite=overwrite,
                                            protect=tuple(inputs), memory_limit=limit,
                                            progress=bar.update, scheduler=scheduler)
            except ImgconvError as exc:
                if not records:
                    raise
                from imgconv.errors import WorkError  # work had started: exit 1, not 2

                raise WorkError(f"{exc} ({len(records)} output(s) were written before it: "
                                f"{', '.join(r.output for r in records)})") from None
        if talk:
            for note in rec.notes:
                _stderr().print(f"[yellow]note:[/] {note}")
            shape = "x".join(str(v) for v in rec.shape)
            bands = ", in bands (over --memory-limit)" if rec.tiled else ""
            _stdout().print(f"wrote {t}  ({'+'.join(k.name for k in kernels)}, {opts.mode}, "
                            f"{rec.method}, {opts.boundary}, {shape} {rec.dtype}, "
                            f"{rec.seconds:.3f} s{bands})")
        if p in reports:
            rec.report = str(_apply_report(p, reports[p], kernels, opts, dtype, gray,
                                           page, overwrite))
            if talk:
                _stdout().print(f"report (correlate vs convolve) written to {rec.report}")
        records.append(rec)
    if json_:
        typer.echo(json.dumps({"outputs": [r.to_json() for r in records]}, indent=2))


class _BandProgress:
    """A progress bar over the bands of one large image, shown only when it is tiled."""

    def __init__(self, console: Any):
        self.console = console
        self.progress: Any = None
        self.task: Any = None
        self.name = ""

    def for_file(self, path: Path) -> Any:
        import contextlib

        self.name = path.name

        @contextlib.contextmanager
        def scope() -> Any:
            try:
                yield self
            finally:
                if self.progress is not None:
                    self.progress.stop()
                self.progress = None

        return scope()

    def update(self, done: int, total: int) -> None:
        if self.console is None:
            return
        if self.progress is None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
            from rich.progress import TimeRemainingColumn as Eta

            self.progress = Progress(TextColumn(f"[bold]{self.name}[/] bands"), BarColumn(),
                                     MofNCompleteColumn(), Eta(), console=self.console)
            self.progress.start()
            self.task = self.progress.add_task("bands", total=total)
        self.progress.update(self.task, completed=done, total=total)


def _memory_limit(text: str | None, share: int = 1) -> int:
    from imgconv.tiled import default_limit, parse_size

    limit = parse_size(text) if text is not None else default_limit()
    return max(limit // max(share, 1), 10**7)


def _report_folders(report_dir: Path | None, inputs: list[Path],
                    overwrite: bool) -> dict[Path, Path]:
    """Where ``apply --report`` writes each input's report; refused before any work."""
    if report_dir is None:
        return {}
    from imgconv import report

    if len(inputs) == 1:
        folders = {inputs[0]: report_dir}
    else:
        folders = {p: report_dir / safe_name(p.stem) for p in inputs}
    for f in folders.values():
        report.check_folder(f, overwrite=overwrite)
    return folders


def _apply_report(image: Path, folder: Path, kernels: list[Kernel], opts: Any,
                  dtype: str | None, gray: bool, page: int | None, overwrite: bool) -> Path:
    """The ``diff`` report of correlate vs convolve for the same run of ``apply``."""
    from imgconv import diffing

    arr, has_alpha, in_dtype = _load(image, gray, page)
    out_dtype = dtype or str(in_dtype)
    base = diffing.Variant(opts.mode, opts.method, opts.boundary, opts.cval, opts.precision,
                           opts.size)
    va = diffing.parse_variant("mode=correlate", base)
    vb = diffing.parse_variant("mode=convolve", base)
    outcome = diffing.run_diff(arr, kernels, va, vb, base=opts, out_dtype=out_dtype,
                               has_alpha=has_alpha, alpha_max=_alpha_max(in_dtype),
                               file_dtype=in_dtype)
    outcome.report["image"] = str(image)
    _write_report(folder, outcome, arr, has_alpha, in_dtype, out_dtype, opts, kernels,
                  overwrite)
    return folder / "report.html"


def _write_report(folder: Path, outcome: Any, arr: Any, has_alpha: bool, in_dtype: Any,
                  out_dtype: str, opts: Any, kernels: list[Kernel],
                  overwrite: bool) -> list[Path]:
    """Both outputs as the run would write them, then the report folder."""
    from imgconv import pipeline, report

    keep_last = has_alpha and arr.ndim == 3  # alpha: no abs/offset/rescale
    finals = [pipeline.finish(r.values, out_dtype, in_dtype=in_dtype, abs_=opts.abs,
                              offset=opts.offset, rescale=opts.rescale, keep_last=keep_last)
              for r in (outcome.a, outcome.b)]
    written: list[Path] = report.write_report(
        folder, outcome.report, input_image=arr, a_out=finals[0], b_out=finals[1],
        a_float=outcome.a_values, b_float=outcome.b_values,
        kernel=kernels[0] if len(kernels) == 1 else None, overwrite=overwrite)
    return written


# -- batch ----------------------------------------------------------------------------------
@app.command()
@handle_errors
def batch(
    in_dir: Annotated[Path, typer.Argument(help="The folder of images.", show_default=False)],
    output: Annotated[Path, typer.Option(
        "-o", "--output", help="The output folder; the input tree is mirrored inside it.",
        show_default=False)],
    filters: FilterOpt = [],  # noqa: B006 - typer needs a literal default
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Descend into "
                                            "sub-folders.")] = False,
    glob: Annotated[str | None, typer.Option(
        "--glob", help="Only files matching this pattern (default: every image extension "
        "imgconv reads).", show_default=False)] = None,
    fmt: Annotated[str | None, typer.Option(
        "--format", help="Convert outputs to this format (png, tif, npy, ...); default: the "
        "input's.", show_default=False)] = None,
    workers: Annotated[int | None, typer.Option(
        "--workers", "-j", help="Worker processes (default: the machine's cores).",
        show_default=False)] = None,
    skip_existing: Annotated[bool, typer.Option(
        "--skip-existing", help="Leave outputs that exist (resume an interrupted "
        "batch).")] = False,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", help="Run on a Dask distributed cluster at this address "
        "(tcp://host:8786); workers must see the same files.", show_default=False)] = None,
    mode: ModeOpt = "convolve",
    method: MethodOpt = "auto",
    boundary: BoundaryOpt = "reflect",
    cval: CvalOpt = 0.0,
    size: SizeOpt = "same",
    dtype: DtypeOpt = None,
    precision: PrecisionOpt = "auto",
    abs_: AbsOpt = False,
    offset: OffsetOpt = 0.0,
    rescale: RescaleOpt = False,
    normalize: NormalizeOpt = False,
    alpha: AlphaOpt = "keep",
    gray: GrayOpt = False,
    page: PageOpt = None,
    memory_limit: MemoryOpt = None,
    overwrite: OverwriteOpt = False,
    json_: Annotated[bool, typer.Option("--json", help="Print the outcome of every file "
                                        "as JSON.")] = False,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Filter every image in a folder, in parallel; the output tree mirrors the input.

    A file that fails is named in the summary and the others go on (exit 1 if any
    failed). Example: imgconv batch photos/ -o blurred/ -f gaussian5 -r
    """
    from imgconv import batch as batchmod
    from imgconv.kernels import load_filter

    if not filters:
        raise ImgconvError("no filter given: add -f FILTER (see 'imgconv filters')")
    if skip_existing and overwrite:
        raise ImgconvError("--skip-existing and --overwrite contradict each other: pick one")
    if workers is not None and workers < 1:
        raise ImgconvError(f"--workers {workers}: use 1 or more")
    opts = _options(mode, method, boundary, cval, size, precision, abs_, offset, rescale,
                    normalize, alpha)
    dtype = _dtype(dtype)
    kernels = tuple(load_filter(f) for f in filters)
    jobs, refused = batchmod.discover(in_dir, output, recursive=recursive, pattern=glob,
                                      fmt=fmt)
    if dtype is not None:
        from imgconv.pixels import check_output_dtype

        firsts = {j.dst.suffix.lower(): j.dst for j in reversed(jobs)}
        for _, dst in sorted(firsts.items()):
            try:
                check_output_dtype(dst, dtype)
            except ImgconvError as exc:
                raise ImgconvError(f"{exc} (with batch: --format tif or npy)") from None
    import os

    share = 1 if scheduler else (workers or os.cpu_count() or 1)
    work = batchmod.Work(kernels, opts, dtype=dtype, gray=gray, page=page,
                         existing="skip" if skip_existing else
                         "overwrite" if overwrite else "fail",
                         memory_limit=_memory_limit(memory_limit, share))
    if scheduler:
        from imgconv.batch import check_scheduler

        check_scheduler(scheduler)
    con = _stdout()
    show_bar = con.is_terminal and not quiet and not json_ and jobs
    if show_bar:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        progress = Progress(TextColumn("[bold]filtering"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[rate]}"), TimeElapsedColumn(),
                            TextColumn("ETA"), TimeRemainingColumn(), console=con)
        t0 = time.perf_counter()
        with progress:
            task = progress.add_task("files", total=len(jobs), rate="")

            def tick(_: Any) -> None:
                done = progress.tasks[0].completed + 1
                rate = done / max(time.perf_counter() - t0, 1e-9)
                progress.update(task, advance=1, rate=f"{rate:.1f} files/s")

            outcomes = batchmod.run(jobs, work, workers=workers, scheduler=scheduler,
                                    on_done=tick)
    else:
        done: list[Any] = []
        try:
            outcomes = batchmod.run(jobs, work, workers=workers, scheduler=scheduler,
                                    on_done=done.append)
        except KeyboardInterrupt:
            written = sum(o.status == "written" for o in done)
            raise ImgconvError(f"interrupted: {written} of {len(jobs)} files written, no "
                               "partial file left; resume with the same command and "
                               "--skip-existing") from None
    outcomes = refused + outcomes
    counts = {s: sum(o.status == s for o in outcomes) for s in ("written", "skipped", "failed")}
    stale = batchmod.stale_parts(jobs)
    if stale and not quiet:
        _stderr().print(f"[yellow]note:[/] {len(stale)} temporary file(s) left by an earlier, "
                        f"killed run (e.g. {stale[0]}): safe to delete")
    if json_:
        typer.echo(json.dumps({**counts, "files": [o.as_dict() for o in outcomes]}, indent=2))
    elif not quiet:
        _batch_summary(outcomes, counts, in_dir, output)
    elif counts["failed"]:
        err = _stderr()
        for o in outcomes:
            if o.status == "failed":
                err.print(f"[red]failed:[/] {o.error}", markup=True)
    if counts["failed"]:
        raise typer.Exit(1)


def _batch_summary(outcomes: list[Any], counts: dict[str, int], in_dir: Path,
                   output: Path) -> None:
    from rich.markup import escape
    from rich.table import Table

    con = _stdout()
    if not outcomes:
        con.print(f"no images found in {escape(str(in_dir))} (use --recursive for "
                  "sub-folders, or --glob PATTERN)")
        return
    table = Table(title=f"batch {escape(str(in_dir))} -> {escape(str(output))}",
                  title_justify="left")
    table.add_column("written", justify="right", style="green")
    table.add_column("skipped", justify="right", style="yellow")
    table.add_column("failed", justify="right", style="red")
    table.add_row(str(counts["written"]), str(counts["skipped"]), str(counts["failed"]))
    con.print(table)
    failed = [o for o in outcomes if o.status == "failed"]
    exists = [o for o in failed if o.error and "already exists" in o.error]
    broken = [o for o in failed if o not in exists]
    if broken:
        t2 = Table(title="failures", title_justify="left", show_lines=False)
        t2.add_column("file")
        t2.add_column("reason")
        for o in broken:
            t2.add_row(escape(o.input), escape(o.error or ""))
        con.print(t2)
    noted = [o for o in outcomes if o.notes]
    if noted:
        first = noted[0].notes[0]
        con.print(f"[yellow]note:[/] {len(noted)} file(s) with notes, e.g. "
                  f"{escape(noted[0].input)}: {escape(first)} (--json lists them)")
    if exists:
        con.print(f"[yellow]{len(exists)} output(s) already exist[/] and were left as they "
                  "are: --skip-existing to resume, --overwrite to replace them "
                  "(--json lists them)")


# -- diff -----------------------------------------------------------------------------------
@app.command()
@handle_errors
def diff(
    image: Annotated[Path, typer.Argument(help="The image to filter both ways.",
                                          show_default=False)],
    filters: FilterOpt = [],  # noqa: B006 - typer needs a literal default
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
        "-o", "--output", help="Write a report folder: both outputs, heat-map, signed "
        "difference, report.json, a self-contained report.html.")] = None,
    mode: ModeOpt = "convolve",
    method: MethodOpt = "auto",
    boundary: BoundaryLongOpt = "reflect",
    cval: CvalOpt = 0.0,
    size: SizeOpt = "same",
    dtype: DtypeOpt = None,
    precision: PrecisionOpt = "auto",
    abs_: AbsOpt = False,
    offset: OffsetOpt = 0.0,
    normalize: NormalizeOpt = False,
    alpha: AlphaOpt = "keep",
    gray: GrayOpt = False,
    page: PageOpt = None,
    fail_on_diff: Annotated[bool, typer.Option(
        "--fail-on-diff", help="Exit 3 when any pixel differs (or, with --tolerance, when "
        "the max abs difference exceeds it).")] = False,
    tolerance: Annotated[float | None, typer.Option(
        "--tolerance", help="With --fail-on-diff: the largest max abs difference (pixel "
        "units, before rounding) that still passes.", show_default=False)] = None,
    overwrite: OverwriteOpt = False,
    json_: Annotated[bool, typer.Option("--json", help="Print the report as one JSON "
                                        "object.")] = False,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Filter an image two ways (default: correlate vs convolve) and report how they differ.

    Example: imgconv diff photo.png -f sobel-x -o report/
    """

    from imgconv import diffing, report
    from imgconv.kernels import load_filter

    if tolerance is not None and not (tolerance >= 0):
        raise ImgconvError(f"--tolerance {tolerance}: use 0 or more (pixel units)")
    if tolerance is not None and not fail_on_diff:
        _stderr().print("[yellow]note:[/] --tolerance only matters with --fail-on-diff")

    if "=" in boundary:
        raise ImgconvError(f"--boundary {boundary!r} looks like a variant spec: did you mean "
                           f"--b {boundary}?")
    opts = _options(mode, method, boundary, cval, size, precision, abs_, offset, False,
                    normalize, alpha)
    out_dtype = _dtype(dtype)
    kernels = [load_filter(f) for f in filters]
    base = diffing.Variant(opts.mode, opts.method, opts.boundary, opts.cval, opts.precision,
                           opts.size)
    va = diffing.parse_variant(a if a is not None else "mode=correlate", base, "--a")
    vb = diffing.parse_variant(b if b is not None else "mode=convolve", base, "--b")
    ka = diffing.variant_kernels(va, kernels, opts.normalize)
    kb = diffing.variant_kernels(vb, kernels, opts.normalize)
    if not ka or not kb:
        raise ImgconvError("no filter given: add -f FILTER (see 'imgconv filters'), or give "
                           "each variant its own with filter=...")
    diffing.predict(va, vb, ka, kb)  # refuses incomparable variants before any work
    if output is not None:
        report.check_folder(output, overwrite=overwrite)
    arr, has_alpha, in_dtype = _load(image, gray, page)
    out_dtype = out_dtype or str(in_dtype)
    outcome = diffing.run_diff(arr, kernels, va, vb, base=opts, out_dtype=out_dtype,
                               has_alpha=has_alpha, alpha_max=_alpha_max(in_dtype),
                               file_dtype=in_dtype)
    rep = outcome.report
    rep["image"] = str(image)
    failed = False
    if fail_on_diff:
        if tolerance is not None:
            failed = rep["max_abs_diff"] > tolerance
            why = (f"max |A-B| {rep['max_abs_diff']:.4g} {'>' if failed else '<='} "
                   f"--tolerance {tolerance:g}")
        else:
            failed = rep["differing_pixels"] > 0
            why = f"{rep['differing_pixels']} pixel(s) differ after rounding"
        rep["fail_on_diff"] = {"tolerance": tolerance, "failed": failed, "why": why}
    if output is not None:
        written = _write_report(output, outcome, arr, has_alpha, in_dtype, out_dtype, opts,
                                ka, overwrite)
        rep["written"] = [str(p) for p in written]
    if json_:
        typer.echo(json.dumps(rep, indent=2))
    elif not quiet:
        report.print_report(rep, _stdout())
        if output is not None:
            _stdout().print(f"report written to {output / 'report.html'}")
    if fail_on_diff:
        if not json_ and not quiet:
            verdict = "[red]fail (exit 3)[/]" if failed else "[green]pass[/]"
            _stdout().print(f"--fail-on-diff: {verdict}: {rep['fail_on_diff']['why']}")
        if failed:
            raise typer.Exit(3)


def _options(mode: str, method: str, boundary: str, cval: float, size: str, precision: str,
             abs_: bool, offset: float, rescale: bool, normalize: bool,
             alpha: str) -> Any:
    """Validate the common options once, for every command; return pipeline.Options."""
    import math

    from imgconv import pipeline
    from imgconv.boundary import canonical_boundary
    from imgconv.engine import METHODS, MODES, PRECISIONS, SIZES

    for name, value in (("--cval", cval), ("--offset", offset)):
        if not math.isfinite(value):
            raise ImgconvError(f"{name} {value} is not a finite number")
    if cval != 0 and canonical_boundary(boundary) != "constant":
        _stderr().print(f"[yellow]note:[/] --cval {cval:g} has no effect with --boundary "
                        f"{canonical_boundary(boundary)} (it is the value beyond the edges "
                        "for --boundary constant)")
    return pipeline.Options(
        mode=_check_choice(mode, MODES, "--mode"),
        method=_check_choice(method, METHODS, "--method"),
        boundary=canonical_boundary(boundary),
        cval=cval,
        size=_check_choice(size, SIZES, "--size"),
        precision=_check_choice(precision, PRECISIONS, "--precision"),
        abs=abs_, offset=offset, rescale=rescale, normalize=normalize,
        alpha=_check_choice(alpha, pipeline.ALPHA_MODES, "--alpha"),
    )


def _dtype(dtype: str | None) -> str | None:
    from imgconv.pixels import DTYPES

    return None if dtype is None else _check_choice(dtype, DTYPES, "--dtype")


def _load(path: Path, gray: bool, page: int | None) -> tuple[Any, bool, Any]:
    """Read one image (one page); with ``--gray`` convert it: (array, has_alpha, file dtype)."""
    from imgconv import pipeline
    from imgconv.pixels import read_image

    img = read_image(path, page=page)
    if img.pages > 1:
        raise ImgconvError(f"{path}: has {img.pages} pages: pick one with --page N")
    arr, has_alpha = img.array, img.has_alpha
    if gray:
        arr, has_alpha = pipeline.to_gray(arr, has_alpha)
    return arr, has_alpha, img.array.dtype


def _alpha_max(dtype: Any) -> float:
    from imgconv.pixels import dtype_max

    return dtype_max(dtype)


# -- compose --------------------------------------------------------------------------------
@app.command()
@handle_errors
def compose(
    filters: Annotated[list[str], typer.Argument(
        metavar="FILTER...", help="Two or more filters, applied in this order.",
        show_default=False)],
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Write the composed kernel to this YAML file (default: print "
        "it).", show_default=False)] = None,
    name: Annotated[str | None, typer.Option("--name", help="The composed filter's name.",
                                             show_default=False)] = None,
    check: Annotated[bool, typer.Option(
        "--check", help="Show whether composition is associative (three filters) or "
        "commutative (two) for convolution and for correlation of kernels.")] = False,
    overwrite: OverwriteOpt = False,
    json_: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """One kernel equal to applying F, then G, ...: the full 2-D convolution of the kernels.

    The anchor is the sum of the anchors. It is the same kernel for a chain of
    correlations and for a chain of convolutions, because sliding F then G adds their
    offsets either way. Applying it equals applying the chain exactly with --boundary
    wrap, with --boundary constant --cval 0 --size full, and with --size valid; near
    the border otherwise it differs (imgconv diff shows by how much).
    """
    from imgconv import algebra
    from imgconv.kernels import kernel_to_yaml, load_filter
    from imgconv.pixels import write_text

    kernels = [load_filter(f) for f in filters]
    if check:
        _compose_check(kernels, json_)
        return
    if len(kernels) < 2:
        raise ImgconvError("compose needs two or more filters (F G [H ...])")
    if output is not None and output.suffix.lower() not in (".yaml", ".yml"):
        raise ImgconvError(f"{output}: the composed kernel is written as YAML: use a .yaml "
                           "name")
    k = algebra.compose(kernels, name=safe_name(name) if name else None)
    text = kernel_to_yaml(k)
    if output is not None:
        write_text(output, text, overwrite=overwrite)
    if json_:
        typer.echo(json.dumps({"name": k.name, "shape": list(k.shape),
                               "anchor": list(k.center), "scale": k.scale,
                               "kernel": k.weights.tolist(),
                               "output": None if output is None else str(output)}, indent=2))
    elif output is None:
        typer.echo(text, nl=False)
    elif not quiet:
        _stdout().print(f"wrote {output}  ({k.name}: {k.shape[0]}x{k.shape[1]}, anchor "
                        f"{k.center})")


def _compose_check(kernels: list[Kernel], json_: bool) -> None:
    import numpy as np

    from imgconv import algebra

    if len(kernels) == 3:
        res = algebra.associativity(*kernels)
        law = "associative: (F∘G)∘H == F∘(G∘H)"
    elif len(kernels) == 2:
        f, g = kernels
        res = {"kernels": [f.name, g.name]}
        for op, fn in (("convolution", algebra.full_convolve),
                       ("correlation", algebra.full_correlate)):
            left, right = fn(f.array, g.array), fn(g.array, f.array)
            d = float(np.abs(left - right).max())
            scale = f.abs_sum * g.abs_sum
            res[op] = {"left": left.tolist(), "right": right.tolist(), "max_abs_diff": d,
                       "relative": d / scale if scale else d, "associative": None,
                       "commutative": d <= 1e-12 * scale}
        law = "commutative: F∘G == G∘F"
    else:
        raise ImgconvError("--check takes two filters (commutativity) or three "
                           "(associativity)")
    if json_:
        typer.echo(json.dumps(res, indent=2))
        return
    key = "associative" if len(kernels) == 3 else "commutative"
    con = _stdout()
    con.print(f"Is composition of {', '.join(res['kernels'])} {law}?")
    for op in ("convolution", "correlation"):
        r = res[op]
        verdict = "[green]yes[/]" if r[key] else "[red]no[/]"
        con.print(f"  {op:<12} {verdict}   max |difference| {r['max_abs_diff']:.3g} "
                  f"(relative {r['relative']:.2g})")
    con.print("[dim]Convolution of kernels is associative and commutative; correlation is "
              "neither, unless the kernels are symmetric. Here F⋆G(n) = Σ F(m) G(m+n) "
              "(scipy.signal.correlate2d(G, F)); 'relative' divides by the product of the "
              "kernels' Σ|F|.[/]")


# -- filters --------------------------------------------------------------------------------
@app.command("filters")
@handle_errors
def filters_cmd(
    json_: Annotated[bool, typer.Option("--json", help="Print the list as JSON.")] = False,
    verbose: VerboseOpt = False,
) -> None:
    """List the shipped filter library and the kernel generators, one line each."""
    from rich.table import Table

    from imgconv.kernels import GENERATORS, shipped_filters

    ks = shipped_filters()
    if json_:
        typer.echo(json.dumps([
            {"name": k.name, "shape": list(k.shape), "symmetric": k.symmetric,
             "sum": k.sum, "description": k.description, "source": k.source} for k in ks
        ], indent=2))
        return
    table = Table(title="Shipped filters (use with -f NAME)", title_justify="left")
    table.add_column("name", style="bold")
    table.add_column("shape")
    table.add_column("corr = conv", justify="center")
    table.add_column("description")
    for k in ks:
        table.add_row(k.name, f"{k.shape[0]}x{k.shape[1]}",
                      "yes" if k.correlate_equals_convolve else "[yellow]no[/]", k.description)
    con = _stdout()
    con.print(table)
    gen = Table(title="Generators (use with -f NAME:key=value,...)", title_justify="left")
    gen.add_column("generator", style="bold")
    gen.add_column("parameters")
    gen.add_column("description")
    for gname, g in GENERATORS.items():
        gen.add_row(gname, g.params_help, g.description)
    con.print(gen)


# -- show -----------------------------------------------------------------------------------
def _fmt(v: float) -> str:
    from fractions import Fraction

    if float(v).is_integer():
        return str(int(v))
    fr = Fraction(float(v)).limit_denominator(10000)
    d = fr.denominator
    if abs(float(fr) - v) < 1e-12 and (d <= 32 or (d <= 4096 and d & (d - 1) == 0)
                                       or d in (273, 1003)):
        return f"{fr.numerator}/{fr.denominator}"  # the classic kernel divisors
    return f"{v:.6g}"


def _kernel_table(weights: Any, anchor: tuple[int, int], title: str) -> Any:
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_header=False, box=None,
                  padding=(0, 1))
    for _ in range(weights.shape[1]):
        table.add_column(justify="right")
    for i, row in enumerate(weights):
        cells = []
        for j, v in enumerate(row):
            s = _fmt(float(v))
            cells.append(f"[bold reverse]{s}[/]" if (i, j) == anchor else s)
        table.add_row(*cells)
    return table


def _print_wide(con: Any, table: Any, weights: Any) -> None:
    """Print a kernel table without truncating numbers, even on a narrow terminal."""
    from rich.console import Console

    widest = max(len(_fmt(float(v))) for v in weights.ravel())
    need = (widest + 2) * weights.shape[1] + 2
    if need <= con.width:
        con.print(table)
    else:
        Console(width=need, highlight=False, soft_wrap=True).print(table)


def _display_factors(k: Kernel) -> tuple[list[float], list[float]]:
    """Rank-1 factors scaled so the column's smallest non-zero magnitude is 1."""
    import numpy as np

    col, row = k.factors()
    nz = np.abs(col[np.abs(col) > 1e-12 * np.abs(col).max()])
    c = float(nz.min())
    ints = col / c
    if np.abs(ints).max() <= 1000 and np.allclose(ints, np.round(ints), rtol=0, atol=1e-9):
        col, row = ints, row * c  # small integers, as textbooks write Sobel: [1 2 1] x [-1 0 1]
    elif abs(col.sum()) > 1e-9 * np.abs(col).sum():
        s = float(col.sum())
        col, row = col / s, row * s  # the column a normalized 1-D kernel

    clean = [[0.0 if abs(v) < 1e-12 else float(np.round(v, 12)) for v in a] for a in (col, row)]
    return clean[0], clean[1]


@app.command()
@handle_errors
def show(
    filter_: Annotated[str, typer.Argument(metavar="FILTER", help="A filter file, shipped name, "
                                           "inline matrix or generator.")],
    mode: Annotated[str, typer.Option("--mode", help="convolve (as apply does by default: "
                                      "also shows the kernel rotated by 180°, as applied) or "
                                      "correlate.")] = "convolve",
    png: Annotated[Path | None, typer.Option(
        "--png", help="Also draw the kernel (signed colour map), the kernel as applied and "
        "its frequency response in dB into this PNG.", show_default=False)] = None,
    overwrite: OverwriteOpt = False,
    json_: Annotated[bool, typer.Option("--json", help="Print the properties as JSON.")] = False,
    verbose: VerboseOpt = False,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Print nothing (with --png: "
                                        "only write the picture).")] = False,
) -> None:
    """Show a kernel, its properties, and (with --mode convolve) the kernel as applied."""
    from imgconv.engine import MODES
    from imgconv.kernels import load_filter

    mode = _check_choice(mode, MODES, "--mode")
    k = load_filter(filter_)
    kh, kw = k.shape
    if png is not None:
        from imgconv.kernelplot import kernel_picture
        from imgconv.pixels import check_writable, write_image

        if png.suffix.lower() != ".png":
            raise ImgconvError(f"{png}: --png writes a PNG: use a .png name")
        check_writable(png)
        write_image(png, kernel_picture(k, mode), overwrite=overwrite)
        if not quiet and not json_:
            _stderr().print(f"wrote {png}")
    if quiet:
        return
    props: dict[str, object] = {
        "name": k.name,
        "source": k.source,
        "description": k.description,
        "shape": [kh, kw],
        "anchor": list(k.center),
        "scale": k.scale,
        "offset": k.offset,
        "sum": k.sum,
        "abs_sum": k.abs_sum,
        "min": float(k.array.min()),
        "max": float(k.array.max()),
        "zero_sum": k.is_zero_sum,
        "normalized": bool(abs(k.sum - 1.0) <= 1e-12 * max(k.abs_sum, 1.0)),
        "symmetric": k.symmetric,
        "correlate_equals_convolve": k.correlate_equals_convolve,
        "rank": k.rank,
    }
    if k.rank == 1:
        col, row = _display_factors(k)
        props["factors"] = {"column": col, "row": row}
    if json_:
        props["kernel"] = k.weights.tolist()
        if mode == "convolve":
            fl = k.flipped()
            props["as_applied"] = {"kernel": fl.weights.tolist(), "anchor": list(fl.center)}
        typer.echo(json.dumps(props, indent=2))
        return
    con = _stdout()
    title = f"{k.name}  ({kh}x{kw}" + (f", scale {_fmt(k.scale)}" if k.scale != 1 else "") + ")"
    _print_wide(con, _kernel_table(k.weights, k.center, title), k.weights)
    if k.description:
        con.print(f"[dim]{k.description}[/]")
    con.print(f"source      {k.source}")
    con.print(f"shape       {kh}x{kw}   anchor (row, col) {k.center}"
              + ("" if k.anchor_is_centred else "  (not centred)"))
    if k.scale != 1:
        con.print(f"scale       {_fmt(k.scale)}  (the kernel applied is weights x scale)")
    if k.offset:
        con.print(f"offset      {_fmt(k.offset)}  (added after filtering)")
    shown_sum = 0.0 if k.is_zero_sum else k.sum  # not -3e-17 for a zero-sum kernel
    con.print(f"sum         {shown_sum:.6g}   min {float(k.array.min()):.6g}   "
              f"max {float(k.array.max()):.6g}")
    con.print("normalized  " + ("yes (sums to 1)" if props["normalized"] else
                                 "zero-sum (an edge/detail kernel)" if k.is_zero_sum else "no"))
    con.print("symmetric   " + ("yes: equals its 180° rotation" if k.symmetric else
                                 "[yellow]no: differs from its 180° rotation[/]"))
    if k.correlate_equals_convolve:
        con.print("corr/conv   correlate == convolve for this kernel")
    elif k.symmetric:
        con.print("corr/conv   [yellow]correlate != convolve: symmetric, but the anchor is not "
                  "centred, so the results are shifted by a pixel[/]")
    else:
        con.print("corr/conv   [yellow]correlate != convolve: convolve applies the kernel "
                  "rotated by 180°[/]")
    con.print(f"rank        {k.rank}" + ("  (separable)" if k.rank == 1 else "  (not separable)"))
    if k.rank == 1:
        col, row = _display_factors(k)
        con.print(f"  column    [{' '.join(_fmt(v) for v in col)}]")
        con.print(f"  row       [{' '.join(_fmt(v) for v in row)}]   "
                  "(kernel = column x row)")
    if mode == "convolve" and k.correlate_equals_convolve:
        con.print("as applied  convolve applies it unchanged (it equals its 180° rotation)")
    elif mode == "convolve":
        fl = k.flipped()
        con.print()
        _print_wide(con, _kernel_table(fl.weights, fl.center,
                                       f"as applied by convolve (rotated 180°, anchor "
                                       f"{fl.center}), slid over the image like a correlation"),
                    fl.weights)
    else:
        con.print("as applied  correlate slides it as written")


def _usage_error(exc: BaseException) -> bool:
    """Click's usage errors (bad option value, unknown option, missing argument)."""
    return any(c.__name__ == "UsageError" for c in type(exc).__mro__)


def main() -> None:
    """Entry point of the ``imgconv`` command: usage errors on one line, exit code 2."""
    import sys

    try:
        code = app(standalone_mode=False)
    except Exception as exc:
        if not _usage_error(exc):
            raise
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
            typer.echo(ctx.get_help())  # a bare command: its help is the answer
            sys.exit(0)
        where = f"{ctx.command_path} --help" if ctx is not None else "imgconv --help"
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        message = " ".join(message.split())
        fail(f"{message} (see '{where}')", 2)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
