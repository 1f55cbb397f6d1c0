"""The boundary-mode table, each mode's ``index`` and ``pad`` (docs/semantics.md §1).

``pad`` is built on the modes' ``index`` rules, not on numpy.pad, so numpy.pad,
scipy.ndimage's own extension (read out through ``correlate1d`` with one-hot
kernels) and the table's ``a b c d`` rows are independent oracles for both.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import BOUNDARIES, TABLE

from imgconv import boundary as bd
from imgconv.errors import ImgconvError

ALL_ALIASES = [(a, name) for name, row in TABLE.items() for a in row["aliases"]]
K = 7.5  # the cval used for constant


def test_table_has_the_five_modes_in_order():
    assert tuple(m.name for m in bd.MODES) == BOUNDARIES
    assert bd.MODE_NAMES == BOUNDARIES


@pytest.mark.parametrize("name", BOUNDARIES)
def test_table_row_matches_spec(name):
    row = next(m for m in bd.MODES if m.name == name)
    extension, scipy_mode, opencv, numpy_mode, aliases = (
        TABLE[name][key] for key in ("extension", "scipy", "opencv", "numpy", "aliases"))
    assert row.scipy == scipy_mode
    assert row.numpy == numpy_mode
    assert set(aliases) <= set(row.aliases)
    assert row.extension.split("(")[0].strip() == extension
    # the OpenCV column shows the documented constant; ``opencv`` is the one filter2D takes
    shown = row.opencv_display or row.opencv
    assert shown.split(" (")[0] == opencv
    assert hasattr(cv2, opencv)
    assert row.opencv == (None if name == "wrap" else opencv)  # filter2D refuses wrap


@pytest.mark.parametrize("name", BOUNDARIES)
def test_opencv_constant_is_one_filter2d_accepts(name):
    """``opencv`` is None exactly for the border filter2D refuses (BORDER_WRAP)."""
    row = bd.boundary_mode(name)
    image = np.arange(20.0, dtype=np.float32).reshape(4, 5)
    border = getattr(cv2, TABLE[name]["opencv"])
    if row.opencv is None:
        with pytest.raises(cv2.error):
            cv2.filter2D(image, -1, np.ones((3, 3), np.float32), borderType=border)
        assert "filter2D rejects it" in row.opencv_display
    else:
        out = cv2.filter2D(image, -1, np.ones((3, 3), np.float32), borderType=border)
        assert out.shape == image.shape


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7])
@pytest.mark.parametrize("name", BOUNDARIES)
def test_index_is_the_table_rule(name, n, ref):
    """``index`` against the rule transcribed in conftest, far beyond both edges."""
    positions = np.arange(-6 * n - 5, 7 * n + 5)
    expected = [ref.ext_index(int(k), n, name) for k in positions]
    expected = np.array([bd.CVAL_INDEX if e is None else e for e in expected])
    np.testing.assert_array_equal(bd.boundary_mode(name).index(positions, n), expected)


@pytest.mark.parametrize("n", [1, 2, 3, 5])
@pytest.mark.parametrize("name", BOUNDARIES)
def test_index_is_what_numpy_pad_does(name, n):
    """numpy.pad of ``0..n-1`` (the cval: -1) is the source index of each position."""
    before, after = 4 * n + 3, 5 * n + 2
    kwargs = {"constant_values": -1} if name == "constant" else {}
    expected = np.pad(np.arange(n), (before, after), mode=TABLE[name]["numpy"], **kwargs)
    got = bd.boundary_mode(name).index(np.arange(-before, n + after), n)
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("name", BOUNDARIES)
def test_flags_say_what_the_index_does(name):
    """``periodic``: the extension repeats with the image's own period; ``uses_cval``:
    some position takes the cval."""
    row = bd.boundary_mode(name)
    n = 5
    i = np.arange(-3 * n, 3 * n)
    assert row.periodic == bool(np.array_equal(row.index(i + n, n), row.index(i, n)))
    assert row.uses_cval == bool(np.any(row.index(i, n) == bd.CVAL_INDEX))
    assert row.periodic == (name == "wrap")
    assert row.uses_cval == (name == "constant")


@pytest.mark.parametrize("name", BOUNDARIES)
def test_table_extension_row_is_what_pad_does(name):
    """The table's own ``a b c d`` picture, read literally, is what pad produces."""
    row = next(m for m in bd.MODES if m.name == name)
    picture = row.extension.split("(")[0]
    left, right = picture.split("[")[0].split(), picture.split("]")[1].split()
    letters = [s.strip("[]") for s in picture.split()]
    values = {"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0, "k": K}
    expected = np.array([[values[s] for s in letters]])
    got = bd.pad(np.array([[1.0, 2.0, 3.0, 4.0]]), ((0, 0), (len(left), len(right))), name,
                 cval=K)
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("alias,name", ALL_ALIASES + [(n, n) for n in BOUNDARIES])
def test_alias_resolves(alias, name):
    assert bd.canonical_boundary(alias) == name
    assert bd.boundary_mode(alias).name == name


@pytest.mark.parametrize("alias,name", ALL_ALIASES)
def test_alias_pads_like_canonical(alias, name):
    image = np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(bd.pad(image, ((2, 5), (4, 1)), alias, cval=K),
                                  bd.pad(image, ((2, 5), (4, 1)), name, cval=K))


@pytest.mark.parametrize("bad", ["bogus", "", "reflect-101x", "constantt"])
def test_unknown_mode_names_the_valid_ones(bad):
    with pytest.raises(ImgconvError) as info:
        bd.canonical_boundary(bad)
    for name in BOUNDARIES:
        assert name in str(info.value)
    assert info.value.param == "boundary"
    with pytest.raises(ImgconvError):
        bd.pad(np.ones((2, 2)), ((1, 1), (1, 1)), bad)


# --------------------------------------------------------------------------------------
# pad() vs numpy.pad, scipy.ndimage and the table's rule
# --------------------------------------------------------------------------------------
SHAPES = [(1, 1), (1, 5), (5, 1), (2, 3), (4, 4), (3, 7)]
# "many": margins of many short runs (wrap/mirror on 2 or 3 pixels), filled by one gather
WIDTHS = [((0, 0), (0, 0)), ((1, 2), (3, 0)), ((7, 9), (11, 8)), ((0, 13), (13, 0)),
          ((30, 1), (2, 40))]
WIDTH_IDS = ["zero", "small", "large", "one-sided", "many"]


def make_image(shape: tuple[int, ...]) -> np.ndarray:
    return np.arange(1, int(np.prod(shape)) + 1, dtype=np.float64).reshape(shape) * 1.25


def scipy_extend_axis(a: np.ndarray, before: int, after: int, mode: str, cval: float,
                      axis: int) -> np.ndarray:
    """Extend ``a`` along ``axis`` using scipy.ndimage's own extension.

    Position ``k`` (``-before <= k < n + after``) of the extended axis is read as the
    output at ``y = clip(k, 0, n-1)`` of ``correlate1d`` with a one-hot kernel whose
    tap lands on ``k``.
    """
    n = a.shape[axis]
    half = max(before, after)
    taps = 2 * half + 1
    slices = []
    for k in range(-before, n + after):
        y = min(max(k, 0), n - 1)
        onehot = np.zeros(taps)
        onehot[k - y + half] = 1.0  # out(y) = I~(y + t - half) for the tap t
        out = ndi.correlate1d(a, onehot, axis=axis, mode=mode, cval=cval)
        slices.append(np.take(out, [y], axis=axis))
    return np.concatenate(slices, axis=axis)


@pytest.mark.parametrize("widths", WIDTHS, ids=WIDTH_IDS)
@pytest.mark.parametrize("shape", SHAPES, ids=[f"{h}x{w}" for h, w in SHAPES])
@pytest.mark.parametrize("name", BOUNDARIES)
def test_pad_matches_numpy_pad(name, shape, widths):
    image = make_image(shape)
    np_mode = TABLE[name]["numpy"]
    kwargs = {"constant_values": K} if name == "constant" else {}
    expected = np.pad(image, widths, mode=np_mode, **kwargs)
    np.testing.assert_array_equal(bd.pad(image, widths, name, cval=K), expected)


@pytest.mark.parametrize("widths", WIDTHS, ids=WIDTH_IDS)
@pytest.mark.parametrize("shape", SHAPES, ids=[f"{h}x{w}" for h, w in SHAPES])
@pytest.mark.parametrize("name", BOUNDARIES)
def test_pad_matches_scipy_ndimage_extension(name, shape, widths):
    image = make_image(shape)
    (t, b), (left, r) = widths
    mode = TABLE[name]["scipy"]
    expected = scipy_extend_axis(image, t, b, mode, K, axis=0)
    expected = scipy_extend_axis(expected, left, r, mode, K, axis=1)
    np.testing.assert_array_equal(bd.pad(image, widths, name, cval=K), expected)


@pytest.mark.parametrize("widths", WIDTHS, ids=WIDTH_IDS)
@pytest.mark.parametrize("shape", SHAPES, ids=[f"{h}x{w}" for h, w in SHAPES])
@pytest.mark.parametrize("name", BOUNDARIES)
def test_pad_matches_spec_rule(name, shape, widths, ref):
    image = make_image(shape)
    (t, b), (left, r) = widths
    h, w = shape
    expected = ref.extend(image, range(-t, h + b), range(-left, w + r), name, K)
    np.testing.assert_array_equal(bd.pad(image, widths, name, cval=K), expected)


@pytest.mark.parametrize("name", BOUNDARIES)
def test_pad_multichannel_pads_each_channel(name):
    image = np.stack([make_image((3, 4)), -make_image((3, 4)), make_image((3, 4)) ** 2],
                     axis=-1)
    widths = ((5, 2), (1, 6))
    got = bd.pad(image, widths, name, cval=K)
    assert got.shape == (3 + 7, 4 + 7, 3)
    for c in range(3):
        np.testing.assert_array_equal(got[..., c], bd.pad(image[..., c], widths, name, cval=K))


@pytest.mark.parametrize("name", ["reflect", "mirror", "wrap"])
def test_long_extension_repeats(name):
    """A width far larger than the image keeps extending by the same rule (periodic)."""
    row = np.array([[1.0, 2.0, 3.0]])
    got = bd.pad(row, ((0, 0), (0, 30)), name)[0, 3:]
    period = {"reflect": [3, 2, 1, 1, 2, 3], "mirror": [2, 1, 2, 3], "wrap": [1, 2, 3]}[name]
    expected = np.resize(np.array(period, dtype=float), 30)
    np.testing.assert_array_equal(got, expected)


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(BOUNDARIES), h=st.integers(1, 9), w=st.integers(1, 9),
       channels=st.sampled_from([0, 1, 3]), widths=st.tuples(*[st.integers(0, 25)] * 4),
       single=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_pad_equals_numpy_pad_everywhere(name, h, w, channels, widths, single, seed):
    rng = np.random.default_rng(seed)
    image = rng.uniform(-1, 1, (h, w) + ((channels,) if channels else ()))
    image = image.astype(np.float32 if single else np.float64)
    t, b, left, r = widths
    full = [(t, b), (left, r)] + [(0, 0)] * (image.ndim - 2)
    kwargs = {"constant_values": K} if name == "constant" else {}
    expected = np.pad(image, full, mode=TABLE[name]["numpy"], **kwargs)
    got = bd.pad(image, ((t, b), (left, r)), name, cval=K)
    assert got.dtype == image.dtype
    np.testing.assert_array_equal(got, expected)


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(BOUNDARIES), n=st.integers(1, 9),
       positions=st.lists(st.integers(-40, 40), min_size=1, max_size=30),
       sorted_=st.booleans())
