"""``imgconv batch``: a tree with good and broken files, resume, overwrite, Dask."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import imageio.v3 as iio
import numpy as np
import pytest
from typer.testing import CliRunner

from imgconv.cli import app

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, list(args))
    return r.exit_code, r.stdout, r.stderr


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """Nested folders, 16-bit RGB PNG, RGBA, a space in a name, a JPEG, broken files."""
    rng = np.random.default_rng(5)
    root = tmp_path / "in"
    (root / "sub dir" / "deeper").mkdir(parents=True)
    iio.imwrite(root / "gray.png", rng.integers(0, 256, (30, 40), dtype=np.uint8))
    rgba = rng.integers(0, 256, (25, 20, 4), dtype=np.uint8)
    iio.imwrite(root / "sub dir" / "with alpha.png", rgba)
    rgb16 = rng.integers(0, 65536, (22, 18, 3), dtype=np.uint16)
    cv2.imwrite(str(root / "sub dir" / "deeper" / "deep16.png"), rgb16[:, :, ::-1])
    iio.imwrite(root / "photo.jpg", rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
    good = root / "gray.png"
    (root / "truncated.png").write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    (root / "text.png").write_text("I am not a PNG")
    (root / "notes.txt").write_text("not an image at all")
    return root


def test_batch_tree_with_broken_files(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    before = snapshot(tree)
    code, stdout, stderr = run("batch", str(tree), "-o", str(out), "-f", "sobel-x", "-r",
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
    assert written == ["gray.png", "photo.jpg", "sub dir/deeper/deep16.png",
                       "sub dir/with alpha.png"]
    assert snapshot(tree) == before  # inputs byte-identical
    assert not [p for p in out.rglob("*") if p.name.startswith(".")]  # no temporary files
    deep = cv2.imread(str(out / "sub dir/deeper/deep16.png"), cv2.IMREAD_UNCHANGED)
    assert deep.dtype == np.uint16 and deep.shape == (22, 18, 3)
    alpha_in = iio.imread(tree / "sub dir" / "with alpha.png")[:, :, 3]
    assert np.array_equal(iio.imread(out / "sub dir" / "with alpha.png")[:, :, 3], alpha_in)


def test_batch_equals_apply_byte_for_byte(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run("batch", str(tree), "-o", str(out), "-f", "gaussian5", "-f", "sharpen", "-r",
        "--workers", "2", "--mode", "correlate", "-q")
    for rel in ["gray.png", "sub dir/with alpha.png", "sub dir/deeper/deep16.png"]:
        single = tmp_path / ("single_" + Path(rel).name)
        code, _, err = run("apply", str(tree / rel), "-f", "gaussian5", "-f", "sharpen",
                           "--mode", "correlate", "-o", str(single))
        assert code == 0, err
        a = cv2.imread(str(single), cv2.IMREAD_UNCHANGED)
        b = cv2.imread(str(out / rel), cv2.IMREAD_UNCHANGED)
        assert np.array_equal(a, b), rel


def test_resume_and_no_silent_overwrite(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run("batch", str(tree), "-o", str(out), "-f", "box3", "-r", "-q")
    first = snapshot(out)
    assert len(first) == 4
    (out / "gray.png").unlink()  # as if interrupted before this one
    code, stdout, _ = run("batch", str(tree), "-o", str(out), "-f", "box5", "-r",
                          "--skip-existing", "--json", "--workers", "1")
    rep = json.loads(stdout)
    assert rep["written"] == 1 and rep["skipped"] == 3 and code == 1  # 2 broken files
    after = snapshot(out)
    for name, data in first.items():
        if name != "gray.png":
            assert after[name] == data  # box3 results kept, not rewritten with box5
    code, stdout, _ = run("batch", str(tree), "-o", str(out), "-f", "box5", "-r", "--json")
    rep = json.loads(stdout)
    assert code == 1 and rep["written"] == 0
    exists = [f for f in rep["files"] if f["error"] and "already exists" in f["error"]]
    assert len(exists) == 4
    assert snapshot(out) == after
    code, stdout, _ = run("batch", str(tree), "-o", str(out), "-f", "box5", "-r", "--json",
                          "--overwrite")
    assert json.loads(stdout)["written"] == 4


def test_output_inside_input_is_not_read(tree: Path) -> None:
    out = tree / "filtered"
    code, stdout, _ = run("batch", str(tree), "-o", str(out), "-f", "box3", "-r", "--json",
                          "--glob", "*.png")
    first = json.loads(stdout)
    assert all("filtered" not in f["input"] for f in first["files"])
    code, stdout, _ = run("batch", str(tree), "-o", str(out), "-f", "box3", "-r", "--json",
                          "--glob", "*.png", "--skip-existing")
    second = json.loads(stdout)
    assert len(second["files"]) == len(first["files"])  # its own outputs are not new inputs


def test_format_conversion_and_glob(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, stdout, err = run("batch", str(tree), "-o", str(out), "-f", "identity",
                            "--glob", "*.jpg", "--format", "png", "--json")
    assert code == 0, err
    assert [Path(f["output"]).name for f in json.loads(stdout)["files"]] == ["photo.png"]
    assert np.array_equal(iio.imread(out / "photo.png"), iio.imread(tree / "photo.jpg"))


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["missing_dir"], "no such folder"),
        (["IN", "--format", "xyz"], "--format"),
        (["IN", "--skip-existing", "--overwrite"], "contradict"),
        (["IN", "--dtype", "float32"], "float32"),
    ],
)
def test_batch_bad_usage(tree: Path, tmp_path: Path, args: list[str], needle: str) -> None:
    args = [str(tree) if a == "IN" else str(tmp_path / a) if a == "missing_dir" else a
            for a in args]
    code, _, err = run("batch", *args, "-o", str(tmp_path / "o"), "-f", "box3")
    assert code == 2 and needle in err
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_batch_on_a_real_dask_cluster(tree: Path, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    out_local, out_dask = tmp_path / "local", tmp_path / "dask"
    run("batch", str(tree), "-o", str(out_local), "-f", "emboss", "-r", "-q", "--workers", "1")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        code, stdout, err = run("batch", str(tree), "-o", str(out_dask), "-f", "emboss", "-r",
                                "--scheduler", cluster.scheduler_address, "--json")
    assert code == 1, err  # the two broken files
    rep = json.loads(stdout)
    assert rep["written"] == 4 and rep["failed"] == 2
    assert snapshot(out_dask) == snapshot(out_local)


@pytest.mark.parametrize("address", ["notanaddress", "http://127.0.0.1:8786"])
def test_bad_scheduler_address_is_usage_error(tree: Path, tmp_path: Path, address: str) -> None:
    out = tmp_path / "o"
    code, _, err = run("batch", str(tree), "-o", str(out), "-f", "box3", "--scheduler", address)
    assert code == 2 and "tcp://HOST:PORT" in err and "Traceback" not in err
    assert not out.exists()
