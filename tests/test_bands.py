"""Banded filtering (``imgconv.bands``) equals the whole-image computation, with tiny bands
(issue 9).  The command line (``--memory-limit``, ``--scheduler``) is in test_cli_bands.py."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from reference import BOUNDARIES

from imgconv.bands import bytes_per_row, parse_size, process_file_tiled
from imgconv.boundary import CVAL_INDEX, boundary_mode
from imgconv.errors import ImgconvError
from imgconv.files import process_file
from imgconv.kernels import Kernel
from imgconv.options import FileOptions, FilterOptions


def write_source(path: Path, img: np.ndarray, layout: str) -> Path:
    rgb = img.ndim == 3
    kw: dict[str, object] = {"photometric": "rgb" if rgb else "minisblack"}
    if layout == "npy":
        path = path.with_suffix(".npy")
        np.save(path, img)
        return path
    path = path.with_suffix(".tif")
    if layout == "strips":
        kw.update(compression="zlib", rowsperstrip=3)
    elif layout == "tiles":
        kw.update(compression="zlib", tile=(16, 16))
    tifffile.imwrite(path, img, **kw)  # type: ignore[arg-type]
    return path


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    h=st.integers(1, 40), w=st.integers(1, 30), channels=st.sampled_from([0, 3]),
    kh=st.integers(1, 9), kw=st.integers(1, 9), boundary=st.sampled_from(BOUNDARIES),
    size=st.sampled_from(["same", "full", "valid"]), mode=st.sampled_from(["correlate",
                                                                            "convolve"]),
    layout=st.sampled_from(["npy", "contiguous", "strips", "tiles"]),
    rows_per_band=st.integers(1, 7), seed=st.integers(0, 2**16),
)
def test_tiled_equals_whole(h: int, w: int, channels: int, kh: int, kw: int,
                            boundary: str, size: str, mode: str, layout: str,
                            rows_per_band: int, seed: int) -> None:
    assume(size != "valid" or (kh <= h and kw <= w))
    with tempfile.TemporaryDirectory() as tmp:
        check_tiled(Path(tmp), h, w, channels, kh, kw, boundary, size, mode, layout,
                    rows_per_band, seed)


def check_tiled(tmp_path: Path, h: int, w: int, channels: int, kh: int, kw: int,
                boundary: str, size: str, mode: str, layout: str, rows_per_band: int,
                seed: int) -> None:
    rng = np.random.default_rng(seed)
    shape = (h, w, channels) if channels else (h, w)
    img = rng.integers(0, 65536, shape, dtype=np.uint16)
    name = f"s{seed}_{h}_{w}_{channels}_{layout}"
    src = write_source(tmp_path / name, img, layout)
    anchor = (int(rng.integers(0, kh)), int(rng.integers(0, kw)))
    k = Kernel(rng.standard_normal((kh, kw)), anchor=anchor, name="k")
    opts = FilterOptions(mode=mode, boundary=boundary, size=size, cval=1234.5, precision="double",
                         dtype="float64")
    whole, tiled = tmp_path / f"{name}_w.npy", tmp_path / f"{name}_t.npy"
    process_file(src, whole, [k], opts)
    limit = bytes_per_row(w + kw, max(channels, 1), 2, 8) * (kh - 1 + rows_per_band)
    process_file_tiled(src, tiled, [k], opts, FileOptions(memory_limit=limit))
    a, b = np.load(whole), np.load(tiled)
    assert a.shape == b.shape
    assert np.abs(a - b).max(initial=0) <= 1e-9 * np.abs(k.array).sum() * 65535


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_chain_and_uint_output_through_tiff(tmp_path: Path, boundary: str) -> None:
    rng = np.random.default_rng(3)
    img = rng.integers(0, 65536, (70, 45, 3), dtype=np.uint16)
    src = write_source(tmp_path / "in", img, "tiles")
    ks = [Kernel(rng.random((5, 3)), name="a"), Kernel(rng.random((2, 6)) - 0.5, name="b")]
    opts = FilterOptions(mode="convolve", boundary=boundary, cval=100.0, abs=True, offset=7.0)
    process_file(src, tmp_path / "whole.tif", ks, opts)
    limit = bytes_per_row(45 + 6, 3, 2, 4) * (4 + 5)
    rec = process_file_tiled(src, tmp_path / "tiled.tif", ks, opts,
                             FileOptions(memory_limit=limit))
    a = tifffile.imread(tmp_path / "whole.tif")
    b = tifffile.imread(tmp_path / "tiled.tif")
    assert rec.tiled is True and b.dtype == np.uint16 and b.shape == a.shape
    assert np.abs(a.astype(int) - b).max() <= 1  # float32 round-off may flip a .5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tif", "tiled.tif", "whole.tif"]


def test_rescale_uses_global_range(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    img = rng.integers(0, 256, (60, 20), dtype=np.uint8)
    src = write_source(tmp_path / "in", img, "npy")
    k = Kernel(np.array([[1.0, -1.0]]), name="dx")
    opts = FilterOptions(rescale=True)
    process_file(src, tmp_path / "w.npy", [k], opts)
    process_file_tiled(src, tmp_path / "t.npy", [k], opts,
                       FileOptions(memory_limit=bytes_per_row(22, 1, 1, 4) * 6))
    assert np.abs(np.load(tmp_path / "w.npy").astype(int) - np.load(tmp_path / "t.npy")).max() <= 1


def test_band_rows_follow_numpy_pad(ref: SimpleNamespace) -> None:
    """The rows a band gathers beyond the edge are numpy.pad's (an independent oracle)."""
    modes = {ours: row["numpy"] for ours, row in ref.table.items() if ours != "constant"}
    for h in (1, 2, 5):
        idx = np.arange(-13, h + 13)
        for ours, theirs in modes.items():
            expect = np.pad(np.arange(h), (13, 13), mode=theirs)  # type: ignore[call-overload]
            assert np.array_equal(boundary_mode(ours).index(idx, h), expect), (ours, h)
        const = boundary_mode("constant").index(idx, h)
        assert np.array_equal(const[13:13 + h], np.arange(h))
        assert (const[:13] == CVAL_INDEX).all() and (const[13 + h:] == CVAL_INDEX).all()


