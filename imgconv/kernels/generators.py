"""Kernel generators: ``name:key=value,...`` (docs/semantics.md §2).

:data:`GENERATORS` is the declarative table: each :class:`Generator` lists its
parameters (:class:`GenParam`: kind, default, range) and a ``build`` function that
returns the weights and a description.  A new generator is one builder and one row.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from imgconv.errors import FilterError
from imgconv.kernels.kernel import MAX_SIDE, Kernel, spell_number
from imgconv.kernels.numbers import BadNumber, number
from imgconv.spelling import did_you_mean

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
    """A kernel generator: ``name:key=value,...`` (docs/semantics.md §2)."""

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
                    f"unknown parameter {key!r} for {self.name}{did_you_mean(key, names)}: "
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
            x = float(value)
            if not math.isfinite(x):
                raise _ParamError(p.name, f"{p.name}={value} is not a finite number")
        elif isinstance(value, str):
            if not value.strip():
                raise _ParamError(p.name, f"{p.name} has no value (e.g. '{self.example}')")
            try:
                x = number(value)
            except BadNumber as exc:
                raise _ParamError(p.name, f"{p.name}: {exc}") from None
        else:
            raise _ParamError(p.name, f"{p.name} must be a number, not {value!r}")
        if p.kind == "int" and not x.is_integer():
            raise _ParamError(p.name, f"{p.name} must be a whole number, got {value}")
        if p.positive and x <= 0:
            raise _ParamError(p.name, f"{p.name} must be > 0, got {value}")
        if p.minimum is not None and x < p.minimum:
            raise _ParamError(p.name, f"{p.name} must be >= {p.minimum:g}, got {value}")
        return x


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


def run_generator(
    gen: Generator,
    raw: Mapping[str, object],
    source: str,
    lines: Mapping[str, int] | None = None,
    line: int | None = None,
    with_name: bool = True,
) -> Kernel:
    """Build a generator's kernel from raw parameter values (text or numbers).

    Parameter errors become FilterErrors at the parameter's line in ``lines``, else
    at ``line``; ``with_name`` prefixes the message with the generator's name.
    """
    try:
        params = gen.resolve(raw)
        weights, description = gen.build(params)
    except _ParamError as exc:
        where = (lines or {}).get(exc.param or "", line)
        raise _filter_error(gen, exc, source, where, with_name) from None
    return Kernel(
        weights,
        name=gen.name,
        description=description,
        source=source,
        meta={"format": "generator", "generator": gen.name, "params": dict(params),
              "file_name": file_name(gen.name, params, raw)},
    )


def file_name(gen: str, params: Mapping[str, _Value], given: Iterable[object]) -> str:
    """The name part of a generator's kernel in default output names (docs/semantics.md
    §4): its name, then ``-KEYVALUE`` for each parameter ``given``, in that order
    (``motion-length15-angle30``); a number by
    :func:`~imgconv.kernels.kernel.spell_number` (``sigma=2.0`` is ``sigma2``), a
    choice as resolved (``sobel-axisy``).  Defaults are written only when given."""
    parts = [gen]
    for key in given:
        value = params[str(key)]
        parts.append(f"{key}{spell_number(value) if isinstance(value, float) else value}")
    return "-".join(parts)


def _filter_error(gen: Generator, exc: _ParamError, source: str, line: int | None,
                  with_name: bool) -> FilterError:
    named = with_name and not exc.message.startswith(gen.name + " ")
    return FilterError(f"{gen.name}: {exc.message}" if named else exc.message, source, line)


def unknown_generator(name: str, spec: str, source: str, line: int | None = None) -> FilterError:
    """The error for an unknown generator name, with a did-you-mean."""
    return FilterError(
        f"unknown generator {name!r} in {spec!r}{did_you_mean(name, list(GENERATORS))}: "
        f"generators are {', '.join(GENERATORS)} (run 'imgconv filters' for their parameters)",
        source,
        line,
    )


def generate(spec: str, source: str | None = None) -> Kernel:
    """Build a kernel from a generator spec ``name:key=value,key=value`` (docs/semantics.md §2).

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
        Named after the generator (``gaussian``), ``source`` the spec text,
        ``meta["params"]`` the parameters used (defaults included) and
        ``meta["file_name"]`` its part of default output names (:func:`file_name`).

    Raises
    ------
    FilterError
        Unknown generator, or a parameter that is unknown, not a number, not a whole
        number, out of range, or gives a kernel over :data:`MAX_SIDE` pixels a side
        (the message names the parameter).
    """
    return generate_text(spec, source if source is not None else spec)


def generate_text(spec: str, source: str, line: int | None = None,
                  with_name: bool = False) -> Kernel:
    """:func:`generate` with the error's ``line`` (a spec inside a YAML file)."""
    name, _, rest = spec.strip().partition(":")
    gen = GENERATORS.get(name.strip().lower())
    if gen is None:
        raise unknown_generator(name.strip(), spec, source, line)
    try:
        raw = _split_params(rest, gen)
    except _ParamError as exc:
        raise _filter_error(gen, exc, source, line, with_name) from None
    return run_generator(gen, raw, source, line=line, with_name=with_name)


def looks_generator(text: str) -> bool:
    """True when ``text`` reads as a generator spec: ``name:`` then parameters.

    An unknown name counts when ``key=value`` or nothing follows (so that
    ``gausian:sigma=2`` gets a did-you-mean), but ``http://x`` does not.
    """
    m = _GEN_RE.fullmatch(text)
    return m is not None and (m[1].lower() in GENERATORS or "=" in m[2] or not m[2].strip())
