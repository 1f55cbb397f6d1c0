"""Template matching: how similar a template is to each window of an image (docs/semantics.md §8).

The six methods and formulas of OpenCV's ``matchTemplate`` (``sqdiff``, ``sqdiff_normed``,
``ccorr``, ``ccorr_normed``, ``ccoeff``, ``ccoeff_normed``), masks for all six, colour
summed over the channels; arrays in, a float64 score map out, no file touched.

:func:`prepare` checks the image, the template and the mask (one pass over the image
for its range) and plans the tiles; :meth:`MatchPlan.bands` computes the score map band
by band (:mod:`imgconv.scoring` does one tile); :func:`match_template` assembles the
bands, the command line streams them.  Peaks are :mod:`imgconv.peaks`' business.

Defined everywhere: a denominator is *numerically zero* — a flat window or template for
``ccoeff_normed``, an all-zero one for ``ccorr_normed`` and ``sqdiff_normed`` — when it
is at most ``rho * n * scale**2``: ``n`` the template's size (its sum of squared
weights under a mask), ``scale`` the largest magnitude of the template, or of the image
— for ``ccoeff_normed`` the template's measured from its mean and the image's from the
middle of its range (an offset cancels); ``rho`` is :data:`FLAT` (``1e-12``) for the
template, and ``max(1e-12, 16 * eps * P / n)`` for a window, ``P`` the pixels an
integral image of a tile accumulates (what its window sums can resolve).  A template
for ``ccoeff_normed`` is flat too when its part is at most ``n * (16 * eps * T_max)**2``
(``T_max`` its largest magnitude: what ``T - mean`` resolves).
There the score is 0; variances are clamped at 0; ``ccorr_normed`` and ``ccoeff_normed``
are clipped into [-1, 1]; ``sqdiff`` and ``sqdiff_normed`` are >= 0 and never capped
(OpenCV caps ``sqdiff_normed`` at 1).  No NaN, no inf.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

import numpy as np
import numpy.typing as npt

from imgconv.errors import ImgconvError
from imgconv.scoring import (
    ALIASES,
    EPS,
    FLAT,
    METHODS,
    SMALLER_IS_BETTER,
    Setup,
    Tiling,
    band_scores,
    canonical_method,
    choose_fft,
    plan_tiles,
    template_setup,
    tile_input,
)

Array = npt.NDArray[np.float64]

DEFAULT_LIMIT = 256 * 10**6  # bytes of working memory (docs/semantics.md §7)


@runtime_checkable
class Rows(Protocol):
    """Where the image's rows come from (:class:`imgconv.bands.ArraySource`, a TIFF)."""

    shape: tuple[int, ...]
    dtype: np.dtype[Any]

    def read(self, y0: int, y1: int) -> npt.NDArray[Any]: ...


def _as_hwc(a: npt.ArrayLike, what: str) -> npt.NDArray[Any]:
    """``a`` as an H×W×C array of real numbers (a view when it can be)."""
    arr = np.asarray(a)
    if arr.ndim not in (2, 3) or arr.size == 0:
        raise ImgconvError(f"the {what} must be a non-empty H×W or H×W×C array, got shape "
                           f"{arr.shape}", param=what)
    if arr.dtype.kind not in "buif":
        raise ImgconvError(f"the {what} has dtype {arr.dtype}: template matching takes real "
                           "numbers", param=what)
    if arr.dtype.kind == "b":
        arr = arr.astype(np.uint8)
    return arr if arr.ndim == 3 else arr[:, :, None]


def _finite(a: npt.NDArray[Any], what: str) -> None:
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        bad = a.size - int(np.count_nonzero(np.isfinite(a)))
        raise ImgconvError(f"the {what} has {bad:,} NaN or infinite value(s): template "
                           "matching needs finite values", param=what)


def _channels(image_c: int, template_c: int) -> None:
    if image_c == template_c:
        return
    kind = {1: "grey", 3: "colour (RGB)", 4: "colour with alpha (RGBA)"}
    img, tpl = kind.get(image_c, f"{image_c}-channel"), kind.get(template_c,
                                                                   f"{template_c}-channel")
    raise ImgconvError(f"a {tpl} template cannot be matched against a {img} image: both must "
                       f"have the same channels (convert one: a grey template needs a grey "
                       f"image, a colour one a colour image)", param="template")