def test_index_runs_rebuild_the_indices(name, n, positions, sorted_):
    """Copying each run's slice (the cval for a cval run) rebuilds ``source[idx]``."""
    if sorted_:
        positions = list(range(min(positions), max(positions) + 1))
    idx = bd.boundary_mode(name).index(np.array(positions), n)
    source = np.arange(10.0, 10.0 + n)
    expected = np.where(idx == bd.CVAL_INDEX, K, source[np.maximum(idx, 0)])
    rebuilt = np.full(len(idx), np.nan)
    runs = bd.index_runs(idx)
    for run in runs:
        values = K if run.step is None else source[run.source]
        rebuilt[run.i0:run.i1] = values
        if run.step is not None:
            assert len(range(n)[run.source]) == (1 if run.step == 0 else run.i1 - run.i0)
            assert (run.lo, run.hi - 1) == (min(idx[run.i0:run.i1]), max(idx[run.i0:run.i1]))
    np.testing.assert_array_equal(rebuilt, expected)
    assert [r.i0 for r in runs[1:]] == [r.i1 for r in runs[:-1]]
    assert bd.index_runs(idx.tolist()) == runs


def test_index_runs_of_a_reflected_margin_are_one_slice():
    idx = bd.boundary_mode("reflect").index(np.arange(-5, 0), 100)
    assert bd.index_runs(idx) == [bd.Run(0, 5, 0, 5, -1)]
    assert bd.index_runs([7, 7, 7, -1, -1, 3, 4]) == [
        bd.Run(0, 3, 7, 8, 0), bd.Run(3, 5, -1, -1, None), bd.Run(5, 7, 3, 5, 1)]


