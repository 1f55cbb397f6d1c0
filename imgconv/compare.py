"""Difference statistics between two filtered images (numbers only; see report.py).

Definitions (stable; the README repeats them):

- float statistics, on the results before quantisation: ``max_abs_diff`` (PAE),
  ``mean_abs_diff`` (MAE), ``rmse``, and ``psnr = 10 log10(peak² / MSE)`` in dB
  with ``psnr_peak`` the output dtype's maximum (255, 65535; 1.0 for float);
  ``psnr`` is null when the results are equal.
- after quantisation to the output dtype (round half to even, clip): a sample
  differs when the quantised values differ (for float outputs: when
  ``|a - b| > tolerance``); a pixel differs when any of its channels does.
  ``bbox`` is ``[y0, x0, y1, x1]`` of the differing pixels, end-exclusive.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from imgconv.dtypes import dtype_max, quantize
from imgconv.errors import ImgconvError


def _stats(diff: npt.NDArray[np.float64], differs: npt.NDArray[np.bool_], peak: float,
           channels: int) -> dict[str, Any]:
    """Statistics over a set of pixels: ``diff`` is (N, C) float, ``differs`` (N, C) bool."""
    n = diff.shape[0]
    if n == 0:
        return {"pixels": 0, "max_abs_diff": 0.0, "mean_abs_diff": 0.0, "rmse": 0.0,
                "psnr": None, "differing_pixels": 0, "differing_fraction": 0.0,
                "differing_samples": [0] * channels}
    ad = np.abs(diff)
    mx = float(ad.max())
    mse = float(np.mean(diff * diff))
    px = differs.any(axis=1)
    return {
        "pixels": int(n),
        "max_abs_diff": mx,
        "mean_abs_diff": float(ad.mean()),
        "rmse": math.sqrt(mse),
        "psnr": None if mx == 0 or mse == 0 else 10.0 * math.log10(peak * peak / mse),
        "differing_pixels": int(px.sum()),
        "differing_fraction": float(px.mean()),
        "differing_samples": [int(v) for v in differs.sum(axis=0)],
    }


def compare(
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    *,
    dtype: str | np.dtype[np.generic] = "float64",
    tolerance: float = 0.0,
    interior: npt.NDArray[np.bool_] | None = None,
    peak: float | None = None,
) -> dict[str, Any]:
    """Compare two results of the same shape (H×W or H×W×C).

    Parameters
    ----------
    a, b : arrays
        The two float results, before quantisation.
    dtype : str
        The output dtype: integer dtypes are compared after rounding and clipping;
        float dtypes sample by sample against ``tolerance``.
    tolerance : float
        For float outputs, the largest difference that does not count (docs/semantics.md §1).
    interior : bool array H×W, optional
        Positions where both variants' kernels lie wholly inside the image; adds
        ``interior`` and ``border`` sub-reports.
    peak : float, optional
        The PSNR peak; default the output dtype's maximum (255, 65535; 1.0 for float).

    Returns
    -------
    dict with the keys of ``imgconv diff --json`` that describe differences.
    """
    fa = np.asarray(a, dtype=np.float64)
    fb = np.asarray(b, dtype=np.float64)
    if fa.shape != fb.shape:
        raise ImgconvError(f"cannot compare results of shapes {fa.shape} and {fb.shape}")
    dt = np.dtype(dtype)
    peak = dtype_max(dt) if peak is None else float(peak)
    if dt.kind == "f":
        differs = np.abs(fa - fb) > tolerance
    else:
        differs = quantize(fa, dt) != quantize(fb, dt)
    h, w = fa.shape[:2]
    c = fa.shape[2] if fa.ndim == 3 else 1
    diff = (fa - fb).reshape(h * w, c)
    dflat = differs.reshape(h * w, c)
    report = _stats(diff, dflat, peak, c)
    report["psnr_peak"] = peak
    px = dflat.any(axis=1).reshape(h, w)
    if px.any():
        ys, xs = np.nonzero(px)
        report["bbox"] = [int(ys.min()), int(xs.min()), int(ys.max()) + 1, int(xs.max()) + 1]
    else:
        report["bbox"] = None
    report["identical"] = report["differing_pixels"] == 0
    report["shape"] = list(fa.shape)
    report["dtype"] = str(dt)
    if interior is not None:
        m = np.asarray(interior, dtype=bool).reshape(h * w)
        report["interior"] = _stats(diff[m], dflat[m], peak, c)
        report["border"] = _stats(diff[~m], dflat[~m], peak, c)
    return report
