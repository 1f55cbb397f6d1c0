"""The option values (FilterOptions, FileOptions), the one chain step they feed (finish,
float_stage), the one read step, and a run of several files (applying.run_many)."""

from __future__ import annotations

import contextlib
import json
import signal
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imgconv.applying import run_many
from imgconv.chain import finish, float_stage
from imgconv.diffing import DiffRun, FailOnDiff, Variant, parse_variant, run_diff
from imgconv.errors import ImgconvError, WorkError
from imgconv.files import RunHooks, read_step
from imgconv.interrupts import Interrupted
from imgconv.kernels import load_filter
from imgconv.options import FileOptions, FilterOptions
from imgconv.outputs import FileRecord

RNG = np.random.default_rng(5)


@pytest.mark.parametrize(("changes", "param", "words"), [
    ({"quality": 0}, "quality", "out of range"),
    ({"quality": 101}, "quality", "out of range"),
    ({"fmt": "xyz"}, "fmt", "not a format imgconv writes"),
    ({"existing": "maybe"}, "existing", "fail, skip, overwrite"),
])
def test_file_options_refuse_a_bad_value_naming_it(changes: dict[str, object], param: str,
                                                   words: str) -> None:
    with pytest.raises(ImgconvError, match=words) as info:
        FileOptions(**changes)  # type: ignore[arg-type]
    assert info.value.param == param
    with pytest.raises(ImgconvError):
        FileOptions().replace(**changes)  # a copy is checked like the constructor


def test_file_options_are_canonical() -> None:
    files = FileOptions(fmt=".JPG", existing="OVERWRITE", quality=100,  # type: ignore[arg-type]
                        protect=[Path("a.png")])  # type: ignore[arg-type]
    assert (files.fmt, files.existing, files.overwrite) == ("jpg", "overwrite", True)
    assert files.protect == (Path("a.png"),) and hash(files)  # a value: hashable, frozen
    assert not FileOptions(existing="skip").overwrite


def test_float_stage_is_abs_then_offset_on_colour_only() -> None:
    v = np.array([[[-3.0, 2.0, -0.5]]], dtype=np.float32)  # gray, gray, alpha
    float_stage(v, FilterOptions(abs=True, offset=1.5), keep_last=True)
    np.testing.assert_array_equal(v, [[[4.5, 3.5, -0.5]]])
    w = np.array([-2.0, 1.0])
    float_stage(w, FilterOptions(offset=-1))
    np.testing.assert_array_equal(w, [-3.0, 0.0])


def test_finish_casts_to_the_options_dtype_else_the_input_type() -> None:
    v = np.array([[-1.0, 100.4, 300.0]])
    assert finish(v, FilterOptions(), in_dtype=np.uint8).dtype == np.uint8
    np.testing.assert_array_equal(finish(v, FilterOptions(), in_dtype=np.uint8), [[0, 100, 255]])
    out = finish(v, FilterOptions(dtype="uint16", abs=True), in_dtype=np.uint8)
    np.testing.assert_array_equal(out, [[257, 100 * 257 + 103, 65535]])  # 100.4 * 257 = 25802.8


def _png(path: Path, array: np.ndarray) -> Path:
    Image.fromarray(array).save(path)
    return path


