"""The diff report: colour maps, heat-maps with legends, the folder, the page, the table."""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from rich.console import Console

from imgconv import report, viz
from imgconv.chain import finish
from imgconv.diffing import Variant, parse_variant, run_diff
from imgconv.errors import OutputError
from imgconv.kernels import Kernel, load_filter
from imgconv.options import FilterOptions

rng = np.random.default_rng(7)


def lightness(rgb: np.ndarray) -> np.ndarray:
    """CIE L* of sRGB 0..255 colours (written here, independently of imgconv.viz)."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    y = lin @ np.array([0.2126, 0.7152, 0.0722])
    return np.where(y > (6 / 29) ** 3, 116 * np.cbrt(y) - 16, y * (29 / 3) ** 3)


def make_report(image: np.ndarray, kernel: Kernel, a: str = "mode=correlate",
                b: str = "mode=convolve", dtype: str = "uint8") -> dict[str, Any]:
    va, vb = parse_variant(a, Variant()), parse_variant(b, Variant())
    out = run_diff(image, [kernel], va, vb, base=FilterOptions(dtype=dtype))
    out.report.image = "photo.png"
    rep = out.report.as_dict()
    return {
        "report": rep,
        "input_image": image,
        "a_out": finish(out.a.values, FilterOptions(dtype=dtype), in_dtype=image.dtype),
        "b_out": finish(out.b.values, FilterOptions(dtype=dtype), in_dtype=image.dtype),
        "a_float": out.a.values,
        "b_float": out.b.values,
        "kernel": kernel,
    }


PHOTO = (rng.random((24, 30)) * 255).astype(np.uint8)


@pytest.fixture(scope="module")
def sobel_case() -> dict[str, Any]:
    return make_report(PHOTO, load_filter("sobel-x"))


def write(folder: Path, case: dict[str, Any], **kw: Any) -> list[Path]:
    """The report folder with its full-size images (``full_resolution``) unless told."""
    kw.setdefault("full_resolution", True)
    return report.write_report(folder, case["report"], report.ReportImages(
                               input_image=case["input_image"],
                               a_out=case["a_out"], b_out=case["b_out"],
                               a_float=case["a_float"], b_float=case["b_float"]),
                               kernel=case["kernel"], **kw)


# -- colour maps -------------------------------------------------------------------------
def test_inferno_is_the_reference_table() -> None:
    import cv2

    lut = viz.inferno()
    assert lut.shape == (256, 3) and lut.dtype == np.uint8
    ramp = np.arange(256, dtype=np.uint8).reshape(1, 256)
    ocv = cv2.applyColorMap(ramp, cv2.COLORMAP_INFERNO)[0, :, ::-1]
    np.testing.assert_array_equal(lut, ocv)
    # matplotlib's inferno: first, middle and last entries
    assert tuple(lut[0]) == (0, 0, 4) and tuple(lut[255]) == (252, 255, 164)
    assert tuple(lut[128]) == (188, 55, 84)


def test_inferno_lightness_increases_monotonically() -> None:
    L = lightness(viz.inferno())
    assert np.all(np.diff(L) > 0)
    assert L[0] < 2 and L[-1] > 95
    np.testing.assert_allclose(viz.srgb_to_lab(viz.inferno())[:, 0], L, atol=0.05)


def test_diverging_map_white_centre_opposite_ends() -> None:
    lut = viz.DIVERGING
    assert lut.shape == (257, 3)
    centre = lut[128].astype(int)
    assert centre.min() >= 240 and centre.max() - centre.min() <= 4  # white-ish, neutral
    lo, hi = lut[0].astype(int), lut[256].astype(int)
    assert lo[2] > lo[0] + 50  # blue end
    assert hi[0] > hi[2] + 50  # red end
    L = lightness(lut)
    assert np.all(np.diff(L[:129]) > 0) and np.all(np.diff(L[128:]) < 0)
    assert abs(L[0] - L[256]) < 3  # symmetric in lightness


# -- heat-maps ---------------------------------------------------------------------------
def test_heatmap_ends_are_the_lut_ends_and_legend_below() -> None:
    d = np.zeros((20, 30))
    d[5, 7] = 3.5
    d[10, 20] = 7.0
    out = report.heatmap(d)
    assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3
    assert out.shape[0] > 20 and out.shape[1] >= viz.LEGEND_MIN_WIDTH
    np.testing.assert_array_equal(out[0, 0], viz.inferno()[0])
    np.testing.assert_array_equal(out[10, 20], viz.inferno()[255])
    np.testing.assert_array_equal(out[5, 7], viz.inferno()[128])
    legend = out[20:].reshape(-1, 3)
    mid = viz.inferno()[128]
    assert np.any(np.all(legend == mid, axis=1))  # the colour bar is drawn


def test_heatmap_channels_use_the_maximum() -> None:
    d = np.zeros((8, 9, 3))
    d[2, 3, 1] = 4.0
    d[2, 3, 0] = -1.0
    out = viz.colorize_abs(d)
    np.testing.assert_array_equal(out[2, 3], viz.inferno()[255])
    np.testing.assert_array_equal(out[0, 0], viz.inferno()[0])


def test_identical_heatmap_has_no_scale_bar() -> None:
    out = report.heatmap(np.zeros((30, 40)))
    np.testing.assert_array_equal(out[:30, :40], np.broadcast_to(viz.inferno()[0], (30, 40, 3)))
    legend = out[30:].reshape(-1, 3)
    for i in (64, 128, 200, 255):  # no colour bar: none of the map's colours appear
        assert not np.any(np.all(legend == viz.inferno()[i], axis=1))
    sig = report.signed_image(np.zeros((30, 40)))
    np.testing.assert_array_equal(sig[0, 0], viz.DIVERGING[128])


def test_signed_image_is_symmetric_about_zero() -> None:
    d = np.zeros((10, 12))
    d[1, 1], d[2, 2], d[3, 3] = -5.0, 5.0, 2.5
    out = report.signed_image(d)
    np.testing.assert_array_equal(out[0, 0], viz.DIVERGING[128])
    np.testing.assert_array_equal(out[1, 1], viz.DIVERGING[0])
    np.testing.assert_array_equal(out[2, 2], viz.DIVERGING[256])
    np.testing.assert_array_equal(out[3, 3], viz.DIVERGING[192])
    # channels: the value of largest magnitude, with its sign
    c = np.zeros((4, 4, 3))
    c[1, 1] = [1.0, -3.0, 2.0]
    c[2, 2] = [3.0, 0.0, 0.0]
    cc = viz.colorize_signed(c)
    np.testing.assert_array_equal(cc[1, 1], viz.DIVERGING[0])
    np.testing.assert_array_equal(cc[2, 2], viz.DIVERGING[256])


def test_nan_differences_do_not_break_the_maps() -> None:
    d = np.array([[0.0, np.nan], [1.0, 2.0]])
    out = viz.colorize_abs(d)
    assert tuple(out[0, 1]) == viz.NAN_COLOUR
    np.testing.assert_array_equal(out[1, 1], viz.inferno()[255])
    sig = report.signed_image(d)
    assert tuple(sig[0, 1]) == viz.NAN_COLOUR
    np.testing.assert_array_equal(sig[1, 1], viz.DIVERGING[256])
    np.testing.assert_array_equal(sig[0, 0], viz.DIVERGING[128])


def test_display_scaling() -> None:
    u16 = np.array([[0, 256, 65535]], dtype=np.uint16)
    assert report.display_image(u16).tolist() == [[0, 1, 255]]
    f = np.array([[-1.0, 0.0, 1.0]])
    assert report.display_image(f).tolist() == [[0, 128, 255]]
    assert report.display_image(f, lo=0.0, hi=1.0).tolist() == [[0, 0, 255]]
    rgba = np.zeros((2, 2, 4), dtype=np.uint8)
    assert report.display_image(rgba).shape == (2, 2, 3)


# -- the report folder -------------------------------------------------------------------
def strip_data_uris(text: str) -> str:
    return re.sub(r"data:[a-z/+.-]+;base64,[A-Za-z0-9+/=]+", "data:", text)


def test_write_report_files_json_and_self_contained_html(tmp_path: Path,
                                                         sobel_case: dict[str, Any]) -> None:
    folder = tmp_path / "new" / "rep"
    written = write(folder, sobel_case)
    names = [p.name for p in written]
    assert names == ["a.png", "b.png", "heatmap.png", "signed.png", "report.json",
                     "report.html"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)  # no temporary files
    np.testing.assert_array_equal(np.asarray(Image.open(folder / "a.png")), sobel_case["a_out"])
    np.testing.assert_array_equal(np.asarray(Image.open(folder / "b.png")), sobel_case["b_out"])
    heat = np.asarray(Image.open(folder / "heatmap.png").convert("RGB"))
    np.testing.assert_array_equal(
        heat[:24, :30], viz.colorize_abs(sobel_case["a_float"] - sobel_case["b_float"]))

    back = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert back == sobel_case["report"]

    page = (folder / "report.html").read_text(encoding="utf-8")
    uris = re.findall(r'src="(data:[^"]*)"', page)
    assert len(uris) >= 7  # input, A, B, both maps, two colour bars (+ the closer look)
    assert len(re.findall(r"<img\b", page)) == len(uris)  # every image is embedded
    for uri in uris:
        assert uri.startswith("data:image/png;base64,")
        im = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
        im.load()
        assert im.format == "PNG"
    rest = strip_data_uris(page).lower()
    assert "http" not in rest and "href=" not in rest
    assert not re.search(r'src="(?!data:image/png;base64,)', page)
    assert "<script" not in rest and "<link" not in rest and "@import" not in rest
    assert "url(" not in rest and "<iframe" not in rest
    # the numbers, the prediction and the kernel are on the page
    rep = sobel_case["report"]
    assert f"{rep['differing_pixels']:,}" in page
    assert "RMSE" in page and "PSNR" in page and "prediction held" in page
    assert "image-rendering: pixelated" in page
    assert page.count('class="anchor"') == 2  # as written, and as applied by convolve
    assert "rotated 180°" in page


def test_float_outputs_are_written_as_tiff(tmp_path: Path) -> None:
    case = make_report(PHOTO, load_filter("emboss"), dtype="float32")
    written = write(tmp_path / "f", case)
    assert [p.name for p in written][:2] == ["a.tif", "b.tif"]
    import tifffile

    np.testing.assert_array_equal(tifffile.imread(written[0]), case["a_out"])
    page = (tmp_path / "f" / "report.html").read_text(encoding="utf-8")
    assert "black … white" in page  # the display stretch is stated


def test_refuses_existing_files_before_writing_anything(tmp_path: Path,
                                                        sobel_case: dict[str, Any]) -> None:
    folder = tmp_path / "rep"
    folder.mkdir()
    (folder / "report.html").write_text("keep me")
    (folder / "notes.txt").write_text("unrelated")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(OutputError) as info:
        write(folder, sobel_case)
    assert "report.html" in str(info.value) and "overwrite=True" in str(info.value)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    with pytest.raises(OutputError):
        report.check_folder(folder)
    written = write(folder, sobel_case, overwrite=True)
    assert (folder / "report.html").read_text(encoding="utf-8") != "keep me"
    assert len(written) == 6 and (folder / "notes.txt").read_text() == "unrelated"


def test_check_folder_refuses_a_file(tmp_path: Path) -> None:
    f = tmp_path / "x"
    f.write_text("")
    with pytest.raises(OutputError, match="not a folder"):
        report.check_folder(f, overwrite=True)
    report.check_folder(tmp_path / "a" / "b")  # missing folders are fine: created later,
    assert not (tmp_path / "a").exists()  # by write_report, not by the check


# -- terminal and robustness -------------------------------------------------------------
def test_print_report_names_the_numbers_and_the_prediction(sobel_case: dict[str, Any]) -> None:
    con = Console(record=True, width=120)
    report.print_report(sobel_case["report"], con)
    text = con.export_text()
    for word in ("max", "RMSE", "PSNR", "interior", "border", "correlate", "convolve",
                 "different", "✓"):
        assert word in text
    rep = sobel_case["report"]
    assert f"{rep['differing_pixels']:,}" in text


def test_print_report_identical_and_failed_prediction() -> None:
    flat = np.full((12, 14), 90, dtype=np.uint8)
    case = make_report(flat, load_filter("sobel-x"))
    rep = case["report"]
    assert rep["identical"] and not rep["prediction_held"]
    con = Console(record=True, width=120)
    report.print_report(rep, con)
    text = con.export_text()
    assert "∞ (identical)" in text and "✗" in text and "identical" in text


def table_row(text: str, label: str) -> str:
    """The cells of the terminal table's row ``label`` (rich draws cells apart with │)."""
    rows = [line for line in text.splitlines() if line.startswith(label + " ")]
    assert len(rows) == 1, (label, text)
    return " ".join(c.strip() for c in rows[0][len(label):].split("│") if c.strip())


