"""The ``auto`` method: the fastest exact method here, by a cost model measured here.

Every method computes the same thing (docs/semantics.md §1), so the choice changes speed
only.  ``auto`` estimates the time of each method that applies, *as the backend that
would run it runs it* — the plan says which backend and whether by its own ``same``
path (:data:`Route`) — with constants measured on this machine
(:mod:`imgconv.engine.calibrate`), and takes the cheapest:

- ``direct`` — OpenCV's spatial ``filter2D``: a fixed cost per call plus, per output
  sample, ``direct0 + direct_tap·taps``; kernels of :func:`dft_threshold` taps or more
  run as blocks of at most 11×11 (7×7 in double), one call a block (``block`` more a
  sample than its taps say), their partial sums added; an image the backend cannot
  extend itself is extended first (``pad``).
- ``separable`` — ``sepFilter2D``: ``sep0 + sep_tap·(kh·s_col + kw·s_row)`` a sample,
  where a factor exactly equal to its own mirror image (or its negative), with the anchor
  at its centre, costs ``sep_sym`` of the others (OpenCV halves its multiplications), and
  ``sep_long`` more a tap past ``kh + kw = 62`` (measured on a 101×101).
- ``lowrank`` — one separable pass a term, and an added pass a term after the first.
- ``fft`` — OpenCV's DFT filter works in tiles (:func:`dft_tiles`): a cost per sample of
  the tiles, measured for small (256²) and large (576²) transforms and interpolated in
  between; scipy.fft (the numpy backend: periodic modes, kernels under OpenCV's DFT
  size) a cost per ``N·log2 N``.
- the numpy backend's sums (no OpenCV, more than 512 channels): two passes a tap.

Tiny work is never ranked: ``direct`` computes it (:data:`TINY_WORK`), exactly where the
data are integers, and without measuring anything.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from imgconv.engine.backends.opencv import dft_threshold
from imgconv.engine.calibrate import SIDE, Costs, FftCosts, dft_tiles, fft_costs, optimal_dft_size
from imgconv.engine.calibrate import costs as measured_costs
from imgconv.kernels import Kernel

RANK_SIDE_LIMIT = 256  # do not pay an SVD for larger kernels just to test separability
MAX_TERMS = 8  # lowrank: at most this many separable passes
#: output samples × taps up to which ``direct`` is taken without ranking (a 64×64 image
#: and an 8×8 kernel): tens of microseconds whichever method, and ``direct`` is exact
#: where the data are integers (an SVD's passes or an FFT are not)
TINY_WORK = 64 * 64 * 8 * 8
_LOG_SMALL = dft_tiles((SIDE, SIDE), (15, 15))[2]  # the tiles the two DFT constants measured
_LOG_LARGE = dft_tiles((SIDE, SIDE), (101, 101))[2]


@dataclass(frozen=True)
class Route:
    """How a method would run: the backend's name, and whether by its own ``same`` path."""

    backend: str
    native: bool


@dataclass(frozen=True)
class Problem:
    """One valid correlation: its output, the extended image it reads, the kernel's shape,
    the channels and the working dtype; the kernel itself when known (its rank, factors
    and terms then count), else its ``rank`` when known."""

    out_shape: tuple[int, int]
    padded_shape: tuple[int, int]
    kshape: tuple[int, int]
    channels: int
    dtype: np.dtype[np.floating]
    kernel: Kernel | None = None
    rank: int | None = None

    @property
    def samples(self) -> int:
        return self.out_shape[0] * self.out_shape[1] * self.channels

    @property
    def work(self) -> int:
        """Multiply-adds of the spatial sum."""
        return self.samples * self.kshape[0] * self.kshape[1]


def lowrank_applies(rank: int | None, kshape: tuple[int, int]) -> bool:
    """``lowrank`` applies to a kernel of numerical rank 2..8 whose r separable passes
    touch fewer taps than the kernel has: ``r·(kh + kw) < kh·kw`` (docs/semantics.md §1)."""
    kh, kw = kshape
    return rank is not None and 2 <= rank <= MAX_TERMS and rank * (kh + kw) < kh * kw


def rank_of(problem: Problem) -> int | None:
    """The kernel's rank at the working precision: computed (once per kernel) for kernels
    of at most :data:`RANK_SIDE_LIMIT` a side, else None; or the problem's own."""
    k = problem.kernel
    if k is None:
        return problem.rank
    kh, kw = k.shape
    if max(kh, kw) > RANK_SIDE_LIMIT or kh * kw == 1:
        return None
    return k.rank_at(problem.dtype)


def pick(problem: Problem, route: Callable[[str], Route], c: Costs | None = None,
         f: FftCosts | None = None) -> str:
    """The method ``auto`` resolves to: ``direct`` for tiny work, else the cheapest by
    :func:`costs` (``route(method)``: how the plan would run it; ``c`` and ``f``: the
    constants, measured on this machine when not given)."""
    if problem.work <= TINY_WORK:
        return "direct"
    estimated = costs(problem, route, c, f)
    return min(estimated, key=lambda m: estimated[m])


def choose(
    out_shape: tuple[int, int],
    padded_shape: tuple[int, int],
    kshape: tuple[int, int],
    channels: int,
    dtype: np.dtype[np.floating] | type[np.floating] = np.float32,
    rank: int | None = None,
) -> str:
    """:func:`pick` for a valid correlation of a padded image known by its shapes alone
    (``rank``: the kernel's at the working precision, None when it was not computed):
    run by the first backend that can (:func:`imgconv.engine.backends.first_usable`)."""
    from imgconv.engine.backends import first_usable

    dt = np.dtype(dtype)
    problem = Problem(out_shape, padded_shape, kshape, channels, dt, rank=rank)
    probe = Kernel(np.ones(kshape), name="shape")

    def route(m: str) -> Route:
        return Route(first_usable((*padded_shape, channels), dt, probe, m).name, False)

    return pick(problem, route)


