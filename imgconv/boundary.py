"""Boundary modes: one table that the engine, the CLI help and the README all read.

The image is extended beyond its edges by the mode before a kernel is applied
(SPEC §1).  ``pad`` is the one place that extension is computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from imgconv.errors import ImgconvError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt


@dataclass(frozen=True)
class BoundaryMode:
    """One row of the boundary-mode table."""

    name: str
    extension: str  # the row ``a b c d`` extended on both sides
    scipy: str  # scipy.ndimage mode
    opencv: str | None  # OpenCV border constant name (None: filter2D has none)
    numpy: str  # numpy.pad mode
    aliases: tuple[str, ...]


MODES: tuple[BoundaryMode, ...] = (
    BoundaryMode("reflect", "d c b a [a b c d] d c b a", "reflect", "BORDER_REFLECT",
                 "symmetric", ("symmetric",)),
    BoundaryMode("mirror", "d c b [a b c d] c b a", "mirror", "BORDER_REFLECT_101",
                 "reflect", ("reflect101", "reflect_101")),
    BoundaryMode("nearest", "a a a [a b c d] d d d", "nearest", "BORDER_REPLICATE",
                 "edge", ("edge", "replicate", "clamp")),
    BoundaryMode("wrap", "b c d [a b c d] a b c", "wrap", "BORDER_WRAP",
                 "wrap", ("periodic", "circular", "tile", "grid-wrap")),
    BoundaryMode("constant", "k k k [a b c d] k k k  (k = cval)", "constant",
                 "BORDER_CONSTANT", "constant", ("zero", "fill")),
)

MODE_NAMES: tuple[str, ...] = tuple(m.name for m in MODES)
_LOOKUP: dict[str, BoundaryMode] = {}
for _m in MODES:
    _LOOKUP[_m.name] = _m
    for _a in _m.aliases:
        _LOOKUP[_a] = _m


def boundary_mode(name: str) -> BoundaryMode:
    """Return the table row for ``name`` (a canonical name or an alias, case-insensitive)."""
    key = str(name).strip().lower().replace(" ", "")
    try:
        return _LOOKUP[key]
    except KeyError:
        import difflib

        valid = ", ".join(MODE_NAMES)
        aliases = ", ".join(sorted(a for m in MODES for a in m.aliases))
        close = difflib.get_close_matches(key, list(_LOOKUP), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ImgconvError(
            f"unknown boundary mode {name!r}: {hint}use one of {valid} (aliases: {aliases})"
        ) from None


def canonical_boundary(name: str) -> str:
    """The canonical imgconv name for a boundary mode or alias."""
    return boundary_mode(name).name


def pad(
    image: npt.NDArray[np.floating],
    widths: tuple[tuple[int, int], tuple[int, int]],
    boundary: str,
    cval: float = 0.0,
) -> npt.NDArray[np.floating]:
    """Extend ``image`` (H×W or H×W×C) by ``widths`` = ((top, bottom), (left, right)).

    Widths larger than the image keep extending by the same rule (reflect and mirror
    repeat, wrap is periodic), exactly as scipy.ndimage does.
    """
    import numpy as np

    mode = boundary_mode(boundary)
    (t, b), (left, r) = widths
    if min(t, b, left, r) < 0:
        raise ValueError(f"negative pad widths {widths}")
    full = [(t, b), (left, r)] + [(0, 0)] * (image.ndim - 2)
    if t == b == left == r == 0:
        return image
    if mode.name == "constant":
        return np.pad(image, full, mode="constant", constant_values=cval)
    return np.pad(image, full, mode=mode.numpy)  # type: ignore[call-overload,no-any-return]


def table_markdown() -> str:
    """The boundary-mode table as Markdown (used by the README and ``--help``)."""
    lines = [
        "| imgconv name | extension | scipy.ndimage | OpenCV | numpy.pad | aliases |",
        "|---|---|---|---|---|---|",
    ]
    for m in MODES:
        lines.append(
            f"| `{m.name}` | `{m.extension}` | {m.scipy} | {m.opencv}"
            f"{' (filter2D rejects it)' if m.name == 'wrap' else ''} | {m.numpy} | "
            f"{', '.join(m.aliases)} |"
        )
    return "\n".join(lines)
