"""``-`` reads standard input, ``-o -`` writes standard output (docs/semantics.md §7): the
same bytes as through files; messages on standard error; clear refusals."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imgconv.formats.sniff import sniff

IMGCONV = [sys.executable, "-m", "imgconv"]


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(4).integers(0, 256, (20, 30, 3), np.uint8)).save(path)
    return path


def _pipe(args: list[str], data: bytes, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*IMGCONV, *args], input=data, capture_output=True, cwd=cwd,
                          timeout=60)


def test_stdin_to_stdout_equals_files(photo: Path, tmp_path: Path) -> None:
    subprocess.run([*IMGCONV, "apply", photo, "-f", "box3", "-o", tmp_path / "ref.png", "-q"],
                   check=True)
    run = _pipe(["apply", "-", "-f", "box3", "-o", "-"], photo.read_bytes(), tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout == (tmp_path / "ref.png").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.png", "ref.png"]


def test_format_of_stdout_and_messages_on_stderr(photo: Path, tmp_path: Path) -> None:
    run = _pipe(["apply", "-", "-f", "1 2 1; 2 4 2; 1 2 1", "-o", "-", "--format", "jpg"],
                photo.read_bytes(), tmp_path)
    assert run.returncode == 0 and run.stdout[:3] == b"\xff\xd8\xff"
    assert b"note:" in run.stderr and b"--normalize" in run.stderr  # notes: stderr only


def test_stdin_into_a_file(photo: Path, tmp_path: Path) -> None:
    run = _pipe(["apply", "-", "-f", "identity", "-o", "out.png"], photo.read_bytes(),
                tmp_path)
    assert run.returncode == 0, run.stderr
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out.png")),
                          np.asarray(Image.open(photo)))


@pytest.mark.parametrize(("args", "data", "says"), [
    (["apply", "-", "-f", "box3", "-o", "x.png"], b"", b"standard input is empty"),
    (["apply", "-", "-f", "box3", "-o", "x.png"], b"hello", b"not an image imgconv reads"),
    (["apply", "-", "-f", "box3"], b"\x89PNG\r\n\x1a\n", b"needs -o"),
    (["apply", "-", "-f", "box3", "-o", "-", "--json"], b"\x89PNG\r\n\x1a\n", b"pick one"),
])
def test_refusals(tmp_path: Path, args: list[str], data: bytes, says: bytes) -> None:
    run = _pipe(args, data, tmp_path)
    assert run.returncode == 2 and says in run.stderr and b"Traceback" not in run.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("head", "ext"), [
    (b"\x89PNG\r\n\x1a\n....", ".png"), (b"\xff\xd8\xff\xe0", ".jpg"), (b"II*\x00", ".tif"),
    (b"MM\x00*", ".tif"), (b"GIF89a", ".gif"), (b"BM", ".bmp"), (b"\x93NUMPY", ".npy"),
    (b"RIFF\x00\x00\x00\x00WEBPVP8 ", ".webp"), (b"RIFF\x00\x00\x00\x00WAVE", None),
    (b"hello", None),
])
def test_sniff(head: bytes, ext: str | None) -> None:
    assert sniff(head) == ext


def test_sniff_agrees_with_pillow_on_real_files(tmp_path: Path) -> None:
    img = Image.fromarray(np.zeros((4, 4, 3), np.uint8))
    for ext, fmt in ((".png", "PNG"), (".jpg", "JPEG"), (".tif", "TIFF"), (".bmp", "BMP"),
                     (".gif", "GIF"), (".webp", "WEBP")):
        path = tmp_path / f"x{ext}"
        img.save(path, format=fmt)
        assert sniff(path.read_bytes()[:16]) == ext


def test_a_reader_that_stops_early_or_a_full_device_is_one_line(photo: Path,
                                                                 tmp_path: Path) -> None:
    """``-o - | head -c 10`` and ``-o - > /dev/full``: exit 1 and one line naming standard
    output, never an "unexpected" error asking for a report."""
    big = tmp_path / "big.png"
    Image.fromarray(np.random.default_rng(5).integers(0, 256, (600, 600, 3), np.uint8)).save(big)
    cmd = [*IMGCONV, "apply", str(big), "-f", "box3", "-o", "-"]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as run:
        assert run.stdout is not None and run.stderr is not None
        assert run.stdout.read(10) == b"\x89PNG\r\n\x1a\n\x00\x00"
        run.stdout.close()  # the reader is done
        err = run.stderr.read().decode()
        assert run.wait(timeout=60) == 1
    assert err.strip().splitlines() == [
        "imgconv: error: -o -: standard output: its reader closed it before the whole image "
        "was sent"]
    if Path("/dev/full").exists():
        with open("/dev/full", "wb") as full:
            done = subprocess.run(cmd, stdout=full, stderr=subprocess.PIPE, timeout=60)
        assert done.returncode == 1
        assert done.stderr.decode().strip().splitlines() == [
            "imgconv: error: -o -: standard output: No space left on device"]


def test_summary_lines_into_a_closed_pipe_end_quietly(photo: Path, tmp_path: Path) -> None:
    """``imgconv apply a b c ... | head -1``: the reader leaves after one line; imgconv ends
    with exit 1 and nothing on stderr (no "unexpected BrokenPipeError")."""
    import os

    read, write = os.pipe()
    os.close(read)  # a reader that is already gone
    run = subprocess.run([*IMGCONV, "apply", photo, "-f", "box3", "-o", tmp_path / "o.png"],
                         stdout=write, stderr=subprocess.PIPE, timeout=60)
    os.close(write)
    assert (run.returncode, run.stderr) == (1, b"")
    assert (tmp_path / "o.png").exists()  # the work was done before the line was printed


@pytest.mark.parametrize("closed", ["stdout", "stderr"])
def test_a_closed_standard_stream_keeps_the_exit_code(photo: Path, tmp_path: Path,
                                                      closed: str) -> None:
    """Run with standard output or error closed (``>&-``, ``2>&-``): Python has no stream
    object then; a good run still exits 0 and a bad one 2."""
    redirect = {closed: subprocess.DEVNULL}
    shell = f"{' '.join(map(str, IMGCONV))} apply {{}} -f box3 -o {tmp_path / 'o.png'} -q " + (
        ">&-" if closed == "stdout" else "2>&-")
    good = subprocess.run(shell.format(photo), shell=True, timeout=60, **redirect)
    bad = subprocess.run(shell.format(tmp_path / "missing.png"), shell=True, timeout=60,
                         **redirect)
    assert (good.returncode, bad.returncode) == (0, 2)