def test_negative_width_is_refused():
    with pytest.raises(ValueError):
        bd.pad(np.ones((3, 3)), ((-1, 0), (0, 0)), "reflect")


def test_table_markdown_lists_every_mode():
    text = bd.table_markdown()
    for name in BOUNDARIES:
        assert f"`{name}`" in text


def test_readme_table_is_the_code_table() -> None:
    """The README's boundary table is the one the code reads (one source of truth)."""
    from pathlib import Path

    from imgconv.boundary import table_markdown

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    start = readme.index("<!-- boundary-table -->") + len("<!-- boundary-table -->")
    end = readme.index("<!-- /boundary-table -->")
    assert readme[start:end].strip() == table_markdown()


@pytest.mark.parametrize(("name", "mode"), [
    ("BORDER_REFLECT", "reflect"), ("BORDER_REFLECT_101", "mirror"),
    ("BORDER_REFLECT101", "mirror"), ("BORDER_DEFAULT", "mirror"),
    ("BORDER_REPLICATE", "nearest"), ("BORDER_WRAP", "wrap"), ("BORDER_CONSTANT", "constant"),
    ("border_reflect_101", "mirror"), ("grid-mirror", "reflect"), ("grid-constant", "constant"),
])
def test_other_libraries_names_are_accepted(name: str, mode: str) -> None:
    """OpenCV's constants and scipy's grid-* names (the README promises them) name the mode
    that library computes: checked against cv2's and scipy's own constants."""
    import cv2

    assert bd.canonical_boundary(name) == mode
    row = bd.boundary_mode(name)
    if name.upper().startswith("BORDER_") and row.opencv is not None:
        assert getattr(cv2, name.upper()) == getattr(cv2, row.opencv)
