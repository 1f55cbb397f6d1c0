"""Boundary modes: one table that the engine, the banded path, the CLI help and the README read.

The image is extended beyond its edges by the mode before a kernel is applied
(docs/semantics.md §1).  Each mode owns its rule, :attr:`BoundaryMode.index`: the
source index of any position along an axis, however far beyond the edge.  ``pad``
(whole images) and the banded path (rows gathered from a file) both use it, so a
new mode is one row here.  The other columns say what the mode is called elsewhere
(scipy.ndimage, OpenCV, numpy.pad) and what the engine may do with it: the OpenCV
border constant of its native ``same`` path, ``periodic`` (a circular FFT computes
it) and ``uses_cval``.

This module imports only :mod:`imgconv.errors` (numpy lazily): the CLI reads the
table for ``--help``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from imgconv.errors import ImgconvError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Indices = npt.NDArray[np.integer]
    Image = npt.NDArray[np.floating]

#: the index a mode gives for "the cval" (positions outside the image under ``constant``)
CVAL_INDEX = -1


def _reflect(i: Indices, n: int) -> Indices:
    """``d c b a [a b c d] d c b a``: period ``2n``, the edge sample repeated."""
    import numpy as np

    m = np.mod(i, 2 * n)
    return np.where(m < n, m, 2 * n - 1 - m)


def _mirror(i: Indices, n: int) -> Indices:
    """``d c b [a b c d] c b a``: period ``2n - 2``, the edge sample not repeated."""
    import numpy as np

    if n == 1:
        return np.zeros_like(i)
    m = np.mod(i, 2 * n - 2)
    return np.where(m < n, m, 2 * n - 2 - m)


def _nearest(i: Indices, n: int) -> Indices:
    """``a a a [a b c d] d d d``."""
    import numpy as np

    return np.clip(i, 0, n - 1)


def _wrap(i: Indices, n: int) -> Indices:
    """``b c d [a b c d] a b c``: period ``n``."""
    import numpy as np

    return np.mod(i, n)


def _constant(i: Indices, n: int) -> Indices:
    """``k k k [a b c d] k k k``: :data:`CVAL_INDEX` outside the image."""
    import numpy as np

    return np.where((i >= 0) & (i < n), i, CVAL_INDEX)


@dataclass(frozen=True)
class BoundaryMode:
    """One row of the boundary-mode table.

    Attributes
    ----------
    name : str
        The imgconv name.
    extension : str
        The row ``a b c d`` extended on both sides (documentation).
    scipy, numpy : str
        The scipy.ndimage mode and the numpy.pad mode computing the same extension.
    opencv : str or None
        The OpenCV border constant (``cv2.<name>``) ``filter2D`` accepts for it; None
        when it has none.
    aliases : tuple of str
        Other names accepted for it.
    index : callable
        ``index(i, n)``: for an integer array ``i`` of positions along an axis of
        length ``n`` (any distance beyond either edge), the source indices,
        :data:`CVAL_INDEX` for "the cval".
    periodic : bool
        The extension repeats the image with its own period (a circular FFT of the
        image's own size computes ``same``).
    uses_cval : bool
        Positions outside the image take ``cval``.
    opencv_display : str
        What the table shows in the OpenCV column when it is not ``opencv``.
    spellings : tuple of str
        Other libraries' names for it, accepted but not listed as aliases: OpenCV's
        border constants (``BORDER_REFLECT_101``, ``BORDER_DEFAULT``) and scipy's
        ``grid-*`` modes.  (numpy.pad's ``reflect`` is *not* accepted for ``mirror``: it
        is imgconv's and scipy's ``reflect``.)
    """

    name: str
    extension: str
    scipy: str
    opencv: str | None
    numpy: str
    aliases: tuple[str, ...]
    index: Callable[[Indices, int], Indices]
    periodic: bool = False
    uses_cval: bool = False
    opencv_display: str = ""
    spellings: tuple[str, ...] = ()


MODES: tuple[BoundaryMode, ...] = (
    BoundaryMode("reflect", "d c b a [a b c d] d c b a", "reflect", "BORDER_REFLECT",
                 "symmetric", ("symmetric",), _reflect,
                 spellings=("BORDER_REFLECT", "grid-mirror")),
    BoundaryMode("mirror", "d c b [a b c d] c b a", "mirror", "BORDER_REFLECT_101",
                 "reflect", ("reflect101", "reflect_101"), _mirror,
                 spellings=("BORDER_REFLECT_101", "BORDER_REFLECT101", "BORDER_DEFAULT")),
    BoundaryMode("nearest", "a a a [a b c d] d d d", "nearest", "BORDER_REPLICATE",
                 "edge", ("edge", "replicate", "clamp"), _nearest,
                 spellings=("BORDER_REPLICATE",)),
    BoundaryMode("wrap", "b c d [a b c d] a b c", "wrap", None,
                 "wrap", ("periodic", "circular", "tile", "grid-wrap"), _wrap,
                 periodic=True, opencv_display="BORDER_WRAP (filter2D rejects it)",
                 spellings=("BORDER_WRAP",)),
    BoundaryMode("constant", "k k k [a b c d] k k k  (k = cval)", "constant",
                 "BORDER_CONSTANT", "constant", ("zero", "fill"), _constant, uses_cval=True,
                 spellings=("BORDER_CONSTANT", "grid-constant")),
)

MODE_NAMES: tuple[str, ...] = tuple(m.name for m in MODES)
_LOOKUP: dict[str, BoundaryMode] = {}
for _m in MODES:
    _LOOKUP[_m.name] = _m
    for _a in _m.aliases + _m.spellings:
        _LOOKUP[_a.lower()] = _m


def boundary_mode(name: str | BoundaryMode) -> BoundaryMode:
    """The table row for ``name`` (a canonical name or an alias, case-insensitive).

    An unknown name is an :class:`~imgconv.errors.ImgconvError` about ``boundary``
    that lists the valid names and suggests the closest one.
    """
    if isinstance(name, BoundaryMode):
        return name
    key = str(name).strip().lower().replace(" ", "")
    try:
        return _LOOKUP[key]
    except KeyError:
        from imgconv.spelling import closest

        valid = ", ".join(MODE_NAMES)
        aliases = ", ".join(sorted(a for m in MODES for a in m.aliases))
        close = closest(key, _LOOKUP)
        hint = f"did you mean {close!r}? " if close else ""
        raise ImgconvError(
            f"unknown boundary mode {name!r}: {hint}use one of {valid} (aliases: {aliases})",
            param="boundary",
        ) from None


def canonical_boundary(name: str) -> str:
    """The canonical imgconv name for a boundary mode or alias."""
    return boundary_mode(name).name


def pad(
    image: Image,
    widths: tuple[tuple[int, int], tuple[int, int]],
    boundary: str | BoundaryMode,
    cval: float = 0.0,
) -> Image:
    """Extend ``image`` (H×W or H×W×C) by ``widths`` = ((top, bottom), (left, right)).

    The image is copied into the middle of a new array and the margins are filled
    by the mode's :attr:`~BoundaryMode.index`: first the left and right columns of
    the image's rows, then the top and bottom rows from those extended rows.  Widths
    larger than the image keep extending by the same rule (reflect and mirror
    repeat, wrap is periodic), as numpy.pad and scipy.ndimage do.
    """
    import numpy as np

    mode = boundary_mode(boundary)
    (t, b), (left, r) = widths
    if min(t, b, left, r) < 0:
        raise ValueError(f"negative pad widths {widths}")
    if t == b == left == r == 0:
        return image
    h, w = image.shape[:2]
    out = np.empty((h + t + b, w + left + r) + image.shape[2:], dtype=image.dtype)
    middle = out[t : t + h]
    middle[:, left : left + w] = image
    _fill_margins(middle, image, axis=1, before=left, after=r, mode=mode, cval=cval)
    _fill_margins(out, middle, axis=0, before=t, after=b, mode=mode, cval=cval)
    return out


def _fill_margins(out: Image, src: Image, *, axis: int, before: int, after: int,
                  mode: BoundaryMode, cval: float) -> None:
    """Fill the ``before`` and ``after`` margins of ``out`` along ``axis`` from ``src``
    (which ``out`` holds in between) by ``mode.index``.

    A margin is copied run by run (:func:`index_runs`), as slices, which is what keeps
    ``pad`` as fast as numpy.pad; a margin of many short runs (a kernel far larger than
    the image) is gathered at once.
    """
    import numpy as np

    n = src.shape[axis]
    lead = (slice(None),) * axis
    for start, stop in ((-before, 0), (n, n + after)):
        if start == stop:
            continue
        src_idx = mode.index(np.arange(start, stop), n)
        target = out[lead + (slice(start + before, stop + before),)]
        runs = index_runs(src_idx)
        if len(runs) > _MAX_RUNS:
            _gather(target, src, src_idx, axis, cval)
            continue
        for run in runs:
            piece = target[lead + (slice(run.i0, run.i1),)]
            piece[...] = cval if run.step is None else src[lead + (run.source,)]


_MAX_RUNS = 8  # beyond this many runs in a margin, one gather is faster than slices


class Run(NamedTuple):
    """Positions ``i0..i1`` (end excluded) of an index array, read from the source as one
    slice: indices ``lo..hi`` (end excluded) forward (``step`` 1) or backward (-1), or
    ``lo`` repeated (0); ``step`` None: the cval."""

    i0: int
    i1: int
    lo: int
    hi: int
    step: int | None

    @property
    def source(self) -> slice:
        """The slice of the source axis giving the run's values in order."""
        if self.step == -1:
            return slice(self.hi - 1, None if self.lo == 0 else self.lo - 1, -1)
        return slice(self.lo, self.hi)


def index_runs(idx: Sequence[int] | Indices) -> list[Run]:
    """Source indices (from :attr:`BoundaryMode.index`) cut into :class:`Run` s, so that a
    reader copies slices (or reads contiguous blocks) rather than single indices."""
    values: list[int] = list(idx) if isinstance(idx, Sequence) else idx.tolist()
    runs: list[Run] = []
    i0 = 0
    while i0 < len(values):
        first = values[i0]
        i1 = i0 + 1
        if first == CVAL_INDEX:
            while i1 < len(values) and values[i1] == CVAL_INDEX:
                i1 += 1
            runs.append(Run(i0, i1, CVAL_INDEX, CVAL_INDEX, None))
        else:
            step = values[i1] - first if i1 < len(values) else 1
            step = step if step in (1, 0, -1) else 1
            while (i1 < len(values) and values[i1] != CVAL_INDEX
                   and values[i1] - values[i1 - 1] == step):
                i1 += 1
            last = values[i1 - 1]
            runs.append(Run(i0, i1, min(first, last), max(first, last) + 1, step))
        i0 = i1
    return runs


def _gather(target: Image, src: Image, src_idx: Indices, axis: int, cval: float) -> None:
    """``target`` (a margin along ``axis``) = ``src`` at ``src_idx``, the cval at -1."""
    import numpy as np

    inside = src_idx != CVAL_INDEX
    if not inside.all():
        target[...] = cval
    keep = np.flatnonzero(inside)
    target[(slice(None),) * axis + (keep,)] = np.take(src, src_idx[keep], axis=axis)


def table_markdown() -> str:
    """The boundary-mode table as Markdown (used by the README and ``--help``)."""
    lines = [
        "| imgconv name | extension | scipy.ndimage | OpenCV | numpy.pad | aliases |",
        "|---|---|---|---|---|---|",
    ]
    for m in MODES:
        lines.append(
            f"| `{m.name}` | `{m.extension}` | {m.scipy} | {m.opencv_display or m.opencv} | "
            f"{m.numpy} | {', '.join(m.aliases)} |"
        )
    return "\n".join(lines)
