"""The kernel commands: ``imgconv filters`` (the library), ``show`` (one kernel), ``compose``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

import imgconv.cli.flags as flags
from imgconv.cli.common import (
    echo,
    handle_errors,
    note,
    print_json,
    shown,
    stdout,
)
from imgconv.errors import ImgconvError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from rich.console import Console
    from rich.table import Table

    from imgconv.kernels import Kernel


# -- filters --------------------------------------------------------------------------------
@handle_errors
def filters_cmd(
    json_: Annotated[bool, typer.Option("--json", help="Print the list as JSON.")] = False,
    verbose: flags.Verbose = False,
) -> None:
    """List the shipped filter library and the kernel generators, one line each."""
    from rich.markup import escape
    from rich.table import Table

    from imgconv.kernels import GENERATORS, shipped_filters

    ks = shipped_filters()
    if json_:
        print_json([
            {"name": k.name, "shape": list(k.shape), "symmetric": k.symmetric,
             "sum": k.sum, "description": k.description, "source": k.source} for k in ks
        ])
        return
    table = Table(title="Shipped filters (use with -f NAME)", title_justify="left")
    table.add_column("name", style="bold")
    table.add_column("shape")
    table.add_column("corr = conv", justify="center")
    table.add_column("description", overflow="fold")  # wrapped, never cut with "…"
    for k in ks:
        table.add_row(escape(k.name), f"{k.shape[0]}x{k.shape[1]}",
                      "yes" if k.correlate_equals_convolve else "[yellow]no[/]",
                      escape(k.description))
    con = stdout()
    con.print(table)
    gen = Table(title="Generators (use with -f NAME:key=value,...)", title_justify="left")
    gen.add_column("generator", style="bold")
    gen.add_column("parameters", overflow="fold")
    gen.add_column("description", overflow="fold")
    for gname, g in GENERATORS.items():
        gen.add_row(gname, g.params_help, g.description)
    con.print(gen)


# -- show -----------------------------------------------------------------------------------
def _fmt(v: float) -> str:
    """A weight as people write it: ``2``, ``1/16``, ``1/273``; else six digits."""
    from fractions import Fraction

    if float(v).is_integer():
        return str(int(v))
    fr = Fraction(float(v)).limit_denominator(10000)
    d = fr.denominator
    if abs(float(fr) - v) < 1e-12 and (d <= 32 or (d <= 4096 and d & (d - 1) == 0)
                                       or d in (273, 1003)):
        return f"{fr.numerator}/{fr.denominator}"  # the classic kernel divisors
    return f"{v:.6g}"


_LABEL = 12  # "corr/conv   ": where the text of a property starts
#: A kernel larger than this a side is shown as its properties and its centre
#: (``show --full`` prints every weight).
BIG = 31
_WINDOW = 9  # the centre shown of a big kernel: at most this many rows and columns


def _say(con: Console, label: str | None, text: str, style: str = "",
         indent: int = _LABEL) -> None:
    """``label`` (padded to ``indent``; ``None``: none, the text from the line's start)
    and ``text``, both printed literally, ``text`` wrapped at spaces to the terminal's
    width, its further lines ``indent`` in (a hanging indent); a word longer than a line
    (a path) is cut, never left sticking out."""
    import textwrap

    from rich.text import Text

    first = "" if label is None else label.ljust(indent)
    lines = textwrap.wrap(shown(text), width=max(con.width, indent + 20),
                          initial_indent=first, subsequent_indent=" " * indent,
                          break_on_hyphens=False) or [first]
    for i, line in enumerate(lines):
        cut = len(first) if i == 0 else indent
        out = Text(line[:cut])
        out.append(line[cut:], style=style)
        con.print(out)


def _kernel_table(cell: Callable[[int, int], str], anchor: tuple[int, int], rows: range,
                  columns: range, title: str | None, *, indexed: bool = False) -> Table:
    """The kernel's ``rows`` and ``columns`` (``cell(i, j)``: a number as :func:`_fmt`
    writes it), the anchor shown; ``indexed`` (an excerpt): each row headed by its index,
    under a header of the columns' indices."""
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_header=indexed, box=None,
                  padding=(0, 1), header_style="dim")
    if indexed:
        table.add_column("", justify="right", style="dim", no_wrap=True)
    for j in columns:
        table.add_column(str(j), justify="right", no_wrap=True)
    for i in rows:
        cells = [f"[bold reverse]{cell(i, j)}[/]" if (i, j) == anchor else cell(i, j)
                 for j in columns]
        table.add_row(*([str(i)] if indexed else []), *cells)
    return table