def test_minimal_reports_render() -> None:
    con = Console(record=True, width=100)
    report.print_report({}, con)
    text = con.export_text()
    assert text.splitlines()[0].strip() == "imgconv diff"  # no image, filter or shape
    for label in ("pixels", "max abs diff", "RMSE", "differing pixels"):
        assert table_row(text, label) == "—"
    assert table_row(text, "bbox of differences") == "none"
    assert "A and B differ" in text
    assert "the two variants" not in text and "kernel" not in text  # nothing to show
    assert "prediction" not in text and "held" not in text

    con = Console(record=True, width=100)
    report.print_report({"max_abs_diff": 0.0, "psnr": None}, con)
    text = con.export_text()
    assert table_row(text, "max abs diff") == "0"
    assert table_row(text, "PSNR") == "∞ (identical)"

    z = np.zeros((3, 3))
    page = report.render_html({}, input_image=z, a_out=z, b_out=z, a_float=z, b_float=z)
    assert page.startswith("<!DOCTYPE html>") and "http" not in strip_data_uris(page)
    assert "<h1>difference report</h1>" in page and "identical: |A − B| = 0" in page
    assert 'class="kernels"' not in page  # no kernel, no kernel panel


def test_frequency_response() -> None:
    # the frequency response of a box is a Dirichlet kernel: 0 dB at DC, nulls elsewhere
    db = viz.frequency_response(load_filter("box3").array, n=64)
    assert db.shape == (64, 64)
    assert db[32, 32] == 0.0 and db.min() == viz.FLOOR_DB
    # a one-hot (shift) kernel passes every frequency equally
    assert np.allclose(viz.frequency_response(load_filter("shift-right").array), 0.0)
    # a first difference [1, -1], worked out by hand: |H(f)| = 2 |sin(pi f)|, columns
    # centred (column j is f = (j - 32) / 64), every row alike, 0 dB at f = 1/2
    db = viz.frequency_response(np.array([[1.0, -1.0]]), n=64)
    f = (np.arange(64) - 32) / 64
    with np.errstate(divide="ignore"):
        expected = np.maximum(20 * np.log10(np.abs(np.sin(np.pi * f))), viz.FLOOR_DB)
    np.testing.assert_allclose(db, np.broadcast_to(expected, (64, 64)), atol=1e-9)
    assert db[0, 0] == 0.0 and db[0, 32] == viz.FLOOR_DB  # f = -1/2; DC (the sum is 0)


