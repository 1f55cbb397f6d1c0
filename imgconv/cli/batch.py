"""``imgconv batch``: filter every image in a folder, in parallel; the output tree mirrors it."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

import imgconv.cli.common as common
import imgconv.cli.flags as flags
from imgconv.cli.flags import DEFAULTS
from imgconv.errors import ImgconvError, Message

if TYPE_CHECKING:
    from imgconv.batch import Job, Outcome, Work
    from imgconv.options import Existing, FileOptions, FilterOptions

STATUSES = ("written", "skipped", "failed")

@common.handle_errors
def batch(
    in_dir: Annotated[Path, typer.Argument(help="The folder of images.", show_default=False)],
    output: Annotated[Path, typer.Option(
        "-o", "--output", help="The output folder; the input tree is mirrored inside it.",
        show_default=False)],
    filters: flags.Filters = [],  # noqa: B006 - typer needs a literal default
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Descend into "
                                            "sub-folders.")] = False,
    glob: Annotated[str | None, typer.Option(
        "--glob", help="Only files matching this pattern (default: every image extension "
        "imgconv reads).", show_default=False)] = None,
    fmt: Annotated[str | None, typer.Option(
        "--format", help="Convert outputs to this format (png, tif, npy, ...); default: the "
        "input's.", show_default=False)] = None,
    quality: flags.Quality = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Print the plan (IN -> OUT and write / skip: exists / failed: "
        "collision / refused: reason), write nothing; exit 1 if an input would fail.")] = False,
    workers: Annotated[int | None, typer.Option(
        "--workers", "-j", help="Worker processes (default: the machine's cores).",
        show_default=False)] = None,
    skip_existing: Annotated[bool, typer.Option(
        "--skip-existing", help="Leave outputs that exist (resume an interrupted "
        "batch).")] = False,
    scheduler: flags.Scheduler = None,
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
    overwrite: flags.Overwrite = False,
    json_: flags.Json = False,
    verbose: flags.Verbose = False,
    quiet: flags.Quiet = False,
) -> None:
    """Filter every image in a folder, in parallel; the output tree mirrors the input.

    A file that fails is named in the summary and the others go on (exit 1 if any
    failed). Example: imgconv batch photos/ -o blurred/ -f gaussian5 -r
    """
    given = common.FilterArgs.taken(locals())  # the common options, as typed
    existing = _existing(filters, skip_existing, overwrite, workers)
    opts = given.options()
    files = given.file_options(share=1 if scheduler else _cores(workers), quality=quality,
                               fmt=fmt, existing=existing)
    jobs, refused, work = _plan(in_dir, output, filters, opts, files, recursive=recursive,
                                glob=glob)
    if dry_run:
        _dry_run(jobs, refused, work, json_=json_, quiet=quiet)
        return
    if scheduler:
        from imgconv.bands.cluster import check_scheduler

        check_scheduler(scheduler)
    common.clean_folders({j.dst.parent for j in jobs}, quiet=quiet or json_)
    outcomes = refused + _run(jobs, work, workers=workers, scheduler=scheduler,
                              bar=not quiet and not json_, refused=refused)
    counts = _counts(outcomes)
    if json_:
        error = _failure(outcomes, counts)
        common.print_json({**counts, "files": [o.as_dict() for o in outcomes],
                           **({"error": error} if error else {})})
    elif not quiet:
        _summary(outcomes, counts, in_dir, output)
    elif counts["failed"]:
        _lines(o for o in outcomes if o.status == "failed")
    if counts["failed"]:
        raise typer.Exit(1)


def _counts(outcomes: Sequence[Outcome]) -> dict[str, int]:
    """The count of each status, the library's words spelled as flags on the way."""
    for o in outcomes:
        o.error = o.error and common.spoken(o.error)
        o.notes = [common.spoken(n) for n in o.notes]
    counts = {s: sum(o.status == s for o in outcomes) for s in STATUSES}
    if any(o.status == "interrupted" for o in outcomes):
        counts["interrupted"] = sum(o.status == "interrupted" for o in outcomes)
    return counts


