"""The filtering engine: ``correlate`` and ``convolve`` with every method (docs/semantics.md §1).

Arguments are normalised once (:func:`_prepare`).  Convolution is correlation with
the kernel rotated by 180° and the anchor mirrored — in one place
(:meth:`imgconv.kernels.Kernel.flipped`), not a second engine.  Whole images
(:func:`filter_array`) and the bands of the tiled path (:func:`filter_band`) are
both planned (:class:`Plan`: pads, output shape, method, backend) and then run by
one function: the image extended by the boundary mode (:func:`imgconv.boundary.pad`)
and correlated *valid* by the plan's backend, or, when the plan says so, the
backend's own ``same`` path (see :mod:`imgconv.engine.backends`).
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Any, TypedDict, Unpack

import numpy as np
import numpy.typing as npt

from imgconv.boundary import BoundaryMode, boundary_mode, pad
from imgconv.engine import backends as _backends
from imgconv.engine import choose as _choose
from imgconv.engine.geometry import Pads, output_geometry
from imgconv.engine.geometry import pads as size_pads
from imgconv.errors import ImgconvError
from imgconv.kernels import Kernel, as_kernel
from imgconv.options import METHODS, MODES, PRECISIONS, SIZES, choice
from imgconv.threads import set_count as set_own_threads

Array = npt.NDArray[np.floating]


def set_threads(n: int) -> None:
    """Threads for every backend (OpenCV, scipy.fft) and imgconv's own parallel work
    (:mod:`imgconv.threads`); ``batch`` workers use 1; 0: all cores."""
    set_own_threads(n)
    for b in _backends.BACKENDS:
        b.set_threads(n)


def working_dtype(image_dtype: np.dtype[np.generic], precision: str) -> type[np.floating]:
    """float64 for float64 images under ``auto`` (or always under ``double``), else float32."""
    p = choice("precision", precision, PRECISIONS)
    if p == "double" or (p == "auto" and image_dtype == np.float64):
        return np.float64
    return np.float32


def all_finite(a: Array) -> bool:
    """True when no value of the float array ``a`` is NaN or infinite.

    One pass summing in double (:func:`imgconv.engine.backends.opencv.total`, half the
    time of ``np.isfinite(a).all()`` and no temporary): a finite total means every value
    is finite, since an inf or a NaN makes any sum inf or NaN.  Only a total that is not
    finite (or no total) is settled value by value.
    """
    t = _backends.opencv_backend.total(a)
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


@dataclass(frozen=True)
class Plan:
    """What will be computed and who computes it.

    Attributes
    ----------
    pads : ((top, bottom), (left, right))
        How far the image is extended by the boundary mode.
    out_shape : (int, int)
        The output's rows and columns.
    method : str
        ``direct``, ``separable`` or ``fft`` (``auto`` resolved).
    backend : str
        The name of the backend that runs it (:data:`imgconv.engine.backends.BACKENDS`).
    native_same : bool
        The backend computes ``same`` from the unpadded image with its own border
        (``pads`` are then not materialised).
    """

    pads: Pads
    out_shape: tuple[int, int]
    method: str
    backend: str
    native_same: bool


def plan(
    image_shape: tuple[int, ...],
    kernel: Kernel,
    *,
    boundary: str = "reflect",
    method: str = "auto",
    size: str = "same",
    dtype: type[np.floating] = np.float32,
    cval: float = 0.0,
) -> Plan:
    """Decide pads, output shape, method and backend for correlating ``image_shape``
    (H×W or H×W×C) with ``kernel`` (as correlated) in the working ``dtype``."""
    method = choice("method", method, METHODS)
    size = choice("size", size, SIZES)
    return _plan_image(image_shape, kernel, boundary_mode(boundary), method, size, dtype,
                       float(cval))


def _plan_image(shape: tuple[int, ...], kernel: Kernel, mode: BoundaryMode, method: str,
                size: str, dtype: type[np.floating], cval: float) -> Plan:
    pads = output_geometry(shape, kernel, size).pads
    return _plan(shape, kernel, pads, method, mode, dtype, cval, native=size == "same")


def _plan(shape: tuple[int, ...], kernel: Kernel, pads: Pads, method: str, mode: BoundaryMode,
          dtype: type[np.floating], cval: float, *, native: bool) -> Plan:
    """The plan of a valid correlation of the image ``shape`` extended by ``pads``
    (``native``: a backend's own ``same`` path may replace the extension)."""
    kh, kw = kernel.shape
    (t, b), (left, r) = pads
    padded = (shape[0] + t + b, shape[1] + left + r)
    out_shape = (padded[0] - kh + 1, padded[1] - kw + 1)
    channels = shape[2] if len(shape) == 3 else 1
    method = _resolve(method, kernel, dtype)

    def route(m: str) -> _choose.Route:
        # lowrank runs separable passes: the backend is the one that runs a pass
        runs, term = ("separable", _separable_kernel(kernel, dtype)) if m in (
            "separable", "lowrank") else (m, kernel)
        backend, same = _backends.pick_backend(shape, np.dtype(dtype), term, runs, mode,
                                               cval, native=native)
        return _choose.Route(backend.name, same)

    if method == "auto":
        method = _choose.pick(_choose.Problem(out_shape, padded, kernel.shape, channels,
                                              np.dtype(dtype), kernel), route)
    how = route(method)
    return Plan(pads, out_shape, method, how.backend, how.native)


def _separable_kernel(kernel: Kernel, dtype: Any) -> Kernel:
    """The kernel as a separable pass runs it: itself when rank 1 in double precision,
    else its leading SVD term (rank 1 at the working precision, within its round-off)."""
    return kernel if kernel.rank == 1 else kernel.terms(1)[0]


def _resolve(method: str, kernel: Kernel, dtype: type[np.floating]) -> str:
    """Refuse ``separable``/``lowrank`` for a kernel they do not apply to (its rank counted
    at the working precision); ``auto`` is resolved by the plan (:mod:`.choose`)."""
    if method in ("separable", "lowrank"):
        rank = kernel.rank_at(dtype)
        if method == "separable" and rank != 1:
            raise ImgconvError(
                f"{{method[0]}} needs a rank-1 kernel; {kernel.name!r} has rank {rank} "
                f"in {_precision(dtype)} precision (use {{method[1]}}, {{method[2]}} or "
                "{method[3]})", values={"method": ("separable", "auto", "direct", "fft")})
        if method == "lowrank" and not _choose.lowrank_applies(rank, kernel.shape):
            raise ImgconvError(
                f"{{method[0]}} needs a kernel of rank 2 to {_choose.MAX_TERMS} with "
                f"rank·(kh + kw) < kh·kw; {kernel.name!r} ({kernel.shape[0]}x"
                f"{kernel.shape[1]}) has rank {rank} in {_precision(dtype)} precision (use "
                "{method[1]}, {method[2]} or {method[3]})",
                values={"method": ("lowrank", "auto", "direct", "fft")})
    return method


def _precision(dtype: Any) -> str:
    return "double" if np.dtype(dtype) == np.float64 else "single"


def _prepare(image: npt.ArrayLike, kernel: Kernel | npt.ArrayLike, mode: str, boundary: str,
             precision: str) -> tuple[Array, Kernel, BoundaryMode]:
    """Normalise the arguments once: the working image, the kernel as correlated (rotated
    for convolve), the boundary mode's table row."""
    mode = choice("mode", mode, MODES)
    k = as_kernel(kernel)
    if mode == "convolve":
        k = k.flipped()
    return as_working(image, precision), k, boundary_mode(boundary)


def _execute(img: Array, k: Kernel, p: Plan, mode: BoundaryMode, cval: float) -> Array:
    """Run a plan: the backend's own ``same`` path, or pad then its valid correlation."""
    backend = _backends.backend_named(p.backend)
    if p.method == "lowrank":
        return _sum_of_passes(img, k.terms(k.rank_at(img.dtype)), p, backend, mode, cval)
    if p.method == "separable":
        k = _separable_kernel(k, img.dtype)
    if p.native_same:
        return backend.correlate_same(img, k, p.method, mode, cval)
    return backend.correlate_valid(pad(img, p.pads, mode, cval), k, p.method)


def _sum_of_passes(img: Array, terms: list[Kernel], p: Plan, backend: Any, mode: BoundaryMode,
                   cval: float) -> Array:
    """``lowrank``: one separable pass a term of the kernel's SVD, summed (the image
    extended once, when the backend does not extend it itself)."""
    padded = None if p.native_same else pad(img, p.pads, mode, cval)
    out: Array | None = None
    for t in terms:
        one = (backend.correlate_same(img, t, "separable", mode, cval) if padded is None
               else backend.correlate_valid(padded, t, "separable"))
        out = one if out is None else np.add(out, one, out=out)
    assert out is not None
    return out


class Options(TypedDict, total=False):
    """The keywords of :func:`correlate` and :func:`convolve` (defaults: those of
    :func:`filter_array`)."""

    boundary: str
    cval: float
    method: str
    size: str
    precision: str
    bound: float | None


class PassOptions(Options, total=False):
    """The keywords of one filter pass (:func:`filter_array`, :func:`filter_band`)."""

    mode: str


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
    bound: float | None = None,
) -> tuple[Array, str]:
    """Correlate or convolve; return ``(result, method_used)``.

    The kernel's ``scale`` is applied; its ``offset`` is *not* (see
    :func:`imgconv.chain.apply_kernel` for the whole order of operations).
    Parameters as :func:`correlate`, plus ``mode`` (``convolve`` or ``correlate``) and
    ``bound``: a bound the caller knows on ``|image|`` (an integer image's range), which
    spares the scan of the result for an overflow when the sum cannot reach the float's
    maximum.  Without it the bound of an integer image's dtype is used; a float image's
    result is scanned.
    """
    return _one_pass(image, kernel, band=False, mode=mode, boundary=boundary, cval=cval,
                     method=method, size=size, precision=precision, bound=bound)