def test_kernel_picture_panels() -> None:
    gap, margin = 24, 16  # between panels, around them

    def panels(name: str, mode: str) -> int:
        """How many weight panels the picture holds, from its width."""
        k = load_filter(name)
        pic = viz.kernel_picture(k, mode)
        assert pic.dtype == np.uint8 and pic.ndim == 3 and pic.shape[2] == 3
        weights = viz.weights_panel(k.array, k.center, "").shape[1]
        response = viz.response_panel(k.array).shape[1]
        n, rest = divmod(pic.shape[1] - 2 * margin - response, weights + gap)
        assert rest == 0
        return n

    # an asymmetric kernel under convolve: as written and as applied (rotated)
    assert panels("emboss", "convolve") == 2
    assert panels("emboss", "correlate") == 1
    assert panels("box3", "convolve") == 1  # symmetric: convolve applies it unchanged
    assert panels("gaussian:sigma=3", "convolve") == 1


def test_show_png(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from imgconv.cli import app

    out = tmp_path / "k.png"
    r = CliRunner().invoke(app, ["show", "emboss", "--png", str(out)])
    assert r.exit_code == 0, r.stderr
    with Image.open(out) as im:
        assert im.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(im),
                                      viz.kernel_picture(load_filter("emboss"), "convolve"))
    r = CliRunner().invoke(app, ["show", "emboss", "--png", str(out)])
    assert r.exit_code == 2 and "already exists" in r.stderr


