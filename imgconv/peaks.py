"""Peaks of a score map: the best matches of a template (docs/semantics.md §8).

A *peak* is a position that no other position within Chebyshev distance ``min_distance``
beats — by a better score, or by an equal score earlier in row-major order (so a plateau
gives one peak, its first position).  Two peaks are therefore always more than
``min_distance`` apart; ``min_distance=0`` makes every position a peak.  Peaks are
returned best first (the largest score; the smallest for ``sqdiff*``), ties by row then
column, at most ``top`` of them, those failing ``min_score`` (a maximum for ``sqdiff*``)
left out.  Each carries a sub-pixel position: the vertex of the quadratic surface fitted
(least squares) to the peak's 3×3 neighbourhood, clamped to ±1 — with its cross term, so
a peak that is a ridge at an angle (an edge at an angle in the image) is not pulled along
the axes; where that surface does not curve down in every direction, or at the map's
border, a parabola through the peak and its two neighbours along each axis (clamped to
±0.5), and the integer position along an axis at the border or where even that does not
curve down.  :func:`imgconv.matching.refine` refines that position on the image itself
(the command line always does): a 3×3 quadratic misplaces a peak far sharper across one
direction than along the other by up to half a pixel.

The rule only looks ``min_distance`` rows around a position, so :class:`PeakFinder`
takes a map band by band (the command line streams maps larger than memory) and gives
exactly what one call on the whole map gives.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from imgconv.errors import ImgconvError

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Match:
    """One match: the window's top-left corner ``(y, x)`` in the score map (its centre
    with ``pad_input=True``), its ``score``, and the sub-pixel position."""

    y: int
    x: int
    score: float
    y_subpixel: float
    x_subpixel: float


def _smaller_is_better(method: str) -> bool:
    from imgconv.scoring import SMALLER_IS_BETTER, canonical_method

    return canonical_method(method) in SMALLER_IS_BETTER


def _check_reachable(min_score: float, method: str) -> None:
    """Refuse a ``min_score`` outside ``method``'s range (:data:`~imgconv.scoring.SCORE_RANGE`:
    -1..1 for ``ccoeff_normed`` and ``ccorr_normed``, >= 0 for ``sqdiff*``)."""
    from imgconv.scoring import SCORE_RANGE, canonical_method

    method = canonical_method(method)
    lo, hi = SCORE_RANGE.get(method, (-np.inf, np.inf))
    values = {"min_score": min_score, "method": method}
    if hi < np.inf and not lo <= min_score <= hi:
        what = ("no window can reach it" if min_score > hi else
                "every window passes it (leave it out to keep them all)")
        raise ImgconvError(f"{{min_score:g}} is outside {lo:g}..{hi:g}, the range of "
                           f"{{method!s}} scores: {what}", values=values)
    if min_score < lo:
        raise ImgconvError(f"{{min_score:g}} is below {lo:g}, and {{method!s}} scores are at "
                           "least 0 (0: identical; for sqdiff* --min-score is a maximum): no "
                           "window can reach it", values=values)


class PeakFinder:
    """Peaks of a map of ``width`` columns fed band by band, in order (:meth:`feed`),
    then :meth:`finish`.  The rows fed are kept (not copied) until decided, and decided
    :data:`CHUNK` rows and :data:`STRIP` columns at a time, so the working memory stays
    small whatever the band."""

    CHUNK = 128  # rows decided at a time
    STRIP = 2048  # columns at a time

    def __init__(self, width: int, *, top: int | None = 1, min_score: float | None = None,
                 min_distance: int | None = None, method: str = "ccoeff_normed"):
        if top is not None and (isinstance(top, bool) or int(top) != top or top < 1):
            raise ImgconvError("{top} must be a whole number of at least 1",
                               values={"top": top})
        dist = 1 if min_distance is None else min_distance
        if isinstance(dist, bool) or int(dist) != dist or dist < 0:
            raise ImgconvError("{min_distance} must be a whole number of at "
                               "least 0", values={"min_distance": min_distance})
        if min_score is not None and not np.isfinite(float(min_score)):
            raise ImgconvError("{min_score} must be a finite number",
                               values={"min_score": min_score})
        if min_score is not None:
            _check_reachable(float(min_score), method)
        self.sign = -1.0 if _smaller_is_better(method) else 1.0
        self.width, self.top, self.r = int(width), None if top is None else int(top), int(dist)
        self.floor = -np.inf if min_score is None else self.sign * float(min_score)
        self.context = max(self.r, 1)  # rows and columns looked at around a position
        self.parts: list[tuple[int, Array]] = []  # (first map row, goodness = sign·score)
        self.total = 0  # map rows fed
        self.done = 0  # map rows decided
        self.found = np.empty((0, 5))  # (goodness, y, x, dy, dx) of the best peaks so far

    def feed(self, scores: npt.ArrayLike) -> None:
        """The next rows of the map."""
        rows = np.asarray(scores, dtype=np.float64)
        if rows.ndim != 2 or rows.shape[1] != self.width:
            raise ImgconvError(f"scores must be rows of {self.width} values, got shape "
                               f"{rows.shape}", param="scores")
        good = rows if self.sign > 0 else -rows
        if np.isnan(good).any():
            good = np.where(np.isnan(good), -np.inf, good)
        self.parts.append((self.total, good))
        self.total += good.shape[0]
        self._decide(self.total - self.context, last=False)

    def finish(self) -> list[Match]:
        """The peaks of the whole map, best first."""
        self._decide(self.total, last=True)
        return [Match(int(y), int(x), float(self.sign * g), float(y + dy), float(x + dx))
                for g, y, x, dy, dx in self.found]

    def _rows(self, lo: int, hi: int) -> Array:
        """Map rows ``lo..hi`` (a view when one band holds them)."""
        pieces = [a[max(lo - y0, 0):hi - y0] for y0, a in self.parts
                  if y0 < hi and y0 + a.shape[0] > lo]
        return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)

    def _decide(self, end: int, *, last: bool) -> None:
        """Decide rows ``done..end``: every row they look at is fed, or off the map."""
        while self.done < end:
            b = min(end, self.done + self.CHUNK)
            lo = max(self.done - self.context, 0)
            hi = self.total if last else min(self.total, b + self.context)
            chunk = self._rows(lo, hi)
            for x0 in range(0, self.width, self.STRIP):
                c0, c1 = max(x0 - self.context, 0), min(x0 + self.STRIP + self.context,
                                                        self.width)
                sub = chunk[:, c0:c1]
                ys, xs = _peaks(sub, (self.done - lo, b - lo),
                                (x0 - c0, min(x0 + self.STRIP, self.width) - c0), self.r,
                                self._floor())
                if ys.size:
                    dy, dx = _subpixel(sub, ys, xs)
                    part = np.stack([sub[ys, xs], ys + lo, xs + c0, dy, dx], axis=1)
                    self.found = self._best(np.concatenate([self.found, part]))
            self.done = b
        keep_from = self.done - self.context
        self.parts = [(y0, a) for y0, a in self.parts if y0 + a.shape[0] > keep_from]

    def _floor(self) -> float:
        """The least goodness that can still make the list: ``min_score``'s, or, once
        ``top`` peaks are kept, the worst of them (an equal one may still come first)."""
        if self.top is not None and len(self.found) >= self.top:
            return max(self.floor, float(self.found[-1, 0]))
        return self.floor

    def _best(self, table: Array) -> Array:
        """The rows of ``table`` best first (goodness, then row, then column), ``top`` kept."""
        order = np.lexsort((table[:, 2], table[:, 1], -table[:, 0]))
        return table[order[:self.top] if self.top is not None else order]


SPARSE = 256  # candidates up to this many are checked one by one, not by filtering


def _peaks(g: Array, rows: tuple[int, int], cols: tuple[int, int], r: int,
           floor: float) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Rows and columns (in ``g``) of the peaks among ``rows`` and ``cols`` of ``g``, whose
    neighbours within ``r`` (as far as the map has them) are all in ``g``."""
    a, b = rows
    mid = g[a:b]
    ok = np.zeros(mid.shape, dtype=bool)
    part = mid[:, cols[0]:cols[1]]
    ok[:, cols[0]:cols[1]] = np.isfinite(part) & (part >= floor)
    if r > 0:
        count = int(np.count_nonzero(ok))
        if 0 < count <= SPARSE:
            ys, xs = np.nonzero(ok)
            keep = [_beats_all(g, int(y) + a, int(x), r) for y, x in zip(ys, xs, strict=True)]
            return ys[keep] + a, xs[keep]
        if count:
            ok &= _local_best(g, a, b, r)
    ys, xs = np.nonzero(ok)
    return ys + a, xs


