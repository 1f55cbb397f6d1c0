"""Tests for imgconv.kernels: parsers, generators, the shipped library (docs/semantics.md §2).

Expected values are hand-written matrices, scipy.ndimage results or mathematical
properties; nothing expected is computed by the code under test.
"""

from __future__ import annotations

import io
import os
import pickle
import re
import subprocess
import sys
import warnings
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from reference import BOUNDARIES

from imgconv.errors import FilterError
from imgconv.kernels import (
    GENERATORS,
    MAX_SIDE,
    Kernel,
    as_kernel,
    generate,
    kernel_to_yaml,
    load_file,
    load_filter,
    parse_csv,
    parse_inline,
    parse_txt,
    parse_yaml,
    shipped_dir,
    shipped_filters,
    shipped_names,
)

REPO = Path(__file__).resolve().parent.parent
RNG = np.random.default_rng(12345)
IMG = RNG.random((23, 29))
SAFE_NAME = re.compile(r"[A-Za-z0-9._+-]+")

# --------------------------------------------------------------------------------------
# the shipped library
# --------------------------------------------------------------------------------------

REQUIRED_SHIPPED = {
    "gaussian5", "box3", "box5", "gaussian3", "gaussian7", "sharpen", "unsharp",
    "laplacian4", "laplacian8", "log", "sobel-x", "sobel-y", "prewitt-x", "prewitt-y",
    "scharr-x", "scharr-y", "emboss", "edge-enhance", "motion-blur", "identity",
    "shift-right", "asym-3x3", "diff-2x2", "roberts-x",
}
ZERO_SUM = {"laplacian4", "laplacian8", "log", "sobel-x", "sobel-y", "prewitt-x", "prewitt-y",
            "scharr-x", "scharr-y", "diff-2x2", "roberts-x", "roberts-y"}
SUM_ONE = {"gaussian3", "gaussian5", "gaussian7", "gaussian-sigma2", "box3", "box5", "sharpen",
           "unsharp", "emboss", "edge-enhance", "motion-blur", "identity", "shift-right",
           "asym-3x3"}
NOT_CORR_EQ_CONV = {"sobel-x", "sobel-y", "prewitt-x", "prewitt-y", "scharr-x", "scharr-y",
                    "emboss", "shift-right", "asym-3x3", "diff-2x2", "roberts-x", "roberts-y"}


def test_shipped_library_has_the_required_filters() -> None:
    names = shipped_names()
    assert set(names) >= REQUIRED_SHIPPED
    assert names == sorted(names)
    assert [k.name for k in shipped_filters()] == names
    # from the source tree or from an installed package: the same files either way
    repo_files = sorted(p.name for p in (REPO / "filters").iterdir() if p.is_file())
    assert sorted(p.name for p in shipped_dir().iterdir() if p.is_file()
                  and p.suffix in (".yaml", ".txt")) == repo_files


def test_shipped_files_are_all_installed_by_package_data() -> None:
    # pyproject ships "*.yaml" and "*.txt" from filters/ (package imgconv.filters)
    files = [p for p in (REPO / "filters").iterdir() if p.is_file()]
    assert files
    assert all(p.suffix in (".yaml", ".txt") for p in files), files
    stems = [p.stem.lower() for p in files]
    assert len(stems) == len(set(stems))


@pytest.mark.parametrize("name", sorted(REQUIRED_SHIPPED | ZERO_SUM | SUM_ONE))
def test_every_shipped_filter_loads(name: str) -> None:
    k = load_filter(name)
    assert k.name == name
    assert SAFE_NAME.fullmatch(k.name)
    assert np.all(np.isfinite(k.array))
    assert len(k.description) > 10
    assert k.source is not None and Path(k.source).is_file()
    assert Path(k.source).stem == name
    # a YAML file's own name: matches its file name
    assert load_file(k.source).name == name
    if name in ZERO_SUM:
        assert k.is_zero_sum
    if name in SUM_ONE:
        assert k.sum == pytest.approx(1.0, abs=1e-12)
    assert k.correlate_equals_convolve == (name not in NOT_CORR_EQ_CONV)


def test_gaussian5_is_the_spec_kernel() -> None:
    k = load_filter("gaussian5")
    expected = np.array([[1, 4, 7, 4, 1], [4, 16, 26, 16, 4], [7, 26, 41, 26, 7],
                         [4, 16, 26, 16, 4], [1, 4, 7, 4, 1]], dtype=float)
    np.testing.assert_array_equal(k.weights, expected)
    assert k.scale == 1 / 273
    assert k.rank == 3
    assert not k.separable
    assert k.center == (2, 2)
    assert k.offset == 0.0
    assert k.sum == pytest.approx(1.0, abs=1e-12)