def test_viz_imports_neither_report_nor_cli_and_report_stays_light() -> None:
    code = ("import sys, imgconv.viz; "
            "assert not [m for m in sys.modules if m.startswith(('imgconv.report', "
            "'imgconv.cli'))], sorted(sys.modules); "
            "import imgconv.report; "
            "assert not [m for m in sys.modules if m.split('.')[0] in "
            "('PIL', 'rich', 'scipy', 'cv2', 'yaml', 'typer')], sorted(sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


# -- the page says two things apart; border-only differences show; tolerance only for float
def test_verdict_separates_images_differ_from_prediction_held(sobel_case: dict[str, Any]
                                                               ) -> None:
    rep = sobel_case["report"]
    assert rep["prediction"] == "different" and rep["prediction_held"] is True
    page = report.render_html(**{k: v for k, v in sobel_case.items()})
    verdict = page[page.index('<section class="verdict">'):]
    verdict = verdict[:verdict.index("</section>")]
    assert '<div class="icon" title="the images differ">≠</div>' in verdict
    assert "Images: A and B differ in" in verdict
    assert '<span class="held ok">✓ prediction held</span>' in verdict
    # the green mark belongs to the prediction only, never to the images' line
    what = verdict[verdict.index('class="what"'):verdict.index('class="pred"')]
    assert "✓" not in what and "ok" not in what


def test_identical_images_show_equal_sign() -> None:
    case = make_report(PHOTO, load_filter("gaussian5"))
    page = report.render_html(**case)
    assert 'title="the images agree">=</div>' in page


def test_one_pixel_frame_is_visible_in_the_heatmap() -> None:
    """Differences only along the border (1 px) are widened in the picture, and the legend
    says so; the interior stays at the colour of 0."""
    d = np.zeros((256, 256))
    d[0, :] = d[-1, :] = d[:, 0] = d[:, -1] = 5.0
    rgb = report.heatmap(d)
    zero = rgb[128, 128]
    lit = np.any(rgb[:256, :256] != zero, axis=2)
    assert lit[1, 100] and lit[100, 1] and lit[254, 100]  # beside the frame: widened
    assert not lit[10:246, 10:246].any()
    dense = np.ones((64, 64))
    assert np.array_equal(report.heatmap(dense)[:64, :64], viz.colorize_abs(dense))  # not widened


@pytest.mark.parametrize(("dtype", "shown"), [("uint8", False), ("float32", True)])
def test_tolerance_row_only_for_float_outputs(dtype: str, shown: bool) -> None:
    case = make_report(PHOTO, load_filter("sobel-x"), dtype=dtype)
    _, sections = report.stat_sections(case["report"])
    labels = [r[0] for _, rows in sections for r in rows]
    assert ("tolerance" in labels) is shown


def test_without_full_resolution_only_the_page_and_the_numbers(tmp_path: Path,
                                                               sobel_case: dict[str, Any]
                                                               ) -> None:
    written = write(tmp_path / "rep", sobel_case, full_resolution=False)
    assert [p.name for p in written] == ["report.json", "report.html"]


def test_a_camera_size_report_page_stays_small(tmp_path: Path) -> None:
    """A 2400×1800 photo-like colour image (smooth, with sensor noise): the page holds
    previews (at most DISPLAY_LIMIT a side; photographs as JPEG), so it stays a few
    megabytes; the close-up is full size."""
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:1800, 0:2400]
    smooth = 128 + 90 * np.sin(x / 53.0)[..., None] * np.cos(y / 71.0)[..., None]
    img = np.clip(smooth + rng.normal(0, 4, (1800, 2400, 3)), 0, 255).astype(np.uint8)
    a = img.astype(np.float32)
    b = a + rng.normal(0, 2, a.shape).astype(np.float32)
    rep = {"image": "big.png", "max_abs_diff": float(np.abs(a - b).max()),
           "a": {"mode": "correlate"}, "b": {"mode": "convolve"}}
    written = report.write_report(tmp_path / "big", rep, report.ReportImages(
                                  input_image=img, a_out=img,
                                  a_float=a, b_out=np.clip(np.rint(b), 0, 255).astype(np.uint8),
                                  b_float=b))
    page = (tmp_path / "big" / "report.html").read_text()
    assert [p.name for p in written] == ["report.json", "report.html"]
    assert len(page) < 5_000_000
    assert "data:image/jpeg;base64," in page and "Closer look" in page
