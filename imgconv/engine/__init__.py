"""The filtering engine: ``correlate`` and ``convolve`` with every method (docs/semantics.md §1).

This package only hands names on.  The code lives in its modules:

- :mod:`~imgconv.engine.filtering` — the entries (:func:`correlate`, :func:`convolve`,
  :func:`filter_array` for whole images, :func:`filter_band` for bands), the arguments
  normalised once, the overflow and non-finite checks;
- :mod:`~imgconv.engine.plans` — :class:`Plan` (pads, output shape, method, backend),
  :func:`plan`, and running a plan;
- :mod:`~imgconv.engine.geometry` — pads and output shapes of ``same``/``valid``/``full``;
- :mod:`~imgconv.engine.choose` and :mod:`~imgconv.engine.calibrate` — the cost model of
  ``auto`` and its constants measured on this machine;
- :mod:`~imgconv.engine.backends` — the :class:`~imgconv.engine.backends.Backend`
  protocol and the one table of backends (numpy + scipy.fft, OpenCV).
"""

from __future__ import annotations

from imgconv.engine.backends import set_threads
from imgconv.engine.filtering import (
    Options,
    PassOptions,
    PassSettings,
    all_finite,
    as_working,
    convolve,
    correlate,
    filter_array,
    filter_band,
    working_dtype,
)
from imgconv.engine.plans import Plan, plan

__all__ = ["Options", "PassOptions", "PassSettings", "Plan", "all_finite", "as_working",
           "convolve", "correlate", "filter_array", "filter_band", "plan", "set_threads",
           "working_dtype"]
