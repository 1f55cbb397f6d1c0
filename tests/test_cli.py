"""The command line through Typer's runner: exit codes, messages, files written."""

from __future__ import annotations

import json
import os
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import scipy.ndimage as ndi
from typer.testing import CliRunner

from imgconv.cli import app

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, list(args))
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture
def gray_png(tmp_path: Path) -> Path:
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, size=(24, 31), dtype=np.uint8)
    p = tmp_path / "gray.png"
    iio.imwrite(p, img)
    return p


@pytest.fixture
def rgb_png(tmp_path: Path) -> Path:
    rng = np.random.default_rng(2)
    img = rng.integers(0, 256, size=(20, 17, 3), dtype=np.uint8)
    p = tmp_path / "rgb.png"
    iio.imwrite(p, img)
    return p


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.mark.parametrize(
    "cmd", [[], ["apply"], ["batch"], ["diff"], ["compose"], ["filters"], ["show"]]
)
def test_every_command_has_help(cmd: list[str]) -> None:
    code, out, _ = run(*cmd, "--help")
    assert code == 0
    assert "Usage" in out


def test_version() -> None:
    from imgconv import __version__

    code, out, _ = run("--version")
    assert code == 0 and __version__ in out


def test_apply_default_name_beside_input(gray_png: Path) -> None:
    code, out, err = run("apply", str(gray_png), "-f", "sobel-x")
    assert code == 0, err
    target = gray_png.parent / "gray.sobel-x.convolve.png"
    assert target.exists()
    got = iio.imread(target)
    img = iio.imread(gray_png).astype(np.float64)
    k = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float)
    ref = np.clip(np.rint(ndi.convolve(img, k, mode="reflect")), 0, 255)
    assert got.dtype == np.uint8
    assert np.abs(got.astype(int) - ref.astype(int)).max() <= 1


def test_apply_correlate_vs_scipy_rgb(rgb_png: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.npy"
    code, _, err = run("apply", str(rgb_png), "-f", "emboss", "--mode", "correlate",
                       "--boundary", "mirror", "--dtype", "float64", "--precision", "double",
                       "-o", str(out))
    assert code == 0, err
    got = np.load(out)
    from imgconv.kernels import load_filter

    k = load_filter("emboss").array
    img = iio.imread(rgb_png).astype(np.float64)
    ref = np.stack([ndi.correlate(img[..., c], k, mode="mirror") for c in range(3)], axis=2)
    ref += load_filter("emboss").offset
    assert got.shape == (20, 17, 3) and got.dtype == np.float64
    assert np.abs(got - ref).max() <= 1e-9 * np.abs(k).sum() * 255


def test_apply_inline_and_generator(gray_png: Path, tmp_path: Path) -> None:
    o1, o2 = tmp_path / "a.png", tmp_path / "b.png"
    assert run("apply", str(gray_png), "-f", "0 -1 0; -1 6 -2; 0 -1 0", "-o", str(o1))[0] == 0
    assert run("apply", str(gray_png), "-f", "gaussian:sigma=2", "-o", str(o2))[0] == 0
    img = iio.imread(gray_png).astype(np.float64)
    # an inline kernel that differs from its 180° rotation: convolve must rotate it
    k = np.array([[0, -1, 0], [-1, 6, -2], [0, -1, 0]], dtype=float)
    ref1 = np.clip(np.rint(ndi.convolve(img, k, mode="reflect")), 0, 255)
    got1 = iio.imread(o1)
    assert got1.dtype == np.uint8 and got1.shape == img.shape
    assert np.abs(got1.astype(int) - ref1.astype(int)).max() <= 1
    assert np.abs(ref1 - np.clip(np.rint(ndi.correlate(img, k, mode="reflect")), 0, 255)).max() > 1
    ref2 = np.clip(np.rint(ndi.gaussian_filter(img, 2.0, mode="reflect")), 0, 255)
    assert np.abs(iio.imread(o2).astype(int) - ref2.astype(int)).max() <= 1


def test_apply_json_reports_method(gray_png: Path, tmp_path: Path) -> None:
    o = tmp_path / "j.png"
    code, out, _ = run("apply", str(gray_png), "-f", "box3", "--method", "separable", "--json",
                       "-o", str(o))
    assert code == 0
    rec = json.loads(out)["outputs"][0]
    assert rec["output"] == str(o) and rec["input"] == str(gray_png)
    assert rec["method"] == "separable"
    assert rec["shape"] == [24, 31] and rec["dtype"] == "uint8"
    assert set(rec) >= {"filters", "mode", "boundary", "seconds"}


def test_never_overwrites_input(gray_png: Path) -> None:
    before = gray_png.read_bytes()
    code, _, err = run("apply", str(gray_png), "-f", "box3", "-o", str(gray_png))
    assert code == 2 and "is an input" in err
    link = gray_png.parent / "link.png"
    os.symlink(gray_png, link)
    code, _, err = run("apply", str(gray_png), "-f", "box3", "-o", str(link), "--force")
    assert code == 2 and "is an input" in err
    other = str(gray_png.parent / "." / ".." / gray_png.parent.name / "gray.png")
    code, _, err = run("apply", str(gray_png), "-f", "box3", "-o", other, "--overwrite")
    assert code == 2 and "is an input" in err and "(choose another output with -o)" in err
    assert gray_png.read_bytes() == before


def test_existing_output_needs_force(gray_png: Path, tmp_path: Path) -> None:
    o = tmp_path / "o.png"
    o.write_bytes(b"keep me")
    code, _, err = run("apply", str(gray_png), "-f", "box3", "-o", str(o))
    assert code == 2 and "already exists" in err and "--overwrite" in err
    assert o.read_bytes() == b"keep me"
    code, _, _ = run("apply", str(gray_png), "-f", "box3", "-o", str(o), "--force")
    assert code == 0 and iio.imread(o).shape == (24, 31)


def test_float_into_png_refused_before_work(gray_png: Path, tmp_path: Path) -> None:
    o = tmp_path / "f.png"
    code, _, err = run("apply", str(gray_png), "-f", "sobel-x", "--dtype", "float32", "-o", str(o))
    assert code == 2 and "float32" in err and ".tif" in err
    assert not o.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["gray.png"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--mode", "corelate"], "--mode"),
        (["--method", "fast"], "--method"),
        (["--boundary", "bounce"], "boundary mode"),
        (["--size", "big"], "--size"),
        (["--precision", "quad"], "--precision"),
        (["--dtype", "int8"], "--dtype"),
    ],
)
def test_bad_option_values(gray_png: Path, args: list[str], needle: str) -> None:
    code, _, err = run("apply", str(gray_png), "-f", "box3", *args)
    assert code == 2
    assert needle in err
    assert "Traceback" not in err
    assert sorted(p.name for p in gray_png.parent.iterdir()) == ["gray.png"]


