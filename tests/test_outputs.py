"""Outputs (docs/semantics.md §5): atomic writes, nothing half-written, inputs and existing
files never replaced.

Files are read back with Pillow, never with imgconv.  A failing or interrupted encoder
is simulated by replacing the PNG row's writer in the format table for one test.
"""

from __future__ import annotations

import dataclasses
import errno
import fcntl
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imgconv import formats
from imgconv.errors import ImgconvError, OutputError, WorkError
from imgconv.outputs import check_folder, check_name, plan_targets, write_image
from imgconv.temporaries import Temporary, remove_stale

ZEROS = np.zeros((4, 4), np.uint8)


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _half_then_fail(tmp: str, *args: object) -> None:
    with open(tmp, "wb") as fh:
        fh.write(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)  # half an image ...
    raise OSError(errno.ENOSPC, "No space left on device")  # ... then the disk is full


@pytest.fixture
def png_writer(monkeypatch: pytest.MonkeyPatch) -> Callable[[object], None]:
    """``png_writer(write)``: the PNG row's writer replaced for this test."""

    def use(write: object) -> None:
        monkeypatch.setitem(formats.FORMATS, ".png",
                            dataclasses.replace(formats.FORMATS[".png"], write=write))

    return use


def test_failed_encoder_leaves_no_file(tmp_path: Path,
                                       png_writer: Callable[[object], None]) -> None:
    png_writer(_half_then_fail)
    with pytest.raises(WorkError) as info:
        write_image(tmp_path / "out.png", ZEROS)
    assert info.value.exit_code == 1
    assert str(info.value).startswith(f"disk full while writing {tmp_path / 'out.png'}: ")
    assert info.value.file == str(tmp_path / "out.png")  # the output is the culprit
    assert names(tmp_path) == []


def test_failed_encoder_leaves_existing_target_untouched(
    tmp_path: Path, png_writer: Callable[[object], None]
) -> None:
    target = tmp_path / "out.png"
    target.write_bytes(b"precious")
    png_writer(_half_then_fail)
    with pytest.raises(WorkError):
        write_image(target, ZEROS, overwrite=True)
    assert target.read_bytes() == b"precious"
    assert names(tmp_path) == ["out.png"]


def test_interrupted_encoder_leaves_no_file(tmp_path: Path,
                                            png_writer: Callable[[object], None]) -> None:
    def write(tmp: str, *args: object) -> None:
        Path(tmp).write_bytes(b"partial")
        raise KeyboardInterrupt

    png_writer(write)
    with pytest.raises(KeyboardInterrupt):
        write_image(tmp_path / "out.png", ZEROS)
    assert names(tmp_path) == []


def test_refused_dtype_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="float32"):
        write_image(tmp_path / "f.png", ZEROS.astype(np.float32))
    assert names(tmp_path) == []


def test_existing_target_refused_without_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    target.write_bytes(b"precious")
    with pytest.raises(OutputError, match="overwrite=True") as info:
        write_image(target, ZEROS)
    assert "--overwrite" not in str(info.value) and info.value.param == "overwrite"
    assert target.read_bytes() == b"precious"
    assert names(tmp_path) == ["out.png"]


def test_target_appearing_during_the_write_is_not_replaced(
    tmp_path: Path, png_writer: Callable[[object], None]
) -> None:
    target = tmp_path / "out.png"
    real = formats.FORMATS[".png"].write

    def write(tmp: str, *args: object) -> None:
        target.write_bytes(b"someone else's")  # appears after the check
        real(tmp, *args)  # type: ignore[arg-type]

    png_writer(write)
    with pytest.raises(OutputError, match="overwrite"):
        write_image(target, ZEROS)
    assert target.read_bytes() == b"someone else's"
    assert names(tmp_path) == ["out.png"]


