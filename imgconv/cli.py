"""The command line: parse, call the library, render with rich, map errors to exit codes.

Heavy modules (numpy, scipy, imageio, OpenCV) are imported inside the commands
that need them, so ``imgconv --help`` stays fast.
"""

from __future__ import annotations

import functools
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from imgconv import __version__
from imgconv.boundary import MODES as BOUNDARY_MODES
from imgconv.errors import ImgconvError

if TYPE_CHECKING:
    from rich.console import Console

    from imgconv.kernels import Kernel

app = typer.Typer(
    name="imgconv",
    help=(
        "Filter images with kernels: exact correlation, convolution and FFT filtering, "
        "with selectable boundary modes.\n\n"
        "convolve (the default) rotates the kernel by 180° before sliding it; correlate "
        "(what deep-learning libraries call 'convolution') does not. They agree only for "
        "kernels equal to their own 180° rotation."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

F = TypeVar("F", bound=Callable[..., Any])

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
ModeOpt = Annotated[str, typer.Option("--mode", help="correlate or convolve (kernel rotated "
                                      "by 180°).")]
MethodOpt = Annotated[str, typer.Option("--method", help="How it is computed (never what): "
                                        "auto, direct, separable (rank-1 kernels) or fft.")]
BoundaryOpt = Annotated[str, typer.Option("--boundary", "-b", help=_BOUNDARY_HELP)]
CvalOpt = Annotated[float, typer.Option("--cval", help="Value beyond the edges for "
                                        "--boundary constant (pixel units).")]
SizeOpt = Annotated[str, typer.Option("--size", help="Output size: same, valid (kernel "
                                      "wholly inside) or full (every overlap).")]
DtypeOpt = Annotated[str | None, typer.Option("--dtype", help="Output pixel type: uint8, "
                                              "uint16, float32 or float64 (default: the "
                                              "input's).")]
PrecisionOpt = Annotated[str, typer.Option("--precision", help="auto (float64 for float64 "
                                           "images, else float32), single or double.")]
AbsOpt = Annotated[bool, typer.Option("--abs", help="Take the absolute value of the result.")]
OffsetOpt = Annotated[float, typer.Option("--offset", help="Add this to the result (pixel "
                                          "units), after any filter-file offset.")]
RescaleOpt = Annotated[bool, typer.Option("--rescale", help="Stretch the result's min..max "
                                          "onto the output range.")]
NormalizeOpt = Annotated[bool, typer.Option("--normalize", help="Divide each kernel by its "
                                            "sum (zero-sum kernels are left as they are).")]
AlphaOpt = Annotated[str, typer.Option("--alpha", help="Alpha channel: keep (untouched), "
                                       "filter (like colour) or premultiply.")]
GrayOpt = Annotated[bool, typer.Option("--gray", help="Convert colour images to gray "
                                       "(luma 0.299 R + 0.587 G + 0.114 B) first.")]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", "--force", help="Replace existing "
                                            "output files (never an input).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
VerboseOpt = Annotated[bool, typer.Option("-v", "--verbose", help="More detail; Python "
                                          "tracebacks for unexpected errors.")]
QuietOpt = Annotated[bool, typer.Option("-q", "--quiet", help="Print nothing but errors.")]


def _stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def _stdout() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``imgconv: error: message`` on stderr; return the Exit to raise."""
    from rich.markup import escape

    _stderr().print(f"[bold red]imgconv: error:[/] {escape(message)}")
    return typer.Exit(code)


def handle_errors(func: F) -> F:
    """Turn imgconv's errors into one line and an exit code; no traceback unless -v."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ImgconvError as exc:
            if kwargs.get("verbose"):
                import traceback

                traceback.print_exc()
            raise fail(str(exc), exc.exit_code) from None
        except KeyboardInterrupt:
            raise fail("interrupted; no partial output was left", 130) from None
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:
            if kwargs.get("verbose"):
                raise
            raise fail(
                f"unexpected {type(exc).__name__}: {exc} (run again with --verbose for the "
                "traceback, and please report it)",
                1,
            ) from None

    return wrapper  # type: ignore[return-value]


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


# -- helpers --------------------------------------------------------------------------------
_SAFE = re.compile(r"[^A-Za-z0-9._+-]")


def safe_name(text: str) -> str:
    """Any character outside ``[A-Za-z0-9._+-]`` replaced by ``_``."""
    return _SAFE.sub("_", text)


def chain_name(kernels: list[Kernel]) -> str:
    return safe_name("+".join(k.name for k in kernels))


def sample_path() -> Path:
    """The built-in sample photo (256×256 RGB PNG)."""
    return Path(__file__).resolve().parent / "data" / "sample.png"


def _check_choice(value: str, valid: tuple[str, ...], option: str) -> str:
    v = value.strip().lower()
    if v not in valid:
        raise ImgconvError(f"{option} {value!r} is not valid: use one of {', '.join(valid)}")
    return v


# -- apply ----------------------------------------------------------------------------------
@app.command()
@handle_errors
def apply(
    images: Annotated[list[Path] | None, typer.Argument(
        help="Image files (PNG, JPEG, TIFF, BMP, GIF, WebP, .npy).", show_default=False)] = None,
    filters: FilterOpt = [],  # noqa: B006 - typer needs a literal default
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Output file (one image) or existing folder (several). "
        "Default: STEM.FILTER.MODE.EXT beside each input.")] = None,
    mode: ModeOpt = "convolve",
    method: MethodOpt = "auto",
    boundary: BoundaryOpt = "reflect",
    cval: CvalOpt = 0.0,
    size: SizeOpt = "same",
    dtype: DtypeOpt = None,
    precision: PrecisionOpt = "auto",
    abs_: Annotated[bool, typer.Option("--abs", help="Take the absolute value of the "
                                       "result.")] = False,
    offset: OffsetOpt = 0.0,
    rescale: RescaleOpt = False,
    normalize: NormalizeOpt = False,
    alpha: AlphaOpt = "keep",
    gray: GrayOpt = False,
    sample: Annotated[bool, typer.Option("--sample", help="Use the built-in sample photo "
                                         "(outputs go to the current folder).")] = False,
    overwrite: OverwriteOpt = False,
    json_: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Filter one or more images with one or more kernels (applied in sequence).

    Example: imgconv apply photo.png -f sobel-x --mode correlate -o edges.png
    """
    from imgconv import pipeline
    from imgconv.boundary import canonical_boundary
    from imgconv.engine import METHODS, MODES, PRECISIONS, SIZES
    from imgconv.kernels import load_filter
    from imgconv.pixels import (
        DTYPES,
        check_output_dtype,
        dtype_max,
        read_image,
        same_file,
        write_image,
    )

    if not filters:
        raise ImgconvError("no filter given: add -f FILTER (see 'imgconv filters')")
    inputs = list(images or [])
    if sample:
        inputs.insert(0, sample_path())
    if not inputs:
        raise ImgconvError("no image given: name one or more images, or use --sample")
    mode = _check_choice(mode, MODES, "--mode")
    method = _check_choice(method, METHODS, "--method")
    size = _check_choice(size, SIZES, "--size")
    precision = _check_choice(precision, PRECISIONS, "--precision")
    alpha = _check_choice(alpha, pipeline.ALPHA_MODES, "--alpha")
    boundary = canonical_boundary(boundary)
    if dtype is not None:
        dtype = _check_choice(dtype, DTYPES, "--dtype")
    kernels = [load_filter(f) for f in filters]

    # every check before any work: inputs exist, outputs are new and not inputs
    for p in inputs:
        if not p.exists():
            raise ImgconvError(f"{p}: no such file")
        if p.is_dir():
            raise ImgconvError(f"{p}: is a folder (use 'imgconv batch' for folders)")
    name = chain_name(kernels)
    targets: list[Path] = []
    if output is not None and (len(inputs) > 1 or output.is_dir()):
        if not output.is_dir():
            raise ImgconvError(f"{output}: with several images, -o must be an existing folder")
        folder: Path | None = output
    else:
        folder = None
    for p in inputs:
        default = f"{p.stem}.{name}.{mode}{p.suffix.lower()}"
        if output is not None and folder is None:
            t = output
        elif folder is not None:
            t = folder / default
        else:
            t = (Path.cwd() if (sample and p == sample_path()) else p.parent) / default
        targets.append(t)
    seen: list[Path] = []
    for t in targets:
        for q in inputs:
            if same_file(q, t):
                raise ImgconvError(f"{t}: is an input; refusing to overwrite it (choose -o)")
        if t.exists() and not overwrite:
            raise ImgconvError(f"{t}: already exists (use --overwrite to replace it)")
        if any(same_file(t, s) for s in seen):
            raise ImgconvError(f"{t}: two inputs would be written to the same output")
        seen.append(t)
        if dtype is not None:
            check_output_dtype(t, dtype)
        elif t.suffix.lower() in (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"):
            # the input's own dtype is known only after reading; check the format at least
            check_output_dtype(t, "uint8" if t.suffix.lower() != ".png" else "uint16")

    opts = pipeline.Options(mode=mode, method=method, boundary=boundary, cval=cval, size=size,
                            precision=precision, abs=abs_, offset=offset, rescale=rescale,
                            normalize=normalize, alpha=alpha)
    records: list[dict[str, object]] = []
    err = _stderr()
    out = _stdout()
    for p, t in zip(inputs, targets, strict=True):
        t0 = time.perf_counter()
        img = read_image(p)
        arr, has_alpha, in_dtype = img.array, img.has_alpha, img.array.dtype
        if gray:
            arr, has_alpha = pipeline.to_gray(arr, has_alpha)
        out_dtype = dtype or str(in_dtype)
        check_output_dtype(t, out_dtype)
        res = pipeline.run_filters(arr, kernels, opts, has_alpha=has_alpha,
                                   alpha_max=dtype_max(in_dtype))
        if not quiet and not json_:
            for note in dict.fromkeys(res.notes):
                err.print(f"[yellow]note:[/] {note}")
        final = pipeline.finish(res.values, out_dtype, in_dtype=in_dtype, abs_=abs_,
                                offset=offset, rescale=rescale,
                                keep_last=has_alpha and alpha == "keep" and arr.ndim == 3)
        write_image(t, final, overwrite=overwrite, protect=tuple(inputs))
        seconds = time.perf_counter() - t0
        used = "+".join(dict.fromkeys(res.methods))
        records.append({
            "input": str(p), "output": str(t), "filters": [k.name for k in kernels],
            "mode": mode, "method": used, "boundary": boundary,
            "shape": list(final.shape), "dtype": str(final.dtype), "seconds": round(seconds, 4),
        })
        if not quiet and not json_:
            shape = "x".join(str(s) for s in final.shape)
            out.print(f"wrote {t}  ({'+'.join(k.name for k in kernels)}, {mode}, {used}, "
                      f"{boundary}, {shape} {final.dtype}, {seconds:.3f} s)")
    if json_:
        typer.echo(json.dumps({"outputs": records}, indent=2))


# -- filters --------------------------------------------------------------------------------
@app.command("filters")
@handle_errors
def filters_cmd(
    json_: Annotated[bool, typer.Option("--json", help="Print the list as JSON.")] = False,
    verbose: VerboseOpt = False,
) -> None:
    """List the shipped filter library and the kernel generators, one line each."""
    from rich.table import Table

    from imgconv.kernels import GENERATORS, shipped_filters

    ks = shipped_filters()
    if json_:
        typer.echo(json.dumps([
            {"name": k.name, "shape": list(k.shape), "symmetric": k.symmetric,
             "sum": k.sum, "description": k.description, "source": k.source} for k in ks
        ], indent=2))
        return
    table = Table(title="Shipped filters (use with -f NAME)", title_justify="left")
    table.add_column("name", style="bold")
    table.add_column("shape")
    table.add_column("corr = conv", justify="center")
    table.add_column("description")
    for k in ks:
        table.add_row(k.name, f"{k.shape[0]}x{k.shape[1]}",
                      "yes" if k.correlate_equals_convolve else "[yellow]no[/]", k.description)
    con = _stdout()
    con.print(table)
    gen = Table(title="Generators (use with -f NAME:key=value,...)", title_justify="left")
    gen.add_column("generator", style="bold")
    gen.add_column("parameters")
    gen.add_column("description")
    for gname, g in GENERATORS.items():
        gen.add_row(gname, g.params_help, g.description)
    con.print(gen)


# -- show -----------------------------------------------------------------------------------
def _fmt(v: float) -> str:
    from fractions import Fraction

    if float(v).is_integer():
        return str(int(v))
    fr = Fraction(float(v)).limit_denominator(10000)
    if abs(float(fr) - v) < 1e-12 and fr.denominator <= 1000:
        return f"{fr.numerator}/{fr.denominator}"
    return f"{v:.6g}"


def _kernel_table(weights: Any, anchor: tuple[int, int], title: str) -> Any:
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_header=False, box=None,
                  padding=(0, 1))
    for _ in range(weights.shape[1]):
        table.add_column(justify="right")
    for i, row in enumerate(weights):
        cells = []
        for j, v in enumerate(row):
            s = _fmt(float(v))
            cells.append(f"[bold reverse]{s}[/]" if (i, j) == anchor else s)
        table.add_row(*cells)
    return table


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


@app.command()
@handle_errors
def show(
    filter_: Annotated[str, typer.Argument(metavar="FILTER", help="A filter file, shipped name, "
                                           "inline matrix or generator.")],
    mode: ModeOpt = "correlate",
    json_: Annotated[bool, typer.Option("--json", help="Print the properties as JSON.")] = False,
    verbose: VerboseOpt = False,
) -> None:
    """Show a kernel, its properties, and (with --mode convolve) the kernel as applied."""
    from imgconv.engine import MODES
    from imgconv.kernels import load_filter

    mode = _check_choice(mode, MODES, "--mode")
    k = load_filter(filter_)
    kh, kw = k.shape
    props: dict[str, object] = {
        "name": k.name,
        "source": k.source,
        "description": k.description,
        "shape": [kh, kw],
        "anchor": list(k.center),
        "scale": k.scale,
        "offset": k.offset,
        "sum": k.sum,
        "abs_sum": k.abs_sum,
        "min": float(k.array.min()),
        "max": float(k.array.max()),
        "zero_sum": k.is_zero_sum,
        "normalized": bool(abs(k.sum - 1.0) <= 1e-12 * max(k.abs_sum, 1.0)),
        "symmetric": k.symmetric,
        "correlate_equals_convolve": k.correlate_equals_convolve,
        "rank": k.rank,
    }
    if k.rank == 1:
        col, row = _display_factors(k)
        props["factors"] = {"column": col, "row": row}
    if json_:
        props["kernel"] = k.weights.tolist()
        if mode == "convolve":
            fl = k.flipped()
            props["as_applied"] = {"kernel": fl.weights.tolist(), "anchor": list(fl.center)}
        typer.echo(json.dumps(props, indent=2))
        return
    con = _stdout()
    title = f"{k.name}  ({kh}x{kw}" + (f", scale {_fmt(k.scale)}" if k.scale != 1 else "") + ")"
    con.print(_kernel_table(k.weights, k.center, title))
    if k.description:
        con.print(f"[dim]{k.description}[/]")
    con.print(f"source      {k.source}")
    con.print(f"shape       {kh}x{kw}   anchor (row, col) {k.center}"
              + ("" if k.anchor_is_centred else "  (not centred)"))
    if k.scale != 1:
        con.print(f"scale       {_fmt(k.scale)}  (the kernel applied is weights x scale)")
    if k.offset:
        con.print(f"offset      {_fmt(k.offset)}  (added after filtering)")
    con.print(f"sum         {k.sum:.6g}   min {float(k.array.min()):.6g}   "
              f"max {float(k.array.max()):.6g}")
    con.print("normalized  " + ("yes (sums to 1)" if props["normalized"] else
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
    if k.rank == 1:
        col, row = _display_factors(k)
        con.print(f"  column    [{' '.join(_fmt(v) for v in col)}]")
        con.print(f"  row       [{' '.join(_fmt(v) for v in row)}]   "
                  "(kernel = column x row)")
    if mode == "convolve":
        fl = k.flipped()
        con.print()
        con.print(_kernel_table(fl.weights, fl.center,
                                f"as applied by convolve (rotated 180°, anchor {fl.center}), "
                                "slid over the image like a correlation"))


def main() -> None:
    """Entry point of the ``imgconv`` command."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
