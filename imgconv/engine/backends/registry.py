"""Backends: who computes a planned correlation, registered in one table.

The engine decides *what* (:func:`imgconv.engine.plan`: pads, output shape, the
method, by the cost model of :mod:`imgconv.engine.choose` for ``auto``); a backend
decides nothing but *whether it can* and then computes.  Every backend computes the
same mathematics (docs/semantics.md §1), so which one runs changes speed and
round-off only.

A backend is any object (a module will do) with the members of :class:`Backend`:

``name``
    How :attr:`imgconv.engine.Plan.backend` names it.
``usable(shape, dtype, kernel, method)``
    Can it run the *valid* correlation by ``method`` (``direct``, ``separable``,
    ``fft``) of an array of this shape (H×W or H×W×C) and working dtype (float32 or
    float64)?  Its limits (dtypes, channels, sizes, a method it cannot run as
    itself) are said here.
``correlate_valid(padded, kernel, method)``
    The valid correlation of an image already extended by
    :func:`imgconv.boundary.pad` with ``kernel`` (a :class:`~imgconv.kernels.Kernel`
    as correlated: already rotated for a convolution; its ``scale`` applied by
    :attr:`~imgconv.kernels.Kernel.array`, its ``offset`` not), in the array's dtype.
``native_same(shape, dtype, kernel, method, mode, cval)`` and ``correlate_same(image,
kernel, method, mode, cval)``
    An optional fast path: the ``same`` correlation straight from the unpadded
    image, the backend extending it itself by ``mode`` (a
    :class:`~imgconv.boundary.BoundaryMode`: read its ``opencv``, ``periodic``,
    ``uses_cval`` fields, never its name).  ``native_same`` says, at planning
    time, whether it can; a backend without such a path returns False.
``quantized_same(image, kernel, method, mode, delta)``
    An optional path for 8- and 16-bit images: the ``same`` correlation, ``delta``
    added, rounded and saturated to the image's own type as it is computed, and the
    method used; None when it cannot (a backend without such a path returns None).
``total(a)``
    The sum of every value of a float array, accumulated in double, or None when it
    cannot say (the engine's finite check: :func:`imgconv.engine.all_finite`; a
    backend without a faster sum than numpy's own check returns None).
``set_threads(n)``
    Its thread count (``n`` <= 0: its default).

:data:`BACKENDS` lists them by preference.  The plan takes the first backend whose
``native_same`` accepts (only for whole images with ``size='same'``; never for the
bands of the tiled path, which carry rows the backend must not extend): a native
path, from whichever backend, is preferred to padding (no padded copy; numpy's
circular FFT for ``wrap`` is exact at the image's size, where OpenCV has no wrap
border).  Else the first backend that is ``usable`` runs the padded image; numpy is
last and runs anything.

No other module of the engine names a backend: they reach them through this
registry (:func:`pick_backend`, :func:`backend_named`, :func:`first_usable`,
:func:`quantized`, :func:`total`, :func:`set_threads`).

Adding a backend, e.g. CuPy, is one new module and its entry in the table:
``engine/backends/cupy.py`` defines ``name = "cupy"``; ``usable`` returns True when
cupy imports and a GPU is present (and, say, the array is large enough to pay the
transfer); ``correlate_valid`` moves ``padded`` to the device
(``cupy.asarray``), correlates with ``cupyx.scipy.signal`` /
``cupyx.scipy.ndimage`` or ``cupy.fft`` by ``method`` and returns
``cupy.asnumpy`` of the result in ``padded``'s dtype; ``native_same`` may return
True for the modes ``cupyx.scipy.ndimage.correlate`` extends exactly as the mode
table says (kernels smaller than the image); ``quantized_same`` and ``total`` return
None; ``set_threads`` does nothing.  Then
import it here (``import imgconv.engine.backends.cupy as cupy_backend``) and
list it in :data:`BACKENDS` where it should be preferred.  It imports cupy lazily (inside
its functions), like the others import cv2 and scipy.  The cost model for
``auto`` needs no change: it ranks methods, which every backend computes alike (a
backend it has no cost rows for is costed as numpy's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import imgconv.engine.backends.numpy as numpy_backend
import imgconv.engine.backends.opencv as opencv_backend
from imgconv.errors import ImgconvError
from imgconv.threads import set_count as set_own_threads

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from imgconv.boundary import BoundaryMode
    from imgconv.kernels import Kernel

    Array = npt.NDArray[np.floating]


class Backend(Protocol):
    """What the engine asks of a backend (see the module's docstring)."""

    name: str

    def usable(self, shape: tuple[int, ...], dtype: np.dtype[Any], kernel: Kernel,
               method: str) -> bool: ...

    def correlate_valid(self, padded: Array, kernel: Kernel, method: str) -> Array: ...

    def native_same(self, shape: tuple[int, ...], dtype: np.dtype[Any], kernel: Kernel,
                    method: str, mode: BoundaryMode, cval: float) -> bool: ...

    def correlate_same(self, image: Array, kernel: Kernel, method: str, mode: BoundaryMode,
                       cval: float) -> Array: ...

    def quantized_same(self, image: npt.NDArray[Any], kernel: Kernel, method: str,
                       mode: BoundaryMode, delta: float) -> tuple[npt.NDArray[Any], str] | None:
        ...

    def total(self, a: Array) -> float | None: ...

    def set_threads(self, n: int) -> None: ...


#: the backends, by preference
BACKENDS: tuple[Backend, ...] = (
    opencv_backend,
    numpy_backend,
)


def backend_named(name: str) -> Backend:
    """The registered backend called ``name``."""
    for b in BACKENDS:
        if b.name == name:
            return b
    raise ImgconvError(f"no backend {name!r}: use one of {', '.join(b.name for b in BACKENDS)}")


def quantized(image: npt.NDArray[Any], kernel: Kernel, method: str, mode: BoundaryMode,
              delta: float) -> tuple[npt.NDArray[Any], str] | None:
    """The first backend's ``same`` correlation of an integer image rounded and saturated
    to its own type as it is computed, and the method; None when no backend can."""
    for b in BACKENDS:
        done = b.quantized_same(image, kernel, method, mode, delta)
        if done is not None:
            return done
    return None


def total(a: Array) -> float | None:
    """The sum of every value of the float array ``a``, accumulated in double, by the first
    backend that can say; None when none can."""
    for b in BACKENDS:
        t = b.total(a)
        if t is not None:
            return t
    return None


def set_threads(n: int) -> None:
    """Threads for every backend (OpenCV, scipy.fft) and imgconv's own parallel work
    (:mod:`imgconv.threads`); ``batch`` workers use 1; 0: all cores."""
    set_own_threads(n)
    for b in BACKENDS:
        b.set_threads(n)


def first_usable(shape: tuple[int, ...], dtype: np.dtype[Any], kernel: Kernel,
                 method: str) -> Backend:
    """The first backend that runs the valid correlation by ``method`` of an array of this
    shape and dtype (numpy, last, runs anything)."""
    for b in BACKENDS:
        if b.usable(shape, dtype, kernel, method):
            return b
    raise ImgconvError(f"no backend can filter an array of shape {shape} and dtype {dtype} "
                       f"by method={method!r}")


def pick_backend(shape: tuple[int, ...], dtype: np.dtype[Any], kernel: Kernel, method: str,
                 mode: BoundaryMode, cval: float, *, native: bool) -> tuple[Backend, bool]:
    """``(backend, native_same)``: who runs this correlation, and whether by its own
    ``same`` path (considered only when ``native``)."""
    if native:
        for b in BACKENDS:
            if b.native_same(shape, dtype, kernel, method, mode, cval):
                return b, True
    return first_usable(shape, dtype, kernel, method), False


__all__ = ["BACKENDS", "Backend", "backend_named", "first_usable", "numpy_backend",
           "opencv_backend", "pick_backend", "quantized", "set_threads", "total"]
