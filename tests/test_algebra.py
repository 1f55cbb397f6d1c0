"""``compose`` and ``associativity``: the composed kernel equals the chain where
docs/semantics.md §4 says it does.  ``imgconv compose`` is in test_cli_compose.py."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import scipy.signal as ss

from imgconv.algebra import associativity, compose
from imgconv.engine import filter_array
from imgconv.errors import ImgconvError
from imgconv.kernels import Kernel, load_filter

rng = np.random.default_rng(11)


def K(shape: tuple[int, int], anchor: tuple[int, int] | None = None, name: str = "k") -> Kernel:
    return Kernel(rng.standard_normal(shape), anchor=anchor, name=name)


def chain(img: np.ndarray, ks: list[Kernel], **kw: object) -> np.ndarray:
    out = img
    for k in ks:
        out, _ = filter_array(out, k, precision="double", **kw)  # type: ignore[arg-type]
    return out


PAIRS = [((3, 5), (4, 2)), ((2, 2), (3, 3)), ((1, 7), (6, 1)), ((5, 4), (5, 4))]


@pytest.mark.parametrize(("s1", "s2"), PAIRS)
def test_composed_kernel_is_full_convolution_with_summed_anchor(
    s1: tuple[int, int], s2: tuple[int, int]
) -> None:
    f, g = K(s1), K(s2, anchor=(0, s2[1] - 1))
    c = compose([f, g])
    assert np.allclose(c.array, ss.convolve2d(f.array, g.array, mode="full"), atol=1e-12)
    assert c.center == (f.center[0] + g.center[0], f.center[1] + g.center[1])


@pytest.mark.parametrize(("s1", "s2"), PAIRS)
@pytest.mark.parametrize("mode", ["correlate", "convolve"])
def test_composed_equals_chain_exactly_where_promised(
    s1: tuple[int, int], s2: tuple[int, int], mode: str, ref: SimpleNamespace
) -> None:
    img = rng.random((23, 19))
    f, g = K(s1), K(s2, anchor=(s2[0] - 1, 0))
    c = compose([f, g])
    tol = 1e-9 * f.abs_sum * g.abs_sum
    cases: list[dict[str, object]] = [
        {"boundary": "wrap", "size": "same"},
        {"boundary": "constant", "cval": 0.0, "size": "full"},
        {"boundary": "reflect", "size": "valid"},
    ]
    for kw in cases:
        a = chain(img, [f, g], mode=mode, **kw)
        b, _ = filter_array(img, c, mode=mode, precision="double", **kw)  # type: ignore[arg-type]
        # the chain itself, against the formulas of docs/semantics.md §1 summed literally
        first = ref.brute(img, f.array, op=mode, anchor=f.center, **kw)
        expect = ref.brute(first, g.array, op=mode, anchor=g.center, **kw)
        assert a.shape == b.shape == expect.shape
        assert np.abs(a - expect).max() <= tol, kw
        assert np.abs(a - b).max() <= tol, kw


def test_composed_differs_near_border_with_reflect() -> None:
    img = rng.random((30, 30))
    f, g = K((5, 5)), K((5, 5))
    c = compose([f, g])
    a = chain(img, [f, g], mode="convolve", boundary="reflect")
    b, _ = filter_array(img, c, mode="convolve", boundary="reflect", precision="double")
    d = np.abs(a - b)
    assert d.max() > 1e-6  # the border differs
    assert d[4:-4, 4:-4].max() <= 1e-9 * f.abs_sum * g.abs_sum  # the interior does not


def test_integer_kernels_stay_integer() -> None:
    g5 = load_filter("gaussian5")
    c = compose([g5, g5])
    assert c.shape == (9, 9) and c.center == (4, 4)
    assert np.array_equal(c.weights, np.round(c.weights))
    assert c.scale == pytest.approx(1 / 273**2, rel=1e-15)
    assert c.weights.sum() == 273**2


def test_offsets_do_not_compose() -> None:
    f = Kernel(np.ones((3, 3)), offset=128, name="withoffset")
    with pytest.raises(ImgconvError, match="offset"):
        compose([f, load_filter("box3")])


def test_associativity_report() -> None:
    sym = [load_filter("gaussian3"), load_filter("box3"), load_filter("laplacian4")]
    res = associativity(*sym)
    assert res["convolution"]["associative"] and res["correlation"]["associative"]
    asym = [load_filter("sobel-x"), load_filter("emboss"), load_filter("asym-3x3")]
    res = associativity(*asym)
    assert res["convolution"]["associative"]
    assert not res["correlation"]["associative"]
    # independent: scipy's correlate2d composed both ways
    a, b, c = (k.array for k in asym)
    left = ss.correlate2d(c, ss.correlate2d(b, a, "full"), "full")
    right = ss.correlate2d(ss.correlate2d(c, b, "full"), a, "full")
    assert res["correlation"]["max_abs_diff"] == pytest.approx(np.abs(left - right).max())
