"""``imgconv.batch``: which files a folder gives, what a run does with each (in this
process: ``workers=1``).  The command line is in test_cli_batch.py."""

from __future__ import annotations

import errno
import multiprocessing
import os
import shutil
import signal
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

import imgconv.interrupts as interrupts
from imgconv import batch
from imgconv.batch import BatchInterrupted, Work, discover, run
from imgconv.errors import ImgconvError
from imgconv.kernels import load_filter
from imgconv.options import FileOptions, FilterOptions

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
    work = Work(kernels=(load_filter("box3"),), options=FilterOptions(),
                files=FileOptions(existing=existing))
    [outcome] = run(jobs, work, workers=1)
    assert outcome.status == status
    assert (out / "a.png").read_bytes() == b"precious"
    overwrite = Work(kernels=(load_filter("box3"),), options=FilterOptions(),
                     files=FileOptions(existing="overwrite"))
    [outcome] = run(jobs, overwrite, workers=1)
    assert outcome.status == "written"
    np.testing.assert_array_equal(np.asarray(Image.open(out / "a.png")), 0)


# -- issue 13: the input tree is never written over; an interrupted run --------------------
def _png(path: Path, value: int, shape: tuple[int, ...] = (6, 6)) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full(shape, value, np.uint8)).save(path)
    return path.read_bytes()


@pytest.mark.parametrize("existing", ["overwrite", "fail"])
def test_no_output_replaces_a_file_of_the_input_tree(tmp_path: Path, existing: str) -> None:
    photos = tmp_path / "photos"
    _png(photos / "x.png", 10)
    original = _png(photos / "2023" / "x.png", 200)  # the output of photos/x.png
    jobs, refused = discover(photos, photos / "2023", recursive=True, existing=existing)
    assert jobs == []
    [why] = refused
    assert (why.input, why.status) == (str(photos / "x.png"), "failed")
    assert str(photos / "2023" / "x.png") in (why.error or "")
    assert "overwrite" in why.params  # spelled --overwrite on the command line
    work = Work(kernels=(load_filter("box3"),), options=FilterOptions(),
                files=FileOptions(existing=existing))
    assert run(jobs, work, workers=1) == []
    assert (photos / "2023" / "x.png").read_bytes() == original


def test_no_output_replaces_an_input_through_a_link(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    original = _png(src / "a.png", 10)
    _png(src / "b.png", 20)
    out.mkdir()
    os.link(src / "a.png", out / "a.png")  # the same file under the output's name
    (out / "b.png").symlink_to(src / "b.png")
    jobs, refused = discover(src, out, existing="overwrite")
    assert jobs == [] and sorted(Path(o.input).name for o in refused) == ["a.png", "b.png"]
    assert (src / "a.png").read_bytes() == original
    kept, _ = discover(src, out, existing="skip")  # left as they are, like any existing one
    outcomes = run(kept, Work(kernels=(load_filter("box3"),), options=FilterOptions(),
                              files=FileOptions(existing="skip")), workers=1)
    assert [o.status for o in outcomes] == ["skipped", "skipped"]
    assert (src / "a.png").read_bytes() == original


def test_output_folder_that_cannot_be_created_is_blamed_on_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "in"
    _png(src / "a.png", 10)
    jobs, _ = discover(src, tmp_path / "ro" / "new")

    def read_only(self: Path, *args: object, **kwargs: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(Path, "mkdir", read_only)
    [outcome] = run(jobs, Work(kernels=(load_filter("box3"),), options=FilterOptions()),
                    workers=1)
    assert outcome.status == "failed"
    assert (outcome.error or "").startswith(f"{tmp_path / 'ro' / 'new' / 'a.png'}: cannot "
                                            "create the folder")
    assert "Read-only file system" in (outcome.error or "")


def test_a_name_over_the_limit_is_a_failure_of_that_file(tmp_path: Path) -> None:
    src = tmp_path / "in"
    _png(src / ("y" * 251 + ".png"), 1)  # 255 bytes: as .tiff it would be 256
    _png(src / "short.png", 2)
    jobs, refused = discover(src, tmp_path / "out", fmt="tiff")
    assert [j.src.name for j in jobs] == ["short.png"]
    assert "over the file system's limit" in (refused[0].error or "")


def test_interrupted_run_stops_its_workers_and_counts_what_is_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    noise = np.random.default_rng(2).integers(0, 256, (300, 300, 3), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "one.png")
    for i in range(8):
        src.mkdir(exist_ok=True)
        shutil.copy(tmp_path / "one.png", src / f"f{i}.png")
    jobs, _ = discover(src, out)
    work = Work(kernels=(load_filter("gaussian:sigma=4"), load_filter("box:size=21")),
                options=FilterOptions(boundary="wrap"))
    monkeypatch.setattr(batch, "STOP_WAIT", 0.0)  # the running jobs' workers are killed

    def sigterm_after_the_first(_: object) -> None:
        os.kill(os.getpid(), signal.SIGTERM)  # handled: raises Interrupted right here

    t0 = time.monotonic()
    with interrupts.handling(grace=60), pytest.raises(BatchInterrupted) as info:
        run(jobs, work, workers=2, on_done=sigterm_after_the_first)
    assert time.monotonic() - t0 < 30
    stop = info.value
    assert (stop.signum, stop.exit_code) == (signal.SIGTERM, 143)
    assert [o.input for o in stop.outcomes] == [str(j.src) for j in jobs]
    assert {o.status for o in stop.outcomes} <= {"written", "interrupted"}
    written = sorted(Path(o.output).name for o in stop.outcomes if o.status == "written")
    assert written == sorted(p.name for p in out.iterdir())  # nothing hidden, nothing else
    assert 1 <= len(written) < len(jobs)
    for name in written:
        with Image.open(out / name) as im:
            assert im.size == (300, 300) and np.asarray(im).shape == (300, 300, 3)
    assert not [p for p in multiprocessing.active_children() if p.name == "imgconv-worker"]


def test_plan_is_what_a_run_would_do_and_writes_nothing(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for name in ("a.png", "a.tif", "b.png", "c.png"):
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(src / name)
    out.mkdir()
    (out / "b.jpg").write_bytes(b"old")
    jobs, refused = discover(src, out, fmt="jpg")
    for existing, b_step in (("skip", ("skip", "exists")), ("fail", ("failed", "exists")),
                             ("overwrite", ("write", None))):
        steps = [(Path(o.input).name, Path(o.output).name, o.planned())
                 for o in batch.plan(jobs, refused, Work((), FilterOptions(),
                                                         FileOptions(existing=existing)))]
        assert steps == [("a.png", "a.jpg", ("write", None)),
                         ("a.tif", "a.jpg", ("failed", "collision")),
                         ("b.png", "b.jpg", b_step),
                         ("c.png", "c.jpg", ("write", None))]
    assert sorted(p.name for p in out.iterdir()) == ["b.jpg"]
    assert (out / "b.jpg").read_bytes() == b"old"


def test_settled_is_the_check_run_job_makes(tmp_path: Path) -> None:
    dst = tmp_path / "x.png"
    dst.write_bytes(b"old")
    job = batch.Job(tmp_path / "missing.png", dst)
    work = Work((load_filter("box3"),), FilterOptions(), FileOptions(existing="skip"))
    assert batch.run_job(job, work) == batch.settled(job, "skip")
    assert batch.settled(job, "skip").status == "skipped"  # type: ignore[union-attr]
    assert batch.settled(job, "overwrite") is None
    assert batch.settled(batch.Job(job.src, tmp_path / "new.png"), "fail") is None
