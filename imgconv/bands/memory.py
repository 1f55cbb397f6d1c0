"""How much memory a filtering takes, and how many rows a band may have."""

from __future__ import annotations

import math
import os
import re
from typing import Any

import numpy as np

from imgconv.engine import working_dtype
from imgconv.errors import ImgconvError

_UNITS = {"": 1, "B": 1, "K": 10**3, "KB": 10**3, "M": 10**6, "MB": 10**6, "G": 10**9,
          "GB": 10**9, "T": 10**12, "TB": 10**12, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30,
          "TIB": 2**40}


def parse_size(text: str) -> int:
    """``256MB``, ``2GiB``, ``1.5GB``, ``500000000``: MB/GB decimal, MiB/GiB binary."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([A-Za-z]*)\s*", str(text))
    unit = m.group(2).upper() if m else ""
    if m is None or unit not in _UNITS:
        raise ImgconvError(f"memory_limit={text!r}: use a size like 256MB, 2GB, 512MiB or "
                           "2GiB (MB/GB decimal, MiB/GiB binary)", param="memory_limit")
    value = int(float(m.group(1)) * _UNITS[unit])
    if value < 10**7:
        raise ImgconvError(f"memory_limit={text!r} is too small: use at least 10MB (units: "
                           "MB, GB decimal; MiB, GiB binary; a bare number is bytes)",
                           param="memory_limit")
    return value


def available_memory() -> int:
    """MemAvailable from /proc/meminfo (Linux), else physical memory, else 4 GiB."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 4 * 2**30


def default_limit() -> int:
    """Without ``--memory-limit``: half of the memory available now."""
    return max(available_memory() // 2, 64 * 2**20)


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
            f"memory_limit={limit / 1e6:.0f}MB is too small for rows of {width} pixels and a "
            f"kernel reaching {halo} rows: use at least {math.ceil(need / 1e6)}MB",
            param="memory_limit",
        )
    return int(rows)


def needs_tiling(shape: tuple[int, ...], dtype: np.dtype[Any], precision: str,
                 limit: int) -> bool:
    fdt = working_dtype(dtype, precision)
    return whole_image_bytes(shape, dtype.itemsize, np.dtype(fdt).itemsize) > limit
