"""``imgconv batch``: discover files, run them (local processes or Dask), collect outcomes.

Each file is one independent job: read, filter, write atomically (the same
:func:`imgconv.files.process_file` as ``apply``), so results are identical to
``apply`` on that file.  A file that fails is recorded and the others go on.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from imgconv.bands.cluster import connect
from imgconv.errors import ImgconvError
from imgconv.files import process_file
from imgconv.formats import READ_EXTENSIONS
from imgconv.kernels import Kernel
from imgconv.options import FilterOptions
from imgconv.outputs import same_file

EXISTING = ("fail", "skip", "overwrite")


@dataclass(frozen=True)
class Job:
    """One file to filter: ``src`` into ``dst``."""

    src: Path
    dst: Path


@dataclass
class Outcome:
    """What became of one job (the ``batch --json`` record)."""

    input: str
    output: str
    status: str  # written | skipped | failed
    error: str | None = None
    seconds: float = 0.0
    method: str | None = None
    notes: list[str] = field(default_factory=list)  # e.g. samples clipped
    params: tuple[str, ...] = ()  # the parameters ``error`` names (ImgconvError.params)

    def as_dict(self) -> dict[str, Any]:
        """The ``batch --json`` record."""
        record = asdict(self)
        del record["params"]
        return record


@dataclass(frozen=True)
class Work:
    """Everything a worker needs besides the job (pickled once per task)."""

    kernels: tuple[Kernel, ...]
    options: FilterOptions
    dtype: str | None = None
    gray: bool = False
    page: int | None = None
    existing: str = "fail"
    memory_limit: int | None = None


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def discover(
    in_dir: Path,
    out_dir: Path,
    *,
    recursive: bool = False,
    pattern: str | None = None,
    fmt: str | None = None,
) -> tuple[list[Job], list[Outcome]]:
    """The jobs for a folder, and the files refused up front (two inputs, one output).

    Files are every image extension imgconv reads (or those matching ``pattern``),
    in sorted order; anything inside ``out_dir`` is never read as input.
    """
    if not in_dir.exists():
        raise ImgconvError(f"{in_dir}: no such folder (check the path)")
    if not in_dir.is_dir():
        raise ImgconvError(f"{in_dir}: is a file, not a folder (use 'imgconv apply' for files)")
    if out_dir.exists() and not out_dir.is_dir():
        raise ImgconvError(f"{out_dir}: exists and is not a folder: choose a folder for "
                           "output=", param="output")
    if same_file(in_dir, out_dir):
        raise ImgconvError(f"{out_dir}: is the input folder; choose another output= (inputs "
                           "are never overwritten)", param="output")
    if fmt is not None:
        fmt = fmt.lower().lstrip(".")
        if "." + fmt not in READ_EXTENSIONS:
            raise ImgconvError(f"fmt={fmt!r} is not a format imgconv writes: use one of "
                               f"{', '.join(e.lstrip('.') for e in READ_EXTENSIONS)}",
                               param="fmt")
    walker = in_dir.rglob("*") if recursive else in_dir.glob("*")
    files = []
    for p in walker:
        if not p.is_file() or p.name.startswith(".") or _inside(p, out_dir):
            continue
        rel = p.relative_to(in_dir)
        if pattern is not None:
            if not (fnmatch.fnmatch(p.name, pattern) or fnmatch.fnmatch(str(rel), pattern)):
                continue
        elif p.suffix.lower() not in READ_EXTENSIONS:
            continue
        files.append(p)
    jobs: list[Job] = []
    refused: list[Outcome] = []
    claimed: dict[Path, Path] = {}
    for p in sorted(files):
        rel = p.relative_to(in_dir)
        dst = out_dir / (rel.with_suffix("." + fmt) if fmt else rel)
        if dst in claimed:
            refused.append(Outcome(str(p), str(dst), "failed",
                                   f"{p}: would be written to the same output as "
                                   f"{claimed[dst]}"))
            continue
        claimed[dst] = p
        jobs.append(Job(p, dst))
    return jobs, refused


def stale_parts(jobs: Sequence[Job]) -> list[Path]:
    """Temporary files an earlier, killed run left beside these outputs (``.NAME.*.part``)."""
    found: list[Path] = []
    for folder in sorted({j.dst.parent for j in jobs}):
        if folder.is_dir():
            found += sorted(p for p in folder.glob(".*.part") if p.is_file())
    return found


def run_job(job: Job, work: Work) -> Outcome:
    """Filter one file; never raises for a bad file (the outcome says why it failed)."""
    src, dst = job.src, job.dst
    if dst.exists() or dst.is_symlink():
        if work.existing == "skip":
            return Outcome(str(src), str(dst), "skipped", "exists")
        if work.existing == "fail":
            return Outcome(str(src), str(dst), "failed",
                           f"{dst}: already exists (use skip_existing=True to keep it or "
                           "overwrite=True to replace it)", params=("skip_existing", "overwrite"))
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
        rec = process_file(src, dst, work.kernels, work.options, dtype=work.dtype,
                           gray=work.gray, page=work.page,
                           overwrite=work.existing == "overwrite",
                           memory_limit=work.memory_limit)
    except ImgconvError as exc:
        return Outcome(str(src), str(dst), "failed", str(exc), params=exc.params)
    except MemoryError:
        return Outcome(str(src), str(dst), "failed", f"{src}: out of memory")
    except OSError as exc:
        return Outcome(str(src), str(dst), "failed", f"{src}: {exc.strerror or exc}")
    except Exception as exc:  # a bad file must not stop the batch; say what happened
        return Outcome(str(src), str(dst), "failed",
                       f"{src}: unexpected {type(exc).__name__}: {exc}")
    return Outcome(str(src), str(dst), "written", None, rec.seconds, rec.method, rec.notes)


def _single_thread_worker() -> None:
    """Worker-process initializer: one thread per worker, the processes give parallelism;
    on Linux, ask to be terminated if the batch process dies (killed, out of memory)."""
    from imgconv.engine import set_threads

    set_threads(1)
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        with contextlib.suppress(OSError, AttributeError):  # only a safety net
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def run_local(jobs: Sequence[Job], work: Work, workers: int) -> Iterator[Outcome]:
    """Run jobs in ``workers`` processes (in this process when 1); yield as they finish."""
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield run_job(job, work)
        return
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")  # no fork of OpenCV/BLAS thread pools
    pool = ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=ctx,
                               initializer=_single_thread_worker)
    futures: dict[Future[Outcome], Job] = {}
    try:
        futures = {pool.submit(run_job, job, work): job for job in jobs}
        for fut in as_completed(futures):
            yield _result(fut, futures[fut])
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def run_dask(jobs: Sequence[Job], work: Work, address: str) -> Iterator[Outcome]:
    """Run jobs on a Dask distributed cluster (workers must see the same file system)."""
    with connect(address) as client:
        from distributed import as_completed as dask_completed

        futures = {client.submit(run_job, job, work, pure=False): job for job in jobs}
        for fut in dask_completed(list(futures)):  # type: ignore[no-untyped-call]
            job = futures[fut]
            try:
                yield fut.result()
            except Exception as exc:  # a worker died or could not unpickle: that file failed
                yield Outcome(str(job.src), str(job.dst), "failed",
                              f"{job.src}: worker error {type(exc).__name__}: {exc}")


def _result(fut: Future[Outcome], job: Job) -> Outcome:
    try:
        return fut.result()
    except Exception as exc:  # the worker process died (killed, out of memory)
        return Outcome(str(job.src), str(job.dst), "failed",
                       f"{job.src}: worker process failed ({type(exc).__name__}: {exc})")


def run(
    jobs: Sequence[Job],
    work: Work,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    on_done: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Run every job; ``on_done`` is called as each finishes (for a progress bar)."""
    if work.existing not in EXISTING:
        raise ImgconvError(f"unknown policy {work.existing!r} for existing outputs")
    n = workers if workers is not None else (os.cpu_count() or 1)
    if n < 1:
        raise ImgconvError(f"workers={n}: use 1 or more", param="workers")
    stream = run_dask(jobs, work, scheduler) if scheduler else run_local(jobs, work, n)
    outcomes = []
    for outcome in stream:
        outcomes.append(outcome)
        if on_done is not None:
            on_done(outcome)
    order = {str(j.src): i for i, j in enumerate(jobs)}
    outcomes.sort(key=lambda o: order.get(o.input, len(order)))
    return outcomes
