"""docs/matlab.md, row by row: each MATLAB expression on the page is computed by an oracle
written here from MATLAB's documentation (scipy.signal.convolve2d for 'full' and 'valid',
MATLAB's rule for 'same', numpy.pad for imfilter's boundary options), each imgconv call or
command on the page by imgconv, and the two must agree within docs/semantics.md §1.

The oracles never call imgconv.  Where MATLAB's documentation gives numbers (the example of
``conv(u, v, 'same')``), the oracle is checked against them first.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import scipy.signal as ss
from reference import tolerance

import imgconv
from imgconv.boundary import boundary_mode, pad

PAGE = (Path(__file__).resolve().parent.parent / "docs" / "matlab.md").read_text()
RNG = np.random.default_rng(2026)


# -- the oracles: MATLAB's conv2, filter2 and imfilter ------------------------------------
def conv2(A: Any, h: Any, shape: str = "full") -> np.ndarray:
    """MATLAB's ``conv2(A, h, shape)`` (each channel of a 3-D ``A``).

    'full' and 'valid' are scipy.signal.convolve2d's; 'same' is the part of the full result
    that starts at row ``floor(kh/2)`` and column ``floor(kw/2)`` (0-based): MATLAB's
    ``conv(u, v, 'same') = full(floor(length(v)/2) + (1:length(u)))``, Octave's "the central
    part begins at the indices floor([rows(B), columns(B)]/2 + 1)".  (scipy's own 'same'
    starts at ``(k - 1) // 2``: one earlier for even sides.)
    """
    A, h = np.asarray(A, np.float64), np.asarray(h, np.float64)
    if A.ndim == 3:
        return np.stack([conv2(A[:, :, c], h, shape) for c in range(A.shape[2])], axis=2)
    if shape == "valid":
        return np.asarray(ss.convolve2d(A, h, "valid"))
    full = np.asarray(ss.convolve2d(A, h, "full"))
    if shape == "full":
        return full
    (kh, kw), (H, W) = h.shape, A.shape
    return full[kh // 2:kh // 2 + H, kw // 2:kw // 2 + W]


def filter2(h: Any, A: Any, shape: str = "same") -> np.ndarray:
    """MATLAB's ``filter2``: "rotates your filter matrix 180 degrees ... then calls conv2"."""
    return conv2(A, np.rot90(np.asarray(h, np.float64), 2), shape)


NUMPY_PAD = {"symmetric": "symmetric", "replicate": "edge", "circular": "wrap"}


def imfilter(A: Any, h: Any, *options: Any) -> np.ndarray:
    """MATLAB's ``imfilter(A, h, options...)`` as the Image Processing Toolbox computes it:
    extend ``A`` on every side by ``size(h) - floor((size(h) + 1)/2)`` ('same') or
    ``size(h) - 1`` ('full') by the boundary option (numpy.pad: a number, 'symmetric',
    'replicate', 'circular'), convolve ('same' or 'full', as conv2) with ``h`` for 'conv'
    or ``h`` rotated by 180° for 'corr' (the default), keep the part after the padding."""
    boundary: Any = 0.0
    size, op = "same", "corr"
    for option in options:
        if option in ("same", "full"):
            size = option
        elif option in ("corr", "conv"):
            op = option
        else:
            boundary = option
    A, h = np.asarray(A, np.float64), np.asarray(h, np.float64)
    if A.ndim == 3:
        return np.stack([imfilter(A[:, :, c], h, *options) for c in range(A.shape[2])], axis=2)
    k = np.array(h.shape)
    margin = k - (k + 1) // 2 if size == "same" else k - 1
    out = np.array(A.shape) + (0 if size == "same" else k - 1)
    widths = ((margin[0], margin[0]), (margin[1], margin[1]))
    if isinstance(boundary, str):
        padded = np.pad(A, widths, mode=NUMPY_PAD[boundary])
    else:
        padded = np.pad(A, widths, mode="constant", constant_values=float(boundary))
    b = conv2(padded, h if op == "conv" else np.rot90(h, 2), size)
    return b[margin[0]:margin[0] + out[0], margin[1]:margin[1] + out[1]]


MATLAB = {"conv2": conv2, "filter2": filter2, "imfilter": imfilter}


def test_oracle_gives_matlabs_documented_example() -> None:
    """MATLAB's conv documentation: u = [-1 2 3 -2 0 1 2]; v = [2 4 -1 1];
    conv(u, v, 'same') is [15 5 -9 7 6 7 -1] (and the full result has length 10)."""
    u, v = np.array([[-1, 2, 3, -2, 0, 1, 2.0]]), np.array([[2, 4, -1, 1.0]])
    np.testing.assert_array_equal(conv2(u, v, "same")[0], [15, 5, -9, 7, 6, 7, -1])
    assert conv2(u, v).shape == (1, 10)
    assert "`conv([-1 2 3 -2 0 1 2], [2 4 -1 1], 'same')` is\n`[15 5 -9 7 6 7 -1]`" in PAGE
    got = imgconv.convolve(u, v, boundary="constant")
    np.testing.assert_allclose(got[0], [15, 5, -9, 7, 6, 7, -1], atol=1e-12)


