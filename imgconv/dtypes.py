"""Pixel types: the range of each dtype and the one cast from float results.

docs/semantics.md §3: values stay in the image's own range; integer outputs are rounded
half to even (numpy ``rint``), clipped to the dtype's range and cast, and never wrap
around, at any width (``uint8`` … ``int64``/``uint64``), even where the dtype's extremes
are not representable in the float the result was computed in (``2**31 - 1`` in
float32, ``2**63 - 1`` in float64).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def dtype_max(dtype: np.dtype[np.generic] | str) -> float:
    """The top of a dtype's pixel range: 255, 65535; 1.0 for floats."""
    dt = np.dtype(dtype)
    if dt.kind in "ui":
        return float(np.iinfo(dt).max)
    return 1.0


def _exact(value: int, dtype: np.dtype[np.floating]) -> bool:
    """Is the integer ``value`` exactly representable in the float ``dtype``?"""
    return int(dtype.type(value)) == value


def quantize(
    result: npt.NDArray[np.floating],
    out_dtype: str | np.dtype[np.generic],
    *,
    inplace: bool = False,
) -> npt.NDArray[np.generic]:
    """Round half to even, clip to the output range, cast (integers never wrap).

    ``inplace`` lets it round and clip ``result`` itself (one copy fewer).  NaN has no
    integer value: callers refuse it before (:func:`imgconv.chain.finish`).
    """
    dt = np.dtype(out_dtype)
    if dt.kind == "f":
        return result.astype(dt)
    info = np.iinfo(dt)
    out = np.rint(result, out=result) if inplace else np.rint(result)
    if _exact(info.max, out.dtype) and _exact(info.min, out.dtype):
        np.clip(out, info.min, info.max, out=out)  # exact in this float: a plain clip
        cast: npt.NDArray[np.generic] = out.astype(dt)
        return cast
    # the extremes round in this float (2**31 - 1 becomes 2**31 in float32): saturate in
    # the integer domain, so the maximum is the maximum and nothing wraps
    high = out >= out.dtype.type(info.max)
    low = out <= out.dtype.type(info.min)
    out[high | low] = 0
    cast = out.astype(dt)
    cast[high] = info.max
    cast[low] = info.min
    return cast
