"""The command line's application: the Typer app with its commands, ``--version``, and
:func:`main` (errors mapped to exit codes, streams flushed).

One module per command group: :mod:`~imgconv.cli.apply`, :mod:`~imgconv.cli.batch`,
:mod:`~imgconv.cli.diff` and :mod:`~imgconv.cli.kernels` (``filters``, ``show``,
``compose``); :mod:`~imgconv.cli.flags` declares the options they share (``Annotated``
aliases each command lists) and :mod:`~imgconv.cli.common` renders the library's messages
with flags.  Heavy modules (numpy, scipy, imageio,
OpenCV, rich) are imported inside the commands that need them, so ``imgconv --help``
stays fast.
"""

from __future__ import annotations

from typing import Annotated, Any, NoReturn

import typer

import imgconv.cli.apply as _apply
import imgconv.cli.batch as _batch
import imgconv.cli.diff as _diff
import imgconv.cli.kernels as _kernels
import imgconv.cli.match as _match
from imgconv import __version__
from imgconv.cli.common import fail

app = typer.Typer(
    name="imgconv",
    help=(
        "Filter images with kernels: exact correlation, convolution and FFT filtering, "
        "with selectable boundary modes.\n\n"
        "convolve (the default) rotates the kernel by 180° before sliding it; correlate "
        "(what deep-learning libraries call 'convolution') does not. They agree only for "
        "kernels equal to their own 180° rotation whose anchor is the centre (the default "
        "for odd sizes)."
    ),
    no_args_is_help=True,
    add_completion=True,  # Typer's shell completion: measured to cost --help nothing
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


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


# each command's line in `imgconv --help`: a whole sentence (Click would cut the docstring's
# first line at 45 characters, mid-sentence)
app.command(short_help="Filter images with kernels, into files or a folder.")(_apply.apply)
app.command(short_help="Filter every image of a folder, in parallel.")(_batch.batch)
app.command(short_help="Filter an image two ways and report how they differ.")(_diff.diff)
app.command(short_help="Write one kernel equal to a chain of kernels.")(_kernels.compose)
app.command("filters", short_help="List the shipped filters and the generators.")(
    _kernels.filters_cmd)
app.command(short_help="Show a kernel, its properties and how it is applied.")(_kernels.show)
app.command(short_help="Find a template in images by cross-correlation.")(_match.match)


def _usage_error(exc: BaseException) -> bool:
    """Click's usage errors (bad option value, unknown option, missing argument)."""
    return any(c.__name__ == "UsageError" for c in type(exc).__mro__)


def main() -> None:
    """Entry point of the ``imgconv`` command: usage errors on one line, exit code 2."""
    import sys

    try:
        code = app(standalone_mode=False)
    except (KeyboardInterrupt, typer.Abort):  # before a command took over its signals
        fail("interrupted by SIGINT; nothing was written", 130)
        _leave(130)
    except Exception as exc:
        if not _usage_error(exc):
            raise
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
            typer.echo(ctx.get_help())  # a bare command: its help is the answer
            _leave(0)
        where = f"{ctx.command_path} --help" if ctx is not None else "imgconv --help"
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        message = _elsewhere(exc, ctx) or " ".join(message.split())
        fail(f"{message} (see '{where}')", 2, json_="--json" in sys.argv[1:])
        _leave(2)
    _leave(code if isinstance(code, int) else 0)


def _elsewhere(exc: BaseException, ctx: Any) -> str | None:
    """For an option this command does not have but another one does (``apply
    --workers``): which commands have it, in place of Click's guess at a near spelling
    (``--force``); None otherwise."""
    option = getattr(exc, "option_name", None)
    if type(exc).__name__ != "NoSuchOption" or not option or ctx is None or ctx.parent is None:
        return None
    group = ctx.parent.command
    owners = [name for name, command in sorted(group.commands.items())
              if name != ctx.info_name
              and any(option in p.opts or option in p.secondary_opts for p in command.params)]
    if not owners:
        return None
    root = ctx.parent.info_name or "imgconv"
    names = [f"'{root} {name}'" for name in owners]
    listed = " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
    here = f"'{root} {ctx.info_name}'"
    return f"No such option: {option} (it is an option of {listed}, not of {here})"


def _leave(code: int) -> NoReturn:
    """End the process with ``code``, skipping the interpreter's teardown of its modules
    (~20 ms of numpy's, OpenCV's and Pillow's finalizers on every run: benchmarks/README.md)
    when nothing is left to finish: the atexit handlers still run and the standard streams
    are flushed.  With another thread or a child process alive, or a stream that cannot
    be flushed (a closed pipe), the ordinary exit, which handles them as it always has."""
    import atexit
    import os
    import sys
    import threading

    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)  # CPython's own
    children = sys.modules.get("multiprocessing")
    if (run_exit_handlers is None or threading.active_count() > 1
            or (children is not None and children.active_children())):
        sys.exit(code)
    try:
        _flush(sys.stdout, sys.stderr)
    except (OSError, ValueError):
        sys.exit(code)
    run_exit_handlers()
    try:
        _flush(sys.stdout, sys.stderr)
    except (OSError, ValueError):  # a handler's output to a closed pipe: as Python exits then
        os._exit(120)
    os._exit(code)


def _flush(*streams: Any) -> None:
    """Flush each stream that exists (Python has none for a descriptor closed at start)."""
    for s in streams:
        if s is not None:
            s.flush()


__all__ = ["app", "main"]
