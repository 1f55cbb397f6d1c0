"""Backends: who computes a planned correlation, registered in one table
(:mod:`imgconv.engine.backends.registry`: the :class:`Backend` protocol, the table
:data:`BACKENDS` and the functions the engine reaches backends by).  This package face
only hands those names on; each backend is a module of its own (``numpy.py``,
``opencv.py``)."""

from imgconv.engine.backends.registry import (
    BACKENDS,
    Backend,
    backend_named,
    first_usable,
    numpy_backend,
    opencv_backend,
    pick_backend,
    quantized,
    set_threads,
    total,
)

__all__ = ["BACKENDS", "Backend", "backend_named", "first_usable", "numpy_backend",
           "opencv_backend", "pick_backend", "quantized", "set_threads", "total"]