def _mask(mask: npt.ArrayLike | None, tshape: tuple[int, ...]) -> Array | None:
    """The mask's weights as h×w×C float64 (None: no mask), checked."""
    if mask is None:
        return None
    m = np.asarray(mask)
    if m.dtype.kind not in "buif":
        raise ImgconvError(f"the mask has dtype {m.dtype}: use weights in 0..1", param="mask")
    m = m.astype(np.float64)
    if m.ndim == 3 and m.shape[2] == 1:
        m = m[:, :, 0]
    if m.shape not in (tshape[:2], tshape):
        raise ImgconvError(f"the mask has shape {m.shape}; it must have the template's "
                           f"{tshape[:2]} (or {tshape})", param="mask")
    _finite(m, "mask")
    if m.min() < 0 or m.max() > 1:
        raise ImgconvError(f"the mask's weights must lie in 0..1, found {m.min():g}.."
                           f"{m.max():g} (an 8-bit mask: divide by 255)", param="mask")
    if not m.any():
        raise ImgconvError("the mask has no non-zero weight: nothing of the template would "
                           "be compared", param="mask")
    m = m if m.ndim == 3 else m[:, :, None]
    return np.ascontiguousarray(np.broadcast_to(m, tshape), dtype=np.float64)


def _range(rows: Rows, chunk: int = 1024) -> tuple[Array, Array]:
    """The per-channel minimum and maximum of the image (one pass; finite checked)."""
    h = rows.shape[0]
    lo = hi = None
    for y in range(0, h, chunk):
        part = _as_hwc(rows.read(y, min(h, y + chunk)), "image")
        a, b = part.min(axis=(0, 1)).astype(np.float64), part.max(axis=(0, 1)).astype(
            np.float64)
        lo = a if lo is None else np.minimum(lo, a)
        hi = b if hi is None else np.maximum(hi, b)
    assert lo is not None and hi is not None
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        raise ImgconvError("the image has NaN or infinite pixel values: template matching "
                           "needs finite values", param="image")
    return lo, hi


@dataclass
class MatchPlan:
    """One matching, checked and planned: :meth:`bands` computes it."""

    setup: Setup
    image_shape: tuple[int, int, int]
    tiling: Tiling
    cache: dict[Any, Any] = field(default_factory=dict)  # kernel spectra, engine kernels

    @property
    def method(self) -> str:
        return self.setup.method

    @property
    def out_shape(self) -> tuple[int, int]:
        h, w = self.setup.shape
        return self.image_shape[0] - h + 1, self.image_shape[1] - w + 1

    def bands(self, rows: Rows) -> Iterator[tuple[int, Array]]:
        """``(first row, scores)`` of each band of the score map, in order; ``rows`` reads
        the image this plan was made for."""
        h = self.setup.shape[0]
        ho, step = self.out_shape[0], self.tiling.rows
        for y0 in range(0, ho, step):
            y1 = min(ho, y0 + step)
            band = _as_hwc(rows.read(y0, y1 + h - 1), "image")
            yield y0, band_scores(band, self.setup, self.tiling, self.cache)


def prepare(rows: Rows, template: npt.ArrayLike, *, method: str = "ccoeff_normed",
            mask: npt.ArrayLike | None = None, memory_limit: int | None = DEFAULT_LIMIT,
            row_bytes: int = 0) -> MatchPlan:
    """Check the template, the mask and the image (one pass over ``rows`` for its range),
    and plan the tiles so that the working set stays under ``memory_limit`` bytes (None:
    no limit) plus ``row_bytes`` per output row the caller keeps (its own band buffers)."""
    method = canonical_method(method)
    tpl = _as_hwc(template, "template").astype(np.float64)
    _finite(tpl, "template")
    shape = tuple(rows.shape) if len(rows.shape) == 3 else (*rows.shape, 1)
    img_shape = (int(shape[0]), int(shape[1]), int(shape[2]))
    _channels(img_shape[2], tpl.shape[2])
    h, w = tpl.shape[:2]
    if h > img_shape[0] or w > img_shape[1]:
        raise ImgconvError(f"the template ({h}x{w}) is larger than the image "
                           f"({img_shape[0]}x{img_shape[1]}): it must fit inside it",
                           param="template")
    weights = _mask(mask, tpl.shape)
    lo, hi = _range(rows)
    setup = template_setup(method, tpl, weights, lo, hi, np.dtype(rows.dtype).kind in "biu")
    tiling = plan_tiles(img_shape, (h, w), memory_limit, row_bytes=row_bytes,
                        masked=weights is not None)
    tiling = choose_fft(tiling, setup, img_shape)
    rows_in, cols_in = tile_input(tiling, setup, img_shape)
    rho = max(FLAT, 16 * EPS * rows_in * cols_in / float(setup.n.sum()))
    setup = replace(setup, i_flat=rho * float(setup.n.sum()) * setup.i_scale2)
    return MatchPlan(setup, img_shape, tiling)


