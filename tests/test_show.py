"""``imgconv show`` in a terminal: every line within its width (texts wrapped under their
label, the matrix in column blocks), the rank-1 factors wrapped evenly, and a kernel
larger than 31 a side shown as its properties and its centre (``--full``: all of it)."""

from __future__ import annotations

import functools
import json
import re
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from imgconv.cli import app
from imgconv.cli.kernels import BIG
from imgconv.kernels import GENERATORS, shipped_filters

NUMBER = re.compile(r"^-?(\d+(/\d+)?|\d*\.\d+(e[-+]\d+)?|\d+e[-+]\d+)$")


def run(*args: str, columns: int = 80) -> str:
    r = CliRunner().invoke(app, list(args), env={"COLUMNS": str(columns)})
    assert r.exit_code == 0, r.stdout + r.stderr
    return r.stdout


@functools.cache
def props(spec: str) -> dict[str, Any]:
    """``show SPEC --json``."""
    out: dict[str, Any] = json.loads(run("show", spec, "--json"))
    return out


def words(text: str) -> str:
    return " ".join(text.split())


SPECS = [k.name for k in shipped_filters()] + [g.example for g in GENERATORS.values()]


@pytest.mark.parametrize("columns", [80, 60])
@pytest.mark.parametrize("mode", ["convolve", "correlate"])
def test_every_shipped_filter_and_generator_fits_the_terminal(columns: int, mode: str) -> None:
    """No line wider than the terminal, and no text lost to the wrapping: the description
    and the as-applied title are all there, word for word.  (At 60 every number fits: the
    widest, like -6.69163e-05, is 12 characters; a row of the matrix that does not fit is
    printed in column blocks, a factor wraps between numbers.)"""
    assert len(SPECS) == 26 + 11
    for spec in SPECS:
        out = run("show", spec, "--mode", mode, columns=columns)
        too_long = [line for line in out.splitlines() if len(line) > columns]
        assert not too_long, (spec, too_long)
        k = props(spec)
        assert words(k["description"]) in words(out), spec
        if mode == "convolve" and not k["correlate_equals_convolve"]:
            assert ("as applied by convolve (rotated 180°, anchor "
                    f"({k['as_applied']['anchor'][0]}, {k['as_applied']['anchor'][1]})), slid "
                    "over the image like a correlation") in words(out), spec


def test_texts_wrap_under_their_label() -> None:
    """A property too long for the line goes on under its text, not under its label; the
    description and a title under their first word, two in."""
    out = run("show", "diff-2x2", columns=60).splitlines()
    at = next(i for i, line in enumerate(out) if line.startswith("corr/conv   correlate != "))
    end = next(i for i in range(at + 1, len(out)) if not out[i].startswith(" " * 12))
    assert end > at + 1 and all(not out[i][12].isspace() for i in range(at + 1, end))
    assert words(" ".join(out[at:end])) == (
        "corr/conv correlate != convolve: symmetric, but the anchor is not centred, so the "
        "results are shifted by a pixel")
    described = next(i for i, line in enumerate(out) if line.startswith("2x2 mixed"))
    assert out[described + 1].startswith("  ") and not out[described + 1].startswith("   ")
    applied = next(i for i, line in enumerate(out) if line.startswith("as applied by "))
    assert out[applied + 1].startswith("  ") and "anchor (0, 0)" in out[applied]