def filter_band(band: npt.ArrayLike, kernel: Kernel | npt.ArrayLike,
                **options: Unpack[PassOptions]) -> tuple[Array, str]:
    """Filter a horizontal band that already holds its vertical halo (tiled filtering).

    ``band`` has the rows the output band reads, already extended at the true image
    edges by the boundary mode (:attr:`imgconv.boundary.BoundaryMode.index` maps them);
    it is extended horizontally here, as the whole image would be, and correlated
    *valid* vertically: ``kh - 1`` fewer rows come out.  ``options`` are the keywords
    of :func:`filter_array`, with its defaults (the two are interchangeable passes).
    """
    keywords: dict[str, Any] = {**_PASS_DEFAULTS, **options}
    return _one_pass(band, kernel, band=True, **keywords)


#: the keywords of one filter pass and their defaults: filter_array's signature
_PASS_DEFAULTS: dict[str, Any] = {
    name: p.default for name, p in inspect.signature(filter_array).parameters.items()
    if p.kind is inspect.Parameter.KEYWORD_ONLY}


def _one_pass(image: npt.ArrayLike, kernel: Kernel | npt.ArrayLike, *, band: bool, mode: str,
              boundary: str, cval: float, method: str, size: str, precision: str,
              bound: float | None = None) -> tuple[Array, str]:
    """One filter pass over a whole image or (``band``) a band with its halo."""
    size = choice("size", size, SIZES)
    given = np.asarray(image).dtype
    floating = given.kind == "f"
    if bound is None and given.kind in "biu":
        info = np.iinfo(given) if given.kind != "b" else np.iinfo(np.uint8)
        bound = float(max(abs(int(info.min)), int(info.max)))
    img, k, bmode = _prepare(image, kernel, mode, boundary, precision)
    method = choice("method", method, METHODS)
    cval = float(cval)
    _check_weights(k, img.dtype)
    plan_of = _plan_band if band else _plan_image
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
        out = _execute(img, k, p, bmode, cval)
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
    if cval is not None:
        what += f" (with cval={cval:g} beyond the edges)"
    if np.dtype(dtype) == np.float64:
        return ImgconvError(f"the {what} of kernel {k.name!r} overflowed to inf or NaN even in "
                            "double precision: scale the kernel down")
    return ImgconvError(f"the {what} of kernel {k.name!r} overflowed to inf or NaN in single "
                        "precision: use {precision}", values={"precision": "double"})