def _beats_all(g: Array, y: int, x: int, r: int) -> bool:
    """No position within ``r`` of ``(y, x)`` beats it (larger, or equal and earlier)."""
    v = g[y, x]
    box = g[max(y - r, 0):y + r + 1, max(x - r, 0):x + r + 1]
    if box.max() > v:
        return False
    above = g[max(y - r, 0):y, max(x - r, 0):x + r + 1]
    left = g[y, max(x - r, 0):x]
    return not ((above.size and above.max() >= v) or (left.size and left.max() >= v))


def _local_best(g: Array, a: int, b: int, r: int) -> npt.NDArray[np.bool_]:
    """Rows ``a..b`` of ``g``: where no position within ``r`` beats it, by separable
    maximum filters (the full window; the rows above and the columns to the left)."""
    from scipy.ndimage import maximum_filter1d

    def trailing(v: Array, size: int, axis: int) -> Array:  # max of v[i-size+1 .. i]
        out: Array = maximum_filter1d(v, size, axis=axis, mode="constant", cval=-np.inf,
                                      origin=(size - 1) // 2)
        return out

    mid = g[a:b]
    near = g[max(a - r, 0):b + r]  # the rows the decided ones look at
    top = a - max(a - r, 0)
    across = maximum_filter1d(near, 2 * r + 1, axis=1, mode="constant", cval=-np.inf)
    full = maximum_filter1d(across, 2 * r + 1, axis=0, mode="constant", cval=-np.inf)
    ok = mid >= full[top:top + b - a]
    above = trailing(across, r, 0)  # rows y-r+1 .. y: shifted down one, y-r .. y-1
    ok &= mid > (above[top - 1:top - 1 + b - a] if top else np.vstack(
        [np.full((1, g.shape[1]), -np.inf), above[:b - a - 1]]))
    left = np.full_like(mid, -np.inf)  # row y, columns x-r .. x-1
    left[:, 1:] = trailing(mid, r, 1)[:, :-1]
    ok &= mid > left
    result: npt.NDArray[np.bool_] = ok
    return result


def _subpixel(g: Array, ys: npt.NDArray[np.intp],
              xs: npt.NDArray[np.intp]) -> tuple[Array, Array]:
    """Vertex offsets of the quadratic fitted to each peak's 3×3 neighbourhood (least
    squares, with its cross term: a ridge at an angle does not pull the vertex along the
    axes), clamped to ±1; where the fit does not curve down in every direction, or the
    peak is on the map's border, a parabola through the peak and its two neighbours
    along each axis (0 at the border, where those do not curve down, or a neighbour is
    not finite).  ``g`` holds a row above and below each peak unless it is the map's
    first or last."""
    h, w = g.shape
    dx = _vertex(g, ys, xs, 0, 1, (xs > 0) & (xs < w - 1))
    dy = _vertex(g, ys, xs, 1, 0, (ys > 0) & (ys < h - 1))
    inside = (xs > 0) & (xs < w - 1) & (ys > 0) & (ys < h - 1)
    if inside.any():
        y, x = ys[inside], xs[inside]
        p = np.stack([g[y + i, x + j] for i in (-1, 0, 1) for j in (-1, 0, 1)])
        p = p.reshape(3, 3, -1)  # p[1 + dy, 1 + dx, peak]
        cols, rows = p.sum(axis=0), p.sum(axis=1)  # sums of each column / row
        gx, gy = (cols[2] - cols[0]) / 6, (rows[2] - rows[0]) / 6
        hxx = (cols[0] + cols[2] - 2 * cols[1]) / 3
        hyy = (rows[0] + rows[2] - 2 * rows[1]) / 3
        hxy = (p[2, 2] + p[0, 0] - p[0, 2] - p[2, 0]) / 4
        det = hxx * hyy - hxy * hxy
        good = np.isfinite(det) & (hxx < 0) & (det > 0)
        if good.any():
            d = np.where(good, det, 1.0)
            fy = np.clip((hxy * gx - hxx * gy) / d, -1.0, 1.0)
            fx = np.clip((hxy * gy - hyy * gx) / d, -1.0, 1.0)
            idx = np.flatnonzero(inside)[good]
            dy[idx], dx[idx] = fy[good], fx[good]
    return dy, dx


def _vertex(g: Array, ys: npt.NDArray[np.intp], xs: npt.NDArray[np.intp], sy: int, sx: int,
            inside: npt.NDArray[np.bool_]) -> Array:
    out = np.zeros(ys.shape)
    if not inside.any():
        return out
    y, x = ys[inside], xs[inside]
    before, centre, after = g[y - sy, x - sx], g[y, x], g[y + sy, x + sx]
    curve = before - 2 * centre + after
    good = np.isfinite(curve) & (curve < 0)
    off = np.zeros(y.shape)
    off[good] = np.clip((before[good] - after[good]) / (2 * curve[good]), -0.5, 0.5)
    out[inside] = off
    return out


def find_peaks(scores: npt.ArrayLike, *, top: int | None = 1, min_score: float | None = None,
               min_distance: int | None = None, method: str = "ccoeff_normed") -> list[Match]:
    """The best matches in a score map (:func:`imgconv.match_template`'s), best first.

    Parameters
    ----------
    scores : 2-D array
    top : int or None, keyword-only
        At most this many (default 1); None: every peak.
    min_score : float, keyword-only
        Leave out matches worse than this: scores below it, above it for ``sqdiff*``.
    min_distance : int, keyword-only
        Non-maximum suppression radius (Chebyshev distance, default 1): a peak is a
        position no other within this distance beats (see :mod:`imgconv.peaks`).
    method : str, keyword-only
        The method that made ``scores``: ``sqdiff*`` want the smallest.

    Returns
    -------
    list of Match
    """
    arr = np.asarray(scores, dtype=np.float64)
    if arr.ndim != 2 or arr.size == 0:
        raise ImgconvError(f"scores must be a non-empty 2-D array, got shape {arr.shape}",
                           param="scores")
    finder = PeakFinder(arr.shape[1], top=top, min_score=min_score, min_distance=min_distance,
                        method=method)
    finder.feed(arr)
    return finder.finish()


__all__ = ["Match", "PeakFinder", "find_peaks"]
