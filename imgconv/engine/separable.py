"""The ``separable`` method: a rank-1 kernel as a column pass then a row pass.

The 1-D factors come from the SVD (:meth:`imgconv.kernels.Kernel.factors`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.floating]


def correlate_valid(padded: Array, col: Array, row: Array) -> Array:
    """Valid correlation of ``padded`` with ``outer(col, row)`` in two 1-D passes."""
    kh, kw = col.shape[0], row.shape[0]
    ho = padded.shape[0] - kh + 1
    wo = padded.shape[1] - kw + 1
    # column pass: every padded column, only the rows of the output
    mid = np.zeros((ho,) + padded.shape[1:], dtype=padded.dtype)
    tmp = np.empty_like(mid)
    for i in range(kh):
        if col[i] == 0:
            continue
        np.multiply(padded[i : i + ho], col[i], out=tmp)
        mid += tmp
    out = np.zeros((ho, wo) + padded.shape[2:], dtype=padded.dtype)
    tmp2 = np.empty_like(out)
    for j in range(kw):
        if row[j] == 0:
            continue
        np.multiply(mid[:, j : j + wo], row[j], out=tmp2)
        out += tmp2
    return out
