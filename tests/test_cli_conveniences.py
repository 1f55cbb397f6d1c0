"""Issue 14's conveniences: quoted globs in ``apply``, ``--format`` and
``--quality`` for ``apply`` and ``batch``, ``batch --dry-run``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

Snapshot = Callable[[Path], dict[str, bytes]]


def _rgb(path: Path, seed: int = 0, size: int = 24) -> np.ndarray:
    arr = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return arr


def _smooth(path: Path, size: int = 96) -> np.ndarray:
    """A smooth RGB picture (gradients): JPEG's error on it is small and predictable."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    arr = np.stack([x * 255 / (size - 1), y * 255 / (size - 1),
                    127.5 + 100 * np.sin(x / 9) * np.cos(y / 11)], axis=2)
    img = np.rint(arr).astype(np.uint8)
    Image.fromarray(img).save(path)
    return img


def _inputs(stdout: str) -> list[str]:
    return [Path(o["input"]).name for o in json.loads(stdout)["outputs"]]


# -- globs ------------------------------------------------------------------------------------
@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "pics"
    for i, name in enumerate(["b.png", "a.png", "a1.png", "a[1].png", "sub/c.png",
                              "sub/deeper/d.png"]):
        _rgb(d / name, i)
    (d / "notes.txt").write_text("not an image")
    return d


def test_glob_expanded_sorted_and_only_files_matching(folder: Path,
                                                       cli: SimpleNamespace) -> None:
    out, _ = cli.ok("apply", f"{folder}/*.png", "-f", "box3", "--json")
    assert _inputs(out) == ["a.png", "a1.png", "a[1].png", "b.png"]
    assert (folder / "a[1].box3.convolve.png").is_file()
    assert not (folder / "sub" / "c.box3.convolve.png").exists()  # * stays in its folder


def test_double_star_crosses_folders(folder: Path, cli: SimpleNamespace) -> None:
    out, _ = cli.ok("apply", f"{folder}/**/?.png", "-f", "box3", "--json")
    assert [Path(o["input"]).relative_to(folder).as_posix()
            for o in json.loads(out)["outputs"]] == ["a.png", "b.png", "sub/c.png",
                                                       "sub/deeper/d.png"]


def test_existing_file_with_brackets_taken_as_it_is(folder: Path,
                                                    cli: SimpleNamespace) -> None:
    # as a pattern, a[1].png would match a1.png
    out, _ = cli.ok("apply", folder / "a[1].png", "-f", "box3", "--json")
    assert _inputs(out) == ["a[1].png"]
    assert not (folder / "a1.box3.convolve.png").exists()


def test_glob_without_match_is_exit_2_naming_it(folder: Path, cli: SimpleNamespace) -> None:
    pattern = f"{folder}/*.jpg"
    code, out, err = cli.run("apply", pattern, "-f", "box3")
    assert code == 2
    assert f"{pattern}: no file matches this pattern" in " ".join(err.split())
    assert "Traceback" not in out + err
    assert not list(folder.glob("*.box3.*"))  # nothing written, not even for other args


def test_missing_file_without_glob_characters_still_says_no_such_file(
        tmp_path: Path, cli: SimpleNamespace) -> None:
    code, _, err = cli.run("apply", tmp_path / "gone.png", "-f", "box3")
    assert code == 2 and "no such file" in err


# -- --format ---------------------------------------------------------------------------------
def test_format_names_default_output_and_converts(tmp_path: Path,
                                                  cli: SimpleNamespace) -> None:
    src = tmp_path / "photo.png"
    _smooth(src)
    out, _ = cli.ok("apply", src, "-f", "gaussian5", "--format", "jpg", "--json")
    target = tmp_path / "photo.gaussian5.convolve.jpg"
    assert json.loads(out)["outputs"][0]["output"] == str(target)
    with Image.open(target) as im:
        assert im.format == "JPEG" and im.size == (96, 96)
    cli.ok("apply", src, "-f", "gaussian5", "--format", ".TIF", "-q")
    assert (tmp_path / "photo.gaussian5.convolve.tif").is_file()


