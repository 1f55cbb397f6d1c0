"""Kernel algebra: composing a chain into one kernel, and associativity made visible.

Applying F then G (both correlations, or both convolutions) equals applying the
single kernel ``K = F * G`` — the *full 2-D convolution* of the kernels — with the
anchor the sum of their anchors:

- correlate:  Σ_j G(j) Σ_i F(i) I(y + i + j − a − b) = Σ_n (F*G)(n) I(y + n − (a + b))
- convolve:   Σ_j G(j) Σ_i F(i) I(y − i − j + a + b) = Σ_n (F*G)(n) I(y − n + (a + b))

so the same kernel serves both chains.  The equality is exact for ``wrap`` with
``same``, for ``constant`` 0 with ``full``, and for ``valid``; elsewhere the chain
re-extends the intermediate image at every step and the results differ near the
border.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from imgconv.engine import convolve, correlate
from imgconv.errors import ImgconvError, verbatim
from imgconv.kernels import Kernel

Array = npt.NDArray[np.float64]


def full_convolve(f: npt.ArrayLike, g: npt.ArrayLike) -> Array:
    """The full 2-D convolution of two kernels, ``(kh1+kh2-1) x (kw1+kw2-1)``, in float64."""
    a = np.asarray(f, dtype=np.float64)
    b = np.asarray(g, dtype=np.float64)
    out = convolve(a, b, boundary="constant", cval=0.0, size="full", method="direct",
                   precision="double")
    return np.asarray(out, dtype=np.float64)


def full_correlate(f: npt.ArrayLike, g: npt.ArrayLike) -> Array:
    """Full 2-D cross-correlation of kernels: ``(f ⋆ g)(n) = Σ_m f(m) g(m + n)``.

    (scipy.signal.correlate2d(g, f, "full") in scipy's argument order.)
    """
    a = np.asarray(f, dtype=np.float64)
    b = np.asarray(g, dtype=np.float64)
    out = correlate(b, a, boundary="constant", cval=0.0, size="full", method="direct",
                    precision="double")
    return np.asarray(out, dtype=np.float64)


def compose(kernels: Sequence[Kernel], name: str | None = None) -> Kernel:
    """The single kernel equal to applying ``kernels`` in turn (scales folded in).

    The weights are the full convolution of the weights and the scale the product of
    the scales, so integer kernels stay integers (gaussian5∘gaussian5 is an integer
    9×9 kernel with scale 1/74529).  File offsets do not compose into one kernel and
    are refused.
    """
    if not kernels:
        raise ImgconvError("compose needs at least one filter")
    for k in kernels:
        if k.offset:
            raise ImgconvError(
                f"{verbatim(k.source or k.name)}: the filter has an offset ({k.offset:g}); "
                "offsets are "
                "added after each filter and do not compose into one kernel: remove the "
                "offset to compose, and add it with {offset!s} when applying", values={"offset": ""}
            )
    weights = kernels[0].weights.astype(np.float64)
    scale = kernels[0].scale
    cy, cx = kernels[0].center
    for k in kernels[1:]:
        weights = full_convolve(weights, k.weights)
        scale *= k.scale
        cy, cx = cy + k.center[0], cx + k.center[1]
    if np.all(np.isfinite(weights)) and np.all(
        [np.array_equal(k.weights, np.round(k.weights)) for k in kernels]
    ):
        weights = np.round(weights)  # integer inputs: remove round-off from the sums
    label = name or "+".join(k.name for k in kernels)
    return Kernel(weights, scale=scale, anchor=(cy, cx), name=label,
                  description=f"composition of {' then '.join(k.name for k in kernels)} "
                  "(full 2-D convolution of the kernels, anchor the sum of anchors)",
                  source="compose")


OPERATIONS = (("convolution", full_convolve), ("correlation", full_correlate))


def _law(left: Array, right: Array, scale: float) -> tuple[dict[str, Any], bool]:
    """Both sides of a law, how far apart they are, and whether it holds (to round-off)."""
    diff = float(np.abs(left - right).max()) if left.shape == right.shape else float("inf")
    record = {"left": left.tolist(), "right": right.tolist(), "max_abs_diff": diff,
              "relative": diff / scale if scale else diff}
    return record, diff <= 1e-12 * scale


def associativity(f: Kernel, g: Kernel, h: Kernel) -> dict[str, Any]:
    """(f∘g)∘h versus f∘(g∘h) for convolution and for correlation of kernels."""
    a, b, c = f.array, g.array, h.array
    out: dict[str, Any] = {"kernels": [f.name, g.name, h.name]}
    scale = float(np.abs(a).sum() * np.abs(b).sum() * np.abs(c).sum())
    for op, fn in OPERATIONS:
        record, holds = _law(fn(fn(a, b), c), fn(a, fn(b, c)), scale)
        out[op] = {**record, "associative": holds}
    return out


def commutativity(f: Kernel, g: Kernel) -> dict[str, Any]:
    """f∘g versus g∘f for convolution and for correlation of kernels."""
    out: dict[str, Any] = {"kernels": [f.name, g.name]}
    for op, fn in OPERATIONS:
        record, holds = _law(fn(f.array, g.array), fn(g.array, f.array), f.abs_sum * g.abs_sum)
        out[op] = {**record, "associative": None, "commutative": holds}
    return out
