"""``load_filter``: a filter from anything the command line accepts (docs/semantics.md §2).

The resolution order is the :data:`_STEPS` table: an existing file (or a slice of an
array file), a generator, an inline matrix, a shipped name; then the one error that
says what was not found and what was probably meant.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

from imgconv.errors import FilterError
from imgconv.kernels.arrays import sliced_spec
from imgconv.kernels.files import SUPPORTED_EXTENSIONS, load_file
from imgconv.kernels.generators import GENERATORS, generate, looks_generator
from imgconv.kernels.kernel import Kernel, as_kernel
from imgconv.kernels.library import load_shipped, shipped_index, shipped_key
from imgconv.kernels.numbers import NUMBER_RE
from imgconv.kernels.paths import not_regular
from imgconv.kernels.txt import looks_inline, parse_inline
from imgconv.regular import kind
from imgconv.spelling import closest

#: what the library's filtering functions take for a kernel (:func:`kernel_argument`)
KernelLike: TypeAlias = Kernel | npt.ArrayLike | str | os.PathLike[str]


def load_filter(spec: str | os.PathLike[str] | Kernel | npt.NDArray[np.generic]) -> Kernel:
    """Load a filter from anything the command line accepts (docs/semantics.md §2).

    A :class:`Kernel` is returned as is and an array goes through :func:`as_kernel`.
    A string is, in this order:

    1. an existing file (``.yaml``/``.yml``/``.txt``/``.npy``/``.csv``; another
       extension is an error; an existing file without extension, or a folder,
       is skipped so it cannot hide a shipped name; a pipe, device or socket is
       refused, never opened: :mod:`~imgconv.kernels.paths`);
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
    for step in _STEPS:
        kernel = step(spec, text)
        if kernel is not None:
            return kernel
    return _not_found(text)


def kernel_argument(kernel: KernelLike, param: str = "kernel") -> Kernel:
    """The ``kernel`` argument of a library function (``correlate``, ``convolve``,
    ``filter_array``) as a :class:`Kernel`.

    A Kernel as is; a string or a path as :func:`load_filter` reads it (a file, a
    generator, an inline matrix, a shipped name); anything else as a 2-D array of numbers
    (the rules of :func:`as_kernel`; its name is ``array``).  A refusal's message starts
    with ``param`` (the argument it is about), e.g. ``kernel: no filter file, …``.
    """
    if isinstance(kernel, Kernel):
        return kernel
    if isinstance(kernel, str | os.PathLike):
        try:
            return load_filter(kernel)
        except FilterError as exc:
            raise exc.prefixed(f"{param}: ") from None
    if kernel is None or isinstance(kernel, bytes):
        raise FilterError(f"cannot use {kernel!r} as a kernel: give a Kernel, a 2-D array of "
                          "numbers, a filter file, a shipped name, an inline matrix or a "
                          "generator", param)
    return Kernel(kernel, name="array", source=param,  # type: ignore[arg-type]
                  meta={"format": "array"})


def _existing_file(spec: str, text: str) -> Kernel | None:
    """1. An existing file with an extension, as given or stripped."""
    for cand in dict.fromkeys((spec, text)):
        if Path(cand).suffix and os.path.exists(cand) and kind(cand) != "a folder":
            return load_file(cand)  # a pipe or a device is refused there, never opened
    return None


def _array_slice(spec: str, text: str) -> Kernel | None:
    """2. ``FILE.npy[index]``."""
    return sliced_spec(text)


def _generator(spec: str, text: str) -> Kernel | None:
    """3. ``name:key=value,...``."""
    return generate(text) if looks_generator(text) else None


def _inline(spec: str, text: str) -> Kernel | None:
    """4. ``1 2 1; 2 4 2; 1 2 1``."""
    return parse_inline(text) if looks_inline(text) else None


def _shipped(spec: str, text: str) -> Kernel | None:
    """5. A shipped name, or a bare generator name whose parameters all have defaults."""
    key = shipped_key(text)
    if key in shipped_index():
        return load_shipped(key)
    gen = GENERATORS.get(key)
    if gen is None:
        return None
    if gen.all_defaults:
        return generate(gen.name)
    raise FilterError(f"{gen.name!r} is a generator and needs parameters, e.g. "
                      f"'{gen.example}' ({gen.params_help})")


#: The resolution order: the first step that returns a kernel wins.
_STEPS: tuple[Callable[[str, str], Kernel | None], ...] = (
    _existing_file, _array_slice, _generator, _inline, _shipped,
)


def _not_found(text: str) -> Kernel:
    """The error for a spec no step took: what it is not, and what was probably meant.

    Text of numbers and separators goes to :func:`parse_inline` instead: its error
    names the token that is not a number (and it reads the matrix when only a
    separator step 4 does not list, such as a form feed, kept it from step 4).
    """
    what = kind(text)
    if what is not None:
        raise not_regular(what, text)
    if os.path.isfile(text):
        raise FilterError(f"the file has no extension: use {', '.join(SUPPORTED_EXTENSIONS)}",
                          text)
    if "/" in text or os.sep in text or Path(text).suffix.lower() in SUPPORTED_EXTENSIONS:
        raise FilterError("no such file", text)
    if re.search(r"[\s,;]", text) and any(
        NUMBER_RE.fullmatch(tok) for tok in re.split(r"[\s,;]+", text)
    ):
        return parse_inline(text)  # reports the token that is not a number
    key = shipped_key(text)
    names = sorted(shipped_index())
    close = closest(key, names + list(GENERATORS))
    hint = ""
    if close:
        suggestion = GENERATORS[close].example if close in GENERATORS and \
            close not in names else close
        hint = f": did you mean {suggestion!r}?"
    raise FilterError(f"no filter file, generator or shipped filter named {text!r}{hint} "
                      "(run 'imgconv filters' for the list)")
