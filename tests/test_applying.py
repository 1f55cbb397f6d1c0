"""``apply`` of several files (:func:`imgconv.applying.run_many`): a report that fails
after outputs exist is work that failed; a multi-page input with ``--report`` is refused
before any work; inputs are protected at a cost linear in the number of files."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image
from typer.testing import CliRunner

import imgconv.files
import imgconv.outputs
from imgconv.applying import run_many
from imgconv.cli import app
from imgconv.errors import ImgconvError, OutputError, WorkError
from imgconv.files import RunHooks
from imgconv.kernels import load_filter
from imgconv.options import FileOptions, FilterOptions
from imgconv.outputs import FileSet, chain_name, plan_targets, write_image

BOX = [load_filter("box3")]
PIXELS = np.arange(64, dtype=np.uint8).reshape(8, 8)


def png(path: Path, value: int = 0) -> Path:
    Image.fromarray(PIXELS + value).save(path)
    return path


def three_pages(path: Path) -> Path:
    for i in range(3):
        tifffile.imwrite(path, np.full((8, 8), 9 * i, np.uint8), append=True)
    return path


def test_a_report_that_fails_after_outputs_names_them(tmp_path: Path) -> None:
    """The report of the second file fails (3 pages, no page picked) once both outputs
    are written: a WorkError (exit 1) naming them, as a failing file is."""
    a, b = png(tmp_path / "a.png"), three_pages(tmp_path / "b.tif")
    outs = [tmp_path / "a.out.png", tmp_path / "b.out.tif"]
    with pytest.raises(WorkError) as err:
        run_many(list(zip([a, b], outs, strict=True)), BOX, FilterOptions(), FileOptions(),
                 reports={a: tmp_path / "ra", b: tmp_path / "rb"})
    text = str(err.value)
    assert err.value.exit_code == 1
    assert "b.tif: has 3 pages" in text
    assert f"2 output(s) were written before it: {outs[0]}, {outs[1]}" in text
    assert all(o.exists() for o in outs) and (tmp_path / "ra" / "report.html").exists()


def test_the_report_of_the_only_file_failing_names_its_output(tmp_path: Path) -> None:
    """Its output is written: the failure names it too (exit 1)."""
    b = three_pages(tmp_path / "b.tif")
    with pytest.raises(WorkError, match=r"1 output\(s\) were written before it: .*b.out.tif"):
        run_many([(b, tmp_path / "b.out.tif")], BOX, FilterOptions(), FileOptions(),
                 reports={b: tmp_path / "rb"})


def test_cli_refuses_a_multi_page_input_with_report_before_any_work(tmp_path: Path) -> None:
    a, b = png(tmp_path / "a.png"), three_pages(tmp_path / "b.tif")
    out = tmp_path / "out"
    out.mkdir()
    r = CliRunner().invoke(app, ["apply", str(a), str(b), "-f", "box3", "-o", str(out),
                                 "--report", str(tmp_path / "rep")])
    assert r.exit_code == 2
    assert r.stderr.strip() == (f"imgconv: error: {b}: has 3 pages or frames: --report "
                                "compares one: pick it with --page N")
    assert list(out.iterdir()) == [] and not (tmp_path / "rep").exists()
    r = CliRunner().invoke(app, ["apply", str(b), "-f", "box3", "-o", str(out), "--page", "1",
                                 "--report", str(tmp_path / "rep")])
    assert r.exit_code == 0, r.stderr
    assert (tmp_path / "rep" / "report.html").exists()


@contextlib.contextmanager
def counting_same_file(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    calls = [0]
    original = imgconv.outputs.same_file

    def counted(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
        calls[0] += 1
        return original(a, b)

    for module in (imgconv.outputs, imgconv.files):
        monkeypatch.setattr(module, "same_file", counted)
    yield calls


def test_protecting_inputs_is_linear_in_the_files(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """40 inputs: at most one comparison by name per file (was 40 × 41 × 2 while filtering,
    40 × 40 + 40 × 39 / 2 while planning), the rest one stat against a set."""
    n = 40
    inputs = [png(tmp_path / f"in{i}.png", i) for i in range(n)]
    (tmp_path / "out").mkdir()
    with counting_same_file(monkeypatch) as calls:
        targets = plan_targets(inputs, chain_name(BOX), output=tmp_path / "out")
        assert calls[0] <= n
        calls[0] = 0
        run_many(list(zip(inputs, targets, strict=True)), BOX, FilterOptions(), FileOptions())
        assert calls[0] <= n
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        f"in{i}.box3.convolve.png" for i in range(n))


def test_an_input_linked_as_an_output_during_the_run_is_not_replaced(
        tmp_path: Path) -> None:
    """A hard link to the first input appears, after planning, where the second output
    goes: the second file is refused (work failed: the first output is written)."""
    a, b = png(tmp_path / "a.png", 1), png(tmp_path / "b.png", 2)
    before = a.read_bytes()
    outs = [tmp_path / "a.out.png", tmp_path / "b.out.png"]

    @contextlib.contextmanager
    def each(path: Path) -> Iterator[None]:
        if path == b:
            os.link(a, outs[1])
        yield

    with pytest.raises(WorkError, match="b.out.png: is an input"):
        run_many(list(zip([a, b], outs, strict=True)), BOX, FilterOptions(),
                 FileOptions(existing="overwrite"), RunHooks(each=each))
    assert a.read_bytes() == before and outs[1].read_bytes() == before


def test_a_file_set_holds_links_and_spellings_made_after_it(tmp_path: Path) -> None:
    src = png(tmp_path / "in.png")
    later = tmp_path / "later.png"  # not there yet when the set is built
    inputs = FileSet([src, later])
    (tmp_path / "sub").mkdir()
    hard, soft = tmp_path / "hard.png", tmp_path / "soft.png"
    os.link(src, hard)
    soft.symlink_to(src)
    for spelling in (src, tmp_path / "sub" / ".." / "in.png", hard, soft, later):
        assert inputs.holds(spelling), spelling
    png(later)
    assert inputs.holds(later)
    assert not inputs.holds(tmp_path / "other.png")
    before = src.read_bytes()
    for target in (hard, soft):
        with pytest.raises(OutputError, match="is an input"):
            write_image(target, PIXELS, overwrite=True, protect=inputs)
    assert src.read_bytes() == before


def test_check_target_takes_a_file_set_or_paths(tmp_path: Path) -> None:
    src = png(tmp_path / "in.png")
    for inputs in ([src], FileSet([src])):
        with pytest.raises(ImgconvError, match="is an input"):
            imgconv.outputs.check_target(tmp_path / "sub" / ".." / "in.png", inputs,
                                         overwrite=True)
