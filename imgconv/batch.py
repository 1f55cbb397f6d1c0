"""``imgconv batch``: discover files, run them (local processes or Dask), collect outcomes.

Each file is one independent job: read, filter, write atomically (the same
:func:`imgconv.files.process_file` as ``apply``), so results are identical to
``apply`` on that file.  A file that fails is recorded and the others go on.  No file
in the input tree is ever replaced (:class:`imgconv.outputs.InputTree`).

Local jobs run in worker processes, one job each at a time (:class:`_Pool`), so that
an interruption (SIGINT, SIGTERM: :mod:`imgconv.interrupts`) starts no queued job,
stops the running ones within a second, and :func:`run` can say exactly which outputs
are complete on disk (:class:`BatchInterrupted`).
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import imgconv.interrupts as interrupts
from imgconv.bands.cluster import connect
from imgconv.errors import ImgconvError, Message, verbatim
from imgconv.files import process_file
from imgconv.formats import readable, written_as
from imgconv.kernels import Kernel
from imgconv.options import FileOptions, FilterOptions
from imgconv.outputs import InputTree, check_folder, check_name, format_extension, same_file
from imgconv.temporaries import remove_stale


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
    status: str  # written | skipped | failed | interrupted (stopped, or never started)
    error: str | None = None
    seconds: float = 0.0
    method: str | None = None
    notes: list[str] = field(default_factory=list)  # e.g. samples clipped
    params: tuple[str, ...] = ()  # the parameters ``error`` names (ImgconvError.params)
    why: str = ""  # in a word, for the plan: exists, collision

    def as_dict(self) -> dict[str, Any]:
        """The ``batch --json`` record."""
        record = asdict(self)
        del record["params"], record["why"]
        return record

    def planned(self) -> tuple[str, str | None]:
        """What the plan says of it (``batch --dry-run``): ``("write", None)``,
        ``("skip", "exists")``, ``("failed", "exists")`` (an output there, neither skipped nor
        overwritten), ``("failed", "collision")`` (two inputs, one output) or
        ``("refused", reason)``."""
        if self.status == "written":
            return "write", None
        if self.status == "skipped":
            return "skip", self.why or self.error
        if self.why in ("collision", "exists"):
            return "failed", self.why
        reason = self.error or ""
        return "refused", reason[len(self.input) + 2:] if reason.startswith(
            self.input + ": ") else reason


@dataclass(frozen=True)
class Work:
    """Everything a worker needs besides the job (pickled once per task)."""

    kernels: tuple[Kernel, ...]
    options: FilterOptions
    files: FileOptions = field(default_factory=FileOptions)  # its ``existing``: the policy

    @property
    def existing(self) -> str:
        """What becomes of an output that exists: ``fail``, ``skip``, ``overwrite``."""
        return self.files.existing


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
    existing: str = "fail",
) -> tuple[list[Job], list[Outcome]]:
    """The jobs for a folder, and the files refused up front: two inputs into one output,
    a name over the file system's limit, an output that would replace a file of the input
    tree (an input, or any file inside ``in_dir``), whatever ``existing`` says (with
    ``"skip"`` such an output is left as it is, like any existing one).

    Files are every image extension imgconv reads (or those matching ``pattern``),
    in sorted order; anything inside ``out_dir`` is never read as input.
    """
    check_name(in_dir)
    check_name(out_dir)
    if not in_dir.exists():
        raise ImgconvError("{file}: no such folder (check the path)", file=in_dir)
    if not in_dir.is_dir():
        raise ImgconvError("{file}: is a file, not a folder (use 'imgconv apply' for files)",
                           file=in_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ImgconvError("{file}: exists and is not a folder: choose a folder for "
                           "{output!s}", values={"output": ""}, file=out_dir)
    if same_file(in_dir, out_dir):
        raise ImgconvError("{file}: is the input folder; choose another {output!s} (inputs "
                           "are never overwritten)", values={"output": ""}, file=out_dir)
    check_folder(out_dir)
    if fmt is not None:
        fmt = format_extension(fmt)
    files = _inputs(in_dir, out_dir, recursive, pattern)
    tree = InputTree(in_dir, files)
    jobs: list[Job] = []
    refused: list[Outcome] = []
    claimed: dict[Path, Path] = {}
    for p in files:
        rel = p.relative_to(in_dir)
        ext = p.suffix.lower()
        # an input of a format imgconv only reads keeps its name, .tif added (a.tga.tif)
        dst = out_dir / (rel.with_suffix("." + fmt) if fmt else
                         rel if written_as(ext) == ext else rel.with_name(rel.name + ".tif"))
        why: str | None = None
        params: tuple[str, ...] = ()
        if dst in claimed:
            why, params = f"{p}: would be written to the same output as {claimed[dst]}", ()
        elif existing != "skip" and tree.holds(dst):
            why, params = tree.refusal(dst), tree.params
        else:
            try:
                check_name(dst)
            except ImgconvError as exc:
                why = exc.message
        if why is not None:
            word = "collision" if dst in claimed else ""
            refused.append(Outcome(str(p), str(dst), "failed", why, params=params, why=word))
            continue
        claimed[dst] = p
        jobs.append(Job(p, dst))
    return jobs, refused


def _inputs(in_dir: Path, out_dir: Path, recursive: bool, pattern: str | None) -> list[Path]:
    """The image files of ``in_dir``, sorted; hidden files and ``out_dir`` left out."""
    walker = in_dir.rglob("*") if recursive else in_dir.glob("*")
    files = []
    for p in walker:
        if not p.is_file() or p.name.startswith(".") or _inside(p, out_dir):
            continue
        rel = p.relative_to(in_dir)
        if pattern is not None:
            if not (fnmatch.fnmatch(p.name, pattern) or fnmatch.fnmatch(str(rel), pattern)):
                continue
        elif not readable(p.suffix.lower()):
            continue
        files.append(p)
    return sorted(files)


def settled(job: Job, existing: str) -> Outcome | None:
    """The outcome of a job decided before it runs (an existing output: skipped, or
    failed unless ``existing`` is ``"overwrite"``); None: it is to be filtered."""
    src, dst = job.src, job.dst
    if not (dst.exists() or dst.is_symlink()) or existing == "overwrite":
        return None
    if existing == "skip":
        return Outcome(str(src), str(dst), "skipped", "exists", why="exists")
    return Outcome(str(src), str(dst), "failed",
                   Message(f"{verbatim(dst)}: already exists (use {{skip_existing}} to keep it or "
                           "{overwrite} to replace it)",
                           {"skip_existing": True, "overwrite": True}),
                   params=("skip_existing", "overwrite"),
                   why="exists")


def plan(jobs: Sequence[Job], refused: Sequence[Outcome], work: Work) -> list[Outcome]:
    """The plan of a batch (``dry_run``), one outcome per input in the order of the
    inputs, nothing written: those :func:`discover` refused, those :func:`settled` decides,
    those whose header already says the run would fail (:func:`preflight`), and the rest
    ``written`` (to be)."""
    steps = list(refused) + [settled(j, work.existing) or preflight(j, work)
                             or Outcome(str(j.src), str(j.dst), "written") for j in jobs]
    return sorted(steps, key=lambda o: Path(o.input))  # discover's order


def preflight(job: Job, work: Work) -> Outcome | None:
    """What the input's header alone says a run would refuse (unreadable, over the pixel
    guard, a pixel type or page count the output format cannot hold), without decoding
    pixels; None when the header raises no objection (decoding may still fail)."""
    from imgconv.formats import FORMATS, check_output_dtype, frames_error, guard, probe

    try:
        header = probe(job.src)
        page = work.files.page
        guard(str(job.src), header, page)
        check_output_dtype(job.dst, work.options.dtype or header.dtype)
        out = FORMATS.get(job.dst.suffix.lower())
        if header.pages > 1 and page is None and out is not None and not out.frames:
            raise frames_error(job.src, header.pages)
    except ImgconvError as exc:
        return Outcome(str(job.src), str(job.dst), "failed", exc.message, params=exc.params)
    return None


def run_job(job: Job, work: Work) -> Outcome:
    """Filter one file; never raises for a bad file (the outcome says why it failed)."""
    src, dst = job.src, job.dst
    early = settled(job, work.existing)
    if early is not None:
        return early
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # the output's fault, not the input's
        return Outcome(str(src), str(dst), "failed",
                       f"{dst}: cannot create the folder {dst.parent} "
                       f"({exc.strerror or exc}): choose another output folder")
    try:
        rec = process_file(src, dst, work.kernels, work.options, work.files)
    except ImgconvError as exc:
        return Outcome(str(src), str(dst), "failed", exc.message, params=exc.params)
    except MemoryError:
        return Outcome(str(src), str(dst), "failed", f"{src}: out of memory")
    except OSError as exc:
        return Outcome(str(src), str(dst), "failed", f"{src}: {exc.strerror or exc}")
    except Exception as exc:  # a bad file must not stop the batch; say what happened
        return Outcome(str(src), str(dst), "failed",
                       f"{src}: unexpected {type(exc).__name__}: {exc}")
    return Outcome(str(src), str(dst), "written", None, rec.seconds, rec.method, rec.notes)


# -- local worker processes -------------------------------------------------------------------
STOP_WAIT = 0.9  # seconds the running jobs get to stop cleanly before their worker is killed


def _worker_setup() -> None:
    """In a worker process: one thread (the processes give parallelism), no warnings on the
    user's terminal, SIGINT/SIGTERM stopping the job (:func:`imgconv.interrupts.in_worker`),
    and on Linux termination if the batch process dies (killed, out of memory)."""
    import warnings

    warnings.simplefilter("ignore")
    interrupts.in_worker()
    from imgconv.engine import set_threads

    set_threads(1)
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        with contextlib.suppress(OSError, AttributeError):  # only a safety net
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _worker_main(conn: Any, work: Work) -> None:
    """A worker process: jobs from ``conn`` one at a time, each outcome sent back, until
    told to stop (None) or the batch process is gone."""
    _worker_setup()
    while True:
        try:
            with interrupts.waiting():
                job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            with interrupts.job_running():
                outcome = run_job(job, work)
        except KeyboardInterrupt:  # stopped: its temporary files are gone
            outcome = Outcome(str(job.src), str(job.dst), "interrupted")
        try:
            conn.send(outcome)
        except OSError:
            return


class _Slot:
    """One worker process and the job it runs (None: idle)."""

    def __init__(self, ctx: Any, work: Work) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child, work), daemon=True,
                                name="imgconv-worker")
        self.proc.start()
        child.close()
        interrupts.track_child(self.proc.pid)
        self.job: Job | None = None
        self.dead = False  # its pipe closed: it died (killed, out of memory)

    def give(self, job: Job | None) -> None:
        self.job = job
        try:
            self.conn.send(job)
        except OSError:
            self.dead = True

    def take(self, stopping: bool = False) -> Outcome:
        """The outcome of its job (it has sent it, or died)."""
        job, self.job = self.job, None
        assert job is not None
        try:
            return self.conn.recv()  # type: ignore[no-any-return]
        except (EOFError, OSError):
            # the pipe closes before the process can be reaped: is_alive() may still say
            # True, so the slot says it is dead; its job's temporaries are removed now
            self.dead = True
            self.proc.join(1.0)
            remove_stale([job.dst.parent], names=[job.dst.name])
            if stopping:
                return Outcome(str(job.src), str(job.dst), "interrupted")
            return Outcome(str(job.src), str(job.dst), "failed",
                           f"{job.src}: the worker process died (killed, or out of memory)")

    def end(self, timeout: float) -> None:
        self.proc.join(timeout)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(1.0)
        interrupts.untrack_child(self.proc.pid)
        self.conn.close()


class _Pool:
    """``n`` worker processes, each given one job at a time: nothing is queued in a
    worker, so a stop starts no new job."""

    def __init__(self, work: Work) -> None:
        import multiprocessing

        self.ctx = multiprocessing.get_context("spawn")  # no fork of OpenCV/BLAS threads
        self.work = work
        self.slots: list[_Slot] = []

    def start(self, n: int) -> None:
        while len(self.slots) < n:
            self._spawn(len(self.slots))

    def _spawn(self, i: int) -> _Slot:
        """A new worker in slot ``i``.  SIGINT/SIGTERM are held meanwhile: the worker starts
        with them blocked (it unblocks them once ready) and is known to :meth:`stop`
        before a signal that came meanwhile interrupts this process."""
        with interrupts.blocked():
            slot = _Slot(self.ctx, self.work)
            self.slots[i:i + 1] = [slot]
        return slot

    def run(self, jobs: Sequence[Job]) -> Iterator[Outcome]:
        from multiprocessing.connection import wait

        queue = deque(jobs)
        while True:
            for i, slot in enumerate(self.slots):
                if queue and slot.job is None:
                    if slot.dead or not slot.proc.is_alive():  # died: start another
                        slot.end(0)
                        slot = self._spawn(i)
                    slot.give(queue.popleft())
                    if slot.dead:  # it died before it could take the job: a new one runs it
                        job, slot.job = slot.job, None
                        slot.end(0)
                        slot = self._spawn(i)
                        slot.give(job)
            busy = [s for s in self.slots if s.job is not None]
            if not busy:
                return
            ready = set(wait([s.conn for s in busy] + [s.proc.sentinel for s in busy]))
            for slot in busy:
                if slot.conn in ready or slot.proc.sentinel in ready:
                    yield slot.take()

    def close(self) -> None:
        """Every job done: the workers end."""
        for slot in self.slots:
            slot.give(None)
        for slot in self.slots:
            slot.end(5.0)

    def stop(self) -> list[Outcome]:
        """Stop now: the running jobs are interrupted (their worker killed if it does not
        stop within :data:`STOP_WAIT`); returns the outcomes of the jobs that were running."""
        from multiprocessing.connection import wait

        late: list[Outcome] = []
        for slot in self.slots:
            if slot.job is not None:
                with contextlib.suppress(OSError):
                    slot.proc.terminate()  # SIGTERM: handled like the user's signal
            else:
                slot.give(None)
        deadline = time.monotonic() + STOP_WAIT
        while (busy := [s for s in self.slots if s.job is not None]):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ready = set(wait([s.conn for s in busy] + [s.proc.sentinel for s in busy], left))
            for slot in busy:
                if slot.conn in ready or slot.proc.sentinel in ready:
                    late.append(slot.take(stopping=True))
                    slot.give(None)
        end = time.monotonic() + 0.2  # idle workers (perhaps still starting) then killed
        for slot in self.slots:
            if slot.job is not None:
                slot.proc.kill()
                late.append(slot.take(stopping=True))
            slot.end(max(0.0, end - time.monotonic()))
        return late


def run_dask(jobs: Sequence[Job], work: Work, client: Any) -> Iterator[Outcome]:
    """Run jobs on a Dask distributed cluster (workers must see the same file system)."""
    from distributed import as_completed as dask_completed

    futures = {client.submit(run_job, job, work, pure=False): job for job in jobs}
    try:
        for fut in dask_completed(list(futures)):  # type: ignore[no-untyped-call]
            job = futures[fut]
            try:
                yield fut.result()
            except Exception as exc:  # a worker died or could not unpickle: that file failed
                yield Outcome(str(job.src), str(job.dst), "failed",
                              f"{job.src}: worker error {type(exc).__name__}: {exc}")
    finally:
        client.cancel(list(futures))  # queued files are not started after an interruption


class BatchInterrupted(interrupts.Interrupted):
    """A batch stopped by SIGINT or SIGTERM: ``outcomes`` has one per job, ``written`` for
    exactly the outputs complete on disk, ``interrupted`` for those stopped or never
    started (no temporary file of this run is left)."""

    def __init__(self, signum: int, outcomes: list[Outcome]) -> None:
        super().__init__(signum)
        self.outcomes = outcomes


def _identity(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_mtime_ns


def run(
    jobs: Sequence[Job],
    work: Work,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    on_done: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Run every job; ``on_done`` is called as each finishes (for a progress bar).

    An interruption (``KeyboardInterrupt``, SIGTERM under
    :func:`imgconv.interrupts.handling`) stops the workers and raises
    :class:`BatchInterrupted` with what became of every job.
    """
    n = workers if workers is not None else (os.cpu_count() or 1)
    if n < 1:
        raise ImgconvError("{workers}: use 1 or more", values={"workers": n})
    before = {j.dst: _identity(j.dst) for j in jobs}
    outcomes: list[Outcome] = []
    pool = _Pool(work) if not scheduler and n > 1 and len(jobs) > 1 else None
    stream: Iterator[Outcome] = iter(())
    with contextlib.ExitStack() as stack:
        try:
            if scheduler:
                stream = run_dask(jobs, work, stack.enter_context(connect(scheduler)))
            elif pool is not None:
                pool.start(min(n, len(jobs)))
                stream = pool.run(jobs)
            else:
                stream = (run_job(job, work) for job in jobs)
            for outcome in stream:
                outcomes.append(outcome)
                if on_done is not None:
                    on_done(outcome)
        except KeyboardInterrupt as exc:
            getattr(stream, "close", lambda: None)()  # a cluster's queued files cancelled
            late = pool.stop() if pool is not None else []
            pool = None
            raise BatchInterrupted(interrupts.signum_of(exc),
                                   _settle(jobs, outcomes + late, before)) from None
        finally:
            if pool is not None:
                pool.close()
    return _ordered(jobs, outcomes)


def _settle(jobs: Sequence[Job], outcomes: list[Outcome],
            before: dict[Path, tuple[int, int, int] | None]) -> list[Outcome]:
    """After an interruption: one outcome per job, a job without a definite one counted
    ``written`` exactly when a new output of it is on disk; this run's temporaries removed."""
    known = {o.input: o for o in outcomes if o.status != "interrupted"}
    settled = []
    for job in jobs:
        done = known.get(str(job.src))
        if done is None:
            now = _identity(job.dst)
            fresh = now is not None and now != before.get(job.dst)
            done = Outcome(str(job.src), str(job.dst), "written" if fresh else "interrupted")
        settled.append(done)
    remove_stale({j.dst.parent for j in jobs}, names={j.dst.name for j in jobs})
    return settled


def _ordered(jobs: Sequence[Job], outcomes: list[Outcome]) -> list[Outcome]:
    order = {str(j.src): i for i, j in enumerate(jobs)}
    return sorted(outcomes, key=lambda o: order.get(o.input, len(order)))