def _failure(outcomes: Sequence[Outcome], counts: dict[str, int]) -> dict[str, object] | None:
    """The ``--json`` error object of a batch in which files failed (exit 1); its ``file``
    when one did."""
    failed = [o.input for o in outcomes if o.status == "failed"]
    if not failed:
        return None
    return {"message": f"{len(failed)} of {len(outcomes)} files failed (see files)",
            "exit_code": 1, "file": failed[0] if len(failed) == 1 else None}


def _existing(filters: list[str], skip_existing: bool, overwrite: bool,
              workers: int | None) -> Existing:
    """What to do with existing outputs (``fail``, ``skip``, ``overwrite``), once the
    arguments that contradict each other are refused."""
    if not filters:
        raise ImgconvError(common.NO_FILTER)
    if skip_existing and overwrite:
        raise ImgconvError("--skip-existing and --overwrite contradict each other: pick one")
    if workers is not None and workers < 1:
        raise ImgconvError(f"--workers {workers}: use 1 or more")
    return "skip" if skip_existing else "overwrite" if overwrite else "fail"


def _cores(workers: int | None) -> int:
    import os

    return workers or os.cpu_count() or 1


def _plan(in_dir: Path, output: Path, filters: list[str], opts: FilterOptions,
          files: FileOptions, *, recursive: bool, glob: str | None
          ) -> tuple[list[Job], list[Outcome], Work]:
    """The jobs, the files refused up front, and what every worker needs; checked before
    any work (an output dtype is checked once per output format)."""
    from imgconv import batch as batchmod
    from imgconv.kernels import load_filter

    kernels = tuple(load_filter(f) for f in filters)
    jobs, refused = batchmod.discover(in_dir, output, recursive=recursive, pattern=glob,
                                      fmt=files.fmt, existing=files.existing)
    if opts.dtype is not None:
        from imgconv.formats import check_output_dtype

        firsts = {j.dst.suffix.lower(): j.dst for j in reversed(jobs)}
        for _, dst in sorted(firsts.items()):
            try:
                check_output_dtype(dst, opts.dtype)
            except ImgconvError as exc:
                raise ImgconvError(Message.concat(exc.message,
                                                  " (with batch: --format tif or npy)"),
                                   file=exc.file) from None
    return jobs, refused, batchmod.Work(kernels, opts, files)


def _dry_run(jobs: Sequence[Job], refused: Sequence[Outcome], work: Work, *, json_: bool,
             quiet: bool) -> None:
    """``--dry-run``: the plan of a real run (:func:`imgconv.batch.plan`), a line per input;
    nothing written, no folder created; exit 1 when an input would fail."""
    from imgconv import batch as batchmod

    steps = [(o, *o.planned()) for o in _spelled(batchmod.plan(jobs, refused, work))]
    if json_:
        common.print_json([{"input": o.input, "output": o.output, "action": action,
                            "reason": reason} for o, action, reason in steps])
    elif not quiet:
        for o, action, reason in steps:
            typer.echo(common.shown(f"{o.input} -> {o.output}  {action}"
                                    + (f": {reason}" if reason else "")))
    if any(action not in ("write", "skip") for _, action, _ in steps):
        raise typer.Exit(1)


def _spelled(outcomes: list[Outcome]) -> list[Outcome]:
    """``outcomes`` with the library's words spelled as flags."""
    _counts(outcomes)
    return outcomes