def test_overwrite_replaces_atomically(tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    target.write_bytes(b"old")
    arr = np.random.default_rng(3).integers(0, 256, (5, 5), dtype=np.uint8)
    write_image(target, arr, overwrite=True)
    np.testing.assert_array_equal(np.asarray(Image.open(target)), arr)
    assert names(tmp_path) == ["out.png"]  # no temporary file left beside it


def test_input_is_protected_through_another_spelling(tmp_path: Path) -> None:
    src = tmp_path / "in.png"
    Image.fromarray(ZEROS).save(src)
    before = src.read_bytes()
    (tmp_path / "sub").mkdir()
    other = tmp_path / "sub" / ".." / "in.png"
    with pytest.raises(OutputError, match="input"):
        write_image(other, ZEROS + 1, overwrite=True, protect=(src,))
    link = tmp_path / "link.png"
    link.symlink_to(src)
    with pytest.raises(OutputError, match="input"):
        write_image(link, ZEROS + 1, overwrite=True, protect=(src,))
    assert src.read_bytes() == before


# -- issue 13: disk full, read-only folders, long names, temporaries --------------------------
TEMP = re.compile(r"\.out\.png\.[a-z0-9_]{8}\.part")  # docs/semantics.md §5, written out


def _raise(error: OSError) -> Callable[..., None]:
    def write(tmp: str, *args: object) -> None:
        Path(tmp).write_bytes(b"\x89PNG half")
        raise error

    return write


@pytest.mark.parametrize("error", [
    OSError(errno.ENOSPC, "No space left on device"),
    OSError("3000000 requested and 2096880 written"),  # numpy's tofile under tifffile
])
def test_disk_full_is_said_and_leaves_nothing(tmp_path: Path, error: OSError,
                                              png_writer: Callable[[object], None]) -> None:
    png_writer(_raise(error))
    target = tmp_path / "out.png"
    with pytest.raises(WorkError) as info:
        write_image(target, ZEROS)
    assert str(info.value).startswith(f"disk full while writing {target}")
    assert info.value.exit_code == 1
    assert names(tmp_path) == []


def test_disk_full_in_a_banded_chain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from imgconv.bands import process_file_tiled
    from imgconv.bands.sinks import NpySink
    from imgconv.kernels import load_filter
    from imgconv.options import FileOptions, FilterOptions

    src, out = tmp_path / "in.npy", tmp_path / "out"
    out.mkdir()
    np.save(src, np.random.default_rng(0).random((300, 200), dtype=np.float32))

    def full(self: object, y0: int, rows: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(NpySink, "write", full)  # the step file of the first pass
    with pytest.raises(WorkError, match=f"^disk full while writing {re.escape(str(out))}"):
        process_file_tiled(src, out / "r.npy", [load_filter("box3"), load_filter("box5")],
                           FilterOptions(), FileOptions(memory_limit=10**5))
    assert names(out) == []


@pytest.mark.parametrize("where", ["mkstemp", "link"])
def test_read_only_folder_is_blamed_on_the_output(tmp_path: Path, where: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    target = tmp_path / "out.png"
    if where == "mkstemp":
        monkeypatch.setattr(tempfile, "mkstemp", refuse)
    else:
        monkeypatch.setattr(os, "link", refuse)
    with pytest.raises(WorkError) as info:
        write_image(target, ZEROS, protect=(tmp_path / "in.png",))
    assert str(info.value).startswith(f"{target}: cannot write in the folder {tmp_path}")
    assert "Read-only file system" in str(info.value) and "in.png" not in str(info.value)
    assert names(tmp_path) == []


def test_output_folder_that_cannot_be_created_is_refused_before_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "access", lambda *a, **k: False)  # root ignores chmod
    with pytest.raises(OutputError, match="read-only or not permitted") as info:
        check_folder(tmp_path / "new" / "deeper")
    assert str(info.value).startswith(f"{tmp_path / 'new' / 'deeper'}: ")
    assert info.value.param == "output"


def test_names_over_the_limit_are_refused_before_any_work(tmp_path: Path) -> None:
    long = "x" * 256 + ".png"
    with pytest.raises(ImgconvError, match="260 bytes long, over the file system's limit"):
        check_name(tmp_path / long)
    with pytest.raises(ImgconvError, match=f"^{re.escape(long)}: the name is 260 bytes"):
        check_name(long)
    check_name(tmp_path / ("y" * 255))  # at the limit: fine
    src = tmp_path / "in.png"
    Image.fromarray(ZEROS).save(src)
    with pytest.raises(ImgconvError, match="over the file system's limit"):
        plan_targets([src], chain="box3", output=tmp_path / long)
    assert names(tmp_path) == ["in.png"]


def test_a_long_output_name_keeps_its_temporary_within_the_limit(tmp_path: Path) -> None:
    target = tmp_path / ("z" * 251 + ".png")  # 255 bytes
    write_image(target, ZEROS)
    assert names(tmp_path) == [target.name]


def test_temporary_is_named_by_the_rule_and_locked(tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    with Temporary(target) as part, Temporary(target, "step0.npy") as step:
        assert TEMP.fullmatch(Path(part.path).name)
        assert re.fullmatch(r"\.out\.png\.[a-z0-9_]{8}\.step0\.npy", Path(step.path).name)
        fd = os.open(part.path, os.O_RDONLY)
        try:  # another open file description cannot take its lock
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
    assert names(tmp_path) == []


def _left(folder: Path, name: str) -> Path:
    """A temporary as a killed run leaves it: named by the rule, nobody holding it."""
    path = folder / name
    path.write_bytes(b"half")
    return path


def test_remove_stale_takes_only_what_no_live_run_holds(tmp_path: Path) -> None:
    later = time.time() + 60  # as if this process had started after them
    dead = [_left(tmp_path, ".out.png.abcd1234.part"),
            _left(tmp_path, ".big.tif.k3j_x9ab.step0.npy")]
    keep = [_left(tmp_path, "out.png"), _left(tmp_path, ".out.png.part"),  # not the rule
            _left(tmp_path, ".notes.txt"), _left(tmp_path, ".a.png.ABCD1234.part")]
    (tmp_path / ".link.png.abcd1234.part").symlink_to(keep[0])
    with Temporary(tmp_path / "live.png") as live:  # a live run's: locked
        removed = remove_stale([tmp_path], before=later)
        assert sorted(removed) == sorted(dead)
        assert os.path.exists(live.path)
    assert all(p.exists() for p in keep)
    young = _left(tmp_path, ".out.png.zzzz9999.part")
    assert remove_stale([tmp_path]) == []  # newer than this process: may be a live run's
    assert remove_stale([tmp_path], names=["other.png"]) == []
    assert remove_stale([tmp_path], names=["out.png"]) == [young]  # this run's own


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    """A real 64 KiB tmpfs (root only; skipped where it cannot be mounted)."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
                          capture_output=True, timeout=10)
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=10)


@pytest.mark.parametrize("ext", [".png", ".npy", ".tif"])
def test_disk_full_on_a_real_small_file_system(tiny_fs: Path, ext: str) -> None:
    noise = np.random.default_rng(1).integers(0, 256, (200, 200, 3), dtype=np.uint8)
    target = tiny_fs / ("out" + ext)
    with pytest.raises(WorkError) as info:
        write_image(target, noise)
    assert str(info.value).startswith(f"disk full while writing {target}")
    assert names(tiny_fs) == []


def test_two_writers_and_a_cleaner_at_once_never_corrupt(tmp_path: Path) -> None:
    import threading

    target = tmp_path / "out.png"
    arrays = [np.full((64, 64), v, np.uint8) for v in (10, 200)]
    errors: list[BaseException] = []
    stop = threading.Event()

    def write(arr: np.ndarray) -> None:
        try:
            for _ in range(25):
                write_image(target, arr, overwrite=True)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    def clean() -> None:  # a next run starting meanwhile: never takes a live temporary
        while not stop.is_set():
            remove_stale([tmp_path], names=["out.png"])

    cleaner = threading.Thread(target=clean)
    writers = [threading.Thread(target=write, args=(a,)) for a in arrays]
    cleaner.start()
    for t in writers:
        t.start()
    for t in writers:
        t.join(60)
    stop.set()
    cleaner.join(60)
    assert errors == []
    assert names(tmp_path) == ["out.png"]
    got = np.asarray(Image.open(target))
    assert any(np.array_equal(got, a) for a in arrays)


def test_remove_stale_leaves_files_imgconv_does_not_write(tmp_path: Path) -> None:
    """A hidden ``.NAME.RANDOM.part`` whose NAME is not a kind of file imgconv writes is
    someone else's: never removed."""
    import time

    ours = tmp_path / ".out.png.abcdefgh.part"
    step = tmp_path / ".big.tif.abcdefgh.step0.npy"
    theirs = [tmp_path / ".notes.txt.abcdefgh.part", tmp_path / ".report.abcdefgh.step0.npy"]
    for p in (ours, step, *theirs):
        p.write_bytes(b"x")
    removed = remove_stale([tmp_path], before=time.time() + 10)
    assert sorted(removed) == sorted([ours, step])
    assert all(p.exists() for p in theirs)


def test_temporaries_of_a_long_name_are_cleaned_too(tmp_path: Path) -> None:
    """A name cut to fit keeps its extension, so a killed run's temporary is still
    recognised as imgconv's and removed."""
    import os
    import time

    target = tmp_path / ("a" * 230 + ".png")
    tmp = Temporary(target)
    name = Path(tmp.path).name
    assert name.startswith(".") and ".png." in name and len(os.fsencode(name)) <= 255
    os.close(tmp.fd)  # as a kill would leave it: unlocked, not removed
    assert remove_stale([tmp_path], before=time.time() + 10) == [Path(tmp.path)]
