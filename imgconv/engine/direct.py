"""The ``direct`` method: the spatial sum over the kernel, tap by tap.

Works on an image already extended by the boundary mode; returns the *valid*
correlation (every position where the kernel lies wholly inside ``padded``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.floating]


def valid_shape(padded_shape: tuple[int, ...], kshape: tuple[int, int]) -> tuple[int, int]:
    return padded_shape[0] - kshape[0] + 1, padded_shape[1] - kshape[1] + 1


def correlate_valid(padded: Array, k: Array) -> Array:
    """``out(y, x) = sum_{i,j} k(i, j) * padded(y + i, x + j)`` over the valid region.

    ``padded`` is H×W or H×W×C; ``k`` is 2-D in the working dtype.
    """
    kh, kw = k.shape
    ho, wo = valid_shape(padded.shape, (kh, kw))
    out = np.zeros((ho, wo) + padded.shape[2:], dtype=padded.dtype)
    tmp = np.empty_like(out)
    for i in range(kh):
        for j in range(kw):
            w = k[i, j]
            if w == 0:
                continue
            np.multiply(padded[i : i + ho, j : j + wo], w, out=tmp)
            out += tmp
    return out
