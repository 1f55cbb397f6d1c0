"""Valid correlations of one tile with a template's kernels, for template matching.

The cross terms of :mod:`imgconv.scoring` (``sum T·I`` over every window) are valid
correlations with kernels as large as the template.  When the engine's plan chooses FFT
for them (:func:`by_fft`; a template over :data:`FFT_TAPS` taps always), they run here on
OpenCV's DFT by overlap-save blocks: each block of the tile is transformed once for every
kernel it meets, multiplied with the kernel's spectrum (``mulSpectrums``, conjugated: a
correlation), and only the block's valid rows are transformed back.  The block size
(:func:`fft_blocks`) minimises the estimated time: ``D² log D`` and a fixed cost a block
(a transform of more than 768² values costs about twice as much per value: it leaves the
cache), the blocks shared by :func:`imgconv.threads.count` threads (OpenCV releases the
GIL), plus the kernel's spectrum; so a small template is correlated by many small
transforms, a large one by as few as keep the threads busy.  Otherwise, by
:func:`imgconv.engine.correlate` (``size='valid'``, ``precision='double'``,
``method='auto'``).  Everything in double precision.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from imgconv.threads import each

Array = npt.NDArray[np.float64]

CACHE_SIDE = 768  # transforms larger than CACHE_SIDE² values leave the cache
BLOCK_COST = 2e5  # the calls a block makes, in the units of D² log D (about a 128² DFT)
#: templates of more taps than this go by FFT without asking the engine (a spatial sum
#: would cost hundreds of times more, and the plan would first pay an SVD of the template)
FFT_TAPS = 32 * 32


@dataclass(frozen=True)
class Job:
    """One correlation of a tile: ``name`` of its result, the ``kernel``, the ``key`` its
    spectrum is cached under, and whether the tile's squares are correlated."""

    name: str
    kernel: Array
    key: Any
    squared: bool = False


def _ladder(lo: int, hi: int) -> list[int]:
    """DFT sizes from ``lo`` to ``hi``: four 5-smooth numbers an octave (1, 1.25, 1.5,
    1.875 times a power of two), and ``hi`` itself."""
    out = {hi}
    p = 1
    while p <= hi:
        for k in (8, 10, 12, 15):
            d = p * k // 8 if p >= 8 else 0
            if lo <= d <= hi:
                out.add(d)
        p *= 2
    return sorted(out)


def fft_blocks(tile: tuple[int, int], tshape: tuple[int, int],
               threads: int = 1) -> tuple[int, int]:
    """The DFT size of the blocks that correlate a ``tile`` (rows, columns of its input)
    with a ``tshape`` kernel: the least estimated time, the blocks shared by ``threads``
    (and the kernel's own spectrum at that size)."""
    import cv2

    rows, cols = tile
    h, w = tshape
    ho, wo = rows - h + 1, cols - w + 1
    top_r, top_c = cv2.getOptimalDFTSize(rows), cv2.getOptimalDFTSize(cols)

    def cost(dh: int, dw: int) -> float:
        blocks = math.ceil(ho / (dh - h + 1)) * math.ceil(wo / (dw - w + 1))
        one = dh * dw * math.log2(dh * dw) * (2.0 if dh * dw > CACHE_SIDE**2 else 1.0)
        return math.ceil(blocks / max(threads, 1)) * (one + BLOCK_COST) + one / 2

    return min(((dh, dw) for dh in _ladder(min(2 * h, top_r), top_r)
                for dw in _ladder(min(2 * w, top_c), top_c)), key=lambda d: cost(*d))


