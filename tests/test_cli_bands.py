"""``imgconv apply --memory-limit`` and ``--scheduler``: images filtered in bands from the
command line, checked against scipy.ndimage.  The library side is test_bands.py."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.ndimage as ndi
import tifffile


def gaussian_u16(img: np.ndarray, sigma: float, mode: str) -> np.ndarray:
    """scipy's Gaussian (imgconv's radius rule), rounded and clipped to uint16."""
    out = ndi.gaussian_filter(img.astype(np.float64), sigma, mode=mode,
                              radius=int(4 * sigma + 0.5))
    return np.clip(np.rint(out), 0, 65535)


def test_memory_limit(tmp_path: Path, cli: SimpleNamespace, ref: SimpleNamespace) -> None:
    img = np.random.default_rng(6).integers(0, 65536, (2000, 1200), dtype=np.uint16)
    src = tmp_path / "big.tif"
    tifffile.imwrite(src, img)  # contiguous: 2000 rows x ~36 kB per row in float32
    out, _ = cli.ok("apply", src, "-f", "gaussian:sigma=2", "--memory-limit", "16MB",
                    "-o", tmp_path / "o.tif", "--json")
    rec = json.loads(out)["outputs"][0]
    assert rec["tiled"] is True and rec["shape"] == [2000, 1200]
    got = tifffile.imread(tmp_path / "o.tif")
    assert got.dtype == np.uint16
    assert ref.maxdiff(got, gaussian_u16(img, 2.0, "reflect")) <= 1
    code, _, err = cli.run("apply", src, "-f", "gaussian:sigma=2", "--memory-limit", "16MB",
                           "-o", tmp_path / "o.png")
    assert code == 2 and ".tif" in err and not (tmp_path / "o.png").exists()
    code, _, err = cli.run("apply", src, "-f", "box3", "--memory-limit", "tiny",
                           "-o", tmp_path / "p.tif")
    assert code == 2 and "--memory-limit tiny" in err and not (tmp_path / "p.tif").exists()


def test_bands_of_one_image_on_a_real_dask_cluster(tmp_path: Path, cli: SimpleNamespace,
                                                   ref: SimpleNamespace) -> None:
    distributed = pytest.importorskip("distributed")
    img = np.random.default_rng(8).integers(0, 65536, (1500, 1400), dtype=np.uint16)
    src = tmp_path / "big.tif"
    tifffile.imwrite(src, img, compression="zlib", rowsperstrip=3)
    cli.ok("apply", src, "-f", "gaussian:sigma=3", "--boundary", "wrap",
           "-o", tmp_path / "local.tif")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        out, _ = cli.ok("apply", src, "-f", "gaussian:sigma=3", "--boundary", "wrap",
                        "--scheduler", cluster.scheduler_address,
                        "-o", tmp_path / "dask.tif", "--json")
        prefixes = cluster.scheduler.task_prefixes
        computed = sum(tp.all_durations.get("compute", 0.0)
                       for name, tp in prefixes.items() if "band_task" in name)
    assert json.loads(out)["outputs"][0]["tiled"] is True
    assert computed > 0  # the bands were computed by the cluster's workers
    a = tifffile.imread(tmp_path / "local.tif")
    b = tifffile.imread(tmp_path / "dask.tif")
    assert ref.maxdiff(a, gaussian_u16(img, 3.0, "wrap")) <= 1
    assert ref.maxdiff(a, b) <= 1  # float32 round-off may flip a .5


def test_bounded_memory_by_default(tmp_path: Path, cli: SimpleNamespace,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --memory-limit the default limit bands what streams (a note says so and how
    to lift it); ``none`` lifts it; what cannot be banded is read whole under the default,
    refused under a limit the user set.  (The default is lowered here to keep it small.)"""
    from imgconv.bands import memory

    monkeypatch.setattr(memory, "DEFAULT_LIMIT", 10**7)
    img = np.random.default_rng(7).integers(0, 65536, (2000, 1200), dtype=np.uint16)
    src = tmp_path / "big.tif"
    tifffile.imwrite(src, img)
    out, err = cli.ok("apply", src, "-f", "box3", "-o", tmp_path / "a.tif", "--json")
    rec = json.loads(out)["outputs"][0]
    assert rec["tiled"] is True
    assert any("--memory-limit none reads it whole" in n for n in rec["notes"])
    out, _ = cli.ok("apply", src, "-f", "box3", "-o", tmp_path / "b.tif", "--json",
                    "--memory-limit", "none")
    assert "tiled" not in json.loads(out)["outputs"][0]
    assert np.array_equal(tifffile.imread(tmp_path / "a.tif"), tifffile.imread(tmp_path / "b.tif"))
    pages = tmp_path / "pages.tif"
    tifffile.imwrite(pages, np.stack([img[:1000], img[1000:]]))  # 2 pages, over the limit
    cli.ok("apply", pages, "-f", "box3", "-o", tmp_path / "c.tif")  # default: read whole
    assert tifffile.imread(tmp_path / "c.tif").shape == (2, 1000, 1200)
    code, _, err = cli.run("apply", pages, "-f", "box3", "-o", tmp_path / "d.tif",
                           "--memory-limit", "10MB")
    assert code == 2 and "--page" in err and "--memory-limit" in err
    cli.ok("apply", src, "-f", "box3", "-o", tmp_path / "e.png", "--dtype", "uint16")
    assert (tmp_path / "e.png").exists()  # a PNG output cannot be banded: read whole


def test_an_input_that_cannot_be_banded_is_refused_under_a_limit_the_user_set(
        tmp_path: Path, cli: SimpleNamespace, monkeypatch: pytest.MonkeyPatch) -> None:
    """A PNG input is read whole: under the default limit it is (whatever its size), under
    a limit the user set it is refused when its pixels and one float32 working copy
    already exceed it (3000x1000 RGB: 9 MB + 36 MB), with what to do and nothing written."""
    from PIL import Image

    from imgconv.bands import memory

    monkeypatch.setattr(memory, "DEFAULT_LIMIT", 10**7)
    img = np.random.default_rng(8).integers(0, 256, (1000, 3000, 3), dtype=np.uint8)
    src = tmp_path / "big.png"
    Image.fromarray(img).save(src)
    cli.ok("apply", src, "-f", "box3", "-o", tmp_path / "default.png")  # default: read whole
    code, _, err = cli.run("apply", src, "-f", "box3", "-o", tmp_path / "set.png",
                           "--memory-limit", "40MB")
    assert code == 2 and not (tmp_path / "set.png").exists()
    assert f"{src}: its pixels and one working copy need 45MB, more than --memory-limit 40MB" \
        in err and "convert it to .tif first, or raise --memory-limit" in err
    cli.ok("apply", src, "-f", "box3", "-o", tmp_path / "raised.png", "--memory-limit", "50MB")
    with Image.open(tmp_path / "raised.png") as a, Image.open(tmp_path / "default.png") as b:
        assert np.array_equal(np.asarray(a), np.asarray(b))
