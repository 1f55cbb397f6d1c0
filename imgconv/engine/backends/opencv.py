"""The OpenCV backend: SIMD spatial sums (``filter2D``, ``sepFilter2D``) and OpenCV's DFT filter.

Valid correlations of an image already extended by :func:`imgconv.boundary.pad`,
and a ``same`` path that lets OpenCV extend the image itself for the modes that
have an OpenCV border constant (:attr:`imgconv.boundary.BoundaryMode.opencv`), so
the results are the mathematics of docs/semantics.md §1 whichever path runs.

OpenCV's ``filter2D`` switches to a DFT for kernels of at least
:func:`dft_threshold` taps (about 11×11 in single precision, 7×7 in double).  The
``direct`` method stays spatial by splitting larger kernels into blocks below that
size and summing the shifted partial sums; the ``fft`` method runs here only from
that size on (below it ``filter2D`` would not be an FFT).  cv2 is imported lazily.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from imgconv.boundary import BoundaryMode
from imgconv.kernels import Kernel

Array = npt.NDArray[np.floating]

name = "opencv"

# filter2D uses its DFT path from this many taps on (OpenCV's dft_filter_size)
_DFT_TAPS = {np.dtype(np.float32): 130, np.dtype(np.float64): 50}
_BLOCK = {np.dtype(np.float32): 11, np.dtype(np.float64): 7}
_MAX_CHANNELS = 512  # CV_CN_MAX


def _cv2() -> Any:
    try:
        import cv2
    except ImportError:  # pragma: no cover - opencv-python-headless is a dependency
        return None
    return cv2


def set_threads(n: int) -> None:
    """OpenCV's thread count (0 or less: its default)."""
    cv2 = _cv2()
    if cv2 is not None:
        cv2.setNumThreads(n if n > 0 else -1)


def dft_threshold(dtype: np.dtype[Any] | type[np.floating]) -> int:
    """The number of taps from which ``filter2D`` computes by DFT."""
    return _DFT_TAPS.get(np.dtype(dtype), 50)


def usable(shape: tuple[int, ...], dtype: np.dtype[Any], kernel: Kernel, method: str) -> bool:
    """True when OpenCV runs ``method`` on an array of this shape and dtype in one call
    per piece (no per-channel loop); ``fft`` only from :func:`dft_threshold` taps."""
    channels = shape[2] if len(shape) == 3 else 1
    if (_cv2() is None or np.dtype(dtype) not in _DFT_TAPS or channels > _MAX_CHANNELS
            or shape[0] >= 2**31 or shape[1] >= 2**31):
        return False
    return method != "fft" or _taps(kernel) >= dft_threshold(dtype)


def native_same(shape: tuple[int, ...], dtype: np.dtype[Any], kernel: Kernel, method: str,
                mode: BoundaryMode, cval: float) -> bool:
    """True when :func:`correlate_same` computes ``same`` with OpenCV's own border.

    Only for modes with an OpenCV border (``constant`` only with ``cval`` 0), kernels
    smaller than the image (OpenCV does not repeat reflections), and a call that is
    the method asked for: ``filter2D`` spatial for ``direct``, by DFT for ``fft``.
    """
    if not usable(shape, dtype, kernel, method) or mode.opencv is None:
        return False
    if mode.uses_cval and cval != 0:
        return False
    kh, kw = kernel.shape
    if kh >= shape[0] or kw >= shape[1]:
        return False
    if method == "separable":
        return True
    spatial = _taps(kernel) < dft_threshold(dtype)
    return spatial if method == "direct" else not spatial


def correlate_same(image: Array, kernel: Kernel, method: str, mode: BoundaryMode,
                   cval: float) -> Array:
    """``same`` correlation with OpenCV's border for ``mode`` (no padded copy of the image)."""
    border: int = getattr(_cv2(), str(mode.opencv))
    if method == "separable":
        col, row = kernel.factors()
        return _sep_filter(image, col, row, kernel.center, border)
    return _filter(image, kernel.array.astype(image.dtype), kernel.center, border)


