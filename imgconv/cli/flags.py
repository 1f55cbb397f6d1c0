"""Every shared option of the command line declared once, as an ``Annotated`` alias that
a command lists in its signature (``boundary: flags.Boundary = DEFAULTS.boundary``).

One meaning per option letter: ``-b`` is ``--boundary`` in every command.  The filter
options' defaults are :class:`~imgconv.options.FilterOptions`' own (:data:`DEFAULTS`);
:data:`COMMON` names the options ``apply``, ``batch`` and ``diff`` share, in the order of
their ``--help``.  Only typer and the light option tables are imported, so ``imgconv
--help`` stays fast.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from imgconv.boundary import MODE_NAMES
from imgconv.boundary import MODES as BOUNDARY_MODES
from imgconv.options import ALPHA_MODES, DTYPES, METHODS, MODES, PRECISIONS, SIZES, FilterOptions

#: the defaults of the filter options (what is computed when nothing is said)
DEFAULTS = FilterOptions()
#: the options apply, batch and diff share, in the order of ``--help``: the fields of
#: FilterOptions, then those of :class:`~imgconv.cli.common.FilterArgs`
COMMON = ("mode", "method", "boundary", "cval", "size", "dtype", "precision", "abs", "offset",
          "rescale", "normalize", "alpha", "gray", "page", "memory_limit", "auto_orient",
          "strip")


def _choices(values: tuple[str, ...]) -> str:
    """The metavar listing an option's choices: ``[correlate|convolve]``."""
    return "[" + "|".join(values) + "]"


def _choice(values: tuple[str, ...]) -> dict[str, Any]:
    """An option's choices: listed in ``--help`` and completed by the shell."""
    def complete(incomplete: str) -> list[str]:
        return [v for v in values if v.startswith(incomplete.lower())]

    return {"metavar": _choices(values), "autocompletion": complete}


_BOUNDARY_HELP = "Boundary mode: " + "; ".join(
    f"{m.name} ({m.extension}{', alias ' + '/'.join(m.aliases) if m.aliases else ''})"
    for m in BOUNDARY_MODES
)

# -- what is filtered, and how -----------------------------------------------------------------
Filters = Annotated[list[str], typer.Option(
    "-f", "--filter", help="Filter: a .yaml/.txt/.npy/.csv file, a shipped name (see 'imgconv "
    "filters'), an inline matrix \"1 2 1; 2 4 2; 1 2 1\" or a generator like gaussian:sigma=2. "
    "Repeat to apply several in sequence.")]
Mode = Annotated[str, typer.Option(
    "--mode", **_choice(MODES), help="correlate or convolve (kernel rotated by 180°).")]
Method = Annotated[str, typer.Option(
    "--method", **_choice(METHODS), help="How it is computed (never what): auto, direct, "
    "separable (rank-1 kernels), lowrank (rank 2-8: r separable passes) or fft.")]
Boundary = Annotated[str, typer.Option(
    "--boundary", "-b", **_choice(MODE_NAMES), help=_BOUNDARY_HELP)]
Cval = Annotated[float, typer.Option(
    "--cval", help="Value beyond the edges for --boundary constant (pixel units).")]
Size = Annotated[str, typer.Option(
    "--size", **_choice(SIZES), help="Output size: same, valid (kernel wholly inside) or "
    "full (every overlap).")]
Dtype = Annotated[str | None, typer.Option(
    "--dtype", **_choice(DTYPES), help="Output pixel type: uint8, uint16, float32 or "
    "float64 (default: the input's).")]
Precision = Annotated[str, typer.Option(
    "--precision", **_choice(PRECISIONS), help="auto (float64 for float64 images, else "
    "float32), single or double.")]
Abs = Annotated[bool, typer.Option("--abs", help="Take the absolute value of the result.")]
Offset = Annotated[float, typer.Option(
    "--offset", help="Add this to the result (pixel units), after any filter-file offset.")]
Rescale = Annotated[bool, typer.Option(
    "--rescale", help="Stretch the result's min..max onto the output range.")]
Normalize = Annotated[bool, typer.Option(
    "--normalize", help="Divide each kernel by its sum (zero-sum kernels are left as they "
    "are).")]
Alpha = Annotated[str, typer.Option(
    "--alpha", **_choice(ALPHA_MODES), help="Alpha channel: keep (untouched), filter (like "
    "colour) or premultiply.")]
Gray = Annotated[bool, typer.Option(
    "--gray", help="Convert colour images to gray (luma 0.299 R + 0.587 G + 0.114 B) first.")]

# -- reading and writing -----------------------------------------------------------------------
MemoryLimit = Annotated[str | None, typer.Option(
    "--memory-limit", help="Working memory for one image (256MB, 2GB: decimal; 512MiB, 2GiB: "
    "binary; none: no limit). A larger TIFF or .npy is filtered in bands and streamed to a "
    ".tif/.npy output. Default: 256MB (what cannot be banded is then read whole).",
    show_default=False)]
Page = Annotated[int | None, typer.Option(
    "--page", help="Pick one page (0-based) of a multi-page TIFF or animated GIF/WebP; by "
    "default every page or frame is filtered, into a format that holds them (.tif, .gif, "
    ".webp).", show_default=False)]
Scheduler = Annotated[str | None, typer.Option(
    "--scheduler", help="Run on the Dask cluster at this address (tcp://host:8786): batch "
    "sends it whole files, apply the bands of one TIFF/.npy image; workers must see the same "
    "files.", show_default=False)]
AutoOrient = Annotated[bool, typer.Option(
    "--auto-orient/--no-auto-orient", help="Turn the image upright by its EXIF orientation "
    "before filtering (as a viewer shows it; the output says orientation 1). "
    "--no-auto-orient filters the stored pixel order and copies the tag.")]
Strip = Annotated[bool, typer.Option(
    "--strip", help="Write no metadata: by default the ICC profile, resolution (dpi) and EXIF "
    "go to the output where its format holds them.")]
Quality = Annotated[int | None, typer.Option(
    "--quality", help="JPEG/WebP quality, 1 (smallest) to 100 (best); JPEG default 95, "
    "WebP default lossless.", show_default=False)]
Overwrite = Annotated[bool, typer.Option(
    "--overwrite", "--force", help="Replace existing output files (never an input).")]

# -- what is said --------------------------------------------------------------------------------
Json = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
Verbose = Annotated[bool, typer.Option(
    "-v", "--verbose", help="More detail; Python tracebacks for unexpected errors.")]
Quiet = Annotated[bool, typer.Option("-q", "--quiet", help="Print nothing but errors.")]

# -- match's own texts for the reading options (it filters nothing) ---------------------------
MatchPage = Annotated[int | None, typer.Option(
    "--page", help="Search this page (0-based) of each multi-page TIFF or animated GIF/WebP "
    "image; without it such an image is refused. The template must be one image.",
    show_default=False)]
MatchMemoryLimit = Annotated[str | None, typer.Option(
    "--memory-limit", help="Working memory for matching one image (256MB, 2GB: decimal; "
    "512MiB, 2GiB: binary; none: no limit): beyond it the image is matched in bands with a "
    "template-sized overlap. A TIFF or .npy is then read band by band, its score map never "
    "held whole (--map must be .tif); other formats are read whole. Default: 256MB.",
    show_default=False)]
MatchAutoOrient = Annotated[bool, typer.Option(
    "--auto-orient/--no-auto-orient", help="Turn the images, the template and --mask upright "
    "by their EXIF orientation before matching (as a viewer shows them; positions are in "
    "that upright image). --no-auto-orient matches the stored pixel order.")]
