"""Plans: what a filter pass computes and which backend computes it, and running one.

Whole images (:func:`plan_image`) and the bands of the tiled path (:func:`plan_band`)
are both planned (:class:`Plan`: pads, output shape, method, backend) and then run by
one function (:func:`execute`): the image extended by the boundary mode
(:func:`imgconv.boundary.pad`) and correlated *valid* by the plan's backend, or, when
the plan says so, the backend's own ``same`` path.  Backends are reached through their
registry only (:mod:`imgconv.engine.backends`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from imgconv.boundary import BoundaryMode, boundary_mode, pad
from imgconv.engine.backends import Backend, backend_named, pick_backend
from imgconv.engine.choose import MAX_TERMS, Problem, Route, lowrank_applies, pick
from imgconv.engine.geometry import Pads, output_geometry
from imgconv.engine.geometry import pads as size_pads
from imgconv.errors import ImgconvError, verbatim
from imgconv.kernels import Kernel
from imgconv.options import METHODS, SIZES, choice

Array = npt.NDArray[np.floating]


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
    return plan_image(image_shape, kernel, boundary_mode(boundary), method, size, dtype,
                      float(cval))


def plan_image(shape: tuple[int, ...], kernel: Kernel, mode: BoundaryMode, method: str,
               size: str, dtype: type[np.floating], cval: float) -> Plan:
    """The plan of a whole image (its arguments already validated)."""
    pads = output_geometry(shape, kernel, size).pads
    return _plan(shape, kernel, pads, method, mode, dtype, cval, native=size == "same")


def plan_band(shape: tuple[int, ...], kernel: Kernel, mode: BoundaryMode, method: str,
              size: str, dtype: type[np.floating], cval: float) -> Plan:
    """The plan of a band: extended horizontally only, never by a native ``same`` path."""
    kh, kw = kernel.shape
    if shape[0] < kh or (size == "valid" and shape[1] < kw):
        raise ImgconvError(f"a band of {shape[0]} rows is too small for a {kh}x{kw} kernel")
    pads = ((0, 0), size_pads(kernel, size)[1])
    return _plan(shape, kernel, pads, method, mode, dtype, cval, native=False)


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

    def route(m: str) -> Route:
        # lowrank runs separable passes: the backend is the one that runs a pass
        runs, term = ("separable", _separable_kernel(kernel, dtype)) if m in (
            "separable", "lowrank") else (m, kernel)
        backend, same = pick_backend(shape, np.dtype(dtype), term, runs, mode, cval,
                                     native=native)
        return Route(backend.name, same)

    if method == "auto":
        method = pick(Problem(out_shape, padded, kernel.shape, channels, np.dtype(dtype),
                              kernel), route)
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
                f"{{method[0]}} needs a rank-1 kernel; {verbatim(repr(kernel.name))} has rank "
                f"{rank} "
                f"in {_precision(dtype)} precision (use {{method[1]}}, {{method[2]}} or "
                "{method[3]})", values={"method": ("separable", "auto", "direct", "fft")})
        if method == "lowrank" and not lowrank_applies(rank, kernel.shape):
            raise ImgconvError(
                f"{{method[0]}} needs a kernel of rank 2 to {MAX_TERMS} with "
                f"rank·(kh + kw) < kh·kw; {verbatim(repr(kernel.name))} ({kernel.shape[0]}x"
                f"{kernel.shape[1]}) has rank {rank} in {_precision(dtype)} precision (use "
                "{method[1]}, {method[2]} or {method[3]})",
                values={"method": ("lowrank", "auto", "direct", "fft")})
    return method


def _precision(dtype: Any) -> str:
    return "double" if np.dtype(dtype) == np.float64 else "single"


def execute(img: Array, k: Kernel, p: Plan, mode: BoundaryMode, cval: float) -> Array:
    """Run a plan: the backend's own ``same`` path, or pad then its valid correlation."""
    backend = backend_named(p.backend)
    if p.method == "lowrank":
        return _sum_of_passes(img, k.terms(k.rank_at(img.dtype)), p, backend, mode, cval)
    if p.method == "separable":
        k = _separable_kernel(k, img.dtype)
    if p.native_same:
        return backend.correlate_same(img, k, p.method, mode, cval)
    return backend.correlate_valid(pad(img, p.pads, mode, cval), k, p.method)


def _sum_of_passes(img: Array, terms: list[Kernel], p: Plan, backend: Backend,
                   mode: BoundaryMode, cval: float) -> Array:
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