class Correlator:
    """Valid correlations of the tiles of one matching (``blocks``: the DFT size, None:
    by the engine); kernel spectra and the engine's kernels are kept in ``cache`` for
    the next tiles."""

    def __init__(self, tshape: tuple[int, int], blocks: tuple[int, int] | None,
                 cache: dict[Any, Any], threads: int = 1):
        self.tshape, self.blocks, self.cache, self.threads = tshape, blocks, cache, threads

    def run(self, x: Array, jobs: Sequence[Job], into: dict[str, Array]) -> dict[str, Array]:
        """Correlate the tile ``x`` (R×Wt) as ``jobs`` say; each result is added to
        ``into[job.name]`` when it is there, else stored there.  Returns ``into``."""
        if self.blocks is None:
            for job in jobs:
                r = self._engine(x * x if job.squared else x, job)
                if job.name in into:
                    into[job.name] += r
                else:
                    into[job.name] = r
            return into
        h, w = self.tshape
        ho, wo = x.shape[0] - h + 1, x.shape[1] - w + 1
        fresh = {job.name for job in jobs if job.name not in into}
        for name in fresh:
            into[name] = np.empty((ho, wo))
        bh, bw = self.blocks[0] - h + 1, self.blocks[1] - w + 1
        spots = [(y, x0) for y in range(0, ho, bh) for x0 in range(0, wo, bw)]
        spectra = [self._spectrum(job) for job in jobs]

        def one(spot: tuple[int, int]) -> None:
            self._block(x, spot, jobs, spectra, into, fresh)

        each(one, spots, self.threads)
        return into

    def _block(self, x: Array, spot: tuple[int, int], jobs: Sequence[Job], spectra: list[Any],
               into: dict[str, Array], fresh: set[str]) -> None:
        """One block: its spectrum (and its squares'), a product and an inverse a job."""
        import cv2

        assert self.blocks is not None
        h, w = self.tshape
        dh, dw = self.blocks
        y0, x0 = spot
        y1, x1 = min(into[jobs[0].name].shape[0], y0 + dh - h + 1), min(
            into[jobs[0].name].shape[1], x0 + dw - w + 1)
        piece = x[y0:y1 + h - 1, x0:x1 + w - 1]
        spec: dict[bool, Any] = {}
        for job, ks in zip(jobs, spectra, strict=True):
            if job.squared not in spec:
                src: Any = piece * piece if job.squared else piece
                if src.shape != (dh, dw):  # the last blocks: zeros beyond the tile
                    src = cv2.copyMakeBorder(src, 0, dh - src.shape[0], 0, dw - src.shape[1],
                                             cv2.BORDER_CONSTANT, value=0)
                spec[job.squared] = cv2.dft(src, nonzeroRows=piece.shape[0])
            prod = cv2.mulSpectrums(spec[job.squared], ks, 0, conjB=True)
            back: Any = cv2.idft(prod, flags=cv2.DFT_SCALE | cv2.DFT_REAL_OUTPUT,
                                 nonzeroRows=y1 - y0)
            target = into[job.name][y0:y1, x0:x1]
            if job.name in fresh:
                target[...] = back[:y1 - y0, :x1 - x0]
            else:
                target += back[:y1 - y0, :x1 - x0]

    def _spectrum(self, job: Job) -> Any:
        """The kernel's spectrum at the block size (cached)."""
        import cv2

        assert self.blocks is not None
        key = ("spectrum", job.key, self.blocks)
        ks = self.cache.get(key)
        if ks is None:
            padded: Any = np.zeros(self.blocks)
            padded[:job.kernel.shape[0], :job.kernel.shape[1]] = job.kernel
            ks = self.cache[key] = cv2.dft(padded, nonzeroRows=job.kernel.shape[0])
        return ks

    def _engine(self, x: Array, job: Job) -> Array:
        from imgconv.engine import correlate
        from imgconv.kernels import as_kernel

        k = self.cache.get(("kernel", job.key))
        if k is None:
            k = self.cache[("kernel", job.key)] = as_kernel(job.kernel)
        return np.asarray(correlate(x, k, size="valid", precision="double", method="auto"),
                          dtype=np.float64)


def by_fft(tile: tuple[int, int], tshape: tuple[int, int], kernel: Array) -> bool:
    """Whether a tile's correlations go by FFT: the engine's plan decides for templates
    of at most :data:`FFT_TAPS` taps (its cost model for ``auto``), larger ones do."""
    h, w = tshape
    if h * w > FFT_TAPS:
        return True
    from imgconv.engine import plan
    from imgconv.kernels import as_kernel

    return plan(tile, as_kernel(kernel), method="auto", size="valid",
                dtype=np.float64).method == "fft"


__all__ = ["CACHE_SIDE", "FFT_TAPS", "Correlator", "Job", "by_fft", "fft_blocks"]