def match_template(image: npt.ArrayLike, template: npt.ArrayLike, *,
                   method: str = "ccoeff_normed", mask: npt.ArrayLike | None = None,
                   pad_input: bool = False, memory_limit: int | None = DEFAULT_LIMIT) -> Array:
    """How similar ``template`` is to each window of ``image`` (docs/semantics.md §8).

    Parameters
    ----------
    image : array, H×W or H×W×C
        Any real dtype; values as they are (nothing rescaled).
    template : array, h×w or h×w×C
        The same number of channels as the image (a grey template on a colour image is
        refused), at most the image's size.
    method : str, keyword-only
        ``ccoeff_normed`` (default; also ``ncc``, ``zncc``, ``normxcorr2``), ``ccoeff``,
        ``ccorr_normed``, ``ccorr``, ``sqdiff_normed`` or ``sqdiff``: OpenCV's formulas.
    mask : array, keyword-only
        Weights in 0..1 of the template's shape (h×w, or h×w×C per channel), used by
        every method as in OpenCV's documented masked formulas.
    pad_input : bool, keyword-only
        False: scores of shape ``(H-h+1, W-w+1)`` indexed by the window's top-left
        corner (OpenCV).  True: the image's shape, each score at the window's centre
        ``(h//2, w//2)``, the image zero-padded (scikit-image's convention).
    memory_limit : int or None, keyword-only
        Bytes of working memory (default 256 MB) besides the result; the image is then
        matched in tiles with a template-sized halo.  None: no limit.

    Returns
    -------
    float64 array
        ``ccorr_normed`` and ``ccoeff_normed`` in [-1, 1]; ``sqdiff*`` >= 0; 0 where a
        denominator is (numerically) zero.  Best: the largest, the smallest for ``sqdiff*``.
    """
    from imgconv.bands import ArraySource

    img = _as_hwc(image, "image")
    tshape = _as_hwc(template, "template").shape
    if pad_input:
        h, w = tshape[:2]
        img = np.pad(img, ((h // 2, h - 1 - h // 2), (w // 2, w - 1 - w // 2), (0, 0)))
    plan = prepare(ArraySource(img), template, method=method, mask=mask,
                   memory_limit=memory_limit)
    out: Array | None = None
    for y0, band in plan.bands(ArraySource(img)):
        if y0 == 0 and band.shape[0] == plan.out_shape[0]:
            return band
        if out is None:
            out = np.empty(plan.out_shape)
        out[y0:y0 + band.shape[0]] = band
    assert out is not None
    return out


class _Peak(Protocol):
    """What :func:`refine` reads of a match (:class:`imgconv.peaks.Match`): a dataclass."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    @property
    def y(self) -> int: ...
    @property
    def x(self) -> int: ...
    @property
    def y_subpixel(self) -> float: ...
    @property
    def x_subpixel(self) -> float: ...


MatchT = TypeVar("MatchT", bound=_Peak)
REFINE_MARGIN = 3  # image pixels a window needs around it: an offset up to 1, the spline's 2
REFINE_CONTEXT = 8  # pixels read around it where the image has them (the spline's edge)
REFINE_STEPS = (0.25, 0.06, 0.015)  # the search's grid spacings, in pixels
REFINE_BYTES = 64 * 2**20  # about the most a score map of shifted windows may take


def refine(image: npt.ArrayLike | Rows, template: npt.ArrayLike, matches: Sequence[MatchT], *,
           method: str = "ccoeff_normed", mask: npt.ArrayLike | None = None,
           pad_input: bool = False) -> list[MatchT]:
    """``matches`` (:func:`imgconv.find_peaks`' on ``match_template(image, template,
    method=method, mask=mask, pad_input=pad_input)``) with their sub-pixel positions
    refined on the image itself (docs/semantics.md §8): the method's own score of the
    window interpolated (cubic spline) at sub-pixel offsets, maximised — the vertex of
    the quadratic through a 3×3 grid of offsets, on finer and finer grids
    (:data:`REFINE_STEPS`), started at the map's estimate, within ±1 of the integer
    position.  ``y``, ``x`` and ``score`` stay the map's.

    A match keeps its sub-pixel position where :data:`REFINE_MARGIN` pixels around its window
    are not in the image or the search finds no better score.  ``image`` may also be a
    :class:`Rows` source: only the rows around each match are read.
    """
    from imgconv.bands import ArraySource

    tpl = _as_hwc(template, "template")
    source: Rows = image if isinstance(image, Rows) else ArraySource(_as_hwc(image, "image"))
    shape = tuple(source.shape)
    h, w, k = tpl.shape[0], tpl.shape[1], REFINE_CONTEXT
    out = []
    for m in matches:
        y0, x0 = m.y - (h // 2 if pad_input else 0), m.x - (w // 2 if pad_input else 0)
        if min(y0, x0, shape[0] - y0 - h, shape[1] - x0 - w) < REFINE_MARGIN:
            out.append(m)
            continue
        ya, yb = max(y0 - k, 0), min(y0 + h + k, shape[0])
        xa, xb = max(x0 - k, 0), min(x0 + w + k, shape[1])
        region = _as_hwc(source.read(ya, yb), "image")[:, xa:xb].astype(np.float64)
        dy, dx = _best_offset(region, (y0 - ya, x0 - xa), tpl,
                              (m.y_subpixel - m.y, m.x_subpixel - m.x), (method, mask))
        out.append(replace(m, y_subpixel=m.y + dy, x_subpixel=m.x + dx))
    return out


def _best_offset(region: Array, at: tuple[int, int], tpl: npt.NDArray[Any],
                 start: tuple[float, float],
                 how: tuple[str, npt.ArrayLike | None]) -> tuple[float, float]:
    """The offset within ±1 of the window at ``at`` in ``region`` that maximises the
    template's score (``how``: method and mask) against the window shifted by it."""
    from scipy import ndimage as ndi

    h, w = tpl.shape[:2]
    coef = ndi.spline_filter1d(ndi.spline_filter1d(region, 3, axis=0, mode="mirror"), 3,
                               axis=1, mode="mirror")
    lo, hi = region.min(axis=(0, 1)), region.max(axis=(0, 1))
    sign = -1.0 if canonical_method(how[0]) in SMALLER_IS_BETTER else 1.0
    grid = [(i, j) for i in (-1, 0, 1) for j in (-1, 0, 1)]

    per = max(1, REFINE_BYTES // (64 * region[0].size * h))  # windows in one score map

    def goodness(zs: list[Array]) -> Array:  # the windows side by side, score maps
        out = []
        for i in range(0, len(zs), per):
            row = np.concatenate([_shifted(coef, at[0] + z[0], at[1] + z[1], (h, w))
                                  for z in zs[i:i + per]], axis=1)
            np.clip(row, lo, hi, out=row)  # no overshoot: a flat region stays exactly flat
            scores = match_template(row, tpl, method=how[0], mask=how[1], memory_limit=None)
            out.append(sign * scores[0, ::w])
        return np.concatenate(out)

    z0 = z = np.clip(np.array(start, dtype=np.float64), -1.0, 1.0)
    first = goodness([np.zeros(2), z0])
    if not np.isfinite(first).all():
        return float(start[0]), float(start[1])
    for step in REFINE_STEPS:
        for _ in range(4):  # on, while the vertex is at the grid's edge
            zs = [np.clip(z + step * np.array(g), -1.0, 1.0) for g in grid]
            p = goodness(zs).reshape(3, 3)
            move = _vertex3(p) if np.isfinite(p).all() else None
            if move is None:  # no curvature: to the best of the grid, if it is better
                if not np.nanmax(p) > p[1, 1]:
                    break
                z = zs[int(np.nanargmax(p))]
                continue
            z = np.clip(z + step * move, -1.0, 1.0)
            if np.abs(move).max() < 1:
                break
    if not goodness([z])[0] > first.max():
        z = z0 if first[1] >= first[0] else np.zeros(2)
    return float(z[0]), float(z[1])


def _shifted(coef: Array, y: float, x: float, size: tuple[int, int]) -> Array:
    """The ``size`` window of the image whose cubic-spline coefficients are ``coef``,
    starting at the fractional position ``(y, x)``."""
    out = coef
    for axis, pos, n in ((0, y, size[0]), (1, x, size[1])):
        base = int(np.floor(pos))
        t = pos - base
        weights = ((1 - t) ** 3 / 6, (4 - 6 * t * t + 3 * t**3) / 6,
                   (1 + 3 * t + 3 * t * t - 3 * t**3) / 6, t**3 / 6)
        idx = [slice(None)] * 3
        acc = np.zeros(1)
        for j, wt in enumerate(weights):
            idx[axis] = slice(base - 1 + j, base - 1 + j + n)
            acc = acc + wt * out[tuple(idx)]
        out = acc
    return out


def _vertex3(p: Array) -> Array | None:
    """The vertex (in grid steps, within ±1) of the quadratic through a 3×3 grid of
    values (central differences, the cross term from the diagonals); None where it does
    not curve down."""
    gy, gx = (p[2, 1] - p[0, 1]) / 2, (p[1, 2] - p[1, 0]) / 2
    hyy, hxx = p[2, 1] + p[0, 1] - 2 * p[1, 1], p[1, 2] + p[1, 0] - 2 * p[1, 1]
    hxy = (p[2, 2] + p[0, 0] - p[0, 2] - p[2, 0]) / 4
    det = hxx * hyy - hxy * hxy
    if not (hxx < 0 and det > 0):
        return None
    move: Array = np.clip(np.array([hxy * gx - hxx * gy, hxy * gy - hyy * gx]) / det, -1, 1)
    return move

__all__ = ["ALIASES", "DEFAULT_LIMIT", "FLAT", "METHODS", "SMALLER_IS_BETTER", "MatchPlan",
           "Rows", "canonical_method", "match_template", "prepare", "refine"]