def test_format_refused_before_work(tmp_path: Path, cli: SimpleNamespace) -> None:
    src = tmp_path / "photo.png"
    _rgb(src)
    code, _, err = cli.run("apply", src, "-f", "box3", "--format", "xyz")
    assert code == 2
    assert "--format xyz is not a format imgconv writes: use one of png, jpg" in err
    code, _, err = cli.run("apply", src, "-f", "box3", "--format", "jpg", "--dtype", "uint16")
    assert code == 2 and "a .jpg file cannot hold uint16 pixels" in err
    code, _, err = cli.run("apply", src, "-f", "box3", "--format", "jpg", "-o",
                           tmp_path / "x.png")
    assert code == 2
    assert "is not a .jpg file, but --format jpg" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.png"]


def test_format_jpeg_spellings_agree_with_output(tmp_path: Path, cli: SimpleNamespace) -> None:
    src = tmp_path / "photo.png"
    _rgb(src)
    cli.ok("apply", src, "-f", "box3", "--format", "jpg", "-o", tmp_path / "x.jpeg", "-q")
    assert (tmp_path / "x.jpeg").is_file()


def test_format_refuses_a_16_bit_image_into_jpeg(tmp_path: Path,
                                                  cli: SimpleNamespace) -> None:
    src = tmp_path / "deep.png"
    Image.fromarray(np.full((8, 8), 40000, np.uint16)).save(src)
    code, _, err = cli.run("apply", src, "-f", "box3", "--format", "jpg")
    assert code == 2 and "cannot hold uint16 pixels" in err
    assert not (tmp_path / "deep.box3.convolve.jpg").exists()


# -- --quality --------------------------------------------------------------------------------
def _mean_error(path: Path, source: np.ndarray) -> float:
    with Image.open(path) as im:
        return float(np.abs(np.asarray(im.convert("RGB"), np.float64) - source).mean())


def test_jpeg_quality_size_and_fidelity(tmp_path: Path, cli: SimpleNamespace) -> None:
    src = tmp_path / "photo.png"
    source = _smooth(src)
    for q in ("30", "95"):
        cli.ok("apply", src, "-f", "1", "-o", tmp_path / f"q{q}.jpg", "--quality", q, "-q")
    cli.ok("apply", src, "-f", "1", "-o", tmp_path / "default.jpg", "-q")
    small, big = (tmp_path / "q30.jpg").stat().st_size, (tmp_path / "q95.jpg").stat().st_size
    assert small < big
    assert (tmp_path / "default.jpg").read_bytes() == (tmp_path / "q95.jpg").read_bytes()
    assert _mean_error(tmp_path / "q95.jpg", source) < 1.5
    assert _mean_error(tmp_path / "q30.jpg", source) < 4.0


def test_webp_lossless_by_default_lossy_with_quality(tmp_path: Path,
                                                     cli: SimpleNamespace) -> None:
    src = tmp_path / "photo.png"
    source = _smooth(src)
    cli.ok("apply", src, "-f", "1", "-o", tmp_path / "same.webp", "-q")
    cli.ok("apply", src, "-f", "1", "-o", tmp_path / "lossy.webp", "--quality", "40", "-q")
    with Image.open(tmp_path / "same.webp") as im:
        np.testing.assert_array_equal(np.asarray(im), source)
    lossy = tmp_path / "lossy.webp"
    assert lossy.stat().st_size < (tmp_path / "same.webp").stat().st_size
    assert 0 < _mean_error(lossy, source) < 6.0


@pytest.mark.parametrize("command", ["apply", "batch"])
@pytest.mark.parametrize("value", ["0", "101", "-5"])
def test_quality_out_of_range_is_exit_2(tmp_path: Path, cli: SimpleNamespace, command: str,
                                        value: str) -> None:
    src = tmp_path / "in" / "photo.png"
    _rgb(src)
    where = [src] if command == "apply" else [src.parent, "-o", tmp_path / "out"]
    code, _, err = cli.run(command, *where, "-f", "box3", "--quality", value)
    assert code == 2
    assert f"--quality {value} is out of range: use 1 (smallest file) to 100 (best)" in err
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in src.parent.iterdir()) == ["photo.png"]


def test_quality_on_png_output_is_a_note(tmp_path: Path, cli: SimpleNamespace) -> None:
    src = tmp_path / "photo.png"
    _rgb(src)
    _, err = cli.ok("apply", src, "-f", "box3", "--quality", "50")
    assert "--quality 50 applies to JPEG and WebP outputs only" in " ".join(err.split())


