"""The one cast (docs/semantics.md §3): round half to even, clip, never wrap — at every
integer width, against Python's own integers as the oracle."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imgconv.chain import filter_image
from imgconv.dtypes import dtype_max, quantize

INTS = ["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"]


def oracle(values: np.ndarray, dtype: str) -> list[int]:
    """Python's round() is half to even on the exact float value; then clamp."""
    info = np.iinfo(dtype)
    return [min(max(round(float(v)), int(info.min)), int(info.max)) for v in values]


@pytest.mark.parametrize("dtype", INTS)
@pytest.mark.parametrize("work", [np.float32, np.float64])
def test_extremes_saturate_exactly(dtype: str, work: type) -> None:
    info = np.iinfo(dtype)
    edge = np.array([info.max, info.min, 2.0 * info.max + 1, 2.0 * info.min - 1,
                     np.nextafter(work(info.max), work(0)), 0.5, 1.5, 2.5, -0.5, -1.5],
                    dtype=work)
    got = quantize(edge.copy(), dtype)
    assert got.dtype == np.dtype(dtype)
    assert [int(v) for v in got] == oracle(edge, dtype)


@settings(max_examples=150, deadline=None)
@given(dtype=st.sampled_from(INTS), work=st.sampled_from([np.float32, np.float64]),
       values=st.lists(st.floats(allow_nan=False, allow_infinity=False, width=32),
                       min_size=1, max_size=20))
def test_cast_matches_python_integers(dtype: str, work: type, values: list[float]) -> None:
    arr = np.array(values, dtype=work)
    assert [int(v) for v in quantize(arr.copy(), dtype)] == oracle(arr, dtype)


@pytest.mark.parametrize("dtype", ["int32", "uint32", "int64", "uint64"])
def test_identity_keeps_the_maximum(dtype: str) -> None:
    """filter_image with the identity kernel returns an image at its dtype's maximum as
    it is (it used to wrap to the minimum, or to 0)."""
    info = np.iinfo(dtype)
    img = np.full((4, 4), info.max, dtype=dtype)
    out = filter_image(img, "identity")
    assert out.dtype == np.dtype(dtype) and (out == info.max).all()
    low = filter_image(np.full((4, 4), info.min, dtype=dtype), "identity")
    assert (low == info.min).all()


def test_dtype_max() -> None:
    assert dtype_max("uint8") == 255 and dtype_max("uint16") == 65535
    assert dtype_max("float32") == 1.0
