"""What every command shares: the option annotations, consoles, errors → one line + exit code.

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
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import typer

from imgconv.boundary import MODE_NAMES, boundary_mode
from imgconv.boundary import MODES as BOUNDARY_MODES
from imgconv.errors import ImgconvError, Mention, Message
from imgconv.options import ALPHA_MODES, DTYPES, METHODS, MODES, PRECISIONS, SIZES

if TYPE_CHECKING:
    from rich.console import Console

    from imgconv.options import FilterOptions

NO_FILTER = "no filter given: add -f FILTER (see 'imgconv filters')"
P = ParamSpec("P")
R = TypeVar("R")

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
def _choices(values: tuple[str, ...]) -> str:
    """The metavar listing an option's choices: ``[correlate|convolve]``."""
    return "[" + "|".join(values) + "]"


def _choice(values: tuple[str, ...]) -> dict[str, Any]:
    """An option's choices: listed in ``--help`` and completed by the shell."""
    def complete(incomplete: str) -> list[str]:
        return [v for v in values if v.startswith(incomplete.lower())]

    return {"metavar": _choices(values), "autocompletion": complete}


ModeOpt = Annotated[str, typer.Option("--mode", **_choice(MODES), help="correlate or "
                                      "convolve (kernel rotated by 180°).")]
MethodOpt = Annotated[str, typer.Option("--method", **_choice(METHODS), help="How it is "
                                        "computed (never what): auto, direct, separable "
                                        "(rank-1 kernels), lowrank (rank 2-8: r separable "
                                        "passes) or fft.")]
BoundaryOpt = Annotated[str, typer.Option("--boundary", "-b", **_choice(MODE_NAMES),
                                          help=_BOUNDARY_HELP)]
CvalOpt = Annotated[float, typer.Option("--cval", help="Value beyond the edges for "
                                        "--boundary constant (pixel units).")]
SizeOpt = Annotated[str, typer.Option("--size", **_choice(SIZES), help="Output size: "
                                      "same, valid (kernel "
                                      "wholly inside) or full (every overlap).")]
DtypeOpt = Annotated[str | None, typer.Option("--dtype", **_choice(DTYPES),
                                              help="Output pixel type: uint8, "
                                              "uint16, float32 or float64 (default: the "
                                              "input's).")]
PrecisionOpt = Annotated[str, typer.Option("--precision", **_choice(PRECISIONS),
                                           help="auto (float64 for float64 "
                                           "images, else float32), single or double.")]
AbsOpt = Annotated[bool, typer.Option("--abs", help="Take the absolute value of the result.")]
OffsetOpt = Annotated[float, typer.Option("--offset", help="Add this to the result (pixel "
                                          "units), after any filter-file offset.")]
RescaleOpt = Annotated[bool, typer.Option("--rescale", help="Stretch the result's min..max "
                                          "onto the output range.")]
NormalizeOpt = Annotated[bool, typer.Option("--normalize", help="Divide each kernel by its "
                                            "sum (zero-sum kernels are left as they are).")]
AlphaOpt = Annotated[str, typer.Option("--alpha", **_choice(ALPHA_MODES),
                                       help="Alpha channel: keep (untouched), "
                                       "filter (like colour) or premultiply.")]
GrayOpt = Annotated[bool, typer.Option("--gray", help="Convert colour images to gray "
                                       "(luma 0.299 R + 0.587 G + 0.114 B) first.")]
MemoryOpt = Annotated[str | None, typer.Option(
    "--memory-limit", help="Working memory for one image (256MB, 2GB: decimal; 512MiB, 2GiB: "
    "binary; none: no limit). A larger TIFF or .npy is filtered in bands and streamed to a "
    ".tif/.npy output. Default: 256MB (what cannot be banded is then read whole).",
    show_default=False)]
PageOpt = Annotated[int | None, typer.Option(
    "--page", help="Pick one page (0-based) of a multi-page TIFF or animated GIF/WebP; by "
    "default every page or frame is filtered, into a format that holds them (.tif, .gif, "
    ".webp).", show_default=False)]
SchedulerOpt = Annotated[str | None, typer.Option(
    "--scheduler", help="Run on the Dask cluster at this address (tcp://host:8786): batch "
    "sends it whole files, apply the bands of one TIFF/.npy image; workers must see the same "
    "files.", show_default=False)]
