"""``imgconv.batch``: which files a folder gives, what a run does with each (in this
process: ``workers=1``).  The command line is in test_cli_batch.py."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from imgconv.batch import Work, discover, run
from imgconv.errors import ImgconvError
from imgconv.kernels import load_filter
from imgconv.options import FilterOptions

IMAGES = ["gray.png", "photo.jpg", "sub dir/deeper/deep16.png", "sub dir/with alpha.png",
          "text.png", "truncated.png"]  # sorted; notes.txt is not an image extension


def rel(paths: list[Path], root: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for p in paths]


def test_discover_mirrors_the_tree(batch_tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    jobs, refused = discover(batch_tree, out, recursive=True)
    assert refused == []
    assert rel([j.src for j in jobs], batch_tree) == IMAGES
    assert rel([j.dst for j in jobs], out) == IMAGES
    top, _ = discover(batch_tree, out)
    assert rel([j.src for j in top], batch_tree) == ["gray.png", "photo.jpg", "text.png",
                                                     "truncated.png"]


def test_discover_pattern_and_format(batch_tree: Path, tmp_path: Path) -> None:
    jobs, _ = discover(batch_tree, tmp_path / "o", recursive=True, pattern="*.jpg", fmt="PNG")
    assert [(j.src.name, j.dst.name) for j in jobs] == [("photo.jpg", "photo.png")]
    deep, _ = discover(batch_tree, tmp_path / "o", recursive=True, pattern="sub dir/*/*.png")
    assert rel([j.src for j in deep], batch_tree) == ["sub dir/deeper/deep16.png"]


def test_discover_never_reads_inside_the_output(batch_tree: Path) -> None:
    out = batch_tree / "sub dir"
    jobs, _ = discover(batch_tree, out, recursive=True)
    assert rel([j.src for j in jobs], batch_tree) == ["gray.png", "photo.jpg", "text.png",
                                                      "truncated.png"]


def test_discover_refuses_two_inputs_into_one_output(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for name in ("a.png", "a.tif", "b.png"):
        (src / name).write_bytes(b"")
    jobs, refused = discover(src, tmp_path / "o", fmt="tif")
    assert [(j.src.name, j.dst.name) for j in jobs] == [("a.png", "a.tif"), ("b.png", "b.tif")]
    assert [(Path(o.input).name, o.status) for o in refused] == [("a.tif", "failed")]
    assert "a.png" in (refused[0].error or "")


def test_discover_refuses_bad_folders(batch_tree: Path, tmp_path: Path) -> None:
    with pytest.raises(ImgconvError, match="no such folder"):
        discover(tmp_path / "missing", tmp_path / "o")
    with pytest.raises(ImgconvError, match="input folder"):
        discover(batch_tree, batch_tree)
    with pytest.raises(ImgconvError, match="fmt='xyz'") as info:  # the parameter, not --format
        discover(batch_tree, tmp_path / "o", fmt="xyz")
    assert info.value.param == "fmt"


def test_run_writes_good_files_and_records_bad_ones(batch_tree: Path, tmp_path: Path,
                                                    ref: SimpleNamespace) -> None:
    out = tmp_path / "out"
    jobs, _ = discover(batch_tree, out, recursive=True)
    done: list[str] = []
    work = Work(kernels=(load_filter("box3"),), options=FilterOptions())
    outcomes = run(jobs, work, workers=1, on_done=lambda o: done.append(o.status))
    assert [Path(o.input).relative_to(batch_tree).as_posix() for o in outcomes] == IMAGES
    assert [o.status for o in outcomes] == ["written"] * 4 + ["failed"] * 2
    assert sorted(done) == sorted(o.status for o in outcomes)
    assert all(Path(o.input).name in (o.error or "") for o in outcomes[4:])
    gray = np.asarray(Image.open(batch_tree / "gray.png"))
    got = np.asarray(Image.open(out / "gray.png"))
    assert ref.maxdiff(got, ref.scipy(gray, ref.kernels["box3"])) <= 0.5 + 1e-3


@pytest.mark.parametrize(("existing", "status"), [("skip", "skipped"), ("fail", "failed")])
def test_run_leaves_existing_outputs(tmp_path: Path, existing: str, status: str) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    out.mkdir()
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(src / "a.png")
    (out / "a.png").write_bytes(b"precious")
    jobs, _ = discover(src, out)
    work = Work(kernels=(load_filter("box3"),), options=FilterOptions(), existing=existing)
    [outcome] = run(jobs, work, workers=1)
    assert outcome.status == status
    assert (out / "a.png").read_bytes() == b"precious"
    overwrite = Work(kernels=(load_filter("box3"),), options=FilterOptions(),
                     existing="overwrite")
    [outcome] = run(jobs, overwrite, workers=1)
    assert outcome.status == "written"
    np.testing.assert_array_equal(np.asarray(Image.open(out / "a.png")), 0)
