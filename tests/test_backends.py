"""The backend seam (:mod:`imgconv.engine.backends`).

Every registered backend, by every method it says it can run, against oracles
written by others (scipy.signal for valid correlations, scipy.ndimage for the
native ``same`` paths); which backend and path a plan picks; ``auto``'s choices
on the benchmark's problems; threads; and a backend added by one entry in the
table.
"""

from __future__ import annotations

import zlib
from typing import Any

import cv2
import numpy as np
import pytest
import scipy.ndimage as ndi
import scipy.signal as ss
from reference import CVAL, PRECISION, tolerance

from imgconv import engine
from imgconv.boundary import MODES, BoundaryMode
from imgconv.engine import backends
from imgconv.engine.backends import registry
from imgconv.kernels import Kernel


def make(shape: tuple[int, ...], kshape: tuple[int, int], dtype: Any, rank_one: bool,
         anchor: tuple[int, int] | None = None) -> tuple[np.ndarray, Kernel]:
    rng = np.random.default_rng(zlib.crc32(f"{shape}{kshape}{rank_one}".encode()))
    image = rng.uniform(-1, 1, shape).astype(dtype)
    if rank_one:
        weights = np.outer(rng.uniform(-1, 1, kshape[0]), rng.uniform(-1, 1, kshape[1]))
    else:
        weights = rng.uniform(-1, 1, kshape)
    return image, Kernel(weights, anchor=anchor)


def per_channel(fn: Any, image: np.ndarray) -> np.ndarray:
    image = image.astype(np.float64)
    if image.ndim == 2:
        return fn(image)
    return np.stack([fn(image[..., c]) for c in range(image.shape[2])], axis=-1)


def check(got: np.ndarray, expected: np.ndarray, kernel: Kernel, image: np.ndarray,
          cval: float = 0.0) -> None:
    assert got.shape == expected.shape
    assert got.dtype == image.dtype
    t = tolerance(kernel.array, image, cval, PRECISION[image.dtype])
    assert float(np.max(np.abs(got.astype(np.float64) - expected))) <= t


# --------------------------------------------------------------------------------------
# every backend's valid correlation, by every method it takes on
# --------------------------------------------------------------------------------------
VALID_PROBLEMS = [(shape + ch, kshape, dtype, method)
                  for shape in [(20, 23)] for ch in [(), (3,)]
                  for kshape in [(3, 4), (1, 7), (13, 12)]
                  for dtype in (np.float32, np.float64)
                  for method in ("direct", "separable", "fft")]
VALID_CASES = [(b, *problem) for b in backends.BACKENDS for problem in VALID_PROBLEMS
               if b.usable(problem[0], np.dtype(problem[2]), Kernel(np.ones(problem[1])),
                           problem[3])]


def test_every_backend_takes_on_valid_work() -> None:
    """numpy runs everything; OpenCV all but ``fft`` below its DFT size."""
    names = [case[0].name for case in VALID_CASES]
    assert names.count("numpy") == len(VALID_PROBLEMS)
    opencv = [case[1:] for case in VALID_CASES if case[0].name == "opencv"]
    assert len(opencv) == len(VALID_PROBLEMS) - sum(
        1 for shape, kshape, dtype, method in VALID_PROBLEMS
        if method == "fft" and kshape[0] * kshape[1] < (130 if dtype == np.float32 else 50))


@pytest.mark.parametrize("backend,shape,kshape,dtype,method", VALID_CASES,
                         ids=[f"{c[0].name}-{c[1]}-{c[2]}-{np.dtype(c[3])}-{c[4]}"
                              for c in VALID_CASES])
def test_valid_correlation_matches_scipy_signal(backend: backends.Backend, shape: Any,
                                                kshape: Any, dtype: Any, method: str) -> None:
    padded, kernel = make(shape, kshape, dtype, rank_one=method == "separable")
    got = backend.correlate_valid(padded, kernel, method)
    expected = per_channel(lambda p: ss.correlate2d(p, kernel.array, mode="valid"), padded)
    check(got, expected, kernel, padded)


# --------------------------------------------------------------------------------------
# every backend's native same path, wherever it claims one
# --------------------------------------------------------------------------------------
SAME_PROBLEMS = [(shape, kshape, anchor, dtype, method, mode, cval)
                 for shape in [(17, 19), (9, 8, 3)]
                 for kshape, anchor in [((3, 4), (2, 0)), ((12, 13), None), ((15, 3), None)]
                 for dtype in (np.float32, np.float64)
                 for method in ("direct", "separable", "fft")
                 for mode in MODES for cval in (0.0, CVAL)]
SAME_CASES = [(b, *p) for b in backends.BACKENDS for p in SAME_PROBLEMS
              if b.native_same(p[0], np.dtype(p[3]), Kernel(np.ones(p[1]), anchor=p[2]),
                               p[4], p[5], p[6])]