def test_one_read_step_for_files_and_diff(tmp_path: Path) -> None:
    rgba = RNG.integers(0, 256, (9, 11, 4), dtype=np.uint8)
    src = _png(tmp_path / "a.png", rgba)
    [frame] = read_step(src, FileOptions(gray=True)).frames()
    luma = rgba[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    assert frame.has_alpha and frame.dtype == np.uint8 and frame.pixels.shape == (9, 11, 2)
    np.testing.assert_allclose(frame.pixels[..., 0], luma, rtol=1e-6)
    np.testing.assert_array_equal(frame.pixels[..., 1], rgba[..., 3])
    run = DiffRun.compute(src, [load_filter("sobel-x")], *_both(), FilterOptions(),
                          FileOptions(gray=True))
    np.testing.assert_array_equal(run.array, frame.pixels)  # diff filters what apply reads


def _both() -> tuple[Variant, Variant]:
    return parse_variant("mode=correlate", Variant()), parse_variant("mode=convolve", Variant())


def test_the_diff_report_prints_in_its_order_with_what_was_added() -> None:
    img = RNG.integers(0, 256, (12, 14), dtype=np.uint8)
    rep = run_diff(img, [load_filter("sobel-x")], *_both(), base=FilterOptions()).report
    keys = list(rep.as_dict())
    assert keys[0] == "pixels" and keys[-11:] == [
        "interior", "border", "tolerance", "prediction", "reason", "predicted_equal",
        "prediction_held", "a", "b", "kernel", "filters"]
    rep.image, rep.written = "x.png", ["r/report.json"]
    rep.fail_on_diff = FailOnDiff(None, True, "3 pixel(s) differ after rounding")
    tail = dict(list(rep.as_dict().items())[-3:])
    assert tail == {"image": "x.png", "fail_on_diff": {"tolerance": None, "failed": True,
                                                       "why": "3 pixel(s) differ after rounding"},
                    "written": ["r/report.json"]}
    assert json.loads(json.dumps(rep.as_dict())) == rep.as_dict()


def test_diff_keeps_alpha_out_of_abs_and_offset() -> None:
    img = RNG.integers(0, 256, (10, 10, 2), dtype=np.uint8)
    img[..., 1] = 200
    out = run_diff(img, [load_filter("sobel-x")], *_both(),
                   base=FilterOptions(abs=True, offset=7, dtype="float32"), has_alpha=True)
    assert (out.a_values[..., 1] == 200).all() and (out.a_values[..., 0] >= 7).all()
    a_out, _ = out.outputs()
    np.testing.assert_array_equal(a_out, out.a_values)  # abs and offset applied once


def _three(tmp_path: Path) -> list[tuple[Path, Path]]:
    srcs = [_png(tmp_path / f"{n}.png", RNG.integers(0, 256, (8, 8), dtype=np.uint8))
            for n in "abc"]
    return [(s, tmp_path / f"{s.stem}.out.png") for s in srcs]


def test_run_many_follows_each_file_and_writes_its_report(tmp_path: Path) -> None:
    pairs = _three(tmp_path)[:2]
    events: list[str] = []

    @contextlib.contextmanager
    def each(path: Path) -> Iterator[None]:
        events.append(f"start {path.name}")
        yield
        events.append(f"end {path.name}")

    hooks = RunHooks(stage=lambda s: events.append(s), each=each,
                     written=lambda r: events.append(f"wrote {Path(r.output).name}"),
                     reported=lambda r: events.append(f"report {r.report}"))
    folder = tmp_path / "rep"
    records = run_many(pairs, [load_filter("box3")], FilterOptions(), FileOptions(), hooks,
                       reports={pairs[1][0]: folder})
    assert [Path(r.output) for r in records] == [d for _, d in pairs]
    assert events == ["start a.png", "read", "filter", "write", "end a.png", "wrote a.out.png",
                      "start b.png", "read", "filter", "write", "end b.png", "wrote b.out.png",
                      f"report {folder / 'report.html'}"]
    assert json.loads((folder / "report.json").read_text())["image"] == str(pairs[1][0])


def test_run_many_never_writes_over_another_input(tmp_path: Path) -> None:
    (a, _), (b, _), _ = _three(tmp_path)
    before = b.read_bytes()
    with pytest.raises(WorkError, match=r"is an input.*\(2 output\(s\) were written before "
                       r"it: .*a\.out\.png, .*c\.out\.png\)"):
        run_many([(a, tmp_path / "a.out.png"), (b, tmp_path / "c.out.png"),
                  (tmp_path / "c.png", b)], [load_filter("box3")], FilterOptions(),
                 FileOptions(existing="overwrite"))
    assert b.read_bytes() == before


def test_run_many_fails_at_once_before_any_output_and_as_work_after(tmp_path: Path) -> None:
    pairs = _three(tmp_path)
    pairs[0][0].write_bytes(b"not an image")
    with pytest.raises(ImgconvError) as first:
        run_many(pairs, [load_filter("box3")], FilterOptions(), FileOptions())
    assert not isinstance(first.value, WorkError) and first.value.exit_code == 2
    assert not pairs[1][1].exists()
    pairs[0][0].unlink()
    _png(pairs[0][0], np.zeros((4, 4), np.uint8))
    pairs[2][0].write_bytes(b"not an image")
    with pytest.raises(WorkError) as later:
        run_many(pairs, [load_filter("box3")], FilterOptions(), FileOptions(existing="overwrite"))
    assert later.value.exit_code == 1
    assert str(later.value).endswith(f"(2 output(s) were written before it: {pairs[0][1]}, "
                                     f"{pairs[1][1]})")


def test_run_many_interrupted_says_which_outputs_are_complete(tmp_path: Path) -> None:
    pairs = _three(tmp_path)

    def stop(rec: FileRecord) -> None:
        if rec.output == str(pairs[1][1]):
            raise Interrupted(signal.SIGTERM)

    with pytest.raises(Interrupted) as info:
        run_many(pairs, [load_filter("box3")], FilterOptions(), FileOptions(),
                 RunHooks(written=stop))
    assert info.value.signum == signal.SIGTERM and info.value.exit_code == 143
    assert info.value.message == (f"interrupted by SIGTERM: 2 of 3 output(s) written; wrote "
                                  f"{pairs[0][1]}; wrote {pairs[1][1]}; no partial file left")
    assert info.value.details is not None
    assert [o["output"] for o in info.value.details["outputs"]] == [  # type: ignore[attr-defined]
        str(pairs[0][1]), str(pairs[1][1])]
    assert not pairs[2][1].exists()


@pytest.mark.parametrize("page", [-1, 1.5, True])
def test_a_page_is_a_count_from_0(page: object) -> None:
    """``--page -1`` was taken, refused only later (as 'already exists', or out of range)."""
    with pytest.raises(ImgconvError, match="pages and frames are counted from 0") as info:
        FileOptions(page=page)  # type: ignore[arg-type]
    assert info.value.param == "page"


def test_an_overflow_names_cval_as_a_parameter() -> None:
    """The cval an overflow summed is a mention (``--cval`` on the command line), and the
    parameter to change is still the precision."""
    import numpy as np

    from imgconv import filter_image

    with pytest.raises(ImgconvError) as info:
        filter_image(np.full((4, 4), 3e38, np.float32), np.ones((3, 3)), boundary="constant",
                     cval=1e38, precision="single")
    assert info.value.params[:2] == ("precision", "cval") and "cval=1e+38" in str(info.value)
