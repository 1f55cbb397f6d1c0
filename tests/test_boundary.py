"""The boundary-mode table and ``pad`` (SPEC §1, boundary table).

``pad`` is compared with numpy.pad, with scipy.ndimage's own extension (read out
through ``correlate1d`` with one-hot kernels) and with the SPEC's ``a b c d`` rows.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import scipy.ndimage as ndi

from imgconv import boundary as bd
from imgconv.errors import ImgconvError

# SPEC §1 table, transcribed: name -> (extension row, scipy, OpenCV, numpy.pad, aliases)
SPEC_TABLE = {
    "reflect": ("d c b a [a b c d] d c b a", "reflect", "BORDER_REFLECT", "symmetric",
                ("symmetric",)),
    "mirror": ("d c b [a b c d] c b a", "mirror", "BORDER_REFLECT_101", "reflect",
               ("reflect101", "reflect_101")),
    "nearest": ("a a a [a b c d] d d d", "nearest", "BORDER_REPLICATE", "edge",
                ("edge", "replicate", "clamp")),
    "wrap": ("b c d [a b c d] a b c", "wrap", "BORDER_WRAP", "wrap",
             ("periodic", "circular", "tile")),
    "constant": ("k k k [a b c d] k k k", "constant", "BORDER_CONSTANT", "constant",
                 ("zero", "fill")),
}
BOUNDARIES = tuple(SPEC_TABLE)
ALL_ALIASES = [(a, name) for name, row in SPEC_TABLE.items() for a in row[4]]
K = 7.5  # the cval used for constant


def test_table_has_the_five_modes_in_order():
    assert tuple(m.name for m in bd.MODES) == BOUNDARIES
    assert bd.MODE_NAMES == BOUNDARIES


@pytest.mark.parametrize("name", BOUNDARIES)
def test_table_row_matches_spec(name):
    row = next(m for m in bd.MODES if m.name == name)
    extension, scipy_mode, opencv, numpy_mode, aliases = SPEC_TABLE[name]
    assert row.scipy == scipy_mode
    assert row.numpy == numpy_mode
    assert row.opencv == opencv
    assert hasattr(cv2, row.opencv)
    assert set(aliases) <= set(row.aliases)
    assert row.extension.split("(")[0].strip() == extension


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
    with pytest.raises(ImgconvError):
        bd.pad(np.ones((2, 2)), ((1, 1), (1, 1)), bad)


# --------------------------------------------------------------------------------------
# pad() vs numpy.pad, scipy.ndimage and the SPEC rows
# --------------------------------------------------------------------------------------
SHAPES = [(1, 1), (1, 5), (5, 1), (2, 3), (4, 4), (3, 7)]
WIDTHS = [((0, 0), (0, 0)), ((1, 2), (3, 0)), ((7, 9), (11, 8)), ((0, 13), (13, 0))]


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


@pytest.mark.parametrize("widths", WIDTHS, ids=["zero", "small", "large", "one-sided"])
@pytest.mark.parametrize("shape", SHAPES, ids=[f"{h}x{w}" for h, w in SHAPES])
@pytest.mark.parametrize("name", BOUNDARIES)
def test_pad_matches_numpy_pad(name, shape, widths):
    image = make_image(shape)
    np_mode = SPEC_TABLE[name][3]
    kwargs = {"constant_values": K} if name == "constant" else {}
    expected = np.pad(image, widths, mode=np_mode, **kwargs)
    np.testing.assert_array_equal(bd.pad(image, widths, name, cval=K), expected)


@pytest.mark.parametrize("widths", WIDTHS, ids=["zero", "small", "large", "one-sided"])
@pytest.mark.parametrize("shape", SHAPES, ids=[f"{h}x{w}" for h, w in SHAPES])
@pytest.mark.parametrize("name", BOUNDARIES)
def test_pad_matches_scipy_ndimage_extension(name, shape, widths):
    image = make_image(shape)
    (t, b), (left, r) = widths
    mode = SPEC_TABLE[name][1]
    expected = scipy_extend_axis(image, t, b, mode, K, axis=0)
    expected = scipy_extend_axis(expected, left, r, mode, K, axis=1)
    np.testing.assert_array_equal(bd.pad(image, widths, name, cval=K), expected)


@pytest.mark.parametrize("widths", WIDTHS, ids=["zero", "small", "large", "one-sided"])
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
