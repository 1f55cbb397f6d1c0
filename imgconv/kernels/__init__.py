"""Kernels: the :class:`Kernel` value and every way of loading one (docs/semantics.md §2).

A filter is named as a path to a ``.yaml``/``.yml``/``.txt``/``.npy``/``.csv`` file
(optionally with a numpy slice, ``w.npy[3,0]``), a generator (``gaussian:sigma=2``),
an inline matrix (``"1 2 1; 2 4 2; 1 2 1"``) or the name of a shipped filter.

One idea a module: :mod:`~imgconv.kernels.kernel` (the value),
:mod:`~imgconv.kernels.numbers` (the one number syntax), :mod:`~imgconv.kernels.txt`
(TXT, CSV, inline), :mod:`~imgconv.kernels.yaml`, :mod:`~imgconv.kernels.arrays`
(``.npy`` and slices), :mod:`~imgconv.kernels.generators` (the table),
:mod:`~imgconv.kernels.files` (a loader a suffix), :mod:`~imgconv.kernels.paths` (only
regular files are opened), :mod:`~imgconv.kernels.library`
(shipped filters) and :mod:`~imgconv.kernels.resolve` (:func:`load_filter`).
Importing this package does not import PyYAML.
"""

from __future__ import annotations

from imgconv.kernels.files import LOADERS, SUPPORTED_EXTENSIONS, load_file
from imgconv.kernels.generators import GENERATORS, Generator, GenParam, generate
from imgconv.kernels.kernel import MAX_SIDE, Kernel, as_kernel
from imgconv.kernels.library import (
    SHIPPED_EXTENSIONS,
    load_shipped,
    shipped_dir,
    shipped_filters,
    shipped_names,
)
from imgconv.kernels.resolve import load_filter
from imgconv.kernels.txt import looks_inline, parse_csv, parse_inline, parse_txt
from imgconv.kernels.yaml import YAML_KEYS, kernel_to_yaml, parse_yaml

__all__ = [
    "GENERATORS",
    "LOADERS",
    "MAX_SIDE",
    "SHIPPED_EXTENSIONS",
    "SUPPORTED_EXTENSIONS",
    "YAML_KEYS",
    "GenParam",
    "Generator",
    "Kernel",
    "as_kernel",
    "generate",
    "kernel_to_yaml",
    "load_file",
    "load_filter",
    "load_shipped",
    "looks_inline",
    "parse_csv",
    "parse_inline",
    "parse_txt",
    "parse_yaml",
    "shipped_dir",
    "shipped_filters",
    "shipped_names",
]
