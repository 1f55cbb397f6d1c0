"""SIGINT and SIGTERM: one interruption path for ``apply`` and ``batch`` (docs/semantics.md §5).

- In the command's process, :func:`handling` turns both signals into :class:`Interrupted`
  (a ``KeyboardInterrupt``), so a signal unwinds the work exactly like Ctrl-C: ``finally``
  blocks remove temporary files, ``except Exception`` does not swallow it.  The first
  signal interrupts; later ones are ignored while the interruption is cleaned up.  A
  watchdog thread, woken by the signal itself (``signal.set_wakeup_fd``), makes sure the
  process ends within :data:`GRACE` seconds even when the main thread is stuck in a long
  call into C: it removes the temporary files being written (:func:`track`), kills the
  worker processes (:func:`track_child`) and exits with 128 + the signal number.
- In a worker process, :func:`in_worker` installs handlers that interrupt the job being
  run (:func:`job_running`: its temporary files are removed as it unwinds) and end a
  worker that waits for a job (:func:`waiting`) quietly, so that a signal sent to the
  whole process group prints no traceback; a job is never started after a signal.
- :func:`blocked` holds both signals while worker processes are started: they start
  with them blocked (the mask is inherited) and unblock them once their handlers are in
  place, so a signal during their start-up is handled, not a traceback.

Only the standard library is imported: ``imgconv --help`` stays fast.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType

__all__ = [
    "GRACE",
    "SIGNALS",
    "Interrupted",
    "blocked",
    "handling",
    "in_worker",
    "job_running",
    "signum_of",
    "track",
    "track_child",
    "untrack",
    "untrack_child",
    "waiting",
]

SIGNALS = (signal.SIGINT, signal.SIGTERM)
GRACE = 1.7  # seconds from the signal to the watchdog's exit (the contract says 2 s)


class Interrupted(KeyboardInterrupt):
    """The run was interrupted by ``signum`` (SIGINT or SIGTERM).

    A ``KeyboardInterrupt``, so that it unwinds the work like Ctrl-C.  ``message``, when
    set by the code that knew what was done, says it (``3 of 20 files written``);
    ``details`` is what ``--json`` prints beside the error object.
    """

    def __init__(self, signum: int = signal.SIGINT, message: str | None = None,
                 details: dict[str, object] | None = None) -> None:
        super().__init__(signum)
        self.signum = int(signum)
        self.message = message
        self.details = details  # what ``--json`` prints beside the error object

    @property
    def name(self) -> str:
        """``SIGINT`` or ``SIGTERM``."""
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        """130 for SIGINT, 143 for SIGTERM (128 + the signal number)."""
        return 128 + self.signum

    def saying(self, message: str, details: dict[str, object] | None = None) -> Interrupted:
        """The same interruption, with what was done."""
        return Interrupted(self.signum, message, details)


def signum_of(exc: BaseException) -> int:
    """The signal behind an interruption (a bare ``KeyboardInterrupt`` is SIGINT)."""
    return exc.signum if isinstance(exc, Interrupted) else int(signal.SIGINT)


# -- what the watchdog cleans: temporaries being written, worker processes ---------------------
_LIVE: set[str] = set()
_CHILDREN: set[int] = set()


def track(path: str) -> None:
    """``path`` is a temporary file being written: remove it if the process must end now."""
    _LIVE.add(path)


def untrack(path: str) -> None:
    """``path`` is no longer being written (renamed into place, or removed)."""
    _LIVE.discard(path)


def track_child(pid: int) -> None:
    """``pid`` is a worker process: kill it if the process must end now."""
    _CHILDREN.add(pid)


def untrack_child(pid: int) -> None:
    """``pid`` has ended (and been waited for)."""
    _CHILDREN.discard(pid)


class _Watch:
    """The handlers and the watchdog of one :func:`handling` block."""

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self.signum = 0
        self.done = threading.Event()
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.write_fd, False)
        self.thread = threading.Thread(target=self.watch, name="imgconv-watchdog", daemon=True)

    def handler(self, signum: int, frame: FrameType | None) -> None:
        if self.signum:
            return  # already interrupted: let the cleanup finish
        self.signum = signum
        raise Interrupted(signum)

    def watch(self) -> None:
        while True:
            try:
                data = os.read(self.read_fd, 1)
            except OSError:
                return
            if not data or self.done.is_set():
                return
            if data[0] in SIGNALS:
                break
        if not self.done.wait(self.grace):
            _emergency_exit(data[0])

    def close(self) -> None:
        self.done.set()
        with contextlib.suppress(OSError):
            os.write(self.write_fd, b"\0")  # wake the watchdog
        self.thread.join(0.5)
        for fd in (self.read_fd, self.write_fd):
            with contextlib.suppress(OSError):
                os.close(fd)


def _emergency_exit(signum: int) -> None:
    """The main thread did not finish in time: remove what is being written, stop the
    workers, exit now."""
    for path in list(_LIVE):
        with contextlib.suppress(OSError):
            os.unlink(path)
    for pid in list(_CHILDREN):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    name = signal.Signals(signum).name
    with contextlib.suppress(OSError):
        os.write(2, f"imgconv: error: interrupted by {name}; no partial output was left\n"
                 .encode())
    os._exit(128 + signum)


@contextlib.contextmanager
def handling(grace: float = GRACE) -> Iterator[None]:
    """SIGINT and SIGTERM raise :class:`Interrupted` in this (main) thread while the block
    runs, and the process ends within ``grace`` seconds of the signal whatever happens.

    Outside the main thread (where handlers cannot be installed) it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    watch = _Watch(grace)
    old = {s: signal.signal(s, watch.handler) for s in SIGNALS}
    old_fd = signal.set_wakeup_fd(watch.write_fd, warn_on_full_buffer=False)
    watch.thread.start()
    try:
        yield
    finally:
        signal.set_wakeup_fd(old_fd)
        for s, h in old.items():
            signal.signal(s, h)
        watch.close()


@contextlib.contextmanager
def blocked() -> Iterator[None]:
    """Hold SIGINT and SIGTERM (they wait, none is lost) while worker processes start."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


# -- worker processes ------------------------------------------------------------------------
class _Worker:
    state = ""  # "busy": running a job; "idle": waiting for one
    stopping = 0  # the signal that asked this worker to stop


def _worker_handler(signum: int, frame: FrameType | None) -> None:
    if _Worker.stopping:
        return
    _Worker.stopping = signum
    if _Worker.state == "busy":
        raise Interrupted(signum)
    if _Worker.state == "idle":
        raise SystemExit(0)  # nothing to clean: end quietly


def in_worker() -> None:
    """In a worker process: SIGINT and SIGTERM stop the job being run and end the worker
    when it waits for one (:func:`job_running`, :func:`waiting`); then unblock them (see
    :func:`blocked`)."""
    for s in SIGNALS:
        signal.signal(s, _worker_handler)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)


@contextlib.contextmanager
def _state(state: str) -> Iterator[None]:
    _Worker.state = state
    try:
        if _Worker.stopping:  # a signal came just before
            if state == "busy":
                raise Interrupted(_Worker.stopping)
            raise SystemExit(0)
        yield
    finally:
        _Worker.state = ""


def job_running() -> contextlib.AbstractContextManager[None]:
    """A job runs: a signal raises :class:`Interrupted` inside it (also one that came
    before it started), so that it unwinds and removes its temporary files."""
    return _state("busy")


def waiting() -> contextlib.AbstractContextManager[None]:
    """The worker waits for a job: a signal ends it (``SystemExit(0)``, no traceback)."""
    return _state("idle")