def test_batch_format_and_quality(tmp_path: Path, cli: SimpleNamespace) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for name in ("a.png", "b.png"):
        _smooth(src / name)
    cli.ok("batch", src, "-o", tmp_path / "q20", "-f", "1", "--format", "jpg",
           "--quality", "20", "-q", "-j", "1")
    cli.ok("batch", src, "-o", tmp_path / "q95", "-f", "1", "--format", "jpg", "-q", "-j", "1")
    for name in ("a.jpg", "b.jpg"):
        low, high = tmp_path / "q20" / name, tmp_path / "q95" / name
        assert low.stat().st_size < high.stat().st_size


def test_writer_takes_quality_from_the_table(tmp_path: Path) -> None:
    from imgconv.errors import ImgconvError
    from imgconv.formats import FORMATS, check_quality

    arr = np.random.default_rng(3).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    sizes = {}
    for q in (10, 90):
        path = tmp_path / f"{q}.jpg"
        FORMATS[".jpg"].write(str(path), arr, {}, 1, {"quality": q})
        sizes[q] = path.stat().st_size
    assert sizes[10] < sizes[90]
    assert [e for e, f in FORMATS.items() if f.quality] == [".jpg", ".jpeg", ".webp"]
    check_quality(None)
    check_quality(1)
    check_quality(100)
    with pytest.raises(ImgconvError) as info:
        check_quality(0)
    assert info.value.param == "quality"


# -- batch --dry-run --------------------------------------------------------------------------
@pytest.fixture
def plan_tree(tmp_path: Path) -> Path:
    src = tmp_path / "in"
    for i, name in enumerate(["a.png", "a.tif", "b.png", "sub/c.png"]):
        _rgb(src / name, i)
    return src


def test_dry_run_prints_the_plan_and_writes_nothing(plan_tree: Path, tmp_path: Path,
                                                    cli: SimpleNamespace,
                                                    snapshot: Snapshot) -> None:
    out = tmp_path / "out"
    before = snapshot(plan_tree)
    code, stdout, err = cli.run("batch", plan_tree, "-o", out, "-f", "box3", "-r",
                                "--format", "jpg", "--dry-run")
    assert code == 1, err
    assert stdout.splitlines() == [
        f"{plan_tree}/a.png -> {out}/a.jpg  write",
        f"{plan_tree}/a.tif -> {out}/a.jpg  failed: collision",
        f"{plan_tree}/b.png -> {out}/b.jpg  write",
        f"{plan_tree}/sub/c.png -> {out}/sub/c.jpg  write",
    ]
    assert not out.exists()
    assert snapshot(plan_tree) == before


def test_dry_run_exit_0_skip_and_json(plan_tree: Path, tmp_path: Path, cli: SimpleNamespace,
                                      snapshot: Snapshot) -> None:
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    (out / "b.png").write_bytes(b"old")
    stale = out / ".a.png.abcd1234.part"  # a killed run's temporary: a dry run leaves it
    stale.write_bytes(b"x")
    before = snapshot(out)
    code, stdout, err = cli.run("batch", plan_tree, "-o", out, "-f", "box3", "-r",
                                "--glob", "*.png", "--skip-existing", "--dry-run")
    assert code == 0, err
    assert stdout.splitlines() == [
        f"{plan_tree}/a.png -> {out}/a.png  write",
        f"{plan_tree}/b.png -> {out}/b.png  skip: exists",
        f"{plan_tree}/sub/c.png -> {out}/sub/c.png  write",
    ]
    code, stdout, _ = cli.run("batch", plan_tree, "-o", out, "-f", "box3", "-r",
                              "--glob", "*.png", "--dry-run", "--json")
    assert code == 1
    assert json.loads(stdout) == [
        {"input": f"{plan_tree}/a.png", "output": f"{out}/a.png", "action": "write",
         "reason": None},
        {"input": f"{plan_tree}/b.png", "output": f"{out}/b.png", "action": "failed",
         "reason": "exists"},
        {"input": f"{plan_tree}/sub/c.png", "output": f"{out}/sub/c.png", "action": "write",
         "reason": None},
    ]
    assert snapshot(out) == before


def test_dry_run_matches_the_real_run(plan_tree: Path, tmp_path: Path,
                                      cli: SimpleNamespace) -> None:
    out = tmp_path / "out"
    args = ("batch", plan_tree, "-o", out, "-f", "box3", "-r", "--format", "png", "-j", "1")
    code, stdout, _ = cli.run(*args, "--dry-run", "--json")
    plan = {p["input"]: p["action"] for p in json.loads(stdout)}
    code, stdout, _ = cli.run(*args, "--json")
    real = {f["input"]: f["status"] for f in json.loads(stdout)["files"]}
    words = {"write": "written", "skip": "skipped", "failed": "failed"}
    assert {k: words[v] for k, v in plan.items()} == real
    assert real[f"{plan_tree}/a.tif"] == "failed"