def _factor(out: str, label: str) -> tuple[list[str], list[list[str]]]:
    """The lines of one factor (``  column    [...]``) and the numbers on each."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"  {label:<10}["))
    end = next(i for i in range(start, len(lines)) if "]" in lines[i]) + 1
    mine = lines[start:end]
    numbers = [[w.strip("[]") for w in line[13:].split() if NUMBER.match(w.strip("[]"))]
               for line in mine]
    return mine, numbers


@pytest.mark.parametrize("columns", [80, 60])
def test_factors_wrap_evenly_never_leaving_the_bracket_alone(columns: int) -> None:
    """gaussian:sigma=2's factors (17 numbers) wrap between numbers in lines of even
    length: the last holds more than one number with the ']' and '(kernel = column x
    row)' (it held '6.69163e-05]   (kernel = column x row)' alone), every number in order."""
    out = run("show", "gaussian:sigma=2", columns=columns)
    factors = props("gaussian:sigma=2")["factors"]
    for label, key in (("column", "column"), ("row", "row")):
        lines, numbers = _factor(out, label)
        assert len(lines) > 1 and all(len(line) <= columns for line in lines)
        assert all(line.startswith(" " * 13) for line in lines[1:])
        assert len(numbers[-1]) >= 2, lines
        after = lines[-1].rstrip().endswith("]   (kernel = column x row)")
        if key == "row" and not after:  # at 60: too long for a line with two numbers
            printed = out.splitlines()
            said = printed.index(" " * 13 + "(kernel = column x row)")
            assert printed[said - 1] == lines[-1] and columns < 80, lines
        else:
            assert lines[-1].rstrip().endswith("]   (kernel = column x row)" if key == "row"
                                               else "]")
        got = [float(n) for line in numbers for n in line]
        np.testing.assert_allclose(got, factors[key], rtol=5e-6)
        lengths = [len(n) for n in numbers]
        assert max(lengths) - min(lengths) <= 3, lines  # even, not 6, 6, 6, 1


def _centre(out: str, title: str) -> dict[tuple[int, int], float]:
    """The weights of a big kernel's centre as printed, by (row, column)."""
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(title))
    while "(0-based)" not in lines[at]:
        at += 1
    columns = [int(c) for c in lines[at + 1].split()]
    cells: dict[tuple[int, int], float] = {}
    for line in lines[at + 2:]:
        row = line.split()
        if not row or not row[0].isdigit() or len(row) != len(columns) + 1:
            break
        cells.update({(int(row[0]), j): float(v) for j, v in zip(columns, row[1:],
                                                                  strict=True)})
    return cells


def test_a_big_kernel_is_shown_as_its_properties_and_centre() -> None:
    """gaussian:sigma=30 (241x241) printed 10,000 lines: now its properties, the 9 rows
    around its anchor, a factor's values there, and how to see every weight."""
    out = run("show", "gaussian:sigma=30")
    assert len(out.splitlines()) < 50
    big = props("gaussian:sigma=30")
    kernel = np.array(big["kernel"])
    cells = _centre(out, "gaussian  (241x241): the centre")
    assert {i for i, _ in cells} == set(range(116, 125)) and (120, 120) in cells
    for (i, j), v in cells.items():
        assert v == pytest.approx(kernel[i, j], rel=5e-6)
    assert "sum         1   min 1.99029e-11   max 0.00017686" in out
    assert "shape       241x241   anchor (row, col) (120, 120)" in out
    _, numbers = _factor(out, "column")
    shown_ = [float(n) for line in numbers for n in line]
    np.testing.assert_allclose(shown_, big["factors"]["column"][116:125], rtol=5e-6)
    assert "(rows 116-124 of 241)" in out
    assert "241x241 is larger than 31 a side: its centre is shown; add --full to print every " \
           "weight" in words(out)


def test_a_big_unsymmetric_kernel_shows_the_centre_as_applied_too() -> None:
    out = run("show", "motion:length=40,angle=30", columns=60)
    motion = props("motion:length=40,angle=30")
    assert max(len(line) for line in out.splitlines()) <= 60
    for title, kernel in (("motion  (23x40): the centre", motion["kernel"]),
                          ("as applied by convolve", motion["as_applied"]["kernel"])):
        cells = _centre(out, title)
        assert len(cells) >= 9
        for (i, j), v in cells.items():
            assert v == pytest.approx(np.array(kernel)[i, j], rel=5e-6)
    assert sum(cells.values()) > 0  # the line of the blur crosses the centre shown


def test_full_prints_every_weight_and_the_limit_is_31() -> None:
    """``--full`` prints a big kernel whole (in its column blocks); up to 31 a side a
    kernel is printed whole without it, from 32 it is summarized."""
    out = run("show", "gaussian:sigma=8", "--full")  # 65x65
    assert "the centre" not in out and "--full" not in out
    heads = re.findall(r"^columns? (\d+)(?:-(\d+))? of 65", out, re.MULTILINE)
    assert [int(a) for a, _ in heads][0] == 0 and int(heads[-1][1] or heads[-1][0]) == 64
    assert BIG == 31
    assert "the centre" not in run("show", "box:size=31")
    assert "box  (32x32): the centre" in run("show", "box:size=32")
    assert "the centre" in run("show", "box:width=3,height=40")  # one side is enough