AutoOrientOpt = Annotated[bool, typer.Option(
    "--auto-orient/--no-auto-orient", help="Turn the image upright by its EXIF orientation "
    "before filtering (as a viewer shows it; the output says orientation 1). "
    "--no-auto-orient filters the stored pixel order and copies the tag.")]
StripOpt = Annotated[bool, typer.Option("--strip", help="Write no metadata: by default the "
                                        "ICC profile, resolution (dpi) and EXIF go to the "
                                        "output where its format holds them.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", "--force", help="Replace existing "
                                            "output files (never an input).")]
VerboseOpt = Annotated[bool, typer.Option("-v", "--verbose", help="More detail; Python "
                                          "tracebacks for unexpected errors.")]
QuietOpt = Annotated[bool, typer.Option("-q", "--quiet", help="Print nothing but errors.")]


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
#: the common options in the order of ``--help``: the fields of FilterOptions (defaults
#: taken from it), then those of FilterArgs
_COMMON: dict[str, Any] = {
    "mode": ModeOpt, "method": MethodOpt, "boundary": BoundaryOpt, "cval": CvalOpt,
    "size": SizeOpt, "dtype": DtypeOpt, "precision": PrecisionOpt, "abs": AbsOpt,
    "offset": OffsetOpt, "rescale": RescaleOpt, "normalize": NormalizeOpt, "alpha": AlphaOpt,
    "gray": GrayOpt, "page": PageOpt, "memory_limit": MemoryOpt, "auto_orient": AutoOrientOpt,
    "strip": StripOpt,
}
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

    def metadata(self) -> dict[str, bool]:
        """``auto_orient`` and ``strip`` as keywords of :func:`imgconv.files.process_file`."""
        return {"auto_orient": self.auto_orient, "strip": self.strip}

    def options(self) -> FilterOptions:
        """The options as one validated :class:`~imgconv.options.FilterOptions`.

        Notes on stderr that ``--cval`` has no effect when the boundary mode does not
        use it.
        """
        from imgconv.options import FilterOptions

        opts = FilterOptions(**self.values)
        if opts.cval != 0 and not boundary_mode(opts.boundary).uses_cval:
            users = " or ".join(f"--boundary {m.name}" for m in BOUNDARY_MODES if m.uses_cval)
            note(f"--cval {opts.cval:g} has no effect with --boundary {opts.boundary} (it is "
                 f"the value beyond the edges for {users})")
        return opts


DEFAULT_ARGS = FilterArgs()


def filter_args(*, omit: tuple[str, ...] = ()) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Give a command the common options in place of its parameter ``given: FilterArgs``.

    Typer sees the options of :data:`_COMMON` (but those in ``omit``) where ``given``
    stands in the signature; the command receives them as one :class:`FilterArgs`.
    One meaning per option letter: ``-b`` is ``--boundary`` in every command.
    """
    import inspect

    from imgconv.options import FilterOptions

    defaults = {f.name: f.default for f in dataclasses.fields(FilterOptions)}
    defaults |= {f.name: f.default for f in dataclasses.fields(FilterArgs) if f.name != "values"}
    block = [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                               default=defaults[name], annotation=_COMMON[name])
             for name in _COMMON if name not in omit]
    extras = [name for name in _EXTRAS if name not in omit]

    def decorate(func: Callable[..., R]) -> Callable[..., R]:
        sig = inspect.signature(func, eval_str=True)
        params = [q for p in sig.parameters.values()
                  for q in (block if p.name == "given" else [p])]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> R:
            taken = {p.name: kwargs.pop(p.name) for p in block}
            kwargs["given"] = FilterArgs({k: v for k, v in taken.items() if k not in extras},
                                          **{k: taken[k] for k in extras})
            return func(*args, **kwargs)

        wrapper.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
        return wrapper

    return decorate


def memory_bytes(text: str | None, share: int = 1) -> int | None:
    """``--memory-limit`` in bytes (default 256MB; ``none``: no limit, None), split ``share``
    ways (the workers of a batch)."""
    from imgconv.bands.memory import DEFAULT_LIMIT, parse_size

    limit = parse_size(text) if text is not None else DEFAULT_LIMIT
    return None if limit is None else max(limit // max(share, 1), 10**7)