@pytest.mark.parametrize("k", [2, 3, 4, 5, 6])
def test_scipys_same_against_matlabs(k: int) -> None:
    """The page: correlate2d's 'same' is filter2's at every size; convolve2d's 'same' is
    conv2's only for odd sides (for even ones it starts one earlier)."""
    A, h = RNG.random((7, 9)), RNG.random((k, k))
    np.testing.assert_allclose(ss.correlate2d(A, h, "same"), filter2(h, A), atol=1e-12)
    scipy_same = ss.convolve2d(A, h, "same")
    assert np.allclose(scipy_same, conv2(A, h, "same"), atol=1e-12) == (k % 2 == 1)
    full = ss.convolve2d(A, h, "full")
    s = (k - 1) // 2
    np.testing.assert_allclose(scipy_same, full[s:s + 7, s:s + 9], atol=1e-12)


@pytest.mark.parametrize("shape", [(2, 4), (3, 3), (4, 3), (1, 2), (10, 10)])
def test_matlabs_own_rules_agree(shape: tuple[int, int]) -> None:
    """imfilter correlates as filter2 does (zero boundary); imfilter 'conv' is conv2 'same'."""
    A, h = RNG.random((12, 11)), RNG.random(shape)
    np.testing.assert_allclose(imfilter(A, h), filter2(h, A), atol=1e-12)
    np.testing.assert_allclose(imfilter(A, h, "conv"), conv2(A, h, "same"), atol=1e-12)
    np.testing.assert_allclose(imfilter(A, h, "full"), filter2(h, A, "full"), atol=1e-12)