def costs(problem: Problem, route: Callable[[str], Route], c: Costs | None = None,
          f: FftCosts | None = None) -> dict[str, float]:
    """Estimated nanoseconds of each method that applies (``direct`` first: it wins ties;
    ``c``, ``f``: OpenCV's and scipy.fft's constants, measured here when not given)."""
    p = problem
    c = c if c is not None else measured_costs(p.dtype)

    def fft() -> FftCosts:
        return f if f is not None else fft_costs(p.dtype)

    rank = rank_of(p)
    out = {"direct": _direct(p, route("direct"), c), "fft": _fft(p, route("fft"), c, fft)}
    if rank == 1 and p.kshape[0] * p.kshape[1] > 1:
        how = route("separable")
        out["separable"] = _passes(p, 1, how, c) + _extension(p, how, c)
    elif lowrank_applies(rank, p.kshape):
        assert rank is not None
        how = route("lowrank")
        out["lowrank"] = (_passes(p, rank, how, c) + (rank - 1) * p.samples * c.add
                          + _extension(p, how, c))
    return out


def _passes(p: Problem, count: int, how: Route, c: Costs) -> float:
    """``count`` separable passes: the kernel's own factors or terms when it is known."""
    if p.kernel is None:
        return count * _pass(p, None, how, c)
    if count == 1:
        return _pass(p, _leading(p.kernel), how, c)
    return sum(_pass(p, t, how, c) for t in p.kernel.terms(count))


def _leading(kernel: Kernel) -> Kernel:
    """The kernel a separable pass runs (as the engine picks it)."""
    return kernel if kernel.rank == 1 else kernel.terms(1)[0]


def _extension(p: Problem, how: Route, c: Costs) -> float:
    """Extending the image by the boundary mode, and the copy of the valid part, when the
    backend does not extend it itself."""
    if how.native:
        return 0.0
    hp, wp = p.padded_shape
    return c.call_pad + hp * wp * p.channels * c.pad + p.samples * c.add


def _direct(p: Problem, how: Route, c: Costs) -> float:
    kh, kw = p.kshape
    taps = kh * kw
    if how.backend != "opencv":  # numpy: a multiply and an add a tap
        return _extension(p, how, c) + 2 * taps * p.samples * c.add
    if taps < dft_threshold(p.dtype):
        return _extension(p, how, c) + c.call + p.samples * (c.direct0 + c.direct_tap * taps)
    side = 7 if p.dtype == np.float64 else 11  # blocks below OpenCV's DFT size, summed:
    blocks = -(-kh // side) * -(-kw // side)  # their taps are the kernel's
    return (_extension(p, Route(how.backend, False), c) + blocks * c.call
            + p.samples * (blocks * (c.direct0 + c.add + c.block) + c.direct_tap * taps))


def _pass(p: Problem, term: Kernel | None, how: Route, c: Costs) -> float:
    """One separable pass of the rank-1 ``term`` (None: factors taken as asymmetric)."""
    kh, kw = p.kshape
    if how.backend != "opencv":
        return 2 * (kh + kw) * p.samples * c.add
    s_col, s_row = (_symmetry(term, p.dtype) if how.native and term is not None
                    else (False, False))
    taps = kh * (c.sep_sym if s_col else 1.0) + kw * (c.sep_sym if s_row else 1.0)
    return c.call + p.samples * (c.sep0 + c.sep_tap * taps + c.sep_long * max(kh + kw - 62, 0))


def _symmetry(term: Kernel, dtype: np.dtype[np.floating]) -> tuple[bool, bool]:
    """Whether OpenCV runs each factor of ``term`` as symmetric: centred anchor, and the
    factor in the working dtype equal to its mirror image or to its negative."""
    col, row = term.factors()
    cy, cx = term.center

    def sym(v: np.ndarray[tuple[int], np.dtype[np.float64]], anchor: int) -> bool:
        w = v.astype(dtype)
        return 2 * anchor + 1 == w.size and bool(
            np.array_equal(w, w[::-1]) or np.array_equal(w, -w[::-1]))

    return sym(col, cy), sym(row, cx)


def _fft(p: Problem, how: Route, c: Costs, fft: Callable[[], FftCosts]) -> float:
    channels = p.channels
    if how.backend == "opencv":
        corr = p.out_shape if how.native else p.padded_shape
        tiles, area, log_dft = dft_tiles(corr, p.kshape)
        return (_extension(p, how, c) + c.call_dft
                + tiles * area * channels * _dft_per_sample(log_dft, c))
    if how.native:  # the circular FFT at the image's size
        h, w = p.out_shape
    else:
        h, w = (optimal_dft_size(n) for n in p.padded_shape)
    n = max(h * w, 2)
    f = fft()  # scipy.fft's constants: measured only when a route needs them
    return _extension(p, how, c) + f.call_fft + f.fft * n * math.log2(n) * channels


def _dft_per_sample(log_dft: float, c: Costs) -> float:
    """OpenCV's DFT filter per sample of its tiles, between the two measured tile sizes."""
    t = min(max((log_dft - _LOG_SMALL) / (_LOG_LARGE - _LOG_SMALL), 0.0), 1.0)
    return c.dft_small + t * (c.dft_large - c.dft_small)
