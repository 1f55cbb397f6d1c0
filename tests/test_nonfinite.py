"""Non-finite pixels and overflow (docs/semantics.md §3): kept local by the spatial
methods, refused by an explicit fft, an image with no finite pixel refused; a result that
becomes NaN/inf from finite inputs is an error naming the kernel; every message of a file
names the file.  scipy.ndimage (which keeps NaN local) is the oracle."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.ndimage as ndi
import tifffile
from hypothesis import given, settings
from hypothesis import strategies as st

from imgconv.chain import filter_image
from imgconv.engine import all_finite
from imgconv.errors import ImgconvError
from imgconv.files import process_file
from imgconv.kernels import Kernel, load_filter
from imgconv.options import FilterOptions


@pytest.fixture
def nan_tif(tmp_path: Path) -> tuple[Path, np.ndarray]:
    img = np.random.default_rng(5).random((30, 40)).astype(np.float32)
    img[7, 9] = np.nan
    img[20, 30] = np.inf
    path = tmp_path / "nan.tif"
    tifffile.imwrite(path, img)
    return path, img


@pytest.mark.parametrize("method", ["auto", "direct"])
def test_nan_stays_local_in_a_float_output(nan_tif: tuple[Path, np.ndarray], tmp_path: Path,
                                           method: str) -> None:
    src, img = nan_tif
    out = tmp_path / "out.tif"
    process_file(src, out, [load_filter("box3")], FilterOptions(method=method))
    got = tifffile.imread(out)
    want = ndi.correlate(img.astype(np.float64), np.ones((3, 3)) / 9, mode="reflect")
    np.testing.assert_array_equal(~np.isfinite(got), ~np.isfinite(want))
    ok = np.isfinite(want)
    assert np.abs(got[ok] - want[ok]).max() < 1e-5


def test_explicit_fft_refuses_naming_the_file_and_the_count(
        nan_tif: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    src, _ = nan_tif
    with pytest.raises(ImgconvError) as info:
        process_file(src, tmp_path / "o.tif", [load_filter("box3")], FilterOptions(method="fft"))
    text = str(info.value)
    assert text.startswith(f"{src}: ") and "2 NaN or infinite" in text
    assert info.value.param == "method" and not (tmp_path / "o.tif").exists()


def test_integer_output_of_nan_is_refused_naming_the_file(
        nan_tif: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    src, _ = nan_tif
    with pytest.raises(ImgconvError) as info:
        process_file(src, tmp_path / "o.png", [load_filter("box3")],
                     FilterOptions(dtype="uint8"))
    assert str(info.value).startswith(f"{src}: ") and "dtype='float32'" in str(info.value)
    assert "overflow" not in str(info.value)  # the image's NaN, not an overflow
    assert not (tmp_path / "o.png").exists()


def test_all_nan_image_refused(tmp_path: Path) -> None:
    src = tmp_path / "allnan.tif"
    tifffile.imwrite(src, np.full((8, 8), np.nan, np.float32))
    for method in ("auto", "direct", "fft"):
        with pytest.raises(ImgconvError, match="no finite pixel") as info:
            process_file(src, tmp_path / "o.tif", [load_filter("box3")],
                         FilterOptions(method=method))
        assert str(info.value).startswith(str(src)) and info.value.file == str(src)


def test_overflowing_offset_is_named() -> None:
    with pytest.raises(ImgconvError, match="offset=3e\\+38") as info:
        filter_image(np.full((4, 4), 3e38, np.float32), "identity", offset=3e38, method="direct")
    assert info.value.param == "precision"


def test_filter_image_refuses_none_and_3d_arrays() -> None:
    img = np.zeros((5, 5), np.uint8)
    with pytest.raises(ImgconvError, match="filters=None"):
        filter_image(img, None)  # type: ignore[arg-type]
    with pytest.raises(ImgconvError, match="3-D array") as info:
        filter_image(img, np.ones((3, 3, 3)) / 9)
    assert "list of 2-D kernels" in str(info.value)
    chain = filter_image(img + 9, list(np.ones((2, 3, 3)) / 9))  # a list is a chain
    assert (chain == 9).all()


def test_huge_kernel_in_single_precision_names_the_kernel() -> None:
    with pytest.raises(ImgconvError, match="'wide'.*precision='double'"):
        filter_image(np.ones((4, 4), np.uint8), Kernel(np.array([[1e300, -1e300]]),
                                                       name="wide"))


def test_float64_values_beyond_single_precision_are_refused_not_made_inf() -> None:
    img = np.full((4, 4), 1e300)
    with pytest.raises(ImgconvError, match="precision='double'"):
        filter_image(img, "box3", precision="single")
    assert np.allclose(filter_image(img, "box3"), 1e300)  # auto: double for float64


def test_a_file_offset_that_overflows_is_named(tmp_path: Path) -> None:
    spec = tmp_path / "off.yaml"
    spec.write_text("kernel: [[1, 0], [0, 1]]\noffset: 1e300\n")
    with pytest.raises(ImgconvError, match=r"offset 1e\+300 of kernel 'off'") as info:
        filter_image(np.ones((4, 4), np.uint8), str(spec))
    assert info.value.param == "precision"
    assert f"'off' ({spec})" in str(info.value)  # the file, not only its stem


def test_weights_that_overflow_even_in_double_name_the_file(tmp_path: Path) -> None:
    """1e300 x 1e300 overflows in double too: the advice is to scale down, not
    precision='double'; the message names the filter file."""
    spec = tmp_path / "huge.yaml"
    spec.write_text("scale: 1e300\nkernel: [[1e300, 0], [0, 1]]\n")
    with pytest.raises(ImgconvError, match="even in double precision: scale the kernel "
                       "down") as info:
        filter_image(np.ones((4, 4), np.uint8), str(spec), precision="double")
    assert f"'huge' ({spec})" in str(info.value) and "precision='double'" not in str(
        info.value)


def test_cval_in_an_overflow_is_named() -> None:
    with pytest.raises(ImgconvError, match=r"cval=1e\+38") as info:
        filter_image(np.full((4, 4), 3e38, np.float32), np.ones((3, 3)), boundary="constant",
                     cval=1e38, method="direct", dtype="float32")
    assert info.value.param == "precision"


def test_diff_errors_name_the_image(tmp_path: Path, cli: SimpleNamespace) -> None:
    import json

    src = tmp_path / "a.npy"
    np.save(src, np.ones((8, 8), np.uint8))
    spec = tmp_path / "huge.yaml"
    spec.write_text("kernel: [[1, 1], [1, 1]]\nscale: 1e300\n")
    code, out, _ = cli.run("diff", src, "-f", spec, "--json")
    err = json.loads(out)["error"]
    assert code == 2 and err["message"].startswith(f"{src}: ") and err["file"] == str(src)


def test_a_path_over_path_max_is_refused_before_any_work(tmp_path: Path,
                                                         cli: SimpleNamespace) -> None:
    deep = "/".join(["d" * 200] * 21) + "/x.png"  # 4200 bytes, each part within NAME_MAX
    code, _, err = cli.run("apply", deep, "-f", "box3")
    assert code == 2 and "over the system's limit of 4095" in err and "Traceback" not in err


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.integers(1, 4), st.sampled_from(
    [np.float32, np.float64]), st.sampled_from([1.0, 1e30, 3e38, 1e307]),
    st.lists(st.tuples(st.floats(0, 1, exclude_max=True),
                       st.sampled_from([np.nan, np.inf, -np.inf])), max_size=3),
    st.booleans(), st.integers(0, 2**32 - 1))
def test_all_finite_agrees_with_numpy(h: int, w: int, c: int, dtype: type, magnitude: float,
                                      bad: list[tuple[float, float]], strided: bool,
                                      seed: int) -> None:
    """The one-sum shortcut never calls an array finite that numpy does not, whatever the
    dtype, shape, layout, and sums that overflow (values near the dtype's maximum)."""
    rng = np.random.default_rng(seed)
    with np.errstate(over="ignore"):
        a = (rng.standard_normal((h, w, c)) * magnitude).astype(dtype)
    for where, value in bad:
        a.flat[int(where * a.size)] = value
    view = a[:, ::2] if strided else (a[:, :, 0] if c == 1 else a)
    assert all_finite(view) == bool(np.isfinite(view).all())


def test_a_bound_the_caller_gives_skips_the_check_only_when_it_proves_it() -> None:
    """``bound=`` on correlate: the same result; a bound that does not rule out an
    overflow (bound * sum|F| near the float's maximum) leaves the check on."""
    import imgconv

    img = np.random.default_rng(2).random((30, 40)).astype(np.float32)
    k = np.ones((3, 3)) / 9
    np.testing.assert_array_equal(imgconv.correlate(img, k, bound=1.0),
                                  imgconv.correlate(img, k))
    big = np.full((8, 8), 3e38, np.float32)
    with pytest.raises(ImgconvError, match="overflowed"):
        imgconv.correlate(big, np.ones((3, 3)), bound=3.4e38)  # proves nothing: checked