def test_missing_image_and_unknown_filter(gray_png: Path) -> None:
    code, _, err = run("apply", str(gray_png.parent / "nope.png"), "-f", "box3")
    assert code == 2 and "nope.png" in err
    code, _, err = run("apply", str(gray_png), "-f", "gausian5")
    assert code == 2 and "gausian5" in err and "gaussian5" in err


def test_not_an_image(tmp_path: Path) -> None:
    fake = tmp_path / "fake.png"
    fake.write_text("this is not a png")
    code, _, err = run("apply", str(fake), "-f", "box3", "-o", str(tmp_path / "o.png"))
    assert code == 2 and "fake.png" in err and "Traceback" not in err
    assert not (tmp_path / "o.png").exists()


def test_separable_refused_for_rank3(gray_png: Path, tmp_path: Path) -> None:
    code, _, err = run("apply", str(gray_png), "-f", "gaussian5", "--method", "separable",
                       "-o", str(tmp_path / "o.png"))
    assert code == 2 and "rank" in err
    assert not (tmp_path / "o.png").exists()


def test_several_images_into_folder(gray_png: Path, rgb_png: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    code, _, err = run("apply", str(gray_png), str(rgb_png), "-f", "gaussian3", "-f", "sharpen",
                       "-o", str(out), "--mode", "correlate")
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == [
        "gray.gaussian3+sharpen.correlate.png", "rgb.gaussian3+sharpen.correlate.png"]
    code, _, err = run("apply", str(gray_png), str(rgb_png), "-f", "box3",
                       "-o", str(tmp_path / "missing"))
    assert code == 2 and "folder" in err


def test_sample_runs_in_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run("apply", "--sample", "-f", "emboss")
    assert code == 0, err
    got = iio.imread(tmp_path / "sample.emboss.convolve.png")
    assert got.shape == (256, 256, 3) and got.dtype == np.uint8


def test_filters_lists_library() -> None:
    code, out, _ = run("filters")
    assert code == 0
    for name in ("gaussian5", "sobel-x", "laplacian4", "emboss", "identity"):
        assert name in out
    code, out, _ = run("filters", "--json")
    assert code == 0
    names = {f["name"] for f in json.loads(out)}
    assert {"gaussian5", "sobel-y", "prewitt-x", "scharr-x", "box3", "box5"} <= names


def test_show_gaussian5_and_sobel() -> None:
    code, out, _ = run("show", "gaussian5")
    assert code == 0 and "1/273" in out and "rank        3" in out
    code, out, _ = run("show", "sobel-x")
    assert code == 0 and "no: differs from its 180° rotation" in out
    assert "rank        1" in out and "column    [1 2 1]" in out and "row       [-1 0 1]" in out
    code, out, _ = run("show", "sobel-x", "--json")
    assert code == 0
    props = json.loads(out)
    assert props["symmetric"] is False and props["correlate_equals_convolve"] is False
    assert props["rank"] == 1
    col, row = np.array(props["factors"]["column"]), np.array(props["factors"]["row"])
    assert np.allclose(np.outer(col, row), [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])


def test_show_convolve_prints_flipped_kernel() -> None:
    code, out, _ = run("show", "1 2; 3 4", "--mode", "convolve", "--json")
    assert code == 0
    props = json.loads(out)
    assert props["as_applied"]["kernel"] == [[4, 3], [2, 1]]
    # default anchor (1, 1) of a 2x2 kernel mirrors to (0, 0)
    assert props["anchor"] == [1, 1] and props["as_applied"]["anchor"] == [0, 0]
    code, out, _ = run("show", "1 2; 3 4", "--mode", "convolve")
    assert code == 0 and "as applied by convolve" in out
    code, out, _ = run("show", "1 2; 3 4", "--mode", "correlate")
    assert code == 0 and "as applied by convolve" not in out
    assert "correlate slides it as written" in out


def test_python_m_imgconv() -> None:
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "imgconv", "--help"], capture_output=True,
                       text=True, check=False)
    assert r.returncode == 0 and "apply" in r.stdout


