"""imgconv: filter images with kernels — exact correlation, convolution and FFT filtering.

The public API (docs/semantics.md §6).  Names are imported lazily so that ``imgconv --help``
does not pay for numpy and scipy.

>>> import numpy as np, imgconv
>>> image = np.arange(25.0).reshape(5, 5)
>>> imgconv.correlate(image, [[0, 0, 0], [0, 0, 1], [0, 0, 0]], boundary="wrap")[0, 0]
1.0
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "correlate": "imgconv.engine",
    "convolve": "imgconv.engine",
    "filter_array": "imgconv.engine",
    "filter_image": "imgconv.chain",
    "FilterOptions": "imgconv.options",
    "FileOptions": "imgconv.options",
    "process_file": "imgconv.files",
    "load_filter": "imgconv.kernels",
    "Kernel": "imgconv.kernels",
    "read_image": "imgconv.formats",
    "write_image": "imgconv.outputs",
    "compare": "imgconv.compare",
    "match_template": "imgconv.matching",
    "find_peaks": "imgconv.peaks",
    "Match": "imgconv.peaks",
    "ImgconvError": "imgconv.errors",
    "FilterError": "imgconv.errors",
    "ImageError": "imgconv.errors",
}

__all__ = [
    "FileOptions",
    "FilterError",
    "FilterOptions",
    "ImageError",
    "ImgconvError",
    "Kernel",
    "Match",
    "__version__",
    "compare",
    "convolve",
    "correlate",
    "filter_array",
    "filter_image",
    "find_peaks",
    "load_filter",
    "match_template",
    "process_file",
    "read_image",
    "write_image",
]

if TYPE_CHECKING:
    from imgconv.chain import filter_image
    from imgconv.compare import compare
    from imgconv.engine import convolve, correlate, filter_array
    from imgconv.errors import FilterError, ImageError, ImgconvError
    from imgconv.files import process_file
    from imgconv.formats import read_image
    from imgconv.kernels import Kernel, load_filter
    from imgconv.matching import match_template
    from imgconv.options import FileOptions, FilterOptions
    from imgconv.outputs import write_image
    from imgconv.peaks import Match, find_peaks


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'imgconv' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
