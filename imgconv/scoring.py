"""The scores of template matching, one tile of the image at a time (docs/semantics.md §8).

Every formula of a matching method lives here: the methods' names (:data:`METHODS`,
:data:`ALIASES`, :data:`SMALLER_IS_BETTER`, :func:`canonical_method`), the template's side
(:func:`template_setup`: its kernels and constants, a :class:`Setup`) and the window's
side (:func:`tile_scores`).  :mod:`imgconv.matching` checks the inputs and runs the
bands; this module plans the tiles (:func:`plan_tiles`) and computes each one, every
quantity in double precision:

- cross terms (``sum T·I``) are valid correlations with a kernel made from the template,
  by :class:`imgconv.correlator.Correlator`: FFT by blocks or the engine's spatial
  methods, as the engine's plan decides (:func:`choose_fft`);
- window sums and sums of squares by integral images (``cv2.integral2`` in double),
  or, under a mask, as correlations with its weights (as above);
- the image arrives shifted by the middle of its range (the formulas undo it), which
  keeps the sums small, and exact for integer pixels;
- denominators at most :attr:`Setup.i_flat` (the window's part) or flagged
  :attr:`Setup.t_flat` (the template's) are zero: the score is 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from imgconv.correlator import Correlator, Job, by_fft, fft_blocks
from imgconv.errors import ImgconvError
from imgconv.spelling import did_you_mean
from imgconv.threads import each

Array = npt.NDArray[np.float64]

# bytes of working memory per input pixel of a tile, per channel and for the tile as a
# whole (a float64 copy of a channel, integral images, window sums, the scores; the peak
# tracemalloc sees on a 2048² image: 56 grey, 79 colour, 91-108 grey under a mask)
PER_CHANNEL, PER_TILE, PER_TILE_MASKED = 12, 44, 96


#: OpenCV's ``TemplateMatchModes``, by imgconv's names
METHODS: tuple[str, ...] = ("sqdiff", "sqdiff_normed", "ccorr", "ccorr_normed", "ccoeff",
                            "ccoeff_normed")
#: other names of ``ccoeff_normed``: the zero-mean normalized cross-correlation
ALIASES: dict[str, str] = {"ncc": "ccoeff_normed", "zncc": "ccoeff_normed",
                           "normxcorr2": "ccoeff_normed"}
#: the methods whose best score is the smallest
SMALLER_IS_BETTER: frozenset[str] = frozenset({"sqdiff", "sqdiff_normed"})
#: the range of each method's scores (the others are unbounded)
SCORE_RANGE: dict[str, tuple[float, float]] = {
    "ccoeff_normed": (-1.0, 1.0), "ccorr_normed": (-1.0, 1.0),
    "sqdiff": (0.0, math.inf), "sqdiff_normed": (0.0, math.inf)}
FLAT = 1e-12  # a denominator at most FLAT * n * scale**2 is zero (see the module's text)
EPS = float(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class Tiling:
    """Output rows of a band and output columns of a tile; ``fft``: the DFT size of
    every tile when its cross terms are computed by DFT (None: by the engine)."""

    rows: int
    cols: int
    fft: tuple[int, int] | None = None


@dataclass(frozen=True)
class Setup:
    """The template as matched, with what every tile needs (arrays: one entry a channel)."""

    method: str
    shape: tuple[int, int]  # h, w
    shift: Array  # subtracted from the image, per channel
    cross: tuple[Array, ...]  # the kernel of the cross term, per channel
    offset: float  # added to the summed cross terms (the shift's and template's constants)
    n: Array  # sum of squared weights (h·w without a mask)
    m: Array  # sum of weights
    a0: Array  # the cross kernel's sum when ccoeff's window mean must be subtracted
    weights: tuple[Array, ...] | None  # squared mask weights (None: no mask)
    means: tuple[Array, ...] | None  # mask weights for ccoeff's means, when not 0/1
    t_energy: float  # the template's part of the denominator
    t_flat: bool  # ... is numerically zero
    i_scale2: float  # scale**2 of the image's part of the denominator
    i_flat: float = 0.0  # the image's part at most this is zero (set with the tiling)

    @property
    def family(self) -> str:
        return self.method.removesuffix("_normed")

    @property
    def normed(self) -> bool:
        return self.method.endswith("_normed")


def canonical_method(method: str) -> str:
    """The method's imgconv name: OpenCV's spellings (``TM_CCOEFF_NORMED``) and the
    aliases ``ncc``, ``zncc``, ``normxcorr2`` are accepted; else an error naming
    ``method`` with the closest name."""
    text = str(method).strip().lower().replace("-", "_").removeprefix("cv2.")
    text = ALIASES.get(text.removeprefix("tm_"), text.removeprefix("tm_"))
    if text not in METHODS:
        raise ImgconvError(
            f"{{method}} is not a matching method: use one of {', '.join(METHODS)} "
            f"(ncc, zncc and normxcorr2 are ccoeff_normed)"
            f"{did_you_mean(text, METHODS + tuple(ALIASES))}", values={"method": method})
    return text


def template_setup(method: str, tpl: Array, mask: Array | None, lo: Array, hi: Array,
           integer: bool) -> Setup:
    """The kernels and constants of ``method`` for this template, mask and image range."""
    shift = (lo + hi) / 2
    if integer:
        shift = np.floor(shift)  # integer pixels stay integers: exact integral images
    family = method.removesuffix("_normed")
    wts = np.ones_like(tpl) if mask is None else mask
    w2 = wts * wts
    channels = tpl.shape[2]
    n, m = w2.sum(axis=(0, 1)), wts.sum(axis=(0, 1))
    support = wts > 0
    t_scale = float(np.abs(np.where(support, tpl, 0)).max())
    a0, round_off = np.zeros(channels), 0.0
    if family == "ccoeff":
        dev = tpl - (wts * tpl).sum(axis=(0, 1)) / m
        # the mean's own rounding (an ulp of a large offset: 1e-10 at 1e6) corrected at
        # the deviations' scale: without a mask or under a 0/1 one the kernel then sums
        # to 0 but for round-off, as the formulas assume
        dev -= (wts * dev).sum(axis=(0, 1)) / m
        cross = w2 * dev
        if mask is not None and not np.array_equal(w2, wts):
            a0 = cross.sum(axis=(0, 1))
        t_energy = float((w2 * dev * dev).sum())
        # T's own offset cancels: its scale is measured from its mean, down to what
        # T - mean resolves
        round_off = 16 * EPS * t_scale
        t_scale = float(np.abs(np.where(support, dev, 0)).max())
        offset, i_scale = 0.0, float(np.max(np.maximum(hi - shift, shift - lo)))
    else:
        t_energy = float((w2 * tpl * tpl).sum())
        i_scale = float(np.max(np.maximum(np.abs(lo), np.abs(hi))))
        if family == "ccorr":
            cross = w2 * tpl
            offset = float((shift * cross.sum(axis=(0, 1))).sum())
        else:  # sqdiff: (T - I) = (T - s) - (I - s)
            cross = w2 * (tpl - shift)
            offset = float((cross * (tpl - shift)).sum())
    flat = t_energy <= float(n.sum()) * max(FLAT * t_scale**2, round_off**2)
    means = None
    if mask is not None and family == "ccoeff" and not np.array_equal(w2, wts):
        means = tuple(np.ascontiguousarray(wts[:, :, c]) for c in range(channels))
    return Setup(method, (tpl.shape[0], tpl.shape[1]), shift,
                  tuple(np.ascontiguousarray(cross[:, :, c]) for c in range(channels)),
                  offset, n, m, a0,
                  None if mask is None else tuple(np.ascontiguousarray(w2[:, :, c])
                                                  for c in range(channels)),
                  means, t_energy, flat, i_scale**2)


def tile_bytes(rows_in: int, cols_in: int, channels: int, masked: bool) -> int:
    """Working bytes of one tile of ``rows_in`` × ``cols_in`` input pixels."""
    return rows_in * cols_in * (channels * PER_CHANNEL + (PER_TILE_MASKED if masked
                                                           else PER_TILE))


def plan_tiles(image_shape: tuple[int, int, int], tshape: tuple[int, int],
               memory_limit: int | None, *, row_bytes: int = 0,
               masked: bool = False) -> Tiling:
    """The tiling that keeps a tile's working set (and ``row_bytes`` per output row of a
    band) under ``memory_limit``: the whole image when it fits, else bands of the whole
    width or square tiles, whichever repeats fewer halo pixels; their input sizes are
    5-smooth (fast DFT sizes)."""
    hh, ww, c = image_shape
    h, w = tshape
    ho, wo = hh - h + 1, ww - w + 1

    def cost(rows: int, cols: int) -> int:
        return tile_bytes(rows + h - 1, cols + w - 1, c, masked) + row_bytes * rows

    if memory_limit is None or cost(ho, wo) <= memory_limit:
        return Tiling(ho, wo)
    options = []
    rows = _largest(lambda r: cost(r, wo) <= memory_limit, ho)
    if rows:
        rows = max(_smooth(rows + h - 1) - h + 1, 1)
        options.append(((rows + h - 1) * ww / (rows * wo), Tiling(rows, wo)))
    side = _largest(lambda s: cost(min(s, ho), min(s, wo)) <= memory_limit, max(ho, wo))
    if side:
        rs = max(_smooth(min(side, ho) + h - 1) - h + 1, 1)
        cs = max(_smooth(min(side, wo) + w - 1) - w + 1, 1)
        options.append(((rs + h - 1) * (cs + w - 1) / (rs * cs), Tiling(rs, cs)))
    if not options:
        need = cost(1, 1)
        raise ImgconvError(f"{{memory_limit!s}} is too small to match a "
                           f"{h}x{w} template in this image: use at least "
                           f"{math.ceil(need / 1e6)}MB",
                           values={"memory_limit": f"{memory_limit / 1e6:.0f}MB"})
    return min(options, key=lambda o: o[0])[1]


def _largest(fits: Any, top: int) -> int:
    """The largest ``k`` in 1..top with ``fits(k)`` (``fits`` monotone), or 0."""
    lo, hi = 0, top
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def _smooth(n: int) -> int:
    """The largest 5-smooth number (2^a 3^b 5^c: a fast DFT size) at most ``n`` and at
    least 7/8 of it; else ``n``."""
    for k in range(n, max(1, n * 7 // 8) - 1, -1):
        r = k
        for p in (2, 3, 5):
            while r % p == 0:
                r //= p
        if r == 1:
            return k
    return n


def tile_input(tiling: Tiling, st: Setup, image_shape: tuple[int, ...]) -> tuple[int, int]:
    """Rows and columns of the largest tile's input."""
    h, w = st.shape
    return (min(tiling.rows + h - 1, image_shape[0]), min(tiling.cols + w - 1, image_shape[1]))