@pytest.mark.parametrize(("text", "value"), [("256MB", 256 * 10**6), ("2GiB", 2 * 2**30),
                                              ("1.5GB", 15 * 10**8), ("512 MiB", 512 * 2**20),
                                              ("100000000", 10**8)])
def test_parse_size(text: str, value: int) -> None:
    assert parse_size(text) == value


@pytest.mark.parametrize("text", ["lots", "12XB", "-5MB", "1KB"])
def test_parse_size_refuses(text: str) -> None:
    with pytest.raises(ImgconvError, match=re.escape(f"memory_limit={text!r}")) as info:
        parse_size(text)
    assert info.value.param == "memory_limit"


def test_abs_with_rescale_in_bands(tmp_path: Path) -> None:
    rng = np.random.default_rng(12)
    src = write_source(tmp_path / "in", rng.integers(0, 256, (80, 30), dtype=np.uint8), "npy")
    k = Kernel(np.array([[1.0, 0.0, -1.0]]), name="dx")
    opts = FilterOptions(abs=True, rescale=True)
    process_file(src, tmp_path / "w.npy", [k], opts)
    process_file_tiled(src, tmp_path / "t.npy", [k], opts,
                       FileOptions(memory_limit=bytes_per_row(33, 1, 1, 4) * 6))
    a, b = np.load(tmp_path / "w.npy").astype(int), np.load(tmp_path / "t.npy").astype(int)
    assert np.abs(a - b).max() <= 1


def test_banded_path_never_overwrites_its_input(tmp_path: Path) -> None:
    from imgconv.errors import OutputError

    src = write_source(tmp_path / "in", np.zeros((50, 40), np.uint8), "npy")
    before = src.read_bytes()
    with pytest.raises(OutputError, match="is an input"):
        process_file(src, src, [Kernel(np.ones((3, 3)))], FilterOptions(),
                     FileOptions(existing="overwrite", memory_limit=10**7))
    assert src.read_bytes() == before


@pytest.mark.parametrize("alpha", ["keep", "filter"])
@pytest.mark.parametrize("channels", [2, 4])
def test_alpha_in_bands_as_in_whole_images(tmp_path: Path, alpha: str, channels: int) -> None:
    """alpha='filter' filters the alpha channel in bands too (it was passed through), and
    'keep' keeps it exactly; checked against scipy.ndimage on every channel."""
    import scipy.ndimage as ndi

    rng = np.random.default_rng(21)
    img = rng.integers(0, 65536, (90, 50, channels), dtype=np.uint16)
    src = tmp_path / "rgba.tif"
    tifffile.imwrite(src, img, photometric="rgb" if channels == 4 else "minisblack",
                     extrasamples=("unassalpha",))
    k = Kernel(np.ones((5, 5)) / 25, name="box5")
    opts = FilterOptions(alpha=alpha, dtype="float32")
    process_file_tiled(src, tmp_path / "t.npy", [k], opts,
                       FileOptions(memory_limit=bytes_per_row(55, channels, 2, 4) * 12))
    got = np.load(tmp_path / "t.npy")
    for c in range(channels):
        want = ndi.correlate(img[..., c].astype(np.float64), k.array, mode="reflect")
        if c == channels - 1 and alpha == "keep":
            want = img[..., c]
        assert np.abs(got[..., c] - want).max() < 0.05, (c, alpha)


def test_rescale_with_offset_in_bands_rounds_like_the_whole_image(tmp_path: Path) -> None:
    rng = np.random.default_rng(22)
    src = write_source(tmp_path / "in", rng.integers(0, 256, (70, 33), dtype=np.uint8), "npy")
    k = Kernel(np.array([[1.0, -2.0, 1.0]]) / 3, name="d2")
    opts = FilterOptions(rescale=True, offset=0.1234567, abs=True)
    process_file(src, tmp_path / "w.npy", [k], opts)
    process_file_tiled(src, tmp_path / "t.npy", [k], opts,
                       FileOptions(memory_limit=bytes_per_row(36, 1, 1, 4) * 5))
    assert np.array_equal(np.load(tmp_path / "w.npy"), np.load(tmp_path / "t.npy"))


def test_a_float_image_with_nan_in_bands_as_whole(tmp_path: Path) -> None:
    """NaN pixels in a float image are kept local in bands too (they were refused as an
    overflow), equal to the whole-image result."""
    rng = np.random.default_rng(31)
    img = rng.random((600, 300)).astype(np.float32)
    img[100, 50] = np.nan
    img[450, 200] = np.inf
    src = tmp_path / "nan.tif"
    tifffile.imwrite(src, img)
    k = Kernel(np.ones((5, 5)) / 25, name="box5")
    process_file(src, tmp_path / "w.tif", [k], FilterOptions(), FileOptions(memory_limit=None))
    process_file_tiled(src, tmp_path / "t.tif", [k], FilterOptions(),
                       FileOptions(memory_limit=bytes_per_row(305, 1, 4, 4) * 40))
    a, b = tifffile.imread(tmp_path / "w.tif"), tifffile.imread(tmp_path / "t.tif")
    np.testing.assert_array_equal(~np.isfinite(a), ~np.isfinite(b))
    ok = np.isfinite(a)
    assert 0 < (~ok).sum() < a.size and np.abs(a[ok] - b[ok]).max() < 1e-5
