"""Shared test helpers: the docs/semantics.md §1 tolerance and independent references.

Everything in ``ref`` (defined once, in tests/reference.py, which test modules also
import) is written from docs/semantics.md (or is scipy.ndimage) and never calls imgconv,
so the tests that use it compare imgconv against an oracle it did not compute.  ``cli``
runs the command line, ``snapshot`` reads a folder's bytes.  Helpers are handed out as
session-scoped fixtures (usable from hypothesis tests).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

# `auto`'s cost model uses fixed constants in the tests (imgconv.engine.calibrate): the
# methods it picks do not depend on the machine's load, and nothing is written to the
# user's cache folder.  tests/test_auto.py measures and caches on purpose, in a tmp folder.
os.environ.setdefault("IMGCONV_CALIBRATION", "off")

from reference import (  # noqa: E402 - after the environment is set
    BOUNDARIES,
    EPS,
    KERNELS,
    TABLE,
    brute,
    ext_index,
    extend,
    gaussian,
    maxdiff,
    noise,
    premultiplied,
    scipy_filter,
    tolerance,
)


@pytest.fixture(scope="session")
def ref() -> SimpleNamespace:
    """The independent reference helpers (session-scoped: fine inside hypothesis tests)."""
    return SimpleNamespace(tolerance=tolerance, ext_index=ext_index, extend=extend,
                           brute=brute, table=TABLE, boundaries=BOUNDARIES, eps=EPS,
                           kernels=KERNELS, gaussian=gaussian, scipy=scipy_filter,
                           premultiplied=premultiplied, noise=noise, maxdiff=maxdiff)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


def assert_close(actual: np.ndarray, expected: np.ndarray, tol: float, what: str = "") -> None:
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    diff = maxdiff(actual, expected)
    assert diff <= tol, f"{what}: max abs diff {diff:.3g} > tolerance {tol:.3g}"


@pytest.fixture(scope="session")
def close() -> Callable[..., None]:
    """``close(actual, expected, tol, what)``: same shape and max abs difference <= tol."""
    return assert_close


def cli_run(*args: object) -> tuple[int, str, str]:
    """``imgconv ARGS`` through Typer's runner: (exit code, stdout, stderr)."""
    from typer.testing import CliRunner

    from imgconv.cli import app

    r = CliRunner().invoke(app, [str(a) for a in args])
    return r.exit_code, r.stdout, r.stderr


def cli_ok(*args: object) -> tuple[str, str]:
    """``cli_run`` that must exit 0: (stdout, stderr)."""
    code, out, err = cli_run(*args)
    assert code == 0, f"exit {code}\n{out}\n{err}"
    return out, err


@pytest.fixture(scope="session")
def cli() -> SimpleNamespace:
    """The command line: ``cli.run("apply", src, "-f", "box3")`` -> (code, stdout, stderr);
    ``cli.ok(...)`` -> (stdout, stderr) after checking the exit code is 0."""
    return SimpleNamespace(run=cli_run, ok=cli_ok)


def folder_bytes(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` (relative path -> bytes)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.fixture(scope="session")
def snapshot() -> Callable[[Path], dict[str, bytes]]:
    """``snapshot(folder)``: every file below it, relative path -> bytes."""
    return folder_bytes


@pytest.fixture
def batch_tree(tmp_path: Path) -> Path:
    """A folder to batch: nested folders, 8-bit gray, RGBA with a space in its name, 16-bit
    RGB, a JPEG; two broken ``.png`` files and a text file."""
    import cv2
    from PIL import Image

    rng = np.random.default_rng(5)
    root = tmp_path / "in"
    (root / "sub dir" / "deeper").mkdir(parents=True)
    Image.fromarray(rng.integers(0, 256, (30, 40), dtype=np.uint8)).save(root / "gray.png")
    rgba = rng.integers(0, 256, (25, 20, 4), dtype=np.uint8)
    Image.fromarray(rgba).save(root / "sub dir" / "with alpha.png")
    rgb16 = rng.integers(0, 65536, (22, 18, 3), dtype=np.uint16)
    assert cv2.imwrite(str(root / "sub dir" / "deeper" / "deep16.png"), rgb16[:, :, ::-1])
    photo = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    Image.fromarray(photo).save(root / "photo.jpg")
    good = (root / "gray.png").read_bytes()
    (root / "truncated.png").write_bytes(good[: len(good) // 2])
    (root / "text.png").write_text("I am not a PNG")
    (root / "notes.txt").write_text("not an image at all")
    return root


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The chunks of a PNG file as ``(kind, body)``, walked by hand (each CRC checked)."""
    import struct
    import zlib

    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, at = [], 8
    while at < len(data):
        (n,) = struct.unpack(">I", data[at:at + 4])
        kind, body = data[at + 4:at + 8], data[at + 8:at + 8 + n]
        (crc,) = struct.unpack(">I", data[at + 8 + n:at + 12 + n])
        assert crc == zlib.crc32(kind + body), kind
        chunks.append((kind, body))
        at += 12 + n
    return chunks


@pytest.fixture(scope="session")
def png() -> Callable[[bytes], list[tuple[bytes, bytes]]]:
    """``png(data)``: the chunks of a PNG file, ``(kind, body)`` in order."""
    return png_chunks
