"""The one ``.npy`` header reader (imgconv.npyfile) and the refusals built on it."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from imgconv.npyfile import read_header


@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
@pytest.mark.parametrize("order", ["C", "F"])
def test_header_of_every_version_points_at_the_values(version: tuple[int, int],
                                                      order: str) -> None:
    arr = np.asarray(np.arange(24, dtype="<i2").reshape(2, 3, 4), order=order)
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, version=version)
    buf.seek(0)
    head = read_header(buf)
    assert head.shape == (2, 3, 4) and head.dtype == np.dtype("<i2")
    assert head.fortran == (order == "F")
    assert buf.tell() == head.offset and head.end == len(buf.getvalue())
    values = np.frombuffer(buf.getvalue()[head.offset:], dtype=head.dtype)
    np.testing.assert_array_equal(values.reshape(head.shape, order=order), arr)


def _huge_header(path: Path) -> None:
    """A valid header promising 2**40 x 2**40 float64 values (2**83 bytes), and no values."""
    with open(path, "wb") as fh:
        np.lib.format.write_array_header_1_0(
            fh, {"descr": "<f8", "fortran_order": False, "shape": (2**40, 2**40)})


def test_size_promised_is_exact_beyond_int64(tmp_path: Path) -> None:
    p = tmp_path / "huge.npy"
    _huge_header(p)
    with open(p, "rb") as fh:
        head = read_header(fh)
    assert head.end == head.offset + 2**83  # np.prod in int64 would wrap to 0


def test_huge_header_is_refused_as_truncated_everywhere(tmp_path: Path) -> None:
    from imgconv.errors import FilterError, ImageError
    from imgconv.formats import npy_header
    from imgconv.kernels import load_filter

    p = tmp_path / "huge.npy"
    _huge_header(p)
    with pytest.raises(ImageError, match="truncated"):
        npy_header(p)
    with pytest.raises(FilterError, match="truncated"):
        load_filter(str(p))


def test_not_a_npy_file() -> None:
    with pytest.raises(ValueError):
        read_header(io.BytesIO(b"P5\n3 3\n255\n" + bytes(9)))
    with pytest.raises((ValueError, EOFError)):
        read_header(io.BytesIO(b"\x93NUMPY\x01"))
