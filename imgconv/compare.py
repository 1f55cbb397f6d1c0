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


class _Tally:
    """Running statistics over the pixels of one region, band by band (docs: compare)."""

    def __init__(self, channels: int) -> None:
        self.n = 0
        self.top = 0.0
        self.sum_abs = 0.0
        self.sum_sq = 0.0
        self.pixels = 0
        self.samples = np.zeros(channels, dtype=np.int64)

    def add(self, diff: npt.NDArray[np.float64], differs: npt.NDArray[np.bool_]) -> None:
        """``diff`` (N, C) float64 and ``differs`` (N, C) of some more pixels."""
        if not diff.shape[0]:
            return
        ad = np.abs(diff)
        self.n += diff.shape[0]
        self.top = max(self.top, float(ad.max()))
        self.sum_abs += float(ad.sum(dtype=np.float64))
        self.sum_sq += float(np.einsum("ij,ij->", diff, diff))
        self.pixels += int(np.count_nonzero(_any_channel(differs)))
        self.samples += _per_channel(differs)

    def add_sums(self, n: int, top: float, sum_abs: float, sum_sq: float,
                 differs: npt.NDArray[np.bool_]) -> None:
        """``n`` more pixels summarised: their largest ``|a - b|``, its sum and the sum of
        squares (OpenCV's norms, in double), and ``differs`` (N, C)."""
        if not n:
            return
        self.n += n
        self.top = max(self.top, top)
        self.sum_abs += sum_abs
        self.sum_sq += sum_sq
        self.pixels += int(np.count_nonzero(_any_channel(differs)))
        self.samples += _per_channel(differs)

    def stats(self, peak: float) -> dict[str, Any]:
        channels = len(self.samples)
        if self.n == 0:
            return {"pixels": 0, "max_abs_diff": 0.0, "mean_abs_diff": 0.0, "rmse": 0.0,
                    "psnr": None, "differing_pixels": 0, "differing_fraction": 0.0,
                    "differing_samples": [0] * channels}
        count = self.n * channels
        mse = self.sum_sq / count
        return {
            "pixels": int(self.n),
            "max_abs_diff": self.top,
            "mean_abs_diff": self.sum_abs / count,
            "rmse": math.sqrt(mse),
            "psnr": (None if self.top == 0 or mse == 0
                     else 10.0 * math.log10(peak * peak / mse)),
            "differing_pixels": self.pixels,
            "differing_fraction": self.pixels / self.n,
            "differing_samples": [int(v) for v in self.samples],
        }


def _any_channel(differs: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """(N, C) -> (N,): any channel, one channel at a time (numpy's ``any`` along a short
    last axis is ten times slower)."""
    out = differs[:, 0].copy()
    for c in range(1, differs.shape[1]):
        out |= differs[:, c]
    return out


def _per_channel(differs: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    """(N, C) -> (C,): how many are True in each channel."""
    return np.array([np.count_nonzero(differs[:, c]) for c in range(differs.shape[1])],
                    dtype=np.int64)


def _by_norms(a: npt.NDArray[Any], b: npt.NDArray[Any], band: npt.NDArray[np.bool_] | None,
              differs: npt.NDArray[np.bool_], tallies: tuple[_Tally, _Tally, _Tally]) -> bool:
    """Add a band's statistics by OpenCV's norms of ``a - b`` (double accumulation, no
    temporary; ten times numpy's passes) when it can give them: float32/float64 bands of
    at most 4 channels with finite values; False otherwise (the caller sums with numpy)."""
    import cv2

    if a.dtype not in (np.float32, np.float64) or a.dtype != b.dtype or \
            (a.ndim == 3 and a.shape[2] > 4):
        return False
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    norms = [cv2.norm(a, b, kind) for kind in (cv2.NORM_INF, cv2.NORM_L1, cv2.NORM_L2SQR)]
    if not all(math.isfinite(v) for v in norms):
        return False
    every, inside, outside = tallies
    rows, w = a.shape[:2]
    top, l1, l2 = norms
    every.add_sums(rows * w, top, l1, l2, differs)
    if band is not None:
        m = band.astype(np.uint8)
        flat = band.reshape(-1)
        for part, where, keep in ((inside, m, flat), (outside, 1 - m, ~flat)):
            p_top, p_l1, p_l2 = (cv2.norm(a, b, kind, mask=where)
                                 for kind in (cv2.NORM_INF, cv2.NORM_L1, cv2.NORM_L2SQR))
            part.add_sums(int(np.count_nonzero(keep)), p_top, p_l1, p_l2, differs[keep])
    return True


#: rows compared at a time: about this many samples in float64 (a few temporaries of it)
_BAND_SAMPLES = 1 << 20


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
    fa, fb = np.asarray(a), np.asarray(b)
    if fa.shape != fb.shape:
        raise ImgconvError(f"cannot compare results of shapes {fa.shape} and {fb.shape}")
    dt = np.dtype(dtype)
    peak = dtype_max(dt) if peak is None else float(peak)
    h, w = fa.shape[:2]
    c = fa.shape[2] if fa.ndim == 3 else 1
    mask = None if interior is None else np.asarray(interior, dtype=bool)
    every, inside, outside = _Tally(c), _Tally(c), _Tally(c)
    rows_any = np.zeros(h, dtype=bool)
    cols_any = np.zeros(w, dtype=bool)
    step = max(1, _BAND_SAMPLES // max(1, w * c))
    for y0 in range(0, h, step):  # one pass, a band of rows at a time: no full-size copy
        ba = fa[y0:y0 + step].astype(np.float64)
        bb = fb[y0:y0 + step].astype(np.float64)
        if dt.kind == "f":
            differs = np.abs(ba - bb) > tolerance
        else:
            differs = quantize(ba, dt) != quantize(bb, dt)
        n = ba.shape[0] * w
        dflat = differs.reshape(n, c)
        px = _any_channel(dflat).reshape(-1, w)
        rows_any[y0:y0 + step] = px.any(axis=1)
        cols_any |= px.any(axis=0)
        band = None if mask is None else mask[y0:y0 + step]
        if not _by_norms(fa[y0:y0 + step], fb[y0:y0 + step], band, dflat,
                         (every, inside, outside)):
            diff = (ba - bb).reshape(n, c)
            every.add(diff, dflat)
            if band is not None:
                m = band.reshape(n)
                inside.add(diff[m], dflat[m])
                outside.add(diff[~m], dflat[~m])
    report = every.stats(peak)
    report["psnr_peak"] = peak
    if rows_any.any():
        ys, xs = np.nonzero(rows_any)[0], np.nonzero(cols_any)[0]
        report["bbox"] = [int(ys[0]), int(xs[0]), int(ys[-1]) + 1, int(xs[-1]) + 1]
    else:
        report["bbox"] = None
    report["identical"] = report["differing_pixels"] == 0
    report["shape"] = list(fa.shape)
    report["dtype"] = str(dt)
    if mask is not None:
        report["interior"] = inside.stats(peak)
        report["border"] = outside.stats(peak)
    return report
