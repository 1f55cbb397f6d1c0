"""The numpy backend: numpy sums and scipy.fft; it runs any float array.

Valid correlations of an image already extended by :func:`imgconv.boundary.pad`:

- ``direct``: the spatial sum over the kernel, tap by tap;
- ``separable``: a rank-1 kernel as a column pass then a row pass (the 1-D factors
  come from the SVD, :meth:`imgconv.kernels.Kernel.factors`);
- ``fft``: the convolution theorem with real transforms, ``next_fast_len`` sizes
  and all cores (:data:`WORKERS`).

and one ``same`` path: the circular FFT at the image's own size, which is exactly
``same`` under a periodic mode (:attr:`imgconv.boundary.BoundaryMode.periodic`),
whatever the kernel's size.  scipy is imported lazily.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from imgconv.boundary import BoundaryMode
from imgconv.kernels import Kernel

Array = npt.NDArray[np.floating]

name = "numpy"
WORKERS = -1  # scipy.fft workers: all cores (batch workers set 1)


def set_threads(n: int) -> None:
    """scipy.fft's workers (0 or less: all cores)."""
    global WORKERS
    WORKERS = n if n > 0 else -1


def usable(shape: tuple[int, ...], dtype: np.dtype[Any], kernel: Kernel, method: str) -> bool:
    """Always: numpy filters any working array, by any method."""
    return True


def native_same(shape: tuple[int, ...], dtype: np.dtype[Any], kernel: Kernel, method: str,
                mode: BoundaryMode, cval: float) -> bool:
    """True for ``fft`` under a periodic mode: the circular FFT of :func:`correlate_same`."""
    return method == "fft" and mode.periodic


def correlate_same(image: Array, kernel: Kernel, method: str, mode: BoundaryMode,
                   cval: float) -> Array:
    """``same`` correlation under a periodic ``mode`` by the circular FFT."""
    return _correlate_circular(image, kernel.array.astype(image.dtype), kernel.center)


def quantized_same(image: npt.NDArray[Any], kernel: Kernel, method: str, mode: BoundaryMode,
                   delta: float) -> tuple[npt.NDArray[Any], str] | None:
    """numpy has no filter that rounds and saturates as it goes: never."""
    return None


def total(a: Array) -> float | None:
    """None: numpy has no sum faster than the engine's own value-by-value check."""
    return None


def correlate_valid(padded: Array, kernel: Kernel, method: str) -> Array:
    """Valid correlation of the already extended ``padded`` by ``method``."""
    if method == "separable":
        col, row = kernel.factors()
        return _separable(padded, col.astype(padded.dtype), row.astype(padded.dtype))
    weights = kernel.array.astype(padded.dtype)
    if method == "direct":
        return _direct(padded, weights)
    return _fft_valid(padded, weights)


def _direct(padded: Array, k: Array) -> Array:
    """``out(y, x) = sum_{i,j} k(i, j) * padded(y + i, x + j)`` over the valid region."""
    kh, kw = k.shape
    ho, wo = padded.shape[0] - kh + 1, padded.shape[1] - kw + 1
    out = np.zeros((ho, wo) + padded.shape[2:], dtype=padded.dtype)
    tmp = np.empty_like(out)
    for i in range(kh):
        for j in range(kw):
            w = k[i, j]
            if w == 0:
                continue
            np.multiply(padded[i : i + ho, j : j + wo], w, out=tmp)
            out += tmp
    return out


def _separable(padded: Array, col: Array, row: Array) -> Array:
    """Valid correlation of ``padded`` with ``outer(col, row)`` in two 1-D passes."""
    kh, kw = col.shape[0], row.shape[0]
    ho = padded.shape[0] - kh + 1
    wo = padded.shape[1] - kw + 1
    # column pass: every padded column, only the rows of the output
    mid = np.zeros((ho,) + padded.shape[1:], dtype=padded.dtype)
    tmp = np.empty_like(mid)
    for i in range(kh):
        if col[i] == 0:
            continue
        np.multiply(padded[i : i + ho], col[i], out=tmp)
        mid += tmp
    out = np.zeros((ho, wo) + padded.shape[2:], dtype=padded.dtype)
    tmp2 = np.empty_like(out)
    for j in range(kw):
        if row[j] == 0:
            continue
        np.multiply(mid[:, j : j + wo], row[j], out=tmp2)
        out += tmp2
    return out


def _fft_valid(padded: Array, k: Array) -> Array:
    """Valid correlation of ``padded`` with ``k`` via FFT.

    A correlation is a convolution with the kernel rotated by 180°.  The linear
    convolution of ``padded`` with the rotated kernel is computed on a grid of at
    least the padded size; its entries from ``(kh-1, kw-1)`` on are untouched by the
    circular wrap-around and are exactly the valid correlation.
    """
    import scipy.fft as sfft

    kh, kw = k.shape
    hp, wp = padded.shape[:2]
    fh = sfft.next_fast_len(hp, real=True)
    fw = sfft.next_fast_len(wp, real=True)
    spec_img = sfft.rfft2(padded, s=(fh, fw), axes=(0, 1), workers=WORKERS)
    spec_k = sfft.rfft2(k[::-1, ::-1], s=(fh, fw), axes=(0, 1))
    if padded.ndim == 3:
        spec_k = spec_k[:, :, None]
    spec_img *= spec_k
    full = sfft.irfft2(spec_img, s=(fh, fw), axes=(0, 1), workers=WORKERS)
    out: Array = full[kh - 1 : hp, kw - 1 : wp]
    return np.ascontiguousarray(out, dtype=padded.dtype)


def _correlate_circular(image: Array, k: Array, anchor: tuple[int, int]) -> Array:
    """Circular correlation at the image's own size.

    The kernel is folded modulo ``(H, W)``: taps that land on the same place are summed.
    ``out(y, x) = sum k(i, j) * image((y + i - cy) mod H, (x + j - cx) mod W)``.
    """
    import scipy.fft as sfft

    h, w = image.shape[:2]
    kh, kw = k.shape
    cy, cx = anchor
    folded = np.zeros((h, w), dtype=np.float64)
    rows = (np.arange(kh) - cy) % h
    cols = (np.arange(kw) - cx) % w
    np.add.at(folded, (rows[:, None], cols[None, :]), k.astype(np.float64))
    folded = folded.astype(image.dtype)
    spec_img = sfft.rfft2(image, axes=(0, 1), workers=WORKERS)
    spec_k = np.conj(sfft.rfft2(folded, axes=(0, 1)))
    if image.ndim == 3:
        spec_k = spec_k[:, :, None]
    spec_img *= spec_k
    out: Array = sfft.irfft2(spec_img, s=(h, w), axes=(0, 1), workers=WORKERS)
    return np.ascontiguousarray(out, dtype=image.dtype)
