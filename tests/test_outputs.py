"""Outputs (docs/semantics.md §5): atomic writes, nothing half-written, inputs and existing
files never replaced.

Files are read back with Pillow, never with imgconv.  A failing or interrupted encoder
is simulated by replacing the PNG row's writer in the format table for one test.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imgconv import formats
from imgconv.errors import OutputError, WorkError
from imgconv.outputs import write_image

ZEROS = np.zeros((4, 4), np.uint8)


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _half_then_fail(tmp: str, *args: object) -> None:
    with open(tmp, "wb") as fh:
        fh.write(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)  # half an image ...
    raise OSError("disk full")  # ... then the encoder dies


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
    assert "out.png" in str(info.value) and "disk full" in str(info.value)
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
