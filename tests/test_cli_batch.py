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


# -- issue 13 -------------------------------------------------------------------------------
def test_batch_never_replaces_a_file_of_its_input_tree(tmp_path: Path, cli: SimpleNamespace,
                                                       snapshot: Snapshot) -> None:
    photos = tmp_path / "photos"
    (photos / "2023").mkdir(parents=True)
    Image.fromarray(np.zeros((6, 6), np.uint8)).save(photos / "x.png")
    Image.fromarray(np.full((6, 6), 99, np.uint8)).save(photos / "2023" / "x.png")
    before = snapshot(photos)
    code, stdout, err = cli.run("batch", photos, "-o", photos / "2023", "-r", "--overwrite",
                                "-f", "box3", "--workers", "1")
    assert code == 1, err
    assert snapshot(photos) == before  # nothing replaced, nothing added
    [line] = [x for x in stdout.splitlines() if x.startswith("failed:")]
    assert line.startswith(f"failed: {photos / 'x.png'}: {photos / '2023' / 'x.png'}: ")
    assert "even with --overwrite" in line


def test_summary_off_a_terminal_never_cuts_a_name(tmp_path: Path, cli: SimpleNamespace) -> None:
    deep = tmp_path / "in" / ("a rather long folder name that a table would cut " * 3).strip()
    deep.mkdir(parents=True)
    (deep / "broken [final].png").write_text("not a png")
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(deep / "fine.png")
    code, stdout, err = cli.run("batch", tmp_path / "in", "-o", tmp_path / "out", "-r", "-f",
                                "box3", "--workers", "1")
    assert code == 1, err
    lines = stdout.splitlines()
    assert lines[0] == f"batch {tmp_path / 'in'} -> {tmp_path / 'out'}: 1 written, 0 skipped, " \
                       "1 failed"
    [failed] = [x for x in lines if x.startswith("failed: ")]
    assert failed.startswith(f"failed: {deep / 'broken [final].png'}: ")  # whole, one line
    assert "…" not in stdout + err
    code, _, err = cli.run("batch", tmp_path / "in", "-o", tmp_path / "out2", "-r", "-f",
                           "box3", "-q", "--workers", "1")
    assert code == 1
    assert err.startswith(f"failed: {deep / 'broken [final].png'}: ")


def test_names_with_markup_are_printed_literally(tmp_path: Path, cli: SimpleNamespace) -> None:
    src = tmp_path / "in [final]"
    src.mkdir()
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(src / "photo [final].png")
    yaml = tmp_path / "odd.yaml"
    yaml.write_text('name: "[/x]"\nkernel: [[1]]\n')
    stdout, err = cli.ok("apply", src / "photo [final].png", "-f", yaml, "-o", tmp_path)
    assert f"wrote {tmp_path / 'photo [final].__x_.convolve.png'}  ([/x], convolve" in stdout
    stdout, err = cli.ok("batch", src, "-o", tmp_path / "out [x]", "-f", yaml)
    assert f"batch {src} -> {tmp_path / 'out [x]'}: 1 written" in stdout


def test_json_failures_print_the_error_object(batch_tree: Path, tmp_path: Path,
                                              cli: SimpleNamespace) -> None:
    code, stdout, _ = cli.run("batch", tmp_path / "missing", "-o", tmp_path / "o", "-f",
                              "box3", "--json")
    assert code == 2
    assert json.loads(stdout) == {"error": {
        "message": f"{tmp_path / 'missing'}: no such folder (check the path)",
        "exit_code": 2, "file": str(tmp_path / "missing")}}
    code, stdout, _ = cli.run("batch", batch_tree, "-o", tmp_path / "o", "-f", "box3", "-r",
                              "--json", "--workers", "1")
    report = json.loads(stdout)
    assert code == 1 and report["error"]["exit_code"] == 1 and report["failed"] == 2
    code, stdout, _ = cli.run("apply", batch_tree / "text.png", "-f", "box3", "-o",
                              tmp_path / "t.png", "--json")
    error = json.loads(stdout)["error"]
    assert code == 2 and error["exit_code"] == 2 and error["file"] == str(batch_tree / "text.png")


def test_names_over_the_limit_are_exit_2_before_any_work(batch_tree: Path, tmp_path: Path,
                                                         cli: SimpleNamespace) -> None:
    long = "n" * 300
    for args in (["batch", batch_tree, "-o", tmp_path / long],
                 ["apply", batch_tree / "gray.png", "-o", tmp_path / (long + ".png")],
                 ["apply", tmp_path / (long + ".png")]):
        code, _, err = cli.run(*args, "-f", "box3")
        assert code == 2, err
        assert f"is 30{4 if 'png' in str(args[-1]) else 0} bytes long, over the file " \
               "system's limit" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_read_only_output_folder_is_blamed_on_it(batch_tree: Path, tmp_path: Path,
                                                 cli: SimpleNamespace,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    def no_writing(path: object, mode: int, **kwargs: object) -> bool:
        return not mode & os.W_OK  # root ignores chmod: say the folder is read-only

    monkeypatch.setattr(os, "access", no_writing)
    code, _, err = cli.run("batch", batch_tree, "-o", tmp_path / "ro" / "new", "-f", "box3")
    assert code == 2
    assert err.startswith(f"imgconv: error: {tmp_path / 'ro' / 'new'}: cannot write in the "
                          f"folder {tmp_path}")
    assert "gray.png" not in err and not (tmp_path / "ro").exists()


def test_summary_note_names_the_file_once(tmp_path: Path, cli: SimpleNamespace) -> None:
    """A note that already starts with the file's name is not prefixed with it again; one
    that does not is; its mentions are spelled as flags."""
    src = tmp_path / "in"
    src.mkdir()
    pal = Image.new("P", (20, 10))
    pal.putpalette([i % 256 for i in range(768)])
    pal.save(src / "p.gif")
    code, _, err = cli.run("batch", src, "-o", tmp_path / "out", "-f", "box3",
                           "--format", ".png")
    note = [line for line in err.splitlines() if "file(s) with notes" in line]
    assert code == 0 and len(note) == 1
    assert note[0].count("p.gif") == 1 and "a palette (colour map)" in note[0]


def test_gray_over_the_memory_limit_says_what_to_do(tmp_path: Path,
                                                    cli: SimpleNamespace) -> None:
    np.save(tmp_path / "big.npy", np.zeros((1500, 1500, 3), np.uint8))
    code, _, err = cli.run("apply", tmp_path / "big.npy", "-f", "box3", "--gray",
                           "--memory-limit", "10MB", "-o", tmp_path / "g.npy")
    assert code == 2 and err.strip().endswith(
        "--gray is not available for images over --memory-limit: raise --memory-limit, or "
        "drop --gray")
