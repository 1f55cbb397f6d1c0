"""``imgconv batch``: a tree with good and broken files, resume, overwrite, Dask; exit codes
and messages (flag spellings).  The library side (``imgconv.batch``) is test_batch.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from PIL import Image

Snapshot = Callable[[Path], dict[str, bytes]]
GOOD = ["gray.png", "photo.jpg", "sub dir/deeper/deep16.png", "sub dir/with alpha.png"]


def test_batch_tree_with_broken_files(batch_tree: Path, tmp_path: Path, cli: SimpleNamespace,
                                      snapshot: Snapshot) -> None:
    out = tmp_path / "out"
    before = snapshot(batch_tree)
    code, stdout, stderr = cli.run("batch", batch_tree, "-o", out, "-f", "sobel-x", "-r",
                                   "--workers", "2", "--json")
    assert code == 1, stderr
    report = json.loads(stdout)
    assert (report["written"], report["failed"]) == (4, 2)
    failed = {Path(f["input"]).name: f["error"] for f in report["files"]
              if f["status"] == "failed"}
    assert set(failed) == {"truncated.png", "text.png"}
    assert all(name in err for name, err in failed.items())
    assert "Traceback" not in stdout + stderr
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert written == GOOD
    assert snapshot(batch_tree) == before  # inputs byte-identical
    assert not [p for p in out.rglob("*") if p.name.startswith(".")]  # no temporary files
    deep = cv2.imread(str(out / "sub dir/deeper/deep16.png"), cv2.IMREAD_UNCHANGED)
    assert deep.dtype == np.uint16 and deep.shape == (22, 18, 3)
    alpha_in = np.asarray(Image.open(batch_tree / "sub dir" / "with alpha.png"))[:, :, 3]
    alpha_out = np.asarray(Image.open(out / "sub dir" / "with alpha.png"))[:, :, 3]
    np.testing.assert_array_equal(alpha_out, alpha_in)


def test_batch_equals_apply_byte_for_byte(batch_tree: Path, tmp_path: Path,
                                          cli: SimpleNamespace) -> None:
    out = tmp_path / "out"
    chain = ["-f", "gaussian5", "-f", "sharpen", "--mode", "correlate"]
    code, _, err = cli.run("batch", batch_tree, "-o", out, *chain, "-r", "--workers", "2",
                           "-q")
    assert code == 1, err  # the two broken files
    for rel in ["gray.png", "sub dir/with alpha.png", "sub dir/deeper/deep16.png"]:
        single = tmp_path / ("single_" + Path(rel).name)
        cli.ok("apply", batch_tree / rel, *chain, "-o", single)
        assert (out / rel).read_bytes() == single.read_bytes(), rel


def test_resume_and_no_silent_overwrite(batch_tree: Path, tmp_path: Path, cli: SimpleNamespace,
                                        snapshot: Snapshot) -> None:
    out = tmp_path / "out"
    code, _, _ = cli.run("batch", batch_tree, "-o", out, "-f", "box3", "-r", "-q",
                         "--workers", "1")
    assert code == 1  # the two broken files
    first = snapshot(out)
    assert sorted(first) == GOOD
    (out / "gray.png").unlink()  # as if interrupted before this one
    code, stdout, _ = cli.run("batch", batch_tree, "-o", out, "-f", "box5", "-r",
                              "--skip-existing", "--json", "--workers", "1")
    rep = json.loads(stdout)
    assert rep["written"] == 1 and rep["skipped"] == 3 and code == 1  # 2 broken files
    after = snapshot(out)
    for name, data in first.items():
        if name != "gray.png":
            assert after[name] == data  # box3 results kept, not rewritten with box5
    assert after["gray.png"] != first["gray.png"]  # written again, with box5
    code, stdout, _ = cli.run("batch", batch_tree, "-o", out, "-f", "box5", "-r", "--json",
                              "--workers", "1")
    rep = json.loads(stdout)
    assert code == 1 and rep["written"] == 0
    exists = [f for f in rep["files"] if f["error"] and "already exists" in f["error"]]
    assert len(exists) == 4
    assert all("--overwrite" in f["error"] for f in exists)  # the flag, on the command line
    assert snapshot(out) == after
    code, stdout, _ = cli.run("batch", batch_tree, "-o", out, "-f", "box5", "-r", "--json",
                              "--overwrite", "--workers", "1")
    assert code == 1 and json.loads(stdout)["written"] == 4


def test_output_inside_input_is_not_read(batch_tree: Path, cli: SimpleNamespace) -> None:
    out = batch_tree / "filtered"
    args = ("batch", batch_tree, "-o", out, "-f", "box3", "-r", "--json", "--glob", "*.png",
            "--workers", "1")
    code, stdout, _ = cli.run(*args)
    first = json.loads(stdout)
    assert code == 1 and first["written"] == 3 and len(first["files"]) == 5
    code, stdout, _ = cli.run(*args, "--skip-existing")
    second = json.loads(stdout)
    assert code == 1  # the broken files again
    # its own outputs (now in IN/filtered) are not new inputs
    assert not [f for f in second["files"] if Path(f["input"]).is_relative_to(out)]
    assert len(second["files"]) == 5 and second["skipped"] == 3


def test_format_conversion_and_glob(batch_tree: Path, tmp_path: Path,
                                    cli: SimpleNamespace) -> None:
    out = tmp_path / "out"
    stdout, _ = cli.ok("batch", batch_tree, "-o", out, "-f", "identity", "--glob", "*.jpg",
                       "--format", "png", "--json")
    assert [Path(f["output"]).name for f in json.loads(stdout)["files"]] == ["photo.png"]
    with Image.open(out / "photo.png") as png:
        assert png.format == "PNG"
        np.testing.assert_array_equal(np.asarray(png),
                                      np.asarray(Image.open(batch_tree / "photo.jpg")))


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["missing_dir"], "no such folder"),
        (["IN", "--format", "xyz"], "--format"),
        (["IN", "--skip-existing", "--overwrite"], "contradict"),
        (["IN", "--dtype", "float32"], "float32"),
    ],
)
def test_batch_bad_usage(batch_tree: Path, tmp_path: Path, args: list[str], needle: str,
                         cli: SimpleNamespace) -> None:
    args = [str(batch_tree) if a == "IN" else str(tmp_path / a) if a == "missing_dir" else a
            for a in args]
    code, _, err = cli.run("batch", *args, "-o", tmp_path / "o", "-f", "box3")
    assert code == 2 and needle in err
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_batch_on_a_real_dask_cluster(batch_tree: Path, tmp_path: Path, cli: SimpleNamespace,
                                      snapshot: Snapshot) -> None:
    distributed = pytest.importorskip("distributed")
    out_local, out_dask = tmp_path / "local", tmp_path / "dask"
    code, _, err = cli.run("batch", batch_tree, "-o", out_local, "-f", "emboss", "-r", "-q",
                           "--workers", "1")
    assert code == 1, err
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        code, stdout, err = cli.run("batch", batch_tree, "-o", out_dask, "-f", "emboss", "-r",
                                    "--scheduler", cluster.scheduler_address, "--json")
    assert code == 1, err  # the two broken files
    rep = json.loads(stdout)
    assert rep["written"] == 4 and rep["failed"] == 2
    assert sorted(snapshot(out_dask)) == GOOD
    assert snapshot(out_dask) == snapshot(out_local)


@pytest.mark.parametrize("address", ["notanaddress", "http://127.0.0.1:8786"])
def test_bad_scheduler_address_is_usage_error(batch_tree: Path, tmp_path: Path, address: str,
                                              cli: SimpleNamespace) -> None:
    out = tmp_path / "o"
    code, _, err = cli.run("batch", batch_tree, "-o", out, "-f", "box3", "--scheduler",
                           address)
    assert code == 2 and "tcp://HOST:PORT" in err and "Traceback" not in err
    assert not out.exists()