def _run(jobs: Sequence[Job], work: Work, *, workers: int | None, scheduler: str | None,
         bar: bool, refused: Sequence[Outcome] = ()) -> list[Outcome]:
    """Run the jobs, with a progress bar on a terminal; an interruption says exactly how
    many outputs are complete on disk and how to resume."""
    from imgconv import batch as batchmod

    try:
        with _progress(len(jobs) if bar else 0) as tick:
            return batchmod.run(jobs, work, workers=workers, scheduler=scheduler, on_done=tick)
    except batchmod.BatchInterrupted as stop:
        outcomes = list(refused) + stop.outcomes
        counts = _counts(outcomes)
        message = (f"interrupted by {stop.name}: {counts['written']} of {len(jobs)} files "
                   "written (complete on disk), no partial file left; resume with the same "
                   "command and --skip-existing")
        raise stop.saying(message, {**counts, "files": [o.as_dict() for o in outcomes]}
                          ) from None


@contextlib.contextmanager
def _progress(total: int) -> Iterator[Callable[[Outcome], None]]:
    """A progress bar over ``total`` files on a terminal (nothing otherwise); yields the
    function to call as each file is done."""
    con = common.stdout()
    if not total or not con.is_terminal:
        yield lambda _: None
        return
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
        task = progress.add_task("files", total=total, rate="")

        def tick(_: Outcome) -> None:
            done = progress.tasks[0].completed + 1
            rate = done / max(time.perf_counter() - t0, 1e-9)
            progress.update(task, advance=1, rate=f"{rate:.1f} files/s")

        yield tick


def _summary(outcomes: Sequence[Outcome], counts: dict[str, int], in_dir: Path,
             output: Path) -> None:
    """The counts, the failures (those not about an existing output), notes, existing
    outputs: rich tables on a terminal, else plain lines that never cut a file name."""
    con = common.stdout()
    if not outcomes:
        con.print(f"no images found in {common.plain(in_dir)} (use --recursive for "
                  "sub-folders, or --glob PATTERN)")
        return
    failed = [o for o in outcomes if o.status == "failed"]
    exists = [o for o in failed if o.why == "exists"]
    broken = [o for o in failed if o not in exists]
    if con.is_terminal and common.stderr().is_terminal:
        _tables(counts, broken, f"batch {in_dir} -> {output}")
    else:
        typer.echo(common.shown(f"batch {in_dir} -> {output}: " + ", ".join(
            f"{counts[s]} {s}" for s in STATUSES)))
        _lines(broken, err=False)
    noted = [o for o in outcomes if o.notes]
    if noted:
        first, said = noted[0], noted[0].notes[0]
        named = any(said.startswith(f"{p}: ") for p in (first.input, first.output))
        common.note(Message.concat(f"{len(noted)} file(s) with notes, e.g. ",
                                   "" if named else f"{first.input}: ", said,
                                   " (--json lists them)"))
    if exists:
        typer.echo(f"{len(exists)} output(s) already exist and were left as they are: "
                   "--skip-existing to resume, --overwrite to replace them (--json lists "
                   "them)")


def _tables(counts: dict[str, int], broken: Sequence[Outcome], title: str) -> None:
    """The counts and the failures as rich tables (a terminal): names fold, never cut."""
    from rich.table import Table

    con = common.stdout()
    table = Table(title=common.plain(title), title_justify="left")
    for status, colour in zip(STATUSES, ("green", "yellow", "red"), strict=True):
        table.add_column(status, justify="right", style=colour)
    table.add_row(*(str(counts[s]) for s in STATUSES))
    con.print(table)
    if broken:
        t2 = Table(title="failures", title_justify="left", show_lines=False)
        t2.add_column("file", overflow="fold")
        t2.add_column("reason", overflow="fold")
        for o in broken:
            t2.add_row(common.plain(o.input), common.plain(_reason(o)))
        con.print(t2)


def _reason(o: Outcome) -> str:
    """Why ``o`` failed, without its input's name in front (it is printed beside it)."""
    reason = o.error or ""
    return reason[len(o.input) + 2:] if reason.startswith(o.input + ": ") else reason


def _lines(outcomes: Iterable[Outcome], *, err: bool = True) -> None:
    """One plain line per failed file: its full path and why (never cut, never wrapped)."""
    for o in outcomes:
        typer.echo(common.shown(f"failed: {o.input}: {_reason(o)}"), err=err)
