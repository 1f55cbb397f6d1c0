"""Shared test helpers: the SPEC §1 tolerance and an independent reference.

Everything here is written from SPEC.md alone and never calls imgconv, so the
tests that use it compare imgconv against an oracle it did not compute.
Helpers are handed out as session-scoped fixtures (usable from hypothesis tests).
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import numpy as np
import pytest

EPS = {"single": 1e-4, "double": 1e-10}

# SPEC §1 boundary table: imgconv name -> scipy.ndimage mode, numpy.pad mode,
# OpenCV border name (filter2D refuses BORDER_WRAP), and the aliases accepted.
TABLE: dict[str, dict[str, object]] = {
    "reflect": {"scipy": "reflect", "numpy": "symmetric", "opencv": "BORDER_REFLECT",
                "aliases": ("symmetric",)},
    "mirror": {"scipy": "mirror", "numpy": "reflect", "opencv": "BORDER_REFLECT_101",
               "aliases": ("reflect101", "reflect_101")},
    "nearest": {"scipy": "nearest", "numpy": "edge", "opencv": "BORDER_REPLICATE",
                "aliases": ("edge", "replicate", "clamp")},
    "wrap": {"scipy": "wrap", "numpy": "wrap", "opencv": "BORDER_WRAP",
             "aliases": ("periodic", "circular", "tile")},
    "constant": {"scipy": "constant", "numpy": "constant", "opencv": "BORDER_CONSTANT",
                 "aliases": ("zero", "fill")},
}
BOUNDARIES = tuple(TABLE)


def tolerance(kernel: np.ndarray, image: np.ndarray, cval: float = 0.0,
              precision: str = "double") -> float:
    """``T = eps * sum|F| * max(max|I|, |cval|)`` (SPEC §1), never below a tiny floor."""
    image = np.asarray(image, dtype=np.float64)
    scale = max(float(np.abs(image).max()), abs(float(cval)))
    t = EPS[precision] * float(np.abs(kernel).sum()) * scale
    return max(t, 1e-300)


def ext_index(k: int, n: int, boundary: str) -> int | None:
    """Index into a length-``n`` axis for position ``k`` of the extended axis.

    Written from the SPEC table (``a b c d`` extended on both sides); ``None``
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
    """The SPEC §1 formulas summed literally, in float64."""
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


@pytest.fixture(scope="session")
def ref() -> SimpleNamespace:
    """The independent reference helpers (session-scoped: fine inside hypothesis tests)."""
    return SimpleNamespace(tolerance=tolerance, ext_index=ext_index, extend=extend,
                           brute=brute, table=TABLE, boundaries=BOUNDARIES, eps=EPS)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


def assert_close(actual: np.ndarray, expected: np.ndarray, tol: float, what: str = "") -> None:
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    diff = float(np.max(np.abs(actual.astype(np.float64) - expected.astype(np.float64))))
    assert diff <= tol, f"{what}: max abs diff {diff:.3g} > tolerance {tol:.3g}"


@pytest.fixture(scope="session")
def close() -> Callable[..., None]:
    """``close(actual, expected, tol, what)``: same shape and max abs difference <= tol."""
    return assert_close