def _blocks(widths: list[int], room: int) -> list[range]:
    """The columns in runs that fit ``room`` characters (a cell: its width and a space
    either side), at least one column a run."""
    runs, start, used = [], 0, 0
    for j, w in enumerate(widths):
        if used and used + w + 2 > room:
            runs.append(range(start, j))
            start, used = j, 0
        used += w + 2
    runs.append(range(start, len(widths)))
    return runs


def _print_kernel(con: Console, weights: Any, anchor: tuple[int, int], title: str) -> None:
    """Print a kernel, every number in full: a kernel wider than the terminal in blocks of
    the columns that fit, each headed ``columns 0-5 of 17`` (as Octave prints a wide
    matrix), never cut and never wrapped mid-row."""
    texts = [[_fmt(float(v)) for v in row] for row in weights]
    widths = [max(len(row[j]) for row in texts) for j in range(weights.shape[1])]
    _say(con, None, title, style="italic", indent=2)  # as a table's title was
    runs = _blocks(widths, con.width)
    rows = range(len(texts))
    if len(runs) == 1:
        con.print(_kernel_table(lambda i, j: texts[i][j], anchor, rows, runs[0], None))
        return
    for cols in runs:
        head = f"columns {cols[0]}-{cols[-1]}" if len(cols) > 1 else f"column {cols[0]}"
        con.print(_kernel_table(lambda i, j: texts[i][j], anchor, rows, cols,
                                f"[dim]{head} of {len(widths)} (0-based)[/]"))


