"""OpenCV backends: SIMD spatial sums (``filter2D``, ``sepFilter2D``) and OpenCV's DFT filter.

All functions compute the *valid* correlation of an already extended image, or the
``same`` correlation with a border mode OpenCV has (:func:`correlate_same`), so the
results are the mathematics of SPEC §1 whichever backend runs.

OpenCV's ``filter2D`` switches to a DFT for kernels of at least ``dft_threshold``
taps (about 11×11 in single precision, 7×7 in double).  The ``direct`` method stays
spatial by splitting larger kernels into blocks below that size and summing the
shifted partial sums.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from imgconv.boundary import MODES

Array = npt.NDArray[np.floating]

# filter2D uses its DFT path from this many taps on (OpenCV's dft_filter_size)
_DFT_TAPS = {np.dtype(np.float32): 130, np.dtype(np.float64): 50}
_BLOCK = {np.dtype(np.float32): 11, np.dtype(np.float64): 7}
_MAX_CHANNELS = 512  # CV_CN_MAX
# border constants, by imgconv boundary name, from the one table (wrap: filter2D rejects it)
_BORDERS = {m.name: m.opencv for m in MODES if m.opencv and m.name != "wrap"}


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


def usable(image: Array) -> bool:
    """True when OpenCV can filter this working array without a per-channel loop."""
    channels = image.shape[2] if image.ndim == 3 else 1
    return (_cv2() is not None and image.dtype in _DFT_TAPS and channels <= _MAX_CHANNELS
            and image.shape[0] < 2**31 and image.shape[1] < 2**31)


def dft_threshold(dtype: np.dtype[Any]) -> int:
    return _DFT_TAPS.get(np.dtype(dtype), 50)


def _filter(src: Array, k: Array, anchor: tuple[int, int], border: int) -> Array:
    cv2 = _cv2()
    out: Array = cv2.filter2D(src, -1, k, anchor=(anchor[1], anchor[0]), borderType=border)
    if src.ndim == 3 and out.ndim == 2:  # OpenCV drops a trailing axis of length 1
        out = out[:, :, None]
    return out


def correlate_valid_spatial(padded: Array, k: Array) -> Array:
    """Valid correlation by ``filter2D`` kept spatial (blocks below the DFT size)."""
    cv2 = _cv2()
    kh, kw = k.shape
    ho, wo = padded.shape[0] - kh + 1, padded.shape[1] - kw + 1
    b = _BLOCK[padded.dtype]
    k = np.ascontiguousarray(k, dtype=padded.dtype)
    if kh * kw < dft_threshold(padded.dtype):
        return np.ascontiguousarray(_filter(padded, k, (0, 0), cv2.BORDER_CONSTANT)[:ho, :wo])
    out: Array | None = None
    for r0 in range(0, kh, b):
        for c0 in range(0, kw, b):
            sub = k[r0 : r0 + b, c0 : c0 + b]
            if not np.any(sub):
                continue
            bh, bw = sub.shape
            src = padded[r0 : r0 + ho + bh - 1, c0 : c0 + wo + bw - 1]
            part = _filter(src, np.ascontiguousarray(sub), (0, 0), cv2.BORDER_CONSTANT)[:ho, :wo]
            if out is None:
                out = np.array(part, copy=True)
            else:
                out += part
    if out is None:
        out = np.zeros((ho, wo) + padded.shape[2:], dtype=padded.dtype)
    return out


def correlate_valid_dft(padded: Array, k: Array) -> Array:
    """Valid correlation through OpenCV's DFT filter (kernels above the DFT size)."""
    cv2 = _cv2()
    kh, kw = k.shape
    ho, wo = padded.shape[0] - kh + 1, padded.shape[1] - kw + 1
    k = np.ascontiguousarray(k, dtype=padded.dtype)
    return np.ascontiguousarray(_filter(padded, k, (0, 0), cv2.BORDER_CONSTANT)[:ho, :wo])


def correlate_valid_separable(padded: Array, col: Array, row: Array) -> Array:
    """Valid correlation with ``outer(col, row)`` by ``sepFilter2D``."""
    cv2 = _cv2()
    kh, kw = col.shape[0], row.shape[0]
    ho, wo = padded.shape[0] - kh + 1, padded.shape[1] - kw + 1
    out: Array = cv2.sepFilter2D(padded, -1, np.ascontiguousarray(row, dtype=padded.dtype),
                                 np.ascontiguousarray(col, dtype=padded.dtype), anchor=(0, 0),
                                 borderType=cv2.BORDER_CONSTANT)
    if padded.ndim == 3 and out.ndim == 2:
        out = out[:, :, None]
    return np.ascontiguousarray(out[:ho, :wo])


def native_border(boundary: str, cval: float, image_shape: tuple[int, ...],
                  kshape: tuple[int, int]) -> int | None:
    """OpenCV's border constant when it computes ``same`` without our padding, else None.

    Only for kernels smaller than the image (OpenCV does not repeat reflections) and
    for ``constant`` only with ``cval`` 0.
    """
    cv2 = _cv2()
    name = _BORDERS.get(boundary)
    if cv2 is None or name is None or (boundary == "constant" and cval != 0):
        return None
    if kshape[0] >= image_shape[0] or kshape[1] >= image_shape[1]:
        return None
    border: int = getattr(cv2, name)
    return border


def correlate_same(image: Array, k: Array, anchor: tuple[int, int], border: int) -> Array:
    """``same`` correlation with OpenCV's own border handling (no copy of the image);
    spatial below :func:`dft_threshold` taps, OpenCV's DFT above (the caller decides)."""
    return _filter(image, np.ascontiguousarray(k, dtype=image.dtype), anchor, border)


def correlate_same_separable(image: Array, col: Array, row: Array, anchor: tuple[int, int],
                             border: int) -> Array:
    cv2 = _cv2()
    out: Array = cv2.sepFilter2D(image, -1, np.ascontiguousarray(row, dtype=image.dtype),
                                 np.ascontiguousarray(col, dtype=image.dtype),
                                 anchor=(anchor[1], anchor[0]), borderType=border)
    if image.ndim == 3 and out.ndim == 2:
        out = out[:, :, None]
    return out
