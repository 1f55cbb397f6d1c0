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
    stdout,
)
from imgconv.errors import ImgconvError

if TYPE_CHECKING:
    from collections.abc import Sequence

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


def _kernel_table(texts: list[list[str]], anchor: tuple[int, int], columns: range,
                  title: str | None) -> Table:
    """The kernel's ``columns`` (numbers as :func:`_fmt` writes them), the anchor shown."""
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_header=False, box=None,
                  padding=(0, 1))
    for _ in columns:
        table.add_column(justify="right", no_wrap=True)
    for i, row in enumerate(texts):
        table.add_row(*(f"[bold reverse]{row[j]}[/]" if (i, j) == anchor else row[j]
                        for j in columns))
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
    runs = _blocks(widths, con.width)
    if len(runs) == 1:
        con.print(_kernel_table(texts, anchor, runs[0], title))
        return
    con.print(title)
    for cols in runs:
        head = f"columns {cols[0]}-{cols[-1]}" if len(cols) > 1 else f"column {cols[0]}"
        con.print(_kernel_table(texts, anchor, cols, f"[dim]{head} of {len(widths)} "
                                "(0-based)[/]"))


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
    verbose: flags.Verbose = False,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Print nothing (with --png: "
                                        "only write the picture).")] = False,
) -> None:
    """Show a kernel, its properties, and (with --mode convolve) the kernel as applied."""
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
    _print_properties(con, k)
    _print_as_applied(con, k, mode)


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


def _print_properties(con: Console, k: Kernel) -> None:
    """The kernel's table, then one line a property (names and texts printed literally)."""
    from rich.markup import escape

    kh, kw = k.shape
    scale = f", scale {_fmt(k.scale)}" if k.scale != 1 else ""
    title = f"{escape(k.name)}  ({kh}x{kw}{scale})"
    _print_kernel(con, k.weights, k.center, title)
    if k.description:
        con.print(f"[dim]{escape(k.description)}[/]")
    con.print(f"source      {escape(str(k.source))}")
    con.print(f"shape       {kh}x{kw}   anchor (row, col) {k.center}"
              + ("" if k.anchor_is_centred else "  (not centred)"))
    if k.scale != 1:
        con.print(f"scale       {_fmt(k.scale)}  (the kernel applied is weights x scale)")
    if k.offset:
        con.print(f"offset      {_fmt(k.offset)}  (added after filtering)")
    shown_sum = 0.0 if k.is_zero_sum else k.sum  # not -3e-17 for a zero-sum kernel
    con.print(f"sum         {shown_sum:.6g}   min {float(k.array.min()):.6g}   "
              f"max {float(k.array.max()):.6g}")
    con.print("normalized  " + ("yes (sums to 1)" if _normalized(k) else
                                 "zero-sum (an edge/detail kernel)" if k.is_zero_sum else "no"))
    con.print("symmetric   " + ("yes: equals its 180° rotation" if k.symmetric else
                                 "[yellow]no: differs from its 180° rotation[/]"))
    if k.correlate_equals_convolve:
        con.print("corr/conv   correlate == convolve for this kernel")
    elif k.symmetric:
        con.print("corr/conv   [yellow]correlate != convolve: symmetric, but the anchor is not "
                  "centred, so the results are shifted by a pixel[/]")
    else:
        con.print("corr/conv   [yellow]correlate != convolve: convolve applies the kernel "
                  "rotated by 180°[/]")
    con.print(f"rank        {k.rank}" + ("  (separable)" if k.rank == 1 else "  (not separable)"))
    single = k.rank_at("float32")
    if single != k.rank:
        con.print(f"            rank {single} in single precision"
                  + ("  (separable there: float32 round-off)" if single == 1 else ""))
    passes = _passes(k)
    if passes:
        con.print(f"            rank {passes}: {passes} separable passes (method lowrank)")
    if k.rank == 1:
        col, row = _display_factors(k)
        _print_vector(con, "  column    ", col)
        _print_vector(con, "  row       ", row, "   (kernel = column x row)")


def _print_vector(con: Console, label: str, values: list[float], after: str = "") -> None:
    """``label[v0 v1 ...]after``, wrapped between numbers to the terminal's width, the
    continuation lines under the first number."""
    import textwrap

    text = f"[{' '.join(_fmt(v) for v in values)}]{after.replace(' ', chr(0))}"  # kept whole
    indent = " " * (len(label) + 1)
    lines = textwrap.wrap(text, width=max(con.width, len(label) + 20), initial_indent=label,
                          subsequent_indent=indent, break_long_words=False,
                          break_on_hyphens=False)
    for line in lines:
        con.print(line.replace(chr(0), " "))


def _passes(k: Kernel) -> int | None:
    """How many separable passes ``lowrank`` runs for ``k`` in single precision, if it
    applies."""
    from imgconv.engine.choose import lowrank_applies

    r = k.rank_at("float32")
    return r if lowrank_applies(r, k.shape) else None


def _print_as_applied(con: Console, k: Kernel, mode: str) -> None:
    """What the mode slides over the image: the kernel itself, or its 180° rotation."""
    if mode == "convolve" and k.correlate_equals_convolve:
        con.print("as applied  convolve applies it unchanged (it equals its 180° rotation)")
    elif mode == "convolve":
        fl = k.flipped()
        con.print()
        _print_kernel(con, fl.weights, fl.center, f"as applied by convolve (rotated 180°, "
                      f"anchor {fl.center}), slid over the image like a correlation")
    else:
        con.print("as applied  correlate slides it as written")


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