def _centre(anchor: int, n: int, size: int = _WINDOW) -> range:
    """``size`` indices of ``n`` around ``anchor`` (fewer at an edge: none past it)."""
    start = min(max(anchor - size // 2, 0), max(n - size, 0))
    return range(start, min(start + size, n))


def _window(weights: Any, anchor: tuple[int, int], room: int) -> tuple[range, range]:
    """The rows and columns of a big kernel's centre shown: at most :data:`_WINDOW` of
    each around the anchor, the columns as many of those as fit ``room`` characters
    (the row indices included)."""
    kh, kw = weights.shape
    rows = _centre(anchor[0], kh)
    cols = _centre(anchor[1], kw)
    while len(cols) > 1:
        cells = [len(str(rows[-1]))] + [max(len(_fmt(float(weights[i, j]))) for i in rows)
                                        for j in cols]
        if sum(w + 2 for w in cells) <= room:
            break
        cols = _centre(anchor[1], kw, len(cols) - 1)
    return rows, cols


def _print_centre(con: Console, weights: Any, anchor: tuple[int, int], title: str,
                  window: tuple[range, range]) -> None:
    """A big kernel's centre (``window``: the rows and columns around its anchor), each
    row and column headed by its index (``show`` then says how to see every weight)."""
    rows, cols = window
    _say(con, None, f"{title}: the centre, rows {rows[0]}-{rows[-1]}, columns "
         f"{cols[0]}-{cols[-1]} (0-based)", style="italic", indent=2)
    con.print(_kernel_table(lambda i, j: _fmt(float(weights[i, j])), anchor, rows, cols, None,
                            indexed=True))


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


def _normalized(k: Kernel) -> bool:
    """Does the kernel sum to 1 (within round-off)?"""
    return bool(abs(k.sum - 1.0) <= 1e-12 * max(k.abs_sum, 1.0))


@handle_errors
def show(
    filter_: Annotated[str, typer.Argument(metavar="FILTER", help="A filter file, shipped name, "
                                           "inline matrix or generator.")],
    mode: Annotated[str, typer.Option("--mode", metavar="[correlate|convolve]",
                                      help="convolve (as apply does by default: "
                                      "also shows the kernel rotated by 180°, as applied) or "
                                      "correlate.")] = "convolve",
    png: Annotated[Path | None, typer.Option(
        "--png", help="Also draw the kernel (signed colour map), the kernel as applied and "
        "its frequency response in dB into this PNG.", show_default=False)] = None,
    overwrite: flags.Overwrite = False,
    json_: Annotated[bool, typer.Option("--json", help="Print the properties as JSON.")] = False,
    full: Annotated[bool, typer.Option(
        "--full", help=f"Print every weight of a kernel larger than {BIG} a side (by default "
        "its centre).")] = False,
    verbose: flags.Verbose = False,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Print nothing (with --png: "
                                        "only write the picture).")] = False,
) -> None:
    """Show a kernel, its properties, and (with --mode convolve) the kernel as applied.

    A kernel larger than 31 a side is shown as its properties and its centre; --full
    prints every weight (--json holds them all too)."""
    from imgconv.kernels import load_filter
    from imgconv.options import MODES, choice

    mode = choice("mode", mode, MODES)
    k = load_filter(filter_)
    if isinstance(k.meta.get("note"), str) and not quiet:
        note(str(k.meta["note"]))
    if png is not None:
        _write_png(png, k, mode, overwrite=overwrite, say=not quiet and not json_)
    if quiet:
        return
    if json_:
        print_json(_properties(k, mode))
        return
    con = stdout()
    big = not full and max(k.shape) > BIG
    _print_properties(con, k, big)
    _print_as_applied(con, k, mode, big)
    if big:
        con.print()
        _say(con, None, f"{k.shape[0]}x{k.shape[1]} is larger than {BIG} a side: its centre "
             "is shown; add --full to print every weight (--json holds them too, --png "
             "draws the kernel)", style="dim", indent=2)


def _write_png(png: Path, k: Kernel, mode: str, *, overwrite: bool, say: bool) -> None:
    """``show --png``: the kernel picture, refused before drawing if it cannot be written."""
    from imgconv.outputs import check_writable, write_image
    from imgconv.viz import kernel_picture

    if png.suffix.lower() != ".png":
        raise ImgconvError("{file}: --png writes a PNG: use a .png name", file=png)
    check_writable(png)
    write_image(png, kernel_picture(k, mode), overwrite=overwrite)
    if say:
        echo(f"wrote {png}", err=True)


def _properties(k: Kernel, mode: str) -> dict[str, object]:
    """The ``show --json`` object."""
    props: dict[str, object] = {
        "name": k.name,
        "source": k.source,
        "description": k.description,
        "shape": list(k.shape),
        "anchor": list(k.center),
        "scale": k.scale,
        "offset": k.offset,
        "sum": k.sum,
        "abs_sum": k.abs_sum,
        "min": float(k.array.min()),
        "max": float(k.array.max()),
        "zero_sum": k.is_zero_sum,
        "normalized": _normalized(k),
        "symmetric": k.symmetric,
        "correlate_equals_convolve": k.correlate_equals_convolve,
        "rank": k.rank,
        "rank_single": k.rank_at("float32"),
        "lowrank_passes": _passes(k),
    }
    if k.rank == 1:
        col, row = _display_factors(k)
        props["factors"] = {"column": col, "row": row}
    props["kernel"] = k.weights.tolist()
    if mode == "convolve":
        fl = k.flipped()
        props["as_applied"] = {"kernel": fl.weights.tolist(), "anchor": list(fl.center)}
    return props


def _print_properties(con: Console, k: Kernel, big: bool = False) -> None:
    """The kernel's table (``big``: its centre), then its properties, one a line (names
    and texts printed literally, wrapped under their label to the terminal's width)."""
    kh, kw = k.shape
    scale = f", scale {_fmt(k.scale)}" if k.scale != 1 else ""
    title = f"{k.name}  ({kh}x{kw}{scale})"
    window = _window(k.weights, k.center, con.width) if big else None
    if window is None:
        _print_kernel(con, k.weights, k.center, title)
    else:
        _print_centre(con, k.weights, k.center, title, window)
    if k.description:
        _say(con, None, k.description, style="dim", indent=2)
    _say(con, "source", str(k.source))
    _say(con, "shape", f"{kh}x{kw}   anchor (row, col) {k.center}"
         + ("" if k.anchor_is_centred else "  (not centred)"))
    if k.scale != 1:
        _say(con, "scale", f"{_fmt(k.scale)}  (the kernel applied is weights x scale)")
    if k.offset:
        _say(con, "offset", f"{_fmt(k.offset)}  (added after filtering)")
    shown_sum = 0.0 if k.is_zero_sum else k.sum  # not -3e-17 for a zero-sum kernel
    _say(con, "sum", f"{shown_sum:.6g}   min {float(k.array.min()):.6g}   "
         f"max {float(k.array.max()):.6g}")
    _say(con, "normalized", "yes (sums to 1)" if _normalized(k) else
         "zero-sum (an edge/detail kernel)" if k.is_zero_sum else "no")
    if k.symmetric:
        _say(con, "symmetric", "yes: equals its 180° rotation")
    else:
        _say(con, "symmetric", "no: differs from its 180° rotation", style="yellow")
    if k.correlate_equals_convolve:
        _say(con, "corr/conv", "correlate == convolve for this kernel")
    elif k.symmetric:
        _say(con, "corr/conv", "correlate != convolve: symmetric, but the anchor is not "
             "centred, so the results are shifted by a pixel", style="yellow")
    else:
        _say(con, "corr/conv", "correlate != convolve: convolve applies the kernel rotated "
             "by 180°", style="yellow")
    _say(con, "rank", f"{k.rank}" + ("  (separable)" if k.rank == 1 else "  (not separable)"))
    single = k.rank_at("float32")
    if single != k.rank:
        _say(con, "", f"rank {single} in single precision"
             + ("  (separable there: float32 round-off)" if single == 1 else ""))
    passes = _passes(k)
    if passes:
        _say(con, "", f"rank {passes}: {passes} separable passes (method lowrank)")
    if k.rank == 1:
        col, row = _display_factors(k)
        rows, cols = window if window is not None else (None, None)
        _print_vector(con, "  column", col, window=rows, axis="rows")
        _print_vector(con, "  row", row, "(kernel = column x row)", window=cols,
                      axis="columns")


def _print_vector(con: Console, label: str, values: list[float], after: str = "", *,
                  window: range | None = None, axis: str = "") -> None:
    """``label [v0 v1 ...]   after`` (``window``: only those values, ``…`` for the others,
    and which ``axis`` indices they are), wrapped between numbers to the terminal's width
    in lines of even length, the further lines under the first number: the ``]`` and
    ``after`` never on a line of their own."""
    from rich.text import Text

    shown_ = window if window is not None else range(len(values))
    chunks = [_fmt(values[i]) for i in shown_]
    if window is not None:
        chunks = ["…"] * (window.start > 0) + chunks + ["…"] * (window.stop < len(values))
        what = f"{axis} {window.start}-{window.stop - 1} of {len(values)}"
        after = f"({what}; {after.strip('()')})" if after else f"({what})"
    chunks[-1] += "]"
    indent = _LABEL + 1  # the numbers start after "label      ["
    room = max(con.width - indent, 20)
    lines = _even_lines([*chunks[:-1], f"{chunks[-1]}   {after}"], room) if after else []
    if lines and (len(chunks) == 1 or " " in lines[-1].partition("]")[0]):
        after = ""  # with the last two numbers (or more): on their line
    else:  # on a line of its own, not with a number alone
        lines = _even_lines(chunks, room)
    for i, line in enumerate(lines):
        con.print(Text((label.ljust(_LABEL) + "[" if i == 0 else " " * indent) + line))
    if after:
        _say(con, "", after, indent=indent)


def _even_lines(chunks: list[str], room: int) -> list[str]:
    """``chunks`` joined by spaces in as few lines of at most ``room`` characters as can
    be, and those as even as can be (the narrowest width that needs no more lines), the
    last line never holding one chunk alone if another way does it: not three full lines
    and a last one with a single number."""
    def fill(width: int) -> list[list[str]]:
        lines: list[list[str]] = []
        for c in chunks:
            if lines and len(" ".join([*lines[-1], c])) <= width:
                lines[-1].append(c)
            else:
                lines.append([c])
        return lines

    fewest = len(fill(room))
    fits = [ls for width in range(max(map(len, chunks)), room + 1)
            if len(ls := fill(width)) == fewest]
    best = next((ls for ls in fits if len(ls[-1]) > 1 or len(ls) == 1), fits[0])
    return [" ".join(line) for line in best]


def _passes(k: Kernel) -> int | None:
    """How many separable passes ``lowrank`` runs for ``k`` in single precision, if it
    applies."""
    from imgconv.engine.choose import lowrank_applies

    r = k.rank_at("float32")
    return r if lowrank_applies(r, k.shape) else None


def _print_as_applied(con: Console, k: Kernel, mode: str, big: bool = False) -> None:
    """What the mode slides over the image: the kernel itself, or its 180° rotation
    (``big``: its centre)."""
    if mode == "convolve" and k.correlate_equals_convolve:
        _say(con, "as applied", "convolve applies it unchanged (it equals its 180° rotation)")
    elif mode == "convolve":
        fl = k.flipped()
        con.print()
        title = (f"as applied by convolve (rotated 180°, anchor {fl.center}), slid over the "
                 "image like a correlation")
        if big:
            _print_centre(con, fl.weights, fl.center, title,
                          _window(fl.weights, fl.center, con.width))
        else:
            _print_kernel(con, fl.weights, fl.center, title)
    else:
        _say(con, "as applied", "correlate slides it as written")


# -- compose --------------------------------------------------------------------------------
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
    overwrite: flags.Overwrite = False,
    json_: flags.Json = False,
    verbose: flags.Verbose = False,
    quiet: flags.Quiet = False,
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
    from imgconv.outputs import safe_name, write_text

    kernels = [load_filter(f) for f in filters]
    if check:
        _compose_check(kernels, json_)
        return
    if len(kernels) < 2:
        raise ImgconvError("compose needs two or more filters (F G [H ...])")
    if output is not None and output.suffix.lower() not in (".yaml", ".yml"):
        raise ImgconvError("{file}: the composed kernel is written as YAML: use a .yaml "
                           "name", file=output)
    k = algebra.compose(kernels, name=safe_name(name) if name else None)
    text = kernel_to_yaml(k)
    if output is not None:
        write_text(output, text, overwrite=overwrite)
    if json_:
        print_json({"name": k.name, "shape": list(k.shape), "anchor": list(k.center),
                    "scale": k.scale, "kernel": k.weights.tolist(),
                    "output": None if output is None else str(output)})
    elif output is None:
        typer.echo(text, nl=False)
    elif not quiet:
        echo(f"wrote {output}  ({k.name}: {k.shape[0]}x{k.shape[1]}, anchor {k.center})")


def _compose_check(kernels: Sequence[Kernel], json_: bool) -> None:
    """``compose --check``: associativity of three kernels, commutativity of two."""
    from imgconv import algebra

    if len(kernels) == 3:
        res = algebra.associativity(*kernels)
        law, key = "associative: (F∘G)∘H == F∘(G∘H)", "associative"
    elif len(kernels) == 2:
        res = algebra.commutativity(*kernels)
        law, key = "commutative: F∘G == G∘F", "commutative"
    else:
        raise ImgconvError("--check takes two filters (commutativity) or three "
                           "(associativity)")
    if json_:
        print_json(res)
        return
    con = stdout()
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
