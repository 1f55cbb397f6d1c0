"""Hostile input files (issue 13): what a hostile user names as an image or a filter.

Only regular files are opened: a pipe named ``x.tif`` or ``w.npy``, a device, a socket or a
folder is refused ("not a regular file", exit 2) before any open that could block; a hang
fails these tests instead of stalling them (a writer opens the pipe after a few seconds).
Headers that promise more than the pixel guard or the kernel size limit allows are refused
from the header, before anything is allocated: each attempt runs in a child process whose
address space is capped, and its peak resident memory is measured.  The files are made
here with tifffile, Pillow, numpy and by hand, never with imgconv.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
import threading
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import TypeVar

import numpy as np
import pytest
import tifffile
from PIL import Image

from imgconv.bands import header_shape
from imgconv.errors import FilterError, ImageError
from imgconv.formats import page_count, probe, read_image
from imgconv.kernels import load_filter

T = TypeVar("T")
posix = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX named pipes")


def bounded(call: Callable[[], T], pipes: Sequence[Path], seconds: float = 8.0) -> T:
    """``call()``; if it is still blocked on one of ``pipes`` after ``seconds``, a writer
    opens and closes each pipe (which ends the blocked open or read) and the test fails."""
    blocked: list[str] = []

    def unblock() -> None:
        for pipe in pipes:
            try:  # succeeds only when someone is waiting to read the pipe
                os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
                blocked.append(pipe.name)
            except OSError:
                pass

    timer = threading.Timer(seconds, unblock)
    timer.start()
    try:
        result = call()
    finally:
        timer.cancel()
    assert not blocked, f"blocked on the pipe(s) {blocked}"
    return result


def raises(call: Callable[[], object], error: type[Exception]) -> str:
    """The message of the ``error`` that ``call()`` raises."""
    with pytest.raises(error) as info:
        call()
    return str(info.value)


# -- only regular files are opened --------------------------------------------------------

@posix
@pytest.mark.parametrize("name", ["x.tif", "x.npy", "x.gif", "x.png", "x.webp"])
def test_a_pipe_named_as_an_image_is_refused(tmp_path: Path, name: str) -> None:
    pipe = tmp_path / name
    os.mkfifo(pipe)
    calls: list[Callable[[], object]] = [
        lambda: read_image(pipe), lambda: read_image(pipe, page=0), lambda: page_count(pipe),
        lambda: probe(pipe), lambda: header_shape(pipe, None),
    ]
    for call in calls:
        msg = bounded(lambda c=call: raises(c, ImageError), [pipe])  # type: ignore[misc]
        assert msg == f"{pipe}: is not a regular file (a pipe): save the image to a file first"


@posix
@pytest.mark.parametrize("spec", ["w.npy", "w.csv", "w.yaml", "w.yml", "w.txt", "w.npy[3,0]",
                                  "w.csv[0]"])
def test_a_pipe_named_as_a_filter_is_refused(tmp_path: Path, spec: str) -> None:
    pipe = tmp_path / spec.split("[")[0]
    os.mkfifo(pipe)
    full = str(tmp_path / spec)
    msg = bounded(lambda: raises(lambda: load_filter(full), FilterError), [pipe])
    assert msg == f"{full}: not a regular file (a pipe): save the filter to a file first"
    if "[" not in spec:  # a path object goes the same way
        msg = bounded(lambda: raises(lambda: load_filter(pipe), FilterError), [pipe])
        assert "not a regular file (a pipe)" in msg


@posix
@pytest.mark.parametrize("spec", ["/dev/zero", "/dev/null", "zero.npy", "zero.txt",
                                  "zero.npy[0]"])
def test_a_device_named_as_a_filter_is_refused(tmp_path: Path, spec: str) -> None:
    """/dev/zero itself or through a link with a filter's extension: never read (it never
    ends)."""
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    if not spec.startswith("/"):
        os.symlink("/dev/zero", tmp_path / spec.split("[")[0])
        spec = str(tmp_path / spec)
    msg = raises(lambda: load_filter(spec), FilterError)
    assert msg == f"{spec}: not a regular file (a device): save the filter to a file first"


@posix
def test_a_socket_or_a_folder_named_as_a_filter_or_image(tmp_path: Path) -> None:
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(tmp_path / "s.npy"))
        msg = raises(lambda: load_filter(str(tmp_path / "s.npy")), FilterError)
        assert "not a regular file (a socket)" in msg
        assert "not a regular file (a socket)" in raises(lambda: read_image(tmp_path / "s.npy"),
                                                         ImageError)
    finally:
        sock.close()
    (tmp_path / "dir.yaml").mkdir()
    (tmp_path / "dir.npy").mkdir()
    for spec in (str(tmp_path / "dir.yaml"), str(tmp_path / "dir.npy") + "[0]"):
        assert raises(lambda s=spec: load_filter(s), FilterError) == (  # type: ignore[misc]
            f"{spec}: is a folder, not a filter file")


@posix
def test_cli_refuses_pipes_with_exit_2(tmp_path: Path, cli: SimpleNamespace) -> None:
    pipes = [tmp_path / n for n in ("x.tif", "x.npy", "x.gif", "k.npy", "k.yaml")]
    for pipe in pipes:
        os.mkfifo(pipe)
    np.save(tmp_path / "a.npy", np.zeros((5, 5)))
    before = sorted(os.listdir(tmp_path))
    for image in pipes[:3]:
        code, _, err = bounded(lambda i=image: cli.run("apply", i, "-f", "box3", "-o",  # type: ignore[misc]
                                                       tmp_path / "out.tif"), pipes)
        assert code == 2 and "not a regular file (a pipe)" in err and image.name in err
    for spec in ("k.npy", "k.yaml", "k.npy[0]", "/dev/zero"):
        arg = spec if spec.startswith("/") else str(tmp_path / spec)
        for args in (("show", arg), ("apply", tmp_path / "a.npy", "-f", arg, "-o",
                                     tmp_path / "out.npy")):
            code, _, err = bounded(lambda a=args: cli.run(*a), pipes)  # type: ignore[misc]
            assert code == 2 and "not a regular file" in err and "Traceback" not in err
    assert sorted(os.listdir(tmp_path)) == before  # nothing written, nothing left


# -- headers that promise too much -----------------------------------------------------------

def _patch_tiff(path: Path, page: int, **tags: int) -> None:
    """Overwrite LONG tags (ImageWidth=…, TileLength=…) of one page in place."""
    with tifffile.TiffFile(path) as tif:
        where = [(tif.pages[page].tags[name], value) for name, value in tags.items()]
        order = tif.byteorder
    with open(path, "r+b") as fh:
        for tag, value in where:
            assert tag.dtype == 4  # LONG: room for 100000
            fh.seek(tag.valueoffset)
            fh.write(struct.pack(order + "I", value))


def _png(width: int, height: int, extra: bytes = b"") -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + (chunk(b"acTL", extra) if extra else b"")
            + chunk(b"IDAT", zlib.compress(b"\0" * (width + 1) * min(height, 4)))
            + chunk(b"IEND", b""))


def _sparse_npy(path: Path, shape: tuple[int, ...], descr: str = "|u1") -> None:
    """A .npy file whose header declares ``shape``: all of its data, as a hole."""
    with open(path, "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, {"descr": descr, "fortran_order": False,
                                                  "shape": shape})
        fh.truncate(fh.tell() + int(np.prod(shape)) * np.dtype(descr).itemsize)


def _hostile_images(tmp_path: Path) -> dict[str, tuple[str, int | None]]:
    """name -> (path, page) of image files whose headers promise too many pixels."""
    planar = tmp_path / "planar.tif"
    tifffile.imwrite(planar, np.zeros((3, 8, 8), np.uint8), photometric="rgb",
                     planarconfig="separate")
    _patch_tiff(planar, 0, ImageWidth=100_000, ImageLength=100_000)
    two = tmp_path / "two.tif"
    tifffile.imwrite(two, np.zeros((2, 8, 8), np.uint8))
    _patch_tiff(two, 1, ImageWidth=100_000, ImageLength=100_000)
    tiles = tmp_path / "tiles.tif"  # 16x16 pixels in one 32768x32768 tile, decoded whole
    tifffile.imwrite(tiles, np.zeros((16, 16), np.uint8), tile=(16, 16), compression="zlib")
    _patch_tiff(tiles, 0, TileWidth=32768, TileLength=32768)
    (tmp_path / "huge.png").write_bytes(_png(100_000, 100_000))
    (tmp_path / "apng.png").write_bytes(_png(4, 4, struct.pack(">II", 2**31 - 1, 0)))
    _sparse_npy(tmp_path / "sparse.npy", (100_000, 100_000))
    _sparse_npy(tmp_path / "channels.npy", (1000, 1000, 4096))
    return {"planar": (str(planar), None), "planar page 0": (str(planar), 0),
            "two pages": (str(two), None), "page 1": (str(two), 1),
            "tiles": (str(tiles), None), "png": (str(tmp_path / "huge.png"), None),
            "apng": (str(tmp_path / "apng.png"), None),
            "npy": (str(tmp_path / "sparse.npy"), None),
            "channels": (str(tmp_path / "channels.npy"), None)}


_CAPPED = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))  # a bomb fails, not the machine
from imgconv.errors import ImgconvError
from imgconv.formats import read_image
from imgconv.kernels import load_filter
out = {}
for name, (kind, spec, page) in json.loads(sys.argv[1]).items():
    try:
        got = read_image(spec, page=page).array if kind == "image" else load_filter(spec).weights
        out[name] = ["ok", list(got.shape), float(abs(got).max())]
    except ImgconvError as exc:
        out[name] = ["refused", str(exc)]
    except MemoryError as exc:
        out[name] = ["MemoryError", str(exc)]
# VmHWM: this process's own peak (ru_maxrss would include the forking pytest's, copied at exec)
with open("/proc/self/status") as fh:
    hwm = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
out["maxrss MiB"] = hwm / 1024
print(json.dumps(out))
"""


