"""What every command shares: the common options as one value, consoles, errors → one line
+ exit code.

The library's messages and notes mention *parameters* as fields
(:class:`~imgconv.errors.Message`: ``size='valid'``, ``page=N``, ``overwrite=True``);
:func:`spoken` renders each mention as this command line's flag (``--size valid``,
``--page N``, ``--overwrite``) using one table, :data:`FLAGS`.  Nothing here reads a
message's text.

Only typer, :mod:`imgconv.errors` and :mod:`imgconv.boundary` are imported at module
level: rich, numpy and the rest are imported by the functions that use them, so
``imgconv --help`` stays fast.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import typer

from imgconv.boundary import MODES as BOUNDARY_MODES
from imgconv.boundary import boundary_mode
from imgconv.errors import ImgconvError, Mention, Message

if TYPE_CHECKING:
    from rich.console import Console

    from imgconv.options import FileOptions, FilterOptions

NO_FILTER = "no filter given: add -f FILTER (see 'imgconv filters')"
P = ParamSpec("P")
R = TypeVar("R")

def stderr() -> Console:
    """A rich console on stderr (notes, errors)."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def stdout() -> Console:
    """A rich console on stdout (results)."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def print_json(obj: object) -> None:
    """Print ``obj`` as indented JSON on stdout (``--json``)."""
    import json

    typer.echo(json.dumps(obj, indent=2))


def shown(text: object) -> str:
    """``text`` as it can be printed: bytes of a file name that are not UTF-8 (held by
    Python as surrogates) and control characters but line breaks and tabs (a terminal
    would obey an escape sequence in a name) shown escaped (``\\xff``, ``\\x1b``)."""
    text = str(text).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def plain(text: object) -> str:
    """``text`` printed literally by rich: markup escaped, undecodable bytes escaped."""
    from rich.markup import escape

    return escape(shown(text))


def echo(text: object, *, err: bool = False) -> None:
    """Print ``text`` literally on stdout (``err``: stderr), undecodable bytes escaped:
    never read as rich markup or emoji codes, and rich not imported for it."""
    try:
        typer.echo(shown(text), err=err)
    except BrokenPipeError:  # its reader is gone (| head -1): stop quietly, as rich did
        silence(sys.stderr if err else sys.stdout)
        raise SystemExit(1) from None


def silence(stream: Any) -> None:
    """Point ``stream``'s descriptor at the null device: what is still buffered for a
    reader that is gone (or a full device) can never be sent, and exiting must not fail
    on it a second time."""
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, stream.fileno())
    os.close(null)


def _tagged(tag: str, style: str, text: str) -> None:
    """``tag text`` on stderr, ``text`` literally; the tag in ``style`` on a terminal (the
    only case that imports rich: start-up matters for a one-file run in a script)."""
    if sys.stderr is not None and sys.stderr.isatty():
        stderr().print(f"[{style}]{tag}[/] {plain(text)}")
    else:
        echo(f"{tag} {text}", err=True)


def note(text: str) -> None:
    """Print ``note: text`` on stderr, ``text`` literally (never read as rich markup)."""
    _tagged("note:", "yellow", spoken(text))


def clean_folders(folders: Iterable[Path], *, quiet: bool = False) -> None:
    """Before a run writes into ``folders``: remove the temporary files an interrupted or
    killed run left there (none that a live run holds), with a note."""
    from imgconv.temporaries import remove_stale

    removed = remove_stale(folders)
    if removed and not quiet:
        note(f"removed {len(removed)} temporary file(s) left by an interrupted run "
             f"(e.g. {removed[0]})")


# -- library parameters → flags ---------------------------------------------------------------
#: the flag of each library parameter whose flag is not ``--`` + its name with dashes
FLAGS: dict[str, str] = {
    "output": "-o",
    "filter": "-f",
    "filters": "-f",
    "fmt": "--format",
    "pattern": "--glob",
    "auto_orient": "--no-auto-orient",  # auto_orient=False, the one spelling a note uses
}


def flag(param: str) -> str:
    """The command-line flag of a library parameter: ``memory_limit`` → ``--memory-limit``."""
    return FLAGS.get(param, "--" + param.replace("_", "-"))


def spell(mention: Mention) -> str:
    """A mention of a parameter as its flag: ``size='valid'`` → ``--size valid``.

    ``page=N`` → ``--page N``; ``overwrite=True``, ``output=...``, ``memory_limit=`` and
    ``auto_orient=False`` → the bare flag (``--overwrite``, ``-o``, ``--memory-limit``,
    ``--no-auto-orient``).  A quoted value that holds spaces keeps its quotes.
    """
    name, raw = flag(mention.param), mention.text
    value = raw[1:-1] if raw[:1] in ("'", '"') and len(raw) > 1 else raw
    if value in ("", "...", "True") or (value == "False" and name.startswith("--no-")):
        return name
    return f"{name} {raw if any(c.isspace() for c in value) else value}"


def spoken(text: str) -> str:
    """A library message or note as this command line says it: the parameters a
    :class:`~imgconv.errors.Message` mentions spelled as flags; other text as it is."""
    return text.render(spell) if isinstance(text, Message) else text


def fail(message: str, code: int = 2, *, json_: bool = False, file: str | None = None,
         details: dict[str, object] | None = None) -> typer.Exit:
    """Print ``imgconv: error: message`` on stderr (and with ``json_`` the error object
    ``{"error": {"message", "exit_code", "file"}}`` on stdout, after ``details``); return
    the Exit to raise."""
    _tagged("imgconv: error:", "bold red", message)
    if json_:
        error = {"message": shown(message), "exit_code": code,
                 "file": None if file is None else shown(file)}
        print_json({**(details or {}), "error": error})
    return typer.Exit(code)


def culprit(exc: BaseException) -> str | None:
    """The file an error is about, from its fields: an imgconv error's ``file`` (or a
    filter's ``source``), an ``OSError``'s ``filename``; None when it has none."""
    for attr in ("file", "source", "filename"):
        value = getattr(exc, attr, None)
        if value:
            return os.fsdecode(value) if isinstance(value, bytes) else str(value)
    return None


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn imgconv's errors into one line and an exit code (and the JSON error object
    with ``--json``); no traceback and no Python warning unless -v.  SIGINT and SIGTERM
    interrupt the command alike (:func:`imgconv.interrupts.handling`): exit 130 / 143."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        import warnings

        import imgconv.interrupts as interrupts

        verbose, as_json = bool(kwargs.get("verbose")), bool(kwargs.get("json_"))
        with interrupts.handling(), warnings.catch_warnings():
            if not verbose:
                warnings.simplefilter("ignore")
            try:
                return func(*args, **kwargs)
            except ImgconvError as exc:
                if verbose:
                    import traceback

                    traceback.print_exc()
                raise fail(spoken(exc.message), exc.exit_code, json_=as_json,
                           file=culprit(exc)) from None
            except KeyboardInterrupt as exc:
                stop = exc if isinstance(exc, interrupts.Interrupted) else interrupts.Interrupted()
                raise fail(stop.message or f"interrupted by {stop.name}; no partial output "
                           "was left", stop.exit_code, json_=as_json,
                           details=stop.details) from None
            except (typer.Exit, typer.Abort):
                raise
            except Exception as exc:
                if verbose:
                    raise
                raise fail(f"unexpected {type(exc).__name__}: {exc} (run again with --verbose "
                           "for the traceback, and please report it)", 1, json_=as_json,
                           file=culprit(exc)) from None

    return wrapper


# -- the filter options shared by apply, batch and diff ---------------------------------------
#: the common options that are not FilterOptions fields (FilterArgs' own)
_EXTRAS = ("gray", "page", "memory_limit", "auto_orient", "strip")


@dataclass(frozen=True)
class FilterArgs:
    """The common options of ``apply``, ``batch`` and ``diff`` as typed.

    ``values`` holds the keywords of :class:`~imgconv.options.FilterOptions` as typed,
    checked by :meth:`options` when the command is ready to (its own checks may come
    first).
    """

    values: dict[str, Any] = dataclasses.field(default_factory=dict)
    gray: bool = False
    page: int | None = None
    memory_limit: str | None = None
    auto_orient: bool = True
    strip: bool = False

    @classmethod
    def taken(cls, params: dict[str, Any]) -> FilterArgs:
        """The common options (:data:`~imgconv.cli.flags.COMMON`) among a command's
        parameters, ``locals()`` on entry: those it declares."""
        from imgconv.cli.flags import COMMON

        given = {name: params[name] for name in COMMON if name in params}
        return cls(given, **{name: given.pop(name) for name in _EXTRAS if name in given})

    def file_options(self, *, share: int = 1, **more: Any) -> FileOptions:
        """How each file is read and written (:class:`~imgconv.options.FileOptions`): the
        common options (``--memory-limit`` split ``share`` ways) and the command's ``more``
        (``quality``, ``fmt``, ``existing``; a field given here wins)."""
        from imgconv.options import FileOptions

        common = {"page": self.page, "gray": self.gray, "auto_orient": self.auto_orient,
                  "strip": self.strip, "memory_limit": memory_bytes(self.memory_limit, share),
                  "strict_limit": self.memory_limit is not None}
        return FileOptions(**{**common, **more})

    def options(self, *, cval_note: bool = True) -> FilterOptions:
        """The options as one validated :class:`~imgconv.options.FilterOptions`.

        Notes on stderr that ``--cval`` has no effect when the boundary mode does not
        use it (``cval_note``; ``diff`` says it of its variants: :func:`variant_notes`).
        """
        from imgconv.options import FilterOptions

        opts = FilterOptions(**self.values)
        if cval_note:
            unused_cval(opts.cval, opts.boundary)
        return opts


def unused_cval(cval: float, boundary: str, variant: str | None = None) -> bool:
    """Note (and say True) that ``cval`` has no effect with ``boundary`` when that mode
    does not use it: spelled as the options (``--cval 3 ... --boundary reflect``), or
    as the keys of ``diff``'s ``--a``/``--b`` ``variant``."""
    if cval == 0 or boundary_mode(boundary).uses_cval:
        return False
    what, mode = (f"--cval {cval:g}", "--boundary {}") if variant is None else \
        (f"--{variant} cval={cval:g}", "boundary={}")
    users = " or ".join(mode.format(m.name) for m in BOUNDARY_MODES if m.uses_cval)
    note(f"{what} has no effect with {mode.format(boundary)} (it is the value beyond the "
         f"edges for {users})")
    return True


def variant_notes(base: FilterOptions, variants: dict[str, FilterOptions]) -> None:
    """``diff``'s notes on ``--cval``, as ``apply``'s: a variant's own ``cval=`` that its
    boundary does not use; the command's ``--cval`` when no variant that takes it uses it."""
    inherit = [v for v in variants.values() if v.cval == base.cval]
    if not any(boundary_mode(v.boundary).uses_cval for v in inherit):
        unused_cval(base.cval, base.boundary)
    for name, v in variants.items():
        if v.cval != base.cval:
            unused_cval(v.cval, v.boundary, name)


def memory_bytes(text: str | None, share: int = 1) -> int | None:
    """``--memory-limit`` in bytes (default 256MB; ``none``: no limit, None), split ``share``
    ways (the workers of a batch)."""
    from imgconv.bands.memory import DEFAULT_LIMIT, parse_size

    limit = parse_size(text) if text is not None else DEFAULT_LIMIT
    return None if limit is None else max(limit // max(share, 1), 10**7)