def test_sobel_x_matches_scipy_and_is_not_symmetric() -> None:
    k = load_filter("sobel-x")
    np.testing.assert_array_equal(k.weights, [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    assert not k.symmetric
    assert not k.correlate_equals_convolve
    np.testing.assert_allclose(ndi.correlate(IMG, k.array), ndi.sobel(IMG, axis=1), atol=1e-12)
    # convolve flips the sign of an antisymmetric kernel
    np.testing.assert_allclose(ndi.convolve(IMG, k.array), -ndi.sobel(IMG, axis=1), atol=1e-12)
    ky = load_filter("sobel-y")
    np.testing.assert_allclose(ndi.correlate(IMG, ky.array), ndi.sobel(IMG, axis=0), atol=1e-12)


def test_shipped_classics_hand_checked() -> None:
    np.testing.assert_array_equal(load_filter("gaussian3").array,
                                  np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16)
    np.testing.assert_allclose(load_filter("box5").array, np.full((5, 5), 1 / 25), rtol=1e-15)
    np.testing.assert_array_equal(load_filter("laplacian4").array,
                                  [[0, 1, 0], [1, -4, 1], [0, 1, 0]])
    b = np.array([1, 4, 6, 4, 1.0])
    unsharp = -np.outer(b, b) / 256
    unsharp[2, 2] += 2
    np.testing.assert_allclose(load_filter("unsharp").array, unsharp, atol=1e-15)
    b7 = np.array([1, 6, 15, 20, 15, 6, 1.0])
    np.testing.assert_allclose(load_filter("gaussian7").array, np.outer(b7, b7) / 4096,
                               atol=1e-15)
    np.testing.assert_array_equal(load_filter("roberts-x").weights, [[1, 0], [0, -1]])
    np.testing.assert_allclose(load_filter("motion-blur").array, np.eye(9) / 9, atol=1e-15)
    log = load_filter("log")
    assert log.array[2, 2] == log.array.min() < 0
    g2 = load_filter("gaussian-sigma2")
    assert g2.shape == (17, 17)  # radius int(4*2 + 0.5) = 8


def test_shift_right_moves_right_under_convolve_left_under_correlate() -> None:
    k = load_filter("shift-right")
    np.testing.assert_array_equal(ndi.convolve(IMG, k.array, mode="wrap"), np.roll(IMG, 1, 1))
    np.testing.assert_array_equal(ndi.correlate(IMG, k.array, mode="wrap"), np.roll(IMG, -1, 1))


@pytest.mark.parametrize("name", ["asym-3x3", "emboss", "shift-right"])
def test_asymmetric_shipped_correlate_differs_from_convolve(name: str) -> None:
    k = load_filter(name)
    diff = np.abs(ndi.correlate(IMG, k.array) - ndi.convolve(IMG, k.array)).max()
    assert diff > 1e-3


def test_diff_2x2_is_symmetric_but_even() -> None:
    k = load_filter("diff-2x2")
    assert k.symmetric
    assert not k.anchor_is_centred
    assert not k.correlate_equals_convolve


def test_txt_shipped_has_leading_comment_description() -> None:
    k = load_filter("roberts-x")
    assert "Roberts" in k.description
    assert k.meta["format"] == "txt"


# --------------------------------------------------------------------------------------
# resolution order and naming
# --------------------------------------------------------------------------------------


def test_resolution_existing_file_wins_over_generator(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FilterError, match="size"):
        load_filter("box:size=3.txt")  # a generator with a bad value while no file exists
    Path("box:size=3.txt").write_text("7\n")
    k = load_filter("box:size=3.txt")
    np.testing.assert_array_equal(k.weights, [[7]])
    assert k.name == "box:size=3"


def test_resolution_file_wins_over_shipped(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("gaussian5.yaml").write_text("kernel: [[2]]\n")
    np.testing.assert_array_equal(load_filter("gaussian5.yaml").weights, [[2]])
    assert load_filter("gaussian5.yaml").name == "gaussian5"
    # without the extension it is the shipped name (no such file)
    assert load_filter("gaussian5").shape == (5, 5)
    # an extensionless file does not hide a shipped name
    Path("sharpen").write_text("1\n")
    assert load_filter("sharpen").shape == (3, 3)
    # nor does a folder
    Path("identity").mkdir()
    assert load_filter("identity").shape == (3, 3)


def test_resolution_inline_and_generator_and_shipped_forms() -> None:
    assert load_filter("1 2 1; 2 4 2; 1 2 1").name == "inline"
    assert load_filter("gaussian:sigma=1").name == "gaussian"
    assert load_filter("SOBEL-X").name == "sobel-x"
    assert load_filter("sobel-x.yaml").name == "sobel-x"
    assert load_filter("  emboss  ").name == "emboss"
    # 'identity' is shipped (3x3) and a generator ('identity:' with defaults)
    assert load_filter("identity").source is not None
    assert load_filter("identity").meta["format"] == "yaml"
    assert load_filter("identity:size=5").shape == (5, 5)
    assert load_filter("log").shape == (5, 5)  # shipped
    assert load_filter("log:sigma=1").shape == (9, 9)  # generator
    # a bare generator name whose parameters all have defaults
    np.testing.assert_allclose(load_filter("box").array, np.full((3, 3), 1 / 9), rtol=1e-15)
    np.testing.assert_allclose(load_filter("box:").array, np.full((3, 3), 1 / 9), rtol=1e-15)


def test_kernel_and_array_pass_through(tmp_path: Path) -> None:
    k = Kernel(np.ones((2, 3)))
    assert load_filter(k) is k
    a = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(load_filter(a).weights, a)
    p = tmp_path / "k.txt"
    p.write_text("1 2\n3 4\n")
    assert load_filter(p).name == "k"
    assert load_filter(p).source == str(p)
    with pytest.raises(FilterError):
        load_filter(tmp_path / "missing.yaml")


def test_unknown_filter_suggests() -> None:
    with pytest.raises(FilterError) as e:
        load_filter("gausian5")
    msg = str(e.value)
    assert "no filter file, generator or shipped filter named 'gausian5'" in msg
    assert "did you mean 'gaussian5'?" in msg
    assert "imgconv filters" in msg
    with pytest.raises(FilterError, match=r"gaussian:sigma="):
        load_filter("gaussian")  # a generator that needs parameters
    with pytest.raises(FilterError, match="did you mean 'gaussian'"):
        load_filter("gausian:sigma=2")
    with pytest.raises(FilterError, match="no such file"):
        load_filter("some/dir/k.yaml")
    with pytest.raises(FilterError, match="empty filter"):
        load_filter("   ")


def test_unsupported_extension(tmp_path: Path) -> None:
    p = tmp_path / "k.json"
    p.write_text("[[1]]")
    with pytest.raises(FilterError) as e:
        load_filter(str(p))
    assert ".yaml" in str(e.value) and ".npy" in str(e.value) and ".csv" in str(e.value)
    assert str(p) in str(e.value)


# --------------------------------------------------------------------------------------
# TXT, inline, CSV
# --------------------------------------------------------------------------------------


def test_parse_txt_syntax() -> None:
    text = (
        "# a header comment\n"
        "# second line\n"
        "1/16\t2/16 , 1/16   # trailing comment\n"
        "\n"
        "   \n"
        "-3/4, 1e-1, +2.5E1\n"
        ".5 0 -0\n"
    )
    k = parse_txt(text, "dir/my.txt")
    np.testing.assert_array_equal(
        k.weights, [[1 / 16, 2 / 16, 1 / 16], [-0.75, 0.1, 25.0], [0.5, 0.0, 0.0]]
    )
    assert k.name == "my"
    assert k.source == "dir/my.txt"
    assert k.description == "a header comment second line"
    assert k.scale == 1.0


def test_inline_matrix() -> None:
    k = parse_inline("1 2 1; 2 4 2; 1 2 1")
    np.testing.assert_array_equal(k.weights, [[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    k = load_filter("1/4,1/4;1/4,1/4")
    np.testing.assert_array_equal(k.weights, np.full((2, 2), 0.25))
    assert load_filter("5").shape == (1, 1)
    with pytest.raises(FilterError, match="row 2 has 1 value, row 1 has 2"):
        load_filter("1 2; 3")
    with pytest.raises(FilterError, match="divides by zero"):
        load_filter("1 1/0")
    with pytest.raises(FilterError, match="'nan' is not a finite"):
        load_filter("1 nan")


BAD_TXT = [
    # (text, line or None, words that must be in the message)
    ("1 2 3\n4 5 6\n7 8 9 10\n", 3, ["line 3: 4 values, but line 1 has 3"]),
    ("# c\n\n1 2\n\n3\n", 5, ["line 5: 1 value, but line 3 has 2"]),
    ("", None, ["no kernel values found"]),
    ("# only a comment\n   \n# another\n", None, ["no kernel values found"]),
    ("1 2\n3 nan\n", 2, ["'nan'", "finite"]),
    ("1 2\n-inf 3\n", 2, ["'-inf'", "finite"]),
    ("1 2\n3 1e999\n", 2, ["'1e999'", "finite"]),
    ("1 2\n3 4\n1/0 5\n", 3, ["'1/0'", "divides by zero"]),
    ("0/0\n", 1, ["'0/0'", "divides by zero"]),
    ("1 2\n3 four\n", 2, ["'four'", "not a number"]),
    ("1 2\n3 0x10\n", 2, ["'0x10'", "not a number"]),
    ("1 2\n3 1_000\n", 2, ["'1_000'", "not a number"]),
    ("1,,2\n", 1, ["empty value"]),
    ("1 2\n3 \u0663\n", 2, ["not a number"]),  # arabic-indic digit three
]


@pytest.mark.parametrize(("text", "line", "words"), BAD_TXT)
def test_bad_txt(text: str, line: int | None, words: list[str]) -> None:
    with pytest.raises(FilterError) as e:
        parse_txt(text, "bad.txt")
    msg = str(e.value)
    assert e.value.line == line
    assert msg.startswith("bad.txt" if line is None else f"bad.txt, line {line}:")
    for w in words:
        assert w in msg


def test_txt_line_offset() -> None:
    with pytest.raises(FilterError) as e:
        parse_txt("1 2\nx 3\n", "f.yaml", line_offset=10)
    assert e.value.line == 12


def test_csv(tmp_path: Path) -> None:
    p = tmp_path / "k.csv"
    p.write_text("# a csv kernel\n1,2,3\n4,5,6\n")
    k = load_filter(str(p))
    np.testing.assert_array_equal(k.weights, [[1, 2, 3], [4, 5, 6]])
    assert k.name == "k"
    np.savetxt(tmp_path / "s.csv", np.eye(3) * 0.1, delimiter=",")
    np.testing.assert_array_equal(load_filter(str(tmp_path / "s.csv")).weights, np.eye(3) * 0.1)
    (tmp_path / "h.csv").write_text("a,b\n1,2\n")
    with pytest.raises(FilterError) as e:
        load_filter(str(tmp_path / "h.csv"))
    assert e.value.line == 1 and "'a'" in str(e.value) and "h.csv" in str(e.value)
    with pytest.raises(FilterError, match="empty value"):
        parse_csv("1,2,\n3,4,\n", "t.csv")


# --------------------------------------------------------------------------------------
# YAML
# --------------------------------------------------------------------------------------


def test_yaml_full_example() -> None:
    text = (
        "name: my-blur\n"
        "description: a test\n"
        "kernel:\n"
        "  - [1, 2, 1]\n"
        "  - ['2', '4', 2]\n"
        "  - [1, 2, 1]\n"
        "scale: 1/16\n"
        "offset: 0.5\n"
        "anchor: [0, 2]\n"
    )
    k = parse_yaml(text, "x/f.yaml")
    np.testing.assert_array_equal(k.weights, [[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    assert k.scale == 1 / 16
    assert k.offset == 0.5
    assert k.anchor == (0, 2)
    assert k.name == "my-blur"
    assert k.description == "a test"
    assert k.source == "x/f.yaml"
    assert k.meta["scale_text"] == "1/16"


def test_yaml_variants() -> None:
    k = parse_yaml("kernel: |\n  1 2 1   # row\n\n  2 4 2\ndivisor: 8\n", "dir/blk.yaml")
    np.testing.assert_array_equal(k.weights, [[1, 2, 1], [2, 4, 2]])
    assert k.scale == 1 / 8
    assert k.name == "blk"  # no name: -> the file stem
    k = parse_yaml("kernel: [[1, 3], [0, 4]]\nnormalize: true\n")
    assert k.scale == 1 / 8
    k = parse_yaml("kernel: [[1, 3]]\nnormalize: false\n")
    assert k.scale == 1.0
    k = parse_yaml("kernel: [['1/16', -3/4]]\nscale: '-1/2'\n")  # -3/4 is a plain string
    np.testing.assert_array_equal(k.weights, [[1 / 16, -0.75]])
    assert k.scale == -0.5
    k = parse_yaml("- [1, 2]\n- [3, 4]\n", "bare.yaml")  # a bare list of rows
    np.testing.assert_array_equal(k.weights, [[1, 2], [3, 4]])
    assert k.name == "bare"
    k = parse_yaml("kernel: '1 2; 3 4'\n")
    np.testing.assert_array_equal(k.weights, [[1, 2], [3, 4]])


def test_yaml_generator() -> None:
    k = parse_yaml("name: soft\ngenerator: {type: gaussian, sigma: 1.5}\n", "g.yaml")
    assert k.name == "soft"
    assert k.shape == (13, 13)  # radius int(6 + 0.5) = 6
    assert k.sum == pytest.approx(1.0, abs=1e-12)
    assert k.description.startswith("Gaussian blur, sigma=1.5, 13x13")  # the generator's
    k2 = parse_yaml("generator: 'gaussian:sigma=1.5'\n")
    np.testing.assert_array_equal(k.weights, k2.weights)
    k3 = parse_yaml("generator:\n  type: box\n  size: 3\nscale: 9\n")
    np.testing.assert_allclose(k3.array, np.ones((3, 3)), rtol=1e-15)


BAD_YAML = [
    # (text, line, words)
    ("name: x\nkernal: [[1]]\n", 2, ["unknown key 'kernal'", "did you mean 'kernel'"]),
    ("kernel: [[1]]\nnormalise: true\n", 2, ["'normalise'", "did you mean 'normalize'"]),
    ("kernel: [[1]]\nfoo: 1\n", 2, ["unknown key 'foo'", "name, description, kernel"]),
    ("kernel: [[1]]\nkernel: [[2]]\n", 2, ["'kernel'", "twice"]),
    ("kernel:\n  - [1, 2, 3]\n  - [4, 5]\n", 3, ["row 2", "has 2 values", "row 1", "has 3"]),
    ("kernel: |\n  1 2\n  3 x\n", 3, ["'x'", "not a number"]),
    ("name: a\nkernel: |\n  1 2\n\n  3 4 5\n", 5, ["line 5: 3 values, but line 3 has 2"]),
    ("kernel:\n  - [1, .nan]\n", 2, ["finite"]),
    ("kernel:\n  - [1, .inf]\n", 2, ["finite"]),
    ("kernel:\n  - [1, '1/0']\n", 2, ["divides by zero"]),
    ("kernel:\n  - [1, abc]\n", 2, ["'abc'", "not a number"]),
    ("kernel:\n  - [1, true]\n", 2, ["must be a number"]),
    ("kernel:\n  - [[1, 2], [3, 4]]\n", 2, ["2-D"]),
    ("kernel: 5\n", 1, ["single value", "2-D"]),
    ("kernel: [1, 2, 3]\n", 1, ["flat list", "[[1, 2, 1]]"]),
    ("kernel: []\n", 1, ["empty"]),
    ("kernel:\n", 1, ["empty"]),
    ("kernel: {a: 1}\n", 1, ["not a mapping"]),
    ("name: x\n", None, ["no 'kernel:' or 'generator:'"]),
    ("kernel: [[1]]\ngenerator: {type: box}\n", 2, ["either 'kernel:'", "not both"]),
    ("kernel: [[1]]\ndivisor: 0\n", 2, ["divisor", "0"]),
    ("kernel: [[1]]\nscale: 1/2\ndivisor: 2\n", 3, ["at most one", "scale", "divisor"]),
    ("kernel: [[1]]\nscale: 1/0\n", 2, ["scale", "divides by zero"]),
    ("kernel: [[1]]\nscale: lots\n", 2, ["scale", "'lots'"]),
    ("kernel: [[1]]\noffset: [1]\n", 2, ["offset", "number"]),
    ("kernel:\n  - [1, -1]\nnormalize: true\n", 3, ["normalize", "zero"]),
    ("kernel: [[1]]\nnormalize: yes please\n", 2, ["normalize", "true or false"]),
    ("kernel: [[1e308, 1e308]]\nnormalize: true\n", 2, ["normalize", "out of range"]),
    ("kernel: [[1, 2], [3, 4]]\nanchor: [2, 0]\n", 2, ["anchor", "outside the 2x2"]),
    ("kernel: [[1, 2], [3, 4]]\nanchor: [0]\n", 2, ["anchor", "[row, col]"]),
    ("kernel: [[1, 2], [3, 4]]\nanchor: [0.5, 1]\n", 2, ["anchor", "whole numbers"]),
    ("kernel: [[1, 2], [3, 4]]\nanchor: [-1, 0]\n", 2, ["anchor", "outside"]),
    ("- 1\n- 2\n", 1, ["flat list"]),
    ("just some text\n", 1, ["top level must be a mapping"]),
    # a bracket never closed: the line it was opened on (PyYAML names the next one)
    ("kernel: [[1, 2]\nname: x\n", 1, ["not valid YAML: the '[' at column 9 is never closed",
                                        "add its ']'"]),
    ("kernel:\n  - [1, 2]\n - [3, 4]\n", 3, ["not valid YAML", "indented", "'- '"]),
    ("a: b: c\n", 1, ["not valid YAML", "':' at column 5 cannot go there", "quoted"]),
    ("\tkernel: [[1]]\n", 1, ["not valid YAML: a tab at column 1", "spaces"]),
    ("kernel: [[1]]\n---\nkernel: [[2]]\n", 2, ["not valid YAML", "second YAML document",
                                                "one kernel"]),
    ("kernel: [[1, 2] [3, 4]]\n", 1, ["expected ',' or ']' before '[' at column 17"]),
    ("kernel: [[1, 2]]]\n", 1, ["']' at column 17 closes a bracket that is not open"]),
    ("name: 'abc\nkernel: [[1]]\n", 1, ["the quote ' at column 7 is never closed"]),
    ("kernel: [1, , 2]\n", 1, ["empty value before the ',' at column 13"]),
    ("kernel: [[1, 2],\n  [3, 4]\n\nscale: 2\n", 1, ["never closed (line 4 goes on with a "
                                                     "value): add its ']' before line 4"]),
    ('description: "a \\q b"\nkernel: [[1]]\n', 1, ["not valid YAML", "escape"]),
    ("", None, ["empty"]),
    ("kernel: !!binary AAAA\n", 1, ["single value"]),
    ("kernel: 2001-13-45\n", 1, ["month"]),
    ("generator: {type: gausian, sigma: 1}\n", 1, ["unknown generator 'gausian'",
                                                    "did you mean 'gaussian'"]),
    ("generator:\n  type: gaussian\n  sigma: 0\n", 3, ["sigma", "> 0"]),
    ("generator:\n  type: gaussian\n  sgima: 1\n", 3, ["'sgima'", "did you mean 'sigma'"]),
    ("generator:\n  type: gaussian\n", 1, ["needs the parameter sigma"]),
    ("generator:\n  sigma: 2\n", 1, ["no type"]),
    ("generator: 'box:size=0'\n", 1, ["size", "> 0"]),
    ("generator: [1, 2]\n", 1, ["generator", "mapping"]),
]


@pytest.mark.parametrize(("text", "line", "words"), BAD_YAML)
def test_bad_yaml(text: str, line: int | None, words: list[str]) -> None:
    with pytest.raises(FilterError) as e:
        parse_yaml(text, "bad.yaml")
    msg = str(e.value)
    assert e.value.line == line, msg
    assert msg.startswith("bad.yaml" if line is None else f"bad.yaml, line {line}:"), msg
    for w in words:
        assert w in msg, msg


def test_yaml_python_tags_are_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    docs = [
        f'kernel: !!python/object/apply:os.system ["touch {marker}"]\n',
        f'name: x\nkernel: [[1]]\n'
        f'description: !!python/object/apply:os.system ["touch {marker}"]\n',
        f'!!python/object/apply:os.system ["touch {marker}"]\n',
        f'kernel:\n  - [1, !!python/object/apply:os.system ["touch {marker}"]]\n',
    ]
    for i, doc in enumerate(docs):
        with pytest.raises(FilterError) as e:
            parse_yaml(doc, "evil.yaml")
        assert "tag not allowed" in str(e.value)
        assert e.value.line == doc.count("\n", 0, doc.index("!!")) + 1, i
        p = tmp_path / f"evil{i}.yaml"
        p.write_text(doc)
        with pytest.raises(FilterError):
            load_filter(str(p))
    assert not marker.exists()


def test_yaml_file_errors_name_the_file(tmp_path: Path) -> None:
    p = tmp_path / "f.yaml"
    p.write_text("name: a\ndescription: b\nkernal: [[1]]\n")
    with pytest.raises(FilterError) as e:
        load_filter(str(p))
    assert str(e.value).startswith(f"{p}, line 3:")
    assert e.value.source == str(p)
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(FilterError, match="UTF-8"):
        load_filter(str(tmp_path / "bin.yaml"))


def test_kernel_to_yaml_round_trip_examples() -> None:
    k = Kernel(np.array([[0.1, -2.0], [1e-300, 3.0]]), scale=1 / 3, offset=-2.5, anchor=(1, 0),
               name="a b", description='quote " and: colon')
    back = parse_yaml(kernel_to_yaml(k))
    np.testing.assert_array_equal(back.weights, k.weights)
    assert (back.scale, back.offset, back.anchor) == (k.scale, k.offset, (1, 0))
    assert (back.name, back.description) == ("a b", 'quote " and: colon')


# --------------------------------------------------------------------------------------
# generators
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("sigma", [0.5, 0.625, 1.0, 1.5, 2.3])
@pytest.mark.parametrize("mode", BOUNDARIES)
def test_gaussian_matches_scipy_gaussian_filter(sigma: float, mode: str) -> None:
    k = load_filter(f"gaussian:sigma={sigma}")
    expected = ndi.gaussian_filter(IMG, sigma, mode=mode)
    np.testing.assert_allclose(ndi.correlate(IMG, k.array, mode=mode), expected, atol=1e-12)
    assert k.sum == pytest.approx(1.0, abs=1e-12)
    assert k.symmetric


def test_gaussian_radius_rule_and_size() -> None:
    # scipy's truncate=4 rule: radius int(4*sigma + 0.5); hand-computed sides
    for sigma, side in [(0.1, 1), (0.5, 5), (0.625, 7), (1.0, 9), (1.5, 13), (2.0, 17)]:
        assert load_filter(f"gaussian:sigma={sigma}").shape == (side, side)
    assert load_filter("gaussian:sigma=128").shape == (MAX_SIDE, MAX_SIDE)  # the largest
    k = load_filter("gaussian:sigma=1,size=5")
    assert k.shape == (5, 5)
    np.testing.assert_allclose(ndi.correlate(IMG, k.array),
                               ndi.gaussian_filter(IMG, 1.0, radius=2), atol=1e-12)
    # the impulse response of scipy's filter is the kernel itself
    imp = np.zeros((21, 21))
    imp[10, 10] = 1.0
    resp = ndi.gaussian_filter(imp, 1.5, mode="constant")
    np.testing.assert_allclose(load_filter("gaussian:sigma=1.5").array, resp[4:17, 4:17],
                               atol=1e-15)


@pytest.mark.parametrize("sigma", [0.8, 1.4, 2.0])
def test_log_matches_scipy_gaussian_laplace(sigma: float) -> None:
    k = load_filter(f"log:sigma={sigma}")
    n = k.shape[0]
    assert n == 2 * int(4 * sigma + 0.5) + 1
    imp = np.zeros((n + 6, n + 6))
    imp[(n + 6) // 2, (n + 6) // 2] = 1.0
    resp = ndi.gaussian_laplace(imp, sigma, mode="constant")[3:-3, 3:-3]
    np.testing.assert_allclose(k.array, resp - resp.mean(), atol=1e-14)
    assert k.is_zero_sum
    c = n // 2
    assert k.array[c, c] < 0
    assert k.array[c, c] == k.array.min()
    assert k.symmetric


def test_unsharp_matches_definition() -> None:
    k = load_filter("unsharp:sigma=1,amount=1.5")
    expected = IMG + 1.5 * (IMG - ndi.gaussian_filter(IMG, 1.0))
    np.testing.assert_allclose(ndi.correlate(IMG, k.array), expected, atol=1e-12)
    assert k.sum == pytest.approx(1.0, abs=1e-12)
    k1 = load_filter("unsharp:sigma=1")  # amount defaults to 1
    np.testing.assert_allclose(ndi.correlate(IMG, k1.array),
                               2 * IMG - ndi.gaussian_filter(IMG, 1.0), atol=1e-12)


def test_box_and_disk() -> None:
    np.testing.assert_allclose(load_filter("box:size=4").array, np.full((4, 4), 1 / 16),
                               rtol=1e-15)
    np.testing.assert_allclose(load_filter("box:width=5,height=3").array,
                               np.full((3, 5), 1 / 15), rtol=1e-15)
    np.testing.assert_allclose(load_filter("disk:radius=1").array,
                               np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]]) / 5, rtol=1e-15)
    d2 = np.array([[0, 0, 1, 0, 0], [0, 1, 1, 1, 0], [1, 1, 1, 1, 1], [0, 1, 1, 1, 0],
                   [0, 0, 1, 0, 0]]) / 13
    np.testing.assert_allclose(load_filter("disk:radius=2").array, d2, rtol=1e-15)
    d25 = load_filter("disk:radius=2.5")
    assert d25.shape == (5, 5)
    assert np.count_nonzero(d25.array) == 21  # all but the 4 corners
    assert load_filter("disk:radius=0.5").shape == (1, 1)
    for spec in ["box:size=7", "disk:radius=4.3", "disk:radius=10"]:
        assert load_filter(spec).sum == pytest.approx(1.0, abs=1e-12)


def test_motion() -> None:
    k = load_filter("motion:length=7")
    np.testing.assert_allclose(k.array, np.full((1, 7), 1 / 7), rtol=1e-15)
    k = load_filter("motion:length=7,angle=90")
    np.testing.assert_allclose(k.array, np.full((7, 1), 1 / 7), rtol=1e-15)
    k = load_filter("motion:length=4,angle=0")
    np.testing.assert_allclose(k.array, np.full((1, 4), 1 / 4), rtol=1e-15)
    # positive angles go up-right (rows grow downward)
    k = load_filter("motion:length=3,angle=45")
    np.testing.assert_allclose(k.array, np.array([[0, 0, 1], [0, 1, 0], [1, 0, 0]]) / 3,
                               rtol=1e-15)
    k = load_filter("motion:length=3,angle=-45")
    np.testing.assert_allclose(k.array, np.eye(3) / 3, rtol=1e-15)
    k = load_filter("motion:length=3,angle=135")
    np.testing.assert_allclose(k.array, np.eye(3) / 3, rtol=1e-15)
    np.testing.assert_array_equal(load_filter("motion:length=9,angle=180").weights,
                                  load_filter("motion:length=9").weights)


@given(length=st.integers(1, 40), angle=st.floats(-720, 720, allow_nan=False))
@settings(max_examples=60, deadline=None)
def test_motion_properties(length: int, angle: float) -> None:
    k = generate(f"motion:length={length},angle={angle!r}")
    a = k.array
    assert np.count_nonzero(a) == length
    assert a.sum() == pytest.approx(1.0, abs=1e-12)
    assert max(a.shape) == length
    # connected: one pixel per step along the major axis, neighbours 8-adjacent
    ys, xs = np.nonzero(a)
    pts = sorted(zip(xs.tolist(), ys.tolist(), strict=True)) if a.shape[1] >= a.shape[0] \
        else sorted(zip(ys.tolist(), xs.tolist(), strict=True))
    for (p0, q0), (p1, q1) in zip(pts, pts[1:], strict=False):
        assert p1 - p0 == 1 and abs(q1 - q0) <= 1
    if length % 2 == 1:
        assert k.symmetric  # an odd line is centred on a pixel


def test_identity_shift_and_derivatives() -> None:
    np.testing.assert_array_equal(ndi.correlate(IMG, load_filter("identity:size=5").array), IMG)
    for dx, dy in [(2, 0), (0, -3), (1, 1), (-2, 1)]:
        k = load_filter(f"shift:dx={dx},dy={dy}")
        np.testing.assert_array_equal(ndi.convolve(IMG, k.array, mode="wrap"),
                                      np.roll(IMG, (dy, dx), axis=(0, 1)))
        np.testing.assert_array_equal(ndi.correlate(IMG, k.array, mode="wrap"),
                                      np.roll(IMG, (-dy, -dx), axis=(0, 1)))
    for name in ("sobel", "prewitt"):
        for axis, scipy_axis in (("x", 1), ("y", 0)):
            k = load_filter(f"{name}:axis={axis}")
            expected = getattr(ndi, name)(IMG, axis=scipy_axis)
            np.testing.assert_allclose(ndi.correlate(IMG, k.array), expected, atol=1e-12)
    np.testing.assert_array_equal(load_filter("scharr:axis=y").weights,
                                  [[-3, -10, -3], [0, 0, 0], [3, 10, 3]])
    np.testing.assert_array_equal(load_filter("sobel:").weights,
                                  load_filter("sobel-x").weights)


BAD_GENERATORS = [
    ("gaussian:sigma=0", ["sigma", "> 0"]),
    ("gaussian:sigma=-1", ["sigma", "> 0"]),
    ("gaussian:sigma=300", ["sigma", "2401", str(MAX_SIDE)]),
    ("gaussian:sigma=1e308", ["sigma", str(MAX_SIDE)]),
    ("gaussian:sigma=128.2", ["sigma", "1027", str(MAX_SIDE)]),
    ("gaussian:sigma=1e-9", ["sigma", ">= 0.001"]),
    ("gaussian:sigma=1,size=4", ["size", "odd"]),
    ("gaussian:sigma=1,size=2000", ["size", "2000", str(MAX_SIDE)]),
    ("gaussian:sigma=abc", ["sigma", "'abc'", "not a number"]),
    ("gaussian:sigma=nan", ["sigma", "finite"]),
    ("gaussian:sigma=1/0", ["sigma", "divides by zero"]),
    ("gaussian:sgima=1", ["unknown parameter 'sgima'", "did you mean 'sigma'", "sigma, size"]),
    ("gaussian:", ["needs the parameter sigma"]),
    ("gaussian:sigma", ["key=value"]),
    ("gaussian:sigma=1,sigma=2", ["sigma", "twice"]),
    ("gaussian:sigma=", ["sigma", "no value"]),
    ("log:sigma=0.1", ["sigma", "1x1"]),
    ("box:size=0", ["size", "> 0"]),
    ("box:size=2.5", ["size", "whole number"]),
    ("box:size=1026", ["size", "1026", str(MAX_SIDE)]),
    ("box:width=2000", ["width", "2000"]),
    ("disk:radius=0", ["radius", "> 0"]),
    ("disk:radius=600", ["radius", "1201"]),
    ("disk:", ["needs the parameter radius"]),
    ("motion:length=0", ["length", "> 0"]),
    ("motion:length=5000", ["length", "5000"]),
    ("motion:angle=10", ["needs the parameter length"]),
    ("motion:length=5,angle=x", ["angle", "'x'"]),
    ("identity:size=-1", ["size", "> 0"]),
    ("shift:dx=600", ["dx", "1201"]),
    ("shift:dx=0.5", ["dx", "whole number"]),
    ("sobel:axis=z", ["axis", "x, y"]),
    ("unsharp:amount=2", ["needs the parameter sigma"]),
]


@pytest.mark.parametrize(("spec", "words"), BAD_GENERATORS)
def test_bad_generator_parameters(spec: str, words: list[str]) -> None:
    with pytest.raises(FilterError) as e:
        load_filter(spec)
    msg = str(e.value)
    assert msg.startswith(spec), msg
    for w in words:
        assert w in msg, msg


def test_generator_registry() -> None:
    assert {"gaussian", "box", "disk", "motion", "log", "unsharp", "identity", "shift",
            "sobel"} <= set(GENERATORS)
    for name, g in GENERATORS.items():
        assert g.name == name
        assert g.description
        assert isinstance(g.params_help, str) and g.params_help
        k = generate(g.example)
        assert k.name == name
        assert k.meta["generator"] == name
        assert np.all(np.isfinite(k.array))
    assert "sigma" in GENERATORS["gaussian"].params_help
    assert "required" in GENERATORS["gaussian"].params_help
    assert GENERATORS["box"].all_defaults and not GENERATORS["gaussian"].all_defaults


def test_generate_kernel_fields() -> None:
    k = generate("gaussian:sigma=2,size=5")
    assert k.source == "gaussian:sigma=2,size=5"
    assert k.meta["params"] == {"sigma": 2.0, "size": 5.0}
    assert "sigma=2" in k.description
    assert generate("GAUSSIAN: sigma = 2 ").shape == (17, 17)


# --------------------------------------------------------------------------------------
# .npy arrays and slices
# --------------------------------------------------------------------------------------


def test_npy_and_slices(tmp_path: Path) -> None:
    w = RNG.standard_normal((4, 3, 5, 5))
    p = tmp_path / "w.npy"
    np.save(p, w)
    k = load_filter(f"{p}[3,0]")
    np.testing.assert_array_equal(k.weights, w[3, 0])
    assert k.name == "w_3_0"  # slices of one file are different filters, named apart
    assert load_filter(f"{p}[3,1]").name == "w_3_1"
    assert load_filter(f"{p}[:, :, 0, 3]").name == "w_0_3"
    assert k.source == f"{p}[3,0]"
    np.testing.assert_array_equal(load_filter(f"{p}[:, :, 0, 3]").weights, w[:, :, 0, 3])
    np.testing.assert_array_equal(load_filter(f"{p}[..., 1, 2]").weights, w[..., 1, 2])
    np.testing.assert_array_equal(load_filter(f"{p}[-1, 2, ::2, 1:4]").weights,
                                  w[-1, 2, ::2, 1:4])
    np.testing.assert_array_equal(load_filter(f"{p}[1,1,::-1,:]").weights, w[1, 1, ::-1, :])
    np.testing.assert_array_equal(load_filter(f"{p}[2,1,]").weights, w[2, 1])
    w2 = RNG.standard_normal((3, 4)).astype(np.float32)
    np.save(tmp_path / "two.npy", w2)
    k2 = load_filter(str(tmp_path / "two.npy"))
    np.testing.assert_array_equal(k2.weights, w2.astype(np.float64))
    assert k2.name == "two"
    np.save(tmp_path / "ints.npy", np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(load_filter(str(tmp_path / "ints.npy")).weights,
                                  [[0, 1, 2], [3, 4, 5]])


BAD_SLICES = [
    ("[3]", ["(3, 5, 5)", "2-D"]),
    ("", ["(4, 3, 5, 5)", "2-D"]),  # the whole 4-D file, no slice
    ("[0,0,0]", ["(5,)"]),
    ("[4,0]", ["index", "out of bounds"]),
    ("[0,0,0,0,0]", ["too many indices"]),
    ("[__import__('os').system('true')]", ["bad index"]),
    ("[None, 0]", ["bad index 'None'"]),
    ("[0.5, 0]", ["bad index '0.5'"]),
    ("[0, 0, ::0]", ["step 0"]),
    ("[0, 0, 1:2:3:4]", ["bad slice"]),
    ("[..., ..., 0]", ["more than one"]),
    ("[99999999999999999999999, 0]", ["bad index"]),
]


@pytest.mark.parametrize(("suffix", "words"), BAD_SLICES)
def test_npy_bad_slices(tmp_path: Path, suffix: str, words: list[str]) -> None:
    p = tmp_path / "w.npy"
    np.save(p, np.zeros((4, 3, 5, 5)))
    with pytest.raises(FilterError) as e:
        load_filter(f"{p}{suffix}")
    msg = str(e.value)
    assert str(p) in msg
    for w in words:
        assert w in msg, msg


@pytest.mark.parametrize(("index", "suggested"), [
    ("[0:2,0,:,:]", "[0,0,:,:]"),  # it appended ',0': too many indices (the trial's)
    ("", "[0,0]"), ("[3]", "[3,0,:,:]"), ("[0:2]", "[0,0,:,:]"), ("[:,:]", "[0,0,:,:]"),
    ("[::2,...]", "[0,0,:,:]"), ("[...,0]", "[0,:,:,0]"), ("[0,0,0]", "[0,0,:,:]"),
    ("[0,0,0,0]", "[0,0,:,:]"), ("[2:,1:,:,:]", "[2,1,:,:]"), ("[-1:-3:-1,0]", "[3,0,:,:]"),
    ("[1,1:,0,0]", "[1,1:,0,:]"), ("[0:0,0]", "[0,0,:,:]"),
])
def test_npy_not_2d_suggests_a_slice_that_loads(tmp_path: Path, index: str,
                                                 suggested: str) -> None:
    """The 2-D slice a message suggests, given back as it is spelled, loads: the file as
    it was named, an index of that array that keeps two axes."""
    w = RNG.standard_normal((4, 3, 5, 5))
    p = tmp_path / "w.npy"
    np.save(p, w)
    with pytest.raises(FilterError, match="a kernel must be 2-D") as e:
        load_filter(f"{p}{index}")
    said = re.search(r"pick a 2-D slice, e\.g\. '(.*)'$", str(e.value))
    assert said is not None and said[1] == f"{p}{suggested}", str(e.value)
    k = load_filter(said[1])
    assert k.weights.ndim == 2 and k.weights.size > 0


def test_csv_row_suggests_the_whole_matrix(tmp_path: Path) -> None:
    p = tmp_path / "k.csv"
    p.write_text("1,2,3\n4,5,6\n")
    with pytest.raises(FilterError, match=re.escape(f"e.g. '{p}[:,:]'")):
        load_filter(f"{p}[0]")
    np.testing.assert_array_equal(load_filter(f"{p}[:,:]").weights, [[1, 2, 3], [4, 5, 6]])


def _save_npz(p: Path) -> None:
    buf = io.BytesIO()
    np.savez(buf, a=np.ones((2, 2)))
    p.write_bytes(buf.getvalue())


def test_npy_bad_files(tmp_path: Path) -> None:
    cases: dict[str, Callable[[Path], object]] = {
        "obj.npy": lambda p: np.save(p, np.array([{"a": 1}], dtype=object), allow_pickle=True),
        "cplx.npy": lambda p: np.save(p, np.ones((2, 2), dtype=complex)),
        "nan.npy": lambda p: np.save(p, np.array([[1.0, np.nan]])),
        "junk.npy": lambda p: p.write_bytes(b"not an npy file at all"),
        "empty.npy": lambda p: p.write_bytes(b""),
        "zip.npy": _save_npz,
        "big.npy": lambda p: np.save(p, np.zeros((1, 2000))),
        "scalar.npy": lambda p: np.save(p, np.float64(3.0)),
    }
    for name, make in cases.items():
        p = tmp_path / name
        make(p)
        with pytest.raises(FilterError) as e:
            load_filter(str(p))
        assert name in str(e.value), (name, str(e.value))
    with pytest.raises(FilterError, match="no such file"):
        load_filter(str(tmp_path / "missing.npy") + "[0]")


@pytest.mark.parametrize("apart", [False, True], ids=["one piece", "runs"])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", ["<f8", ">f4", "<i2", "|u1", "|b1"])
def test_npy_slices_read_only_their_values(tmp_path: Path, order: str, dtype: str, apart: bool,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Whole files and slices of C- and Fortran-ordered arrays of any byte order: the
    values numpy's own indexing gives, whether read in one piece or run by run (as values
    far apart in a large file are)."""
    if apart:
        import imgconv.kernels.arrays as arrays

        monkeypatch.setattr(arrays, "_SPAN", 0)
    w = np.asarray((RNG.standard_normal((3, 4, 6, 5)) * 40).astype(dtype), order=order)
    p = tmp_path / "w.npy"
    np.save(p, w)
    for index, picked in (("1,2", w[1, 2]), (":,::-1,2,-1", w[:, ::-1, 2, -1]),
                          ("0,1,::2,::-1", w[0, 1, ::2, ::-1]), ("-1,-2,1:4,:", w[-1, -2, 1:4])):
        np.testing.assert_array_equal(load_filter(f"{p}[{index}]").weights,
                                      picked.astype(np.float64))
    np.testing.assert_array_equal(load_filter(f"{p}[..., 2, 3]").weights, w[..., 2, 3])
    flat = np.asarray(w[0, 0], order=order)
    np.save(p, flat)
    np.testing.assert_array_equal(load_filter(str(p)).weights, flat.astype(np.float64))


def test_npy_kernel_header_promising_more_than_the_file(tmp_path: Path) -> None:
    p = tmp_path / "cut.npy"
    np.save(p, np.ones((5, 5)))
    p.write_bytes(p.read_bytes()[:-8])
    with pytest.raises(FilterError, match=r"cut.npy: truncated: the header promises a float64 "
                       r"array of shape \(5, 5\)"):
        load_filter(str(p))
    p.write_bytes(pickle.dumps([[1, 2], [3, 4]]))  # a pickle named .npy: never unpickled
    with pytest.raises(FilterError, match="never loads"):
        load_filter(str(p))


# --------------------------------------------------------------------------------------
# the kernel value: real numbers only
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("values", [np.ones((3, 3), complex), np.ones((2, 2), np.complex64),
                                    [[1, 2j]], np.array([[1, 1 + 0j]], dtype=object)],
                         ids=["complex128", "complex64", "list", "object"])
def test_complex_kernels_are_refused_never_cut(tmp_path: Path, values: object) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a ComplexWarning would be an error here
        with pytest.raises(FilterError) as info:
            as_kernel(values)
    assert str(info.value) == ("array: kernel values are complex numbers: a kernel must be "
                               "real (take the real part or the magnitude first)")
    with pytest.raises(FilterError, match="complex"):
        Kernel(values)  # type: ignore[arg-type]
    for key in ("scale", "offset"):
        with pytest.raises(FilterError, match="finite real numbers"):
            Kernel(np.ones((2, 2)), **{key: 1j})  # type: ignore[arg-type]
    np.save(npy := tmp_path / "c.npy", np.ones((2, 2), complex))
    with pytest.raises(FilterError, match=r"c.npy: the array holds complex numbers"):
        load_filter(str(npy))


def test_bool_kernels_are_weights_0_and_1() -> None:
    """A boolean mask is a footprint: True weighs 1, False 0 (as numpy converts them)."""
    k = as_kernel(np.array([[True, False], [False, True]]))
    np.testing.assert_array_equal(k.weights, [[1.0, 0.0], [0.0, 1.0]])
    assert k.weights.dtype == np.float64


@pytest.mark.parametrize(("values", "words"), [
    (np.ones((3, 3, 3)), ["shape (3, 3, 3)", "list of 2-D kernels"]),
    (np.ones(3), ["shape (3,)"]),
    (None, ["None", "2-D array"]),
    ("box3", ["'box3'", "load_filter"]),
    (np.array([["1", "2"]]), ["real numbers, not text"]),
    ([[1, 2], [3]], ["different lengths"]),
    ([[object(), 1]], ["real numbers, not object values"]),
    (np.zeros((2, 2), "datetime64[s]"), ["real numbers, not datetime64[s] values"]),
    (np.zeros((MAX_SIDE + 1, 1)), [f"larger than {MAX_SIDE}"]),
])
def test_what_is_not_a_kernel(values: object, words: list[str]) -> None:
    with pytest.raises(FilterError) as info:
        as_kernel(values)
    for word in words:
        assert word in str(info.value), str(info.value)


def test_fractions_are_real_numbers() -> None:
    k = as_kernel([[Fraction(1, 4), Fraction(1, 2)]])
    np.testing.assert_array_equal(k.weights, [[0.25, 0.5]])


# --------------------------------------------------------------------------------------
# fuzzing: only FilterError may escape
# --------------------------------------------------------------------------------------

YAML_PIECES = st.sampled_from([
    "kernel:", "name:", "generator:", "scale:", "divisor:", "normalize:", "anchor:", "offset:",
    "description:", " [", "]", "[[", "]]", "{", "}", "type: gaussian", "sigma: 2", "size:",
    "1", "-2", "1/16", "1/0", "0", ".nan", ".inf", "true", "null", "~", "'1/3'", "\"x\"",
    "- ", "\n", "\n  ", "  ", ", ", ": ", "|", ">", "#", "&a", "*a", "<<: *a", "!!str",
    "!!python/object/apply:os.system", "!!binary", "!!float", "? ", "---", "...", "%YAML 1.1",
    "\t", "2001-01-01", "0x1F", "1e999", "[1, 2]", ";", "box:size=3", "gaussian:sigma=1",
])
TXT_PIECES = st.sampled_from([
    "1", "-2", "3.5", "1e3", "1/16", "1/0", "0/0", "nan", "inf", "1e999", " ", "\t", ",", ",,",
    "\n", "\r\n", "#", "# c\n", "x", "--1", "1/2/3", ".", "e", "+", "/", "\u0663",
])
INLINE = st.text(alphabet="0123456789 .,;/+-eE\t\n", max_size=40)


def _kernel_or_error(parse: Callable[[], Kernel], source: str | None = None) -> Kernel | None:
    """The kernel ``parse`` returns, or None when it raised a FilterError.

    Any other exception escapes (and fails the test).  The error must say something,
    and name ``source`` when one is given.
    """
    try:
        return parse()
    except FilterError as exc:
        assert str(exc).strip()
        if source is not None:
            assert exc.source == source, str(exc)
        return None


@given(st.one_of(st.text(max_size=200), st.lists(TXT_PIECES, max_size=40).map("".join)))
@settings(max_examples=300, deadline=None)
def test_fuzz_parse_txt(text: str) -> None:
    k = _kernel_or_error(lambda: parse_txt(text, "fuzz.txt"), "fuzz.txt")
    if k is not None:
        assert k.weights.ndim == 2 and np.all(np.isfinite(k.weights))


@given(st.one_of(st.text(max_size=200), st.lists(YAML_PIECES, max_size=40).map("".join)))
@settings(max_examples=400, deadline=None)
def test_fuzz_parse_yaml(text: str) -> None:
    k = _kernel_or_error(lambda: parse_yaml(text, "fuzz.yaml"), "fuzz.yaml")
    if k is not None:
        assert k.weights.ndim == 2 and np.all(np.isfinite(k.array))


@given(st.one_of(INLINE, st.text(max_size=60),
                 st.from_regex(r"[a-z]{2,8}:([a-z]{1,6}=[-0-9./a-z]{0,6},?){0,3}",
                               fullmatch=True)))
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_fuzz_load_filter_strings(text: str) -> None:
    # an existing path in the working folder is not what this fuzzes
    assume("\x00" in text or not text.strip() or not os.path.exists(text.strip()))
    k = _kernel_or_error(lambda: load_filter(text))
    if k is not None:
        assert k.weights.ndim == 2 and np.all(np.isfinite(k.array))
        assert max(k.shape) <= MAX_SIDE


@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=6),
                  elements=st.floats(allow_nan=False, allow_infinity=False)),
       st.floats(min_value=1e-6, max_value=1e6), st.floats(-1e3, 1e3))
@settings(max_examples=60, deadline=None)
def test_kernel_to_yaml_round_trip(w: np.ndarray, scale: float, offset: float) -> None:
    k = Kernel(w, scale=scale, offset=offset, name="rt", description="round trip")
    back = parse_yaml(kernel_to_yaml(k))
    np.testing.assert_array_equal(back.weights, w)
    assert back.scale == scale and back.offset == offset
    assert back.center == k.center


def test_importing_kernels_does_not_import_yaml() -> None:
    # PyYAML is imported on first use: `imgconv --help` must not pay for it
    code = ("import sys, imgconv.kernels as k; k.load_filter('1 2 1'); "
            "print('yaml' in sys.modules); k.parse_yaml('kernel: [[1]]'); "
            "print('yaml' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "True"]


def test_comma_groups_that_look_like_rows_get_a_note() -> None:
    """'1 2 1, 2 4 2, 1 2 1' is one row of 9 (MATLAB reads commas so too): a note says
    rows are split by ';'; '1, 2, 1' (one row, written with commas) gets none."""
    from imgconv.kernels import load_filter

    k = load_filter("1 2 1, 2 4 2, 1 2 1")
    assert k.shape == (1, 9)
    assert "rows are separated by ';'" in str(k.meta["note"])
    assert "1 2 1; 2 4 2; 1 2 1" in str(k.meta["note"])
    assert "note" not in load_filter("1, 2, 1").meta
    assert "note" not in load_filter("1 2 1; 2 4 2; 1 2 1").meta


def test_ragged_txt_names_its_line_once(tmp_path: Path) -> None:
    """``ragged.txt, line 3: 2 values, but line 1 has 3``: the line is the error's, said
    once (it was ``line 3: line 3 has 2 values, line 1 has 3``)."""
    p = tmp_path / "ragged.txt"
    p.write_text("1 2 1\n2 4 2\n1 2\n")
    with pytest.raises(FilterError) as e:
        load_filter(str(p))
    assert e.value.line == 3 and e.value.source == str(p)
    assert str(e.value) == (f"{p}, line 3: 2 values, but line 1 has 3: every row of a "
                            "kernel needs the same number of values")


@pytest.mark.parametrize(("text", "said"), [
    # the new user's l3a.yaml: a ']' missing on line 3 (PyYAML: "line 4: while parsing a
    # flow sequence, expected ',' or ']', but got '['")
    ("name: t\nkernel:\n  - [1, 2, 1\n  - [2, 4, 2]\n  - [1, 2, 1]\n",
     "line 3: not valid YAML: the '[' at column 5 is never closed (line 4 goes on with '['): "
     "add its ']' at the end of the line"),
    # l3e.yaml: a tab (PyYAML: "found character '\\t' that cannot start any token")
    ("name: t\nkernel:\n\t- [1, 2, 1]\n",
     "line 3: not valid YAML: a tab at column 1: YAML indents with spaces, never tabs: "
     "replace the tab with spaces"),
    # a ']' too many (PyYAML: "while parsing a block collection, expected <block end>, but
    # found ']'")
    ("name: t\nkernel:\n  - [1, 2, 1]]\n  - [2, 4, 2]\n",
     "line 3: not valid YAML: ']' at column 14 closes a bracket that is not open: remove it, "
     "or add the '[' it closes"),
    # a row indented less than the others
    ("name: t\nkernel:\n  - [1, 2, 1]\n - [2, 4, 2]\n",
     "line 4: not valid YAML: '-' at column 2 is not indented like the lines above it: start "
     "each row of a list with '- ' at the same column, and the keys (name:, kernel:, ...) at "
     "column 1"),
])
def test_yaml_syntax_errors_say_the_line_and_the_fix(tmp_path: Path, text: str,
                                                      said: str) -> None:
    """A YAML syntax error is one line: the line of the mistake (an unclosed bracket's own
    line) and what to do, none of PyYAML's parser words."""
    p = tmp_path / "l3.yaml"
    p.write_text(text)
    with pytest.raises(FilterError) as e:
        load_filter(str(p))
    assert str(e.value) == f"{p}, {said}"
    assert e.value.line == int(said.split(":")[0].removeprefix("line "))
    assert "\n" not in str(e.value) and "while parsing" not in str(e.value)