def _capped(cases: dict[str, tuple[str, str, int | None]]) -> dict[str, list[object]]:
    env = {**os.environ}
    env.pop("IMGCONV_MAX_PIXELS", None)
    run = subprocess.run([sys.executable, "-c", _CAPPED, json.dumps(cases)], env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    result: dict[str, list[object]] = json.loads(run.stdout)
    assert float(result.pop("maxrss MiB")) < 400  # type: ignore[arg-type]
    return result


def test_hostile_image_headers_are_refused_before_any_allocation(tmp_path: Path) -> None:
    files = _hostile_images(tmp_path)
    result = _capped({name: ("image", path, page) for name, (path, page) in files.items()})
    two = files["two pages"][0]
    assert result["two pages"][1] == (f"{two}: 100000x100000 in 2 pages = 10,000,000,064 "
                                      "pixels is over the limit of 400,000,000 (a guard against "
                                      "decompression bombs); raise it with IMGCONV_MAX_PIXELS "
                                      "if the image is genuine")
    expected = {"planar": "100000x100000 = 10,000,000,000", "page 1": "100000x100000 = ",
                "planar page 0": "100000x100000 = ", "tiles": "32768x32768 = 1,073,741,824",
                "png": "100000x100000 = ", "apng": "4x4 in 2147483648 pages",
                "npy": "100000x100000 = ", "channels": "1000x1000 with 4096 channels = "
                "1,024,000,000"}
    for name, text in expected.items():
        status, msg = result[name]
        assert status == "refused" and text in str(msg) and "IMGCONV_MAX_PIXELS" in str(msg), \
            (name, msg)
        assert str(msg).startswith(files[name][0] + ": ")


def test_page_0_of_a_tiff_whose_page_1_is_a_bomb_is_read(tmp_path: Path) -> None:
    files = _hostile_images(tmp_path)
    two = files["two pages"][0]
    np.testing.assert_array_equal(read_image(two, page=0).array, np.zeros((8, 8), np.uint8))


def test_npy_kernels_are_checked_from_their_header(tmp_path: Path) -> None:
    """A 4 KB sparse .npy kernel declaring 20000x20000 float64 (3.2 GB) is refused by the
    kernel size limit without being read; a small slice of a huge file reads the slice."""
    _sparse_npy(tmp_path / "k.npy", (20_000, 20_000), "<f8")
    _sparse_npy(tmp_path / "stack.npy", (4, 20_000, 20_000), "<f8")
    _sparse_npy(tmp_path / "k.txt", (200_000_000,))  # 200 MB of NUL bytes, as a text file
    k, stack = str(tmp_path / "k.npy"), str(tmp_path / "stack.npy")
    result = _capped({"whole": ("kernel", k, None), "slice": ("kernel", stack + "[0]", None),
                      "3-D": ("kernel", stack, None), "row": ("kernel", stack + "[0,0]", None),
                      "small": ("kernel", stack + "[3,:5,-7:]", None),
                      "apart": ("kernel", stack + "[:,7,-3:]", None),
                      "text": ("kernel", str(tmp_path / "k.txt"), None)})
    assert result["whole"] == ["refused", f"{k}: kernel of shape (20000, 20000) is larger than "
                               "1025 pixels a side: use a smaller kernel (at most 1025x1025)"]
    assert result["slice"] == ["refused", f"{stack}[0]: kernel of shape (20000, 20000) is "
                               "larger than 1025 pixels a side: use a smaller kernel (at most "
                               "1025x1025)"]
    assert result["3-D"] == ["refused", f"{stack}: the array has shape (4, 20000, 20000), a "
                             f"kernel must be 2-D: pick a 2-D slice, e.g. '{stack}[0]'"]
    assert result["row"][0] == "refused" and "shape (20000,)" in str(result["row"][1])
    assert result["small"] == ["ok", [5, 7], 0.0] and result["apart"] == ["ok", [4, 3], 0.0]
    assert result["text"][0] == "refused" and "over 64 MiB" in str(result["text"][1])


def test_animated_frames_count_every_frame_decoded(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading frame k of a GIF or WebP decodes frames 0..k first: all of them count."""
    frames = [Image.fromarray(np.full((64, 64), 8 * i, np.uint8)) for i in range(30)]
    for name, options in (("a.gif", {}), ("a.webp", {"lossless": True})):
        path = tmp_path / name
        frames[0].save(path, save_all=True, append_images=frames[1:], **options)
        monkeypatch.setenv("IMGCONV_MAX_PIXELS", str(64 * 64 * 10))
        assert read_image(path, page=9).array.shape[:2] == (64, 64)  # frames 0..9: 10 frames
        msg = raises(lambda p=path: read_image(p, page=10), ImageError)  # type: ignore[misc]
        assert f"{path}: 64x64 (frames 0 to 10 are decoded in turn) = 45,056 pixels" in msg
        monkeypatch.delenv("IMGCONV_MAX_PIXELS")
        assert page_count(path) == 30


def test_bad_max_pixels_is_blamed_on_the_variable(tmp_path: Path, cli: SimpleNamespace,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    np.save(tmp_path / "a.npy", np.zeros((5, 5), np.uint8))
    for value in ("inf", "-5", "abc", "1e30"):
        monkeypatch.setenv("IMGCONV_MAX_PIXELS", value)
        code, _, err = cli.run("apply", tmp_path / "a.npy", "-f", "box3", "-o",
                               tmp_path / "b.npy")
        assert code == 2 and f"IMGCONV_MAX_PIXELS={value!r}" in err and "a.npy" not in err
    assert not (tmp_path / "b.npy").exists()
