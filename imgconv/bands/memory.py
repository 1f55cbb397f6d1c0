"""How much memory a filtering takes, and how many rows a band may have."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from imgconv.engine import working_dtype
from imgconv.errors import ImgconvError

_UNITS = {"": 1, "B": 1, "K": 10**3, "KB": 10**3, "M": 10**6, "MB": 10**6, "G": 10**9,
          "GB": 10**9, "T": 10**12, "TB": 10**12, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30,
          "TIB": 2**40}


DEFAULT_LIMIT = 256 * 10**6  # the working set of one image without memory_limit= (256MB)
UNLIMITED = ("none", "unlimited", "off")


def parse_size(text: str) -> int | None:
    """``256MB``, ``2GiB``, ``1.5GB``, ``500000000``: MB/GB decimal, MiB/GiB binary;
    ``none`` lifts the limit (None)."""
    if str(text).strip().lower() in UNLIMITED:
        return None
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([A-Za-z]*)\s*", str(text))
    unit = m.group(2).upper() if m else ""
    if m is None or unit not in _UNITS:
        raise ImgconvError("{memory_limit}: use a size like 256MB, 2GB, 512MiB or "
                           "2GiB (MB/GB decimal, MiB/GiB binary), or none",
                           values={"memory_limit": text})
    value = int(float(m.group(1)) * _UNITS[unit])
    if value < 10**7:
        raise ImgconvError("{memory_limit} is too small: use at least 10MB (units: "
                           "MB, GB decimal; MiB, GiB binary; a bare number is bytes)",
                           values={"memory_limit": text})
    return value


def bytes_per_row(width: int, channels: int, in_itemsize: int, float_size: int) -> int:
    """Working bytes per image row: the input, the float copy, the extended copy, the
    result, the FFT spectra and the quantised output (a generous estimate)."""
    return width * channels * (in_itemsize * 2 + float_size * 6)


def whole_image_bytes(shape: tuple[int, ...], in_itemsize: int, float_size: int) -> int:
    h, w = shape[:2]
    c = shape[2] if len(shape) == 3 else 1
    return h * bytes_per_row(w, c, in_itemsize, float_size)


def band_rows(limit: int, width: int, channels: int, in_itemsize: int, float_size: int,
              halo: int) -> int:
    """Output rows per band so that a band's working set stays under ``limit``."""
    per_row = bytes_per_row(width, channels, in_itemsize, float_size)
    rows = limit // per_row - halo
    if rows < 1:
        need = (halo + 1) * per_row
        raise ImgconvError(
            f"{{memory_limit!s}} is too small for rows of {width} pixels and a "
            f"kernel reaching {halo} rows: use at least {math.ceil(need / 1e6)}MB",
            values={"memory_limit": f"{limit / 1e6:.0f}MB"},
        )
    return int(rows)


def needs_tiling(shape: tuple[int, ...], dtype: np.dtype[Any], precision: str,
                 limit: int) -> bool:
    fdt = working_dtype(dtype, precision)
    return whole_image_bytes(shape, dtype.itemsize, np.dtype(fdt).itemsize) > limit
