"""What is computed, as one value: :class:`FilterOptions`, validated once; how a file is
read and written, as another: :class:`FileOptions`.

The API (``filter_image``), ``apply``, ``batch``, ``diff`` variants and the banded
path all take a ``FilterOptions`` (files also a ``FileOptions``); nothing downstream
re-validates a name.  The
choices are ``Literal`` types, so the tuples below, the CLI's help and mypy read
one definition.  Library errors name parameters (``size='valid'``) as fields of their
message; the CLI spells them as its flags (see :mod:`imgconv.cli.common`).
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from typing import Any, Literal, get_args

from imgconv.boundary import canonical_boundary
from imgconv.errors import ImgconvError

Mode = Literal["convolve", "correlate"]
Method = Literal["auto", "direct", "separable", "lowrank", "fft"]
Size = Literal["same", "valid", "full"]
Precision = Literal["auto", "single", "double"]
Alpha = Literal["keep", "filter", "premultiply"]
Dtype = Literal["uint8", "uint16", "float32", "float64"]

MODES: tuple[str, ...] = ("correlate", "convolve")
METHODS: tuple[str, ...] = get_args(Method)
SIZES: tuple[str, ...] = get_args(Size)
PRECISIONS: tuple[str, ...] = get_args(Precision)
ALPHA_MODES: tuple[str, ...] = get_args(Alpha)
DTYPES: tuple[str, ...] = get_args(Dtype)

#: the choice-valued fields and their choices (the variant keys of ``diff`` are a subset)
CHOICES: dict[str, tuple[str, ...]] = {
    "mode": MODES, "method": METHODS, "size": SIZES, "precision": PRECISIONS,
    "alpha": ALPHA_MODES,
}
#: what a ``diff`` variant (``--a``/``--b``) may set
VARIANT_KEYS: tuple[str, ...] = ("mode", "method", "boundary", "cval", "precision", "size")


def choice(param: str, value: object, valid: tuple[str, ...]) -> str:
    """``value`` lower-cased if it is one of ``valid``; else an error naming ``param``."""
    v = str(value).strip().lower()
    if v not in valid:
        raise ImgconvError(f"{{{param}}} is not valid: use one of {', '.join(valid)}",
                           values={param: value})
    return v


def format_extension(fmt: str) -> str:
    """``fmt`` (``jpg``, ``.TIF``) as the extension of a format imgconv writes (``jpg``,
    ``tif``); anything else is refused, quoting it as given."""
    from imgconv.formats.table import FORMATS  # the table's (it never imports us)

    ext = fmt.strip().lower().lstrip(".")
    if "." + ext not in FORMATS:
        raise ImgconvError(f"{{fmt}} is not a format imgconv writes: use one of "
                           f"{', '.join(e.lstrip('.') for e in FORMATS)}", values={"fmt": fmt})
    return ext


def finite(param: str, value: object) -> float:
    """``value`` as a finite float; else an error naming ``param``."""
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ImgconvError(f"{{{param}}} is not a number", values={param: value}) from None
    if not math.isfinite(f):
        raise ImgconvError(f"{{{param}}} is not a finite number", values={param: value})
    return f


@dataclass(frozen=True)
class FilterOptions:
    """Everything that says what is computed, from the kernels to the cast.

    Names are canonicalised on construction (``boundary="symmetric"`` becomes
    ``"reflect"``, ``mode="CONVOLVE"`` becomes ``"convolve"``); a bad value is an
    :class:`~imgconv.errors.ImgconvError` naming the parameter.
    """

    mode: Mode = "convolve"
    method: Method = "auto"
    boundary: str = "reflect"
    cval: float = 0.0
    size: Size = "same"
    precision: Precision = "auto"
    abs: bool = False
    offset: float = 0.0
    rescale: bool = False
    normalize: bool = False
    alpha: Alpha = "keep"
    dtype: Dtype | None = None  # the output's; None: the input's

    def __post_init__(self) -> None:
        for name, valid in CHOICES.items():
            object.__setattr__(self, name, choice(name, getattr(self, name), valid))
        object.__setattr__(self, "boundary", canonical_boundary(self.boundary))
        object.__setattr__(self, "cval", finite("cval", self.cval))
        object.__setattr__(self, "offset", finite("offset", self.offset))
        if self.dtype is not None:
            object.__setattr__(self, "dtype", choice("dtype", self.dtype, DTYPES))
        for name in ("abs", "rescale", "normalize"):
            object.__setattr__(self, name, bool(getattr(self, name)))

    def replace(self, **changes: Any) -> FilterOptions:
        """A copy with ``changes`` (validated like the constructor)."""
        return dataclasses.replace(self, **changes)

    @property
    def engine(self) -> dict[str, Any]:
        """The keywords of :func:`imgconv.engine.filter_array` (what one filter pass needs)."""
        return {"mode": self.mode, "method": self.method, "boundary": self.boundary,
                "cval": self.cval, "size": self.size, "precision": self.precision}


Existing = Literal["fail", "skip", "overwrite"]
#: what to do with an output that exists: refuse it, leave it (batch), replace it
EXISTING: tuple[str, ...] = get_args(Existing)


@dataclass(frozen=True)
class FileOptions:
    """How a file is read and written, beside what is computed (:class:`FilterOptions`,
    whose ``dtype`` is the output's pixel type: the one home of ``dtype``).

    ``page`` picks one page or frame (None: every one); ``gray`` filters the luma;
    ``auto_orient`` turns an EXIF-rotated image upright first; ``strip`` carries no
    metadata to the output; ``quality`` (1..100) goes to a JPEG or WebP writer; ``fmt`` is
    the output format of default names (an extension: ``jpg``; None: the input's);
    ``memory_limit`` (bytes; None: none) bands an image whose working set exceeds it,
    refusing what cannot be banded when ``strict_limit`` (a limit the user set) and
    reading it whole otherwise; ``existing`` says what becomes of an output that exists
    (``fail``, ``skip``: left as it is by a batch, ``overwrite``); ``protect`` names
    files never written (the run's other inputs).  Validated once, on construction, by
    the format table's checks; a bad value is an
    :class:`~imgconv.errors.ImgconvError` naming the parameter.
    """

    page: int | None = None
    gray: bool = False
    auto_orient: bool = True
    strip: bool = False
    quality: int | None = None
    fmt: str | None = None
    memory_limit: int | None = None
    strict_limit: bool = True
    existing: Existing = "fail"
    protect: tuple[str | os.PathLike[str], ...] = ()

    def __post_init__(self) -> None:
        from imgconv.formats.table import check_quality  # the table's (it never imports us)

        check_quality(self.quality)
        if self.fmt is not None:
            object.__setattr__(self, "fmt", format_extension(self.fmt))
        object.__setattr__(self, "existing", choice("existing", self.existing, EXISTING))
        if self.page is not None and (isinstance(self.page, bool) or not isinstance(
                self.page, int) or self.page < 0):
            raise ImgconvError("{page}: pages and frames are counted from 0: use 0 or more",
                               values={"page": self.page})
        for name in ("gray", "auto_orient", "strip", "strict_limit"):
            object.__setattr__(self, name, bool(getattr(self, name)))
        object.__setattr__(self, "protect", tuple(self.protect))

    @property
    def overwrite(self) -> bool:
        """May an existing output be replaced?"""
        return self.existing == "overwrite"

    def replace(self, **changes: Any) -> FileOptions:
        """A copy with ``changes`` (validated like the constructor)."""
        return dataclasses.replace(self, **changes)