def quantized_same(image: npt.NDArray[Any], kernel: Kernel, method: str, mode: BoundaryMode,
                   delta: float) -> tuple[npt.NDArray[Any], str] | None:
    """``same`` correlation of an 8- or 16-bit image, ``delta`` added, rounded half to even
    and saturated to the image's own type in one OpenCV call (``ddepth`` = the input's:
    float accumulation, one rounding; no float copy of the image), and the method used
    (``constant`` extends by 0: the caller has checked cval); None when OpenCV cannot do
    it exactly so (another type, a border it lacks, a kernel
    not smaller than the image, ``method`` not ``auto``/``separable``/``direct``)."""
    cv2 = _cv2()
    channels = image.shape[2] if image.ndim == 3 else 1
    kh, kw = kernel.shape
    if (cv2 is None or image.dtype not in (np.uint8, np.uint16) or mode.opencv is None
            or channels > 4 or kh >= image.shape[0] or kw >= image.shape[1]
            or method not in ("auto", "separable", "direct")):
        return None
    border: int = getattr(cv2, str(mode.opencv))
    cy, cx = kernel.center
    if method != "direct" and kernel.rank == 1:
        col, row = kernel.factors()
        out = cv2.sepFilter2D(image, -1, np.ascontiguousarray(row, np.float32),
                              np.ascontiguousarray(col, np.float32), anchor=(cx, cy),
                              delta=delta, borderType=border)
        used = "separable"
    elif method == "separable":
        return None
    else:
        weights = np.ascontiguousarray(kernel.array, np.float32)
        out = cv2.filter2D(image, -1, weights, anchor=(cx, cy), delta=delta, borderType=border)
        used = "direct" if weights.size < dft_threshold(np.float32) else "fft"
    return np.asarray(_keep_channel_axis(image, out)), used


def correlate_valid(padded: Array, kernel: Kernel, method: str) -> Array:
    """Valid correlation of the already extended ``padded`` by ``method``."""
    border = _cv2().BORDER_CONSTANT
    kh, kw = kernel.shape
    ho, wo = padded.shape[0] - kh + 1, padded.shape[1] - kw + 1
    if method == "separable":
        col, row = kernel.factors()
        return np.ascontiguousarray(_sep_filter(padded, col, row, (0, 0), border)[:ho, :wo])
    weights = kernel.array.astype(padded.dtype)
    if method == "direct" and weights.size >= dft_threshold(padded.dtype):
        return _valid_blocks(padded, weights)
    return np.ascontiguousarray(_filter(padded, weights, (0, 0), border)[:ho, :wo])


def total(a: Array) -> float | None:
    """The sum of every value of a float array, accumulated in double by OpenCV's SIMD
    ``sumElems`` (one read of the array, no temporary); None when OpenCV cannot say
    (no cv2, another dtype, not C-contiguous, a side of 2**31 or more)."""
    cv2 = _cv2()
    if (cv2 is None or a.dtype not in _DFT_TAPS or a.ndim == 0 or a.size == 0
            or not a.flags.c_contiguous):
        return None
    flat = a.reshape(a.shape[0], -1)  # one channel: OpenCV sums each of at most 4
    if flat.shape[0] >= 2**31 or flat.shape[1] >= 2**31 or flat.strides[0] >= 2**31:
        return None  # OpenCV (IPP) holds a row's step in an int
    return float(cv2.sumElems(flat)[0])


def _taps(kernel: Kernel) -> int:
    kh, kw = kernel.shape
    return kh * kw


def _filter(src: Array, k: Array, anchor: tuple[int, int], border: int) -> Array:
    """``filter2D`` (a correlation) anchored at ``anchor`` = (row, col)."""
    k = np.ascontiguousarray(k, dtype=src.dtype)
    out: Array = _cv2().filter2D(src, -1, k, anchor=(anchor[1], anchor[0]), borderType=border)
    return _keep_channel_axis(src, out)


def _sep_filter(src: Array, col: Array, row: Array, anchor: tuple[int, int],
                border: int) -> Array:
    """``sepFilter2D`` with ``outer(col, row)`` anchored at ``anchor`` = (row, col)."""
    out: Array = _cv2().sepFilter2D(src, -1, np.ascontiguousarray(row, dtype=src.dtype),
                                    np.ascontiguousarray(col, dtype=src.dtype),
                                    anchor=(anchor[1], anchor[0]), borderType=border)
    return _keep_channel_axis(src, out)


def _keep_channel_axis(src: Array, out: Array) -> Array:
    if src.ndim == 3 and out.ndim == 2:  # OpenCV drops a trailing axis of length 1
        out = out[:, :, None]
    return out


def _valid_blocks(padded: Array, k: Array) -> Array:
    """Valid correlation by ``filter2D`` kept spatial: blocks below the DFT size, summed."""
    border = _cv2().BORDER_CONSTANT
    kh, kw = k.shape
    ho, wo = padded.shape[0] - kh + 1, padded.shape[1] - kw + 1
    b = _BLOCK[padded.dtype]
    out: Array | None = None
    for r0 in range(0, kh, b):
        for c0 in range(0, kw, b):
            sub = k[r0 : r0 + b, c0 : c0 + b]
            if not np.any(sub):
                continue
            bh, bw = sub.shape
            src = padded[r0 : r0 + ho + bh - 1, c0 : c0 + wo + bw - 1]
            part = _filter(src, sub, (0, 0), border)[:ho, :wo]
            if out is None:
                out = np.array(part, copy=True)
            else:
                out += part
    if out is None:
        out = np.zeros((ho, wo) + padded.shape[2:], dtype=padded.dtype)
    return out