def test_cnn_weight_slice_is_a_correlation_with_zero_padding(tmp_path: Path) -> None:
    """A Conv2d layer (PyTorch layout out, in, h, w; padding k//2) as imgconv computes it."""
    rng = np.random.default_rng(9)
    w = rng.standard_normal((4, 2, 5, 3)).astype(np.float32)
    x = rng.standard_normal((17, 13)).astype(np.float32)
    np.save(tmp_path / "w.npy", w)
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "y.npy"
    code, _, err = run("apply", str(tmp_path / "x.npy"), "-f", f"{tmp_path / 'w.npy'}[3,1]",
                       "--mode", "correlate", "--boundary", "constant", "-o", str(out))
    assert code == 0, err
    # the layer's definition, written out: y(r, c) = sum_ij w[3,1,i,j] * xpad(r + i, c + j)
    k = w[3, 1].astype(np.float64)
    xp = np.pad(x.astype(np.float64), ((2, 2), (1, 1)))
    ref = np.zeros_like(x, dtype=np.float64)
    for i in range(5):
        for j in range(3):
            ref += k[i, j] * xp[i : i + 17, j : j + 13]
    got = np.load(out)
    assert got.dtype == np.float32
    assert np.abs(got - ref).max() <= 1e-4 * np.abs(k).sum() * np.abs(x).max()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["apply", "--sample", "-f", "box3", "--cval", "abc"], "--cval"),
        (["apply", "--sample", "--bogus"], "--bogus"),
        (["batch"], "Missing argument"),
        (["nosuchcommand"], "nosuchcommand"),
    ],
)
def test_usage_errors_are_one_line(args: list[str], needle: str, tmp_path: Path) -> None:
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "imgconv", *args], capture_output=True,
                       text=True, check=False, cwd=tmp_path)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("imgconv: error:") and needle in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_bare_command_prints_help() -> None:
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "imgconv"], capture_output=True, text=True,
                       check=False)
    assert r.returncode == 0 and "Usage" in r.stdout and "apply" in r.stdout


