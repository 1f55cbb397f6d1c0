"""The filtering engine: ``correlate`` and ``convolve`` with every method (SPEC §1).

Arguments are normalised once here, before dispatch.  Convolution is correlation
with the kernel rotated by 180° and the anchor mirrored — in one place
(:meth:`imgconv.kernels.Kernel.flipped`), not a second engine.  Every method
works on the image already extended by the boundary mode (``imgconv.boundary.pad``)
and returns the valid part, except the circular FFT used for ``wrap`` + ``same``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from imgconv.boundary import canonical_boundary, pad
from imgconv.engine import choose as _choose
from imgconv.engine import cv as _cv
from imgconv.engine import direct as _direct
from imgconv.engine import fft as _fft
from imgconv.engine import separable as _separable
from imgconv.errors import ImgconvError
from imgconv.kernels import Kernel, as_kernel

MODES = ("correlate", "convolve")
METHODS = ("auto", "direct", "separable", "fft")
SIZES = ("same", "valid", "full")
PRECISIONS = ("auto", "single", "double")

Array = npt.NDArray[np.floating]


def set_threads(n: int) -> None:
    """Threads for OpenCV and scipy.fft (``batch`` workers use 1; default: all cores)."""
    _fft.WORKERS = n if n > 0 else -1
    _cv.set_threads(n)


def _check(value: str, valid: tuple[str, ...], what: str) -> str:
    v = str(value).strip().lower()
    if v not in valid:
        raise ImgconvError(f"unknown {what} {value!r}: use one of {', '.join(valid)}")
    return v


def working_dtype(image_dtype: np.dtype[np.generic], precision: str) -> type[np.floating]:
    """float64 for float64 images under ``auto`` (or always under ``double``), else float32."""
    p = _check(precision, PRECISIONS, "precision")
    if p == "double" or (p == "auto" and image_dtype == np.float64):
        return np.float64
    return np.float32


def as_working(image: npt.ArrayLike, precision: str = "auto") -> Array:
    """The image as a float working array (H×W or H×W×C) in the working precision."""
    arr = np.asarray(image)
    if arr.ndim not in (2, 3):
        raise ImgconvError(f"an image must be H×W or H×W×C, got an array of shape {arr.shape}")
    if arr.size == 0:
        raise ImgconvError(f"the image is empty (shape {arr.shape})")
    if arr.dtype.kind not in "buif":
        raise ImgconvError(f"cannot filter an array of dtype {arr.dtype}")
    dt = working_dtype(arr.dtype, precision)
    return np.ascontiguousarray(arr, dtype=dt)


@dataclass(frozen=True)
class Plan:
    """What will be computed: pad widths, output shape, the method that runs."""

    pads: tuple[tuple[int, int], tuple[int, int]]
    out_shape: tuple[int, int]
    method: str


def plan(
    image_shape: tuple[int, ...],
    kernel: Kernel,
    *,
    boundary: str = "reflect",
    method: str = "auto",
    size: str = "same",
    dtype: type[np.floating] = np.float32,
) -> Plan:
    """Decide pads, output shape and method for correlating ``image_shape`` with ``kernel``."""
    method = _check(method, METHODS, "method")
    size = _check(size, SIZES, "output size")
    boundary = canonical_boundary(boundary)
    h, w = image_shape[:2]
    kh, kw = kernel.shape
    cy, cx = kernel.center
    if size == "same":
        pads = ((cy, kh - 1 - cy), (cx, kw - 1 - cx))
        out_shape = (h, w)
    elif size == "full":
        pads = ((kh - 1, kh - 1), (kw - 1, kw - 1))
        out_shape = (h + kh - 1, w + kw - 1)
    else:
        if kh > h or kw > w:
            raise ImgconvError(
                f"--size valid needs a kernel no larger than the image: kernel {kh}x{kw}, "
                f"image {h}x{w} (use --size same or full)"
            )
        pads = ((0, 0), (0, 0))
        out_shape = (h - kh + 1, w - kw + 1)
    padded = (h + pads[0][0] + pads[0][1], w + pads[1][0] + pads[1][1])
    channels = image_shape[2] if len(image_shape) == 3 else 1
    method = _resolve(method, kernel, out_shape, padded, channels, dtype)
    return Plan(pads, out_shape, method)


def _resolve(method: str, kernel: Kernel, out_shape: tuple[int, int],
             padded: tuple[int, int], channels: int, dtype: type[np.floating]) -> str:
    """Refuse ``separable`` for a kernel that is not rank 1; resolve ``auto``."""
    if method == "separable" and kernel.rank != 1:
        raise ImgconvError(
            f"--method separable needs a rank-1 kernel; {kernel.name!r} has rank {kernel.rank} "
            "(use --method auto, direct or fft)"
        )
    if method != "auto":
        return method
    rank = kernel.rank if max(kernel.shape) <= _choose.RANK_SIDE_LIMIT else None
    return _choose.choose(out_shape, padded, kernel.array, channels, dtype, rank)


def _prepare(image: npt.ArrayLike, kernel: Kernel | npt.ArrayLike, mode: str, boundary: str,
             precision: str) -> tuple[Array, Kernel, str]:
    """Normalise the arguments once: the working image, the kernel as correlated (rotated
    for convolve), the canonical boundary name."""
    mode = _check(mode, MODES, "mode")
    k = as_kernel(kernel)
    if mode == "convolve":
        k = k.flipped()
    return as_working(image, precision), k, canonical_boundary(boundary)


def filter_array(
    image: npt.ArrayLike,
    kernel: Kernel | npt.ArrayLike,
    *,
    mode: str = "convolve",
    boundary: str = "reflect",
    cval: float = 0.0,
    method: str = "auto",
    size: str = "same",
    precision: str = "auto",
) -> tuple[Array, str]:
    """Correlate or convolve; return ``(result, method_used)``.

    The kernel's ``scale`` is applied; its ``offset`` is *not* (see
    :func:`imgconv.pipeline.filter_image` for the whole order of operations).
    """
    floating = np.asarray(image).dtype.kind == "f"
    img, k, boundary = _prepare(image, kernel, mode, boundary, precision)
    p = plan(img.shape, k, boundary=boundary, method=method, size=size, dtype=img.dtype.type)
    if p.method == "fft" and floating and not np.isfinite(img).all():
        # a NaN or inf multiplies into every frequency: it would spread over the whole image
        if str(method).strip().lower() == "fft":
            raise ImgconvError(
                "the image has NaN or infinite pixels, which --method fft would spread over "
                "the whole image: use --method direct (or auto)"
            )
        p = Plan(p.pads, p.out_shape, "direct")
    return _run(img, k, p, boundary, float(cval), size), p.method


def _run(img: Array, k: Kernel, p: Plan, boundary: str, cval: float, size: str) -> Array:
    """Dispatch a planned correlation to its backend (OpenCV where it can, else numpy/scipy)."""
    weights = k.array.astype(img.dtype)
    taps = weights.size
    fast = _cv.usable(img)
    spatial = taps < _cv.dft_threshold(img.dtype)
    if p.method == "fft" and boundary == "wrap" and size == "same":
        return _fft.correlate_circular(img, weights, k.center)
    if fast and size == "same":
        border = _cv.native_border(boundary, cval, img.shape, k.shape)
        if border is not None:
            if p.method == "separable":
                col, row = k.factors()
                return _cv.correlate_same_separable(img, col, row, k.center, border)
            if (p.method == "direct" and spatial) or (p.method == "fft" and not spatial):
                return _cv.correlate_same(img, weights, k.center, border)
    padded = pad(img, p.pads, boundary, cval)
    if p.method == "direct":
        if fast:
            return _cv.correlate_valid_spatial(padded, weights)
        return _direct.correlate_valid(padded, weights)
    if p.method == "separable":
        col, row = k.factors()
        if fast:
            return _cv.correlate_valid_separable(padded, col, row)
        return _separable.correlate_valid(padded, col.astype(img.dtype), row.astype(img.dtype))
    if fast and not spatial:
        return _cv.correlate_valid_dft(padded, weights)
    return _fft.correlate_valid(padded, weights)


def filter_band(
    band: npt.ArrayLike,
    kernel: Kernel | npt.ArrayLike,
    *,
    mode: str = "convolve",
    boundary: str = "reflect",
    cval: float = 0.0,
    method: str = "auto",
    size: str = "same",
    precision: str = "auto",
) -> tuple[Array, str]:
    """Filter a horizontal band that already holds its vertical halo (tiled filtering).

    ``band`` has the rows the output band reads, already extended at the true image
    edges by the boundary mode; it is extended horizontally here, as the whole image
    would be, and correlated *valid* vertically: ``kh - 1`` fewer rows come out.
    """
    size = _check(size, SIZES, "output size")
    img, k, boundary = _prepare(band, kernel, mode, boundary, precision)
    kh, kw = k.shape
    cx = k.center[1]
    left, right = {"same": (cx, kw - 1 - cx), "full": (kw - 1, kw - 1), "valid": (0, 0)}[size]
    wo = img.shape[1] + left + right - kw + 1
    if img.shape[0] < kh or wo < 1:
        raise ImgconvError(f"a band of {img.shape[0]} rows is too small for a {kh}x{kw} kernel")
    out_shape = (img.shape[0] - kh + 1, wo)
    channels = img.shape[2] if img.ndim == 3 else 1
    method = _resolve(_check(method, METHODS, "method"), k, out_shape,
                      (img.shape[0], img.shape[1] + left + right), channels, img.dtype.type)
    p = Plan(((0, 0), (left, right)), out_shape, method)
    return _run(img, k, p, boundary, float(cval), "band"), p.method


def correlate(
    image: npt.ArrayLike,
    kernel: Kernel | npt.ArrayLike,
    *,
    boundary: str = "reflect",
    cval: float = 0.0,
    method: str = "auto",
    size: str = "same",
    precision: str = "auto",
) -> Array:
    """Correlate ``image`` with ``kernel``: ``out(y,x) = sum F(i,j) I~(y+i-cy, x+j-cx)``.

    Parameters
    ----------
    image : array, H×W or H×W×C
        Channels are filtered one by one with the same kernel.
    kernel : Kernel or 2-D array
        A plain array gets the default anchor ``(kh // 2, kw // 2)``.
    boundary : str
        ``reflect`` (default), ``mirror``, ``nearest``, ``wrap``, ``constant`` or an alias.
    cval : float
        The value beyond the edges for ``constant``.
    method : str
        ``auto``, ``direct``, ``separable`` or ``fft``: how, never what.
    size : str
        ``same``, ``valid`` or ``full``.
    precision : str
        ``auto`` (float64 for float64 images, else float32), ``single`` or ``double``.

    Returns
    -------
    array of float32 or float64
    """
    out, _ = filter_array(image, kernel, mode="correlate", boundary=boundary, cval=cval,
                          method=method, size=size, precision=precision)
    return out


def convolve(
    image: npt.ArrayLike,
    kernel: Kernel | npt.ArrayLike,
    *,
    boundary: str = "reflect",
    cval: float = 0.0,
    method: str = "auto",
    size: str = "same",
    precision: str = "auto",
) -> Array:
    """Convolve ``image`` with ``kernel``: ``out(y,x) = sum F(i,j) I~(y-i+cy, x-j+cx)``.

    Same parameters as :func:`correlate`; equal to correlating with the kernel
    rotated by 180° and the anchor mirrored.
    """
    out, _ = filter_array(image, kernel, mode="convolve", boundary=boundary, cval=cval,
                          method=method, size=size, precision=precision)
    return out


__all__ = ["METHODS", "MODES", "PRECISIONS", "SIZES", "Plan", "as_working", "convolve",
           "correlate", "filter_array", "filter_band", "plan", "set_threads", "working_dtype"]