@pytest.mark.parametrize("k", [3, 4])
def test_anchor_table(k: int) -> None:
    """imgconv's default anchor k // 2; MATLAB's correlation puts h((k-1)//2) on the pixel;
    imgconv's convolve with anchor c is the correlation of the rotated kernel at k - 1 - c."""
    h = RNG.random((k, k))
    assert imgconv.Kernel(h).center == (k // 2, k // 2)
    delta = np.zeros((9, 9))
    delta[4, 4] = 1.0
    c = (k - 1) // 2
    assert filter2(h, delta)[4, 4] == h[c, c]  # the kernel cell MATLAB puts on the pixel
    row = "| odd (3) | 1 | 1 |" if k == 3 else "| even (4) | 2 | 1 |"
    assert row in PAGE
    A = RNG.random((8, 8))
    rotated = imgconv.Kernel(np.rot90(h, 2), anchor=(k - 1 - k // 2, k - 1 - k // 2))
    np.testing.assert_allclose(imgconv.convolve(A, h), imgconv.correlate(A, rotated),
                               atol=tolerance(h, A))


def test_yaml_example_has_matlabs_anchor(tmp_path: Path) -> None:
    text = PAGE.split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "h.yaml").write_text(text)
    k = imgconv.load_filter(str(tmp_path / "h.yaml"))
    kh, kw = k.shape
    assert k.center == ((kh - 1) // 2, (kw - 1) // 2) == (0, 1)
    np.testing.assert_array_equal(k.weights, [[1, 2, 3, 4], [5, 6, 7, 8]])


# -- the boundary table ---------------------------------------------------------------------
def _boundary_rows() -> list[list[list[str]]]:
    """The table's rows: per column, the words in backquotes."""
    part = PAGE.split("## Boundary options", 1)[1].split("\n## ", 1)[0]
    return [[re.findall(r"`([^`]+)`", cell) for cell in line.strip("|").split("|")]
            for line in part.splitlines() if line.startswith("| `")]


def test_boundary_table_rows() -> None:
    rows = _boundary_rows()
    assert [r[0][0] for r in rows] == ["X", "'symmetric'", "'replicate'", "'circular'"]
    a = np.array([1.0, 2.0, 3.0, 4.0])  # a b c d
    letters = dict(zip("abcd", a, strict=True)) | {"X": 9.0}
    for (matlab, *_), ours, (extension,), (numpy_mode,) in rows:
        mode = ours[0]
        expected = [letters[t] for t in extension.replace("[", "").replace("]", "").split()]
        extra = {"constant_values": 9.0} if numpy_mode == "constant" else {}
        np.testing.assert_array_equal(np.pad(a, 2, mode=numpy_mode, **extra), expected)
        got = pad(a[None, :], ((0, 0), (2, 2)), mode, cval=9.0)[0]
        np.testing.assert_array_equal(got, expected)
        if matlab == "X":
            assert ours == ["constant", "--cval X", "cval=X"]
        else:  # the alias named in the table is MATLAB's own word
            assert ours[1] == matlab.strip("'") and boundary_mode(ours[1]).name == mode


# -- the Python table -----------------------------------------------------------------------
ROW = re.compile(r"^\| `([^`]+)` \| `([^`]+)` \| (any|odd) \|$", re.MULTILINE)
PYTHON_ROWS = ROW.findall(PAGE.split("## In Python", 1)[1].split("\n## ", 1)[0])
SHAPES = [(2, 4), (3, 3), (4, 3), (1, 2), (5, 2), (3, 5)]


def test_python_table_is_read() -> None:
    assert len(PYTHON_ROWS) == 16
    assert {m.split("(")[0] for m, _, _ in PYTHON_ROWS} == {"conv2", "filter2", "imfilter"}


@pytest.mark.parametrize(("matlab", "python", "sizes"), PYTHON_ROWS,
                         ids=[m for m, _, _ in PYTHON_ROWS])
@pytest.mark.parametrize("shape", SHAPES, ids=[f"{a}x{b}" for a, b in SHAPES])
@pytest.mark.parametrize("X", [0.0, 2.5, -1.0])
def test_python_row(matlab: str, python: str, sizes: str, shape: tuple[int, int],
                    X: float) -> None:
    if sizes == "odd" and not (shape[0] % 2 and shape[1] % 2):
        pytest.skip("the row is for odd-sized kernels")
    kh, kw = shape
    h = RNG.standard_normal(shape)
    A = RNG.random((9, 11, 3)) * 100 if kh == kw else RNG.random((9, 11)) * 100
    expected = eval(matlab, dict(MATLAB), {"A": A, "h": h, "X": X})  # noqa: S307 - the page
    K = imgconv.Kernel(h, anchor=((kh - 1) // 2, (kw - 1) // 2))
    got = eval(python, {"imgconv": imgconv}, {"A": A, "h": h, "K": K, "X": X})  # noqa: S307
    assert got.shape == expected.shape
    assert float(np.max(np.abs(got - expected))) <= tolerance(h, A, X)


# -- the command lines ----------------------------------------------------------------------
COMMANDS = [tuple(part.strip() for part in line.split("  # ", 1))
            for line in PAGE.split("```sh\n", 1)[1].split("```", 1)[0].splitlines()
            if line.startswith("imgconv apply")]


def test_command_lines_are_read() -> None:
    assert len(COMMANDS) == 12 and all(len(c) == 2 for c in COMMANDS)


def _files(folder: Path, h: np.ndarray, A: np.ndarray) -> dict[str, Path]:
    kh, kw = h.shape
    files = {"A.npy": folder / "A.npy", "h.txt": folder / "h.txt",
             "h.yaml": folder / "h.yaml", "C.npy": folder / "C.npy"}
    np.save(files["A.npy"], A)
    rows = ["  - [" + ", ".join(repr(float(v)) for v in row) + "]" for row in h]
    files["h.txt"].write_text("\n".join(" ".join(repr(float(v)) for v in row) for row in h))
    files["h.yaml"].write_text("kernel:\n" + "\n".join(rows)
                               + f"\nanchor: [{(kh - 1) // 2}, {(kw - 1) // 2}]\n")
    return files


@pytest.mark.parametrize(("command", "matlab"), COMMANDS, ids=[m for _, m in COMMANDS])
@pytest.mark.parametrize("shape", [(2, 4), (3, 3)], ids=["2x4", "3x3"])
def test_command_line(command: str, matlab: str, shape: tuple[int, int], tmp_path: Path,
                      cli: SimpleNamespace) -> None:
    h = RNG.standard_normal(shape)
    A = RNG.random((8, 10)) * 255
    files = _files(tmp_path, h, A)
    args = [str(files.get(word, word)) for word in shlex.split(command)[1:]]
    cli.ok(*args, "-q")
    got = np.load(files["C.npy"])
    expected = eval(matlab, dict(MATLAB), {"A": A, "h": h})  # noqa: S307 - the page
    assert got.dtype == np.float64 and got.shape == expected.shape
    assert float(np.max(np.abs(got - expected))) <= tolerance(h, A, 2.5)


def test_odd_kernel_text_file_serves_filter2(tmp_path: Path, cli: SimpleNamespace) -> None:
    """The page: for an odd-sized kernel h.txt serves for filter2 and imfilter too."""
    h, A = RNG.standard_normal((3, 5)), RNG.random((8, 10))
    files = _files(tmp_path, h, A)
    cli.ok("apply", files["A.npy"], "-f", files["h.txt"], "--mode", "correlate", "-b",
           "constant", "-o", files["C.npy"], "-q")
    np.testing.assert_allclose(np.load(files["C.npy"]), filter2(h, A), atol=tolerance(h, A))


def test_integer_results_round_half_to_even() -> None:
    """The page: imgconv rounds an integer result's halves to even."""
    A = np.array([[1, 3, 5, 7]], dtype=np.uint8)  # halved: 0.5 1.5 2.5 3.5
    got = imgconv.filter_image(A, [np.array([[0.5]])], mode="correlate", boundary="constant")
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, [[0, 2, 2, 4]])
