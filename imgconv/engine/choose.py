"""The ``auto`` method: pick the cheapest exact method by a cost model.

Costs are nanoseconds per output sample on one 2-core x86-64 machine, measured with
``benchmarks/bench.py`` on 2048×2048 float32 (OpenCV 4/5 ``filter2D`` spatial path,
``sepFilter2D``, OpenCV's DFT filter / scipy.fft).  Every method computes the same
thing (docs/semantics.md §1), so the choice changes speed only; the model only has to
rank them.

One model for every backend, here rather than a cost row per backend: ``auto`` picks
*what method* before the plan picks *which backend* runs it, and the backend of a method
depends on the method (OpenCV runs ``fft`` only from its DFT size, scipy.fft below), so
the rows above are those of the method as the preferred CPU backends run it.  The numpy
backend is a fallback (more than 512 channels, no cv2) and a choice tuned to it would
change results' bits, not only speed.
"""

from __future__ import annotations

import math

import numpy as np

from imgconv.engine.backends.opencv import dft_threshold

RANK_SIDE_LIMIT = 256  # do not pay an SVD for larger kernels just to test separability
MAX_TERMS = 8  # lowrank: at most this many separable passes


def lowrank_applies(rank: int | None, kshape: tuple[int, int]) -> bool:
    """``lowrank`` applies to a kernel of numerical rank 2..8 whose r separable passes
    touch fewer taps than the kernel has: ``r·(kh + kw) < kh·kw`` (docs/semantics.md §1)."""
    kh, kw = kshape
    return rank is not None and 2 <= rank <= MAX_TERMS and rank * (kh + kw) < kh * kw


def costs(
    out_shape: tuple[int, int],
    padded_shape: tuple[int, int],
    kshape: tuple[int, int],
    channels: int,
    rank: int | None,
    dtype: np.dtype[np.floating] | type[np.floating] = np.float32,
) -> dict[str, float]:
    """Estimated nanoseconds of each applicable method (``rank``: the kernel's at the
    working precision; None: not computed, so no separable method is offered)."""
    dt = np.dtype(dtype)
    double = dt == np.float64
    ho, wo = out_shape
    hp, wp = padded_shape
    kh, kw = kshape
    taps = kh * kw
    n_out = ho * wo * channels
    spatial = dft_threshold(dt)  # OpenCV's filter2D goes DFT from here
    # filter2D spatial: one call below its DFT size, else blocks of at most 11x11 (7x7 in
    # double) whose partial sums are added: a cost per block plus a cost per tap
    if taps < spatial:
        per_sample = 0.36 + 0.013 * taps
    else:
        side = 7 if double else 11
        blocks = math.ceil(kh / side) * math.ceil(kw / side)
        per_sample = 1.2 * blocks + 0.009 * taps
    result = {"direct": n_out * per_sample * (3.0 if double else 1.0)}
    separable = n_out * (0.25 + 0.025 * (kh + kw)) * (2.0 if double else 1.0)
    if rank == 1 and taps > 1:
        result["separable"] = separable
    if lowrank_applies(rank, kshape):
        assert rank is not None
        # r separable passes, and r - 1 sums of the passes (memory-bound)
        result["lowrank"] = rank * separable + (rank - 1) * n_out * (0.4 if double else 0.3)
    n_fft = max(hp * wp, 2)
    result["fft"] = (n_fft * channels * 0.4 * math.log2(n_fft) * (2.0 if double else 1.0)
                     + 2e4)  # plus a fixed cost of planning and small transforms
    return result


def choose(
    out_shape: tuple[int, int],
    padded_shape: tuple[int, int],
    kshape: tuple[int, int],
    channels: int,
    dtype: np.dtype[np.floating] | type[np.floating] = np.float32,
    rank: int | None = None,
) -> str:
    """The method ``auto`` resolves to for this problem (``rank``: the kernel's at the
    working precision, None when it was not computed)."""
    c = costs(out_shape, padded_shape, kshape, channels, rank, dtype)
    return min(c, key=lambda m: c[m])
