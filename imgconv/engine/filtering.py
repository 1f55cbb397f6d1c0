"""The filtering engine's entries: ``correlate`` and ``convolve`` with every method
(docs/semantics.md §1), and the two passes they and the chain run: :func:`filter_array`
(whole images) and :func:`filter_band` (the bands of the tiled path).

Arguments are normalised once (:func:`_prepare`): the kernel as a :class:`Kernel` from
whatever :func:`imgconv.kernels.resolve.kernel_argument` takes (a Kernel, an array, a
filter name, file, inline matrix or generator), the image as a float working array.
Convolution is correlation with the kernel rotated by 180° and the anchor mirrored — in
one place (:meth:`imgconv.kernels.Kernel.flipped`), not a second engine.  Each pass is
planned and run by :mod:`imgconv.engine.plans`; its result is checked for an overflow
here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, TypedDict, Unpack

import numpy as np
import numpy.typing as npt

from imgconv.boundary import BoundaryMode, boundary_mode
from imgconv.engine.backends import total
from imgconv.engine.plans import execute, plan_band, plan_image
from imgconv.errors import ImgconvError, verbatim
from imgconv.kernels import Kernel
from imgconv.kernels.resolve import KernelLike, kernel_argument
from imgconv.options import METHODS, MODES, PRECISIONS, SIZES, choice

Array = npt.NDArray[np.floating]


def working_dtype(image_dtype: np.dtype[np.generic], precision: str) -> type[np.floating]:
    """float64 for float64 images under ``auto`` (or always under ``double``), else float32."""
    p = choice("precision", precision, PRECISIONS)
    if p == "double" or (p == "auto" and image_dtype == np.float64):
        return np.float64
    return np.float32


def all_finite(a: Array) -> bool:
    """True when no value of the float array ``a`` is NaN or infinite.

    One pass summing in double by a backend (:func:`imgconv.engine.backends.total`:
    OpenCV's, half the time of ``np.isfinite(a).all()`` and no temporary): a finite
    total means every value is finite, since an inf or a NaN makes any sum inf or NaN.
    Only a total that is not finite (or no total) is settled value by value.
    """
    t = total(a)
    if t is not None and math.isfinite(t):
        return True
    return bool(np.isfinite(a).all())


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
    if arr.dtype.kind == "f" and arr.dtype.itemsize > np.dtype(dt).itemsize:
        finite = arr[np.isfinite(arr)]
        if finite.size and float(np.abs(finite).max()) > float(np.finfo(dt).max):
            raise ImgconvError("the image has values beyond the range of single precision: "
                               "use {precision}", values={"precision": "double"})
    return np.ascontiguousarray(arr, dtype=dt)


class Options(TypedDict, total=False):
    """The keywords of :func:`filter_array` besides ``mode`` — those of :func:`correlate`
    and :func:`convolve` (defaults: :class:`PassSettings`)."""

    boundary: str
    cval: float
    method: str
    size: str
    precision: str
    bound: float | None


class PassOptions(Options, total=False):
    """The keywords of one filter pass (:func:`filter_array`, :func:`filter_band`)."""

    mode: str


@dataclass(frozen=True)
class PassSettings:
    """The settings of one filter pass, with their defaults (those of :func:`filter_array`,
    :func:`filter_band`, :func:`correlate` and :func:`convolve`); validated by the pass."""

    mode: str = "convolve"
    boundary: str = "reflect"
    cval: float = 0.0
    method: str = "auto"
    size: str = "same"
    precision: str = "auto"
    bound: float | None = None


def filter_array(image: npt.ArrayLike, kernel: KernelLike, *, mode: str = "convolve",
                 **options: Unpack[Options]) -> tuple[Array, str]:
    """Correlate or convolve; return ``(result, method_used)``.

    The kernel's ``scale`` is applied; its ``offset`` is *not* (see
    :func:`imgconv.chain.apply_kernel` for the whole order of operations).
    Parameters as :func:`correlate`, plus ``mode`` (``convolve`` or ``correlate``) and
    ``bound``: a bound the caller knows on ``|image|`` (an integer image's range), which
    spares the scan of the result for an overflow when the sum cannot reach the float's
    maximum.  Without it the bound of an integer image's dtype is used; a float image's
    result is scanned.
    """
    return _one_pass(image, kernel, PassSettings(mode=mode, **options), band=False)


def filter_band(band: npt.ArrayLike, kernel: KernelLike,
                **options: Unpack[PassOptions]) -> tuple[Array, str]:
    """Filter a horizontal band that already holds its vertical halo (tiled filtering).

    ``band`` has the rows the output band reads, already extended at the true image
    edges by the boundary mode (:attr:`imgconv.boundary.BoundaryMode.index` maps them);
    it is extended horizontally here, as the whole image would be, and correlated
    *valid* vertically: ``kh - 1`` fewer rows come out.  ``options`` are the keywords
    of :func:`filter_array`, with its defaults (the two are interchangeable passes).
    """
    return _one_pass(band, kernel, PassSettings(**options), band=True)


def correlate(image: npt.ArrayLike, kernel: KernelLike, *, boundary: str = "reflect",
              cval: float = 0.0, method: str = "auto", size: str = "same",
              precision: str = "auto", bound: float | None = None) -> Array:
    """Correlate ``image`` with ``kernel``: ``out(y,x) = sum F(i,j) I~(y+i-cy, x+j-cx)``.

    Parameters
    ----------
    image : array, H×W or H×W×C
        Channels are filtered one by one with the same kernel.
    kernel : Kernel, 2-D array or str
        A plain array gets the default anchor ``(kh // 2, kw // 2)``.  A string (or a
        path) is read as :func:`imgconv.load_filter` reads it: a shipped name
        (``"sobel-x"``), a file, an inline matrix (``"1 2 1; 2 4 2; 1 2 1"``) or a
        generator (``"gaussian:sigma=2"``).
    boundary : str, keyword-only
        ``reflect`` (default), ``mirror``, ``nearest``, ``wrap``, ``constant`` or an alias.
    cval : float, keyword-only
        The value beyond the edges for ``constant`` (default 0).
    method : str, keyword-only
        ``auto`` (default), ``direct``, ``separable``, ``lowrank`` or ``fft``: how, never
        what.
    size : str, keyword-only
        ``same`` (default), ``valid`` or ``full``.
    precision : str, keyword-only
        ``auto`` (default: float64 for float64 images, else float32), ``single`` or
        ``double``.
    bound : float, keyword-only
        A bound you know on ``|image|`` (1.0 for an image scaled to 0..1).  The result of a
        float image is otherwise read once more to prove it finite (an overflow is an error,
        never a silent NaN: docs/semantics.md §3), which on the smallest kernels costs a
        third of the time; when ``bound`` proves an overflow impossible that read is
        skipped.  A bound the image exceeds is yours to answer for: an overflow then goes
        unnoticed.  Integer images need none (their dtype bounds them).

    Returns
    -------
    array of float32 or float64
    """
    settings = PassSettings("correlate", boundary, cval, method, size, precision, bound)
    return _one_pass(image, kernel, settings, band=False)[0]


def convolve(image: npt.ArrayLike, kernel: KernelLike, *, boundary: str = "reflect",
             cval: float = 0.0, method: str = "auto", size: str = "same",
             precision: str = "auto", bound: float | None = None) -> Array:
    """Convolve ``image`` with ``kernel``: ``out(y,x) = sum F(i,j) I~(y-i+cy, x-j+cx)``.

    Same parameters as :func:`correlate`; equal to correlating with the kernel
    rotated by 180° and the anchor mirrored.
    """
    settings = PassSettings("convolve", boundary, cval, method, size, precision, bound)
    return _one_pass(image, kernel, settings, band=False)[0]


def _prepare(image: npt.ArrayLike, kernel: KernelLike, mode: str, boundary: str,
             precision: str) -> tuple[Array, Kernel, BoundaryMode]:
    """Normalise the arguments once: the working image, the kernel as correlated (rotated
    for convolve), the boundary mode's table row."""
    mode = choice("mode", mode, MODES)
    k = kernel_argument(kernel)
    if mode == "convolve":
        k = k.flipped()
    return as_working(image, precision), k, boundary_mode(boundary)


def _one_pass(image: npt.ArrayLike, kernel: KernelLike, s: PassSettings, *,
              band: bool) -> tuple[Array, str]:
    """One filter pass over a whole image or (``band``) a band with its halo."""
    size = choice("size", s.size, SIZES)
    given = np.asarray(image).dtype
    floating = given.kind == "f"
    bound = s.bound
    if bound is None and given.kind in "biu":
        info = np.iinfo(given) if given.kind != "b" else np.iinfo(np.uint8)
        bound = float(max(abs(int(info.min)), int(info.max)))
    img, k, bmode = _prepare(image, kernel, s.mode, s.boundary, s.precision)
    method = choice("method", s.method, METHODS)
    cval = float(s.cval)
    _check_weights(k, img.dtype)
    plan_of = plan_band if band else plan_image
    p = plan_of(img.shape, k, bmode, method, size, img.dtype.type, cval)
    if floating and p.method == "fft":
        bad = _nonfinite(img, band)
        if bad:  # a NaN or inf multiplies into every frequency: it would spread everywhere
            if method == "fft":
                raise ImgconvError(
                    f"the image has {bad:,} NaN or infinite pixel value(s), which "
                    "{method[0]} would spread over the whole image: use {method[1]} "
                    "(or {method[2]})", values={"method": ("fft", "direct", "auto")})
            p = plan_of(img.shape, k, bmode, "direct", size, img.dtype.type, cval)
    with np.errstate(over="ignore", invalid="ignore"):
        out = execute(img, k, p, bmode, cval)
    # one scan of the result, unless a known bound on the image rules an overflow out; the
    # image is scanned only when the result is not finite, to tell its own NaN/inf (kept
    # local) from an overflow
    safe = bound is not None and k.abs_sum * max(bound, abs(cval)) < 0.5 * float(
        np.finfo(img.dtype).max)
    if not safe and not all_finite(out) and not (floating and _nonfinite(img, band)):
        raise _overflow(k, img.dtype, cval=cval if bmode.uses_cval and cval else None)
    return out, p.method


def _nonfinite(img: Array, band: bool) -> int:
    """How many values of a float image are NaN or infinite; a (whole) image with no
    finite value at all is refused (docs/semantics.md §3)."""
    if all_finite(img):
        return 0
    bad = img.size - int(np.count_nonzero(np.isfinite(img)))
    if bad == img.size and not band:
        raise ImgconvError("the image has no finite pixel value (all NaN or infinite): "
                           "there is nothing to filter")
    return bad


def _check_weights(k: Kernel, dtype: np.dtype[Any]) -> None:
    """The kernel's weights (scale folded in) must be finite in the working precision."""
    with np.errstate(over="ignore"):
        fits = np.isfinite(k.array.astype(dtype)).all()
    if not fits:
        raise _overflow(k, dtype, weights=True)


def _overflow(k: Kernel, dtype: np.dtype[Any], *, weights: bool = False,
              cval: float | None = None) -> ImgconvError:
    """The result (or the weights) of ``k`` do not fit in ``dtype``: say which kernel (and
    the cval it summed, when there was one), and what to do."""
    what = "weights" if weights else "result"
    values: dict[str, object] = {}
    if cval is not None:
        what += " (with {cval:g} beyond the edges)"  # a mention: --cval on the command line
        values["cval"] = cval
    if np.dtype(dtype) == np.float64:
        return ImgconvError(f"the {what} of kernel {verbatim(k.called)} overflowed to inf or "
                            "NaN even in double precision: scale the kernel down",
                            values=values)
    return ImgconvError(f"the {what} of kernel {verbatim(k.called)} overflowed to inf or NaN "
                        "in single precision: use {precision}",
                        values={"precision": "double", **values})  # the one to change
