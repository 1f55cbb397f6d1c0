"""Several files through one filtering, in turn (``apply``): :func:`run_many`.

Each input is read, filtered and written (:func:`imgconv.files.process_file`), then, when
asked, the diff report of correlate vs convolve for it is written
(:class:`imgconv.diffing.DiffRun`, :func:`imgconv.report.write_diff`).  An error after
the first output is written is a :class:`~imgconv.errors.WorkError` (exit 1) that lists
what was written; an interruption (SIGINT, SIGTERM: :mod:`imgconv.interrupts`) says how
many outputs are complete, naming them.  ``batch`` runs its files in parallel instead
(:func:`imgconv.batch.run`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import imgconv.files as files_mod
from imgconv.errors import ImgconvError, Message, WorkError
from imgconv.files import NO_HOOKS, RunHooks
from imgconv.interrupts import Interrupted
from imgconv.kernels import Kernel
from imgconv.options import FileOptions, FilterOptions
from imgconv.outputs import FileRecord, FileSet


def run_many(
    pairs: Sequence[tuple[Path, Path]],
    kernels: Sequence[Kernel],
    options: FilterOptions,
    files: FileOptions,
    hooks: RunHooks = NO_HOOKS,
    *,
    reports: Mapping[Path, Path] | None = None,
) -> list[FileRecord]:
    """Filter each ``(input, output)`` of ``pairs`` in turn; no output is written over any
    input of the run.  ``reports`` maps an input to the folder of its diff report.

    ``hooks.each(input)`` is entered around each file (its ``progress`` and ``stage``
    follow it), ``hooks.written(record)`` called once its output is written and
    ``hooks.reported(record)`` once its report is.  Returns the records, in order.

    The inputs (and ``files.protect``) are known by their identity, taken once: each
    output is checked against them all in one ``stat`` (:class:`~imgconv.outputs.FileSet`).
    """
    guard = FileSet((*files.protect, *(src for src, _ in pairs)))
    reports = reports or {}
    records: list[FileRecord] = []
    try:
        for src, dst in pairs:
            with (hooks.each or _unfollowed)(src), _after(records):
                records.append(files_mod.process_file(src, dst, kernels, options, files,
                                                      hooks, inputs=guard))
            if hooks.written is not None:
                hooks.written(records[-1])
            if src in reports:
                with _after(records):
                    report = _report(src, reports[src], kernels, options, files)
                records[-1].report = str(report)
                if hooks.reported is not None:
                    hooks.reported(records[-1])
    except KeyboardInterrupt as exc:
        stop = exc if isinstance(exc, Interrupted) else Interrupted()
        done = "".join(f"; wrote {r.output}" for r in records)
        raise stop.saying(f"interrupted by {stop.name}: {len(records)} of {len(pairs)} "
                          f"output(s) written{done}; no partial file left",
                          {"outputs": [r.to_json() for r in records]}) from None
    return records


def _unfollowed(path: Path) -> contextlib.AbstractContextManager[object]:
    return contextlib.nullcontext()


@contextlib.contextmanager
def _after(records: list[FileRecord]) -> Iterator[None]:
    """One step of the run (a file into its output, or its report): an error once
    ``records`` has outputs is work that failed, naming them."""
    try:
        yield
    except ImgconvError as exc:
        if not records:
            raise
        raise WorkError(Message.concat(exc.message, f" ({len(records)} output(s) were written "
                                       f"before it: {', '.join(r.output for r in records)})"),
                        file=exc.file, param=exc.params) from None


def _report(image: Path, folder: Path, kernels: Sequence[Kernel], options: FilterOptions,
            files: FileOptions) -> Path:
    """The ``diff`` report of correlate vs convolve for the same filtering of ``image``."""
    from imgconv.diffing import DiffRun, Variant, parse_variant
    from imgconv.report import write_diff

    base = Variant(options)
    run = DiffRun.compute(image, kernels, parse_variant("mode=correlate", base),
                          parse_variant("mode=convolve", base), options, files)
    write_diff(folder, run, kernels, overwrite=files.overwrite)
    return folder / "report.html"
