"""The shipped filter library: ``gaussian5``, ``sobel-x``, … by name.

The files live in the package ``imgconv.filters`` (pyproject maps the repository's
top-level ``filters/`` folder to it), so they are there after a normal install too.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from imgconv.errors import FilterError
from imgconv.kernels.files import load_file
from imgconv.kernels.kernel import Kernel
from imgconv.spelling import did_you_mean

#: Extensions of the files in the shipped library.
SHIPPED_EXTENSIONS: tuple[str, ...] = (".yaml", ".yml", ".txt")


def shipped_dir() -> Path:
    """The folder of the shipped filter library.

    ``imgconv/filters`` when installed (pyproject maps the top-level ``filters/`` to the
    package ``imgconv.filters``), else ``filters/`` beside the package in a checkout.
    """
    here = Path(__file__).resolve().parent.parent  # the imgconv package
    for cand in (here / "filters", here.parent / "filters"):
        if cand.is_dir():
            return cand
    raise FilterError(f"the shipped filter library is missing (looked in {here / 'filters'} "
                      f"and {here.parent / 'filters'}): reinstall imgconv")


def shipped_index() -> dict[str, Path]:
    """Lower-case name -> file, for every shipped filter file."""
    index: dict[str, Path] = {}
    for p in sorted(shipped_dir().iterdir()):
        if p.is_file() and p.suffix.lower() in SHIPPED_EXTENSIONS:
            index.setdefault(p.stem.lower(), p)
    return index


def shipped_names() -> list[str]:
    """The names of the shipped filters, sorted (``box3``, ``emboss``, ``gaussian5``, …)."""
    return sorted(p.stem for p in shipped_index().values())


def shipped_key(name: str) -> str:
    """The library key of a name: lower case, without a ``.yaml``/``.yml``/``.txt``."""
    key = name.strip().lower()
    for ext in SHIPPED_EXTENSIONS:
        if key.endswith(ext):
            return key[: -len(ext)]
    return key


def load_shipped(name: str) -> Kernel:
    """A shipped filter by name (case-insensitive, with or without ``.yaml``/``.txt``).

    The kernel's ``name`` is the shipped name, its ``source`` the file.
    """
    key = shipped_key(name)
    path = shipped_index().get(key)
    if path is None:
        raise FilterError(f"no shipped filter named {name!r}"
                          f"{did_you_mean(key, shipped_names())} (run 'imgconv filters')")
    k = load_file(path)
    return k if k.name == path.stem else dataclasses.replace(k, name=path.stem)


def shipped_filters() -> list[Kernel]:
    """Every shipped filter, loaded, sorted by name."""
    return [load_shipped(n) for n in shipped_names()]
