"""``imgconv apply``: filter one or more images; every check before any work."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

import imgconv.cli.common as common
import imgconv.cli.flags as flags
from imgconv.cli.flags import DEFAULTS
from imgconv.cli.pipes import standard_streams
from imgconv.errors import ImgconvError, verbatim

if TYPE_CHECKING:
    from collections.abc import Iterator

    from imgconv.kernels import Kernel
    from imgconv.options import FileOptions, FilterOptions
    from imgconv.outputs import FileRecord

GLOB_CHARS = ("*", "?", "[")


def sample_path() -> Path:
    """The built-in sample photo (256×256 RGB PNG)."""
    return Path(__file__).resolve().parent.parent / "data" / "sample.png"


@dataclass
class Plan:
    """One ``apply`` run, checked: what to read, write, and how."""

    inputs: list[Path]
    targets: list[Path]
    kernels: list[Kernel]
    options: FilterOptions
    files: FileOptions
    scheduler: str | None = None
    reports: dict[Path, Path] = field(default_factory=dict)
    to_stdout: bool = False  # -o -: the image goes to standard output, messages to stderr


@common.handle_errors
def apply(
    images: Annotated[list[Path] | None, typer.Argument(
        help="Image files (PNG, JPEG, TIFF, BMP, GIF, WebP, .npy).", show_default=False)] = None,
    filters: flags.Filters = [],  # noqa: B006 - typer needs a literal default
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Output file (one image) or existing folder (several). "
        "Default: STEM.FILTER.MODE.EXT beside each input.")] = None,
    fmt: Annotated[str | None, typer.Option(
        "--format", help="Output format (png, jpg, tif, webp, npy, ...), also of default "
        "names; default: the input's.", show_default=False)] = None,
    quality: flags.Quality = None,
    mode: flags.Mode = DEFAULTS.mode,
    method: flags.Method = DEFAULTS.method,
    boundary: flags.Boundary = DEFAULTS.boundary,
    cval: flags.Cval = DEFAULTS.cval,
    size: flags.Size = DEFAULTS.size,
    dtype: flags.Dtype = DEFAULTS.dtype,
    precision: flags.Precision = DEFAULTS.precision,
    abs: flags.Abs = DEFAULTS.abs,
    offset: flags.Offset = DEFAULTS.offset,
    rescale: flags.Rescale = DEFAULTS.rescale,
    normalize: flags.Normalize = DEFAULTS.normalize,
    alpha: flags.Alpha = DEFAULTS.alpha,
    gray: flags.Gray = False,
    page: flags.Page = None,
    memory_limit: flags.MemoryLimit = None,
    auto_orient: flags.AutoOrient = True,
    strip: flags.Strip = False,
    scheduler: flags.Scheduler = None,
    sample: Annotated[bool, typer.Option("--sample", help="Use the built-in sample photo "
                                         "(outputs go to the current folder).")] = False,
    overwrite: flags.Overwrite = False,
    report_dir: Annotated[Path | None, typer.Option(
        "--report", help="Also write the diff report of correlate vs convolve for this run "
        "into this folder (one sub-folder per image when there are several).",
        show_default=False)] = None,
    json_: flags.Json = False,
    verbose: flags.Verbose = False,
    quiet: flags.Quiet = False,
) -> None:
    """Filter one or more images with one or more kernels (applied in sequence).

    Example: imgconv apply photo.png -f sobel-x --mode correlate -o edges.png
    """
    given = common.FilterArgs.taken(locals())  # the common options, as typed
    if not filters:
        raise ImgconvError(common.NO_FILTER)
    inputs = ([sample_path()] if sample else []) + expand_globs(images or [])
    if not inputs:
        raise ImgconvError("no image given: name one or more images, or use --sample")
    opts = given.options()
    with standard_streams(inputs, output, fmt, json_) as streams:
        files = _file_options(given, fmt, quality, streams.output, overwrite)
        plan = _plan(streams.inputs, filters, opts, files, output=streams.output,
                     scheduler=scheduler, sample=sample, report_dir=report_dir)
        plan.to_stdout = streams.to_stdout is not None
        records = _run(plan, talk=not quiet and not json_)
        streams.flush()
    if json_:
        common.print_json({"outputs": [r.to_json() for r in records]})


def _file_options(given: common.FilterArgs, fmt: str | None, quality: int | None,
                  output: Path | None, overwrite: bool) -> FileOptions:
    """How each file is read and written, checked before any work: ``--quality``,
    ``--format`` (and ``-o`` of another format), ``--memory-limit``."""
    files = given.file_options(quality=quality, fmt=fmt,
                               existing="overwrite" if overwrite else "fail")
    _format(files.fmt, output)
    return files


def _plan(inputs: list[Path], filters: list[str], opts: FilterOptions, files: FileOptions, *,
          output: Path | None, scheduler: str | None, sample: bool,
          report_dir: Path | None) -> Plan:
    """Every check before any work: filters load, inputs exist, outputs are new and not inputs."""
    from imgconv.kernels import load_filter
    from imgconv.outputs import chain_name, page_counts, plan_targets

    if scheduler is not None:
        from imgconv.bands.cluster import check_scheduler

        check_scheduler(scheduler)
    kernels = [load_filter(f) for f in filters]
    for p in inputs:
        _existing_input(p)
    pages = page_counts(inputs, files.page)
    targets = plan_targets(inputs, chain_name(kernels), opts, files, output=output,
                           in_cwd=(sample_path(),) if sample else (), pages=pages)
    reports = _report_folders(report_dir, inputs, files.overwrite, pages)
    return Plan(inputs, targets, kernels, opts, files, scheduler=scheduler, reports=reports)


def expand_globs(args: list[Path]) -> list[Path]:
    """The arguments with each quoted glob expanded (sorted; ``**`` crosses folders): an
    argument that is not an existing file and holds ``*``, ``?`` or ``[``.  A glob that
    matches no file is refused, naming it."""
    import glob
    import os

    inputs: list[Path] = []
    for arg in args:
        text = str(arg)
        if not any(c in text for c in GLOB_CHARS) or _present(arg):
            inputs.append(arg)
            continue
        found = sorted(m for m in glob.glob(text, recursive=True) if Path(m).is_file())
        if not found:
            raise ImgconvError("{file}: no file matches this pattern (check the folder and "
                               "the pattern; quote it so that imgconv expands it)", file=text)
        inputs += [Path(m) for m in found]
    unique: dict[str, Path] = {}  # a file named and matched too is one input, once
    for p in inputs:
        unique.setdefault(os.path.realpath(p), p)
    return list(unique.values())


def _present(path: Path) -> bool:
    """Is ``path`` there (a name too long to ask about counts: its checks say why)?"""
    try:
        return path.exists()
    except OSError:
        return True


def _format(ext: str | None, output: Path | None) -> None:
    """``--format`` (an extension, checked by :class:`~imgconv.options.FileOptions`) refused
    before any work when ``-o`` names a file of another format."""
    from imgconv.formats import FORMATS

    if ext is not None and output is not None and output.suffix and not output.is_dir() and \
            FORMATS.get(output.suffix.lower()) is not FORMATS["." + ext]:
        raise ImgconvError(f"{{output!s}} is not a .{ext} file, but {{fmt}}: drop one, "
                           f"or name the output {verbatim(output.stem)}.{ext}",
                           values={"output": output, "fmt": ext})


def _existing_input(path: Path) -> None:
    """Refuse a name over the file system's limit, a missing input, or a folder, before
    any work."""
    from imgconv.outputs import check_name

    check_name(path)
    if not path.exists():
        raise ImgconvError("{file}: no such file (check the path)", file=path)
    if path.is_dir():
        raise ImgconvError("{file}: is a folder (use 'imgconv batch' for folders)", file=path)


def _run(plan: Plan, *, talk: bool) -> list[FileRecord]:
    """Filter each input into its target (:func:`imgconv.applying.run_many`), the bar and
    the lines of each file on the way."""
    import sys

    from imgconv.applying import run_many
    from imgconv.files import RunHooks

    common.clean_folders({t.parent for t in plan.targets}, quiet=not talk)
    # the bar where the messages go: standard error when standard output holds the image
    stream, console = ((sys.stderr, common.stderr) if plan.to_stdout
                       else (sys.stdout, common.stdout))
    bar = _BandProgress(console() if talk and stream.isatty() else None)

    def written(rec: FileRecord) -> None:
        rec.notes = [common.spoken(n) for n in rec.notes]
        if talk:
            _render(rec, plan)

    def reported(rec: FileRecord) -> None:
        if talk:
            common.echo(f"report (correlate vs convolve) written to {rec.report}")

    hooks = RunHooks(progress=bar.update, stage=bar.stage, scheduler=plan.scheduler,
                     each=bar.for_file, written=written, reported=reported)
    return run_many(list(zip(plan.inputs, plan.targets, strict=True)), plan.kernels,
                    plan.options, plan.files, hooks, reports=plan.reports)


def _render(rec: FileRecord, plan: Plan) -> None:
    """The notes of one file, then its ``wrote ...`` line."""
    for text in rec.notes:
        common.note(text)
    if plan.to_stdout:
        return  # standard output holds the image
    opts = plan.options
    shape = "x".join(str(v) for v in rec.shape)
    bands = ", in bands (over --memory-limit)" if rec.tiled else ""
    common.echo(
        f"wrote {rec.output}  ({'+'.join(k.name for k in plan.kernels)}, {opts.mode}, "
        f"{rec.method}, {opts.boundary}, {shape} {rec.dtype}, {rec.seconds:.3f} s{bands})")


class _BandProgress:
    """Progress of one file on a terminal: a bar over the bands of an image filtered in
    bands, else the stages read → filter → write of a whole image once it has taken about
    a second (a quick file shows nothing)."""

    DELAY = 1.0  # seconds before a whole image's stages are shown
    STAGES = ("read", "filter", "write")

    def __init__(self, console: Any):
        self.console = console
        self.progress: Any = None
        self.task: Any = None
        self.name = ""
        self.stage_now = ""
        self.timer: Any = None
        import threading

        self.lock = threading.Lock()  # the timer's thread and this one start and stop it

    def for_file(self, path: Path) -> Any:
        import contextlib

        self.name = path.name

        @contextlib.contextmanager
        def scope() -> Iterator[_BandProgress]:
            if self.console is not None:
                import threading

                self.timer = threading.Timer(self.DELAY, self._show_stages)
                self.timer.daemon = True
                self.timer.start()
            try:
                yield self
            finally:
                with self.lock:
                    if self.timer is not None:
                        self.timer.cancel()
                    if self.progress is not None:
                        self.progress.stop()
                    self.progress, self.timer, self.stage_now = None, None, ""

        return scope()

    def _start(self, what: str, total: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
        from rich.progress import TimeRemainingColumn as Eta

        name = _braces(common.plain(self.name))
        self.progress = Progress(TextColumn(f"[bold]{name}[/] {{task.description}}"),
                                 BarColumn(), MofNCompleteColumn(), Eta(),
                                 console=self.console, transient=True)
        self.progress.start()
        self.task = self.progress.add_task(what, total=total)

    def _show_stages(self) -> None:
        with self.lock:
            if self.progress is None and self.stage_now and self.timer is not None:
                self._start(self.stage_now, len(self.STAGES))
                self.stage(self.stage_now)

    def stage(self, name: str) -> None:
        """A whole image's stage begins (``read``, ``filter``, ``write``)."""
        self.stage_now = name
        if self.progress is not None and self.task is not None and name in self.STAGES:
            self.progress.update(self.task, description=name,
                                 completed=self.STAGES.index(name))

    def update(self, done: int, total: int) -> None:
        """Bands: ``done`` of ``total``."""
        if self.console is None:
            return
        with self.lock:
            if self.timer is not None:
                self.timer.cancel()
            if self.progress is None:
                self._start("bands", total)
            self.progress.update(self.task, completed=done, total=total,
                                 description="bands")


def _braces(text: str) -> str:
    """``text`` kept literal by ``str.format`` (a rich TextColumn formats its text)."""
    return text.replace("{", "{{").replace("}", "}}")


def _report_folders(report_dir: Path | None, inputs: list[Path], overwrite: bool,
                    pages: dict[Path, int]) -> dict[Path, Path]:
    """Where ``apply --report`` writes each input's report; refused before any work, as is
    an input of several pages (``pages``) without ``--page``: a report compares one."""
    if report_dir is None:
        return {}
    for p in inputs:
        if pages[p] > 1:
            raise ImgconvError(f"{{file}}: has {pages[p]} pages or frames: {{report!s}} "
                               "compares one: pick it with {page!s}",
                               values={"report": ..., "page": "N"}, file=p)
    from imgconv import report
    from imgconv.outputs import check_name, safe_name

    check_name(report_dir)
    if len(inputs) == 1:
        folders = {inputs[0]: report_dir}
    else:
        folders = {p: report_dir / safe_name(p.stem) for p in inputs}
    for f in folders.values():
        report.check_folder(f, overwrite=overwrite)
    return folders