def test_dry_run_refused_input_says_why(tmp_path: Path, cli: SimpleNamespace) -> None:
    src = tmp_path / "in"
    _rgb(src / "a.png")
    long_name = "x" * 251 + ".png"  # 255 bytes; as .tiff one too many
    _rgb(src / long_name, 1)
    out = tmp_path / "out"
    code, stdout, _ = cli.run("batch", src, "-o", out, "-f", "box3", "--format", "tiff",
                              "--dry-run")
    assert code == 1
    lines = stdout.splitlines()
    assert lines[0] == f"{src}/a.png -> {out}/a.tiff  write"
    assert lines[1].startswith(f"{src}/{long_name} -> {out}/{'x' * 251}.tiff  refused: ")
    assert "over the file system's limit" in lines[1]
    assert not out.exists()


def test_glob_with_a_name_over_the_limit_says_so(tmp_path: Path, cli: SimpleNamespace) -> None:
    code, out, err = cli.run("apply", tmp_path / ("n" * 300 + "*.png"), "-f", "box3")
    assert code == 2
    assert "over the file system's limit" in " ".join(err.split())
    assert "Traceback" not in out + err


def test_a_file_named_and_matched_by_a_glob_is_one_input(tmp_path: Path,
                                                         cli: SimpleNamespace) -> None:
    for name in ("g.png", "h.png"):
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / name)
    out = tmp_path / "out"
    out.mkdir()
    code, _, err = cli.run("apply", tmp_path / "g.png", f"{tmp_path}/*.png", "-f", "box3",
                           "-o", out)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["g.box3.convolve.png", "h.box3.convolve.png"]


def test_format_errors_quote_what_was_given(tmp_path: Path, cli: SimpleNamespace) -> None:
    src = tmp_path / "a.png"
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(src)
    for command in (["apply", src], ["batch", tmp_path, "-o", tmp_path / "o"]):
        code, _, err = cli.run(*command, "-f", "box3", "--format", "../x")
        assert code == 2 and "--format ../x is not a format imgconv writes" in err, err


def test_dry_run_refuses_what_the_header_says_a_run_would(tmp_path: Path,
                                                          cli: SimpleNamespace) -> None:
    """A 16-bit image into --format webp, a file that is not an image: the real run fails
    them, so the plan says so (from headers only), and exits 1."""
    import tifffile

    src = tmp_path / "in"
    src.mkdir()
    tifffile.imwrite(src / "scan16.tif", np.zeros((8, 8, 3), np.uint16), photometric="rgb")
    (src / "bad.png").write_bytes(b"junk")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(src / "ok.png")
    code, stdout, _ = cli.run("batch", src, "-o", tmp_path / "out", "-f", "box3",
                              "--format", "webp", "--dry-run")
    lines = dict(line.split("  ", 1) for line in stdout.splitlines())
    assert code == 1 and not (tmp_path / "out").exists()
    assert lines[f"{src}/ok.png -> {tmp_path}/out/ok.webp"] == "write"
    assert lines[f"{src}/bad.png -> {tmp_path}/out/bad.webp"].startswith("refused: ")
    assert "uint16" in lines[f"{src}/scan16.tif -> {tmp_path}/out/scan16.webp"]
    code, _, _ = cli.run("batch", src, "-o", tmp_path / "out", "-f", "box3", "--format", "webp")
    assert code == 1 and sorted(p.name for p in (tmp_path / "out").iterdir()) == ["ok.webp"]


def test_control_characters_in_names_are_shown_escaped(tmp_path: Path,
                                                      cli: SimpleNamespace) -> None:
    """A file name holding an escape sequence or a carriage return is printed with them
    escaped (``\\x1b``, ``\\x0d``): a terminal must not obey a name, nor a script lose it."""
    src = tmp_path / "in.png"
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(src)
    out, _ = cli.ok("apply", src, "-f", "box3", "-o", tmp_path / "red\x1b[31mo\r.png")
    assert f"wrote {tmp_path}/red\\x1b[31mo\\x0d.png  (" in out and "\x1b" not in out
    code, _, err = cli.run("apply", tmp_path / "gone\x1b[2J.png", "-f", "box3")
    assert code == 2 and "gone\\x1b[2J.png" in err and "\x1b" not in err