def test_native_same_paths_are_claimed_where_documented() -> None:
    by = {(b.name, p[4], p[5].name) for b, *p in SAME_CASES}
    assert ("numpy", "fft", "wrap") in by  # the circular FFT
    assert not any(b == "opencv" and mode == "wrap" for b, _, mode in by)  # filter2D has none
    assert {("opencv", m, "reflect") for m in ("direct", "separable", "fft")} <= by
    # constant only with cval 0, OpenCV only for kernels smaller than the image
    assert all(c[7] == 0 for c in SAME_CASES if c[0].name == "opencv" and c[6].uses_cval)
    assert all(c[2][0] < c[1][0] and c[2][1] < c[1][1] for c in SAME_CASES
               if c[0].name == "opencv")


@pytest.mark.parametrize("backend,shape,kshape,anchor,dtype,method,mode,cval", SAME_CASES,
                         ids=[f"{c[0].name}-{c[1]}-{c[2]}-{np.dtype(c[4])}-{c[5]}-{c[6].name}"
                              f"-{c[7]}" for c in SAME_CASES])
def test_native_same_matches_scipy_ndimage(backend: backends.Backend, shape: Any, kshape: Any,
                                           anchor: Any, dtype: Any, method: str,
                                           mode: BoundaryMode, cval: float) -> None:
    image, kernel = make(shape, kshape, dtype, rank_one=method == "separable", anchor=anchor)
    got = backend.correlate_same(image, kernel, method, mode, cval)
    cy, cx = kernel.center
    origin = (cy - kshape[0] // 2, cx - kshape[1] // 2)
    expected = per_channel(lambda p: ndi.correlate(p, kernel.array, mode=mode.scipy, cval=cval,
                                                   origin=origin), image)
    check(got, expected, kernel, image, cval)


# --------------------------------------------------------------------------------------
# the plan names the backend and the path
# --------------------------------------------------------------------------------------
RANK1 = np.outer(np.arange(1.0, 8.0), np.arange(2.0, 9.0))
PLANS = [  # (image shape, kernel, keywords, (backend, native same))
    ((64, 64), np.ones((3, 3)), {}, ("opencv", True)),
    ((64, 64), RANK1, {"method": "separable"}, ("opencv", True)),
    ((64, 64), np.ones((3, 3)), {"method": "fft"}, ("numpy", False)),  # below the DFT size
    ((64, 64), np.eye(31), {"method": "fft"}, ("opencv", True)),
    ((64, 64), np.ones((3, 3)), {"method": "fft", "boundary": "wrap"}, ("numpy", True)),
    ((64, 64), np.eye(31), {"method": "fft", "boundary": "wrap"}, ("numpy", True)),
    ((64, 64), np.ones((3, 3)), {"method": "direct", "boundary": "wrap"}, ("opencv", False)),
    ((64, 64), np.eye(31), {"method": "direct"}, ("opencv", False)),  # spatial blocks
    ((64, 64), np.ones((3, 3)), {"boundary": "constant"}, ("opencv", True)),
    ((64, 64), np.ones((3, 3)), {"boundary": "constant", "cval": 0.5}, ("opencv", False)),
    ((64, 64), np.ones((3, 3)), {"size": "full"}, ("opencv", False)),
    ((5, 4), np.eye(11)[:9], {"method": "direct"}, ("opencv", False)),  # kernel > image
    ((6, 7, 600), np.ones((3, 3)), {}, ("numpy", False)),  # more channels than OpenCV's
]


@pytest.mark.parametrize("shape,weights,keywords,expected", PLANS)
def test_plan_names_backend_and_path(shape: Any, weights: np.ndarray, keywords: Any,
                                     expected: tuple[str, bool]) -> None:
    p = engine.plan(shape, Kernel(weights), **keywords)
    assert (p.backend, p.native_same) == expected


@pytest.mark.parametrize("label,weights,method", [
    ("3x3 random", np.random.default_rng(1).uniform(size=(3, 3)), "direct"),
    ("15x15 random", np.random.default_rng(2).uniform(size=(15, 15)), "fft"),  # 23 vs 35 ms
    ("31x31 rank 1", np.outer(np.hanning(33)[1:-1], np.hanning(33)[1:-1]), "separable"),
    ("31x31 random", np.random.default_rng(3).uniform(size=(31, 31)), "fft"),
    ("101x101 random", np.random.default_rng(4).uniform(size=(101, 101)), "fft"),
])
def test_auto_choices_on_the_benchmark_problems(label: str, weights: np.ndarray,
                                                method: str) -> None:
    """benchmarks/bench.py's library rows (2048² float32, reflect): what auto picks."""
    assert engine.plan((2048, 2048), Kernel(weights), dtype=np.float32).method == method


# --------------------------------------------------------------------------------------
# threads, and a backend added by one entry in the table
# --------------------------------------------------------------------------------------
def test_set_threads_sets_every_backend() -> None:
    try:
        engine.set_threads(1)
        assert cv2.getNumThreads() == 1
        assert backends.numpy_backend.WORKERS == 1
    finally:
        engine.set_threads(0)
    assert backends.numpy_backend.WORKERS == -1
    assert cv2.getNumThreads() > 1 or (cv2.getNumCPUs() == 1)


class Recording:
    """A backend that computes with numpy's and records what it is asked."""

    name = "recording"

    def __init__(self, native: bool) -> None:
        self.native = native
        self.calls: list[tuple[Any, ...]] = []
        self.threads: int | None = None

    def usable(self, shape: Any, dtype: Any, kernel: Kernel, method: str) -> bool:
        return True

    def native_same(self, shape: Any, dtype: Any, kernel: Kernel, method: str,
                    mode: BoundaryMode, cval: float) -> bool:
        return self.native

    def correlate_valid(self, padded: np.ndarray, kernel: Kernel, method: str) -> np.ndarray:
        self.calls.append(("valid", padded.shape, method))
        return backends.numpy_backend.correlate_valid(padded, kernel, method)

    def correlate_same(self, image: np.ndarray, kernel: Kernel, method: str,
                       mode: BoundaryMode, cval: float) -> np.ndarray:
        self.calls.append(("same", image.shape, method))
        padded = np.pad(image, (kernel.center[0], kernel.shape[0] - 1 - kernel.center[0]),
                        mode=mode.numpy)  # square pads: the kernels below are square
        return backends.numpy_backend.correlate_valid(padded, kernel, method)

    def total(self, a: np.ndarray) -> float | None:
        return None  # no sum of its own: the finite check asks the next backend

    def set_threads(self, n: int) -> None:
        self.threads = n


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> Any:
    def register(native: bool) -> Recording:
        b = Recording(native)
        monkeypatch.setattr(registry, "BACKENDS", (b,) + registry.BACKENDS)
        return b
    return register


def test_a_backend_first_in_the_table_is_preferred(recording: Any) -> None:
    """First in the table runs what no backend's native ``same`` path takes (those are
    preferred to padding, from whichever backend: OpenCV's reflect here)."""
    rec = recording(native=False)
    image, kernel = make((12, 10), (3, 3), np.float64, rank_one=False)
    assert engine.plan(image.shape, kernel, boundary="reflect").backend == "opencv"
    assert engine.plan(image.shape, kernel, boundary="reflect", size="full").backend == (
        "recording")
    out, used = engine.filter_array(image, kernel, mode="correlate", boundary="wrap",
                                    method="direct")
    assert used == "direct"
    assert rec.calls == [("valid", (14, 12), "direct")]
    check(out, ndi.correlate(image, kernel.array, mode="wrap"), kernel, image)
    try:
        engine.set_threads(3)
        assert rec.threads == 3
    finally:
        engine.set_threads(0)


def test_bands_never_take_the_native_same_path(recording: Any) -> None:
    rec = recording(native=True)
    image, kernel = make((12, 10), (3, 3), np.float64, rank_one=False)
    engine.filter_array(image, kernel, mode="correlate", boundary="nearest", method="direct")
    assert rec.calls == [("same", (12, 10), "direct")]
    rec.calls.clear()
    band = image[:5]  # rows 0..4: output rows 1..3 of the whole image
    out, _ = engine.filter_band(band, kernel, mode="correlate", boundary="nearest",
                                method="direct")
    assert rec.calls == [("valid", (5, 12), "direct")]
    whole = ndi.correlate(image, kernel.array, mode="nearest")
    check(out, whole[1:4], kernel, image)


def test_backend_named_refuses_an_unknown_name() -> None:
    assert backends.backend_named("numpy") is backends.numpy_backend
    with pytest.raises(ValueError, match="no backend 'gpu'"):
        backends.backend_named("gpu")


def test_filter_band_takes_filter_arrays_keywords_and_defaults() -> None:
    """Defaults: convolve, reflect (a band of the top rows of an image, halo from reflect)."""
    image, kernel = make((10, 9), (3, 3), np.float64, rank_one=False)
    band = np.concatenate([image[:1], image[:4]])  # rows -1..3: output rows 0..2
    out, used = engine.filter_band(band, kernel)
    assert used == "direct"
    check(out, ndi.convolve(image, kernel.array, mode="reflect")[:3], kernel, image)
    with pytest.raises(TypeError):
        engine.filter_band(band, kernel, bogus=1)  # type: ignore[call-arg]
