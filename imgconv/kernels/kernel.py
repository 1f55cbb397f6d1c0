"""The :class:`Kernel` value: weights, scale, offset, anchor, and what follows from them.

A kernel is immutable; its derived facts (the applied array, the rank, the 180° rotation)
are computed once per kernel.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import math
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt

from imgconv.errors import FilterError, verbatim

SVD = tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]

#: A kernel over this many pixels a side is refused.
MAX_SIDE = 1025


def check_size(shape: tuple[int, ...], source: str | None) -> None:
    """Refuse a kernel over :data:`MAX_SIDE` a side (from its shape alone: before a file's
    values are read)."""
    if shape and max(shape) > MAX_SIDE:
        raise FilterError(
            f"kernel of shape {tuple(shape)} is larger than {MAX_SIDE} pixels a side: use a "
            f"smaller kernel (at most {MAX_SIDE}x{MAX_SIDE})", source
        )


def spell_number(value: float) -> str:
    """A number as it appears in file names: one spelling per value, safe in a name.

    A whole number is written without a point (``2.0`` and ``2`` are ``2``), any
    other value in Python's shortest round-trip form (``1.5``, ``0.1``, ``1e-05``)
    with no ``+`` in its exponent (``1e+20`` is ``1e20``: ``+`` joins a chain); ``-0``
    is ``0``.  Different values never share a spelling.
    """
    x = float(value) + 0.0  # -0.0 -> 0.0
    if x.is_integer() and abs(x) < 1e16:
        return str(int(x))
    return repr(x).replace("e+", "e")


def real_weights(values: object, source: str | None) -> npt.NDArray[np.float64]:
    """``values`` as a float64 array, when they are real numbers.

    Booleans are the weights 0 and 1 (a footprint, as numpy converts them).  Complex
    numbers are refused, never cut to their real part; so are text, dates and other
    objects, and rows of different lengths.
    """
    try:
        raw = np.asarray(values)
    except ValueError:  # ragged nesting
        raise FilterError("the kernel's rows have different lengths: every row needs the "
                          "same number of values", source) from None
    if raw.dtype.kind == "c" or (raw.dtype.kind == "O" and any(
            isinstance(v, complex | np.complexfloating) for v in raw.flat)):
        raise FilterError("kernel values are complex numbers: a kernel must be real (take "
                          "the real part or the magnitude first)", source)
    if raw.dtype.kind in "biuf":
        return np.asarray(raw, dtype=np.float64)
    if raw.dtype.kind == "O":
        try:
            return np.asarray(raw, dtype=np.float64)
        except (TypeError, ValueError):
            pass
    what = ("text" if raw.dtype.kind in "US" else
            f"{type(raw.flat[0]).__name__} values" if raw.dtype.kind == "O" and raw.size else
            f"{raw.dtype} values")
    raise FilterError(f"kernel values must be real numbers, not {what}", source)


def _real(value: object, source: str | None) -> float:
    """A finite real scale or offset (a complex number is never cut to its real part)."""
    try:
        if isinstance(value, str | bytes | complex | np.complexfloating):
            raise TypeError
        real = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        real = math.nan
    if not math.isfinite(real):
        raise FilterError("scale and offset must be finite real numbers", source)
    return real


@dataclass(frozen=True, eq=False)
class Kernel:
    """A 2-D filter kernel with its scale, offset and anchor.

    ``weights`` are the values as written (float64, 2-D); the kernel applied is
    ``weights * scale`` (:attr:`array`), and ``offset`` is added after filtering.
    ``anchor`` is ``(row, col)``; ``None`` means the default ``(kh // 2, kw // 2)``.
    """

    weights: npt.NDArray[np.float64]
    scale: float = 1.0
    offset: float = 0.0
    anchor: tuple[int, int] | None = None
    name: str = "kernel"
    description: str = ""
    source: str | None = None
    meta: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        w = real_weights(self.weights, self.source)
        if w.ndim != 2 or w.size == 0:
            hint = (": for a chain of filters, give a list of 2-D kernels (list(array))"
                    if w.ndim == 3 else "")
            raise FilterError(
                f"a kernel must be a non-empty 2-D matrix, got shape {w.shape}{hint}",
                self.source)
        if not np.all(np.isfinite(w)):
            raise FilterError("kernel values must be finite (no NaN or inf)", self.source)
        check_size(w.shape, self.source)
        for key in ("scale", "offset"):
            object.__setattr__(self, key, _real(getattr(self, key), self.source))
        w = w.copy()
        w.flags.writeable = False
        object.__setattr__(self, "weights", w)
        if self.anchor is not None:
            cy, cx = (int(v) for v in self.anchor)
            kh, kw = w.shape
            if not (0 <= cy < kh and 0 <= cx < kw):
                raise FilterError(
                    f"anchor {list(self.anchor)} is outside the {kh}x{kw} kernel: "
                    f"use 0 <= row < {kh} and 0 <= col < {kw}",
                    self.source,
                )
            object.__setattr__(self, "anchor", (cy, cx))

    @property
    def called(self) -> str:
        """The kernel as messages name it: ``'huge' (filters/huge.yaml)`` — its
        :attr:`name` and, when it came from somewhere else than its name says (a file,
        a generator spec, an inline matrix), its :attr:`source`."""
        if self.source is None or self.source == self.name:
            return repr(self.name)
        return f"{self.name!r} ({self.source})"

    # -- the kernel in file names ----------------------------------------------
    @property
    def file_name(self) -> str:
        """The kernel's part of default output names (docs/semantics.md §4).

        A generator from a spec carries the parameters given, in the order given
        (``gaussian-sigma2``, ``motion-length15-angle30``; :func:`spell_number`); an
        inline matrix or an array its shape and :attr:`digest` (``k3x3-1a2b3c``); any
        other kernel (shipped, a file) its :attr:`name`.  :attr:`name` stays the
        title that ``show``, ``--json`` and reports print.
        """
        kind = self.meta.get("format")
        spelled = self.meta.get("file_name")
        if kind == "generator" and isinstance(spelled, str) and \
                self.name == self.meta.get("generator"):
            return spelled
        if kind in ("inline", "array") and self.name == kind:
            kh, kw = self.shape
            return f"k{kh}x{kw}-{self.digest}"
        return self.name

    @cached_property
    def digest(self) -> str:
        """6 hex digits of the SHA-256 of :attr:`canonical_text`."""
        import hashlib  # lazily: ~3 ms of OpenSSL at start-up, for array kernels only

        return hashlib.sha256(self.canonical_text.encode("ascii")).hexdigest()[:6]

    @property
    def canonical_text(self) -> str:
        """The kernel's values as one text, the input of :attr:`digest`: shape, weights
        (``;`` between rows), scale, offset and the anchor used, each number by
        :func:`spell_number`: ``3x3:1 2 1;2 4 2;1 2 1|scale=1|offset=0|anchor=1,1``.
        Kernels that differ in any of these have different texts."""
        kh, kw = self.shape
        rows = ";".join(" ".join(spell_number(v) for v in r) for r in self.weights.tolist())
        cy, cx = self.center
        return (f"{kh}x{kw}:{rows}|scale={spell_number(self.scale)}|"
                f"offset={spell_number(self.offset)}|anchor={cy},{cx}")

    # -- the kernel as applied -------------------------------------------------
    @cached_property
    def array(self) -> npt.NDArray[np.float64]:
        """The weights times the scale (read-only float64)."""
        a = self.weights * self.scale
        a.flags.writeable = False
        return a

    @property
    def shape(self) -> tuple[int, int]:
        kh, kw = self.weights.shape
        return int(kh), int(kw)

    @property
    def center(self) -> tuple[int, int]:
        """The anchor actually used: the file's, else ``(kh // 2, kw // 2)``."""
        if self.anchor is not None:
            return self.anchor
        kh, kw = self.shape
        return kh // 2, kw // 2

    @property
    def anchor_is_centred(self) -> bool:
        cy, cx = self.center
        kh, kw = self.shape
        return 2 * cy == kh - 1 and 2 * cx == kw - 1

    def flipped(self) -> Kernel:
        """The kernel rotated by 180° with the mirrored anchor (kh-1-cy, kw-1-cx).

        ``convolve(I, K) == correlate(I, K.flipped())`` exactly (docs/semantics.md §1).
        """
        cached = self.__dict__.get("_flipped")
        if cached is not None:  # one rotation per kernel: its rank (an SVD) is paid once
            return cached  # type: ignore[no-any-return]
        kh, kw = self.shape
        cy, cx = self.center
        flipped = Kernel(
            self.weights[::-1, ::-1],
            scale=self.scale,
            offset=self.offset,
            anchor=(kh - 1 - cy, kw - 1 - cx),
            name=self.name,
            description=self.description,
            source=self.source,
        )
        for key in ("rank", "singular_values"):  # a rotation keeps them: one SVD a kernel
            if key in self.__dict__:
                flipped.__dict__[key] = self.__dict__[key]
        self.__dict__["_flipped"] = flipped
        flipped.__dict__["_flipped"] = self
        return flipped

    # -- properties ------------------------------------------------------------
    @property
    def sum(self) -> float:
        return float(self.array.sum())

    @property
    def abs_sum(self) -> float:
        return float(np.abs(self.array).sum())

    @property
    def is_zero_sum(self) -> bool:
        """``|sum F| <= 1e-12 * sum|F|`` (docs/semantics.md §1)."""
        return abs(float(self.weights.sum())) <= 1e-12 * float(np.abs(self.weights).sum())

    @property
    def symmetric(self) -> bool:
        """True when the kernel equals its own 180° rotation (exactly)."""
        return bool(np.array_equal(self.weights, self.weights[::-1, ::-1]))

    @property
    def correlate_equals_convolve(self) -> bool:
        """True exactly when correlate and convolve agree: symmetric and centred.

        See docs/semantics.md §1.
        """
        return self.symmetric and self.anchor_is_centred

    @cached_property
    def singular_values(self) -> npt.NDArray[np.float64]:
        """The singular values of the kernel as applied, largest first (float64; computed
        once for all kernels with these values: :func:`svd`)."""
        return svd(self.array, vectors=False)[1]

    def rank_at(self, dtype: npt.DTypeLike = np.float64) -> int:
        """The numerical rank at a working precision (docs/semantics.md §1): singular
        values up to ``s_max * max(kh, kw) * eps`` of ``dtype`` count as zero (numpy's
        ``matrix_rank`` rule).  A float32 outer product is rank 1 in single precision."""
        s = self.singular_values
        if not s.size or s[0] == 0:
            return 0
        eps = float(np.finfo(np.dtype(dtype)).eps)
        return int(np.count_nonzero(s > s[0] * max(self.shape) * eps))

    @cached_property
    def rank(self) -> int:
        """The rank in double precision (what ``show`` and ``diff`` report)."""
        return self.rank_at(np.float64)

    @property
    def separable(self) -> bool:
        return self.rank == 1

    def terms(self, count: int) -> list[Kernel]:
        """The kernel as a sum of rank-1 kernels, the first ``count`` terms of its SVD
        (``u_i s_i v_i^T``), each with the kernel's anchor; the dropped terms are the
        singular values past ``count``.  ``terms(rank_at(dtype))`` is the kernel at that
        precision, as separable passes (the ``lowrank`` method)."""
        cache: dict[int, list[Kernel]] = self.__dict__.setdefault("_terms", {})
        if count not in cache:  # once a kernel: a plan and its run, every band, reuse it
            u, s, vt = svd(self.array, vectors=True)
            cache[count] = [Kernel(np.outer(u[:, i] * s[i], vt[i]), anchor=self.center,
                                   name=f"{self.name}[{i + 1}]") for i in range(count)]
        return cache[count]

    def factors(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """For a rank-1 kernel, ``(col, row)`` with ``np.outer(col, row) == array``."""
        if self.rank != 1:
            raise FilterError(
                f"kernel {verbatim(repr(self.name))} has rank {self.rank}, not 1: it is not "
                "separable "
                "(use {method[0]}, {method[1]} or {method[2]})",
                self.source,
                values={"method": ("direct", "fft", "auto")},
            )
        # pivot factorisation: the row through the largest entry, and its column divided
        # by that entry.  Exact for 1-row/1-column kernels and for integer kernels (an
        # SVD's square roots are not: 0.5 + 0.5 must still round half to even).
        a = self.array
        i0, j0 = np.unravel_index(int(np.argmax(np.abs(a))), a.shape)
        row = a[i0, :].copy()
        col = a[:, j0] / a[i0, j0]
        # sign convention: make the largest-magnitude entry of col positive
        if col[np.argmax(np.abs(col))] < 0:
            col, row = -col, -row
        return col, row

    def with_scale(self, scale: float) -> Kernel:
        return Kernel(self.weights, scale=scale, offset=self.offset, anchor=self.anchor,
                      name=self.name, description=self.description, source=self.source,
                      meta=dict(self.meta))


#: SVDs by content, so that a kernel rebuilt from the same array (a plain array handed to
#: ``correlate`` on every call, a kernel read again, its terms) is decomposed once:
#: ``(shape, vectors, hash of the bytes) -> (the array, its SVD)``, least recently used
#: dropped beyond :data:`_SVDS_MAX` entries or :data:`_SVDS_BYTES` bytes in all
_SVDS: OrderedDict[tuple[object, ...], tuple[npt.NDArray[np.float64], SVD]] = OrderedDict()
_SVDS_MAX = 64
_SVDS_BYTES = 1 << 24
_svds_lock = threading.Lock()
_blas_lock = threading.Lock()


def svd(a: npt.NDArray[np.float64], *, vectors: bool) -> SVD:
    """``(u, s, vt)`` of ``a`` (``(s, s, s)`` without ``vectors``), read-only, computed on
    one BLAS thread (:func:`one_blas_thread`) and remembered by content: the same values
    are decomposed once per process.  Found by a hash of the bytes, then compared whole
    (~40 µs for 101×101, where the SVD takes 0.5-1 ms on a quiet machine)."""
    a = np.ascontiguousarray(a, dtype=np.float64)
    key: tuple[object, ...] = (a.shape, vectors, hash(a.tobytes()))
    values_key = (a.shape, True, key[2])  # an SVD with vectors has the values too
    with _svds_lock:
        for k in (key, values_key) if not vectors else (key,):
            hit = _SVDS.get(k)
            if hit is not None and np.array_equal(hit[0], a):
                _SVDS.move_to_end(k)
                return hit[1] if k == key else (hit[1][1],) * 3
    with one_blas_thread():
        if vectors:
            u, s, vt = (np.asarray(x, dtype=np.float64) for x in np.linalg.svd(a))
            result: SVD = (u, s, vt)
        else:
            s = np.asarray(np.linalg.svd(a, compute_uv=False), dtype=np.float64)
            result = (s, s, s)
    for x in result:
        x.flags.writeable = False
    if 4 * a.nbytes > _SVDS_BYTES:  # ~600x600 and up: computed, not remembered
        return result
    kept = a.copy()
    kept.flags.writeable = False
    with _svds_lock:
        _SVDS[key] = (kept, result)
        total = sum(v[0].nbytes + sum({id(x): x.nbytes for x in v[1]}.values())
                    for v in _SVDS.values())
        while _SVDS and (len(_SVDS) > _SVDS_MAX or total > _SVDS_BYTES):
            _, (old, parts) = _SVDS.popitem(last=False)
            total -= old.nbytes + sum({id(x): x.nbytes for x in parts}.values())
    return result


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """numpy's BLAS on one thread for the duration (an SVD of a kernel-sized matrix is
    ~0.5 ms on one thread, and 100-700 ms when OpenBLAS's threads wait for cores a loaded
    machine does not give them).  By OpenBLAS's ``openblas_set_num_threads_local`` of the
    library numpy loaded, else threadpoolctl when it is installed, else as it is."""
    local = _blas_thread_setter()
    if local is not None:
        with _blas_lock:  # the count is the process's: one swap at a time, restored
            old = local(1)
            try:
                yield
            finally:
                local(max(old, 1))
        return
    try:  # not a dependency: used when present
        limits = importlib.import_module("threadpoolctl").threadpool_limits
    except ImportError:
        yield
        return
    with limits(1, user_api="blas"):
        yield


@functools.cache
def _blas_thread_setter() -> Callable[[int], int] | None:
    """OpenBLAS's ``openblas_set_num_threads_local`` (0.3.27+) in the library numpy's
    wheel ships (``numpy.libs``, ``numpy/.dylibs``): it sets the count and returns the
    one before.  None for another BLAS, or when it cannot be found."""
    import ctypes
    import glob

    here = os.path.dirname(np.__file__)
    for pattern in (here + ".libs/*openblas*", here + "/.dylibs/*openblas*"):
        for path in sorted(glob.glob(pattern)):
            try:
                fn = ctypes.CDLL(path).openblas_set_num_threads_local
            except (OSError, AttributeError):
                continue
            fn.restype, fn.argtypes = ctypes.c_int, [ctypes.c_int]
            return fn
    return None


def as_kernel(obj: object) -> Kernel:
    """A :class:`Kernel` from a Kernel (returned as is) or a 2-D array-like of real
    numbers (booleans are 0 and 1; complex numbers, a 3-D array and None are refused)."""
    if isinstance(obj, Kernel):
        return obj
    if obj is None or isinstance(obj, str | bytes):
        raise FilterError(f"cannot use {obj!r} as a kernel: give a 2-D array of numbers "
                          "(load_filter reads files, names and inline text)", "array")
    return Kernel(obj, name="array", source="array",  # type: ignore[arg-type]
                  meta={"format": "array"})
