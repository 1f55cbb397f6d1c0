"""Kernels: the :class:`Kernel` value and every way of loading one (SPEC §2).

A filter is named as a path to a ``.yaml``/``.yml``/``.txt``/``.npy``/``.csv`` file
(optionally with a numpy slice, ``w.npy[3,0]``), a generator (``gaussian:sigma=2``),
an inline matrix (``"1 2 1; 2 4 2; 1 2 1"``) or the name of a shipped filter.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import EllipsisType
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import yaml
else:

    class _LazyYaml:
        """PyYAML, imported on first use: most commands never read a YAML file."""

        def __getattr__(self, name: str) -> object:
            import yaml as module

            return getattr(module, name)

    yaml = _LazyYaml()

from imgconv.errors import FilterError

MAX_SIDE = 1025  # a kernel over this many pixels a side is refused


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
        w = np.asarray(self.weights, dtype=np.float64)
        if w.ndim != 2 or w.size == 0:
            raise FilterError(
                f"a kernel must be a non-empty 2-D matrix, got shape {w.shape}", self.source
            )
        if not np.all(np.isfinite(w)):
            raise FilterError("kernel values must be finite (no NaN or inf)", self.source)
        if max(w.shape) > MAX_SIDE:
            raise FilterError(
                f"kernel of shape {w.shape} is larger than {MAX_SIDE} pixels a side: use a "
                f"smaller kernel (at most {MAX_SIDE}x{MAX_SIDE})", self.source
            )
        if not np.isfinite(self.scale) or not np.isfinite(self.offset):
            raise FilterError("scale and offset must be finite numbers", self.source)
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

        ``convolve(I, K) == correlate(I, K.flipped())`` exactly (SPEC §1).
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
        if "rank" in self.__dict__:  # a rotation keeps the rank: do not pay the SVD again
            flipped.__dict__["rank"] = self.__dict__["rank"]
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
        """``|sum F| <= 1e-12 * sum|F|`` (SPEC §1)."""
        return abs(float(self.weights.sum())) <= 1e-12 * float(np.abs(self.weights).sum())

    @property
    def symmetric(self) -> bool:
        """True when the kernel equals its own 180° rotation (exactly)."""
        return bool(np.array_equal(self.weights, self.weights[::-1, ::-1]))

    @property
    def correlate_equals_convolve(self) -> bool:
        """True exactly when correlate and convolve agree: symmetric and centred (SPEC §1)."""
        return self.symmetric and self.anchor_is_centred

    @cached_property
    def rank(self) -> int:
        return int(np.linalg.matrix_rank(self.array))

    @property
    def separable(self) -> bool:
        return self.rank == 1

    def factors(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """For a rank-1 kernel, ``(col, row)`` with ``np.outer(col, row) == array``."""
        if self.rank != 1:
            raise FilterError(
                f"kernel {self.name!r} has rank {self.rank}, not 1: it is not separable "
                "(use --method direct, fft or auto)",
                self.source,
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


def as_kernel(obj: object) -> Kernel:
    """A :class:`Kernel` from a Kernel (returned as is) or a 2-D array-like."""
    if isinstance(obj, Kernel):
        return obj
    arr = np.asarray(obj, dtype=np.float64)
    return Kernel(arr, name="array", source="array")


# =====================================================================================
# Numbers and TXT / inline / CSV matrices
# =====================================================================================

#: File extensions :func:`load_filter` reads.
SUPPORTED_EXTENSIONS: tuple[str, ...] = (".yaml", ".yml", ".txt", ".npy", ".csv")
#: Extensions of the files in the shipped library.
SHIPPED_EXTENSIONS: tuple[str, ...] = (".yaml", ".yml", ".txt")
#: The keys a YAML filter file may have.
YAML_KEYS: tuple[str, ...] = (
    "name", "description", "kernel", "generator", "scale", "divisor", "normalize", "offset",
    "anchor",
)

_NUM = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_NUM_RE = re.compile(_NUM)
_FRAC_RE = re.compile(rf"({_NUM})/({_NUM})")
_NONFINITE_RE = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)
_NONFINITE_FRAC_RE = re.compile(
    rf"(?:{_NUM}|[+-]?(?:nan|inf|infinity))/(?:{_NUM}|[+-]?(?:nan|inf|infinity))", re.IGNORECASE
)
_NUMBER_HELP = "use integers, decimals, exponents or fractions like 1/16"


class _BadNumber(Exception):
    """Internal: a token that is not a finite number; the message says why."""


def _number(token: str) -> float:
    """The finite float a token denotes (``3``, ``-0.5``, ``1e-3``, ``1/16``, ``-3/4``).

    Raises
    ------
    _BadNumber
        For anything else (the message quotes the token and says why).
    """
    t = token.strip()
    if _NUM_RE.fullmatch(t):
        value = float(t)
    elif m := _FRAC_RE.fullmatch(t):
        num, den = float(m[1]), float(m[2])
        if den == 0.0:
            raise _BadNumber(f"{t!r} divides by zero: use a non-zero denominator")
        value = num / den
    elif _NONFINITE_RE.fullmatch(t) or _NONFINITE_FRAC_RE.fullmatch(t):
        raise _BadNumber(f"{t!r} is not a finite number (NaN and infinity are not allowed)")
    elif not t:
        raise _BadNumber(f"empty value ({_NUMBER_HELP})")
    else:
        raise _BadNumber(f"{t!r} is not a number ({_NUMBER_HELP})")
    if not math.isfinite(value):
        raise _BadNumber(f"{t!r} is too large to be a finite number: use a smaller value")
    return value


def _tokens(text: str) -> list[str]:
    """Split one row into value tokens (spaces, tabs or commas); ``,,`` is an error."""
    parts = text.split(",")
    if len(parts) > 1 and any(not p.strip() for p in parts):
        raise _BadNumber("empty value between commas (or a leading/trailing comma)")
    out: list[str] = []
    for part in parts:
        out.extend(part.split())
    return out


def _values(n: int) -> str:
    return f"{n} value" if n == 1 else f"{n} values"


def _rows_to_matrix(
    rows: Sequence[tuple[int, str]], source: str, unit: str, with_line: bool
) -> npt.NDArray[np.float64]:
    """Parse ``(number, text)`` rows into a rectangular float64 matrix.

    ``unit`` is ``"line"`` or ``"row"``; when ``with_line`` the number is also the
    :class:`FilterError` line.
    """
    values: list[list[float]] = []
    first: tuple[int, int] | None = None
    for no, text in rows:
        where = no if with_line else None
        try:
            row = [_number(tok) for tok in _tokens(text)]
        except _BadNumber as exc:
            msg = str(exc) if with_line else f"{unit} {no}: {exc}"
            raise FilterError(msg, source, where) from None
        if not row:
            continue
        if first is None:
            first = (no, len(row))
        elif len(row) != first[1]:
            raise FilterError(
                f"{unit} {no} has {_values(len(row))}, {unit} {first[0]} has {first[1]}: "
                "every row of a kernel needs the same number of values",
                source,
                where,
            )
        values.append(row)
    if not values:
        raise FilterError(
            "no kernel values found (empty, or only comments and blank lines)", source
        )
    return np.array(values, dtype=np.float64)


def _txt_matrix(
    text: str, source: str, line_offset: int = 0
) -> tuple[npt.NDArray[np.float64], str]:
    """The matrix of a TXT text and its leading comment (the description)."""
    rows: list[tuple[int, str]] = []
    header: list[str] = []
    for i, raw in enumerate(text.split("\n"), start=1 + line_offset):
        data, hash_, comment = raw.partition("#")
        if data.strip():
            rows.append((i, data))
        elif hash_ and not rows:
            header.append(comment.strip())
    return _rows_to_matrix(rows, source, "line", True), " ".join(h for h in header if h)


def _stem(source: str | None, default: str = "kernel") -> str:
    if not source:
        return default
    stem = Path(source).stem
    return stem or default


def parse_txt(text: str, source: str | None = None, *, line_offset: int = 0) -> Kernel:
    """Parse a kernel in TXT syntax (SPEC §2).

    One kernel row per line; values separated by spaces, tabs or commas; integers,
    decimals, exponents or fractions (``1/16``, ``-3/4``); ``#`` starts a comment;
    blank lines are ignored.  Comment lines before the first row become the
    kernel's description.

    Parameters
    ----------
    text
        The file's text.
    source
        The file name (used in errors and for the kernel's name, its stem).
    line_offset
        Added to line numbers in errors (for a TXT block inside a YAML file).

    Returns
    -------
    Kernel
        Named after ``source``'s stem, scale 1.

    Raises
    ------
    FilterError
        Naming the line: ragged rows, a value that is not a finite number (quoted),
        a division by zero, or no values at all.
    """
    src = source if source is not None else "<text>"
    weights, header = _txt_matrix(text, src, line_offset)
    kh, kw = weights.shape
    return Kernel(
        weights,
        name=_stem(source),
        description=header or f"{kh}x{kw} kernel from {src}",
        source=src,
        meta={"format": "txt"},
    )


def parse_csv(text: str, source: str | None = None) -> Kernel:
    """Parse a 2-D numeric CSV kernel (comma separated, ``#`` comments).

    The same number syntax as TXT (fractions allowed); see :func:`parse_txt`.
    """
    src = source if source is not None else "<csv>"
    weights, header = _txt_matrix(text, src)
    kh, kw = weights.shape
    return Kernel(
        weights,
        name=_stem(source),
        description=header or f"{kh}x{kw} kernel from {src}",
        source=src,
        meta={"format": "csv"},
    )


_INLINE_RE = re.compile(r"[0-9eE+\-./,; \t\r\n]+")


def looks_inline(spec: str) -> bool:
    """True when ``spec`` has only the characters of an inline matrix and a digit."""
    return bool(_INLINE_RE.fullmatch(spec)) and any(c.isdigit() for c in spec)


def parse_inline(text: str, source: str | None = None) -> Kernel:
    """Parse an inline matrix such as ``"1 2 1; 2 4 2; 1 2 1"``.

    Rows are split by ``;`` (or newlines), values by spaces or commas; the number
    syntax is the TXT one (``1/16`` allowed).  The kernel is named ``inline``.

    Raises
    ------
    FilterError
        Naming the row: ragged rows, a bad value, or no values.
    """
    src = source if source is not None else text
    rows = [(i, r) for i, r in enumerate(re.split(r"[;\n]", text), start=1)]
    weights = _rows_to_matrix(rows, src, "row", False)
    kh, kw = weights.shape
    return Kernel(
        weights,
        name="inline",
        description=f"inline {kh}x{kw} matrix",
        source=src,
        meta={"format": "inline"},
    )


# =====================================================================================
# Generators
# =====================================================================================

_Value = float | str | None
_Build = Callable[[Mapping[str, _Value]], tuple[npt.NDArray[np.float64], str]]


class _ParamError(Exception):
    """Internal: a bad generator parameter (``param`` is its name, when there is one)."""

    def __init__(self, param: str | None, message: str) -> None:
        super().__init__(message)
        self.param = param
        self.message = message


@dataclass(frozen=True)
class GenParam:
    """One parameter of a :class:`Generator`.

    ``kind`` is ``"float"``, ``"int"`` (a whole number) or ``"choice"`` (one of
    ``choices``).  ``required`` parameters have no default; an optional parameter
    whose ``default`` is ``None`` is computed from the others (``default_text``
    says how).  ``positive`` parameters must be > 0.
    """

    name: str
    kind: Literal["float", "int", "choice"]
    help: str
    default: float | str | None = None
    required: bool = False
    positive: bool = False
    choices: tuple[str, ...] = ()
    default_text: str = ""
    minimum: float | None = None

    @property
    def default_repr(self) -> str:
        """The default as shown to users (``required`` when there is none)."""
        if self.required:
            return "required"
        if self.default is None:
            return self.default_text or "auto"
        if isinstance(self.default, float) and self.default.is_integer():
            return str(int(self.default))
        return str(self.default)


@dataclass(frozen=True)
class Generator:
    """A kernel generator: ``name:key=value,...`` (SPEC §2)."""

    name: str
    params: tuple[GenParam, ...]
    description: str
    example: str
    build: _Build = field(repr=False)

    @property
    def params_help(self) -> str:
        """One line: ``sigma (required), size (default: 2*int(4*sigma+0.5)+1)``."""
        if not self.params:
            return "(none)"
        parts = []
        for p in self.params:
            kind = "|".join(p.choices) if p.kind == "choice" else p.kind
            default = "required" if p.required else "default " + p.default_repr
            parts.append(f"{p.name}: {kind} ({default})")
        return ", ".join(parts)

    @property
    def all_defaults(self) -> bool:
        """True when ``name:`` alone (no parameters) is a valid spec."""
        return not any(p.required for p in self.params)

    def resolve(self, raw: Mapping[str, object]) -> dict[str, _Value]:
        """Check and convert raw parameter values (numbers or strings), adding defaults.

        Raises
        ------
        _ParamError
            Unknown parameter, not a number, not whole, out of range, or missing.
        """
        names = [p.name for p in self.params]
        for key in raw:
            if key not in names:
                valid = ", ".join(names) if names else "none"
                raise _ParamError(
                    key,
                    f"unknown parameter {key!r} for {self.name}{_did_you_mean(key, names)}: "
                    f"valid parameters are {valid}",
                )
        out: dict[str, _Value] = {}
        for p in self.params:
            if p.name not in raw:
                if p.required:
                    raise _ParamError(
                        p.name, f"{self.name} needs the parameter {p.name} (e.g. '{self.example}')"
                    )
                out[p.name] = p.default
                continue
            out[p.name] = self._convert(p, raw[p.name])
        return out

    def _convert(self, p: GenParam, value: object) -> _Value:
        if p.kind == "choice":
            text = str(value).strip().lower()
            if text not in p.choices:
                raise _ParamError(
                    p.name,
                    f"{p.name}={value} is not one of {', '.join(p.choices)} "
                    f"(e.g. '{self.name}:{p.name}={p.choices[0]}')",
                )
            return text
        if isinstance(value, bool):
            raise _ParamError(p.name, f"{p.name} must be a number, not {value!r}")
        if isinstance(value, int | float):
            number = float(value)
            if not math.isfinite(number):
                raise _ParamError(p.name, f"{p.name}={value} is not a finite number")
        elif isinstance(value, str):
            if not value.strip():
                raise _ParamError(p.name, f"{p.name} has no value (e.g. '{self.example}')")
            try:
                number = _number(value)
            except _BadNumber as exc:
                raise _ParamError(p.name, f"{p.name}: {exc}") from None
        else:
            raise _ParamError(p.name, f"{p.name} must be a number, not {value!r}")
        if p.kind == "int" and not number.is_integer():
            raise _ParamError(p.name, f"{p.name} must be a whole number, got {value}")
        if p.positive and number <= 0:
            raise _ParamError(p.name, f"{p.name} must be > 0, got {value}")
        if p.minimum is not None and number < p.minimum:
            raise _ParamError(p.name, f"{p.name} must be >= {p.minimum:g}, got {value}")
        return number


def _did_you_mean(word: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(word.lower(), list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _fnum(v: float) -> str:
    return f"{v:g}"


def _check_side(param: str, value: _Value, side: float) -> None:
    if side > MAX_SIDE:
        shown = f"{int(side)}" if side < 1e12 else f"{side:.3g}"
        if not math.isfinite(side):
            shown = "unboundedly many"
        raise _ParamError(
            param,
            f"{param}={_fnum(float(value)) if isinstance(value, float) else value} gives a "
            f"kernel {shown} pixels a side, over the {MAX_SIDE}-pixel limit: use a smaller "
            f"{param}",
        )


def _f(params: Mapping[str, _Value], name: str) -> float:
    v = params[name]
    assert isinstance(v, float)
    return v


def _radius(params: Mapping[str, _Value], gen: str) -> int:
    """scipy's rule ``int(4*sigma + 0.5)`` unless ``size`` (odd) is given."""
    sigma = _f(params, "sigma")
    size = params.get("size")
    if isinstance(size, float):
        side = int(size)
        _check_side("size", size, side)
        if side % 2 == 0:
            raise _ParamError("size", f"size must be odd for {gen} (it is centred), got {side}")
        return side // 2
    rf = 4.0 * sigma + 0.5
    _check_side("sigma", sigma, 2.0 * (math.floor(rf) if math.isfinite(rf) else rf) + 1.0)
    return int(4.0 * sigma + 0.5)


def _gauss1d(sigma: float, radius: int, order: int = 0) -> npt.NDArray[np.float64]:
    """scipy.ndimage's sampled 1-D Gaussian (order 0) or its 2nd derivative (order 2)."""
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    phi: npt.NDArray[np.float64] = np.exp(-0.5 / (sigma * sigma) * x**2)
    phi = phi / phi.sum()
    if order == 0:
        return phi
    q: npt.NDArray[np.float64] = x**2 / sigma**4 - 1.0 / sigma**2
    return q * phi


def _gen_gaussian(p: Mapping[str, _Value]) -> tuple[npt.NDArray[np.float64], str]:
    sigma = _f(p, "sigma")
    r = _radius(p, "gaussian")
    g = _gauss1d(sigma, r)
    k = np.outer(g, g)
    k /= k.sum()
    n = 2 * r + 1
    return k, f"Gaussian blur, sigma={_fnum(sigma)}, {n}x{n} (radius {r}), sums to 1"


def _gen_log(p: Mapping[str, _Value]) -> tuple[npt.NDArray[np.float64], str]:
    sigma = _f(p, "sigma")
    r = _radius(p, "log")
    if r == 0:
        raise _ParamError(
            "size" if p.get("size") is not None else "sigma",
            "a 1x1 Laplacian of Gaussian is all zero: use sigma >= 0.125 or size >= 3",
        )
    g = _gauss1d(sigma, r)
    g2 = _gauss1d(sigma, r, order=2)
    k = np.outer(g2, g) + np.outer(g, g2)
    k -= k.mean()
    n = 2 * r + 1
    return k, (
        f"Laplacian of Gaussian, sigma={_fnum(sigma)}, {n}x{n}, zero-sum, negative centre "
        "(as scipy.ndimage.gaussian_laplace)"
    )


def _gen_unsharp(p: Mapping[str, _Value]) -> tuple[npt.NDArray[np.float64], str]:
    sigma = _f(p, "sigma")
    amount = _f(p, "amount")
    r = _radius(p, "unsharp")
    g = _gauss1d(sigma, r)
    k = -amount * np.outer(g, g)
    k[r, r] += 1.0 + amount
    n = 2 * r + 1
    return k, (
        f"unsharp mask identity + {_fnum(amount)}*(identity - gaussian(sigma={_fnum(sigma)})), "
        f"{n}x{n}, sums to 1"
    )


def _gen_box(p: Mapping[str, _Value]) -> tuple[npt.NDArray[np.float64], str]:
    size = _f(p, "size")
    w = p.get("width")
    h = p.get("height")
    width = int(w) if isinstance(w, float) else int(size)
    height = int(h) if isinstance(h, float) else int(size)
    _check_side("width" if isinstance(w, float) else "size", w if isinstance(w, float) else size,
                width)
    _check_side("height" if isinstance(h, float) else "size", h if isinstance(h, float) else size,
                height)
    k = np.full((height, width), 1.0 / (height * width))
    return k, f"box (mean) filter {height}x{width}, sums to 1"


def _gen_disk(p: Mapping[str, _Value]) -> tuple[npt.NDArray[np.float64], str]:
    radius = _f(p, "radius")
    r = int(math.floor(radius))
    _check_side("radius", radius, 2 * r + 1)
    y, x = np.mgrid[-r : r + 1, -r : r + 1]
    mask = (x * x + y * y) <= radius * radius
    k = mask.astype(np.float64)
    k /= k.sum()
    n = 2 * r + 1
    return k, f"disk (pillbox) of radius {_fnum(radius)}, {n}x{n}, x²+y² <= r², sums to 1"


def _round_line(v: npt.NDArray[np.float64], odd: bool) -> npt.NDArray[np.int64]:
    """Round offsets along a line: half away from zero for odd lengths (keeps the line
    180°-symmetric), half up for even lengths (keeps it connected)."""
    v = np.round(v, 9)  # tan(45°) = 0.9999999999999999 must round like 1
    if odd:
        return (np.sign(v) * np.floor(np.abs(v) + 0.5)).astype(np.int64)
    return np.floor(v + 0.5).astype(np.int64)


def _gen_motion(p: Mapping[str, _Value]) -> tuple[npt.NDArray[np.float64], str]:
    length = int(_f(p, "length"))
    angle = _f(p, "angle")
    _check_side("length", float(length), length)
    a = math.radians(angle % 360.0)
    c, s = math.cos(a), math.sin(a)
    t = np.arange(length, dtype=np.float64) - (length - 1) / 2.0
    # one pixel per step along the major axis: exactly `length` pixels
    if abs(c) >= abs(s):
        cols = np.arange(length)
        up = _round_line(t * (s / c), length % 2 == 1)  # `up` grows upward: rows grow downward
        rows = -up
    else:
        rows = -np.arange(length)
        right = _round_line(t * (c / s), length % 2 == 1)
        cols = right
    rows = rows - rows.min()
    cols = cols - cols.min()
    k = np.zeros((int(rows.max()) + 1, int(cols.max()) + 1))
    k[rows, cols] = 1.0 / length
    kh, kw = k.shape
    return k, (
        f"motion blur: a line of {length} pixels at {_fnum(angle)}° counter-clockwise from +x, "
        f"{kh}x{kw}, sums to 1"
    )


def _gen_identity(p: Mapping[str, _Value]) -> tuple[npt.NDArray[np.float64], str]:
    size = int(_f(p, "size"))
    _check_side("size", float(size), size)
    k = np.zeros((size, size))
    k[size // 2, size // 2] = 1.0
    return k, f"identity {size}x{size}: a 1 at the centre, output = input"


def _gen_shift(p: Mapping[str, _Value]) -> tuple[npt.NDArray[np.float64], str]:
    dx = int(_f(p, "dx"))
    dy = int(_f(p, "dy"))
    r = max(abs(dx), abs(dy))
    side = 2 * r + 1
    _check_side("dx" if abs(dx) >= abs(dy) else "dy", float(dx if abs(dx) >= abs(dy) else dy),
                side)
    k = np.zeros((side, side))
    k[r + dy, r + dx] = 1.0
    return k, (
        f"shift: a 1 at (dy={dy}, dx={dx}) from the centre; convolve moves the image content "
        f"{dx} px right and {dy} px down, correlate moves it the opposite way"
    )


_DERIVATIVES: dict[str, tuple[float, float]] = {
    "sobel": (1, 2), "prewitt": (1, 1), "scharr": (3, 10),
}


def _derivative(kind: str) -> _Build:
    def build(p: Mapping[str, _Value]) -> tuple[npt.NDArray[np.float64], str]:
        edge, mid = _DERIVATIVES[kind]
        kx = np.array([[-edge, 0, edge], [-mid, 0, mid], [-edge, 0, edge]], dtype=np.float64)
        axis = p["axis"]
        if axis == "y":
            return kx.T.copy(), (
                f"{kind} d/dy: bottom minus top under correlate (as scipy.ndimage.{kind}"
                "(axis=0)); convolve flips the sign"
            )
        return kx, (
            f"{kind} d/dx: right minus left under correlate (as scipy.ndimage.{kind}(axis=1)"
            " where it exists); convolve flips the sign"
        )

    return build


_SIGMA = GenParam("sigma", "float", "standard deviation in pixels", required=True, positive=True,
                  minimum=1e-3)
_GSIZE = GenParam("size", "int", "side (odd)", positive=True,
                  default_text="2*int(4*sigma+0.5)+1")
_AXIS = GenParam("axis", "choice", "derivative direction", default="x", choices=("x", "y"))

#: The generators, by name (``imgconv filters`` lists them).
GENERATORS: dict[str, Generator] = {
    g.name: g
    for g in (
        Generator("gaussian", (_SIGMA, _GSIZE),
                  "Gaussian blur as scipy.ndimage.gaussian_filter (radius int(4*sigma+0.5)), "
                  "sums to 1", "gaussian:sigma=2", _gen_gaussian),
        Generator("log", (_SIGMA, _GSIZE),
                  "Laplacian of Gaussian as scipy.ndimage.gaussian_laplace, made zero-sum, "
                  "negative centre", "log:sigma=1.4", _gen_log),
        Generator("unsharp", (_SIGMA,
                              GenParam("amount", "float", "strength", default=1.0), _GSIZE),
                  "unsharp mask: identity + amount*(identity - gaussian), sums to 1",
                  "unsharp:sigma=1,amount=1.5", _gen_unsharp),
        Generator("box", (GenParam("size", "int", "side", default=3.0, positive=True),
                          GenParam("width", "int", "columns", positive=True,
                                   default_text="size"),
                          GenParam("height", "int", "rows", positive=True,
                                   default_text="size")),
                  "box (mean) filter, sums to 1", "box:size=7", _gen_box),
        Generator("disk", (GenParam("radius", "float", "radius in pixels", required=True,
                                    positive=True),),
                  "disk (pillbox) x²+y² <= r², side 2*floor(r)+1, sums to 1",
                  "disk:radius=4", _gen_disk),
        Generator("motion", (GenParam("length", "int", "pixels in the line", required=True,
                                      positive=True),
                             GenParam("angle", "float", "degrees counter-clockwise from +x",
                                      default=0.0)),
                  "motion blur: a line of length pixels at angle degrees counter-clockwise "
                  "from +x (positive goes up-right), sums to 1",
                  "motion:length=15,angle=30", _gen_motion),
        Generator("identity", (GenParam("size", "int", "side", default=3.0, positive=True),),
                  "identity: a 1 at the centre", "identity:size=3", _gen_identity),
        Generator("shift", (GenParam("dx", "int", "columns (right)", default=0.0),
                            GenParam("dy", "int", "rows (down)", default=0.0)),
                  "one-hot at (dy, dx) from the centre: convolve moves the image content "
                  "dx right and dy down, correlate the opposite way", "shift:dx=2,dy=-1",
                  _gen_shift),
        Generator("sobel", (_AXIS,), "3x3 Sobel derivative (axis=x: right minus left under "
                  "correlate)", "sobel:axis=y", _derivative("sobel")),
        Generator("prewitt", (_AXIS,), "3x3 Prewitt derivative (axis=x: right minus left "
                  "under correlate)", "prewitt:axis=y", _derivative("prewitt")),
        Generator("scharr", (_AXIS,), "3x3 Scharr derivative (axis=x: right minus left "
                  "under correlate)", "scharr:axis=y", _derivative("scharr")),
    )
}

_GEN_RE = re.compile(r"([A-Za-z][A-Za-z0-9_-]+):(.*)", re.DOTALL)


def _split_params(text: str, gen: Generator) -> dict[str, object]:
    params: dict[str, object] = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        key, eq, value = item.partition("=")
        key = key.strip().lower()
        if not eq or not key:
            raise _ParamError(
                key or None,
                f"parameter {item!r} must be written key=value (e.g. '{gen.example}')",
            )
        if key in params:
            raise _ParamError(key, f"parameter {key} is given twice")
        params[key] = value.strip()
    return params


def _run_generator(
    gen: Generator,
    raw: Mapping[str, object],
    source: str,
    lines: Mapping[str, int] | None = None,
    line: int | None = None,
    with_name: bool = True,
) -> Kernel:
    """Build a generator's kernel; parameter errors become FilterErrors at their line."""
    try:
        params = gen.resolve(raw)
        weights, description = gen.build(params)
    except _ParamError as exc:
        where = (lines or {}).get(exc.param or "", line)
        named = with_name and not exc.message.startswith(gen.name + " ")
        msg = f"{gen.name}: {exc.message}" if named else exc.message
        raise FilterError(msg, source, where) from None
    return Kernel(
        weights,
        name=gen.name,
        description=description,
        source=source,
        meta={"format": "generator", "generator": gen.name, "params": dict(params)},
    )


def _unknown_generator(name: str, spec: str, source: str, line: int | None = None) -> FilterError:
    return FilterError(
        f"unknown generator {name!r} in {spec!r}{_did_you_mean(name, list(GENERATORS))}: "
        f"generators are {', '.join(GENERATORS)} (run 'imgconv filters' for their parameters)",
        source,
        line,
    )


def generate(spec: str, source: str | None = None) -> Kernel:
    """Build a kernel from a generator spec ``name:key=value,key=value`` (SPEC §2).

    ``name:`` (or ``name``) alone uses the defaults when every parameter has one.
    See :data:`GENERATORS` for the names, parameters and defaults.

    Parameters
    ----------
    spec
        E.g. ``"gaussian:sigma=2"``, ``"motion:length=15,angle=30"``, ``"box:"``.
    source
        Used in errors instead of ``spec``.

    Returns
    -------
    Kernel
        Named after the generator (``gaussian``), ``source`` the spec text, and
        ``meta["params"]`` the parameters used (defaults included).

    Raises
    ------
    FilterError
        Unknown generator, or a parameter that is unknown, not a number, not a whole
        number, out of range, or gives a kernel over :data:`MAX_SIDE` pixels a side
        (the message names the parameter).
    """
    return _generate_text(spec, source if source is not None else spec)


def _generate_text(spec: str, source: str, line: int | None = None,
                   with_name: bool = False) -> Kernel:
    name, _, rest = spec.strip().partition(":")
    gname = name.strip().lower()
    gen = GENERATORS.get(gname)
    if gen is None:
        raise _unknown_generator(name.strip(), spec, source, line)
    try:
        raw = _split_params(rest, gen)
    except _ParamError as exc:
        raise FilterError(f"{gen.name}: {exc.message}" if with_name else exc.message,
                          source, line) from None
    return _run_generator(gen, raw, source, line=line, with_name=with_name)


# =====================================================================================
# YAML
# =====================================================================================


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _yaml_error(exc: yaml.YAMLError, text: str, source: str) -> FilterError:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        parts = [p for p in (exc.context, exc.problem) if p]
        msg = ", ".join(parts) or "syntax error"
        line = None if mark is None else int(mark.line) + 1
        return FilterError(f"not valid YAML: {msg}", source, line)
    position = getattr(exc, "position", None)
    line = text.count("\n", 0, position) + 1 if isinstance(position, int) else None
    reason = getattr(exc, "reason", None) or str(exc).splitlines()[0]
    return FilterError(f"not valid YAML: {reason}", source, line)


def _construct(node: yaml.Node, source: str, what: str) -> object:
    """The Python value of a node, with yaml.SafeLoader semantics (tags never executed)."""
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = _line(node) if mark is None else int(mark.line) + 1
        problem = exc.problem or "cannot be read"
        if "constructor for the tag" in problem:
            problem = problem.replace("could not determine a constructor for the tag",
                                      "YAML tag not allowed:")
            raise FilterError(f"{problem} (filter files are read like yaml.safe_load: plain "
                              "values only, nothing is executed)", source, line) from None
        raise FilterError(f"{what}: {problem}", source, line) from None
    except Exception as exc:  # noqa: BLE001 - e.g. ValueError for a bad timestamp
        raise FilterError(f"{what}: {exc}", source, _line(node)) from None
    finally:
        loader.dispose()


def _yaml_number(node: yaml.Node, source: str, what: str) -> float:
    if not isinstance(node, yaml.ScalarNode):
        raise FilterError(f"{what} must be a number, not a {_kind(node)}", source, _line(node))
    value = _construct(node, source, what)
    if isinstance(value, bool) or value is None:
        raise FilterError(f"{what} must be a number, not {node.value or 'empty'!r}",
                          source, _line(node))
    if isinstance(value, int | float):
        number = float(value)
        if not math.isfinite(number):
            raise FilterError(f"{what}: {node.value!r} is not a finite number (NaN and infinity "
                              "are not allowed)", source, _line(node))
        return number
    if isinstance(value, str):
        try:
            return _number(value)
        except _BadNumber as exc:
            raise FilterError(f"{what}: {exc}", source, _line(node)) from None
    raise FilterError(f"{what} must be a number, not {node.value!r}", source, _line(node))


def _yaml_text(node: yaml.Node, source: str, key: str) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise FilterError(f"{key}: must be text, not a {_kind(node)}", source, _line(node))
    value = _construct(node, source, key)
    if value is None:
        return ""
    return value if isinstance(value, str) else str(node.value)


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "mapping"
    if isinstance(node, yaml.SequenceNode):
        return "list"
    return "value"


def _yaml_kernel(node: yaml.Node, source: str) -> npt.NDArray[np.float64]:
    """The weights of a ``kernel:`` value: a list of rows or a block string (TXT syntax)."""
    if isinstance(node, yaml.ScalarNode):
        value = _construct(node, source, "kernel")
        if isinstance(value, str):
            if "\n" not in value.strip() and ";" in value:
                rows = [(i, r) for i, r in enumerate(value.split(";"), start=1)]
                try:
                    return _rows_to_matrix(rows, "kernel", "row", False)
                except FilterError as exc:
                    raise FilterError(str(exc), source, _line(node)) from None
            offset = _line(node) if node.style in ("|", ">") else _line(node) - 1
            return _txt_matrix(value, source, offset)[0]
        if value is None:
            raise FilterError("kernel: is empty: give a list of rows, e.g. [[1, 2, 1]]",
                              source, _line(node))
        raise FilterError(
            f"kernel: is a single value ({node.value!r}): a kernel is a list of rows, e.g. "
            "[[1, 2, 1], [2, 4, 2], [1, 2, 1]] (a scalar is not a 2-D kernel)",
            source, _line(node),
        )
    if isinstance(node, yaml.MappingNode):
        raise FilterError("kernel: must be a list of rows or a block string, not a mapping "
                          "(for a generator use 'generator:')", source, _line(node))
    assert isinstance(node, yaml.SequenceNode)
    if not node.value:
        raise FilterError("kernel: is an empty list: give at least one row of numbers",
                          source, _line(node))
    values: list[list[float]] = []
    first: tuple[int, int] | None = None
    for ri, rnode in enumerate(node.value, start=1):
        rl = _line(rnode)
        row: list[float]
        if isinstance(rnode, yaml.ScalarNode):
            rv = _construct(rnode, source, "kernel")
            if isinstance(rv, str):
                try:
                    row = [_number(t) for t in _tokens(rv)]
                except _BadNumber as exc:
                    raise FilterError(f"kernel row: {exc}", source, rl) from None
            else:
                raise FilterError(
                    f"kernel: a row is the single value {rnode.value!r}: write each row as a "
                    "list, e.g. [[1, 2, 1]] for a 1x3 kernel (a flat list is not a 2-D kernel)",
                    source, rl,
                )
        elif isinstance(rnode, yaml.SequenceNode):
            row = []
            for enode in rnode.value:
                if not isinstance(enode, yaml.ScalarNode):
                    raise FilterError(
                        f"kernel: a value in the row on line {rl} is a {_kind(enode)}: a kernel "
                        "must be 2-D (for a 3-D or 4-D array use a .npy file with a slice, "
                        "e.g. 'w.npy[0,0]')",
                        source, _line(enode),
                    )
                row.append(_yaml_number(enode, source, "kernel value"))
        else:
            raise FilterError("kernel: a row is a mapping: write rows as lists of numbers",
                              source, rl)
        if not row:
            raise FilterError("kernel: empty row: give every row its numbers", source, rl)
        if first is None:
            first = (rl, len(row))
        elif len(row) != first[1]:
            raise FilterError(
                f"kernel row {ri} (line {rl}) has {_values(len(row))}, row 1 (line "
                f"{first[0]}) has {first[1]}: every row needs the same number of values",
                source, rl,
            )
        values.append(row)
    return np.array(values, dtype=np.float64)


def _yaml_generator(node: yaml.Node, source: str, key_line: int) -> Kernel:
    if isinstance(node, yaml.ScalarNode):
        value = _construct(node, source, "generator")
        if not isinstance(value, str) or not value.strip():
            raise FilterError("generator: give {type: NAME, param: value, ...} or "
                              "'NAME:param=value'", source, _line(node))
        return _generate_text(value, source, _line(node), with_name=True)
    if not isinstance(node, yaml.MappingNode):
        raise FilterError("generator: must be a mapping such as {type: gaussian, sigma: 1.5}",
                          source, _line(node))
    gname: str | None = None
    raw: dict[str, object] = {}
    lines: dict[str, int] = {}
    for knode, vnode in node.value:
        key = _construct(knode, source, "generator key")
        if not isinstance(key, str):
            raise FilterError(f"generator: key {knode.value!r} is not a word", source,
                              _line(knode))
        key = key.strip().lower()
        if key in lines or (key == "type" and gname is not None):
            raise FilterError(f"generator: {key} is given twice", source, _line(knode))
        if key == "type":
            t = _construct(vnode, source, "generator type") if isinstance(
                vnode, yaml.ScalarNode) else None
            if not isinstance(t, str):
                raise FilterError("generator: type must be a generator name "
                                  f"({', '.join(GENERATORS)})", source, _line(vnode))
            gname = t.strip().lower()
            lines["type"] = _line(knode)
            continue
        if not isinstance(vnode, yaml.ScalarNode):
            raise FilterError(f"generator: {key} must be a single value, not a {_kind(vnode)}",
                              source, _line(vnode))
        raw[key] = _construct(vnode, source, f"generator {key}")
        lines[key] = _line(knode)
    if gname is None:
        raise FilterError("generator: has no type (e.g. {type: gaussian, sigma: 1.5}; "
                          f"types: {', '.join(GENERATORS)})", source, key_line)
    gen = GENERATORS.get(gname)
    if gen is None:
        raise _unknown_generator(gname, gname, source, lines["type"])
    return _run_generator(gen, raw, source, lines, key_line)


def _fraction_text(node: yaml.Node) -> str | None:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else None


def parse_yaml(text: str, source: str | None = None) -> Kernel:
    """Parse a YAML filter file (SPEC §2), always with ``yaml.SafeLoader`` semantics.

    Keys: ``name``, ``description``, ``kernel`` (a list of rows of numbers or
    fraction strings, or a block string in TXT syntax) or ``generator``
    (``{type: gaussian, sigma: 1.5}`` or ``"gaussian:sigma=1.5"``), at most one of
    ``scale`` (number or ``"1/273"``), ``divisor`` (not 0) and ``normalize``
    (``true``: scale = 1/sum, refused for a zero-sum kernel), ``offset`` and
    ``anchor: [row, col]``.  A top level that is a list of rows is read as a bare
    kernel.

    Parameters
    ----------
    text
        The file's text.
    source
        The file name (used in errors; its stem is the default name).

    Returns
    -------
    Kernel
        ``meta["format"]`` is ``"yaml"``; ``meta["scale_text"]`` is the scale, divisor
        or normalize value as written, when given.

    Raises
    ------
    FilterError
        With the line: YAML syntax errors, tags (never executed), unknown or repeated
        keys (with a did-you-mean), both or neither of kernel/generator, more than one
        of scale/divisor/normalize, bad values, ragged rows, non-2-D kernels, a bad anchor.
    """
    src = source if source is not None else "<yaml>"
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, src) from None
    except RecursionError:
        raise FilterError("not valid YAML: nested too deeply", src) from None
    if root is None:
        raise FilterError("the file is empty: expected a mapping with 'kernel:' or 'generator:'",
                          src)
    _construct(root, src, "YAML value")  # safe_load semantics: refuses python/* tags etc.
    if isinstance(root, yaml.SequenceNode):
        weights = _yaml_kernel(root, src)
        kh, kw = weights.shape
        return Kernel(weights, name=_stem(source), description=f"{kh}x{kw} kernel from {src}",
                      source=src, meta={"format": "yaml"})
    if not isinstance(root, yaml.MappingNode):
        raise FilterError(
            "the top level must be a mapping of keys (name, description, kernel or generator, "
            f"scale, ...), not a single value {str(root.value)[:40]!r}",
            src, _line(root),
        )
    entries: dict[str, tuple[int, yaml.Node]] = {}
    for knode, vnode in root.value:
        kl = _line(knode)
        key = _construct(knode, src, "key") if isinstance(knode, yaml.ScalarNode) else None
        if not isinstance(key, str):
            raise FilterError(f"key {str(knode.value)[:40]!r} is not a word: the keys are "
                              f"{', '.join(YAML_KEYS)}", src, kl)
        if key not in YAML_KEYS:
            raise FilterError(
                f"unknown key {key!r}{_did_you_mean(key, YAML_KEYS)}: the keys are "
                f"{', '.join(YAML_KEYS)}",
                src, kl,
            )
        if key in entries:
            raise FilterError(f"key {key!r} is given twice (lines {entries[key][0]} and {kl})",
                              src, kl)
        entries[key] = (kl, vnode)

    if "kernel" in entries and "generator" in entries:
        raise FilterError(
            f"give either 'kernel:' (line {entries['kernel'][0]}) or 'generator:' (line "
            f"{entries['generator'][0]}), not both", src, entries["generator"][0],
        )
    scaling = [k for k in ("scale", "divisor", "normalize") if k in entries]
    if len(scaling) > 1:
        a, b = scaling[0], scaling[1]
        raise FilterError(
            f"give at most one of scale, divisor and normalize ({a} on line {entries[a][0]}, "
            f"{b} on line {entries[b][0]})", src, entries[b][0],
        )

    name = _stem(source)
    description = ""
    if "name" in entries:
        name = _yaml_text(entries["name"][1], src, "name").strip()
        if not name:
            raise FilterError("name: is empty", src, entries["name"][0])
    if "description" in entries:
        description = _yaml_text(entries["description"][1], src, "description").strip()

    meta: dict[str, object] = {"format": "yaml"}
    if "kernel" in entries:
        weights = _yaml_kernel(entries["kernel"][1], src)
    elif "generator" in entries:
        gk = _yaml_generator(entries["generator"][1], src, entries["generator"][0])
        weights = np.array(gk.weights)
        description = description or gk.description
        meta.update({k: v for k, v in gk.meta.items() if k != "format"})
    else:
        raise FilterError("no 'kernel:' or 'generator:' key: give the kernel as a list of rows "
                          "or a generator such as {type: gaussian, sigma: 1.5}", src)

    scale = 1.0
    if "scale" in entries:
        sl, sn = entries["scale"]
        scale = _yaml_number(sn, src, "scale")
        if scale == 0.0:
            raise FilterError("scale: 0 makes every output zero: remove it or give the scale",
                              src, sl)
        meta["scale_text"] = _fraction_text(sn)
    elif "divisor" in entries:
        dl, dn = entries["divisor"]
        divisor = _yaml_number(dn, src, "divisor")
        if divisor == 0.0:
            raise FilterError("divisor: cannot be 0 (it divides the kernel): use the kernel's "
                              "sum, or drop divisor for a zero-sum kernel", src, dl)
        scale = 1.0 / divisor
        if not math.isfinite(scale) or scale == 0.0:
            raise FilterError(f"divisor: {dn.value!r} is out of range", src, dl)
        meta["scale_text"] = f"1/{_fraction_text(dn)}"
    elif "normalize" in entries:
        nl, nn = entries["normalize"]
        flag = _construct(nn, src, "normalize") if isinstance(nn, yaml.ScalarNode) else None
        if not isinstance(flag, bool):
            raise FilterError("normalize: must be true or false", src, nl)
        if flag:
            with np.errstate(over="ignore"):
                total = float(weights.sum())
                abs_total = float(np.abs(weights).sum())
            if not (math.isfinite(total) and math.isfinite(1.0 / total if total else 0.0)):
                raise FilterError("normalize: the kernel's sum is out of range (too large or "
                                  "too small to divide by): give a scale instead", src, nl)
            if abs(total) <= 1e-12 * abs_total:
                raise FilterError(
                    "normalize: true, but the kernel sums to zero (a zero-sum kernel such as "
                    "Sobel, Laplacian or LoG cannot be divided by its sum): remove normalize "
                    "or give a scale",
                    src, nl,
                )
            scale = 1.0 / total
            meta["scale_text"] = "normalize"

    offset = 0.0
    if "offset" in entries:
        offset = _yaml_number(entries["offset"][1], src, "offset")

    anchor: tuple[int, int] | None = None
    if "anchor" in entries:
        al, an = entries["anchor"]
        items = an.value if isinstance(an, yaml.SequenceNode) else None
        vals = [(_construct(e, src, "anchor") if isinstance(e, yaml.ScalarNode) else None)
                for e in items or []]
        if (items is None or len(vals) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in vals)):
            raise FilterError("anchor: must be [row, col], two whole numbers (0-based)", src, al)
        anchor = (int(vals[0]), int(vals[1]))  # type: ignore[call-overload]
        try:
            Kernel(weights, anchor=anchor)
        except FilterError as exc:
            raise FilterError(f"anchor: {exc}", src, al) from None

    try:
        kernel = Kernel(weights, scale=scale, offset=offset, anchor=anchor, name=name,
                        description=description, meta=meta)
    except FilterError as exc:  # raised without a source: the message is bare
        line = entries.get("kernel", entries.get("generator", (None, None)))[0]
        raise FilterError(str(exc), src, line) from None
    return dataclasses.replace(kernel, source=src)


def _yaml_value(v: float) -> str:
    if float(v).is_integer() and abs(v) < 2**53:
        return str(int(v))
    return repr(float(v))


def _scale_text(v: float) -> str:
    """``1/273`` rather than ``0.003663003663003663`` when the scale is such a fraction."""
    from fractions import Fraction

    fr = Fraction(float(v)).limit_denominator(10**9)
    if fr.numerator == 1 and float(fr) == float(v):
        return f'"1/{fr.denominator}"'
    return _yaml_value(v)


def kernel_to_yaml(kernel: Kernel, *, name: str | None = None,
                   description: str | None = None) -> str:
    """The YAML text of a kernel, readable by :func:`parse_yaml` (anchor always written).

    Weights are written exactly (``repr`` of the floats); a scale other than 1 and
    an offset other than 0 are written too.
    """
    doc_name = name if name is not None else kernel.name
    doc_desc = description if description is not None else kernel.description
    # a JSON string (ASCII, escaped) is a valid YAML double-quoted scalar
    lines = [f"name: {json.dumps(doc_name)}"]
    if doc_desc:
        lines.append(f"description: {json.dumps(doc_desc)}")
    lines.append("kernel:")
    for row in kernel.weights:
        lines.append("  - [" + ", ".join(_yaml_value(float(v)) for v in row) + "]")
    if kernel.scale != 1.0:
        lines.append(f"scale: {_scale_text(kernel.scale)}")
    if kernel.offset != 0.0:
        lines.append(f"offset: {_yaml_value(kernel.offset)}")
    cy, cx = kernel.center
    lines.append(f"anchor: [{cy}, {cx}]")
    return "\n".join(lines) + "\n"


# =====================================================================================
# Files, arrays, the shipped library, and load_filter
# =====================================================================================


def _read_text(path: Path, source: str) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FilterError("no such file", source) from None
    except OSError as exc:
        raise FilterError(f"cannot read the file: {exc.strerror or exc}", source) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FilterError(f"not a UTF-8 text file (byte {exc.start}): is it really a filter "
                          "file?", source) from None


_Index = tuple[int | slice | EllipsisType, ...]
_INT_RE = re.compile(r"[+-]?[0-9]{1,18}")


def _parse_index(text: str, source: str) -> _Index:
    """Parse numpy basic indexing (integers, ``start:stop:step`` slices, ``...``), no eval."""
    help_ = ("use integers, slices like 1:4 or ::2, and '...' separated by commas "
             "(numpy basic indexing), e.g. [3,0] or [:,:,0,3]")
    if not text.strip():
        return ()
    items = text.split(",")
    if len(items) > 1 and not items[-1].strip():
        items = items[:-1]
    out: list[int | slice | EllipsisType] = []
    for raw in items:
        item = raw.strip()
        if item == "...":
            if Ellipsis in out:
                raise FilterError(f"index [{text}] has more than one '...'", source)
            out.append(Ellipsis)
        elif ":" in item:
            parts = [p.strip() for p in item.split(":")]
            if len(parts) > 3 or any(p and not _INT_RE.fullmatch(p) for p in parts):
                raise FilterError(f"bad slice {item!r} in [{text}]: {help_}", source)
            bounds = [int(p) if p else None for p in parts]
            if len(bounds) == 3 and bounds[2] == 0:
                raise FilterError(f"slice {item!r} has step 0", source)
            out.append(slice(*bounds))
        elif _INT_RE.fullmatch(item):
            out.append(int(item))
        else:
            raise FilterError(f"bad index {item!r} in [{text}]: {help_}", source)
    return tuple(out)


def _load_array(path: Path, source: str) -> npt.NDArray[np.float64]:
    """A .npy (no pickles) or .csv file as a float64 array (any number of dimensions)."""
    if not path.is_file():
        raise FilterError("no such file", source)
    if path.suffix.lower() == ".csv":
        return _txt_matrix(_read_text(path, source), source)[0]
    try:
        arr = np.load(path, allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - numpy raises many types for bad files
        if "allow_pickle" in str(exc):
            raise FilterError("holds Python objects (a pickle), which imgconv never loads: "
                              "save a numeric array with np.save", source) from None
        raise FilterError(f"cannot read as a .npy array: {exc}", source) from None
    if not isinstance(arr, np.ndarray):
        close = getattr(arr, "close", None)
        if callable(close):
            close()
        raise FilterError("not a .npy array (an .npz archive?): save one array with np.save",
                          source)
    if arr.dtype.kind not in "biuf":
        raise FilterError(f"the array has dtype {arr.dtype}: a kernel must be real numbers",
                          source)
    return np.asarray(arr, dtype=np.float64)


def _array_kernel(arr: npt.NDArray[np.float64], path: Path, source: str,
                  original: tuple[int, ...]) -> Kernel:
    if arr.ndim != 2:
        hint = ""
        if arr.ndim > 2:
            more = ",".join(["0"] * (arr.ndim - 2))
            example = (f"{source[:-1]},{more}]" if source.endswith("]")
                       else f"{path.name}[{more}]")
            hint = f": pick a 2-D slice, e.g. '{example}'"
        raise FilterError(f"the array has shape {arr.shape}, a kernel must be 2-D{hint}", source)
    if not np.all(np.isfinite(arr)):
        raise FilterError("the array has NaN or infinite values: replace them with numbers",
                          source)
    kh, kw = arr.shape
    desc = f"{kh}x{kw} array from {source}"
    if original != arr.shape:
        desc += f" (of an array of shape {original})"
    return Kernel(arr, name=_stem(str(path)), description=desc, source=source,
                  meta={"format": path.suffix.lower().lstrip(".")})


def _load_sliced(path_text: str, index_text: str, source: str) -> Kernel:
    path = Path(path_text)
    index = _parse_index(index_text, source)
    arr = _load_array(path, source)
    try:
        sub = arr[index]
    except (IndexError, ValueError, TypeError) as exc:
        raise FilterError(f"cannot index the array of shape {arr.shape} with [{index_text}]: "
                          f"{exc}", source) from None
    k = _array_kernel(np.asarray(sub, dtype=np.float64), path, source, arr.shape)
    # w.npy[3,0] and w.npy[3,1] are different filters: name them apart (w_3_0, w_3_1)
    label = re.sub(r"[^A-Za-z0-9.+-]+", "_", index_text).strip("_")
    return dataclasses.replace(k, name=f"{k.name}_{label}" if label else k.name)


def load_file(path: str | os.PathLike[str]) -> Kernel:
    """Load a filter file by its extension: ``.yaml``/``.yml``, ``.txt``, ``.npy``, ``.csv``.

    Raises
    ------
    FilterError
        Naming the file (and the line for text files): missing or unreadable file,
        unsupported extension, or bad content.
    """
    p = Path(path)
    source = str(path)
    suffix = p.suffix.lower()
    if suffix not in SUPPORTED_EXTENSIONS:
        raise FilterError(
            f"unsupported filter file extension {p.suffix or '(none)'!r}: use "
            f"{', '.join(SUPPORTED_EXTENSIONS)}", source,
        )
    if suffix in (".npy", ".csv"):
        arr = _load_array(p, source)
        return _array_kernel(arr, p, source, arr.shape)
    if not p.is_file():
        raise FilterError("no such file" if not p.exists() else "not a file", source)
    text = _read_text(p, source)
    if suffix == ".txt":
        return parse_txt(text, source)
    return parse_yaml(text, source)


def shipped_dir() -> Path:
    """The folder of the shipped filter library.

    ``imgconv/filters`` when installed (pyproject maps the top-level ``filters/`` to the
    package ``imgconv.filters``), else ``filters/`` beside the package in a checkout.
    """
    here = Path(__file__).resolve().parent
    for cand in (here / "filters", here.parent / "filters"):
        if cand.is_dir():
            return cand
    raise FilterError(f"the shipped filter library is missing (looked in {here / 'filters'} "
                      f"and {here.parent / 'filters'}): reinstall imgconv")


def _shipped_index() -> dict[str, Path]:
    """Lower-case name -> file, for every shipped filter file."""
    index: dict[str, Path] = {}
    for p in sorted(shipped_dir().iterdir()):
        if p.is_file() and p.suffix.lower() in SHIPPED_EXTENSIONS:
            index.setdefault(p.stem.lower(), p)
    return index


def shipped_names() -> list[str]:
    """The names of the shipped filters, sorted (``box3``, ``emboss``, ``gaussian5``, …)."""
    return sorted(p.stem for p in _shipped_index().values())


def load_shipped(name: str) -> Kernel:
    """A shipped filter by name (case-insensitive, with or without ``.yaml``/``.txt``).

    The kernel's ``name`` is the shipped name, its ``source`` the file.
    """
    key = name.strip().lower()
    for ext in SHIPPED_EXTENSIONS:
        if key.endswith(ext):
            key = key[: -len(ext)]
            break
    path = _shipped_index().get(key)
    if path is None:
        raise FilterError(f"no shipped filter named {name!r}"
                          f"{_did_you_mean(key, shipped_names())} (run 'imgconv filters')")
    k = load_file(path)
    return k if k.name == path.stem else dataclasses.replace(k, name=path.stem)


def shipped_filters() -> list[Kernel]:
    """Every shipped filter, loaded, sorted by name."""
    return [load_shipped(n) for n in shipped_names()]


_SLICE_RE = re.compile(r"(?P<path>.+\.(?:npy|csv))\[(?P<index>[^\[\]]*)\]", re.IGNORECASE)


def load_filter(spec: str | os.PathLike[str] | Kernel | npt.NDArray[np.generic]) -> Kernel:
    """Load a filter from anything the command line accepts (SPEC §2).

    A :class:`Kernel` is returned as is and an array goes through :func:`as_kernel`.
    A string is, in this order:

    1. an existing file (``.yaml``/``.yml``/``.txt``/``.npy``/``.csv``; another
       extension is an error; an existing file without extension, or a folder,
       is skipped so it cannot hide a shipped name);
    2. ``FILE.npy[index]`` (or ``.csv``): a 2-D slice with numpy basic indexing,
       e.g. ``w.npy[3,0]`` or ``w.npy[:,:,0,3]`` (parsed, never evaluated);
    3. a generator ``name:key=value,...`` (``name:`` alone when every parameter
       has a default);
    4. an inline matrix (numbers, fractions, spaces, commas, ``;`` between rows);
    5. a shipped filter name (case-insensitive, with or without ``.yaml``); a bare
       generator name whose parameters all have defaults (``box``) also works.

    Returns
    -------
    Kernel
        ``name``: the YAML ``name:`` else the file stem; ``inline``; the generator
        type; the shipped name.  ``source``: the path or the spec text.

    Raises
    ------
    FilterError
        For anything that cannot be loaded, with the file and line where known, and
        a did-you-mean for unknown names.
    """
    if isinstance(spec, Kernel):
        return spec
    if isinstance(spec, np.ndarray):
        return as_kernel(spec)
    if isinstance(spec, os.PathLike):
        return load_file(spec)
    if not isinstance(spec, str):
        raise FilterError(f"cannot use a {type(spec).__name__} as a filter: give a file, a "
                          "shipped name, an inline matrix, a generator or a 2-D array")
    text = spec.strip()
    if not text:
        raise FilterError("empty filter: give a file, a shipped name (run 'imgconv filters'), "
                          "an inline matrix such as '1 2 1; 2 4 2; 1 2 1' or a generator "
                          "such as 'gaussian:sigma=2'")
    # 1. an existing file
    for cand in dict.fromkeys((spec, text)):
        if os.path.isfile(cand) and Path(cand).suffix:
            return load_file(cand)
    # 2. an array file with a slice
    m = _SLICE_RE.fullmatch(text)
    if m:
        return _load_sliced(m["path"], m["index"], text)
    if re.search(r"\.(npy|csv)\[", text, re.IGNORECASE) and not text.endswith("]"):
        raise FilterError("a slice of an array file must end with ']', e.g. 'w.npy[3,0]'",
                          text)
    # 3. a generator
    m = _GEN_RE.fullmatch(text)
    if m and (m[1].lower() in GENERATORS or "=" in m[2] or not m[2].strip()):
        return generate(text)
    # 4. an inline matrix
    if looks_inline(text):
        return parse_inline(text)
    # 5. a shipped filter
    key = text.lower()
    for ext in SHIPPED_EXTENSIONS:
        if key.endswith(ext):
            key = key[: -len(ext)]
            break
    index = _shipped_index()
    if key in index:
        return load_shipped(key)
    gen = GENERATORS.get(key)
    if gen is not None:
        if gen.all_defaults:
            return generate(gen.name)
        raise FilterError(f"{gen.name!r} is a generator and needs parameters, e.g. "
                          f"'{gen.example}' ({gen.params_help})")
    if os.path.isdir(text):
        raise FilterError("is a folder, not a filter file", text)
    if os.path.isfile(text):
        raise FilterError(f"the file has no extension: use {', '.join(SUPPORTED_EXTENSIONS)}",
                          text)
    if "/" in text or os.sep in text or Path(text).suffix.lower() in SUPPORTED_EXTENSIONS:
        raise FilterError("no such file", text)
    if re.search(r"[\s,;]", text) and any(
        _NUM_RE.fullmatch(tok) for tok in re.split(r"[\s,;]+", text)
    ):
        return parse_inline(text)  # reports the token that is not a number
    names = sorted(index)
    close = difflib.get_close_matches(key, names + list(GENERATORS), n=1, cutoff=0.6)
    hint = ""
    if close:
        suggestion = GENERATORS[close[0]].example if close[0] in GENERATORS and \
            close[0] not in index else close[0]
        hint = f": did you mean {suggestion!r}?"
    raise FilterError(f"no filter file, generator or shipped filter named {text!r}{hint} "
                      "(run 'imgconv filters' for the list)")