def test_diff_fail_on_diff_and_tolerance(gray_png: Path) -> None:
    code, out, _ = run("diff", str(gray_png), "-f", "sobel-x", "--fail-on-diff", "--json")
    assert code == 3 and json.loads(out)["fail_on_diff"]["failed"] is True
    code, out, _ = run("diff", str(gray_png), "-f", "gaussian5", "--fail-on-diff")
    assert code == 0 and "pass" in out
    code, out, _ = run("diff", str(gray_png), "-f", "sobel-x", "--fail-on-diff",
                       "--tolerance", "1e9")
    assert code == 0
    code, _, err = run("diff", str(gray_png), "-f", "sobel-x", "--tolerance", "-1")
    assert code == 2 and "--tolerance" in err


# -- library errors name parameters as fields (more in test_cli_messages.py) ----------------
def test_library_error_with_param_is_shown_with_the_flag(
    gray_png: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import imgconv.files
    from imgconv.errors import ImgconvError

    def refuse(*args: object, **kwargs: object) -> None:
        raise ImgconvError("{precision[0]} cannot hold this; use {precision[1]}",
                           values={"precision": ("single", "double")})

    monkeypatch.setattr(imgconv.files, "process_file", refuse)
    code, _, err = run("apply", str(gray_png), "-f", "box3", "-o", str(tmp_path / "o.png"))
    assert code == 2
    assert err.strip() == ("imgconv: error: --precision single cannot hold this; use "
                           "--precision double")


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--mode", "corelate"], "--mode corelate is not valid: use one of correlate, convolve"),
        (["--size", "big"], "--size big is not valid: use one of same, valid, full"),
        (["--dtype", "int8"],
         "--dtype int8 is not valid: use one of uint8, uint16, float32, float64"),
        (["--memory-limit", "lots"], "--memory-limit lots: use a size like"),
    ],
)
def test_option_errors_name_the_flag(gray_png: Path, args: list[str], line: str) -> None:
    code, _, err = run("apply", str(gray_png), "-f", "box3", *args)
    assert code == 2
    assert err.startswith("imgconv: error: " + line)
    assert "=" not in err.split(":", 2)[2].split(" is not")[0]


def test_output_errors_name_the_flags(gray_png: Path, rgb_png: Path, tmp_path: Path) -> None:
    import tifffile

    o = tmp_path / "o.png"
    o.write_bytes(b"keep me")
    code, _, err = run("apply", str(gray_png), "-f", "box3", "-o", str(o))
    assert code == 2 and err.strip() == (f"imgconv: error: {o}: already exists (use "
                                         "--overwrite to replace it)")
    missing = tmp_path / "missing"
    code, _, err = run("apply", str(gray_png), str(rgb_png), "-f", "box3", "-o", str(missing))
    assert code == 2 and err.strip() == (f"imgconv: error: {missing}: with several images, -o "
                                         f"must be an existing folder: create it first (mkdir "
                                         f"{missing})")
    stack = tmp_path / "stack.tif"
    tifffile.imwrite(stack, np.zeros((2, 8, 9), dtype=np.uint8), photometric="minisblack")
    code, _, err = run("apply", str(stack), "-f", "box3", "-o", str(tmp_path / "s.png"))
    assert code == 2 and err.strip() == (f"imgconv: error: {stack}: has 2 pages: write them to "
                                         "a .tif / .gif / .webp / .apng file (every page is "
                                         "filtered), or pick one with --page N")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gray.png", "o.png", "rgb.png",
                                                         "stack.tif"]


def test_cval_note_names_the_modes_that_use_it(gray_png: Path, tmp_path: Path) -> None:
    code, _, err = run("apply", str(gray_png), "-f", "box3", "--cval", "3", "--boundary", "wrap",
                       "-o", str(tmp_path / "o.png"))
    assert code == 0
    assert err.strip() == ("note: --cval 3 has no effect with --boundary wrap (it is the value "
                           "beyond the edges for --boundary constant)")
    code, _, err = run("apply", str(gray_png), "-f", "box3", "--cval", "3", "--boundary", "zero",
                       "-o", str(tmp_path / "p.png"))
    assert code == 0 and "note" not in err


# -- imgconv.outputs: names and the checks on outputs (library) ----------------------------
def test_default_name_and_chain_name() -> None:
    from imgconv.kernels import load_filter
    from imgconv.outputs import chain_name, default_name, safe_name

    assert safe_name("a b/c:d+e-f.g") == "a_b_c_d+e-f.g"
    ks = [load_filter("gaussian3"), load_filter("0 1 0; 1 -4 1; 0 1 0")]
    assert chain_name(ks) == "gaussian3+k3x3-84cac1"  # an inline matrix: shape + hash
    assert default_name(Path("x/Photo.PNG"), "box3", "correlate") == "Photo.box3.correlate.png"


