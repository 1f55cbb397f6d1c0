"""The ``fft`` method: the convolution theorem.

A correlation is a convolution with the kernel rotated by 180°, so both operations
go through the same product of spectra.  Real transforms, ``next_fast_len`` sizes
and all cores.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.floating]
WORKERS = -1  # scipy.fft workers: all cores (batch workers set 1)


def correlate_valid(padded: Array, k: Array) -> Array:
    """Valid correlation of an already extended image with ``k`` via FFT.

    The linear convolution of ``padded`` with the flipped kernel is computed on a
    grid of at least the padded size; its entries from ``(kh-1, kw-1)`` on are
    untouched by the circular wrap-around and are exactly the valid correlation.
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


def correlate_circular(image: Array, k: Array, anchor: tuple[int, int]) -> Array:
    """Circular correlation at the image's own size (``wrap`` with ``same``).

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