def _plan_band(shape: tuple[int, ...], kernel: Kernel, mode: BoundaryMode, method: str,
               size: str, dtype: type[np.floating], cval: float) -> Plan:
    """The plan of a band: extended horizontally only, never by a native ``same`` path."""
    kh, kw = kernel.shape
    if shape[0] < kh or (size == "valid" and shape[1] < kw):
        raise ImgconvError(f"a band of {shape[0]} rows is too small for a {kh}x{kw} kernel")
    pads = ((0, 0), size_pads(kernel, size)[1])
    return _plan(shape, kernel, pads, method, mode, dtype, cval, native=False)


def correlate(image: npt.ArrayLike, kernel: Kernel | npt.ArrayLike,
              **options: Unpack[Options]) -> Array:
    """Correlate ``image`` with ``kernel``: ``out(y,x) = sum F(i,j) I~(y+i-cy, x+j-cx)``.

    Parameters
    ----------
    image : array, H×W or H×W×C
        Channels are filtered one by one with the same kernel.
    kernel : Kernel or 2-D array
        A plain array gets the default anchor ``(kh // 2, kw // 2)``.
    boundary : str, keyword-only
        ``reflect`` (default), ``mirror``, ``nearest``, ``wrap``, ``constant`` or an alias.
    cval : float, keyword-only
        The value beyond the edges for ``constant`` (default 0).
    method : str, keyword-only
        ``auto`` (default), ``direct``, ``separable`` or ``fft``: how, never what.
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
    return filter_array(image, kernel, mode="correlate", **options)[0]


def convolve(image: npt.ArrayLike, kernel: Kernel | npt.ArrayLike,
             **options: Unpack[Options]) -> Array:
    """Convolve ``image`` with ``kernel``: ``out(y,x) = sum F(i,j) I~(y-i+cy, x-j+cx)``.

    Same parameters as :func:`correlate`; equal to correlating with the kernel
    rotated by 180° and the anchor mirrored.
    """
    return filter_array(image, kernel, mode="convolve", **options)[0]


def _show_keywords(func: Any) -> None:
    """Let ``help()`` and IDEs show ``func``'s keywords as ``filter_array`` declares them
    (``mode`` aside): the typed ``**options`` hides them from ``inspect.signature``."""
    base = inspect.signature(filter_array)
    own = inspect.signature(func)
    keep = [p for n, p in own.parameters.items() if p.kind is not p.VAR_KEYWORD]
    keep += [p for n, p in base.parameters.items()
             if p.kind is p.KEYWORD_ONLY and n != "mode"]
    func.__signature__ = own.replace(parameters=keep)


for _f in (correlate, convolve):
    _show_keywords(_f)

__all__ = ["Options", "PassOptions", "Plan", "all_finite", "as_working", "convolve", "correlate",
           "filter_array", "filter_band", "plan", "set_threads", "working_dtype"]