def test_plan_targets_places_and_refuses(gray_png: Path, rgb_png: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from imgconv.errors import ImageError, OutputError
    from imgconv.options import FileOptions, FilterOptions
    from imgconv.outputs import plan_targets

    kw = {"chain": "box3"}
    assert plan_targets([gray_png], **kw) == [tmp_path / "gray.box3.convolve.png"]
    out = tmp_path / "out"
    out.mkdir()
    assert plan_targets([gray_png, rgb_png], output=out, **kw) == [
        out / "gray.box3.convolve.png", out / "rgb.box3.convolve.png"]
    monkeypatch.chdir(out)
    assert plan_targets([gray_png], in_cwd=[gray_png], **kw) == [
        out / "gray.box3.convolve.png"]
    with pytest.raises(OutputError, match="has no extension") as e1:
        plan_targets([gray_png], output=tmp_path / "noext", **kw)
    with pytest.raises(OutputError, match="is an input") as e2:
        plan_targets([gray_png], output=tmp_path / "." / "gray.png",
                     files=FileOptions(existing="overwrite"), **kw)
    with pytest.raises(OutputError, match=r"overwrite=True") as e3:
        plan_targets([gray_png], output=rgb_png, **kw)
    twin = tmp_path / "sub" / "gray.png"
    twin.parent.mkdir()
    twin.write_bytes(gray_png.read_bytes())
    with pytest.raises(OutputError, match="two inputs would be written to the same output"):
        plan_targets([gray_png, twin], output=out, **kw)
    with pytest.raises(OutputError, match="float32"):
        plan_targets([gray_png], output=tmp_path / "f.png", options=FilterOptions(dtype="float32"),
                     **kw)
    assert (e1.value.param, e2.value.param, e3.value.param) == (None, "output", "overwrite")
    assert str(e2.value).endswith("(choose another output with output=...)")
    assert str(e3.value).endswith("already exists (use overwrite=True to replace it)")
    import tifffile

    stack = tmp_path / "stack.tif"
    tifffile.imwrite(stack, np.zeros((3, 8, 9), dtype=np.uint8), photometric="minisblack")
    with pytest.raises(ImageError, match="page=N") as e4:
        plan_targets([stack], output=tmp_path / "s.png", **kw)
    assert e4.value.param == "page"
    assert plan_targets([stack], output=tmp_path / "s.png", files=FileOptions(page=1),
                        **kw) == [tmp_path / "s.png"]


def test_b_is_boundary_in_every_command_and_help_lists_choices(tmp_path: Path) -> None:
    """docs/semantics.md §4: one meaning per option letter (-b is --boundary in diff too, beside its
    --a/--b variants); every enumerated option shows its choices in --help."""
    import json

    from imgconv.options import METHODS

    src = tmp_path / "x.npy"
    np.save(src, np.random.default_rng(3).random((12, 12)).astype(np.float32))
    r = CliRunner().invoke(app, ["diff", str(src), "-f", "emboss", "-b", "wrap", "--json"])
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["a"]["boundary"] == "wrap" and report["b"]["boundary"] == "wrap"
    show = CliRunner().invoke(app, ["show", "--help"]).stdout
    assert "[correlate|convolve]" in show
    for command in ("apply", "batch", "diff"):
        text = CliRunner().invoke(app, [command, "--help"]).stdout
        assert "[" + "|".join(METHODS) + "]" in text and "-b, --boundary" in text
        assert "[correlate|convolve]" in text and "[same|valid|full]" in text


def test_shell_completion_of_choice_values() -> None:
    """Typer's completion offers an option's choices (bash protocol, in a real process)."""
    import subprocess
    import sys

    env = {**os.environ, "_IMGCONV_COMPLETE": "complete_bash",
           "COMP_WORDS": "imgconv apply --boundary mi", "COMP_CWORD": "3"}
    script = Path(sys.executable).parent / "imgconv"  # the console script pip installed
    run = subprocess.run([str(script)], env=env, capture_output=True, text=True, timeout=30)
    assert run.stdout.split() == ["mirror"]

