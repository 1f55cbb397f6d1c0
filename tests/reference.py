"""Independent references for the tests: the docs/semantics.md §1 tolerance and boundary
table, the §1 formulas summed literally, kernels written out by hand.

Nothing here calls imgconv, so a test that uses it compares imgconv against an oracle it
did not compute.  Test modules import from here (``from reference import ...``); conftest.py
hands the same helpers out as the ``ref`` fixture.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.ndimage as ndi

# docs/semantics.md §1: the tolerance's eps by precision, and by the working dtype
EPS = {"single": 1e-4, "double": 1e-10}
PRECISION = {np.dtype(np.float32): "single", np.dtype(np.float64): "double"}

# docs/semantics.md §1 boundary table, transcribed: imgconv name -> how ``a b c d`` is
# extended, scipy.ndimage mode, numpy.pad mode, OpenCV border name (filter2D refuses
# BORDER_WRAP), and the aliases accepted.
TABLE: dict[str, dict[str, Any]] = {
    "reflect": {"extension": "d c b a [a b c d] d c b a", "scipy": "reflect",
                "numpy": "symmetric", "opencv": "BORDER_REFLECT", "aliases": ("symmetric",)},
    "mirror": {"extension": "d c b [a b c d] c b a", "scipy": "mirror", "numpy": "reflect",
               "opencv": "BORDER_REFLECT_101", "aliases": ("reflect101", "reflect_101")},
    "nearest": {"extension": "a a a [a b c d] d d d", "scipy": "nearest", "numpy": "edge",
                "opencv": "BORDER_REPLICATE", "aliases": ("edge", "replicate", "clamp")},
    "wrap": {"extension": "b c d [a b c d] a b c", "scipy": "wrap", "numpy": "wrap",
             "opencv": "BORDER_WRAP", "aliases": ("periodic", "circular", "tile")},
    "constant": {"extension": "k k k [a b c d] k k k", "scipy": "constant",
                 "numpy": "constant", "opencv": "BORDER_CONSTANT", "aliases": ("zero", "fill")},
}
BOUNDARIES = tuple(TABLE)
OPS = ("correlate", "convolve")
CVAL = 0.7  # a cval that is neither 0 nor a pixel value


def tolerance(kernel: np.ndarray, image: np.ndarray, cval: float = 0.0,
              precision: str = "double", factor: float = 1.0) -> float:
    """``T = eps * sum|F| * max(max|I|, |cval|)`` (docs/semantics.md §1), times ``factor``
    (for sums of results), never below a tiny floor."""
    image = np.asarray(image, dtype=np.float64)
    scale = max(float(np.abs(image).max()), abs(float(cval)))
    t = factor * EPS[precision] * float(np.abs(kernel).sum()) * scale
    return max(t, 1e-300)


def ext_index(k: int, n: int, boundary: str) -> int | None:
    """Index into a length-``n`` axis for position ``k`` of the extended axis.

    Written from the docs/semantics.md §1 table (``a b c d`` extended on both sides); ``None``
    means "outside: use cval" (constant mode).
    """
    if 0 <= k < n:
        return k
    if boundary == "constant":
        return None
    if boundary == "nearest":
        return min(max(k, 0), n - 1)
    if boundary == "wrap":
        return k % n
    if boundary == "reflect":  # d c b a [a b c d] d c b a : period 2n
        k %= 2 * n
        return k if k < n else 2 * n - 1 - k
    if boundary == "mirror":  # d c b [a b c d] c b a : period 2n - 2
        if n == 1:
            return 0
        period = 2 * n - 2
        k %= period
        return k if k < n else period - k
    raise ValueError(boundary)


def extend(image: np.ndarray, rows: range, cols: range, boundary: str,
           cval: float = 0.0) -> np.ndarray:
    """``I~`` sampled at the given row and column positions (any range, may leave the image)."""
    image = np.asarray(image, dtype=np.float64)
    h, w = image.shape[:2]
    ri = [ext_index(k, h, boundary) for k in rows]
    ci = [ext_index(k, w, boundary) for k in cols]
    out = np.full((len(ri), len(ci)) + image.shape[2:], float(cval))
    rsel = [a for a, r in enumerate(ri) if r is not None]
    csel = [b for b, c in enumerate(ci) if c is not None]
    if rsel and csel:
        src_r = [ri[a] for a in rsel]
        src_c = [ci[b] for b in csel]
        out[np.ix_(rsel, csel)] = image[np.ix_(src_r, src_c)]
    return out


def brute(image: np.ndarray, kernel: np.ndarray, *, op: str = "correlate",
          boundary: str = "reflect", cval: float = 0.0, anchor: tuple[int, int] | None = None,
          size: str = "same") -> np.ndarray:
    """The docs/semantics.md §1 formulas summed literally, in float64."""
    image = np.asarray(image, dtype=np.float64)
    f = np.asarray(kernel, dtype=np.float64)
    h, w = image.shape[:2]
    kh, kw = f.shape
    cy, cx = anchor if anchor is not None else (kh // 2, kw // 2)
    if size == "same":
        oh, ow = h, w
        if op == "correlate":
            oy, ox = -cy, -cx  # I~(y + i - cy)
        else:
            oy, ox = cy, cx  # I~(y - i + cy)
    elif size == "full":
        oh, ow = h + kh - 1, w + kw - 1
        if op == "correlate":
            oy, ox = -(kh - 1), -(kw - 1)  # I~(y - (kh-1) + i)
        else:
            oy, ox = 0, 0  # I~(y - i)
    else:  # valid
        oh, ow = h - kh + 1, w - kw + 1
        if op == "correlate":
            oy, ox = 0, 0  # I(y + i)
        else:
            oy, ox = kh - 1, kw - 1  # I(y - i + kh - 1)
    out = np.zeros((oh, ow) + image.shape[2:])
    for i in range(kh):
        for j in range(kw):
            if op == "correlate":
                rows = range(oy + i, oy + i + oh)
                cols = range(ox + j, ox + j + ow)
            else:
                rows = range(oy - i, oy - i + oh)
                cols = range(ox - j, ox - j + ow)
            out += f[i, j] * extend(image, rows, cols, boundary, cval)
    return out


# Shipped filters written out by hand from their files (filters/*.yaml), never loaded
# through imgconv.
KERNELS: dict[str, np.ndarray] = {
    "identity": np.pad(np.ones((1, 1)), 1),
    "box3": np.full((3, 3), 1 / 9),
    "sobel-x": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64),
    "laplacian4": np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float64),
    "gaussian5": np.array([[1, 4, 7, 4, 1], [4, 16, 26, 16, 4], [7, 26, 41, 26, 7],
                           [4, 16, 26, 16, 4], [1, 4, 7, 4, 1]]) / 273,
}


def gaussian(sigma: float) -> np.ndarray:
    """The ``gaussian:sigma=S`` generator (docs/semantics.md §2): radius
    ``int(4·sigma + 0.5)``, sums to 1."""
    r = int(4 * sigma + 0.5)
    g = np.exp(-np.arange(-r, r + 1) ** 2 / (2 * sigma**2))
    k = np.outer(g, g)
    return k / k.sum()


def scipy_filter(image: np.ndarray, kernel: np.ndarray, mode: str = "reflect",
                 cval: float = 0.0, op: str = "convolve") -> np.ndarray:
    """scipy.ndimage's convolve (imgconv's default) or correlate, channel by channel, float64."""
    fn = ndi.convolve if op == "convolve" else ndi.correlate
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 2:
        return fn(image, kernel, mode=mode, cval=cval)
    return np.stack([fn(image[:, :, c], kernel, mode=mode, cval=cval)
                     for c in range(image.shape[2])], axis=2)


def premultiplied(image: np.ndarray, kernel: np.ndarray, top: float) -> np.ndarray:
    """``colour = F(colour·a) / F(a)`` where ``F(a) > 0`` else 0; ``alpha = F(alpha)``
    (docs/semantics.md §3)."""
    a = image[:, :, -1].astype(np.float64) / top
    fa = scipy_filter(a, kernel)
    chans = []
    for c in range(image.shape[2] - 1):
        num = scipy_filter(image[:, :, c].astype(np.float64) * a, kernel)
        chans.append(np.where(fa > 0, num / np.where(fa > 0, fa, 1), 0.0))
    chans.append(fa * top)
    return np.stack(chans, axis=2)


def noise(shape: tuple[int, ...], top: int, seed: int) -> np.ndarray:
    """Random integer-valued test content in ``0..top`` (float64; cast it as needed)."""
    return np.rint(np.random.default_rng(seed).random(shape) * top)


def maxdiff(a: np.ndarray, b: np.ndarray) -> float:
    """The largest absolute difference of two arrays of the same shape."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, f"shape {a.shape} != {b.shape}"
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)), initial=0.0))