def choose_fft(tiling: Tiling, st: Setup, image_shape: tuple[int, int, int]) -> Tiling:
    """FFT (by blocks of :func:`imgconv.correlator.fft_blocks`) or a spatial method for the
    tiles' correlations (:func:`imgconv.correlator.by_fft`)."""
    from imgconv.threads import count

    tile = tile_input(tiling, st, image_shape)
    if not by_fft(tile, st.shape, st.cross[0]):
        return tiling
    return replace(tiling, fft=fft_blocks(tile, st.shape, count()))


def box_sums(a: Array, tshape: tuple[int, int], threads: int = 1) -> tuple[Array, Array]:
    """Sums of ``a`` and of ``a**2`` over every valid ``tshape`` window, by integral images
    in double precision (new arrays); the rows split between ``threads`` threads when
    the template's halo adds at most a quarter to each part."""
    import cv2

    h, w = tshape
    ho, wo = a.shape[0] - h + 1, a.shape[1] - w + 1
    parts = max(1, min(threads, ho // (4 * max(h - 1, 1))))
    if parts == 1:
        sums: Any = cv2.integral2(a, sdepth=cv2.CV_64F, sqdepth=cv2.CV_64F)
        return _corners(sums[0], h, w), _corners(sums[1], h, w)
    s1, s2 = np.empty((ho, wo)), np.empty((ho, wo))
    step = -(-ho // parts)

    def one(y0: int) -> None:
        y1 = min(ho, y0 + step)
        part: Any = cv2.integral2(a[y0:y1 + h - 1], sdepth=cv2.CV_64F, sqdepth=cv2.CV_64F)
        _corners(part[0], h, w, s1[y0:y1])
        _corners(part[1], h, w, s2[y0:y1])

    each(one, range(0, ho, step), parts)
    return s1, s2


def _corners(p: Any, h: int, w: int, out: Array | None = None) -> Array:
    """``p[y+h, x+w] - p[y, x+w] - p[y+h, x] + p[y, x]``: window sums of an integral image
    (rows first, then columns; OpenCV's SIMD subtraction, four times numpy's here), into
    ``out`` (rows of a C-contiguous array) when given."""
    import cv2

    rows: Any = cv2.subtract(p[h:], p[:-h])
    if out is None:
        result: Array = cv2.subtract(rows[:, w:], rows[:, :-w])
        return result
    cv2.subtract(rows[:, w:], rows[:, :-w], dst=out)
    return out


def band_scores(band: npt.NDArray[Any], st: Setup, tiling: Tiling,
                cache: dict[Any, Any]) -> Array:
    """The scores of one band of the image (R×W×C with its halo): tile by tile across;
    with several threads (:func:`imgconv.threads.count`) the rows of each tile are split
    between them when the template's halo adds at most an eighth to the work."""
    from imgconv.threads import count

    h, w = st.shape
    ho, wo = band.shape[0] - h + 1, band.shape[1] - w + 1
    threads = count()
    parts = threads if threads > 1 and (h - 1) * 8 * threads <= ho else 1
    step = -(-ho // parts)
    pieces = [(y0, min(ho, y0 + step), x0, min(wo, x0 + tiling.cols))
              for y0 in range(0, ho, step) for x0 in range(0, wo, tiling.cols)]
    if len(pieces) == 1:
        return tile_scores(band, st, tiling, cache, threads)
    out = np.empty((ho, wo))

    def one(piece: tuple[int, int, int, int]) -> None:
        y0, y1, x0, x1 = piece
        out[y0:y1, x0:x1] = tile_scores(band[y0:y1 + h - 1, x0:x1 + w - 1], st, tiling,
                                        cache, 1 if parts > 1 else threads)

    each(one, pieces, parts)
    return out


def tile_scores(tile: npt.NDArray[Any], st: Setup, tiling: Tiling, cache: dict[Any, Any],
                threads: int = 1) -> Array:
    """The scores of every valid window of one tile (R×Wt×C, in its own dtype); its
    correlations by blocks on ``threads`` threads."""
    rows, cols, channels = tile.shape
    h, w = st.shape
    if st.t_flat and st.normed:  # the template's part of every denominator is zero
        return np.zeros((rows - h + 1, cols - w + 1))
    corr = Correlator(st.shape, tiling.fft, cache, threads)
    windows = st.normed or st.family == "sqdiff" or bool(st.a0.any())
    into: dict[str, Array] = {}
    extra: Array | None = None  # window terms of the numerator
    energy: Array | None = None  # the image's part of the denominator
    for c in range(channels):
        x = np.subtract(tile[:, :, c], st.shift[c], dtype=np.float64)
        corr.run(x, _jobs(st, c, windows), into)
        if windows:
            part, power = _window_terms(x, c, st, into, threads)
            extra = _add(extra, part)
            energy = _add(energy, power)
    num = into["cross"]
    if st.family == "sqdiff":
        num *= -2.0
    if extra is not None:
        num += extra
    if st.offset:
        num += st.offset
    if st.family == "sqdiff":
        np.maximum(num, 0.0, out=num)
    return _normalise(num, energy, st) if st.normed else num


def _jobs(st: Setup, c: int, windows: bool) -> list[Job]:
    """Channel ``c``'s correlations: the cross term, and under a mask the window sums."""
    jobs = [Job("cross", st.cross[c], ("cross", c))]
    if windows and st.weights is not None:
        jobs += [Job("s1", st.weights[c], ("w2", c)), Job("s2", st.weights[c], ("w2", c), True)]
        if st.means is not None:
            jobs.append(Job("s1m", st.means[c], ("m", c)))
    return jobs


def _add(total: Array | None, part: Array | None) -> Array | None:
    if part is None:
        return total
    return part if total is None else np.add(total, part, out=total)


def _window_terms(x: Array, c: int, st: Setup, into: dict[str, Array],
                  threads: int = 1) -> tuple[Array | None, Array | None]:
    """Channel ``c``'s window terms: what the numerator adds, and its part of the
    denominator (clamped at 0); new arrays (the window sums are taken from ``into``)."""
    if st.weights is None:
        s1, s2 = box_sums(x, st.shape, threads)
        s1m = s1
    else:
        s1, s2 = into.pop("s1"), into.pop("s2")
        s1m = into.pop("s1m", s1)
    n, s = float(st.n[c]), float(st.shift[c])
    if st.family == "ccoeff":
        if s1m is s1:  # no mask, or weights 0/1: n is the weights' sum, the kernel sums to 0
            if not st.normed:
                return None, None
            np.multiply(s1, s1, out=s1)  # sum (X - mean)² = S2 - S1²/n
            s1 *= 1.0 / n
            s2 -= s1
            return None, np.maximum(s2, 0.0, out=s2)
        mean = np.divide(s1m, float(st.m[c]), out=s1m)  # the window's weighted mean
        part = mean * -float(st.a0[c]) if st.a0[c] else None
        if not st.normed:
            return part, None
        np.multiply(s1, 2.0, out=s1)  # sum w² (X - mean)² = S2 - mean·(2·S1 - mean·n)
        s1 -= mean * n
        s1 *= mean
        s2 -= s1
        return part, np.maximum(s2, 0.0, out=s2)
    if not st.normed:  # sqdiff: sum w² X²
        return s2, None
    power = s2 if st.family == "ccorr" else s2.copy()  # sum w² I², I = X + s
    s1 *= 2 * s
    power += s1
    power += s * s * n
    np.maximum(power, 0.0, out=power)
    return (s2 if st.family == "sqdiff" else None), power


def _normalise(num: Array, energy: Array | None, st: Setup) -> Array:
    """``num / sqrt(t_energy · energy)``, 0 where the window's part is numerically zero;
    clipped into [-1, 1] but for ``sqdiff_normed``."""
    assert energy is not None
    zero = energy <= st.i_flat
    energy *= st.t_energy
    np.sqrt(energy, out=energy)
    np.divide(num, energy, out=num, where=~zero)
    num[zero] = 0.0
    if st.family != "sqdiff":
        np.clip(num, -1.0, 1.0, out=num)
    return num


__all__ = [
    "ALIASES",
    "EPS",
    "FLAT",
    "METHODS",
    "PER_CHANNEL",
    "PER_TILE",
    "PER_TILE_MASKED",
    "SCORE_RANGE",
    "SMALLER_IS_BETTER",
    "Setup",
    "Tiling",
    "band_scores",
    "box_sums",
    "canonical_method",
    "choose_fft",
    "plan_tiles",
    "template_setup",
    "tile_bytes",
    "tile_input",
    "tile_scores",
]
